//! Villagers' subscriptions to their village's notices. `DY` adds one, `TD` / 退订 / `R`
//! removes every one of the phone at once, and cancels what of a broadcast is still queued
//! for it: an unsubscribed villager gets nothing more, not even the rest of today's broadcast.

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use crate::store::{Result, Store};

pub async fn subscribe(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    phone: &str,
    village: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = sqlx::query(&store.sql(
        "INSERT INTO subscriptions (phone, village, since) VALUES (?, ?, ?) ON CONFLICT (phone, village) DO NOTHING",
    ))
    .bind(phone)
    .bind(village)
    .bind(now.timestamp_millis())
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Removes the phone's subscriptions and cancels its queued broadcast texts; returns how many
/// queued texts were cancelled.
pub async fn unsubscribe(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    phone: &str,
) -> Result<u64> {
    sqlx::query(&store.sql("DELETE FROM subscriptions WHERE phone = ?"))
        .bind(phone)
        .execute(&mut **tx)
        .await?;
    let r = sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'cancelled', last_error = 'unsubscribed' \
         WHERE recipient = ? AND kind = 'broadcast' AND state = 'queued'",
    ))
    .bind(phone)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected())
}

pub async fn count(store: &Store, village: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar(&store.sql("SELECT COUNT(*) FROM subscriptions WHERE village = ?"))
            .bind(village)
            .fetch_one(store.pool())
            .await?,
    )
}
