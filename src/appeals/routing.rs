//! A villager's text that is no command: a repeat of one of their open appeals, a follow-up to
//! an appeal they just started, or a new appeal routed to the cadre who handles its village and
//! category (with the town office alerted at once for red ones).

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use super::actions::{Actor, Ctx, Writer};
use super::events::{append_event, NewEvent};
pub use super::filing::TextIn;
use super::messages as msg;
use super::record::{row_to_appeal, Appeal, APPEAL_COLUMNS};
use super::{file_appeal, Filed, FilingPolicy, NewAppeal, Step};
use crate::directory::CadreRole;
use crate::grade::Colour;
use crate::outbox::{enqueue, NewSms};
use crate::phone::mask as mask_phone;
use crate::store::{Result, Store};

/// A first message this short (letters and digits, punctuation aside) is taken as the start of
/// an appeal, and a second one within the append window completes it ("玉米倒了" then "在三组，
/// 五亩地"). Longer first messages stand alone: a villager who writes two full sentences in a
/// row usually means two matters, and merging them would hide one.
pub const APPEND_MAX_FIRST_CHARS: usize = 10;

fn letters(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn digit_runs(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .collect()
}

/// Whether `b` repeats `a`: the same numbers in the same order (a different meter, house or
/// date number is a different matter) and nearly the same words (Sørensen-Dice over character
/// bigrams at least 0.8, which forgives a changed particle or punctuation).
pub fn similar(a: &str, b: &str) -> bool {
    let (a, b) = (letters(a), letters(b));
    if a.is_empty() || b.is_empty() || digit_runs(&a) != digit_runs(&b) {
        return false;
    }
    a == b || strsim::sorensen_dice(&a, &b) >= 0.8
}

pub fn looks_incomplete(first: &str) -> bool {
    letters(first).chars().count() <= APPEND_MAX_FIRST_CHARS
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextOutcome {
    Filed(Filed),
    Appended(String),
    Repeat(String),
}

/// The village of a text: a code written in it, else the receiving modem's, else the one
/// remembered for the phone. A found village is remembered.
pub async fn village_of(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    m: &TextIn<'_>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let dir = &ctx.directory;
    let found = dir
        .village_in_text(m.text)
        .map(|v| v.code.clone())
        .or_else(|| m.modem_village.map(str::to_string))
        .or_else(|| dir.village_of_modem(m.modem).map(|v| v.code.clone()));
    match found {
        Some(v) => {
            sqlx::query(&store.sql(
                "INSERT INTO phone_villages (phone, village, updated_at) VALUES (?, ?, ?) \
                 ON CONFLICT (phone) DO UPDATE SET village = excluded.village, updated_at = excluded.updated_at",
            ))
            .bind(m.phone)
            .bind(&v)
            .bind(now.timestamp_millis())
            .execute(&mut **tx)
            .await?;
            Ok(Some(v))
        }
        None => {
            sqlx::query_scalar(&store.sql("SELECT village FROM phone_villages WHERE phone = ?"))
                .bind(m.phone)
                .fetch_optional(&mut **tx)
                .await
                .map_err(Into::into)
        }
    }
}

/// A text that goes into an open appeal (a repeat or a follow-up): an event in the villager's
/// name on the collection step, and the answer to the villager.
#[allow(clippy::too_many_arguments)]
async fn noted(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    m: &TextIn<'_>,
    a: &Appeal,
    kind: &str,
    answer: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let villager = Actor {
        label: m.phone.to_string(),
        kind: super::actions::ActorKind::System,
        channel: "sms",
    };
    Writer::new(store, ctx, a, &villager, now)
        .event(tx, Step::Collection, kind, m.text)
        .await?;
    reply(store, tx, m, Some(a.id), answer, now).await
}

/// Files, appends or records a repeat, inside the caller's transaction.
pub async fn incoming_text(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    m: &TextIn<'_>,
    now: DateTime<Utc>,
) -> Result<TextOutcome> {
    let open = sqlx::query(&store.sql(&format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals WHERE phone = ? AND status IN {open} \
         ORDER BY id DESC LIMIT 20",
        open = super::Status::OPEN_SQL
    )))
    .bind(m.phone)
    .fetch_all(&mut **tx)
    .await?;
    let open: Vec<Appeal> = open.iter().map(row_to_appeal).collect::<Result<_>>()?;
    // Compared with each text that went into the appeal too, since follow-ups are appended.
    let repeats =
        |a: &&Appeal| similar(&a.text, m.text) || a.text.split('\n').any(|l| similar(l, m.text));
    if let Some(a) = open.iter().find(repeats) {
        let sig = ctx.signature(a.village.as_deref());
        let answer = msg::repeat_noted(&sig, &a.number, a.status.as_str(), a.cadre_name.as_deref());
        noted(store, tx, ctx, m, a, "repeated", &answer, now).await?;
        return Ok(TextOutcome::Repeat(a.number.clone()));
    }
    let window = now.timestamp_millis() - millis(ctx.append_window);
    if let Some(a) = open.iter().find(|a| {
        a.status == super::Status::Open && a.filed_at >= window && looks_incomplete(&a.text)
    }) {
        let joined = format!("{}\n{}", a.text, m.text);
        sqlx::query(&store.sql("UPDATE appeals SET text = ?, updated_at = ? WHERE id = ?"))
            .bind(&joined)
            .bind(now.timestamp_millis())
            .bind(a.id)
            .execute(&mut **tx)
            .await?;
        let answer = msg::appended(&ctx.signature(a.village.as_deref()), &a.number);
        noted(store, tx, ctx, m, a, "appended", &answer, now).await?;
        return Ok(TextOutcome::Appended(a.number.clone()));
    }
    let village = village_of(store, tx, ctx, m, now).await?;
    let filed = file_and_route(
        store,
        tx,
        ctx,
        NewAppeal {
            input: m,
            village: village.as_deref(),
            now,
        },
        None,
    )
    .await?;
    Ok(TextOutcome::Filed(filed))
}

/// A category chosen by the filing client (an Open311 service) instead of the text rules.
#[derive(Debug, Clone, Copy)]
pub struct ChosenCategory<'a> {
    /// Recorded as the actor of the event, e.g. "open311".
    pub by: &'a str,
    pub channel: &'static str,
    pub category: &'a str,
    pub colour: Colour,
}

