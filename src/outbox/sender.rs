//! The sender: one worker per modem claims due outbox rows and hands them to its modem task,
//! within the governor rate limits (per modem, and per recipient across modems so a loop with
//! an auto-replying phone cannot run away).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::queue::{claim_next, defer, mark_failed, mark_retry, mark_sent};
use super::retry::backoff;
use crate::clock::Clock;
use crate::modem::ModemHandle;
use crate::pdu::{encode_submit, SubmitOptions};
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// Who claims rows (host and process), so a restart can recover its own `sending` rows.
    pub daemon_id: String,
    /// Any modem may send any row (else only rows naming this modem or none).
    pub pool: bool,
    pub status_reports: bool,
    pub smsc: Option<String>,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub per_minute: u32,
}

/// Shared by every sender of the daemon.
pub type RecipientLimiter = DefaultKeyedRateLimiter<String>;

pub fn recipient_limiter(per_hour: u32) -> Arc<RecipientLimiter> {
    let n = NonZeroU32::new(per_hour.max(1)).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(Quota::per_hour(n)))
}

pub struct SenderContext {
    pub store: Store,
    pub clock: Clock,
    pub modem: ModemHandle,
    pub wake: crate::wake::Wake,
    pub recipients: Arc<RecipientLimiter>,
    pub shutdown: CancellationToken,
}

pub async fn run_sender(ctx: SenderContext, s: SenderSettings) {
    let name = ctx.modem.name.clone();
    let per_minute = NonZeroU32::new(s.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let limiter: DefaultDirectRateLimiter = RateLimiter::direct(Quota::per_minute(per_minute));
    let mut status = ctx.modem.watch();
    let mut wake = ctx.wake.subscribe();
    let mut concat_ref: u8 = rand::random();
    let mut db_backoff = Duration::from_millis(500);
    loop {
        if ctx.shutdown.is_cancelled() {
            return;
        }
        if !status.borrow_and_update().is_ready() {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = status.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            continue;
        }
        // Wait for a send slot before claiming, so a claimed row is never held while we wait.
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = limiter.until_ready() => {}
        }
        let row = match claim_next(&ctx.store, &name, &s.daemon_id, s.pool, ctx.clock.now()).await {
            Ok(r) => {
                db_backoff = Duration::from_millis(500);
                r
            }
            Err(e) => {
                tracing::error!(modem = %name, error = %e, retry_in = ?db_backoff, "outbox unavailable");
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(db_backoff) => {}
                }
                db_backoff = (db_backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let Some(row) = row else {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = wake.wait() => {}
                // Retries come due by time, not by a wake-up.
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        };
        let masked = crate::appeals::mask_phone(&row.recipient);
        if ctx.recipients.check_key(&row.recipient).is_err() {
            tracing::warn!(modem = %name, outbox = row.id, recipient = %masked, "per-recipient limit reached; deferred");
            let next = ctx.clock.now() + chrono::Duration::minutes(5);
            if let Err(e) = defer(&ctx.store, row.id, next).await {
                tracing::error!(outbox = row.id, error = %e, "cannot defer");
            }
            continue;
        }
        concat_ref = concat_ref.wrapping_add(1);
        let opts = SubmitOptions {
            smsc: s.smsc.clone(),
            status_report: s.status_reports,
            concat_ref,
            ..Default::default()
        };
        let parts = match encode_submit(&row.recipient, &row.text, &opts) {
            Ok(p) => p,
            Err(e) => {
                let _ = mark_failed(&ctx.store, row.id, &format!("cannot encode: {e}")).await;
                continue;
            }
        };
        let result = ctx.modem.send(parts).await;
        let now = ctx.clock.now();
        let outcome = match result {
            Ok(refs) => {
                tracing::info!(modem = %name, outbox = row.id, kind = %row.kind, recipient = %masked, "sent");
                Outcome::Sent(refs)
            }
            Err(e) if e.is_transient() && (row.attempts as u32) < s.max_attempts => {
                let wait = backoff(row.attempts as u32, s.retry_base, s.retry_max);
                tracing::warn!(modem = %name, outbox = row.id, error = %e, retry_in = ?wait, "send failed; will retry");
                let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                Outcome::Retry(e.to_string(), next)
            }
            Err(e) => {
                tracing::error!(modem = %name, outbox = row.id, error = %e, attempts = row.attempts, "send failed for good");
                Outcome::Failed(e.to_string())
            }
        };
        // The SMS is on the network (or not) whatever the database says now. Keep the result
        // until the database takes it: a row left `sending` would be sent again after a restart.
        let mut wait = Duration::from_millis(500);
        loop {
            match record(&ctx.store, row.id, &name, &outcome, now).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(outbox = row.id, error = %e, retry_in = ?wait, "cannot record the send result; will retry");
                    tokio::select! {
                        // The row stays `sending` and is recovered at the next start.
                        _ = ctx.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

/// What became of one claimed row.
enum Outcome {
    Sent(Vec<u8>),
    Retry(String, chrono::DateTime<chrono::Utc>),
    Failed(String),
}

async fn record(
    store: &Store,
    id: i64,
    modem: &str,
    outcome: &Outcome,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::store::Result<()> {
    match outcome {
        Outcome::Sent(refs) => mark_sent(store, id, modem, refs, now).await,
        Outcome::Retry(error, next) => mark_retry(store, id, error, *next).await,
        Outcome::Failed(error) => mark_failed(store, id, error).await,
    }
}
