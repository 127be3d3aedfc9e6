//! The sender (an I/O task above `modem` and `outbox`): one worker per modem claims due outbox
//! rows in small batches and hands them, in queue order, to its modem task, within the limits:
//! per modem (governor), and per recipient across modems and daemons (counted in the database
//! by national number) so a loop with an auto-replying phone cannot run away.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

mod failure;

pub use failure::{can_send, disposition, Disposition};

use crate::backoff::{backoff, Backoff};
use crate::clock::Clock;
use crate::modem::ModemHandle;
use crate::outbox::policy;
use crate::outbox::{
    appeal_is_red, claim_batch, mark_handed, recent_capped_sends_by_key, record_outcomes,
    renew_leases, Claimed, Outcome,
};
use crate::pdu::{encode_submit, SubmitOptions};
use crate::phone::national;
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
        // One row only while probing a modem that refused: the rest would only come back.
        let limit = if blocked.is_some() { 1 } else { BATCH };
        let now = ctx.clock.now();
        let rows = match claim_batch(&ctx.store, &name, &s.daemon_id, s.pool, now, limit).await {
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
        if rows.is_empty() {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = wake.wait() => {}
                // Retries come due by time, not by a wake-up.
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        let mut state = BatchState {
            blocked: &mut blocked,
            probe_now: &mut probe_now,
            concat_ref: &mut concat_ref,
        };
        let Some(pause) = send_batch(&ctx, &s, &limiter, &rows, &mut state).await else {
            // Shut down while a result waited for the database: those rows stay `sending`
            // and are recovered at the next start.
            return;
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Rows claimed per commit. A batch's results are committed together too (see
/// [`FLUSH_AFTER`]), so a fast modem costs two commits per batch instead of two per SMS; only
/// at-most-once kinds commit each result before the next text (`policy::at_most_once`). Small
/// enough that rows held by one modem of a pool are not long out of the others' reach.
const BATCH: usize = 16;
/// A result waits at most this long for its commit, even while the modem takes seconds over
/// the next SMS (see `send_leased`). A status report names its SMS by the TP-MR recorded with
/// the result, and the network may report within a second or two.
const FLUSH_AFTER: Duration = Duration::from_millis(500);
/// A send slot this close is waited for with the batch held; a later one puts the rest of the
/// batch back (uncounted, in place) and the sender sleeps until the slot.
const HOLD_FOR_SLOT: Duration = Duration::from_secs(1);

/// What the sender keeps across batches.
struct BatchState<'a> {
    blocked: &'a mut Option<(String, u32)>,
    probe_now: &'a mut bool,
    concat_ref: &'a mut u8,
}

/// Sends a claimed batch in queue order and records every row's outcome. Returns how long to
/// pause before the next claim (a send slot far off), or None when shutdown came while a
/// result could not be recorded.
///
/// At least once: every row stays `sending` until its outcome commits, so a crash anywhere
/// sends again what went out since the last commit, never loses a row.
async fn send_batch(
    ctx: &SenderContext,
    s: &SenderSettings,
    limiter: &DefaultDirectRateLimiter,
    rows: &[Claimed],
    st: &mut BatchState<'_>,
) -> Option<Duration> {
    let name = &ctx.modem.name;
    let cap_since = ctx.clock.now() - chrono::Duration::hours(1);
    let capped_recipients: Vec<&str> = rows
        .iter()
        .filter(|r| policy::capped(&r.kind))
        .map(|r| r.recipient.as_str())
        .collect();
    // One query for the batch. The database just answered the claim; if it fails now the
    // texts go uncapped once rather than wait: the cap guards against loops, not single texts.
    let mut capped_sent = recent_capped_sends_by_key(&ctx.store, &capped_recipients, cap_since)
        .await
        .unwrap_or_default();
    let mut batch = Batch {
        pending: Vec::with_capacity(rows.len()),
        oldest: None,
    };
    let mut pause = Duration::ZERO;
    // Set when the rest of the batch goes back untried, with what it goes back as.
    let mut rest: Option<Outcome> = None;
    for (i, row) in rows.iter().enumerate() {
        if rest.is_none() && ctx.shutdown.is_cancelled() {
            rest = Some(Outcome::Release);
        }
        if let Some(back) = &rest {
            batch.push(row, back.clone());
            continue;
        }
        let masked = crate::phone::mask(&row.recipient);
        let now = ctx.clock.now();
        let allowed = next_allowed(ctx, s, row, now).await;
        if allowed > now {
            // A held kind come due in the quiet hours (a retry, a deferral, a row held for the
            // modem overnight): it waits for the morning, uncounted.
            batch.push(row, Outcome::Defer { next: allowed });
            continue;
        }
        let key = national(&row.recipient).to_string();
        if policy::capped(&row.kind) {
            let sent = capped_sent.get(&key).copied().unwrap_or(0);
            if sent >= i64::from(s.per_recipient_per_hour) {
                tracing::warn!(modem = %name, outbox = row.id, recipient = %masked, sent, "per-recipient limit reached; deferred");
                let next = next_allowed(ctx, s, row, now + chrono::Duration::minutes(5)).await;
                batch.push(row, Outcome::Defer { next });
                continue;
            }
        }
        // A slot is taken only with a row in hand: an idle sender keeps its burst.
        if let Err(wait) = take_slot(limiter).await {
            pause = wait;
            rest = Some(Outcome::Release);
            batch.push(row, Outcome::Release);
            continue;
        }
        *st.concat_ref = st.concat_ref.wrapping_add(1);
        let opts = SubmitOptions {
            smsc: s.smsc.clone(),
            status_report: s.status_reports,
            concat_ref: *st.concat_ref,
            ..Default::default()
        };
        let outcome = match encode_submit(&row.recipient, &row.text, &opts) {
            Err(e) => Outcome::Failed {
                error: format!("cannot encode: {e}"),
            },
            Ok(parts) => {
                if policy::at_most_once(&row.kind) {
                    // Committed before the modem has it, so a crash from here on leaves the
                    // row `unconfirmed` rather than sent again (`policy::at_most_once`).
                    match mark_handed(&ctx.store, row.id, &s.daemon_id, ctx.clock.now()).await {
                        Ok(true) => {}
                        Ok(false) => {
                            // Reclaimed meanwhile (a database outage longer than the lease): it
                            // is another claimer's row now, so it is neither sent nor touched.
                            tracing::warn!(modem = %name, outbox = row.id, "lease lost before sending; left to its new claimer");
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(modem = %name, outbox = row.id, error = %e, "cannot record the hand-over; the batch waits");
                            rest = Some(Outcome::Release);
                            batch.push(row, Outcome::Release);
                            continue;
                        }
                    }
                }
                let result = send_leased(ctx, s, &mut batch, &rows[i..], parts).await;
                let outcome = judge(ctx, s, row, result, st).await;
                if matches!(outcome, Outcome::Hold { .. }) {
                    // The modem cannot send anything: the rest of the batch waits with this row.
                    rest = Some(outcome.clone());
                }
                outcome
            }
        };
        if matches!(outcome, Outcome::Sent { .. }) {
            tracing::info!(modem = %name, outbox = row.id, kind = %row.kind, recipient = %masked, "sent");
            if policy::capped(&row.kind) {
                *capped_sent.entry(key).or_insert(0) += 1;
            }
        }
        let commit_now = matches!(outcome, Outcome::Sent { .. }) && policy::at_most_once(&row.kind);
        batch.push(row, outcome);
        if (commit_now
            || batch
                .flush_due()
                .is_some_and(|t| t <= tokio::time::Instant::now()))
            && !batch.flush(ctx).await
        {
            return None;
        }
    }
    batch.flush(ctx).await.then_some(pause)
}

/// What a send's result means for its row, keeping the sender's account of a modem that
/// cannot send.
async fn judge(
    ctx: &SenderContext,
    s: &SenderSettings,
    row: &Claimed,
    result: Result<Vec<u8>, crate::modem::SendError>,
    st: &mut BatchState<'_>,
) -> Outcome {
    let name = &ctx.modem.name;
    let now = ctx.clock.now();
    match result {
        Ok(refs) => {
            if let Some((reason, _)) = st.blocked.take() {
                tracing::info!(modem = %name, was = %reason, "modem sends again");
            }
            Outcome::Sent { refs, at: now }
        }
        Err(e) => match disposition(&e) {
            Disposition::WaitForModem => {
                let reason = e.to_string();
                *st.probe_now = false;
                match st.blocked {
                    Some((_, n)) => *n = n.saturating_add(1),
                    None => {
                        // Once per episode: every message would say the same.
                        tracing::error!(modem = %name, error = %reason, "modem cannot send; messages stay queued until it is fixed");
                        *st.blocked = Some((reason.clone(), 1));
                    }
                }
                Outcome::Hold { error: reason }
            }
            Disposition::Retry if (row.attempts as u32) < s.max_attempts => {
                let wait = backoff(row.attempts as u32, s.retry_base, s.retry_max);
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                let next = next_allowed(ctx, s, row, at).await;
                tracing::warn!(modem = %name, outbox = row.id, error = %e, retry_at = %next, "send failed; will retry");
                Outcome::Retry {
                    error: e.to_string(),
                    next,
                }
            }
            Disposition::Retry | Disposition::Fail => {
                tracing::error!(modem = %name, outbox = row.id, error = %e, attempts = row.attempts, "send failed for good");
                Outcome::Failed {
                    error: e.to_string(),
                }
            }
        },
    }
}

/// When the row may go if planned for `at`: `at`, or for a kind the quiet hours hold the end
/// of the quiet hours. Whether its appeal is red is asked only when that matters (a held kind
/// in the quiet hours); a database error there treats it as not red, which delays a red
/// text's retry to the morning but never loses it.
async fn next_allowed(
    ctx: &SenderContext,
    s: &SenderSettings,
    row: &Claimed,
    at: DateTime<Utc>,
) -> DateTime<Utc> {
    let plain = policy::next_attempt(&row.kind, false, at, s.tz, s.quiet_hours);
    if plain == at {
        return at;
    }
    let red = appeal_is_red(&ctx.store, row.appeal_id)
        .await
        .unwrap_or(false);
    policy::next_attempt(&row.kind, red, at, s.tz, s.quiet_hours)
}

/// Takes a send slot now or within [`HOLD_FOR_SLOT`]; otherwise how long until one is free
/// (nothing taken).
async fn take_slot(limiter: &DefaultDirectRateLimiter) -> Result<(), Duration> {
    loop {
        match limiter.check() {
            Ok(()) => return Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                if wait > HOLD_FOR_SLOT {
                    return Err(wait);
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Hands the parts to the modem. While it works: renews the leases of every row of the batch
/// not yet recorded, so no daemon reclaims a row that is legitimately in flight; and commits
/// the results already in hand once the oldest is [`FLUSH_AFTER`] old, so they do not wait for
/// a slow modem's next `AT+CMGS` (a status report for them may already be on its way).
async fn send_leased(
    ctx: &SenderContext,
    s: &SenderSettings,
    batch: &mut Batch<'_>,
    unsent: &[Claimed],
    parts: Vec<crate::pdu::EncodedPart>,
) -> Result<Vec<u8>, crate::modem::SendError> {
    let send = ctx.modem.send(parts);
    tokio::pin!(send);
    let every = (s.lease / 3).max(Duration::from_millis(100));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        let flush_at = batch.flush_due();
        tokio::select! {
            r = &mut send => return r,
            _ = tokio::time::sleep_until(flush_at.unwrap_or_else(tokio::time::Instant::now)), if flush_at.is_some() => {
                // Shutdown during a database outage: the results wait for the batch's end.
                if !batch.flush(ctx).await {
                    batch.oldest = None;
                }
            }
            _ = tick.tick() => {
                let live: Vec<i64> = batch
                    .pending
                    .iter()
                    .map(|(r, _)| r.id)
                    .chain(unsent.iter().map(|r| r.id))
                    .collect();
                match renew_leases(&ctx.store, &live, &s.daemon_id, ctx.clock.now()).await {
                    Ok(n) if n as usize == live.len() => {}
                    Ok(_) => tracing::warn!(rows = ?live, "lease lost while sending; a row may go twice"),
                    Err(e) => tracing::warn!(rows = ?live, error = %e, "cannot renew the leases"),
                }
            }
        }
    }
}

/// The outcomes of a batch not yet committed, and since when the oldest waits.
struct Batch<'a> {
    pending: Vec<(&'a Claimed, Outcome)>,
    oldest: Option<tokio::time::Instant>,
}

impl<'a> Batch<'a> {
    fn push(&mut self, row: &'a Claimed, outcome: Outcome) {
        self.pending.push((row, outcome));
        self.oldest.get_or_insert_with(tokio::time::Instant::now);
    }

    /// When the pending results must be committed.
    fn flush_due(&self) -> Option<tokio::time::Instant> {
        self.oldest.map(|t| t + FLUSH_AFTER)
    }

    /// Commits the pending outcomes. The SMS are on the network (or not) whatever the
    /// database says now: the results are kept and retried until the database takes them,
    /// since a row left `sending` would be sent again after a restart. False when shutdown
    /// came first (the rows stay `sending` and are recovered at the next start).
    async fn flush(&mut self, ctx: &SenderContext) -> bool {
        let mut wait = Duration::from_millis(500);
        loop {
            match record_outcomes(&ctx.store, &ctx.modem.name, &self.pending).await {
                Ok(()) => {
                    self.pending.clear();
                    self.oldest = None;
                    return true;
                }
                Err(e) => {
                    tracing::error!(rows = self.pending.len(), error = %e, retry_in = ?wait, "cannot record the send results; will retry");
                    tokio::select! {
                        _ = ctx.shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}
