//! Wake-ups between tasks. The database holds the work; a `Wake` only says "look again".
//! Built on a watch channel so a wake-up sent while a task is busy is not lost (a bare
//! `Notify::notify_waiters` would be), and any number of tasks can listen.

use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Wake {
    tx: std::sync::Arc<watch::Sender<u64>>,
}

impl Default for Wake {
    fn default() -> Self {
        Wake::new()
    }
}

impl Wake {
    pub fn new() -> Wake {
        let (tx, _) = watch::channel(0);
        Wake {
            tx: std::sync::Arc::new(tx),
        }
    }

    pub fn notify(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> WakeRx {
        WakeRx {
            rx: self.tx.subscribe(),
        }
    }
}

pub struct WakeRx {
    rx: watch::Receiver<u64>,
}

impl WakeRx {
    /// Returns when `notify` was called since the last return (at once if it already was).
    pub async fn wait(&mut self) {
        // The sender lives as long as any Wake clone; if all are gone, never wake again.
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_sent_while_busy_is_kept() {
        let w = Wake::new();
        let mut rx = w.subscribe();
        w.notify();
        tokio::time::timeout(std::time::Duration::from_secs(1), rx.wait())
            .await
            .unwrap();
        // Nothing new: waiting again blocks.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), rx.wait())
                .await
                .is_err()
        );
    }
}
