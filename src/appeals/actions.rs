//! The appeal operations, one place for every channel: cadres' SMS commands and the web API
//! (`POST /api/v1/appeals/{number}/actions`) call the same [`apply`] (or [`apply_in`] inside a
//! transaction they hold), so the rules for who may do what, in which state, are written once.
//!
//! Each operation is load -> decide -> write: the appeal is loaded (row-locked), the pure state
//! machine in `machine` decides the whole transition, and [`write`] carries it out in one
//! transaction: the row, its event(s) on the hash chain and the SMS it causes.

use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::{Any, Transaction};

use super::events::{append_event, NewEvent};
use super::machine::{decide, Change, Refusal, Step, Text, Transition};
use super::record::{row_to_appeal, Appeal, APPEAL_COLUMNS};
use super::FilingPolicy;
use crate::config::Config;
use crate::directory::{Cadre, Directory};
use crate::grade::Colour;
use crate::outbox::{enqueue, NewSms};
use crate::store::{Backend, Result as StoreResult, Store, StoreError};

/// What an operation needs besides the database: the filing policy (zone, colours, signature),
/// the directory (for transfers and alerts) and the quiet hours.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub policy: FilingPolicy,
    pub directory: Arc<Directory>,
    /// (start, end) local; see [`Config::is_quiet`].
    pub quiet_hours: (NaiveTime, NaiveTime),
    /// A villager's second text within this of a short first one completes it.
    pub append_window: std::time::Duration,
    /// See `[intake] flood_per_hour`.
    pub flood_per_hour: u32,
}

impl Ctx {
    pub fn new(config: &Config, directory: Arc<Directory>) -> Ctx {
        Ctx {
            policy: FilingPolicy::from_config(config),
            directory,
            quiet_hours: config.quiet_hours,
            append_window: config.intake.append_window,
            flood_per_hour: config.intake.flood_per_hour,
        }
    }

    /// The village's own signature, else the configured one.
    pub fn signature(&self, village: Option<&str>) -> String {
        village
            .and_then(|v| self.directory.village(v))
            .and_then(|v| v.signature.clone())
            .unwrap_or_else(|| self.policy.signature.clone())
    }

    pub fn village_name(&self, village: Option<&str>) -> String {
        match village {
            Some(code) => self
                .directory
                .village(code)
                .map(|v| v.name.clone())
                .unwrap_or_else(|| code.to_string()),
            None => "未知村".to_string(),
        }
    }

    /// When a text may go: now, or for a non-urgent text in the quiet hours, their end.
    pub fn send_at(&self, now: DateTime<Utc>, urgent: bool) -> DateTime<Utc> {
        if urgent {
            now
        } else {
            crate::quiet::end_after(now, self.policy.tz, self.quiet_hours)
        }
    }

    /// The (respond_by, resolve_by) of an appeal of `colour` whose cadre is told at `from`.
    /// The clock starts when the alert can go, not when the text arrived: a green appeal filed
    /// at 22:30 is alerted at 07:00 and its two hours to respond run from then, so the cadre
    /// is never handed an appeal together with its overdue escalation. Red alerts ignore the
    /// quiet hours, so a red clock starts at once.
    pub fn deadlines(&self, colour: Colour, from: DateTime<Utc>) -> (i64, i64) {
        let start = self.send_at(from, colour == Colour::Red).timestamp_millis();
        let limits = self.policy.colours.get(colour);
        (
            start + millis(limits.respond),
            start + millis(limits.resolve),
        )
    }
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Who acts.
#[derive(Debug, Clone)]
pub enum ActorKind {
    /// A directory cadre (SMS, or the API on their behalf).
    Cadre(Cadre),
    /// A web/API account: may do anything.
    Admin,
    /// The gateway itself (scheduler, survey).
    System,
}

#[derive(Debug, Clone)]
pub struct Actor {
    /// Recorded in events: "name/phone" for cadres, the account for the API, "system".
    pub label: String,
    pub kind: ActorKind,
    /// "sms", "api" or "system".
    pub channel: &'static str,
}

impl Actor {
    pub fn cadre(c: &Cadre, channel: &'static str) -> Actor {
        Actor {
            label: format!("{}/{}", c.name, c.phone),
            kind: ActorKind::Cadre(c.clone()),
            channel,
        }
    }

    pub fn api(account: &str) -> Actor {
        Actor {
            label: account.to_string(),
            kind: ActorKind::Admin,
            channel: "api",
        }
    }

