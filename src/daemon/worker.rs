//! The intake worker: runs inbox passes when the modems commit something, and every few
//! seconds for parts whose wait is over. The database is the queue; the Notify only wakes it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::appeals::actions::Ctx;
use crate::clock::Clock;
use crate::config::Config;
use crate::directory::DirectoryHandle;
use crate::inbox::{process, ProcessSettings};
use crate::store::Store;

pub struct IntakeWorker {
    pub store: Store,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// Read on every pass, so a SIGHUP reload applies to the next text.
    pub directory: DirectoryHandle,
    pub settings: ProcessSettings,
    pub wake: Arc<Notify>,
    pub outbox_wake: crate::wake::Wake,
    pub shutdown: CancellationToken,
}

impl IntakeWorker {
    pub async fn run(self) {
        let mut failing = Duration::ZERO;
        loop {
            let ctx = Ctx::new(&self.config, self.directory.current());
            match process(&self.store, &self.settings, &ctx, self.clock.now()).await {
                Ok(out) => {
                    failing = Duration::ZERO;
                    if out.handled > 0 {
                        self.outbox_wake.notify();
                    }
                    let busy =
                        out.handled > 0 || out.parked_parts > 0 || out.bad > 0 || out.reports > 0;
                    if busy {
                        // More may be waiting beyond this pass's batch.
                        continue;
                    }
                }
                Err(e) => {
                    failing =
                        (failing * 2).clamp(Duration::from_millis(500), Duration::from_secs(30));
                    tracing::error!(error = %e, retry_in = ?failing, "intake pass failed; inbox rows stay pending");
                }
            }
            let idle = if failing.is_zero() {
                Duration::from_secs(5)
            } else {
                failing
            };
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }
}
