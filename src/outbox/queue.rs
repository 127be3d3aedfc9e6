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
    /// Where the row stood in the queue (ms): with the id, the order the claim took it in.
    pub next_attempt_at: i64,
}

/// Takes the oldest due row this modem may send and marks it `sending` (a batch of one).
pub async fn claim_next(
    store: &Store,
    modem: &str,
    daemon: &str,
    pool: bool,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>> {
    Ok(claim_batch(store, modem, daemon, pool, now, 1)
        .await?
        .into_iter()
        .next())
}

/// Takes up to `limit` of the oldest due rows this modem may send, marks them `sending` in one
/// statement (one commit for the batch) and returns them in queue order, the order they must
/// go out in.
///
/// `pool` = this modem may also send rows that name no modem or (when pooling is on) any modem.
pub async fn claim_batch(
    store: &Store,
    modem: &str,
    daemon: &str,
    pool: bool,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Claimed>> {
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
        "id, recipient, text, kind, attempts, appeal_id, next_attempt_at",
        limit,
    );
    let mut q = sqlx::query_as(&sql).bind(daemon).bind(now).bind(now);
    if !pool {
        q = q.bind(modem);
    }
    let mut rows: Vec<Claimed> = q.fetch_all(store.pool()).await?;
    // RETURNING promises no order.
    rows.sort_by_key(|c| (c.next_attempt_at, c.id));
    Ok(rows)
}

/// What became of one claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// On the network, with one TP-MR per part.
    Sent { refs: Vec<u8>, at: DateTime<Utc> },
    /// A transient failure: back to the queue, the attempt counted.
    Retry { error: String, next: DateTime<Utc> },
    /// The modem cannot send anything now (SIM, PIN, SMSC, network): back untouched, the
    /// attempt not counted, its place in the queue kept.
    Hold { error: String },
    /// Not tried (per-recipient cap, quiet hours): back uncounted, due at `next`.
    Defer { next: DateTime<Utc> },
    /// Not tried (no send slot, shutting down, the modem stopped mid-batch): back uncounted,
    /// its place in the queue kept.
    Release,
    /// Retrying fails again.
    Failed { error: String },
}

