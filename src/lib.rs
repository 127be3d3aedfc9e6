//! appeal-gateway: the SMS door to the 码上办 village appeal platform.
//!
//! Pure cores (`pdu`, `at`, `intake`) carry the protocol and text logic and do no
//! I/O; the shells around them (`modem`, `store`, `web`, `daemon`) stay small.
//! README.md's architecture section is the map.

pub mod at;
pub mod pdu;

pub mod sim;
