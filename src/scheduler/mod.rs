//! Time-driven work: reminders before each response and resolution deadline, escalation to the
//! town office with a notice to the discipline inspector when a deadline passes, and the one
//! survey reminder 24 h after the prompt.
//!
//! [`Scheduler::tick`] does everything due at `now` once. Each piece of work is keyed
//! (kind, appeal, deadline) in `schedule_log`, inserted in the same transaction as the SMS and
//! the event it causes, so a restart, a second daemon or a second tick never repeats it; a
//! regrade or transfer moves the deadline and so makes a new key. The daemon runs `tick` only
//! while it leads ([`crate::store::leader`]); time comes from the injected clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

use crate::appeals::actions::{load_for_update, write, Action, Actor, Ctx, Limit, Writer};
use crate::appeals::machine::decide;
use crate::appeals::{messages as msg, Step};
use crate::appeals::{Appeal, Status};
use crate::clock::Clock;
use crate::config::{Config, SchedulerSettings};
use crate::directory::DirectoryHandle;
use crate::grade::Colour;
use crate::store::leader::Leader;
use crate::store::{from_millis, Result, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    RemindRespond,
    EscalateRespond,
    RemindResolve,
    EscalateResolve,
}

impl DueKind {
    fn key(self) -> &'static str {
        match self {
            DueKind::RemindRespond => "remind_respond",
            DueKind::EscalateRespond => "escalate_respond",
            DueKind::RemindResolve => "remind_resolve",
            DueKind::EscalateResolve => "escalate_resolve",
        }
    }
}

/// The deadline facts of one appeal, for [`due`].
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub status: Status,
    pub colour: Colour,
    pub respond_by: Option<i64>,
    pub resolve_by: Option<i64>,
}

/// Pure: what is due for an appeal at `now` (ms); `remind_from(kind, deadline)` says when
/// each reminder becomes due ([`remind_from`]). A reminder is due from then until the
/// deadline; escalation from the deadline on. The response deadline counts only until someone
/// accepts.
pub fn due(
    d: Deadlines,
    now: i64,
    remind_from: impl Fn(DueKind, i64) -> i64,
) -> Vec<(DueKind, i64)> {
    let mut out = Vec::new();
    if !d.status.is_open() {
        return out;
    }
    let mut check = |deadline: Option<i64>, remind: DueKind, escalate: DueKind| {
        if let Some(t) = deadline {
            if now >= t {
                out.push((escalate, t));
            } else if now >= remind_from(remind, t) {
                out.push((remind, t));
            }
        }
    };
    if d.status != Status::Accepted {
        check(
            d.respond_by,
            DueKind::RemindRespond,
            DueKind::EscalateRespond,
        );
    }
    check(
        d.resolve_by,
        DueKind::RemindResolve,
        DueKind::EscalateResolve,
    );
    out
}

/// Pure: when the reminder for `deadline` (ms) becomes due, `lead` ms before it. A non-urgent
/// reminder would be held through the quiet hours (see [`crate::quiet::end_after`]) and then reach the
/// cadre with the escalation of the same deadline; one that would fall in them goes `lead`
/// before they begin instead (the evening before a 07:00 deadline).
pub fn remind_from(
    deadline: i64,
    lead: i64,
    urgent: bool,
    tz: Tz,
    quiet: (NaiveTime, NaiveTime),
) -> i64 {
    let at = deadline - lead;
    if urgent {
        return at;
    }
    let t = from_millis(at);
    if crate::quiet::end_after(t, tz, quiet) == t {
        return at;
    }
    let local = t.with_timezone(&tz).naive_local();
    let mut begins = local.date().and_time(quiet.0);
    if begins > local {
        begins -= chrono::Duration::days(1);
    }
    // China keeps no daylight saving: the local start exists exactly once.
    tz.from_local_datetime(&begins)
        .earliest()
        .map_or(at, |b| b.timestamp_millis() - lead)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub reminders: usize,
    pub escalations: usize,
    pub survey_reminders: usize,
    /// Texts of the Monday digest and of the monthly evaluation; new warnings.
    pub digests: usize,
    pub evaluations: usize,
    pub warnings: usize,
    /// Broadcast texts queued, broadcasts of the monthly finance summary created, think-tank
    /// questions passed to the next expert.
    pub broadcast_texts: usize,
    pub finance_broadcasts: usize,
    pub questions_passed: usize,
}

