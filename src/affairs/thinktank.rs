//! 乡村智库 by SMS: a villager's `ZK question` goes to an expert of the directory
//! (`role = "expert"`) whose categories include the question's (classified by the appeal
//! rules), else to any expert; the expert answers `DA<id> answer`, which is relayed to the
//! villager with the village's signature and may be rated 1-5 like an appeal. A question
//! unanswered for [`PASS_AFTER_MS`] goes to the next expert not yet asked. Questions, routes,
//! answers and ratings are rows of `questions`; the texts are in the outbox, so both are
//! recorded.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::replies;
use crate::directory::{Cadre, CadreRole, Directory};
use crate::outbox::{enqueue, NewSms};
use crate::phone::national;
use crate::store::{Result, Store};

/// 48 hours.
pub const PASS_AFTER_MS: i64 = 48 * 3_600_000;
/// How long after an answer a bare 1-5 rates it.
pub const RATE_WINDOW_MS: i64 = 7 * 86_400_000;

/// The experts for `category`, those who list it first, then the rest in directory order.
pub fn experts_for<'a>(dir: &'a Directory, category: &str) -> Vec<&'a Cadre> {
    let all: Vec<&Cadre> = dir
        .cadres
        .iter()
        .filter(|c| c.role == CadreRole::Expert)
        .collect();
    let (mut mine, rest): (Vec<&Cadre>, Vec<&Cadre>) = all
        .into_iter()
        .partition(|c| c.categories.iter().any(|k| k == category));
    mine.extend(rest);
    mine
}

/// The next expert to ask: the first of `experts_for` not in `tried` (national numbers).
pub fn next_expert<'a>(dir: &'a Directory, category: &str, tried: &[String]) -> Option<&'a Cadre> {
    experts_for(dir, category)
        .into_iter()
        .find(|c| !tried.iter().any(|t| *t == national(&c.phone)))
}

/// A question as the villager asked it.
pub struct Ask<'a> {
    pub phone: &'a str,
    pub village: Option<&'a str>,
    pub village_name: &'a str,
    pub modem: &'a str,
    pub category: &'a str,
    pub text: &'a str,
}

async fn text_to(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    to: &str,
    kind: &str,
    modem: Option<&str>,
    body: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    enqueue(
        store,
        tx,
        NewSms {
            recipient: to,
            text: body,
            kind,
            appeal_id: None,
            modem,
            not_before: now,
        },
    )
    .await?;
    Ok(())
}

