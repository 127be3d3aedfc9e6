//! The store: sqlx pools over SQLite (the embedded default) or PostgreSQL (the scale-out backend),
//! chosen by the `[database] url` scheme, plus the few places where their SQL dialects differ.
//!
//! Queries are written once with `?` placeholders and run through [`Store::sql`], which turns them
//! into `$1, $2 ...` for PostgreSQL. Times are BIGINT milliseconds (UTC) in both backends. The
//! domain modules (`inbox`, `appeals`, `outbox`) own their queries; this module owns connections,
//! migrations and dialect.

pub mod health;
pub mod leader;
pub mod queue;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database url `{0}` is neither sqlite:// nor postgres://")]
    Scheme(String),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Writes. On SQLite one connection: SQLite has one writer anyway, and a single connection
    /// avoids SQLITE_BUSY on lock upgrades inside deferred transactions.
    write: AnyPool,
    /// Reads (web page, API, listings). On PostgreSQL the same pool as `write`.
    read: AnyPool,
    url: String,
}

impl Store {
    /// Connects and applies the migrations of the backend.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let store = match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url);
                let opts = AnyConnectOptions::from_str(&url)?;
                let write = sqlite_pool(1).connect_with(opts.clone()).await?;
                // Readers are opened after the writer so the file (and WAL mode) exists.
                let read = sqlite_pool(max_connections.max(2))
                    .connect_with(opts)
                    .await?;
                Store {
                    backend,
                    write,
                    read,
                    url,
                }
            }
            Backend::Postgres => {
                // After a server restart every pooled connection is dead: each is pinged
                // before use and replaced. While the server is away an acquire keeps
                // retrying the connect until its timeout; 5 s bounds how long a modem task
                // waits before it leaves the message on the SIM and moves on.
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(5))
                    .test_before_acquire(true)
                    .connect(url)
                    .await?;
                Store {
                    backend,
                    write: pool.clone(),
                    read: pool,
                    url: url.to_string(),
                }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            // PostgreSQL migrations hold an advisory lock, so concurrent daemons take turns.
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.write)
                    .await?
            }
            // SQLite has no such lock: two processes (the daemon and `appeals list`, say)
            // migrating a new file at once would both try to create the tables. A file lock
            // beside the database makes them take turns.
            Backend::Sqlite => {
                let _guard = match sqlite_path(&self.url) {
                    Some(path) => Some(migration_lock(&path).await?),
                    None => None,
                };
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.write)
                    .await?;
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for writes and transactions.
    pub fn pool(&self) -> &AnyPool {
        &self.write
    }

    /// The pool for read-only queries.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// Rewrites `?` placeholders for the backend. Our SQL never has `?` inside a literal.
    pub fn sql<'a>(&self, q: &'a str) -> Cow<'a, str> {
        match self.backend {
            Backend::Sqlite => Cow::Borrowed(q),
            Backend::Postgres => Cow::Owned(numbered_placeholders(q)),
        }
    }

    /// `FOR UPDATE SKIP LOCKED` where the backend has row locks; SQLite's single writer needs none.
    pub fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn sqlite_pool(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets the web page read while the daemon writes. synchronous=FULL: a commit
                // is on disk before we delete the SIM copy, even across a power cut in the
                // village office (NORMAL would survive kill -9 but not that).
                conn.execute(
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                     PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
                )
                .await?;
                Ok(())
            })
        })
}

fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Scheme(url.to_string()))
    }
}

/// A daemon creates its SQLite file on first start.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The file behind a sqlite: URL (None for in-memory databases).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        None
    } else {
        Some(std::path::PathBuf::from(path))
    }
}

/// An exclusive flock on `<db>.migrate-lock`, released when the guard drops.
async fn migration_lock(db: &std::path::Path) -> Result<nix::fcntl::Flock<std::fs::File>> {
    let mut lock_path = db.as_os_str().to_owned();
    lock_path.push(".migrate-lock");
    let lock_path = std::path::PathBuf::from(lock_path);
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                StoreError::Corrupt(format!("cannot open {}: {e}", lock_path.display()))
            })?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            StoreError::Corrupt(format!("cannot lock {}: {e}", lock_path.display()))
        })
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("lock task: {e}")))?
}

fn numbered_placeholders(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 16);
    let mut n = 0;
    for c in q.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Milliseconds since the epoch, the stored form of every time.
pub fn millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered_placeholders("UPDATE t SET a = ?, b = ? WHERE id = ?"),
            "UPDATE t SET a = $1, b = $2 WHERE id = $3"
        );
    }

    #[test]
    fn schemes() {
        assert_eq!(backend_of("sqlite:///tmp/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgresql://h/db").unwrap(), Backend::Postgres);
        assert!(backend_of("mysql://h/db").is_err());
        assert_eq!(sqlite_url("sqlite:///a.db"), "sqlite:///a.db?mode=rwc");
    }
}