impl TickReport {
    pub fn any(&self) -> bool {
        self.reminders
            + self.escalations
            + self.survey_reminders
            + self.digests
            + self.evaluations
            + self.broadcast_texts
            + self.finance_broadcasts
            + self.questions_passed
            + self.warnings
            > 0
    }
}

/// id, number, status, colour, respond_by, resolve_by.
type DueRow = (i64, String, String, String, Option<i64>, Option<i64>);

pub struct Scheduler {
    pub store: Store,
    pub config: Arc<Config>,
    pub directory: DirectoryHandle,
    pub settings: SchedulerSettings,
    /// When this process last looked for warnings (ms): they are scanned every
    /// `[supervision] warning_scan_mins`, not every tick.
    last_scan: std::sync::Mutex<Option<i64>>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One row of `schedule_log`: the key makes each reminder, escalation or survey reminder
/// happen once, across restarts and daemons.
struct Claim<'a> {
    key: &'a str,
    appeal_id: i64,
    kind: &'a str,
    due_at: i64,
}

impl Scheduler {
    pub fn new(store: Store, config: Arc<Config>, directory: DirectoryHandle) -> Scheduler {
        let settings = config.scheduler;
        Scheduler {
            store,
            config,
            directory,
            settings,
            last_scan: std::sync::Mutex::new(None),
        }
    }

    fn lead(&self, colour: Colour, kind: DueKind) -> i64 {
        let limits = self.config.colours.get(colour);
        let window = match kind {
            DueKind::RemindRespond | DueKind::EscalateRespond => limits.respond,
            _ => limits.resolve,
        };
        ms(self.settings.remind_before).min(ms(window) / 2)
    }

    /// Red reminders, like red alerts, go in the quiet hours.
    fn remind_from(&self, colour: Colour, kind: DueKind, deadline: i64) -> i64 {
        remind_from(
            deadline,
            self.lead(colour, kind),
            colour == Colour::Red,
            self.config.time_zone,
            self.config.quiet_hours,
        )
    }

