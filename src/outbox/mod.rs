//! The outbox: every SMS the gateway sends is a row first. queued -> sending -> sent ->
//! delivered | failed. Rows are claimed one at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL)
//! so several daemons on one database never send the same row twice; a row left in `sending` by
//! a crash goes back to the queue (at least once: the villager may get a duplicate, never nothing).

mod queue;
mod retry;
mod sender;

pub use queue::{
    claim_next, defer, delivery_report, enqueue, mark_failed, mark_retry, mark_sent, recover_stale,
    Claimed, NewSms,
};
pub use retry::backoff;
pub use sender::{recipient_limiter, run_sender, RecipientLimiter, SenderContext, SenderSettings};
