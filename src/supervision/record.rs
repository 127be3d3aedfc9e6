//! What supervision keeps and sends: the monthly snapshot and its texts, the Monday digest,
//! the warnings. Each piece of scheduled work claims a `schedule_log` key in the transaction
//! that writes it (as the deadline work does), so a restart, a second tick or a second daemon
//! on the database never sends it twice. The figures come from [`super::report`], pure.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use super::facts::{self, Fact};
use super::period::{last_monthly, last_weekly, Period};
use super::rates::mark_repeats;
use super::report::{digest, evaluate, Backlog, Digest, Evaluation};
use super::warnings::{scan, Finding, Scan};
use crate::appeals::events::{append_event, lock_chain, NewEvent};
use crate::config::Config;
use crate::directory::{CadreRole, Directory};
use crate::outbox::{enqueue, NewSms};
use crate::phone::national;
use crate::store::{Result, Store};

const DAY: i64 = 86_400_000;

/// The facts of `[from, to)` with repeats marked against the resolutions before them.
pub async fn period_facts(store: &Store, config: &Config, from: i64, to: i64) -> Result<Vec<Fact>> {
    let mut list = facts::load(store, from, to).await?;
    let back = i64::from(config.supervision.thresholds.repeat_days) * DAY;
    let mut earlier = facts::load_resolved(store, from - back, to, from).await?;
    earlier.extend(facts::resolved_of(&list));
    mark_repeats(
        &mut list,
        &earlier,
        config.supervision.thresholds.repeat_days,
    );
    Ok(list)
}

/// The evaluation of `period` with deadlines judged at `as_of` (ms; clamped to the period's
/// end, so a month is judged as it stood when it closed).
pub async fn evaluation(
    store: &Store,
    config: &Config,
    dir: &Directory,
    period: Period,
    as_of: i64,
) -> Result<Evaluation> {
    let (from, to) = period.bounds(config.time_zone);
    let list = period_facts(store, config, from, to).await?;
    Ok(evaluate(
        period,
        from,
        to,
        as_of.min(to),
        &list,
        dir,
        &config.supervision,
    ))
}

/// A stored evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub period: String,
    pub created_at: i64,
    pub as_of: i64,
    pub appeals: i64,
    pub inputs_hash: String,
    /// The evaluation as it was computed then (JSON).
    pub report: serde_json::Value,
}

pub async fn snapshot(store: &Store, period: &str) -> Result<Option<Snapshot>> {
    let row = sqlx::query(&store.sql(
        "SELECT period, created_at, as_of, appeals, inputs_hash, report FROM evaluations WHERE period = ?",
    ))
    .bind(period)
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| {
        let report: String = r.try_get(5)?;
        Ok(Snapshot {
            period: r.try_get(0)?,
            created_at: r.try_get(1)?,
            as_of: r.try_get(2)?,
            appeals: r.try_get(3)?,
            inputs_hash: r.try_get(4)?,
            report: serde_json::from_str(&report).unwrap_or(serde_json::Value::Null),
        })
    })
    .transpose()
}

