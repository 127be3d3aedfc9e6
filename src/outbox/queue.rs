//! Outbox rows in the database: enqueue, claim, and the transitions after a send attempt.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use crate::phone::national;
use crate::store::{Result, Store};

#[derive(Debug, Clone)]
pub struct NewSms<'a> {
    pub recipient: &'a str,
    pub text: &'a str,
    /// ack, alert, reply, survey, api ...
    pub kind: &'a str,
    pub appeal_id: Option<i64>,
    /// The modem that must send it (the village's); None = any modem.
    pub modem: Option<&'a str>,
    pub not_before: DateTime<Utc>,
}

/// Queues an SMS inside the caller's transaction, so it exists exactly when the change that
/// caused it does.
pub async fn enqueue(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    s: NewSms<'_>,
) -> Result<i64> {
    let at = s.not_before.timestamp_millis();
    let id = sqlx::query_scalar(&store.sql(
        "INSERT INTO outbox (recipient, text, kind, appeal_id, modem, state, next_attempt_at, created_at) \
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING id",
    ))
    .bind(s.recipient)
    .bind(s.text)
    .bind(s.kind)
    .bind(s.appeal_id)
    .bind(s.modem)
    .bind(at)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub recipient: String,
    pub text: String,
    pub kind: String,
    pub attempts: i64,
    pub appeal_id: Option<i64>,
}

/// Takes the oldest due row this modem may send and marks it `sending`.
///
/// `pool` = this modem may also send rows that name no modem or (when pooling is on) any modem.
pub async fn claim_next(
    store: &Store,
    modem: &str,
    daemon: &str,
    pool: bool,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>> {
    let now = now.timestamp_millis();
    let allowed = if pool {
        "1=1"
    } else {
        "(modem IS NULL OR modem = ?)"
    };
    // The lease is the `sending` state with who claimed it and when (see `reclaim_stale`).
    let sql = crate::store::queue::claim_oldest_due(
        store,
        "outbox",
        "state = 'sending', claimed_by = ?, claimed_at = ?, attempts = attempts + 1",
        allowed,
        "id, recipient, text, kind, attempts, appeal_id",
    );
    let mut q = sqlx::query_as(&sql).bind(daemon).bind(now).bind(now);
    if !pool {
        q = q.bind(modem);
    }
    Ok(q.fetch_optional(store.pool()).await?)
}

/// Records a successful send: the row, its recipient's national number (the key of the
/// per-recipient cap and of delivery reports) and one `outbox_parts` row per part's message
/// reference.
pub async fn mark_sent(
    store: &Store,
    id: i64,
    modem: &str,
    refs: &[u8],
    now: DateTime<Utc>,
) -> Result<()> {
    let now = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    let recipient: Option<String> =
        sqlx::query_scalar(&store.sql("SELECT recipient FROM outbox WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let key = recipient.as_deref().map(national).unwrap_or_default();
    // From `sending`, or from `queued` when a reclaim took the row back while the modem was
    // still at it (the SMS is out: it must not go again). When a commit went through but its
    // answer was lost with the connection, the sender's retry finds the row already sent and
    // adds no second parts.
    let updated = sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'sent', sent_at = ?, sent_by = ?, parts = ?, last_error = NULL, \
         recipient_key = ? WHERE id = ? AND state IN ('sending', 'queued')",
    ))
    .bind(now)
    .bind(modem)
    .bind(refs.len() as i64)
    .bind(key)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(());
    }
    for mr in refs {
        sqlx::query(&store.sql(
            "INSERT INTO outbox_parts (outbox_id, modem, message_ref, sent_at) VALUES (?, ?, ?, ?)",
        ))
        .bind(id)
        .bind(modem)
        .bind(*mr as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Back to the queue after a transient failure.
pub async fn mark_retry(store: &Store, id: i64, error: &str, next: DateTime<Utc>) -> Result<()> {
    sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'queued', next_attempt_at = ?, last_error = ?, claimed_by = NULL \
         WHERE id = ? AND state = 'sending'",
    ))
    .bind(next.timestamp_millis())
    .bind(error)
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Puts a claimed row back without counting the attempt (rate limit, not a failure).
pub async fn defer(store: &Store, id: i64, next: DateTime<Utc>) -> Result<()> {
    sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'queued', next_attempt_at = ?, attempts = attempts - 1, claimed_by = NULL \
         WHERE id = ? AND state = 'sending'",
    ))
    .bind(next.timestamp_millis())
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Puts a claimed row back untouched after the modem said it cannot send anything (SIM, PIN,
/// SMSC, network): the attempt is not counted and the row keeps its place in the queue.
pub async fn hold_for_modem(store: &Store, id: i64, error: &str) -> Result<()> {
    sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'queued', attempts = attempts - 1, claimed_by = NULL, last_error = ? \
         WHERE id = ? AND state = 'sending'",
    ))
    .bind(error)
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Extends the lease of a row the modem is still working on. False when the row is no longer
/// this claimer's (reclaimed after the database was out of reach for longer than the lease).
pub async fn renew_lease(store: &Store, id: i64, daemon: &str, now: DateTime<Utc>) -> Result<bool> {
    let r = sqlx::query(&store.sql(
        "UPDATE outbox SET claimed_at = ? WHERE id = ? AND state = 'sending' AND claimed_by = ?",
    ))
    .bind(now.timestamp_millis())
    .bind(id)
    .bind(daemon)
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Texts sent in the window to this national number, counting only kinds the per-recipient
/// cap holds (see `policy::capped`): the cap is shared by every daemon on the database.
pub async fn recent_capped_sends(
    store: &Store,
    recipient: &str,
    since: DateTime<Utc>,
) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(&store.sql(
        "SELECT COUNT(*) FROM outbox WHERE recipient_key = ? AND sent_at >= ? \
         AND kind NOT IN ('alert', 'escalation', 'reminder', 'supervision')",
    ))
    .bind(national(recipient))
    .bind(since.timestamp_millis())
    .fetch_one(store.pool())
    .await?;
    Ok(n)
}

/// Whether the row's appeal is red (red texts are never held by the quiet hours).
pub async fn appeal_is_red(store: &Store, appeal_id: Option<i64>) -> Result<bool> {
    let Some(id) = appeal_id else {
        return Ok(false);
    };
    let colour: Option<String> =
        sqlx::query_scalar(&store.sql("SELECT colour FROM appeals WHERE id = ?"))
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    Ok(colour.as_deref() == Some("red"))
}

pub async fn mark_failed(store: &Store, id: i64, error: &str) -> Result<()> {
    sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ? AND state = 'sending'",
    ))
    .bind(error)
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// At start: rows this daemon left in `sending` when it stopped (its id is stable across
/// restarts), and rows any claimer let expire, go back to the queue. The attempt stays counted.
pub async fn recover_stale(
    store: &Store,
    daemon: &str,
    stale_before: DateTime<Utc>,
) -> Result<u64> {
    let r = sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'queued', claimed_by = NULL, last_error = 'interrupted while sending' \
         WHERE state = 'sending' AND (claimed_by = ? OR claimed_at < ?)",
    ))
    .bind(daemon)
    .bind(stale_before.timestamp_millis())
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected())
}

