//! The intake worker: runs inbox passes (and files recorded calls) when the modems commit something, and every few
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

/// Receipts this close together are one burst still draining (see `let_the_sims_drain`).
const DRAIN_QUIET: Duration = Duration::from_millis(20);
/// Filing never waits longer than this for a drain.
const DRAIN_WAIT_MAX: Duration = Duration::from_millis(300);

pub struct IntakeWorker {
    pub store: Store,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// Read on every pass, so a SIGHUP reload applies to the next text.
    pub directory: DirectoryHandle,
    pub settings: ProcessSettings,
    pub calls: crate::calls::CallSettings,
    pub wake: Arc<Notify>,
    pub outbox_wake: crate::wake::Wake,
    pub health: crate::store::health::Health,
    pub shutdown: CancellationToken,
}

impl IntakeWorker {
    pub async fn run(self) {
        let mut failing = Duration::ZERO;
        loop {
            self.let_the_sims_drain().await;
            let ctx = Ctx::new(&self.config, self.directory.current());
            let pass = async {
                let texts = process(&self.store, &self.settings, &ctx, self.clock.now()).await?;
                let calls =
                    crate::calls::process(&self.store, &self.calls, &ctx, self.clock.now()).await?;
                Ok::<_, crate::store::StoreError>((texts, calls.len()))
            };
            match pass.await {
                Ok((out, calls)) => {
                    failing = Duration::ZERO;
                    self.health.report_ok();
                    if out.handled > 0 || calls > 0 {
                        self.outbox_wake.notify();
                    }
                    let busy = out.handled > 0
                        || out.parked_parts > 0
                        || out.bad > 0
                        || out.reports > 0
                        || calls > 0;
                    if busy {
                        // More may be waiting beyond this pass's batch.
                        continue;
                    }
                }
                Err(e) => {
                    // Only a database error says the database is lost; bad data does not.
                    if matches!(e, crate::store::StoreError::Sqlx(_)) {
                        self.health.report_error(&e);
                    }
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

    /// On SQLite, while a modem is draining a burst from its SIM (receipt commits less than
    /// [`DRAIN_QUIET`] apart), waits for it, at most [`DRAIN_WAIT_MAX`]. The SIM is the small,
    /// volatile buffer (a full one makes the network hold or drop texts); the inbox waits
    /// durably. On SQLite both write through one writer, and an intake transaction of 64 texts
    /// in the middle of a drain holds every receipt commit behind it. A single text is filed
    /// [`DRAIN_QUIET`] later than it would be.
    async fn let_the_sims_drain(&self) {
        // PostgreSQL commits receipts beside intake transactions; nothing to wait for there.
        if self.store.backend() != crate::store::Backend::Sqlite {
            return;
        }
        let until = tokio::time::Instant::now() + DRAIN_WAIT_MAX;
        while tokio::time::Instant::now() < until {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(DRAIN_QUIET) => return,
            }
        }
    }
}
