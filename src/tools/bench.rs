//! `appeal-gateway bench`: end-to-end throughput and memory. A zero-latency simulated modem
//! receives N texts; a real daemon process (the same binary, `run`, or another one given with
//! `--daemon` for a paired comparison) drains them from the SIM into the inbox, files them with
//! full durability and acknowledges each; we time the three stages separately and read the
//! daemon's peak resident memory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::sim::{SimModem, SimOptions};

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
    use super::*;

    fn report(drained_secs: f64) -> BenchReport {
        BenchReport {
            messages: 1000,
            backend: "sqlite".into(),
            drained_secs,
            filed_secs: 1.0,
            acked_secs: 2.0,
            first_ack_secs: 0.5,
            peak_rss_kib: Some(2048),
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn paired_report_prints_medians_runs_and_ratio() {
        let p = PairedReport {
            old: vec![report(1.0), report(0.5)],
            new: vec![report(0.25), report(0.5)],
        };
        let text = p.to_string();
        // old drains 1000 and 2000 msg/s (median 1500), new 4000 and 2000 (median 3000).
        let drain = text.lines().find(|l| l.starts_with("drain")).unwrap();
        assert!(drain.contains("1500 [1000 2000]"), "{drain}");
        assert!(drain.contains("3000 [4000 2000]"), "{drain}");
        assert!(drain.trim_end().ends_with("2.00x"), "{drain}");
        // Acks over the span from the first to the last: 1000 in 1.5 s.
        let acks = text.lines().find(|l| l.starts_with("acks")).unwrap();
        assert!(acks.contains("667 [667 667]"), "{acks}");
        assert!(text.contains("2.0 MiB"), "{text}");
    }

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
    /// Until every acknowledgement was on the simulated network.
    pub acked_secs: f64,
    /// When the first acknowledgement was: the ack rate is over the span from it to the last.
    pub first_ack_secs: f64,
    pub peak_rss_kib: Option<u64>,
}

impl BenchReport {
    /// SIM to committed inbox, messages a second.
    pub fn drain_rate(&self) -> f64 {
        self.messages as f64 / self.drained_secs
    }
    /// Appeals filed a second, from the first text handed to the network.
    pub fn filing_rate(&self) -> f64 {
        self.messages as f64 / self.filed_secs
    }
    /// Acknowledgements sent a second, from the first to the last (the outbound path alone).
    pub fn ack_rate(&self) -> f64 {
        self.messages as f64 / (self.acked_secs - self.first_ack_secs).max(1e-3)
    }
    /// Filed and acknowledged a second, end to end.
    pub fn end_to_end_rate(&self) -> f64 {
        self.messages as f64 / self.acked_secs
    }
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
            "acked:              {:.2} s after the first ack  ({:.0} acks/s sent)",
            self.acked_secs - self.first_ack_secs,
            self.ack_rate()
        )?;
        writeln!(
            f,
            "filed and acked:    {:.2} s  ({:.0} appeals/s end to end)",
            self.acked_secs,
            self.end_to_end_rate()
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

pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A daemon under the bench: its scratch database, the simulated modem it drives, the process
/// and the harness's own connection (which only counts rows, so an older daemon of a paired
/// run is measured on its own schema, not refused by a newer one).
struct Running {
    _dir: tempfile::TempDir,
    scratch: Option<(String, String)>,
    backend: String,
    sim: SimModem,
    child: std::process::Child,
    store: sqlx::AnyPool,
}

impl Running {
    /// Starts `binary` on a fresh database (a temporary SQLite file, or a scratch database on
    /// the PostgreSQL server `database_url` names) with `extra` appended to the config, and
    /// waits for its schema.
    async fn start(
        binary: &Path,
        database_url: Option<String>,
        top: &str,
        extra: &str,
    ) -> Result<Running, BenchError> {
        let dir = tempfile::tempdir()?;
        // On PostgreSQL the bench makes its own database on that server and drops it
        // afterwards, so it never counts (or leaves) rows in a database someone uses.
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
        let text = format!("{top}{}{extra}", config_text(&url, &sim.device_path()));
        std::fs::write(&cfg, text)?;
        let mut child = std::process::Command::new(binary)
            .args(["run", "--config"])
            .arg(&cfg)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .spawn()?;
        // Let the daemon open and initialise the modem, so the figure is the steady state.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        sqlx::any::install_default_drivers();
        let store = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .map_err(crate::store::StoreError::from)?;
        let started = Instant::now();
        while sqlx::query("SELECT COUNT(*) FROM appeals")
            .fetch_one(&store)
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait()? {
                return Err(BenchError::Other(format!(
                    "the daemon exited at start ({status}); run it by hand to see why"
                )));
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                return Err(BenchError::Other(
                    "the daemon made no schema in 60 s".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Running {
            _dir: dir,
            scratch,
            backend,
            sim,
            child,
            store,
        })
    }

    /// The daemon exited, or the run is over time: an error saying which.
    fn check(
        &mut self,
        start: Instant,
        deadline: Duration,
        what: String,
    ) -> Result<(), BenchError> {
        if let Some(status) = self.child.try_wait()? {
            return Err(BenchError::Other(format!(
                "the daemon exited ({status}) with {what}"
            )));
        }
        if start.elapsed() > deadline {
            let _ = self.child.kill();
            return Err(BenchError::Other(format!(
                "gave up after {deadline:?}: {what}"
            )));
        }
        Ok(())
    }

    /// Reads the daemon's peak memory, stops it and drops the scratch database.
    async fn finish(mut self) -> Result<Option<u64>, BenchError> {
        let peak = peak_rss_kib(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.store.close().await;
        self.sim.shutdown().await;
        if let Some((admin, name)) = self.scratch {
            scratch_database(&admin, &name, false).await?;
        }
        Ok(peak)
    }
}

/// Runs the bench with `binary` as the daemon (normally the current executable).
pub async fn run(
    binary: PathBuf,
    messages: usize,
    database_url: Option<String>,
) -> Result<BenchReport, BenchError> {
    let mut d = Running::start(&binary, database_url, "", "").await?;
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
    d.sim.receive_pdus(&pdus);
    let mut drained_secs = None;
    let mut filed_secs = None;
    let mut first_ack_secs = None;
    let deadline = Duration::from_secs(600);
    loop {
        if drained_secs.is_none() {
            let drained: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
                .fetch_one(&d.store)
                .await
                .map_err(crate::store::StoreError::from)?;
            if drained as usize >= messages {
                drained_secs = Some(start.elapsed().as_secs_f64());
            }
        }
        let filed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appeals")
            .fetch_one(&d.store)
            .await
            .map_err(crate::store::StoreError::from)?;
        if filed_secs.is_none() && filed as usize >= messages {
            filed_secs = Some(start.elapsed().as_secs_f64());
        }
        let acked = d.sim.sent_texts().len();
        if first_ack_secs.is_none() && acked > 0 {
            first_ack_secs = Some(start.elapsed().as_secs_f64());
        }
        if filed_secs.is_some() && acked >= messages {
            break;
        }
        d.check(start, deadline, format!("{filed} filed"))?;
        tokio::time::sleep(Duration::from_millis(if drained_secs.is_none() {
            5
        } else {
            20
        }))
        .await;
    }
    let acked_secs = start.elapsed().as_secs_f64();
    let backend = d.backend.clone();
    let peak = d.finish().await?;
    Ok(BenchReport {
        messages,
        backend,
        drained_secs: drained_secs.unwrap_or(acked_secs),
        filed_secs: filed_secs.unwrap_or(acked_secs),
        acked_secs,
        first_ack_secs: first_ack_secs.unwrap_or(0.0),
        peak_rss_kib: peak,
    })
}

/// What `bench --broadcast` measured: one broadcast to N subscribers, from the row the web
/// page would write to the last text on the simulated network (queued by the scheduler, sent
/// by the one modem's sender, each result committed before the next text).
#[derive(Debug, Clone)]
pub struct BroadcastReport {
    pub texts: usize,
    pub backend: String,
    /// When the first text reached the network (the scheduler's tick, then the queueing).
    pub first_secs: f64,
    pub last_secs: f64,
    pub peak_rss_kib: Option<u64>,
}

impl BroadcastReport {
    /// Texts sent a second, from the first to the last (the sender alone).
    pub fn send_rate(&self) -> f64 {
        self.texts as f64 / (self.last_secs - self.first_secs).max(1e-3)
    }
}

impl std::fmt::Display for BroadcastReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "backend:            {}", self.backend)?;
        writeln!(f, "subscribers:        {}", self.texts)?;
        writeln!(
            f,
            "first text:         {:.2} s after the broadcast",
            self.first_secs
        )?;
        writeln!(
            f,
            "all texted:         {:.2} s after the first  ({:.0} texts/s sent)",
            self.last_secs - self.first_secs,
            self.send_rate()
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

/// Runs one broadcast to `texts` subscribers with `binary` as the daemon. The harness writes
/// the subscribers and the broadcast row itself, as the API would (the schema of migration
/// 0012), so an older daemon can be measured too.
pub async fn run_broadcast(
    binary: PathBuf,
    texts: usize,
    database_url: Option<String>,
) -> Result<BroadcastReport, BenchError> {
    // No quiet hours, whatever the hour; the scheduler looks for broadcasts every second.
    let mut d = Running::start(
        &binary,
        database_url,
        "quiet_hours = \"00:00-00:00\"\n",
        "\n[scheduler]\ninterval_secs = 1\n",
    )
    .await?;
    let db = |e: sqlx::Error| BenchError::Store(e.into());
    // Literal values (numbers and a fixed text) keep the SQL the same on both backends.
    let phones: Vec<String> = (0..texts)
        .map(|i| format!("('1380{i:07}', 'V1', 0)"))
        .collect();
    let mut tx = d.store.begin().await.map_err(db)?;
    for chunk in phones.chunks(500) {
        sqlx::query(&format!(
            "INSERT INTO subscriptions (phone, village, since) VALUES {}",
            chunk.join(", ")
        ))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    let now = crate::clock::Clock::System.now().timestamp_millis();
    sqlx::query(&format!(
        "INSERT INTO broadcasts (village, text, created_by, created_at, total) VALUES ('V1', \
         '【村务公开】本月村民大会定于15日上午9点在村委会召开，请各户派代表参加。退订回R', 'bench', {now}, {texts})"
    ))
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let start = Instant::now();
    tx.commit().await.map_err(db)?;
    let mut first_secs = None;
    let deadline = Duration::from_secs(600);
    loop {
        let sent = d.sim.sent_texts().len();
        if first_secs.is_none() && sent > 0 {
            first_secs = Some(start.elapsed().as_secs_f64());
        }
        if sent >= texts {
            break;
        }
        d.check(start, deadline, format!("{sent} of {texts} texted"))?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let last_secs = start.elapsed().as_secs_f64();
    let backend = d.backend.clone();
    let peak = d.finish().await?;
    Ok(BroadcastReport {
        texts,
        backend,
        first_secs: first_secs.unwrap_or(last_secs),
        last_secs,
        peak_rss_kib: peak,
    })
}

/// `bench --broadcast --against OLD`: the two daemons alternate (old, new, ...); the send
/// rates as medians with every run, and the ratio.
pub async fn paired_broadcast(
    old: PathBuf,
    new: PathBuf,
    texts: usize,
    database_url: Option<String>,
    pairs: usize,
) -> Result<String, BenchError> {
    let (mut o, mut n) = (Vec::new(), Vec::new());
    for _ in 0..pairs.max(1) {
        o.push(run_broadcast(old.clone(), texts, database_url.clone()).await?);
        n.push(run_broadcast(new.clone(), texts, database_url.clone()).await?);
    }
    let rate = BroadcastReport::send_rate;
    let ((om, ot), (nm, nt)) = (median_cell(&o, rate), median_cell(&n, rate));
    let backend = n.first().map_or("?", |r| r.backend.as_str());
    Ok(format!(
        "paired broadcast: {} pair(s), {texts} subscribers each, {backend}; medians, every run in brackets\n\
         {:<22} {:>28} {:>28} {:>7}\n{:<22} {ot:>28} {nt:>28} {:>6.2}x",
        n.len(),
        "",
        "old",
        "new",
        "new/old",
        "broadcast (texts/s)",
        nm / om
    ))
}

/// A paired run: two daemon binaries under this same harness, alternated (old, new, old,
/// new...) so a machine that gets busier or quieter meanwhile weighs on both alike.
#[derive(Debug, Clone)]
pub struct PairedReport {
    pub old: Vec<BenchReport>,
    pub new: Vec<BenchReport>,
}

pub async fn paired(
    old: PathBuf,
    new: PathBuf,
    messages: usize,
    database_url: Option<String>,
    pairs: usize,
) -> Result<PairedReport, BenchError> {
    let mut report = PairedReport {
        old: Vec::new(),
        new: Vec::new(),
    };
    for _ in 0..pairs.max(1) {
        report
            .old
            .push(run(old.clone(), messages, database_url.clone()).await?);
        report
            .new
            .push(run(new.clone(), messages, database_url.clone()).await?);
    }
    Ok(report)
}

/// One figure of a report.
type Rate = fn(&BenchReport) -> f64;

/// A figure over runs: its median, and the cell "median [each run]" of a paired table.
fn median_cell<T>(runs: &[T], rate: fn(&T) -> f64) -> (f64, String) {
    let all: Vec<f64> = runs.iter().map(rate).collect();
    let each: Vec<String> = all.iter().map(|x| format!("{x:.0}")).collect();
    let mid = median(all);
    (mid, format!("{mid:.0} [{}]", each.join(" ")))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

impl std::fmt::Display for PairedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = self.new.first().map_or("?", |r| r.backend.as_str());
        let messages = self.new.first().map_or(0, |r| r.messages);
        writeln!(
            f,
            "paired run: {} pair(s), {messages} texts each, {backend}; medians, every run in brackets",
            self.new.len()
        )?;
        writeln!(f, "{:<22} {:>28} {:>28} {:>7}", "", "old", "new", "new/old")?;
        let rows: [(&str, Rate); 4] = [
            ("drain (msg/s)", BenchReport::drain_rate),
            ("filing (appeals/s)", BenchReport::filing_rate),
            ("acks (acks/s)", BenchReport::ack_rate),
            ("end to end (appeals/s)", BenchReport::end_to_end_rate),
        ];
        for (name, rate) in rows {
            let (o, ot) = median_cell(&self.old, rate);
            let (n, nt) = median_cell(&self.new, rate);
            writeln!(f, "{name:<22} {ot:>28} {nt:>28} {:>6.2}x", n / o)?;
        }
        let rss = |runs: &[BenchReport]| {
            runs.iter()
                .filter_map(|r| r.peak_rss_kib)
                .max()
                .map_or("unknown".to_string(), |k| {
                    format!("{:.1} MiB", k as f64 / 1024.0)
                })
        };
        write!(
            f,
            "{:<22} {:>28} {:>28}",
            "peak RSS (max)",
            rss(&self.old),
            rss(&self.new)
        )
    }
}