/// Files a new appeal and routes it, in the caller's transaction: the one way every channel
/// (SMS intake, Open311, the API) files, so no appeal is left without its cadre, its alerts
/// (the town office at once for red), its village's acknowledgement, or deadlines that run
/// from when its cadre can be told ([`Ctx::deadlines`]).
pub async fn file_and_route(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    a: NewAppeal<'_>,
    chosen: Option<ChosenCategory<'_>>,
) -> Result<Filed> {
    let now = a.now;
    // The acknowledgement is the villager's first word from us: in their village's name when
    // the village is known. The policy is copied only for villages with their own signature.
    let sig = ctx.signature(a.village);
    let policy = if sig == ctx.policy.signature {
        Cow::Borrowed(&ctx.policy)
    } else {
        Cow::Owned(FilingPolicy {
            signature: sig,
            ..ctx.policy.clone()
        })
    };
    let mut filed = file_appeal(store, tx, &policy, a).await?;
    let mut regraded = false;
    if let Some(c) = chosen {
        if c.category != filed.category || c.colour != filed.colour {
            sqlx::query(&store.sql("UPDATE appeals SET category = ?, colour = ? WHERE id = ?"))
                .bind(c.category)
                .bind(c.colour.as_str())
                .bind(filed.id)
                .execute(&mut **tx)
                .await?;
            append_event(
                store,
                tx,
                NewEvent {
                    appeal_id: Some(filed.id),
                    at: now.timestamp_millis(),
                    actor: c.by,
                    channel: c.channel,
                    step: Step::Collection.as_str(),
                    kind: "regraded",
                    text: &format!(
                        "{}（{}）→{}（{}），由{}指定",
                        filed.category,
                        filed.colour.chinese(),
                        c.category,
                        c.colour.chinese(),
                        c.by
                    ),
                },
            )
            .await?;
            filed.category = c.category.to_string();
            filed.colour = c.colour;
            regraded = true;
        }
    }
    let (respond_by, resolve_by) = ctx.deadlines(filed.colour, now);
    // file_appeal counted from now; rewritten only when the clock starts later or the colour
    // changed, so the common daytime filing costs no extra statement.
    if regraded || ctx.send_at(now, filed.colour == Colour::Red) != now {
        sqlx::query(&store.sql("UPDATE appeals SET respond_by = ?, resolve_by = ? WHERE id = ?"))
            .bind(respond_by)
            .bind(resolve_by)
            .bind(filed.id)
            .execute(&mut **tx)
            .await?;
    }
    route_new(store, tx, ctx, &filed, now).await?;
    Ok(filed)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Assigns a freshly filed appeal to its cadre and sends the alerts; called by
/// [`file_and_route`], which every filing path goes through.
async fn route_new(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    filed: &Filed,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = sqlx::query(&store.sql(&format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals WHERE id = ?"
    )))
    .bind(filed.id)
    .fetch_one(&mut **tx)
    .await?;
    let a = row_to_appeal(&row)?;
    let dir = ctx.directory.clone();
    let red = a.colour == Colour::Red;
    let village = ctx.village_name(a.village.as_deref());
    let masked = mask_phone(&a.phone);
    let facts = msg::AlertFacts {
        number: &a.number,
        colour: a.colour,
        village: &village,
        masked_phone: &masked,
        text: &a.text,
    };
    let system = Actor::system();
    let mut w = Writer::new(store, ctx, &a, &system, now);
    let cadre = dir.route(a.village.as_deref(), &a.category);
    let mut told = Vec::new();
    if let Some(c) = cadre {
        sqlx::query(&store.sql("UPDATE appeals SET cadre = ?, cadre_name = ? WHERE id = ?"))
            .bind(&c.phone)
            .bind(&c.name)
            .bind(a.id)
            .execute(&mut **tx)
            .await?;
        let alert = if a.category == super::CALLBACK_CATEGORY {
            msg::callback_alert(&facts, &a.phone)
        } else {
            msg::alert("新诉求", &facts)
        };
        w.cadre(tx, &c.phone, "alert", &alert, red).await?;
        told.push(c.name.clone());
    }
    if red {
        for t in dir.town_cadres(a.village.as_deref(), CadreRole::TownOffice) {
            if cadre.is_some_and(|c| c.phone == t.phone) {
                continue;
            }
            w.cadre(tx, &t.phone, "alert", &msg::alert("红色诉求", &facts), true)
                .await?;
            told.push(t.name.clone());
        }
    }
    if !told.is_empty() {
        w.event(
            tx,
            Step::Collection,
            "routed",
            &format!(
                "{}（{}）通知{}",
                a.category,
                a.colour.chinese(),
                told.join("、")
            ),
        )
        .await?;
    } else if !dir.cadres.is_empty() {
        tracing::warn!(number = %a.number, "no cadre in the directory for this appeal's village");
    }
    Ok(())
}

