//! Leadership for time-driven work (reminders, escalations, digests): exactly one daemon of a
//! county does it. On PostgreSQL the leader holds a session-level advisory lock on one pooled
//! connection it keeps; when that daemon dies, its connection closes, the lock goes with it, and
//! another daemon's next attempt (every few seconds) takes over. SQLite serves one daemon, which
//! always leads.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::Any;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Backend, Store};

/// Advisory lock key of the scheduler (arbitrary, fixed, distinct from the event chain's).
const LEADER_LOCK: i64 = 0x6170_7065_616c_0002;

/// How often a follower tries to take over and the leader checks it still holds the lock.
pub const POLL: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Leader {
    rx: watch::Receiver<bool>,
}

impl Leader {
    /// A leader that always leads (SQLite, tests).
    pub fn always() -> Leader {
        let (tx, rx) = watch::channel(true);
        // Keep the sender alive for the life of the program so `changed()` never errors.
        std::mem::forget(tx);
        Leader { rx }
    }

    pub fn is_leader(&self) -> bool {
        *self.rx.borrow()
    }

    pub fn watch(&self) -> watch::Receiver<bool> {
        self.rx.clone()
    }
}

/// Starts campaigning. Returns at once; leadership shows in the returned handle.
pub fn campaign(store: &Store, shutdown: CancellationToken) -> Leader {
    if store.backend() == Backend::Sqlite {
        return Leader::always();
    }
    let (tx, rx) = watch::channel(false);
    let store = store.clone();
    tokio::spawn(async move {
        let mut held: Option<PoolConnection<Any>> = None;
        loop {
            match held.as_mut() {
                None => match try_acquire(&store).await {
                    Ok(Some(conn)) => {
                        tracing::info!("this daemon now leads the scheduled work");
                        held = Some(conn);
                        let _ = tx.send(true);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "leader election: database unavailable"),
                },
                Some(conn) => {
                    // A leader whose connection broke has lost the lock with it.
                    if let Err(e) = sqlx::query("SELECT 1").execute(&mut **conn).await {
                        tracing::warn!(error = %e, "lost the scheduler lock with its connection");
                        held = None;
                        let _ = tx.send(false);
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        if let Some(mut conn) = held {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LEADER_LOCK)
                .execute(&mut *conn)
                .await;
        }
        let _ = tx.send(false);
    });
    Leader { rx }
}

async fn try_acquire(store: &Store) -> Result<Option<PoolConnection<Any>>, sqlx::Error> {
    let mut conn = store.pool().acquire().await?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if got {
        // Kept out of the pool for as long as we lead: the lock lives on this session.
        Ok(Some(conn))
    } else {
        Ok(None)
    }
}