    /// Does all work due at `now`, once.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport> {
        let ctx = Ctx::new(&self.config, self.directory.current());
        let store = &self.store;
        let now_ms = now.timestamp_millis();
        // Reminders moved before the quiet hours are due that much earlier.
        let horizon = now_ms
            + ms(self.settings.remind_before)
            + crate::quiet::length_ms(self.config.quiet_hours);
        let mut report = TickReport::default();
        let rows: Vec<DueRow> = sqlx::query_as(&store.sql(&format!(
            "SELECT id, number, status, colour, respond_by, resolve_by FROM appeals \
             WHERE status IN {} AND (respond_by <= ? OR resolve_by <= ?) ORDER BY id",
            Status::OPEN_SQL
        )))
        .bind(horizon)
        .bind(horizon)
        .fetch_all(store.pool())
        .await?;
        for (id, number, status, colour, respond_by, resolve_by) in rows {
            let colour: Colour = colour.parse().unwrap_or(Colour::Red);
            let items = due(
                Deadlines {
                    status: Status::parse(&status),
                    colour,
                    respond_by,
                    resolve_by,
                },
                now_ms,
                |k, t| self.remind_from(colour, k, t),
            );
            for (kind, deadline) in items {
                if self
                    .do_deadline(&ctx, id, &number, kind, deadline, now)
                    .await?
                {
                    match kind {
                        DueKind::RemindRespond | DueKind::RemindResolve => report.reminders += 1,
                        _ => report.escalations += 1,
                    }
                }
            }
        }
        let surveys: Vec<(i64, String)> = sqlx::query_as(&store.sql(
            "SELECT id, number FROM appeals WHERE survey_state = 'pending' AND survey_sent_at <= ? \
             AND phone NOT IN (SELECT phone FROM opt_outs) ORDER BY id",
        ))
        .bind(now_ms - ms(self.settings.survey_reminder_after))
        .fetch_all(store.pool())
        .await?;
        for (id, number) in surveys {
            if self.do_survey_reminder(&ctx, id, &number, now).await? {
                report.survey_reminders += 1;
            }
        }
        self.supervise(now, &mut report).await?;
        self.affairs(now, &mut report).await?;
        Ok(report)
    }

    /// Public affairs' time-driven work: the monthly finance summary, broadcasts queued batch
    /// by batch (each batch its own transaction, so a kill loses none and repeats none),
    /// think-tank questions unanswered for 48 h passed on.
    async fn affairs(&self, now: DateTime<Utc>, report: &mut TickReport) -> Result<()> {
        use crate::affairs::{broadcast, thinktank};
        let dir = self.directory.current();
        let (store, config) = (&self.store, &self.config);
        report.finance_broadcasts =
            broadcast::monthly_finance(store, config, &dir, now).await? as usize;
        loop {
            let n = broadcast::step(store, config, &dir, now, broadcast::BATCH).await?;
            if n == 0 {
                break;
            }
            report.broadcast_texts += n as usize;
        }
        let ctx = Ctx::new(config, dir.clone());
        report.questions_passed =
            thinktank::pass_on(store, &dir, |v| ctx.village_name(v), now).await? as usize;
        Ok(())
    }

    /// Supervision's time-driven work: the Monday digest, the monthly evaluation (each
    /// claimed once in `schedule_log`) and, every warning_scan, the early-warning scan.
    async fn supervise(&self, now: DateTime<Utc>, report: &mut TickReport) -> Result<()> {
        use crate::supervision::record;
        let dir = self.directory.current();
        let (store, config) = (&self.store, &self.config);
        report.digests = record::weekly(store, config, &dir, now).await?.texts as usize;
        report.evaluations = record::monthly(store, config, &dir, now).await?.texts as usize;
        let now_ms = now.timestamp_millis();
        let every = ms(config.supervision.warning_scan);
        let due = {
            // A poisoned lock only means a panic elsewhere mid-update; the value is a number.
            let last = self.last_scan.lock().unwrap_or_else(|e| e.into_inner());
            last.is_none_or(|t| now_ms - t >= every || now_ms < t)
        };
        if due {
            report.warnings = record::scan_warnings(store, config, &dir, now).await?.len();
            *self.last_scan.lock().unwrap_or_else(|e| e.into_inner()) = Some(now_ms);
        }
        Ok(())
    }

    /// Claims `key` in `tx`; false when it was done before. Claimed first thing in the
    /// transaction: on SQLite the write lock is then taken (waiting its turn) before any read,
    /// so the transaction never has to upgrade a stale read snapshot (SQLITE_BUSY).
    async fn claim(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        c: &Claim<'_>,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(&self.store.sql(
            "INSERT INTO schedule_log (key, appeal_id, kind, due_at, done_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (key) DO NOTHING",
        ))
        .bind(c.key)
        .bind(c.appeal_id)
        .bind(c.kind)
        .bind(c.due_at)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Opens the transaction of one piece of deadline work: the chain lock, then the claim,
    /// then the appeal row locked. None (all rolled back) when the work is already done or the
    /// appeal is gone.
    async fn claim_and_load(
        &self,
        c: &Claim<'_>,
        number: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(sqlx::Transaction<'static, sqlx::Any>, Appeal)>> {
        let store = &self.store;
        let mut tx = store.pool().begin().await?;
        // The one lock order (events.rs): chain first, then the appeal row, as intake does.
        crate::appeals::events::lock_chain(store, &mut tx).await?;
        if !self.claim(&mut tx, c, now.timestamp_millis()).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let Some(a) = load_for_update(store, &mut tx, number).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        Ok(Some((tx, a)))
    }

    async fn do_deadline(
        &self,
        ctx: &Ctx,
        id: i64,
        number: &str,
        kind: DueKind,
        deadline: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let store = &self.store;
        let key = format!("{}:{id}:{deadline}", kind.key());
        let claim = Claim {
            key: &key,
            appeal_id: id,
            kind: kind.key(),
            due_at: deadline,
        };
        let Some((mut tx, a)) = self.claim_and_load(&claim, number, now).await? else {
            return Ok(false);
        };
        // Re-checked under the row lock: it may have been accepted or resolved since the scan
        // (then the claim is rolled back with the rest).
        let still = due(
            Deadlines {
                status: a.status,
                colour: a.colour,
                respond_by: a.respond_by,
                resolve_by: a.resolve_by,
            },
            now.timestamp_millis(),
            |k, t| self.remind_from(a.colour, k, t),
        );
        if a.id != id || !still.contains(&(kind, deadline)) {
            tx.rollback().await?;
            return Ok(false);
        }
        let minutes = (deadline - now.timestamp_millis()).max(0) / 60_000;
        let action = match kind {
            DueKind::RemindRespond => Action::Remind {
                limit: Limit::Respond,
                minutes,
            },
            DueKind::RemindResolve => Action::Remind {
                limit: Limit::Resolve,
                minutes,
            },
            DueKind::EscalateRespond => Action::Overdue {
                limit: Limit::Respond,
            },
            DueKind::EscalateResolve => Action::Overdue {
                limit: Limit::Resolve,
            },
        };
        let system = Actor::system();
        // The gateway may do either to an open appeal, and `due` just said it is open: a
        // refusal here is a rule changed under us, logged and left for the next tick.
        let t = match decide(&a, &system, &action, ctx, now) {
            Ok(t) => t,
            Err(r) => {
                tracing::error!(number = %a.number, ?r, "deadline work refused");
                tx.rollback().await?;
                return Ok(false);
            }
        };
        write(store, &mut tx, ctx, &a, &system, &t, now).await?;
        if matches!(action, Action::Overdue { .. }) {
            tracing::warn!(number = %a.number, summary = %t.summary, "deadline passed; escalated");
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn do_survey_reminder(
        &self,
        ctx: &Ctx,
        id: i64,
        number: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let store = &self.store;
        let key = format!("survey_reminder:{id}");
        let claim = Claim {
            key: &key,
            appeal_id: id,
            kind: "survey_reminder",
            due_at: now.timestamp_millis(),
        };
        let Some((mut tx, a)) = self.claim_and_load(&claim, number, now).await? else {
            return Ok(false);
        };
        if a.id != id || a.status != Status::Resolved {
            tx.rollback().await?;
            return Ok(false);
        }
        let system = Actor::system();
        let mut w = Writer::new(store, ctx, &a, &system, now);
        let text = msg::survey_reminder(&ctx.signature(a.village.as_deref()), &a.number);
        w.villager(&mut tx, "survey", &text).await?;
        w.event(&mut tx, Step::Evaluation, "survey_reminder", &text)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The daemon's loop: a tick every `interval` while this daemon leads.
    pub async fn run(
        self,
        clock: Clock,
        leader: Leader,
        outbox_wake: crate::wake::Wake,
        shutdown: CancellationToken,
    ) {
        loop {
            if leader.is_leader() {
                match self.tick(clock.now()).await {
                    Ok(r) if r.any() => {
                        tracing::info!(?r, "scheduled work done");
                        outbox_wake.notify();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "scheduler tick failed; retried next tick")
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.settings.interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn due_table() {
        let lead = |_, t| t - 30 * MIN;
        let d = |status, respond_by, resolve_by| Deadlines {
            status,
            colour: Colour::Yellow,
            respond_by,
            resolve_by,
        };
        let r = Some(240 * MIN);
        let z = Some(72 * 60 * MIN);
        assert_eq!(due(d(Status::Open, r, z), 0, lead), vec![]);
        assert_eq!(due(d(Status::Open, r, z), 209 * MIN, lead), vec![]);
        assert_eq!(
            due(d(Status::Open, r, z), 210 * MIN, lead),
            vec![(DueKind::RemindRespond, 240 * MIN)]
        );
        assert_eq!(
            due(d(Status::Open, r, z), 240 * MIN, lead),
            vec![(DueKind::EscalateRespond, 240 * MIN)]
        );
        assert_eq!(due(d(Status::Accepted, r, z), 240 * MIN, lead), vec![]);
        assert_eq!(
            due(d(Status::Accepted, r, z), 72 * 60 * MIN, lead),
            vec![(DueKind::EscalateResolve, 72 * 60 * MIN)]
        );
        assert_eq!(due(d(Status::Resolved, r, z), 100 * 60 * MIN, lead), vec![]);
    }

    #[test]
    fn reminders_that_would_wait_out_the_night_go_the_evening_before() {
        use chrono_tz::Asia::Shanghai;
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let at = |d, h, m| {
            Shanghai
                .with_ymd_and_hms(2022, 7, d, h, m, 0)
                .unwrap()
                .timestamp_millis()
        };
        let q = (hm(22, 0), hm(7, 0));
        let r = |deadline, urgent| remind_from(deadline, 30 * MIN, urgent, Shanghai, q);
        assert_eq!(r(at(14, 9, 0), false), at(14, 8, 30));
        assert_eq!(r(at(15, 7, 0), false), at(14, 21, 30));
        assert_eq!(r(at(14, 23, 0), false), at(14, 21, 30));
        assert_eq!(r(at(15, 7, 20), false), at(14, 21, 30));
        assert_eq!(r(at(15, 7, 30), false), at(15, 7, 0));
        assert_eq!(r(at(15, 7, 0), true), at(15, 6, 30), "red is not held");
        let none = (hm(0, 0), hm(0, 0));
        assert_eq!(
            remind_from(at(15, 7, 0), 30 * MIN, false, Shanghai, none),
            at(15, 6, 30)
        );
    }
}
