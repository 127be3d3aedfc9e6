//! The appeal operations, one place for every channel: cadres' SMS commands and the web API
//! (`POST /api/v1/appeals/{number}/actions`) call the same [`apply`] (or [`apply_in`] inside a
//! transaction they hold), so the rules for who may do what, in which state, are written once.
//!
//! Each operation checks everything first and writes only after, then in one transaction updates
//! the appeal, appends its event(s) to the hash chain and queues the SMS it causes. The state
//! machine: open -(accept)-> accepted -(resolve)-> resolved -(rating 3-5)-> closed, with
//! resolved/closed -(rating 1-2 or reopen)-> reopened, which behaves like open.

use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::events::{append_event, NewEvent};
use super::messages as msg;
use super::{FilingPolicy, Step};
use crate::config::Config;
use crate::directory::{Cadre, CadreRole, Directory};
use crate::grade::Colour;
use crate::outbox::{enqueue, NewSms};
use crate::phone::{mask as mask_phone, national};
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

    fn display_name(&self) -> String {
        match &self.kind {
            ActorKind::Cadre(c) => c.name.clone(),
            ActorKind::Admin => self.label.clone(),
            ActorKind::System => "系统".into(),
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

/// An appeal as the operations see it.
#[derive(Debug, Clone)]
pub struct Appeal {
    pub id: i64,
    pub number: String,
    pub phone: String,
    pub village: Option<String>,
    pub modem: Option<String>,
    pub text: String,
    pub category: String,
    pub colour: Colour,
    pub status: String,
    pub step: String,
    pub cadre: Option<String>,
    pub cadre_name: Option<String>,
    pub filed_at: i64,
    pub respond_by: Option<i64>,
    pub resolve_by: Option<i64>,
}

/// Statuses in which an appeal still needs work.
pub const OPEN_STATUSES: &[&str] = &["open", "accepted", "reopened"];

pub(crate) const APPEAL_COLUMNS: &str =
    "id, number, phone, village, modem, text, category, colour, status, step, \
     cadre, cadre_name, filed_at, respond_by, resolve_by";

pub(crate) fn row_to_appeal(r: &sqlx::any::AnyRow) -> StoreResult<Appeal> {
    let colour: String = r.try_get("colour")?;
    Ok(Appeal {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        phone: r.try_get("phone")?,
        village: r.try_get("village")?,
        modem: r.try_get("modem")?,
        text: r.try_get("text")?,
        category: r.try_get("category")?,
        // A colour edited by hand into nonsense is treated as the most careful one.
        colour: colour.parse().unwrap_or(Colour::Red),
        status: r.try_get("status")?,
        step: r.try_get("step")?,
        cadre: r.try_get("cadre")?,
        cadre_name: r.try_get("cadre_name")?,
        filed_at: r.try_get("filed_at")?,
        respond_by: r.try_get("respond_by")?,
        resolve_by: r.try_get("resolve_by")?,
    })
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

/// Pure: may `actor` do `action` on `a`?
pub fn check_allowed(
    dir: &Directory,
    actor: &Actor,
    a: &Appeal,
    action: &Action,
) -> Result<(), String> {
    let c = match &actor.kind {
        ActorKind::Admin | ActorKind::System => return Ok(()),
        ActorKind::Cadre(c) => c,
    };
    if matches!(action, Action::Regrade { .. }) {
        // Any cadre may regrade: whoever sees a danger should be able to raise it.
        return Ok(());
    }
    if c.role == CadreRole::Inspector {
        return if matches!(action, Action::Note { .. }) {
            Ok(())
        } else {
            Err("纪委监督员只能记录意见(XS)".into())
        };
    }
    if matches!(action, Action::Reopen { .. }) {
        return Err("重新打开由群众评价或管理员进行".into());
    }
    let assigned = a
        .cadre
        .as_deref()
        .is_some_and(|p| national(p) == national(&c.phone));
    if assigned || dir.serves(c, a.village.as_deref()) {
        Ok(())
    } else {
        Err(format!("诉求{}不归您办理", a.number))
    }
}

/// Pure: is `action` possible in `status`? Err carries the Chinese reason.
pub fn check_state(status: &str, action: &Action) -> Result<(), &'static str> {
    let open = OPEN_STATUSES.contains(&status);
    match action {
        Action::Accept => match status {
            "open" | "reopened" => Ok(()),
            "accepted" => Err("已被受理"),
            _ => Err("已办结"),
        },
        Action::Note { .. } => Ok(()),
        Action::Reopen { .. } => {
            if open {
                Err("仍在办理中")
            } else {
                Ok(())
            }
        }
        _ => {
            if open {
                Ok(())
            } else {
                Err("已办结")
            }
        }
    }
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
    check_allowed(&ctx.directory, actor, &a, &action).map_err(ActionError::NotAllowed)?;
    check_state(&a.status, &action).map_err(|why| ActionError::WrongState {
        number: a.number.clone(),
        status: a.status.clone(),
        why: why.to_string(),
    })?;
    let need_text = |t: &str, what: &str| -> Result<String, ActionError> {
        let t = t.trim();
        if t.is_empty() {
            Err(ActionError::BadArgument(format!("缺少{what}")))
        } else {
            Ok(t.to_string())
        }
    };
    let ms = now.timestamp_millis();
    let sig = ctx.signature(a.village.as_deref());
    let village = ctx.village_name(a.village.as_deref());
    let masked = mask_phone(&a.phone);
    let who = actor.display_name();
    let mut w = Writer {
        store,
        ctx,
        a: &a,
        actor,
        now,
        queued: 0,
    };
    let mut status = a.status.clone();
    let mut step = a.step.clone();
    let mut colour = a.colour;
    let mut cadre = a.cadre.clone();
    let summary;
    match action {
        Action::Accept => {
            let (phone, name) = match &actor.kind {
                ActorKind::Cadre(c) => (Some(c.phone.clone()), Some(c.name.clone())),
                _ => (a.cadre.clone(), a.cadre_name.clone()),
            };
            sqlx::query(&store.sql(
                "UPDATE appeals SET status = 'accepted', step = 'negotiation', cadre = ?, cadre_name = ?, \
                 accepted_at = ?, updated_at = ? WHERE id = ?",
            ))
            .bind(&phone)
            .bind(&name)
            .bind(ms)
            .bind(ms)
            .bind(a.id)
            .execute(&mut **tx)
            .await?;
            w.event(tx, Step::Negotiation, "accepted", &format!("{who}受理"))
                .await?;
            w.villager(
                tx,
                "accepted",
                &msg::accepted_to_villager(&sig, &a.number, &who),
            )
            .await?;
            status = "accepted".into();
            step = Step::Negotiation.as_str().into();
            cadre = phone;
            summary = format!(
                "已受理{}。回复HF{}+内容答复群众，BJ{}+结果办结。",
                a.number, a.number, a.number
            );
        }
        Action::Reply { text } => {
            let text = need_text(&text, "回复内容")?;
            w.touch(tx, Step::Negotiation).await?;
            w.event(tx, Step::Negotiation, "reply", &text).await?;
            w.villager(tx, "reply", &msg::relay_to_villager(&sig, &a.number, &text))
                .await?;
            step = Step::Negotiation.as_str().into();
            summary = format!("已转告诉求{}的群众。", a.number);
        }
        Action::Note { text } => {
            let text = need_text(&text, "记录内容")?;
            let st = match &actor.kind {
                ActorKind::Cadre(c) if c.role == CadreRole::Inspector => Step::Supervision,
                _ => Step::Negotiation,
            };
            w.event(tx, st, "note", &text).await?;
            summary = format!("已记录到诉求{}。", a.number);
        }
        Action::Resolve { text } => {
            let text = need_text(&text, "办结结果")?;
            let survey_at = ctx.send_at(now, false);
            sqlx::query(&store.sql(
                "UPDATE appeals SET status = 'resolved', step = 'decision', resolved_at = ?, updated_at = ?, \
                 survey_state = 'pending', survey_sent_at = ? WHERE id = ?",
            ))
            .bind(ms)
            .bind(ms)
            .bind(survey_at.timestamp_millis())
            .bind(a.id)
            .execute(&mut **tx)
            .await?;
            w.event(tx, Step::Decision, "resolved", &text).await?;
            // The discipline committee supervises every decision: it is put on its record.
            w.event_as(
                tx,
                &Actor::system(),
                Step::Supervision,
                "filed_for_supervision",
                "办结结果已报纪委监督备案",
            )
            .await?;
            w.villager(
                tx,
                "decision",
                &msg::decision_to_villager(&sig, &a.number, &text),
            )
            .await?;
            w.villager(tx, "survey", &msg::survey_prompt(&sig, &a.number))
                .await?;
            status = "resolved".into();
            step = Step::Decision.as_str().into();
            summary = format!("诉求{}已办结，已请群众评价。", a.number);
        }
        Action::Transfer { to } => {
            let target = ctx
                .directory
                .cadre_by_name_or_phone(&to)
                .filter(|c| c.role != CadreRole::Inspector)
                .ok_or_else(|| ActionError::BadArgument(format!("名录中没有干部“{}”", to.trim())))?
                .clone();
            let (respond_by, _) = ctx.deadlines(a.colour, now);
            let new_status = if a.status == "reopened" {
                "reopened"
            } else {
                "open"
            };
            sqlx::query(&store.sql(
                "UPDATE appeals SET status = ?, step = 'negotiation', cadre = ?, cadre_name = ?, respond_by = ?, \
                 updated_at = ? WHERE id = ?",
            ))
            .bind(new_status)
            .bind(&target.phone)
            .bind(&target.name)
            .bind(respond_by)
            .bind(ms)
            .bind(a.id)
            .execute(&mut **tx)
            .await?;
            w.event(
                tx,
                Step::Negotiation,
                "transferred",
                &format!("{who}转办给{}", target.name),
            )
            .await?;
            let text = msg::alert(
                "转办",
                &msg::AlertFacts {
                    number: &a.number,
                    colour: a.colour,
                    village: &village,
                    masked_phone: &masked,
                    text: &a.text,
                },
            );
            w.cadre(tx, &target.phone, "alert", &text, a.colour == Colour::Red)
                .await?;
            status = new_status.into();
            step = Step::Negotiation.as_str().into();
            cadre = Some(target.phone.clone());
            summary = format!("诉求{}已转办给{}。", a.number, target.name);
        }
        Action::Escalate => {
            let towns: Vec<Cadre> = ctx
                .directory
                .town_cadres(a.village.as_deref(), CadreRole::TownOffice)
                .into_iter()
                .cloned()
                .collect();
            if towns.is_empty() {
                return Err(ActionError::BadArgument("名录中没有镇政府的号码".into()));
            }
            sqlx::query(
                &store.sql("UPDATE appeals SET escalated_at = ?, updated_at = ? WHERE id = ?"),
            )
            .bind(ms)
            .bind(ms)
            .bind(a.id)
            .execute(&mut **tx)
            .await?;
            let names: Vec<&str> = towns.iter().map(|c| c.name.as_str()).collect();
            w.event(
                tx,
                Step::Negotiation,
                "escalated",
                &format!("{who}上报{}", names.join("、")),
            )
            .await?;
            let text =
                msg::escalated_to_town(&a.number, a.colour, &village, &masked, &a.text, &who);
            for t in &towns {
                w.cadre(tx, &t.phone, "escalation", &text, a.colour == Colour::Red)
                    .await?;
            }
            summary = format!("诉求{}已上报{}。", a.number, names.join("、"));
        }
        Action::Regrade { colour: c } => {
            // From when the first alert could go under the new colour, as at filing.
            let (respond_by, resolve_by) = ctx.deadlines(c, crate::store::from_millis(a.filed_at));
            sqlx::query(&store.sql(
                "UPDATE appeals SET colour = ?, respond_by = ?, resolve_by = ?, updated_at = ? WHERE id = ?",
            ))
            .bind(c.as_str())
            .bind(respond_by)
            .bind(resolve_by)
            .bind(ms)
            .bind(a.id)
            .execute(&mut **tx)
            .await?;
            w.event(
                tx,
                Step::Collection,
                "regraded",
                &format!("{}→{}", a.colour.chinese(), c.chinese()),
            )
            .await?;
            if c == Colour::Red && a.colour != Colour::Red {
                let text = msg::alert(
                    "红色诉求",
                    &msg::AlertFacts {
                        number: &a.number,
                        colour: c,
                        village: &village,
                        masked_phone: &masked,
                        text: &a.text,
                    },
                );
                let towns: Vec<String> = ctx
                    .directory
                    .town_cadres(a.village.as_deref(), CadreRole::TownOffice)
                    .iter()
                    .map(|t| t.phone.clone())
                    .collect();
                for t in &towns {
                    w.cadre(tx, t, "alert", &text, true).await?;
                }
            }
            colour = c;
            summary = format!("诉求{}已改为{}色。", a.number, c.chinese());
        }
        Action::Reopen { text } => {
            let text = need_text(&text, "重新打开的理由")?;
            reopen(&mut w, tx, &text).await?;
            status = "reopened".into();
            step = Step::Supervision.as_str().into();
            summary = format!("诉求{}已重新打开。", a.number);
        }
    }
    Ok(Outcome {
        number: a.number.clone(),
        status,
        step,
        colour: colour.as_str().to_string(),
        cadre,
        summary,
        queued: w.queued,
    })
}

/// Back to work: new deadlines from now, the assigned cadre and the inspectors told.
pub(crate) async fn reopen(
    w: &mut Writer<'_>,
    tx: &mut Transaction<'static, Any>,
    why: &str,
) -> StoreResult<()> {
    let a = w.a;
    let ms = w.now.timestamp_millis();
    let (respond_by, resolve_by) = w.ctx.deadlines(a.colour, w.now);
    sqlx::query(&w.store.sql(
        "UPDATE appeals SET status = 'reopened', step = 'supervision', survey_state = NULL, respond_by = ?, \
         resolve_by = ?, updated_at = ? WHERE id = ?",
    ))
    .bind(respond_by)
    .bind(resolve_by)
    .bind(ms)
    .bind(a.id)
    .execute(&mut **tx)
    .await?;
    w.event(tx, Step::Supervision, "reopened", why).await?;
    let village = w.ctx.village_name(a.village.as_deref());
    let alert = msg::reopened_alert(&a.number, &village, why);
    if let Some(c) = a.cadre.clone() {
        w.cadre(tx, &c, "alert", &alert, a.colour == Colour::Red)
            .await?;
    }
    Ok(())
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

impl Writer<'_> {
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

    /// Sets the step column and the update time.
    pub async fn touch(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        step: Step,
    ) -> StoreResult<()> {
        sqlx::query(
            &self
                .store
                .sql("UPDATE appeals SET step = ?, updated_at = ? WHERE id = ?"),
        )
        .bind(step.as_str())
        .bind(self.now.timestamp_millis())
        .bind(self.a.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_table() {
        let reply = Action::Reply { text: "x".into() };
        let table: &[(&str, &Action, bool)] = &[
            ("open", &Action::Accept, true),
            ("accepted", &Action::Accept, false),
            ("reopened", &Action::Accept, true),
            ("resolved", &Action::Accept, false),
            ("closed", &reply, false),
            ("accepted", &reply, true),
            ("closed", &Action::Note { text: "x".into() }, true),
            ("resolved", &Action::Reopen { text: "x".into() }, true),
            ("open", &Action::Reopen { text: "x".into() }, false),
            ("resolved", &Action::Escalate, false),
        ];
        for (status, action, ok) in table {
            assert_eq!(
                check_state(status, action).is_ok(),
                *ok,
                "{status} {action:?}"
            );
        }
    }
}
