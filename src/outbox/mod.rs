//! The outbox: every SMS the gateway sends is a row first. queued -> sending -> sent ->
//! delivered | failed. Rows are claimed in small batches, one statement each (`FOR UPDATE
//! SKIP LOCKED` on PostgreSQL), so several daemons on one database never send the same row
//! twice; a claim is a lease the sender renews while the modem works, and a row whose claimer
//! stopped renewing goes back to the queue on any daemon (at least once: the villager may get a
//! duplicate, never nothing). Broadcasts are the exception, at most once
//! (`policy::at_most_once`): a row the modem had when its sender died ends `unconfirmed`.

pub mod policy;
mod queue;

pub use policy::lease as lease_for;
pub use queue::{
    appeal_is_red, claim_batch, claim_next, delivery_report, enqueue, mark_handed, mark_sent,
    recent_capped_sends_by_key, reclaim_stale, record_outcomes, recover_stale, renew_lease,
    renew_leases, Claimed, NewSms, Outcome,
};
