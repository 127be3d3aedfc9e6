//! appeal-gateway: the SMS door to the 码上办 village appeal platform.
//!
//! The modules stand in layers, and each imports only from its own layer or those below
//! (`tests/layers.rs` enforces it; README.md's architecture section is the map):
//!
//! - pure leaves, no I/O: `pdu` (the SMS codec), `at` (the AT line framer), `clock` (the one
//!   wall clock, injectable), `wake`, `phone` (the one phone-number rule), `grade` (colours,
//!   time limits, `classify`), `quiet` (quiet hours), `backoff` (the one retry rule);
//! - `config`: every settings type and the TOML loader;
//! - `store`: the SQLite and PostgreSQL pools, the leader lease, the work-queue claim;
//! - the domain: `directory`, `intake` (the pure text parser and guard), `outbox`, `appeals`
//!   (the pure state machine `appeals::machine::decide` and the load -> decide -> write
//!   operations around it), `inbox` (raw PDU to filed text);
//! - I/O tasks, each owning one resource: `modem` (a port; committed PDUs go to the receipt
//!   sink it is given), `sim` (the simulated modem), `sender`, `scheduler`, `webhooks`, `web`;
//! - `daemon`, which builds and supervises them, and `tools` (demo, bench, load) on top.

pub mod affairs;
pub mod appeals;
pub mod at;
pub mod backoff;
pub mod calls;
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
pub mod supervision;
pub mod tools;
pub mod wake;
pub mod web;
pub mod webhooks;
