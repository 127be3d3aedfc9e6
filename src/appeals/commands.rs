//! One whole inbound text, dispatched by its [`Intent`]: cadre commands go to
//! [`actions::apply_in`](super::actions::apply_in), villagers' queries, help, opt-out and survey
//! answers are answered here, anything else becomes (or joins) an appeal. Everything happens in
//! the caller's transaction, the one that marks the inbox rows done.

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use super::actions::{self, Action, ActionError, Actor, Ctx};
use super::events::{append_event, NewEvent};
use super::messages as msg;
use super::record::{row_to_appeal, APPEAL_COLUMNS};
use super::routing::{incoming_text, own_appeal, reply, TextIn, TextOutcome};
use super::survey::{answer, Rated};
use super::Step;
use crate::directory::{Cadre, CadreRole};
use crate::intake::{parse_intent, CadreCommand, CadreVerb, Intent, SenderRole, Target};
use crate::phone::national;
use crate::store::{Result, Store};

/// What a text turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Text(TextOutcome),
    /// A cadre command done on this appeal.
    Done(String),
    /// Answered without changing anything (query, help, list, malformed, a failed command).
    Answered,
    Refused,
    OptedOut,
    Rated(Rated),
    /// A machine, an automatic reply or a flood: recorded, nothing filed or sent.
    Screened,
}

pub async fn dispatch(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    m: &TextIn<'_>,
    now: DateTime<Utc>,
) -> Result<Handled> {
    let dir = ctx.directory.clone();
    let cadre = dir.cadre_by_phone(m.phone).cloned();
    let role = if cadre.is_some() {
        SenderRole::Cadre
    } else {
        SenderRole::Villager
    };
    let sig = ctx.signature(sender_village(store, tx, ctx, m).await?.as_deref());
    match parse_intent(m.text, role) {
        Intent::Text => Ok(Handled::Text(incoming_text(store, tx, ctx, m, now).await?)),
        Intent::Cadre(c) => match cadre {
            Some(cadre) => cadre_command(store, tx, ctx, m, &cadre, c, now).await,
            None => unreachable_cadre(store, tx, m, &sig, now).await,
        },
        Intent::NotCadre(_) => unreachable_cadre(store, tx, m, &sig, now).await,
        Intent::Malformed { expected } => {
            log_refusal(store, tx, m, "命令格式不对", now).await?;
            reply(store, tx, m, None, &msg::malformed(expected), now).await?;
            Ok(Handled::Refused)
        }
        Intent::Unknown => {
            reply(store, tx, m, None, &msg::unknown_command(), now).await?;
            Ok(Handled::Answered)
        }
        Intent::Help => {
            let text = if role == SenderRole::Cadre {
                msg::CADRE_HELP.to_string()
            } else {
                msg::villager_help(&sig)
            };
            reply(store, tx, m, None, &text, now).await?;
            Ok(Handled::Answered)
        }
        Intent::Query(number) => {
            let text = match own_appeal(store, tx, m.phone, number.as_deref()).await? {
                Some(a) => msg::progress(
                    &ctx.signature(a.village.as_deref()),
                    &a.number,
                    a.status.as_str(),
                    a.cadre_name.as_deref(),
                ),
                None => msg::no_appeal(&sig),
            };
            reply(store, tx, m, None, &text, now).await?;
            Ok(Handled::Answered)
        }
        Intent::OptOut => {
            opt_out(store, tx, m.phone, now).await?;
            reply(store, tx, m, None, &msg::opted_out(&sig), now).await?;
            Ok(Handled::OptedOut)
        }
        Intent::Rating(score) => {
            let (rated, appeal, text) = answer(store, tx, ctx, m.phone, score, "sms", now).await?;
            let text = if rated == Rated::NoSurvey {
                log_refusal(store, tx, m, "没有待评价的诉求", now).await?;
                msg::no_pending_survey(&sig)
            } else {
                text
            };
            reply(store, tx, m, appeal, &text, now).await?;
            Ok(Handled::Rated(rated))
        }
    }
}