/// Every snapshot's period, newest first.
pub async fn snapshot_periods(store: &Store) -> Result<Vec<(String, i64, String)>> {
    let rows =
        sqlx::query("SELECT period, created_at, inputs_hash FROM evaluations ORDER BY period DESC")
            .fetch_all(store.pool())
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

async fn claim(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    key: &str,
    kind: &str,
    due_at: i64,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(&store.sql(
        "INSERT INTO schedule_log (key, appeal_id, kind, due_at, done_at) VALUES (?, 0, ?, ?, ?) \
         ON CONFLICT (key) DO NOTHING",
    ))
    .bind(key)
    .bind(kind)
    .bind(due_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

async fn done(store: &Store, key: &str) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar(&store.sql("SELECT 1 FROM schedule_log WHERE key = ?"))
        .bind(key)
        .fetch_optional(store.pool())
        .await?;
    Ok(n.is_some())
}

/// Whether the gateway recorded anything before `t`: a week or month it was not running in
/// gets no digest (a fresh install does not text an empty report of last week).
async fn has_history_before(store: &Store, t: i64) -> Result<bool> {
    let first: Option<i64> = sqlx::query_scalar("SELECT MIN(filed_at) FROM appeals")
        .fetch_one(store.pool())
        .await?;
    Ok(first.is_some_and(|f| f < t))
}

/// One text to an official, held out of the quiet hours like the workflow's.
async fn text(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    config: &Config,
    to: &str,
    kind: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let not_before = crate::quiet::end_after(now, config.time_zone, config.quiet_hours);
    enqueue(
        store,
        tx,
        NewSms {
            recipient: to,
            text: body,
            kind,
            appeal_id: None,
            modem: None,
            not_before,
        },
    )
    .await?;
    Ok(())
}

/// What a scheduled step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    pub period: Option<String>,
    pub texts: u32,
}

/// The monthly evaluation, if its instant has come and it was not made yet: the snapshot, and
/// each cadre of the month texted their own figures and rank, in one transaction.
pub async fn monthly(
    store: &Store,
    config: &Config,
    dir: &Directory,
    now: DateTime<Utc>,
) -> Result<Sent> {
    let s = &config.supervision;
    let (due_at, period) = last_monthly(now, config.time_zone, s.evaluation_time);
    let key = format!("evaluation:{}", period.key());
    let (_, to) = period.bounds(config.time_zone);
    if done(store, &key).await? || !has_history_before(store, to).await? {
        return Ok(Sent::default());
    }
    let ev = evaluation(store, config, dir, period, to).await?;
    let body = serde_json::to_string(&ev).unwrap_or_default();
    let ms = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    if !claim(store, &mut tx, &key, "evaluation", due_at, ms).await? {
        return Ok(Sent::default());
    }
    sqlx::query(&store.sql(
        "INSERT INTO evaluations (period, created_at, as_of, appeals, inputs_hash, report) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (period) DO NOTHING",
    ))
    .bind(&ev.period)
    .bind(ms)
    .bind(ev.as_of)
    .bind(ev.total.appeals as i64)
    .bind(&ev.inputs_hash)
    .bind(&body)
    .execute(&mut *tx)
    .await?;
    let mut texts = 0;
    for c in ev.cadres.iter().filter(|c| !c.row.key.is_empty()) {
        text(
            store,
            &mut tx,
            config,
            &c.row.key,
            "evaluation",
            &ev.cadre_text(c, s.min_appeals),
            now,
        )
        .await?;
        texts += 1;
    }
    tx.commit().await?;
    tracing::info!(period = %ev.period, appeals = ev.total.appeals, texts, hash = %ev.inputs_hash, "monthly evaluation made");
    Ok(Sent {
        period: Some(ev.period),
        texts,
    })
}

/// The numbers and villages of open appeals past resolve_by at `at`.
async fn overdue_open(store: &Store, at: i64) -> Result<Vec<(String, Option<String>)>> {
    let rows = sqlx::query(&store.sql(
        "SELECT number, village FROM appeals WHERE status IN ('open', 'accepted', 'reopened') \
         AND resolve_by < ? ORDER BY number",
    ))
    .bind(at)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Appeals rated 1-2 in `[from, to)`. The `rated` event's text starts with the score
/// (`appeals::survey::answer` writes "{score} {word}"); the appeal row keeps only the latest
/// rating, which a later re-rating of a reopened appeal replaces.
async fn low_ratings(store: &Store, from: i64, to: i64) -> Result<Vec<(String, Option<String>)>> {
    let rows = sqlx::query(&store.sql(
        "SELECT a.number, a.village FROM events e JOIN appeals a ON a.id = e.appeal_id \
         WHERE e.kind = 'rated' AND e.at >= ? AND e.at < ? AND (e.text LIKE '1%' OR e.text LIKE '2%') \
         ORDER BY a.number",
    ))
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// What a week's digests are computed from, loaded once for every recipient.
pub struct WeekInputs {
    pub week: Period,
    pub from: i64,
    pub to: i64,
    pub as_of: i64,
    pub facts: Vec<Fact>,
    pub overdue: Vec<(String, Option<String>)>,
    pub low: Vec<(String, Option<String>)>,
}

/// Loads the inputs of `week`'s digests, judged at `as_of`.
pub async fn week_inputs(
    store: &Store,
    config: &Config,
    week: Period,
    as_of: i64,
) -> Result<WeekInputs> {
    let (from, to) = week.bounds(config.time_zone);
    Ok(WeekInputs {
        week,
        from,
        to,
        as_of,
        facts: period_facts(store, config, from, to).await?,
        overdue: overdue_open(store, as_of).await?,
        low: low_ratings(store, from, to).await?,
    })
}

impl WeekInputs {
    /// The digest for `town` (None: every town). Pure.
    pub fn digest(&self, town: Option<&str>, dir: &Directory, config: &Config) -> Digest {
        let backlog = Backlog {
            overdue_open: &self.overdue,
            low_ratings: &self.low,
        };
        digest(
            self.week,
            self.from,
            self.to,
            self.as_of,
            town,
            &self.facts,
            &backlog,
            dir,
            config.supervision.weights,
        )
    }
}

/// The Monday digest, if its instant has come and it was not sent yet: one text to each
/// inspector and town office, about their town (all towns for those with none).
pub async fn weekly(
    store: &Store,
    config: &Config,
    dir: &Directory,
    now: DateTime<Utc>,
) -> Result<Sent> {
    let s = &config.supervision;
    let (due_at, week) = last_weekly(now, config.time_zone, s.digest_day, s.digest_time);
    let key = format!("digest:{}", week.key());
    let (_, to) = week.bounds(config.time_zone);
    if done(store, &key).await? || !has_history_before(store, to).await? {
        return Ok(Sent::default());
    }
    let recipients: Vec<_> = dir
        .cadres
        .iter()
        .filter(|c| matches!(c.role, CadreRole::Inspector | CadreRole::TownOffice))
        .collect();
    let inputs = week_inputs(store, config, week, due_at).await?;
    let bodies: Vec<(String, String)> = recipients
        .iter()
        .map(|c| {
            let town = c.town.as_deref().filter(|t| !t.is_empty());
            (c.phone.clone(), inputs.digest(town, dir, config).sms())
        })
        .collect();
    let ms = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    if !claim(store, &mut tx, &key, "digest", due_at, ms).await? {
        return Ok(Sent::default());
    }
    for (phone, body) in &bodies {
        text(store, &mut tx, config, phone, "digest", body, now).await?;
    }
    tx.commit().await?;
    tracing::info!(week = %week.key(), texts = bodies.len(), "weekly digest sent");
    Ok(Sent {
        period: Some(week.key()),
        texts: bodies.len() as u32,
    })
}

/// Looks for new warnings at `now` and records each once (see [`record_finding`]). Looks at
/// the appeals changed in the last two days (a daemon down longer than that misses the
/// per-appeal rules for what changed meanwhile) and filed in the last seven.
pub async fn scan_warnings(
    store: &Store,
    config: &Config,
    dir: &Directory,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let s = &config.supervision;
    let ms = now.timestamp_millis();
    let mut list = facts::load_recent(store, ms - 2 * DAY, ms - 7 * DAY).await?;
    facts::load_details(store, &mut list).await?;
    let back = i64::from(s.thresholds.repeat_days) * DAY;
    let earliest = list.iter().map(|f| f.filed_at).min().unwrap_or(ms);
    // The scan's appeals are not all of those filed since `earliest`: read every resolution
    // since then, not just the older ones.
    let earlier = facts::load_resolved(store, earliest - back, ms, ms + 1).await?;
    // The last complete week against the one before it.
    let today = now.with_timezone(&config.time_zone).date_naive();
    let week = Period::week_of(today).prev();
    let (a, b) = week.bounds(config.time_zone);
    let (c, _) = week.prev().bounds(config.time_zone);
    let this_week = facts::village_counts(store, a, b).await?;
    let week_before = facts::village_counts(store, c, a).await?;
    let cadre_phones: HashSet<String> = dir
        .cadres
        .iter()
        .map(|c| national(&c.phone).to_string())
        .collect();
    let findings = scan(&Scan {
        facts: &list,
        earlier: &earlier,
        week,
        this_week: &this_week,
        week_before: &week_before,
        cadre_phones: &cadre_phones,
        thresholds: s.thresholds,
        min_appeals: s.min_appeals,
        tz: config.time_zone,
        now,
    });
    let ids: HashMap<&str, i64> = list.iter().map(|f| (f.number.as_str(), f.id)).collect();
    let mut new = Vec::new();
    for f in &findings {
        if let Some(id) = record_finding(store, config, dir, f, &ids, now).await? {
            new.push(id);
        }
    }
    Ok(new)
}

/// Records a finding unless its key is recorded: the warnings row, a `warning` event (on the
/// first appeal of the evidence, or on none) and one text to the inspectors of its town, in
/// one transaction. Some(id) when it was new.
pub async fn record_finding(
    store: &Store,
    config: &Config,
    dir: &Directory,
    f: &Finding,
    ids: &HashMap<&str, i64>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let ms = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    // The chain lock first: the one lock order (appeals::events).
    lock_chain(store, &mut tx).await?;
    let id: Option<i64> = sqlx::query_scalar(&store.sql(
        "INSERT INTO warnings (key, rule, cadre, village, appeals, events, detail, detected_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id",
    ))
    .bind(&f.key)
    .bind(f.rule.as_str())
    .bind(&f.cadre)
    .bind(&f.village)
    .bind(f.appeals.join(" "))
    .bind(
        f.events
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(" "),
    )
    .bind(&f.detail)
    .bind(ms)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let appeal_id = f.appeals.last().and_then(|n| ids.get(n.as_str()).copied());
    let who = f
        .cadre
        .as_deref()
        .and_then(|p| dir.cadre_by_phone(p))
        .map(|c| c.name.clone())
        .or_else(|| f.cadre.clone());
    let line = format!(
        "【{}】{}{}",
        f.rule.chinese(),
        who.map(|w| format!("{w}：")).unwrap_or_default(),
        f.detail
    );
    append_event(
        store,
        &mut tx,
        NewEvent {
            appeal_id,
            at: ms,
            actor: "system",
            channel: "system",
            step: "supervision",
            kind: "warning",
            text: &line,
        },
    )
    .await?;
    // The inspectors of the village's town: the finding's village, else the cadre's.
    let village = f.village.clone().or_else(|| {
        f.cadre
            .as_deref()
            .and_then(|p| dir.cadre_by_phone(p))
            .and_then(|c| c.village.clone())
    });
    let body = format!("【纪委预警#{id}】{line}。请登录监督页处理。");
    for i in dir.town_cadres(village.as_deref(), CadreRole::Inspector) {
        text(store, &mut tx, config, &i.phone, "warning", &body, now).await?;
    }
    tx.commit().await?;
    tracing::warn!(rule = f.rule.as_str(), key = %f.key, id, "early warning");
    Ok(Some(id))
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WarningRow {
    pub id: i64,
    pub key: String,
    pub rule: String,
    pub cadre: Option<String>,
    pub village: Option<String>,
    pub appeals: Vec<String>,
    pub events: Vec<i64>,
    pub detail: String,
    pub detected_at: i64,
    pub handled_at: Option<i64>,
    pub handled_by: Option<String>,
    pub note: Option<String>,
}

fn warning_row(r: &sqlx::any::AnyRow) -> Result<WarningRow> {
    let appeals: String = r.try_get(5)?;
    let events: String = r.try_get(6)?;
    Ok(WarningRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        rule: r.try_get(2)?,
        cadre: r.try_get(3)?,
        village: r.try_get(4)?,
        appeals: appeals.split_whitespace().map(str::to_string).collect(),
        events: events
            .split_whitespace()
            .filter_map(|e| e.parse().ok())
            .collect(),
        detail: r.try_get(7)?,
        detected_at: r.try_get(8)?,
        handled_at: r.try_get(9)?,
        handled_by: r.try_get(10)?,
        note: r.try_get(11)?,
    })
}

const WARNING_COLUMNS: &str =
    "id, key, rule, cadre, village, appeals, events, detail, detected_at, handled_at, handled_by, note";

/// Warnings, newest first: the open ones only, or all (at most `limit`).
pub async fn warnings(store: &Store, open_only: bool, limit: i64) -> Result<Vec<WarningRow>> {
    let filter = if open_only {
        "WHERE handled_at IS NULL"
    } else {
        ""
    };
    let rows = sqlx::query(&store.sql(&format!(
        "SELECT {WARNING_COLUMNS} FROM warnings {filter} ORDER BY id DESC LIMIT ?"
    )))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(warning_row).collect()
}

pub async fn warning(store: &Store, id: i64) -> Result<Option<WarningRow>> {
    warning_on(store, store.pool(), id).await
}

async fn warning_on<'e, E: sqlx::Executor<'e, Database = Any>>(
    store: &Store,
    on: E,
    id: i64,
) -> Result<Option<WarningRow>> {
    let row = sqlx::query(&store.sql(&format!(
        "SELECT {WARNING_COLUMNS} FROM warnings WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(on)
    .await?;
    row.as_ref().map(warning_row).transpose()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Done,
    NotFound,
    AlreadyHandled,
}

/// An inspector marks a warning handled with a note; recorded as a `warning_handled` event.
pub async fn handle_warning(
    store: &Store,
    id: i64,
    by: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Handled> {
    let ms = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    lock_chain(store, &mut tx).await?;
    let Some(w) = warning_on(store, &mut *tx, id).await? else {
        return Ok(Handled::NotFound);
    };
    let r = sqlx::query(&store.sql(
        "UPDATE warnings SET handled_at = ?, handled_by = ?, note = ? WHERE id = ? AND handled_at IS NULL",
    ))
    .bind(ms)
    .bind(by)
    .bind(note)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(Handled::AlreadyHandled);
    }
    let appeal_id: Option<i64> = match w.appeals.last() {
        Some(n) => {
            sqlx::query_scalar(&store.sql("SELECT id FROM appeals WHERE number = ?"))
                .bind(n)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    append_event(
        store,
        &mut tx,
        NewEvent {
            appeal_id,
            at: ms,
            actor: by,
            channel: "web",
            step: "supervision",
            kind: "warning_handled",
            text: &format!("预警#{id}已处理：{note}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Handled::Done)
}