    pub fn system() -> Actor {
        Actor {
            label: "system".into(),
            kind: ActorKind::System,
            channel: "system",
        }
    }
}

/// An operation on one appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 受理: take it on.
    Accept,
    /// 回复: a text relayed to the villager with the village's signature.
    Reply { text: String },
    /// 协商: a negotiation note, recorded only.
    Note { text: String },
    /// 办结: the decision; the villager gets it and the survey.
    Resolve { text: String },
    /// 转办: to another cadre, by name or phone.
    Transfer { to: String },
    /// 上报: to the town office.
    Escalate,
    /// 分类: a new colour; deadlines are recomputed from the filing time (from the morning for
    /// one filed in the quiet hours that is not red, see [`Ctx::deadlines`]).
    Regrade { colour: Colour },
    /// Back to work after resolution (admins; a bad rating does this by itself).
    Reopen { text: String },
    /// 催办: `minutes` before the limit, its cadre (or, unassigned, the town office) is reminded.
    /// The scheduler's alone.
    Remind { limit: Limit, minutes: i64 },
    /// 超时: the limit passed; the town office and the discipline inspector are told. The
    /// scheduler's alone.
    Overdue { limit: Limit },
}

/// The two time limits of an appeal, which its colour sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// To accept it (响应).
    Respond,
    /// To resolve it (办结).
    Resolve,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reply { .. } => "reply",
            Action::Note { .. } => "note",
            Action::Resolve { .. } => "resolve",
            Action::Transfer { .. } => "transfer",
            Action::Escalate => "escalate",
            Action::Regrade { .. } => "regrade",
            Action::Reopen { .. } => "reopen",
            Action::Remind { .. } => "remind",
            Action::Overdue { .. } => "overdue",
        }
    }
}

/// What an operation did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub number: String,
    pub status: String,
    pub step: String,
    pub colour: String,
    /// Phone of the cadre now handling it.
    pub cadre: Option<String>,
    /// One line in Chinese for the actor (the SMS confirmation).
    pub summary: String,
    /// SMS queued by the operation.
    pub queued: usize,
}

/// Why an operation was not done. Nothing was written. The API maps these to 404, 403, 409, 400.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no appeal {0}")]
    UnknownAppeal(String),
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("appeal {number} is {status}: {why}")]
    WrongState {
        number: String,
        status: String,
        why: String,
    },
    #[error("bad argument: {0}")]
    BadArgument(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ActionError {
    fn from(e: sqlx::Error) -> Self {
        ActionError::Store(StoreError::Sqlx(e))
    }
}

impl ActionError {
    /// The short Chinese SMS telling a cadre why a command was not done.
    pub fn sms(&self) -> String {
        match self {
            ActionError::UnknownAppeal(n) => format!("没有编号为{n}的诉求，命令未执行。"),
            ActionError::NotAllowed(why) => format!("无权操作：{why}。命令未执行。"),
            ActionError::WrongState { number, why, .. } => {
                format!("诉求{number}{why}，命令未执行。")
            }
            ActionError::BadArgument(why) => format!("{why}，命令未执行。"),
            ActionError::Store(_) => "系统繁忙，请稍后再发。".into(),
        }
    }
}

/// Loads an appeal inside `tx`, row-locked on PostgreSQL so two operations on it take turns.
pub async fn load_for_update(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    number: &str,
) -> StoreResult<Option<Appeal>> {
    let lock = if store.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&store.sql(&format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals WHERE number = ?{lock}"
    )))
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(row_to_appeal).transpose()
}

