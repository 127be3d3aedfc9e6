//! Leadership for time-driven work (reminders, escalations, digests): exactly one daemon of a
//! county does it. On PostgreSQL the leader holds a session-level advisory lock on one pooled
//! connection it keeps; when that daemon dies, its connection closes, the lock goes with it, and
//! another daemon's next attempt (every few seconds) takes over. SQLite serves one daemon, which
//! always leads.
//!
//! A recorded campaign also writes the `leaders` row (who leads, since when, heartbeat) so the
//! status page and operators can see which daemon does the scheduled work. On PostgreSQL the
//! heartbeat runs on the lock's own connection: when it fails, the lock is gone with it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{from_millis, Backend, Store};
use crate::clock::Clock;

/// Advisory lock key of the scheduler (arbitrary, fixed, distinct from the event chain's).
const LEADER_LOCK: i64 = 0x6170_7065_616c_0002;

/// The `leaders.role` of the scheduler.
pub const SCHEDULER: &str = "scheduler";

/// How often a follower tries to take over and the leader checks it still holds the lock.
pub const POLL: Duration = Duration::from_secs(5);

/// How often the lone SQLite daemon refreshes its `leaders` row.
const SQLITE_BEAT: Duration = Duration::from_secs(60);

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

/// Who campaigns, for the `leaders` row.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub daemon_id: String,
    pub clock: Clock,
}

/// The `leaders` row: who leads a role, since when, and its last heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderRow {
    pub daemon_id: String,
    pub since: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

/// Starts campaigning without recording the leader. Returns at once; leadership shows in the
/// returned handle.
pub fn campaign(store: &Store, shutdown: CancellationToken) -> Leader {
    start(store, None, shutdown)
}

/// Starts campaigning and, while leading, keeps the `leaders` row of [`SCHEDULER`] current.
pub fn campaign_recorded(store: &Store, who: Candidate, shutdown: CancellationToken) -> Leader {
    start(store, Some(who), shutdown)
}

fn start(store: &Store, who: Option<Candidate>, shutdown: CancellationToken) -> Leader {
    if store.backend() == Backend::Sqlite {
        if let Some(who) = who {
            // The only daemon leads; the row still tells the status page so.
            let store = store.clone();
            tokio::spawn(async move {
                let since = who.clock.now();
                loop {
                    if let Err(e) = heartbeat(&store, None, &who, since).await {
                        tracing::warn!(error = %e, "cannot record the scheduler leader");
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        // Nobody competes; a slow beat spares the office's SD card the fsyncs.
                        _ = tokio::time::sleep(SQLITE_BEAT) => {}
                    }
                }
            });
        }
        return Leader::always();
    }
    let (tx, rx) = watch::channel(false);
    let store = store.clone();
    tokio::spawn(async move {
        let mut held: Option<(PoolConnection<Any>, DateTime<Utc>)> = None;
        loop {
            match held.as_mut() {
                None => match try_acquire(&store).await {
                    Ok(Some(conn)) => {
                        tracing::info!(
                            daemon = who.as_ref().map(|w| w.daemon_id.as_str()).unwrap_or(""),
                            "this daemon now leads the scheduled work"
                        );
                        let since = who.as_ref().map(|w| w.clock.now()).unwrap_or_default();
                        held = Some((conn, since));
                        let _ = tx.send(true);
                        // Record at once rather than a poll later.
                        if let (Some((conn, since)), Some(who)) = (held.as_mut(), who.as_ref()) {
                            if let Err(e) = heartbeat(&store, Some(conn), who, *since).await {
                                tracing::warn!(error = %e, "lost the scheduler lock with its connection");
                                held = None;
                                let _ = tx.send(false);
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "leader election: database unavailable"),
                },
                Some((conn, since)) => {
                    // A leader whose connection broke has lost the lock with it.
                    let alive = match who.as_ref() {
                        Some(who) => heartbeat(&store, Some(conn), who, *since).await,
                        None => sqlx::query("SELECT 1")
                            .execute(&mut **conn)
                            .await
                            .map(|_| ()),
                    };
                    if let Err(e) = alive {
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
        if let Some((mut conn, _)) = held {
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

/// Writes the `leaders` row: on the lock's connection when given (PostgreSQL), else the pool.
async fn heartbeat(
    store: &Store,
    conn: Option<&mut PoolConnection<Any>>,
    who: &Candidate,
    since: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = store.sql(
        "INSERT INTO leaders (role, daemon_id, since, heartbeat_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (role) DO UPDATE SET daemon_id = excluded.daemon_id, since = excluded.since, \
         heartbeat_at = excluded.heartbeat_at",
    );
    let q = sqlx::query(&sql)
        .bind(SCHEDULER)
        .bind(&who.daemon_id)
        .bind(since.timestamp_millis())
        .bind(who.clock.now().timestamp_millis());
    match conn {
        Some(conn) => q.execute(&mut **conn).await?,
        None => q.execute(store.pool()).await?,
    };
    Ok(())
}

/// The recorded leader of `role`, if any daemon ever led it. Its heartbeat tells whether it
/// still does (a live leader beats every [`POLL`]).
pub async fn current(store: &Store, role: &str) -> super::Result<Option<LeaderRow>> {
    let row = sqlx::query(
        &store.sql("SELECT daemon_id, since, heartbeat_at FROM leaders WHERE role = ?"),
    )
    .bind(role)
    .fetch_optional(store.reader())
    .await?;
    row.map(|r| {
        Ok(LeaderRow {
            daemon_id: r.try_get("daemon_id")?,
            since: from_millis(r.try_get("since")?),
            heartbeat_at: from_millis(r.try_get("heartbeat_at")?),
        })
    })
    .transpose()
}
