//! appeal-gateway: the SMS door to the 码上办 village appeal platform.
//!
//! Pure cores (`pdu`, `at`, `intake`) carry the protocol and text logic and do no
//! I/O; the shells around them (`modem`, `store`, `web`, `daemon`) stay small.
//! README.md's architecture section is the map.

pub mod appeals;
pub mod at;
pub mod backoff;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod directory;
pub mod grade;
pub mod inbox;
pub mod intake;
pub mod modem;
pub mod outbox;
pub mod pdu;
pub mod phone;
pub mod quiet;
pub mod scheduler;
pub mod sender;
pub mod sim;
pub mod store;
pub mod tools;
pub mod wake;
pub mod web;
pub mod webhooks;