/// Records the outcomes of a batch in one transaction (one commit, one disk sync). A row
/// that is no longer this sender's `sending` row is left as it is, except that a sent SMS is
/// recorded even when a reclaim put its row back in the queue meanwhile (it is out: it must
/// not go again).
pub async fn record_outcomes(
    store: &Store,
    modem: &str,
    done: &[(&Claimed, Outcome)],
) -> Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    let mut tx = store.pool().begin().await?;
    for (row, outcome) in done {
        apply(store, &mut tx, modem, row.id, &row.recipient, outcome).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn apply(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    modem: &str,
    id: i64,
    recipient: &str,
    outcome: &Outcome,
) -> Result<()> {
    match outcome {
        Outcome::Sent { refs, at } => {
            let now = at.timestamp_millis();
            // From `sending`, or from `queued` (`unconfirmed` for an at-most-once kind) when a
            // reclaim took the row back while the modem was still at it. When a commit went through but its answer was lost with the
            // connection, the sender's retry finds the row already sent and adds no second
            // parts.
            let updated = sqlx::query(&store.sql(
                "UPDATE outbox SET state = 'sent', sent_at = ?, sent_by = ?, parts = ?, last_error = NULL, \
                 recipient_key = ? WHERE id = ? AND state IN ('sending', 'queued', 'unconfirmed')",
            ))
            .bind(now)
            .bind(modem)
            .bind(refs.len() as i64)
            .bind(national(recipient))
            .bind(id)
            .execute(&mut **tx)
            .await?;
            if updated.rows_affected() == 0 {
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
                .execute(&mut **tx)
                .await?;
            }
        }
        Outcome::Retry { error, next } => {
            sqlx::query(&store.sql(
                "UPDATE outbox SET state = 'queued', next_attempt_at = ?, last_error = ?, claimed_by = NULL, \
                 handed_at = NULL WHERE id = ? AND state = 'sending'",
            ))
            .bind(next.timestamp_millis())
            .bind(error)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        Outcome::Hold { error } => {
            sqlx::query(&store.sql(
                "UPDATE outbox SET state = 'queued', attempts = attempts - 1, claimed_by = NULL, last_error = ?, \
                 handed_at = NULL WHERE id = ? AND state = 'sending'",
            ))
            .bind(error)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        Outcome::Release => {
            sqlx::query(&store.sql(
                "UPDATE outbox SET state = 'queued', attempts = attempts - 1, claimed_by = NULL, handed_at = NULL \
                 WHERE id = ? AND state = 'sending'",
            ))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        Outcome::Defer { next } => {
            sqlx::query(&store.sql(
                "UPDATE outbox SET state = 'queued', next_attempt_at = ?, attempts = attempts - 1, claimed_by = NULL, \
                 handed_at = NULL WHERE id = ? AND state = 'sending'",
            ))
            .bind(next.timestamp_millis())
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        Outcome::Failed { error } => {
            sqlx::query(&store.sql(
                "UPDATE outbox SET state = 'failed', last_error = ?, handed_at = NULL WHERE id = ? AND state = 'sending'",
            ))
            .bind(error)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Records a successful send of a row known by id only (tests, tools; the sender records
/// whole batches with `record_outcomes`).
pub async fn mark_sent(
    store: &Store,
    id: i64,
    modem: &str,
    refs: &[u8],
    now: DateTime<Utc>,
) -> Result<()> {
    let recipient: Option<String> =
        sqlx::query_scalar(&store.sql("SELECT recipient FROM outbox WHERE id = ?"))
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    let Some(recipient) = recipient else {
        return Ok(());
    };
    let mut tx = store.pool().begin().await?;
    let sent = Outcome::Sent {
        refs: refs.to_vec(),
        at: now,
    };
    apply(store, &mut tx, modem, id, &recipient, &sent).await?;
    tx.commit().await?;
    Ok(())
}

/// Extends the leases of rows the modem is still working on (one statement for a batch).
/// Returns how many were still this claimer's: fewer than asked means some were reclaimed
/// after the database was out of reach for longer than the lease.
pub async fn renew_leases(
    store: &Store,
    ids: &[i64],
    daemon: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let list = ids.iter().map(|_| "?").collect::<Vec<_>>().join(", ");
    let sql = format!(
        "UPDATE outbox SET claimed_at = ? WHERE id IN ({list}) AND state = 'sending' AND claimed_by = ?"
    );
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql).bind(now.timestamp_millis());
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.bind(daemon).execute(store.pool()).await?.rows_affected())
}

/// Texts of capped kinds sent since `since` to each of these recipients' national numbers,
/// in one query for a batch: the cap is shared by every daemon on the database. Numbers with
/// none are absent.
pub async fn recent_capped_sends_by_key(
    store: &Store,
    recipients: &[&str],
    since: DateTime<Utc>,
) -> Result<std::collections::HashMap<String, i64>> {
    let mut keys: Vec<String> = recipients.iter().map(|r| national(r).to_string()).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let list = keys.iter().map(|_| "?").collect::<Vec<_>>().join(", ");
    // The kinds the cap does not count, from the one home of that rule.
    let uncapped = super::policy::OFFICIAL_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT recipient_key, COUNT(*) AS n FROM outbox WHERE recipient_key IN ({list}) AND sent_at >= ? \
         AND kind NOT IN ({uncapped}) GROUP BY recipient_key"
    );
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql);
    for k in &keys {
        q = q.bind(k.as_str());
    }
    let rows = q
        .bind(since.timestamp_millis())
        .fetch_all(store.pool())
        .await?;
    let mut out = std::collections::HashMap::new();
    for r in rows {
        out.insert(
            r.try_get::<String, _>("recipient_key")?,
            r.try_get::<i64, _>("n")?,
        );
    }
    Ok(out)
}

/// Extends the lease of a row the modem is still working on. False when the row is no longer
/// this claimer's (reclaimed after the database was out of reach for longer than the lease).
pub async fn renew_lease(store: &Store, id: i64, daemon: &str, now: DateTime<Utc>) -> Result<bool> {
    Ok(renew_leases(store, &[id], daemon, now).await? == 1)
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

/// Marks a claimed row of an at-most-once kind (`policy::at_most_once`) as handed to the
/// modem, committed before the modem has it, so recovery knows the SMS may have gone (see
/// [`recover_stale`]). False when the row is no longer this claimer's: it must not be sent.
pub async fn mark_handed(store: &Store, id: i64, daemon: &str, now: DateTime<Utc>) -> Result<bool> {
    let r = sqlx::query(&store.sql(
        "UPDATE outbox SET handed_at = ? WHERE id = ? AND state = 'sending' AND claimed_by = ?",
    ))
    .bind(now.timestamp_millis())
    .bind(id)
    .bind(daemon)
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The message of a row left `unconfirmed` by recovery.
const UNCONFIRMED: &str =
    "the daemon stopped while the modem had it: it may or may not have gone, and is not sent again";

/// Releases the stale `sending` rows: those claimed before `before`, and with `mine` every row
/// of that claimer. Rows handed to the modem (only at-most-once kinds set `handed_at`) become
/// `unconfirmed`, a final state, since whether the SMS went is unknown and sending it again
/// could text a subscriber twice; the rest go back to the queue with `why`. One transaction.
/// Returns how many rows were released either way.
async fn release_stale(store: &Store, mine: Option<&str>, before: i64, why: &str) -> Result<u64> {
    let which = if mine.is_some() {
        "(claimed_by = ? OR claimed_at < ?)"
    } else {
        "claimed_at < ?"
    };
    let mut tx = store.pool().begin().await?;
    let mut released = 0;
    for (to, note, handed) in [
        ("unconfirmed", UNCONFIRMED, " AND handed_at IS NOT NULL"),
        ("queued", why, ""),
    ] {
        let sql = store
            .sql(&format!(
                "UPDATE outbox SET state = '{to}', claimed_by = NULL, last_error = ? \
             WHERE state = 'sending'{handed} AND {which}"
            ))
            .into_owned();
        let mut q = sqlx::query(&sql).bind(note);
        if let Some(daemon) = mine {
            q = q.bind(daemon);
        }
        let n = q.bind(before).execute(&mut *tx).await?.rows_affected();
        if to == "unconfirmed" && n > 0 {
            tracing::warn!(
                rows = n,
                "texts the modem had when their sender stopped are marked unconfirmed, not sent again"
            );
        }
        released += n;
    }
    tx.commit().await?;
    Ok(released)
}

/// At start: rows this daemon left in `sending` when it stopped (its id is stable across
/// restarts), and rows any claimer let expire, go back to the queue (at-most-once rows the
/// modem had become `unconfirmed`, see [`release_stale`]). The attempt stays counted.
pub async fn recover_stale(
    store: &Store,
    daemon: &str,
    stale_before: DateTime<Utc>,
) -> Result<u64> {
    let before = stale_before.timestamp_millis();
    release_stale(store, Some(daemon), before, "interrupted while sending").await
}

/// While running: rows whose lease (renewed by the sender while the modem works on them) ran
/// out before `stale_before` go back to the queue, whoever claimed them. A live sender renews
/// its lease, so only the rows of a claimer that is gone are taken.
pub async fn reclaim_stale(store: &Store, stale_before: DateTime<Utc>) -> Result<u64> {
    let before = stale_before.timestamp_millis();
    release_stale(store, None, before, "lease expired while sending").await
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
