//! The sender (an I/O task above `modem` and `outbox`): one worker per modem claims due outbox rows and hands them to its modem task,
//! within the rate limits: per modem (governor), and per recipient across modems and daemons
//! (counted in the database by national number) so a loop with an auto-replying phone cannot
//! run away.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

mod failure;

pub use failure::{can_send, disposition, Disposition};

use crate::backoff::{backoff, Backoff};
use crate::clock::Clock;
use crate::modem::ModemHandle;
use crate::outbox::policy;
use crate::outbox::{
    appeal_is_red, claim_next, defer, hold_for_modem, mark_failed, mark_retry, mark_sent,
    recent_capped_sends, renew_lease, Claimed,
};
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
    /// Texts of capped kinds to one national number per hour (see `policy::capped`).
    pub per_recipient_per_hour: u32,
    /// Retries and deferrals of held kinds wait for the end of these (see `policy`).
    pub tz: Tz,
    pub quiet_hours: (NaiveTime, NaiveTime),
    /// How long a claim lasts unrenewed (`policy::lease`); renewed every third of it.
    pub lease: Duration,
}

pub struct SenderContext {
    pub store: Store,
    pub clock: Clock,
    pub modem: ModemHandle,
    pub wake: crate::wake::Wake,
    pub shutdown: CancellationToken,
}

