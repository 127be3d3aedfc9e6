//! `appeal-gateway bench`: end-to-end throughput and memory. A zero-latency simulated modem
//! receives N texts; a real daemon process (the same binary, `run`, or another one given with
//! `--daemon` for a paired comparison) drains them from the SIM into the inbox, files them with
//! full durability and acknowledges each; we time the three stages separately and read the
//! daemon's peak resident memory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::sim::{SimModem, SimOptions};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Other(String),
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::replace_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::replace_database("postgres://h/test?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://h", "x"),
            "postgres://h/x"
        );
    }
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub messages: usize,
    pub backend: String,
    /// Until every text was committed to the inbox (SIM to durable storage).
    pub drained_secs: f64,
    pub filed_secs: f64,
    pub acked_secs: f64,
    pub peak_rss_kib: Option<u64>,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "backend:            {}", self.backend)?;
        writeln!(f, "messages:           {}", self.messages)?;
        writeln!(
            f,
            "drained:            {:.2} s  ({:.0} msg/s SIM to committed inbox)",
            self.drained_secs,
            self.messages as f64 / self.drained_secs
        )?;
        writeln!(
            f,
            "filed:              {:.2} s  ({:.0} appeals/s)",
            self.filed_secs,
            self.messages as f64 / self.filed_secs
        )?;
        writeln!(
            f,
            "filed and acked:    {:.2} s  ({:.0} appeals/s end to end)",
            self.acked_secs,
            self.messages as f64 / self.acked_secs
        )?;
        match self.peak_rss_kib {
            Some(k) => write!(
                f,
                "daemon peak RSS:    {:.1} MiB (VmHWM)",
                k as f64 / 1024.0
            ),
            None => write!(f, "daemon peak RSS:    unknown"),
        }
    }
}

fn config_text(db_url: &str, device: &Path) -> String {
    format!(
        r#"
[database]
url = "{db_url}"

[[modem]]
name = "bench"
device = "{}"
send_per_minute = 1000000
sweep_interval_secs = 5

[web]
listen = "127.0.0.1:0"

[outbox]
per_recipient_per_hour = 1000000
status_reports = false
"#,
        device.display()
    )
}

/// Creates (or drops) a database through an administrative connection to `admin`.
async fn scratch_database(admin: &str, name: &str, create: bool) -> Result<(), BenchError> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(admin)
        .await
        .map_err(crate::store::StoreError::from)?;
    let sql = if create {
        format!("CREATE DATABASE {name}")
    } else {
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    };
    sqlx::query(&sql)
        .execute(&mut c)
        .await
        .map_err(crate::store::StoreError::from)?;
    Ok(())
}

/// The same server URL with another database name.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[scheme_end..].find('/') {
        Some(slash) => format!("{}/{name}{query}", &base[..scheme_end + slash]),
        None => format!("{base}/{name}{query}"),
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the bench with `binary` as the daemon (normally the current executable).
pub async fn run(
    binary: PathBuf,
    messages: usize,
    database_url: Option<String>,
) -> Result<BenchReport, BenchError> {
    let dir = tempfile::tempdir()?;
    // On PostgreSQL the bench makes its own database on that server and drops it afterwards,
    // so it never counts (or leaves) rows in a database someone uses.
    let (url, scratch) = match database_url {
        None => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.sqlite").display()
            ),
            None,
        ),
        Some(admin) if admin.starts_with("postgres") => {
            let name = format!("ag_bench_{}", std::process::id());
            scratch_database(&admin, &name, true).await?;
            (replace_database(&admin, &name), Some((admin, name)))
        }
        Some(other) => (other, None),
    };
    let backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
    .to_string();
    // Large SIM so the network is never the bottleneck.
    let sim = SimModem::start(SimOptions {
        storage_capacity: 255,
        ..Default::default()
    })
    .await?;
    let cfg = dir.path().join("bench.toml");
    std::fs::write(&cfg, config_text(&url, &sim.device_path()))?;
    let store = Store::connect(&url, 2).await?;
    let mut child = std::process::Command::new(&binary)
        .args(["run", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id();
    // Let the daemon open and initialise the modem, so the figure is the steady state.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Encoded before the clock starts, so the figures are the daemon's, not the harness's
    // GSM encoder's.
    let scts = crate::clock::Clock::System
        .now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .fixed_offset();
    let mut pdus = Vec::with_capacity(messages);
    for i in 0..messages {
        let phone = format!("1380000{:04}", i % 5000);
        let text = if i % 2 == 0 {
            format!("第{i}号诉求：村口路灯坏了，晚上看不见路")
        } else {
            format!("Appeal {i}: the water pipe by the school is broken")
        };
        pdus.extend(crate::pdu::encode_deliver(&phone, &text, scts, i as u8));
    }
    let start = Instant::now();
    sim.receive_pdus(&pdus);
    let mut drained_secs = None;
    let mut filed_secs = None;
    let deadline = Duration::from_secs(600);
    loop {
        if drained_secs.is_none() {
            let drained: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
                .fetch_one(store.reader())
                .await
                .map_err(crate::store::StoreError::from)?;
            if drained as usize >= messages {
                drained_secs = Some(start.elapsed().as_secs_f64());
            }
        }
        let filed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appeals")
            .fetch_one(store.reader())
            .await
            .map_err(crate::store::StoreError::from)?;
        if filed_secs.is_none() && filed as usize >= messages {
            filed_secs = Some(start.elapsed().as_secs_f64());
        }
        if filed_secs.is_some() && sim.sent_texts().len() >= messages {
            break;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            return Err(BenchError::Other(format!(
                "gave up after {deadline:?}: {filed} filed"
            )));
        }
        tokio::time::sleep(Duration::from_millis(if drained_secs.is_none() {
            5
        } else {
            20
        }))
        .await;
    }
    let acked_secs = start.elapsed().as_secs_f64();
    let peak = peak_rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    store.close().await;
    sim.shutdown().await;
    if let Some((admin, name)) = scratch {
        scratch_database(&admin, &name, false).await?;
    }
    Ok(BenchReport {
        messages,
        backend,
        drained_secs: drained_secs.unwrap_or(acked_secs),
        filed_secs: filed_secs.unwrap_or(acked_secs),
        acked_secs,
        peak_rss_kib: peak,
    })
}
