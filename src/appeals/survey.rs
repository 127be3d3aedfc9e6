//! The satisfaction survey (群众评价): a villager's answer 1-5 is matched to their pending
//! survey; 3-5 closes the appeal, 1-2 reopens it for review and tells the discipline inspector.

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use super::actions::{write, Action, Actor, ActorKind, Ctx, Writer};
use super::machine::{decide, Text};
use super::messages as msg;
use super::record::{row_to_appeal, APPEAL_COLUMNS};
use super::Step;
use crate::directory::CadreRole;
use crate::store::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rated {
    /// No survey pending for this phone: nothing changed.
    NoSurvey,
    Closed {
        number: String,
        score: u8,
    },
    Reopened {
        number: String,
        score: u8,
    },
}

/// Records `score` from `phone` on their latest pending survey and queues the answers;
/// `channel` is how the villager rated ("sms", or "voice" from the keypad menu).
pub async fn answer(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    phone: &str,
    score: u8,
    channel: &'static str,
    now: DateTime<Utc>,
) -> Result<(Rated, Option<i64>, String)> {
    let row = sqlx::query(&store.sql(&format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals WHERE phone = ? AND survey_state = 'pending' ORDER BY resolved_at DESC, id DESC LIMIT 1"
    )))
    .bind(phone)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(a) = row.as_ref().map(row_to_appeal).transpose()? else {
        return Ok((Rated::NoSurvey, None, String::new()));
    };
    let score = score.clamp(1, 5);
    let ms = now.timestamp_millis();
    let villager = Actor {
        label: phone.to_string(),
        kind: ActorKind::System,
        channel,
    };
    let sig = ctx.signature(a.village.as_deref());
    let mut w = Writer::new(store, ctx, &a, &villager, now);
    sqlx::query(&store.sql(
        "UPDATE appeals SET rating = ?, survey_state = 'answered', status = 'closed', step = 'evaluation', \
         updated_at = ? WHERE id = ?",
    ))
    .bind(i64::from(score))
    .bind(ms)
    .bind(a.id)
    .execute(&mut **tx)
    .await?;
    w.event(
        tx,
        Step::Evaluation,
        "rated",
        &format!("{score} {}", msg::rating_word(score)),
    )
    .await?;
    let closed = || {
        let thanks = msg::thanks_for_rating(&sig, &a.number, score);
        let number = a.number.clone();
        Ok((Rated::Closed { number, score }, Some(a.id), thanks))
    };
    if score >= 3 {
        return closed();
    }
    // Back to work through the state machine, as an admin's reopen would be. The appeal as
    // loaded is resolved (its survey was pending), which the machine requires.
    let system = Actor::system();
    let why = format!("群众评价{score}（{}）", msg::rating_word(score));
    let mut t = match decide(&a, &system, &Action::Reopen { text: why }, ctx, now) {
        Ok(t) => t,
        Err(r) => {
            tracing::error!(number = %a.number, refusal = ?r, "a bad rating could not reopen its appeal");
            return closed();
        }
    };
    let village = ctx.village_name(a.village.as_deref());
    let alert = msg::bad_rating_alert(&a.number, &village, score);
    for i in ctx
        .directory
        .town_cadres(a.village.as_deref(), CadreRole::Inspector)
    {
        t.texts.push(Text::Cadre {
            phone: i.phone.clone(),
            kind: "supervision",
            body: alert.clone(),
            urgent: true,
        });
    }
    write(store, tx, ctx, &a, &system, &t, now).await?;
    Ok((
        Rated::Reopened {
            number: a.number.clone(),
            score,
        },
        Some(a.id),
        msg::reopened_to_villager(&sig, &a.number),
    ))
}
