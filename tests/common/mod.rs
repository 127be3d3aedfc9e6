//! Test harness: a database per test (a SQLite file, or a fresh PostgreSQL database on the
//! machine's server), the simulated modem on a real pseudo-terminal, and the daemon either
//! in-process or as a child process (for kill -9).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use appeal_gateway::appeals::{list_appeals, Appeal, AppealFilter};
use appeal_gateway::clock::Clock;
use appeal_gateway::config::Config;
use appeal_gateway::intake::normalize;
use appeal_gateway::sim::{SimModem, SimOptions};
use appeal_gateway::store::Store;
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

pub mod voice;

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A private database that goes away with the value.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("test.sqlite").display()
                ),
                backend,
                pg_name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let name = format!("ag_test_{}_{}", std::process::id(), rand::random::<u32>());
                let mut c = match sqlx::PgConnection::connect(PG_ADMIN).await {
                    Ok(c) => c,
                    // CI must not pass by skipping: PostgreSQL is part of the test environment.
                    Err(e) => panic!("PostgreSQL at {PG_ADMIN} is required for this test: {e}"),
                };
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await
                    .expect("create database");
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    backend,
                    pg_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }

    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url, 4).await.expect("connect store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async; a short-lived thread with its own runtime does the cleanup.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(PG_ADMIN).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A config for one simulated modem; `extra` is appended (more sections).
pub fn config_toml(db_url: &str, device: &Path, extra: &str) -> String {
    format!(
        r#"
signature = "【双红村】"
quiet_hours = "00:00-00:00"

[database]
url = "{db_url}"

[[modem]]
name = "m1"
device = "{}"
command_timeout_secs = 3
sweep_interval_secs = 5
health_interval_secs = 30
send_per_minute = 100000
init_timeout_secs = 10

[web]
listen = "127.0.0.1:0"

{audit}
[outbox]
per_recipient_per_hour = 10000
retry_base_secs = 1
retry_max_secs = 2
max_attempts = 4
{extra}
"#,
        device.display(),
        audit = audit_section(device),
    )
}

/// The audit key every harness config carries, so a test process can verify chains written
/// by daemon processes.
pub const TEST_AUDIT_KEY: &str = "appeal-gateway-test-audit-key-0123456789abcdef";

/// `[audit]` with [`TEST_AUDIT_KEY`] and the head file beside the simulated modem's device (a
/// per-test folder), so no test writes a key or head file into the working directory.
pub fn audit_section(device: &Path) -> String {
    format!(
        "[audit]\nkey = \"{TEST_AUDIT_KEY}\"\nhead_file = \"{}.audit-head\"\n",
        device.display()
    )
}

pub fn parse_config(toml: &str) -> Config {
    Config::parse(toml, Path::new("test.toml"))
        .unwrap_or_else(|e| panic!("test config invalid:\n{e}"))
}

/// The daemon running inside the test process.
pub struct InProcess {
    pub token: CancellationToken,
    join: tokio::task::JoinHandle<()>,
}

impl InProcess {
    pub fn start(config: Config, clock: Clock) -> InProcess {
        let token = CancellationToken::new();
        let t = token.clone();
        let join = tokio::spawn(async move {
            appeal_gateway::daemon::run(config, clock, t)
                .await
                .expect("daemon failed");
        });
        InProcess { token, join }
    }

    pub async fn stop(self) {
        self.token.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.join)
            .await
            .expect("daemon stops within 20 s")
            .expect("daemon task");
    }
}

/// The daemon in-process with the default test config on `db` and `sim`, and a store of its
/// database for the test's own checks.
pub async fn gateway(db: &TestDb, sim: &SimModem) -> (InProcess, Store) {
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        Clock::System,
    );
    (daemon, db.store().await)
}

/// A free TCP port on the loopback interface (another process may take it before it is
/// bound; the tests that use it bind at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Every appeal in the store, newest first.
pub async fn all_appeals(store: &Store) -> Vec<Appeal> {
    list_appeals(
        store,
        &AppealFilter {
            limit: 100_000,
            ..Default::default()
        },
    )
    .await
    .expect("list appeals")
}

