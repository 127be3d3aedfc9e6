//! appeal-gateway: the SMS door to the 码上办 village appeal platform.
//!
//! Pure cores (`pdu`, `at`, `intake`) carry the protocol and text logic and do no
//! I/O; the shells around them (`modem`, `store`, `web`, `daemon`) stay small.
//! README.md's architecture section is the map.

pub mod appeals;
pub mod at;
pub mod bench;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod directory;
pub mod inbox;
pub mod intake;
pub mod modem;
pub mod outbox;
pub mod pdu;
pub mod scheduler;
pub mod sim;
pub mod store;
pub mod wake;
pub mod web;
pub mod webhooks;
