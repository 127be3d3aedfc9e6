//! The audit trail: every state change is an event, hash-chained so an edit after the fact shows.
//!
//! hash = sha256(prev_hash, id-independent content). The chain is global (not per appeal) so a
//! deleted event breaks it too. Appends take a lock first (the SQLite writer is single; PostgreSQL
//! takes a transaction-scoped advisory lock) so concurrent daemons cannot fork the chain.

use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};

use crate::store::{Backend, Result, Store};

/// Advisory lock key for the event chain (arbitrary, fixed).
const CHAIN_LOCK: i64 = 0x6170_7065_616c_0001;

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub appeal_id: Option<i64>,
    pub at: i64,
    pub actor: &'a str,
    pub channel: &'a str,
    pub step: &'a str,
    pub kind: &'a str,
    pub text: &'a str,
}

fn content_hash(prev: &str, e: &NewEvent<'_>) -> String {
    let mut h = Sha256::new();
    // Length-prefix every field so no two different events serialise alike.
    let appeal = e.appeal_id.map(|a| a.to_string()).unwrap_or_default();
    let at = e.at.to_string();
    for field in [
        prev, &appeal, &at, e.actor, e.channel, e.step, e.kind, e.text,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

pub async fn append_event(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    e: NewEvent<'_>,
) -> Result<i64> {
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK)
            .execute(&mut **tx)
            .await?;
    }
    let prev: Option<String> =
        sqlx::query_scalar("SELECT hash FROM events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let prev = prev.unwrap_or_default();
    let hash = content_hash(&prev, &e);
    let id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO events (appeal_id, at, actor, channel, step, kind, text, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(e.appeal_id)
    .bind(e.at)
    .bind(e.actor)
    .bind(e.channel)
    .bind(e.step)
    .bind(e.kind)
    .bind(e.text)
    .bind(&prev)
    .bind(&hash)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub event_id: i64,
    pub reason: String,
}

/// Walks the whole chain in order. Returns the number of events checked, or the first break.
pub async fn verify_chain(store: &Store) -> Result<std::result::Result<u64, ChainBreak>> {
    let mut prev = String::new();
    let mut checked = 0u64;
    let mut last_id = 0i64;
    loop {
        // Paged so a county's millions of events never sit in memory at once.
        let rows = sqlx::query(&store.sql(
            "SELECT id, appeal_id, at, actor, channel, step, kind, text, prev_hash, hash \
             FROM events WHERE id > ? ORDER BY id LIMIT 1000",
        ))
        .bind(last_id)
        .fetch_all(store.reader())
        .await?;
        if rows.is_empty() {
            return Ok(Ok(checked));
        }
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let stored_prev: String = r.try_get("prev_hash")?;
            let stored_hash: String = r.try_get("hash")?;
            let actor: String = r.try_get("actor")?;
            let channel: String = r.try_get("channel")?;
            let step: String = r.try_get("step")?;
            let kind: String = r.try_get("kind")?;
            let text: String = r.try_get("text")?;
            let e = NewEvent {
                appeal_id: r.try_get("appeal_id")?,
                at: r.try_get("at")?,
                actor: &actor,
                channel: &channel,
                step: &step,
                kind: &kind,
                text: &text,
            };
            if stored_prev != prev {
                return Ok(Err(ChainBreak {
                    event_id: id,
                    reason: "prev_hash does not match the event before it (an event was removed or reordered)".into(),
                }));
            }
            if content_hash(&prev, &e) != stored_hash {
                return Ok(Err(ChainBreak {
                    event_id: id,
                    reason: "content does not match its hash (the row was edited)".into(),
                }));
            }
            prev = stored_hash;
            last_id = id;
            checked += 1;
        }
    }
}