/// Does `action` on appeal `number` in its own transaction.
pub async fn apply(
    store: &Store,
    ctx: &Ctx,
    actor: &Actor,
    number: &str,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Outcome, ActionError> {
    let mut tx = store.pool().begin().await?;
    // The chain lock before the appeal row: the lock order of appeals::events.
    super::events::lock_chain(store, &mut tx).await?;
    let out = apply_in(store, &mut tx, ctx, actor, number, action, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`apply`] inside the caller's transaction (the SMS intake uses this so the inbox row is
/// marked done in the same commit). On `Err` nothing has been written.
pub async fn apply_in(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    actor: &Actor,
    number: &str,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Outcome, ActionError> {
    let a = load_for_update(store, tx, number)
        .await?
        .ok_or_else(|| ActionError::UnknownAppeal(number.to_string()))?;
    let t = decide(&a, actor, &action, ctx, now).map_err(|r| match r {
        Refusal::NotAllowed(why) => ActionError::NotAllowed(why),
        Refusal::WrongState(why) => ActionError::WrongState {
            number: a.number.clone(),
            status: a.status.as_str().to_string(),
            why: why.to_string(),
        },
        Refusal::BadArgument(why) => ActionError::BadArgument(why),
    })?;
    let queued = write(store, tx, ctx, &a, actor, &t, now).await?;
    Ok(Outcome {
        number: a.number.clone(),
        status: t.status.as_str().to_string(),
        step: t.step.as_str().to_string(),
        colour: t.colour.as_str().to_string(),
        cadre: t.cadre,
        summary: t.summary,
        queued,
    })
}

/// Carries out a decided transition on `a` inside `tx`: the row, the events, the texts.
/// Returns how many SMS it queued.
pub(crate) async fn write(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    a: &Appeal,
    actor: &Actor,
    t: &Transition,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let ms = now.timestamp_millis();
    // Every change also stamps updated_at; the row is always the last bind.
    let update = |set: &str| {
        store
            .sql(&format!(
                "UPDATE appeals SET {set}, updated_at = ? WHERE id = ?"
            ))
            .into_owned()
    };
    let sql = match &t.change {
        Change::None => None,
        Change::Step(_) => Some(update("step = ?")),
        Change::Accept { .. } => Some(update(
            "status = 'accepted', step = 'negotiation', cadre = ?, cadre_name = ?, accepted_at = ?",
        )),
        Change::Resolve { .. } => Some(update(
            "status = 'resolved', step = 'decision', resolved_at = ?, survey_state = 'pending', \
             survey_sent_at = ?",
        )),
        Change::Transfer { .. } => Some(update(
            "status = ?, step = 'negotiation', cadre = ?, cadre_name = ?, respond_by = ?",
        )),
        Change::Escalate => Some(update("escalated_at = ?")),
        Change::Regrade { .. } => Some(update("colour = ?, respond_by = ?, resolve_by = ?")),
        Change::Reopen { .. } => Some(update(
            "status = 'reopened', step = 'supervision', survey_state = NULL, respond_by = ?, \
             resolve_by = ?",
        )),
    };
    if let Some(sql) = sql {
        let q = sqlx::query(&sql);
        let q = match &t.change {
            Change::None | Change::Escalate => q.bind(ms),
            Change::Step(step) => q.bind(step.as_str()),
            Change::Accept { cadre, cadre_name } => q.bind(cadre).bind(cadre_name).bind(ms),
            Change::Resolve { survey_at } => q.bind(ms).bind(*survey_at),
            Change::Transfer {
                status,
                cadre,
                cadre_name,
                respond_by,
            } => q
                .bind(status.as_str())
                .bind(cadre)
                .bind(cadre_name)
                .bind(*respond_by),
            Change::Regrade {
                colour,
                respond_by,
                resolve_by,
            } => q.bind(colour.as_str()).bind(*respond_by).bind(*resolve_by),
            Change::Reopen {
                respond_by,
                resolve_by,
            } => q.bind(*respond_by).bind(*resolve_by),
        };
        q.bind(ms).bind(a.id).execute(&mut **tx).await?;
    }
    let mut w = Writer::new(store, ctx, a, actor, now);
    let system = Actor::system();
    for e in &t.events {
        let by = if e.by_system { &system } else { actor };
        w.event_as(tx, by, e.step, e.kind, &e.text).await?;
    }
    for text in &t.texts {
        match text {
            Text::Villager { kind, body } => w.villager(tx, kind, body).await?,
            Text::Cadre {
                phone,
                kind,
                body,
                urgent,
            } => w.cadre(tx, phone, kind, body, *urgent).await?,
        }
    }
    Ok(w.queued)
}

/// Writes the effects of one operation on one appeal.
pub(crate) struct Writer<'a> {
    pub store: &'a Store,
    pub ctx: &'a Ctx,
    pub a: &'a Appeal,
    pub actor: &'a Actor,
    pub now: DateTime<Utc>,
    pub queued: usize,
}

impl<'a> Writer<'a> {
    pub fn new(
        store: &'a Store,
        ctx: &'a Ctx,
        a: &'a Appeal,
        actor: &'a Actor,
        now: DateTime<Utc>,
    ) -> Writer<'a> {
        Writer {
            store,
            ctx,
            a,
            actor,
            now,
            queued: 0,
        }
    }

    pub async fn event(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        step: Step,
        kind: &str,
        text: &str,
    ) -> StoreResult<i64> {
        let actor = self.actor.clone();
        self.event_as(tx, &actor, step, kind, text).await
    }

    pub async fn event_as(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        step: Step,
        kind: &str,
        text: &str,
    ) -> StoreResult<i64> {
        append_event(
            self.store,
            tx,
            NewEvent {
                appeal_id: Some(self.a.id),
                at: self.now.timestamp_millis(),
                actor: &actor.label,
                channel: actor.channel,
                step: step.as_str(),
                kind,
                text,
            },
        )
        .await
    }

    /// A text to the appeal's villager, through the village's modem, held in quiet hours.
    pub async fn villager(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        kind: &str,
        text: &str,
    ) -> StoreResult<()> {
        let at = self.ctx.send_at(self.now, false);
        enqueue(
            self.store,
            tx,
            NewSms {
                recipient: &self.a.phone,
                text,
                kind,
                appeal_id: Some(self.a.id),
                modem: self.a.modem.as_deref(),
                not_before: at,
            },
        )
        .await?;
        self.queued += 1;
        Ok(())
    }

    /// A text to a cadre, through any modem; urgent ones (red) ignore the quiet hours.
    pub async fn cadre(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        phone: &str,
        kind: &str,
        text: &str,
        urgent: bool,
    ) -> StoreResult<()> {
        let at = self.ctx.send_at(self.now, urgent);
        enqueue(
            self.store,
            tx,
            NewSms {
                recipient: phone,
                text,
                kind,
                appeal_id: Some(self.a.id),
                modem: None,
                not_before: at,
            },
        )
        .await?;
        self.queued += 1;
        Ok(())
    }
}
