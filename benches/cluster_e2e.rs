//! End-to-end throughput per backend: appeals filed (and acknowledged) per second by in-process
//! daemons driving zero-latency simulated modems, from the first message arriving to the last
//! acknowledgement on the air. Cases: SQLite with one daemon, PostgreSQL with one daemon, and
//! PostgreSQL with two daemons (two modems, one county database).
//!
//! `cargo bench --bench cluster_e2e` runs all three; `AG_BENCH_CASES=pg2` picks cases
//! (sqlite, pg1, pg2), `AG_BENCH_N=2000` the number of messages per daemon, and
//! `AG_BENCH_PG=postgres://...` the server on which a throw-away database is created
//! (default 127.0.0.1:5432, user postgres).

use std::path::Path;
use std::time::{Duration, Instant};

use appeal_gateway::clock::Clock;
use appeal_gateway::config::Config;
use appeal_gateway::sim::{SimModem, SimOptions};
use appeal_gateway::store::Store;
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

fn config(db_url: &str, name: &str, device: &Path) -> Config {
    let toml = format!(
        r#"
signature = "【双红村】"
quiet_hours = "00:00-00:00"
[database]
url = "{db_url}"
[[modem]]
name = "{name}"
device = "{}"
send_per_minute = 1000000
[web]
listen = "127.0.0.1:0"
[outbox]
per_recipient_per_hour = 1000000
"#,
        device.display()
    );
    Config::parse(&toml, Path::new("bench.toml")).unwrap_or_else(|e| panic!("bench config: {e}"))
}

struct Case {
    label: &'static str,
    postgres: bool,
    daemons: usize,
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.reader())
        .await
        .unwrap_or(0)
}

async fn run_case(case: &Case, n: usize, pg_admin: &str) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg_name = format!("ag_bench_{}_{}", std::process::id(), rand::random::<u32>());
    let url = if case.postgres {
        let mut c = sqlx::PgConnection::connect(pg_admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {pg_admin}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {pg_name}"))
            .execute(&mut c)
            .await
            .expect("create database");
        let base = pg_admin
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(pg_admin);
        format!("{base}/{pg_name}")
    } else {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.sqlite").display()
        )
    };
    // Migrate once before the daemons race to.
    let store = Store::connect(&url, 4).await.expect("connect");
    let token = CancellationToken::new();
    let mut sims = Vec::new();
    let mut joins = Vec::new();
    for d in 0..case.daemons {
        let sim = SimModem::start(SimOptions::default()).await.expect("sim");
        let cfg = config(&url, &format!("m{d}"), &sim.device_path());
        let t = token.clone();
        joins.push(tokio::spawn(async move {
            appeal_gateway::daemon::run(cfg, Clock::System, t)
                .await
                .expect("daemon");
        }));
        sims.push(sim);
    }
    // Ready modems: one message each, filed and acknowledged, before the clock starts.
    for (d, sim) in sims.iter().enumerate() {
        sim.receive_sms(&format!("1300000{d:04}"), "warm-up");
    }
    let total = case.daemons as i64;
    while count(
        &store,
        "SELECT COUNT(*) FROM outbox WHERE state IN ('sent','delivered')",
    )
    .await
        < total
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    for (d, sim) in sims.iter().enumerate() {
        for i in 0..n {
            sim.receive_sms(
                &format!("13{d}{:08}", i % 500),
                &format!("第{i}号：村口路灯坏了，请尽快修理"),
            );
        }
    }
    let want = total + (n * case.daemons) as i64;
    loop {
        let sent = count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE state IN ('sent','delivered')",
        )
        .await;
        if sent >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let filed = count(&store, "SELECT COUNT(*) FROM appeals").await;
    assert_eq!(filed, want, "every message filed once");
    token.cancel();
    for j in joins {
        let _ = j.await;
    }
    store.close().await;
    if case.postgres {
        if let Ok(mut c) = sqlx::PgConnection::connect(pg_admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
                .execute(&mut c)
                .await;
        }
    }
    (n * case.daemons) as f64 / secs
}

fn main() {
    // `cargo test --benches` runs bench binaries with no `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("AG_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let pg_admin = std::env::var("AG_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let wanted = std::env::var("AG_BENCH_CASES").unwrap_or_else(|_| "sqlite,pg1,pg2".into());
    let cases = [
        Case {
            label: "sqlite",
            postgres: false,
            daemons: 1,
        },
        Case {
            label: "pg1",
            postgres: true,
            daemons: 1,
        },
        Case {
            label: "pg2",
            postgres: true,
            daemons: 2,
        },
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for case in cases
        .iter()
        .filter(|c| wanted.split(',').any(|w| w.trim() == c.label))
    {
        let rate = rt.block_on(run_case(case, n, &pg_admin));
        println!(
            "e2e {:<7} daemons={} messages={:<6} {:>8.1} appeals filed and acknowledged per second",
            case.label,
            case.daemons,
            n * case.daemons,
            rate
        );
    }
}