/// Stops the phone's rating reminders (TD).
pub async fn opt_out(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        &store.sql("INSERT INTO opt_outs (phone, at) VALUES (?, ?) ON CONFLICT (phone) DO NOTHING"),
    )
    .bind(phone)
    .bind(now.timestamp_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The sender's village: the modem's, else the one remembered for the phone, else the
/// village the modem alone serves.
pub async fn sender_village(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    m: &TextIn<'_>,
) -> Result<Option<String>> {
    let remembered: Option<String> =
        sqlx::query_scalar(&store.sql("SELECT village FROM phone_villages WHERE phone = ?"))
            .bind(m.phone)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(m.modem_village
        .map(str::to_string)
        .or(remembered)
        .or_else(|| {
            ctx.directory
                .village_of_modem(m.modem)
                .map(|v| v.code.clone())
        }))
}

/// A cadre command from a number that is not a cadre's: refused, logged for the supervisors.
async fn unreachable_cadre(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    m: &TextIn<'_>,
    sig: &str,
    now: DateTime<Utc>,
) -> Result<Handled> {
    log_refusal(store, tx, m, "非干部号码发送干部命令", now).await?;
    reply(store, tx, m, None, &msg::refused_not_cadre(sig), now).await?;
    Ok(Handled::Refused)
}

/// Refusal reasons that start a `refused` event's text; [`WRONG_PIN`] ones are counted for the
/// lockout, so they must stay distinct from the others.
const WRONG_PIN: &str = "PIN错误";
const MISSING_PIN: &str = "缺少PIN";
const LOCKED_OUT: &str = "命令暂停（PIN错误次数过多）";

/// Wrong PINs from one phone within [`PIN_WINDOW_MS`] that lock its cadre commands.
pub const PIN_LOCK_AFTER: i64 = 5;
pub const PIN_WINDOW_MS: i64 = 3_600_000;

async fn log_refusal(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    m: &TextIn<'_>,
    why: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tracing::warn!(phone = %crate::phone::mask(m.phone), why, "command refused");
    append_event(
        store,
        tx,
        NewEvent {
            appeal_id: None,
            at: now.timestamp_millis(),
            actor: m.phone,
            channel: "sms",
            step: Step::Supervision.as_str(),
            kind: "refused",
            text: &format!("{why}：{}", crate::intake::redact_pin(m.text)),
        },
    )
    .await?;
    Ok(())
}

/// Wrong PINs sent from `phone` in the hour before `now`, from the event log, so the count
/// holds across restarts and across daemons sharing the database. The phone is matched in
/// the forms a network may give it (+86..., national).
async fn recent_wrong_pins(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let nat = national(phone);
    let n: i64 = sqlx::query_scalar(&store.sql(
        "SELECT COUNT(*) FROM events WHERE actor IN (?, ?, ?) AND kind = 'refused' \
         AND at > ? AND text LIKE ?",
    ))
    .bind(phone)
    .bind(format!("+86{nat}"))
    .bind(nat)
    .bind(now.timestamp_millis() - PIN_WINDOW_MS)
    .bind(format!("{WRONG_PIN}：%"))
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

/// The appeals a cadre is working on: assigned to them, or of their village.
async fn cadre_open(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    c: &Cadre,
) -> Result<Vec<crate::appeals::Appeal>> {
    let rows = sqlx::query(&store.sql(&format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals WHERE status IN {open} \
         AND (cadre = ? OR cadre = ? OR village = ?) ORDER BY id",
        open = super::Status::OPEN_SQL
    )))
    .bind(&c.phone)
    .bind(national(&c.phone))
    .bind(match c.role {
        CadreRole::VillageCadre | CadreRole::GridMember => c.village.as_deref().unwrap_or(""),
        // Town posts act by full number on what they were sent.
        _ => "",
    })
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(row_to_appeal).collect()
}

async fn cadre_command(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    m: &TextIn<'_>,
    cadre: &Cadre,
    c: CadreCommand,
    now: DateTime<Utc>,
) -> Result<Handled> {
    if let Some(pin) = &cadre.pin {
        // Checked before the PIN, so a locked phone learns nothing from further guesses, the
        // right one included.
        if recent_wrong_pins(store, tx, m.phone, now).await? >= PIN_LOCK_AFTER {
            log_refusal(store, tx, m, LOCKED_OUT, now).await?;
            reply(store, tx, m, None, msg::PIN_LOCKED, now).await?;
            return Ok(Handled::Refused);
        }
        match c.pin.as_deref() {
            Some(given) if given == pin.as_str() => {}
            given => {
                let why = if given.is_some() {
                    WRONG_PIN
                } else {
                    MISSING_PIN
                };
                log_refusal(store, tx, m, why, now).await?;
                reply(store, tx, m, None, msg::WRONG_PIN, now).await?;
                return Ok(Handled::Refused);
            }
        }
    }
    let number = match &c.target {
        _ if c.verb == CadreVerb::List => {
            let open = cadre_open(store, tx, cadre).await?;
            reply(store, tx, m, None, &list_text(&open), now).await?;
            return Ok(Handled::Answered);
        }
        // The parser gives every other verb a target; answered as malformed all the same.
        None => {
            reply(store, tx, m, None, &msg::unknown_command(), now).await?;
            return Ok(Handled::Answered);
        }
        Some(Target::Full(n)) => n.clone(),
        Some(Target::Suffix(s)) => {
            let seq: u64 = s.parse().unwrap_or(0);
            let open = cadre_open(store, tx, cadre).await?;
            let hits: Vec<&crate::appeals::Appeal> = open
                .iter()
                .filter(|a| a.number.get(8..).and_then(|t| t.parse::<u64>().ok()) == Some(seq))
                .collect();
            match hits.as_slice() {
                [one] => one.number.clone(),
                [] => {
                    let t =
                        format!("您的待办中没有序号{s}的诉求，请写完整编号，如JS20220713{s:0>3}。");
                    reply(store, tx, m, None, &t, now).await?;
                    return Ok(Handled::Answered);
                }
                _ => {
                    let t = format!("序号{s}对应多个诉求，请写完整编号。");
                    reply(store, tx, m, None, &t, now).await?;
                    return Ok(Handled::Answered);
                }
            }
        }
    };
    let action = match c.verb {
        CadreVerb::Accept => Action::Accept,
        CadreVerb::Reply(text) => Action::Reply { text },
        CadreVerb::Note(text) => Action::Note { text },
        CadreVerb::Resolve(text) => Action::Resolve { text },
        CadreVerb::Transfer(to) => Action::Transfer { to },
        CadreVerb::Escalate => Action::Escalate,
        CadreVerb::Regrade(colour) => Action::Regrade { colour },
        CadreVerb::List => return Ok(Handled::Answered),
    };
    let actor = Actor::cadre(cadre, "sms");
    match actions::apply_in(store, tx, ctx, &actor, &number, action, now).await {
        Ok(out) => {
            reply(store, tx, m, None, &out.summary, now).await?;
            Ok(Handled::Done(out.number))
        }
        Err(ActionError::Store(e)) => Err(e),
        Err(e) => {
            if matches!(e, ActionError::NotAllowed(_)) {
                log_refusal(store, tx, m, &e.to_string(), now).await?;
            }
            reply(store, tx, m, None, &e.sms(), now).await?;
            Ok(Handled::Answered)
        }
    }
}

fn list_text(open: &[crate::appeals::Appeal]) -> String {
    if open.is_empty() {
        return "您目前没有待办诉求。".into();
    }
    let items: Vec<String> = open
        .iter()
        .take(6)
        .map(|a| {
            format!(
                "{}{} {}",
                a.number,
                a.colour.chinese(),
                msg::preview(&a.text, 6)
            )
        })
        .collect();
    let more = if open.len() > 6 {
        format!("等{}件", open.len())
    } else {
        String::new()
    };
    format!("待办{}件：{}{more}", open.len(), items.join("；"))
}