/// While running: rows whose lease (renewed by the sender while the modem works on them) ran
/// out before `stale_before` go back to the queue, whoever claimed them. A live sender renews
/// its lease, so only the rows of a claimer that is gone are taken.
pub async fn reclaim_stale(store: &Store, stale_before: DateTime<Utc>) -> Result<u64> {
    let r = sqlx::query(&store.sql(
        "UPDATE outbox SET state = 'queued', claimed_by = NULL, last_error = 'lease expired while sending' \
         WHERE state = 'sending' AND claimed_at < ?",
    ))
    .bind(stale_before.timestamp_millis())
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected())
}

/// Applies a status report: the latest part sent by `modem` with this TP-MR to this recipient
/// (compared by national number; a report without a recipient falls back to the TP-MR alone).
/// Returns the outbox id when one matched. TP-ST 0x00-0x1F = delivered; 0x40-0x7F = failure
/// (the network gave up); others are interim and only recorded. A report never moves a row
/// that is already final: a late failure does not undo `delivered`, a late delivery does not
/// revive `failed`.
pub async fn delivery_report(
    store: &Store,
    modem: &str,
    mr: u8,
    recipient: Option<&str>,
    status: u8,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let mut tx = store.pool().begin().await?;
    // TP-MR wraps at 256 (sooner with several senders): the recipient tells rows with the same
    // reference apart, and the newest such part within two days is the one.
    let horizon = now.timestamp_millis() - 2 * 24 * 3600 * 1000;
    let key = recipient.map(national).filter(|k| !k.is_empty());
    let by_recipient = if key.is_some() {
        " AND o.recipient_key = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT p.id, p.outbox_id, p.status FROM outbox_parts p JOIN outbox o ON o.id = p.outbox_id \
         WHERE p.modem = ? AND p.message_ref = ? AND p.sent_at >= ?{by_recipient} \
         ORDER BY p.sent_at DESC, p.id DESC LIMIT 1"
    );
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql).bind(modem).bind(mr as i64).bind(horizon);
    if let Some(k) = key {
        q = q.bind(k);
    }
    let row = q.fetch_optional(&mut *tx).await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let part_id: i64 = row.try_get("id")?;
    let outbox_id: i64 = row.try_get("outbox_id")?;
    let previous: Option<i64> = row.try_get("status")?;
    sqlx::query(&store.sql("UPDATE outbox_parts SET status = ? WHERE id = ?"))
        .bind(status as i64)
        .bind(part_id)
        .execute(&mut *tx)
        .await?;
    let delivered = status < 0x20;
    let permanent = (0x40..0x80).contains(&status);
    let first_final = previous.is_none_or(|p| (0x20..0x40).contains(&p) || p >= 0x60);
    if delivered && first_final {
        sqlx::query(&store.sql(
            "UPDATE outbox SET parts_delivered = parts_delivered + 1, \
             state = CASE WHEN parts_delivered + 1 >= parts THEN 'delivered' ELSE state END, \
             delivered_at = CASE WHEN parts_delivered + 1 >= parts THEN ? ELSE delivered_at END \
             WHERE id = ? AND state = 'sent'",
        ))
        .bind(now.timestamp_millis())
        .bind(outbox_id)
        .execute(&mut *tx)
        .await?;
    } else if permanent {
        sqlx::query(&store.sql(
            "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ? AND state = 'sent'",
        ))
        .bind(format!(
            "status report: TP-ST 0x{status:02X} (network gave up)"
        ))
        .bind(outbox_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(outbox_id))
}