/// A workload's text `i` into the SIM: every fourth as a long message whose parts arrive out of
/// order (one order with a part repeated, as a network retry does), the others as one SMS.
pub fn deliver(sim: &SimModem, i: usize, phone: &str, text: &str) {
    if i % 4 == 2 {
        let orders: [&[usize]; 3] = [&[2, 0, 1], &[1, 2, 0], &[0, 2, 1, 2]];
        sim.receive_parts(phone, text, orders[i / 4 % 3]);
    } else {
        sim.receive_sms(phone, text);
    }
}

/// Checks that every expected (phone, text) was filed exactly once (the text as normalised),
/// with unique, well-formed numbers and no extra appeals; returns the appeal of each.
pub fn filed_once<'a>(
    appeals: &'a [Appeal],
    expected: &[(String, String)],
) -> HashMap<(String, String), &'a Appeal> {
    let numbers: HashSet<&str> = appeals.iter().map(|a| a.number.as_str()).collect();
    assert_eq!(numbers.len(), appeals.len(), "appeal numbers are unique");
    let mut seen: HashMap<(String, String), Vec<&Appeal>> = HashMap::new();
    for a in appeals {
        assert!(
            a.number.len() >= 11 && a.number.bytes().all(|b| b.is_ascii_digit()),
            "number {}",
            a.number
        );
        seen.entry((a.phone.clone(), a.text.clone()))
            .or_default()
            .push(a);
    }
    let mut out = HashMap::new();
    for (phone, text) in expected {
        let key = (phone.clone(), normalize(text));
        let filed = seen.get(&key).cloned().unwrap_or_default();
        assert_eq!(filed.len(), 1, "filed exactly once: {key:?}");
        out.insert(key, filed[0]);
    }
    assert_eq!(appeals.len(), expected.len(), "no extra appeals");
    out
}

/// Polls `f` until it returns Some, or panics after `secs` with `what`.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.reader())
        .await
        .expect(sql)
}

pub async fn start_sim() -> SimModem {
    SimModem::start(SimOptions::default())
        .await
        .expect("simulated modem")
}

pub fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' | 'a'..='z' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap(),
            other => other,
        })
        .collect()
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_appeal-gateway"))
}

/// Runs the `appeal-gateway` binary as a child (for kill -9).
pub struct Child {
    pub child: std::process::Child,
}

impl Child {
    pub fn run(config_path: &Path) -> Child {
        let child = std::process::Command::new(bin())
            .args(["run", "--config"])
            .arg(config_path)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn daemon");
        Child { child }
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Declares a test for each backend: `name_sqlite` and `name_postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(common::Backend::Postgres).await;
            }
        }
    };
}

/// Waits until at least `n` appeals are filed.
pub async fn wait_appeals(store: &Store, n: i64, secs: u64) {
    wait_for(secs, &format!("{n} appeals filed"), || async {
        (count(store, "SELECT COUNT(*) FROM appeals").await >= n).then_some(())
    })
    .await;
}

/// Waits until the network has received at least `n` whole texts from the gateway.
pub async fn wait_sent(sim: &SimModem, n: usize, secs: u64) {
    wait_for(secs, &format!("{n} texts sent"), || async {
        (sim.sent_texts().len() >= n).then_some(())
    })
    .await;
}

/// The village the workflow tests run in: one village on modem m1, a fallback cadre (张), a
/// cadre with a PIN for 政务服务 (王), the town office and the discipline inspector.
pub const VILLAGE_DIRECTORY: &str = r#"
[[village]]
code = "SH01"
name = "双红村"
town = "红星镇"
signature = "【双红村】"
modems = ["m1"]

[[cadre]]
name = "张书记"
phone = "13900000001"
role = "village_cadre"
village = "SH01"

[[cadre]]
name = "王委员"
phone = "13900000003"
role = "village_cadre"
village = "SH01"
categories = ["政务服务"]
pin = "2468"

[[cadre]]
name = "红星镇办"
phone = "13900000010"
role = "town_office"
town = "红星镇"

[[cadre]]
name = "赵纪检"
phone = "13900000020"
role = "inspector"
town = "红星镇"
"#;

/// A one-modem config whose `directory` is [`VILLAGE_DIRECTORY`], written beside the database.
pub fn config_with_directory(db: &TestDb, sim: &SimModem) -> String {
    let dir_path = db.dir().join("directory.toml");
    std::fs::write(&dir_path, VILLAGE_DIRECTORY).expect("write directory");
    format!(
        "directory = \"{}\"\n{}",
        dir_path.display(),
        config_toml(&db.url, &sim.device_path(), "")
    )
}