/// Records the question and sends it to the first expert; returns its id and whether an
/// expert had it.
pub async fn ask(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    dir: &Directory,
    q: &Ask<'_>,
    now: DateTime<Utc>,
) -> Result<(i64, bool)> {
    let ms = now.timestamp_millis();
    let expert = next_expert(dir, q.category, &[]);
    let tried = expert.map(|e| national(&e.phone)).unwrap_or_default();
    let id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO questions (phone, village, modem, category, text, expert, tried, asked_at, routed_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(q.phone)
    .bind(q.village)
    .bind(q.modem)
    .bind(q.category)
    .bind(q.text)
    .bind(expert.map(|e| national(&e.phone)))
    .bind(tried)
    .bind(ms)
    .bind(ms)
    .fetch_one(&mut **tx)
    .await?;
    if let Some(e) = expert {
        let body = replies::to_expert(id, q.village_name, q.text);
        text_to(store, tx, &e.phone, "question", None, &body, now).await?;
    }
    Ok((id, expert.is_some()))
}

/// An expert's answer to question `id`: relayed to the villager when the question is theirs
/// and unanswered. Returns whether it was taken.
pub async fn answer(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    expert: &Cadre,
    id: i64,
    text: &str,
    sig_of: impl Fn(Option<&str>) -> String,
    now: DateTime<Utc>,
) -> Result<bool> {
    let ms = now.timestamp_millis();
    let me = national(&expert.phone);
    let row = sqlx::query(&store.sql(
        "SELECT phone, village, modem FROM questions WHERE id = ? AND expert = ? AND answered_at IS NULL",
    ))
    .bind(id)
    .bind(me)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let (phone, village, modem): (String, Option<String>, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let r = sqlx::query(&store.sql(
        "UPDATE questions SET answered_at = ?, answered_by = ?, answer = ? WHERE id = ? AND answered_at IS NULL",
    ))
    .bind(ms)
    .bind(me)
    .bind(text)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    let body = replies::answer(&sig_of(village.as_deref()), id, &expert.name, text);
    text_to(store, tx, &phone, "answer", Some(&modem), &body, now).await?;
    Ok(true)
}

/// The question a bare 1-5 from `phone` rates: answered within [`RATE_WINDOW_MS`], unrated,
/// and answered after the phone's latest appeal was resolved (the later request wins).
pub async fn to_rate(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let ms = now.timestamp_millis();
    let id: Option<i64> = sqlx::query_scalar(&store.sql(
        "SELECT q.id FROM questions q WHERE q.phone = ? AND q.answered_at IS NOT NULL AND q.rating IS NULL \
         AND q.answered_at >= ? AND NOT EXISTS (SELECT 1 FROM appeals a WHERE a.phone = q.phone \
         AND a.rating IS NULL AND a.resolved_at IS NOT NULL AND a.resolved_at > q.answered_at) \
         ORDER BY q.answered_at DESC LIMIT 1",
    ))
    .bind(phone)
    .bind(ms - RATE_WINDOW_MS)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn rate(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    id: i64,
    score: u8,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(&store.sql("UPDATE questions SET rating = ?, rated_at = ? WHERE id = ?"))
        .bind(i64::from(score))
        .bind(now.timestamp_millis())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Passes every question unanswered for 48 h to the next expert (or, with none left, leaves
/// it with the last). Returns how many were passed on.
pub async fn pass_on(
    store: &Store,
    dir: &Directory,
    village_name: impl Fn(Option<&str>) -> String,
    now: DateTime<Utc>,
) -> Result<u32> {
    let ms = now.timestamp_millis();
    let due = sqlx::query(&store.sql(
        "SELECT id, village, category, text, tried FROM questions \
         WHERE answered_at IS NULL AND routed_at <= ? ORDER BY id LIMIT 200",
    ))
    .bind(ms - PASS_AFTER_MS)
    .fetch_all(store.pool())
    .await?;
    let mut passed = 0;
    for r in due {
        let (id, village, category, text, tried): (i64, Option<String>, String, String, String) = (
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
        let tried_list: Vec<String> = tried.split_whitespace().map(str::to_string).collect();
        let mut tx = store.pool().begin().await?;
        match next_expert(dir, &category, &tried_list) {
            Some(e) => {
                let phone = national(&e.phone);
                let all = format!("{tried} {phone}").trim().to_string();
                let r = sqlx::query(&store.sql(
                    "UPDATE questions SET expert = ?, tried = ?, routed_at = ? WHERE id = ? AND answered_at IS NULL AND tried = ?",
                ))
                .bind(phone)
                .bind(&all)
                .bind(ms)
                .bind(id)
                .bind(&tried)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() == 1 {
                    let body = replies::to_expert(id, &village_name(village.as_deref()), &text);
                    text_to(store, &mut tx, &e.phone, "question", None, &body, now).await?;
                    passed += 1;
                }
            }
            None => {
                // Everyone was asked: start the round again later rather than drop it.
                sqlx::query(&store.sql("UPDATE questions SET tried = '', routed_at = ? WHERE id = ? AND answered_at IS NULL"))
                    .bind(ms - PASS_AFTER_MS + PASS_AFTER_MS / 2)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expert(name: &str, phone: &str, cats: &[&str]) -> Cadre {
        Cadre {
            name: name.into(),
            phone: phone.into(),
            role: CadreRole::Expert,
            village: None,
            town: None,
            categories: cats.iter().map(|c| c.to_string()).collect(),
            pin: None,
        }
    }

    #[test]
    fn the_category_expert_first_then_the_others_in_turn() {
        let dir = Directory {
            cadres: vec![
                expert("王农技", "13700000001", &["农业"]),
                expert("陈兽医", "13700000002", &["养殖"]),
                expert("周律师", "13700000003", &[]),
            ],
            ..Default::default()
        };
        let names = |tried: &[&str]| {
            let t: Vec<String> = tried.iter().map(|s| s.to_string()).collect();
            next_expert(&dir, "养殖", &t).map(|c| c.name.clone())
        };
        assert_eq!(names(&[]).as_deref(), Some("陈兽医"));
        assert_eq!(names(&["13700000002"]).as_deref(), Some("王农技"));
        assert_eq!(
            names(&["13700000002", "13700000001"]).as_deref(),
            Some("周律师")
        );
        assert_eq!(names(&["13700000002", "13700000001", "13700000003"]), None);
    }
}
