//! The inbox: durable receipt of inbound SMS and their way to becoming appeals.
//!
//! 1. `store_raw` commits the raw PDU (the modem task calls it before AT+CMGD); a PDU already
//!    seen (same sha256) is a no-op, so a crash between commit and delete files nothing twice.
//! 2. `process` (the intake worker) decodes new rows, parks concatenated parts until their group
//!    is complete or times out, and files each whole text in ONE transaction that also marks its
//!    rows done. Every step can be re-run after a crash; none files twice.

mod assemble;
mod poison;
mod process;
mod receipt;

pub use assemble::{assemble, Part};
pub use process::{process, ProcessOutcome, ProcessSettings};
pub use receipt::{dedupe_key, store_raw, store_raw_batch};