pub async fn run_sender(ctx: SenderContext, s: SenderSettings) {
    let name = ctx.modem.name.clone();
    let per_minute = NonZeroU32::new(s.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let limiter: DefaultDirectRateLimiter = RateLimiter::direct(Quota::per_minute(per_minute));
    let mut status = ctx.modem.watch();
    let mut wake = ctx.wake.subscribe();
    let mut concat_ref: u8 = rand::random();
    let mut db_backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    // Set while the modem cannot send at all (SIM, PIN, SMSC, network): the reason, and how
    // many times in a row it said so (for the backoff of the probes).
    let mut blocked: Option<(String, u32)> = None;
    // While blocked: the next claimed row may be tried without waiting first.
    let mut probe_now = false;
    loop {
        if ctx.shutdown.is_cancelled() {
            return;
        }
        if !can_send(&status.borrow_and_update()) {
            // It went down (reset, reconnect, re-registration): try at once when it is back.
            probe_now = true;
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = status.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            continue;
        }
        if let Some((_, refusals)) = &blocked {
            if !probe_now {
                // Ready and registered by its own account, yet it refused the last message:
                // probe with one row after a backoff, or at once if it drops and comes back.
                // Counter updates (a failed send counts one) are no reason to try again.
                let until =
                    tokio::time::Instant::now() + backoff(*refusals, s.retry_base, s.retry_max);
                loop {
                    tokio::select! {
                        _ = ctx.shutdown.cancelled() => return,
                        _ = tokio::time::sleep_until(until) => break,
                        changed = status.changed() => {
                            if changed.is_err() {
                                tokio::time::sleep_until(until).await;
                                break;
                            }
                            if !can_send(&status.borrow_and_update()) {
                                break;
                            }
                        }
                    }
                }
                probe_now = true;
                continue;
            }
        }
        // Wait for a send slot before claiming, so a claimed row is never held while we wait.
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = limiter.until_ready() => {}
        }
        let row = match claim_next(&ctx.store, &name, &s.daemon_id, s.pool, ctx.clock.now()).await {
            Ok(r) => {
                db_backoff.reset();
                r
            }
            Err(e) => {
                let wait = db_backoff.fail();
                tracing::error!(modem = %name, error = %e, retry_in = ?wait, "outbox unavailable");
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
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
        let masked = crate::phone::mask(&row.recipient);
        // A database error here only treats the appeal as not red: a held kind then waits for
        // the morning, which delays a red text's retry but never loses it.
        let red = appeal_is_red(&ctx.store, row.appeal_id)
            .await
            .unwrap_or(false);
        let later =
            |at: DateTime<Utc>| policy::next_attempt(&row.kind, red, at, s.tz, s.quiet_hours);
        let now = ctx.clock.now();
        let allowed = later(now);
        if allowed > now {
            // A held kind come due in the quiet hours (a retry, a deferral, a row held for the
            // modem overnight): it waits for the morning, uncounted.
            if let Err(e) = defer(&ctx.store, row.id, allowed).await {
                tracing::error!(outbox = row.id, error = %e, "cannot defer");
            }
            continue;
        }
        if policy::capped(&row.kind) {
            let sent =
                recent_capped_sends(&ctx.store, &row.recipient, now - chrono::Duration::hours(1))
                    .await
                    // The database just answered the claim; if it fails now the text goes
                    // uncapped once rather than wait: the cap guards against loops, not single texts.
                    .unwrap_or(0);
            if sent >= i64::from(s.per_recipient_per_hour) {
                tracing::warn!(modem = %name, outbox = row.id, recipient = %masked, sent, "per-recipient limit reached; deferred");
                let next = later(now + chrono::Duration::minutes(5));
                if let Err(e) = defer(&ctx.store, row.id, next).await {
                    tracing::error!(outbox = row.id, error = %e, "cannot defer");
                }
                continue;
            }
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
        let result = send_leased(&ctx, &s, &row, parts).await;
        let now = ctx.clock.now();
        let outcome = match result {
            Ok(refs) => {
                tracing::info!(modem = %name, outbox = row.id, kind = %row.kind, recipient = %masked, "sent");
                if let Some((reason, _)) = blocked.take() {
                    tracing::info!(modem = %name, was = %reason, "modem sends again");
                }
                Outcome::Sent(refs)
            }
            Err(e) => match disposition(&e) {
                Disposition::WaitForModem => {
                    let reason = e.to_string();
                    probe_now = false;
                    match &mut blocked {
                        Some((_, n)) => *n = n.saturating_add(1),
                        None => {
                            // Once per episode: every message would say the same.
                            tracing::error!(modem = %name, error = %reason, "modem cannot send; messages stay queued until it is fixed");
                            blocked = Some((reason.clone(), 1));
                        }
                    }
                    Outcome::Hold(reason)
                }
                Disposition::Retry if (row.attempts as u32) < s.max_attempts => {
                    let wait = backoff(row.attempts as u32, s.retry_base, s.retry_max);
                    let next = later(now + chrono::Duration::from_std(wait).unwrap_or_default());
                    tracing::warn!(modem = %name, outbox = row.id, error = %e, retry_at = %next, "send failed; will retry");
                    Outcome::Retry(e.to_string(), next)
                }
                Disposition::Retry | Disposition::Fail => {
                    tracing::error!(modem = %name, outbox = row.id, error = %e, attempts = row.attempts, "send failed for good");
                    Outcome::Failed(e.to_string())
                }
            },
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

/// Hands the parts to the modem and renews the row's lease while it works, so no daemon
/// reclaims a row that is legitimately in flight.
async fn send_leased(
    ctx: &SenderContext,
    s: &SenderSettings,
    row: &Claimed,
    parts: Vec<crate::pdu::EncodedPart>,
) -> Result<Vec<u8>, crate::modem::SendError> {
    let send = ctx.modem.send(parts);
    tokio::pin!(send);
    let every = (s.lease / 3).max(Duration::from_millis(100));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            r = &mut send => return r,
            _ = tick.tick() => {
                match renew_lease(&ctx.store, row.id, &s.daemon_id, ctx.clock.now()).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(outbox = row.id, "lease lost while sending; the row may go twice"),
                    Err(e) => tracing::warn!(outbox = row.id, error = %e, "cannot renew the lease"),
                }
            }
        }
    }
}

/// What became of one claimed row.
enum Outcome {
    Sent(Vec<u8>),
    Retry(String, chrono::DateTime<chrono::Utc>),
    /// The modem cannot send anything now; the row goes back uncounted.
    Hold(String),
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
        Outcome::Hold(error) => hold_for_modem(store, id, error).await,
        Outcome::Failed(error) => mark_failed(store, id, error).await,
    }
}
