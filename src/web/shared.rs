//! What the web layer sees of a running daemon: the handles the daemon builds at start and
//! every request handler borrows. The daemon fills it; nothing here runs.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::directory::DirectoryHandle;
use crate::modem::ModemHandle;
use crate::store::health::{DbHealth, Health};
use crate::store::leader::Leader;
use crate::store::Store;

/// What the web layer and tests see of a running daemon.
#[derive(Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Clock,
    pub modems: Vec<ModemHandle>,
    /// Wakes the senders when a row is queued from outside the intake path (API).
    pub outbox_wake: crate::wake::Wake,
    /// The village/cadre directory as last (re)loaded; build an
    /// [`actions::Ctx`](crate::appeals::actions::Ctx) from it per request.
    pub directory: DirectoryHandle,
    /// Database up or lost (since when, last error), for the status page and `/healthz`.
    pub db: Health,
    /// Whether this daemon does the county's time-driven work (always on SQLite).
    pub leader: Leader,
}

impl Shared {
    /// The database as this daemon last saw it.
    pub fn db_health(&self) -> DbHealth {
        self.db.get()
    }
}