/// An answer to the sender of `m`, at once (they just wrote), through the modem they used.
pub async fn reply(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    m: &TextIn<'_>,
    appeal_id: Option<i64>,
    text: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    enqueue(
        store,
        tx,
        NewSms {
            recipient: m.phone,
            text,
            kind: "reply",
            appeal_id,
            modem: Some(m.modem),
            not_before: now,
        },
    )
    .await?;
    Ok(())
}

/// The phone's latest appeal, or the one numbered `number` if it is theirs.
pub async fn own_appeal(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    phone: &str,
    number: Option<&str>,
) -> Result<Option<Appeal>> {
    let row = match number {
        Some(n) => {
            sqlx::query(&store.sql(&format!(
                "SELECT {APPEAL_COLUMNS} FROM appeals WHERE phone = ? AND number = ?"
            )))
            .bind(phone)
            .bind(n)
            .fetch_optional(&mut **tx)
            .await?
        }
        None => {
            sqlx::query(&store.sql(&format!(
                "SELECT {APPEAL_COLUMNS} FROM appeals WHERE phone = ? ORDER BY id DESC LIMIT 1"
            )))
            .bind(phone)
            .fetch_optional(&mut **tx)
            .await?
        }
    };
    row.as_ref().map(row_to_appeal).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_need_the_same_numbers_and_nearly_the_same_words() {
        assert!(similar("玉米被风吹倒了，怎么办", "玉米被风吹倒了怎么办？"));
        assert!(similar("村口路灯坏了三天了", "村口路灯坏了三天了!"));
        assert!(!similar(
            "第1号：村口路灯坏了三天了",
            "第101号：村口路灯坏了三天了"
        ));
        assert!(!similar("Road lamp 0 is broken", "Road lamp 100 is broken"));
        assert!(!similar("路灯坏了", "垃圾没人收"));
        assert!(!similar("。。", "。。"));
    }

    #[test]
    fn only_short_first_messages_take_followups() {
        assert!(looks_incomplete("玉米倒了"));
        assert!(looks_incomplete("救命！房子"));
        assert!(!looks_incomplete("第1号：村口路灯坏了三天了"));
    }
}
