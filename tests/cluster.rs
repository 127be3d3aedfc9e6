//! Several daemons on one database: the county's set-up. Two daemon processes, each with its own
//! simulated modem, share one PostgreSQL: every appeal is filed once with a unique number and
//! acknowledged once through the modem that received it; one daemon leads the scheduled work and
//! the other takes over when it dies; a PostgreSQL stopped for 30 s mid-run loses nothing and
//! files nothing twice (on a private server the test starts itself). The outbox claim and the
//! pool rule are also checked directly on both backends.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use appeal_gateway::appeals::events::verify;
use appeal_gateway::appeals::Appeal;
use appeal_gateway::config::audit_key::AuditKey;
use appeal_gateway::intake::normalize;
use appeal_gateway::outbox::{claim_next, enqueue, NewSms};
use appeal_gateway::sim::SimModem;
use appeal_gateway::store::leader::{current, SCHEDULER};
use appeal_gateway::store::Store;
use common::*;

/// A daemon process with its own modem name, web port and log file.
struct Daemon {
    child: Option<std::process::Child>,
    pub name: String,
    pub port: u16,
    log: PathBuf,
}

const TOKEN: &str = "cluster-test-token-0123456789";

impl Daemon {
    fn start(dir: &Path, db_url: &str, name: &str, sim: &SimModem) -> Daemon {
        Daemon::start_with(dir, db_url, name, sim, "", "")
    }

    /// `top` goes among the top-level keys, `sections` at the end.
    fn start_with(
        dir: &Path,
        db_url: &str,
        name: &str,
        sim: &SimModem,
        top: &str,
        sections: &str,
    ) -> Daemon {
        let port = free_port();
        // The status page wants a session or a token; the test reads it with a token.
        let api = format!("[api]\ntokens = [\"{TOKEN}\"]\n{sections}");
        let toml = config_toml(db_url, &sim.device_path(), &api)
            .replace(
                "quiet_hours = \"00:00-00:00\"",
                &format!("quiet_hours = \"00:00-00:00\"\n{top}"),
            )
            .replace("name = \"m1\"", &format!("name = \"{name}\""))
            .replace(
                "listen = \"127.0.0.1:0\"",
                &format!("listen = \"127.0.0.1:{port}\""),
            );
        let cfg = dir.join(format!("{name}.toml"));
        std::fs::write(&cfg, toml).expect("write config");
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = std::process::Command::new(bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .env("RUST_LOG", "info,sqlx=error,warp=warn")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("spawn daemon");
        Daemon {
            child: Some(child),
            name: name.to_string(),
            port,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` on the daemon's web port: (status code, body).
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(15))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let code = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        Some((code, body))
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait: the daemon's orderly shutdown.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `n` messages for the modem called `name`: its own phones (so each ack's route is known),
/// a quarter of them three-part texts delivered out of order.
fn workload(name: &str, prefix: &str, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let phone = format!("{prefix}{:05}", i % 100);
            let text = if i % 4 == 2 {
                format!(
                    "{name}站第{i}号长诉求：{}",
                    "河边垃圾堆了好几天没人收，气味很大，希望村里尽快安排人清理。".repeat(4)
                )
            } else {
                format!("{name}站第{i}号：村口路灯坏了")
            };
            (phone, text)
        })
        .collect()
}

/// Every expected text filed exactly once by the daemon of its modem, numbers unique.
fn check_filed_once(appeals: &[Appeal], expected: &[(&str, Vec<(String, String)>)]) {
    let all: Vec<(String, String)> = expected.iter().flat_map(|(_, w)| w.clone()).collect();
    let filed = filed_once(appeals, &all);
    for (modem, work) in expected {
        for (phone, text) in work {
            let a = filed[&(phone.clone(), normalize(text))];
            assert_eq!(a.modem.as_deref(), Some(*modem), "filed for its modem");
        }
    }
}

/// Each appeal acknowledged exactly once, by the modem that received it, and nothing else sent.
fn check_acks(appeals: &[Appeal], sims: &[(&str, &SimModem)]) {
    let mut sent_by: HashMap<String, Vec<&str>> = HashMap::new();
    let mut total = 0;
    for (name, sim) in sims {
        for (to, text) in sim.sent_texts() {
            total += 1;
            sent_by
                .entry(format!("{to}|{text}"))
                .or_default()
                .push(name);
        }
    }
    for a in appeals {
        let ack = format!(
            "{}|【双红村】您的诉求已收到，编号{}，回复CX{}查询进度。",
            a.phone, a.number, a.number
        );
        let via = sent_by.get(&ack).cloned().unwrap_or_default();
        assert_eq!(via.len(), 1, "one acknowledgement for {}", a.number);
        assert_eq!(
            Some(via[0]),
            a.modem.as_deref(),
            "sent by the receiving modem"
        );
    }
    assert_eq!(total, appeals.len(), "nothing but acknowledgements sent");
}

/// The whole chain, checked with the harness's audit key (the daemons' own): returns the
/// number of events, every one of them keyed.
async fn verify_keyed(store: &Store) -> u64 {
    let key = AuditKey::new(TEST_AUDIT_KEY.as_bytes()).expect("test key");
    let v = verify(store, Some(&key), None)
        .await
        .expect("read chain")
        .expect("chain intact");
    assert_eq!(v.keyed, v.checked, "every event keyed");
    v.checked
}

async fn sent_total(sims: &[&SimModem]) -> usize {
    sims.iter().map(|s| s.sent_texts().len()).sum()
}

/// Acceptance: two daemon processes, each with its own simulated modem, on one PostgreSQL;
/// 1,000 appeals arriving on both at once are all filed once with unique numbers, and every
/// acknowledgement is sent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_file_a_thousand_appeals_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let (sim_a, sim_b) = (start_sim().await, start_sim().await);
    let mut a = Daemon::start(db.dir(), &db.url, "a", &sim_a);
    let mut b = Daemon::start(db.dir(), &db.url, "b", &sim_b);
    let store = db.store().await;
    let work_a = workload("a", "138", 500);
    let work_b = workload("b", "139", 500);
    let feed = |sim: SimModem, work: Vec<(String, String)>| {
        tokio::spawn(async move {
            for (i, (p, t)) in work.iter().enumerate() {
                deliver(&sim, i, p, t);
                if i % 50 == 49 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let fa = feed(sim_a.clone(), work_a.clone());
    let fb = feed(sim_b.clone(), work_b.clone());
    fa.await.unwrap();
    fb.await.unwrap();
    wait_for(150, "1,000 appeals", || async {
        (count(&store, "SELECT COUNT(*) FROM appeals").await >= 1000).then_some(())
    })
    .await;
    wait_for(90, "1,000 acknowledgements", || async {
        (sent_total(&[&sim_a, &sim_b]).await >= 1000).then_some(())
    })
    .await;
    wait_for(30, "every row marked sent", || async {
        (count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE state IN ('sent', 'delivered')",
        )
        .await
            == 1000)
            .then_some(())
    })
    .await;
    // Anything sent twice would show up now as well.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let appeals = all_appeals(&store).await;
    check_filed_once(&appeals, &[("a", work_a), ("b", work_b)]);
    check_acks(&appeals, &[("a", &sim_a), ("b", &sim_b)]);
    // Each row went through the modem it names, claimed by that modem's daemon.
    let misrouted = count(
        &store,
        "SELECT COUNT(*) FROM outbox o JOIN appeals p ON p.id = o.appeal_id \
         WHERE o.sent_by IS DISTINCT FROM p.modem OR o.modem IS DISTINCT FROM p.modem",
    )
    .await;
    assert_eq!(misrouted, 0, "rows sent only through their own modem");
    let claimers = count(&store, "SELECT COUNT(DISTINCT claimed_by) FROM outbox").await;
    assert_eq!(claimers, 2, "each daemon claimed its own rows");
    // Filings from two processes interleaved in one hash chain, which must still verify.
    let checked = verify_keyed(&store).await;
    assert!(checked >= 1000, "{checked} events checked");
    wait_for(30, "both SIMs emptied", || async {
        (sim_a.stored_count() == 0 && sim_b.stored_count() == 0).then_some(())
    })
    .await;
    a.stop();
    b.stop();
}

async fn leader_of(store: &Store) -> Option<String> {
    current(store, SCHEDULER)
        .await
        .ok()
        .flatten()
        .map(|r| r.daemon_id)
}

/// Acceptance (leadership part): one of two daemons leads the scheduled work; kill -9 it and
/// the other takes over within a minute, which its status page shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_daemon_takes_over_when_the_leader_dies() {
    let db = TestDb::new(Backend::Postgres).await;
    let (sim_a, sim_b) = (start_sim().await, start_sim().await);
    let a = Daemon::start(db.dir(), &db.url, "a", &sim_a);
    let b = Daemon::start(db.dir(), &db.url, "b", &sim_b);
    let store = db.store().await;
    let first = wait_for(60, "a leader", || leader_of(&store)).await;
    let (mut leader, follower) = if first.ends_with(":a") {
        (a, b)
    } else {
        (b, a)
    };
    assert!(first.ends_with(&format!(":{}", leader.name)), "{first}");
    // Only one leads: the follower's page says someone else does the scheduled work.
    let page = wait_for(30, "the follower's status page", || async {
        follower.get("/").filter(|(c, _)| *c == 200)
    })
    .await
    .1;
    assert!(page.contains("由其他网关负责"), "follower page: {page}");
    let beat = current(&store, SCHEDULER).await.unwrap().unwrap();
    wait_for(20, "a heartbeat from the leader", || async {
        let now = current(&store, SCHEDULER).await.ok().flatten()?;
        (now.heartbeat_at > beat.heartbeat_at && now.daemon_id == first).then_some(())
    })
    .await;

    leader.kill9();
    let killed = std::time::Instant::now();
    let next = wait_for(60, "the follower to take over", || async {
        leader_of(&store).await.filter(|id| *id != first)
    })
    .await;
    assert!(
        killed.elapsed() < Duration::from_secs(60),
        "taken over within a minute"
    );
    assert!(next.ends_with(&format!(":{}", follower.name)), "{next}");
    let page = wait_for(30, "the new leader's page", || async {
        follower
            .get("/")
            .filter(|(_, body)| body.contains("本网关负责"))
    })
    .await;
    assert_eq!(page.0, 200);
    assert!(follower
        .log()
        .contains("this daemon now leads the scheduled work"));
}

/// Acceptance: PostgreSQL stopped for 30 s mid-run and started again: nothing lost, nothing
/// filed twice, acknowledgements sent once; the daemons report the fault while it lasts and
/// resume by themselves. On a private server, never the shared one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thirty_second_database_outage_loses_nothing() {
    let pg = tokio::task::spawn_blocking(pg::PrivatePg::start)
        .await
        .expect("private PostgreSQL");
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let (sim_a, sim_b) = (start_sim().await, start_sim().await);
    let mut a = Daemon::start(dir.path(), &url, "a", &sim_a);
    let mut b = Daemon::start(dir.path(), &url, "b", &sim_b);
    let work_a = workload("a", "136", 120);
    let work_b = workload("b", "137", 120);
    let store = Store::connect(&url, 2).await.expect("connect");
    for (i, (p, t)) in work_a[..40].iter().enumerate() {
        deliver(&sim_a, i, p, t);
    }
    for (i, (p, t)) in work_b[..40].iter().enumerate() {
        deliver(&sim_b, i, p, t);
    }
    wait_for(60, "the first 80 filed", || async {
        (count(&store, "SELECT COUNT(*) FROM appeals").await >= 80).then_some(())
    })
    .await;
    store.close().await;

    // Down, with traffic still arriving: the SIMs fill (30 slots) and the network holds the rest.
    let pg_down = tokio::task::spawn_blocking(move || {
        pg.stop_server();
        pg
    })
    .await
    .unwrap();
    let down_at = std::time::Instant::now();
    for i in 40..120 {
        deliver(&sim_a, i, &work_a[i].0, &work_a[i].1);
        deliver(&sim_b, i, &work_b[i].0, &work_b[i].1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for d in [&a, &b] {
        let (code, body) = wait_for(25, "/healthz to report the lost database", || async {
            d.get("/healthz").filter(|(c, _)| *c == 503)
        })
        .await;
        assert_eq!(code, 503);
        assert!(body.starts_with("degraded: database unavailable"), "{body}");
    }
    assert!(
        sim_a.stored_count() > 0 && sim_b.stored_count() > 0,
        "messages wait on the SIMs while the database is away"
    );
    let page = wait_for(20, "status page while down", || async { a.get("/") }).await;
    assert!(page.1.contains("数据库：不可用"), "status page: {}", page.1);
    let remaining = Duration::from_secs(30).saturating_sub(down_at.elapsed());
    tokio::time::sleep(remaining).await;
    let pg = tokio::task::spawn_blocking(move || {
        pg_down.start_server();
        pg_down
    })
    .await
    .unwrap();

    let store = Store::connect(&url, 2).await.expect("reconnect");
    wait_for(120, "all 240 filed after the outage", || async {
        (count(&store, "SELECT COUNT(*) FROM appeals").await >= 240).then_some(())
    })
    .await;
    wait_for(60, "240 acknowledgements", || async {
        (sent_total(&[&sim_a, &sim_b]).await >= 240).then_some(())
    })
    .await;
    wait_for(60, "the SIMs emptied", || async {
        (sim_a.stored_count() == 0 && sim_b.stored_count() == 0).then_some(())
    })
    .await;
    wait_for(30, "every row marked sent", || async {
        (count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE state IN ('sent', 'delivered')",
        )
        .await
            == 240)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let appeals = all_appeals(&store).await;
    check_filed_once(&appeals, &[("a", work_a), ("b", work_b)]);
    check_acks(&appeals, &[("a", &sim_a), ("b", &sim_b)]);
    verify_keyed(&store).await;
    for d in [&a, &b] {
        wait_for(30, "/healthz ok again", || async {
            d.get("/healthz").filter(|(c, _)| *c == 200)
        })
        .await;
        let log = d.log();
        assert!(log.contains("database lost"), "{} log:\n{log}", d.name);
        assert!(log.contains("database back"), "{} log:\n{log}", d.name);
        assert!(
            log.contains("left on the SIM"),
            "{}: the modem kept what it could not store:\n{log}",
            d.name
        );
        assert!(!log.contains("panicked"), "{} log:\n{log}", d.name);
    }
    // Leadership came back with the database.
    wait_for(30, "a leader again", || async {
        let r = current(&store, SCHEDULER).await.ok().flatten()?;
        (appeal_gateway::clock::Clock::System.now() - r.heartbeat_at
            < chrono::Duration::seconds(20))
        .then_some(())
    })
    .await;
    store.close().await;
    a.stop();
    b.stop();
    drop(pg);
}

async fn queue(store: &Store, modem: Option<&str>, n: usize) {
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..n {
        enqueue(
            store,
            &mut tx,
            NewSms {
                recipient: &format!("1350000{i:04}"),
                text: "test",
                kind: "ack",
                appeal_id: None,
                modem,
                not_before: appeal_gateway::clock::Clock::System.now()
                    - chrono::Duration::seconds(1),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The pool rule: without pooling a modem sends only rows naming it (or no modem); with
/// pooling it also sends rows of other daemons' modems.
async fn pool_rule(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    queue(&store, Some("b"), 3).await;
    queue(&store, Some("a"), 2).await;
    queue(&store, None, 1).await;
    let now = appeal_gateway::clock::Clock::System.now();
    let mut claimed_by_a = Vec::new();
    while let Some(c) = claim_next(&store, "a", "host:a", false, now).await.unwrap() {
        claimed_by_a.push(c.id);
    }
    assert_eq!(
        claimed_by_a.len(),
        3,
        "a's two rows and the unaddressed one"
    );
    let foreign = count(
        &store,
        "SELECT COUNT(*) FROM outbox WHERE claimed_by = 'host:a' AND modem = 'b'",
    )
    .await;
    assert_eq!(foreign, 0, "b's rows are not a's to send");
    // With pooling on, a takes b's rows too.
    let mut pooled = 0;
    while claim_next(&store, "a", "host:a", true, now)
        .await
        .unwrap()
        .is_some()
    {
        pooled += 1;
    }
    assert_eq!(pooled, 3);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'").await,
        0
    );
}
both_backends!(only_the_named_modem_sends_unless_pooled, pool_rule);

/// Eight claimers racing over 300 rows (SKIP LOCKED on PostgreSQL, the single writer on
/// SQLite): every row is claimed exactly once.
async fn racing_claimers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    queue(&store, None, 300).await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let me = format!("host:w{w}");
            let mut got = Vec::new();
            while let Some(c) = claim_next(
                &store,
                &format!("w{w}"),
                &me,
                false,
                appeal_gateway::clock::Clock::System.now(),
            )
            .await
            .expect("claim")
            {
                got.push(c.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "every row claimed");
    assert_eq!(distinct.len(), 300, "no row claimed twice");
}
both_backends!(each_row_claimed_once_under_contention, racing_claimers);

/// A lone daemon leads (SQLite always; PostgreSQL by taking the free lock) and says so in the
/// `leaders` row.
async fn lone_leader(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        appeal_gateway::clock::Clock::System,
    );
    let store = db.store().await;
    let id = wait_for(30, "the leaders row", || leader_of(&store)).await;
    assert!(id.ends_with(":m1"), "daemon id names its modem: {id}");
    let row = current(&store, SCHEDULER).await.unwrap().unwrap();
    assert!(row.heartbeat_at >= row.since);
    daemon.stop().await;
}
both_backends!(a_lone_daemon_leads_and_records_it, lone_leader);

/// Kill the leader: the other daemon runs the next scheduled reminder within a minute. A yellow
/// appeal with a one-minute response limit is filed through the follower's modem; its reminder
/// falls due 30 s later, after the leader is gone, and only the new leader can send it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_reminder_runs_on_the_other_daemon_after_the_leader_dies() {
    let db = TestDb::new(Backend::Postgres).await;
    let directory = db.dir().join("directory.toml");
    std::fs::write(
        &directory,
        r#"
[[village]]
code = "SH01"
name = "双红村"
town = "红星镇"
signature = "【双红村】"
modems = ["a", "b"]

[[cadre]]
name = "张书记"
phone = "13900000001"
role = "village_cadre"
village = "SH01"
"#,
    )
    .unwrap();
    let top = format!("directory = \"{}\"", directory.display());
    let sections = "[colours.yellow]\nrespond_mins = 1\nresolve_hours = 72\n\n[scheduler]\ninterval_secs = 1\nremind_before_mins = 1\n";
    let (sim_a, sim_b) = (start_sim().await, start_sim().await);
    let a = Daemon::start_with(db.dir(), &db.url, "a", &sim_a, &top, sections);
    let b = Daemon::start_with(db.dir(), &db.url, "b", &sim_b, &top, sections);
    let store = db.store().await;
    let first = wait_for(60, "a leader", || async { leader_of(&store).await }).await;
    let (mut leader, follower, follower_sim) = if first.ends_with(":a") {
        (a, b, &sim_b)
    } else {
        (b, a, &sim_a)
    };
    follower_sim.receive_sms("13812345678", "玉米被风吹倒了，农业保险能赔吗");
    let number: String = wait_for(30, "the appeal filed", || async {
        sqlx::query_scalar::<_, String>("SELECT number FROM appeals")
            .fetch_optional(store.reader())
            .await
            .ok()
            .flatten()
    })
    .await;
    let colour: String = sqlx::query_scalar("SELECT colour FROM appeals")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(colour, "yellow");
    // The leader dies before the reminder is due (30 s after filing).
    leader.kill9();
    let killed = std::time::Instant::now();
    let reminder = wait_for(60, "the reminder from the new leader", || async {
        follower_sim
            .sent_texts()
            .into_iter()
            .find(|(to, t)| to == "13900000001" && t.starts_with("【提醒") && t.contains(&number))
    })
    .await;
    assert!(
        killed.elapsed() < Duration::from_secs(60),
        "within a minute of the kill"
    );
    assert!(
        reminder.1.contains(&format!("JS{number}")),
        "{}",
        reminder.1
    );
    let by = leader_of(&store).await.unwrap_or_default();
    assert!(by.ends_with(&format!(":{}", follower.name)), "{by}");
    // Recorded once, sent once.
    let logged: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM schedule_log WHERE kind LIKE 'remind%'")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!(logged, 1);
    assert_eq!(
        follower_sim
            .sent_texts()
            .iter()
            .filter(|(_, t)| t.starts_with("【提醒"))
            .count(),
        1
    );
}

const LOCK_ORDER_DIRECTORY: &str = r#"
[[village]]
code = "VA"
name = "甲村"
town = "红星镇"
signature = "【甲村】"
modems = ["a"]

[[village]]
code = "VB"
name = "乙村"
town = "红星镇"
signature = "【乙村】"
modems = ["b"]

[[cadre]]
name = "甲书记"
phone = "13900000001"
role = "village_cadre"
village = "VA"

[[cadre]]
name = "乙书记"
phone = "13900000002"
role = "village_cadre"
village = "VB"
"#;

/// Commits `msgs` (phone, text) to `modem`'s inbox at once, as a sweep of a full SIM would:
/// the daemon's intake then files them in multi-text transactions.
async fn inject(store: &Store, modem: &str, msgs: &[(String, String)]) {
    let scts = appeal_gateway::clock::Clock::System
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    let pdus: Vec<String> = msgs
        .iter()
        .flat_map(|(p, t)| appeal_gateway::pdu::encode_deliver(p, t, scts, 0))
        .collect();
    let refs: Vec<&str> = pdus.iter().map(String::as_str).collect();
    let stored = appeal_gateway::inbox::store_raw_batch(
        store,
        modem,
        &refs,
        appeal_gateway::clock::Clock::System.now(),
    )
    .await
    .expect("inbox rows");
    assert_eq!(stored, msgs.len());
}

/// Issue 9, item 9: filings take the day counter and then the chain lock, commands take the
/// chain lock (and the appeal row) without the day counter; an intake batch holding a command's
/// chain lock that then files, against another daemon's batch that filed first, deadlocks on
/// PostgreSQL unless every intake transaction takes the locks in one order. Two daemons get
/// cadre commands and new filings interleaved at once; PostgreSQL must never report a deadlock,
/// every appeal is filed once and every command applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_mixing_commands_and_filings_never_deadlock() {
    const N: usize = 150;
    let db = TestDb::new(Backend::Postgres).await;
    let dir_path = db.dir().join("directory.toml");
    std::fs::write(&dir_path, LOCK_ORDER_DIRECTORY).expect("directory");
    let top = format!("directory = \"{}\"", dir_path.display());
    let (sim_a, sim_b) = (start_sim().await, start_sim().await);
    let mut a = Daemon::start_with(db.dir(), &db.url, "a", &sim_a, &top, "");
    let mut b = Daemon::start_with(db.dir(), &db.url, "b", &sim_b, &top, "");
    let store = db.store().await;
    let first = |site: &str, prefix: &str| -> Vec<(String, String)> {
        (0..N)
            .map(|i| {
                (
                    format!("{prefix}{i:05}"),
                    format!("{site}站第{i}号：村口路灯坏了"),
                )
            })
            .collect()
    };
    let (first_a, first_b) = (first("a", "1380"), first("b", "1390"));
    inject(&store, "a", &first_a).await;
    inject(&store, "b", &first_b).await;
    wait_appeals(&store, 2 * N as i64, 120).await;
    let numbers = |modem: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT number FROM appeals WHERE modem = $1 ORDER BY id",
            )
            .bind(modem)
            .fetch_all(store.reader())
            .await
            .expect("numbers")
        }
    };
    let (num_a, num_b) = (numbers("a").await, numbers("b").await);
    assert_eq!((num_a.len(), num_b.len()), (N, N));

    // Both sites at once: each cadre accepts its village's appeals while new ones keep coming,
    // so every intake batch mixes commands and filings. Site a's batches open with a command
    // (chain lock first), site b's with a filing (day counter first): the two orders that
    // meet in a deadlock.
    let second = |site: &str, prefix: &str| -> Vec<(String, String)> {
        (0..N)
            .map(|i| {
                (
                    format!("{prefix}{i:05}"),
                    format!("{site}站第{i}号新诉求：河边垃圾没人收"),
                )
            })
            .collect()
    };
    let (second_a, second_b) = (second("a", "1381"), second("b", "1391"));
    let mix = |cadre: &str, command_first: bool, nums: &[String], work: &[(String, String)]| {
        let mut out = Vec::new();
        for (n, filing) in nums.iter().zip(work) {
            let command = (cadre.to_string(), format!("JS{n}"));
            if command_first {
                out.extend([command, filing.clone()]);
            } else {
                out.extend([filing.clone(), command]);
            }
        }
        out
    };
    inject(&store, "a", &mix("13900000001", true, &num_a, &second_a)).await;
    inject(&store, "b", &mix("13900000002", false, &num_b, &second_b)).await;
    // A query on each modem wakes both intake workers at the same moment.
    sim_a.receive_sms("13700000001", "CX");
    sim_b.receive_sms("13700000002", "CX");
    wait_appeals(&store, 4 * N as i64, 180).await;
    wait_for(180, "every command applied", || async {
        (count(
            &store,
            "SELECT COUNT(*) FROM appeals WHERE status = 'accepted'",
        )
        .await
            >= 2 * N as i64)
            .then_some(())
    })
    .await;
    wait_for(60, "both SIMs emptied", || async {
        (sim_a.stored_count() == 0 && sim_b.stored_count() == 0).then_some(())
    })
    .await;
    // Anything done twice would show up now as well.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for d in [&a, &b] {
        let log = d.log();
        assert!(
            !log.contains("deadlock"),
            "{}: PostgreSQL found a deadlock:\n{}",
            d.name,
            log.lines()
                .filter(|l| l.contains("deadlock"))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let appeals = all_appeals(&store).await;
    let mut work_a = first_a;
    work_a.extend(second_a);
    let mut work_b = first_b;
    work_b.extend(second_b);
    check_filed_once(&appeals, &[("a", work_a), ("b", work_b)]);
    let accepted_twice = count(
        &store,
        "SELECT COUNT(*) FROM (SELECT appeal_id FROM events WHERE kind = 'accepted' \
         GROUP BY appeal_id HAVING COUNT(*) <> 1) x",
    )
    .await;
    assert_eq!(accepted_twice, 0, "every command applied exactly once");
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE kind = 'accepted'"
        )
        .await,
        2 * N as i64
    );
    let first_accepted = count(
        &store,
        "SELECT COUNT(*) FROM appeals WHERE status = 'accepted' AND text LIKE '%路灯%'",
    )
    .await;
    assert_eq!(
        first_accepted,
        2 * N as i64,
        "the commands hit the first appeals"
    );
    // Filings and commands from two processes interleaved in one keyed chain.
    assert!(verify_keyed(&store).await >= 4 * N as u64);
    a.stop();
    b.stop();
}

/// Acceptance (issue 12): a broadcast to 500 subscribers; the daemon is killed with SIGKILL
/// three times while it sends (after 100, 250 and 400 texts) and started again each time.
/// Nobody is texted twice; the queueing repeats nobody (a recipient row beside each outbox
/// row); every subscriber is texted except at most the one text per kill the modem had in
/// hand, which is recorded `unconfirmed` and not sent again (an SMS in flight cannot be made
/// exactly-once: broadcasts are at most once, `outbox::policy::at_most_once`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_500_survives_kill_9() {
    let db = TestDb::new(Backend::Sqlite).await;
    let sim = start_sim().await;
    let sections = "[scheduler]\ninterval_secs = 1\n";
    let mut daemon = Daemon::start_with(db.dir(), &db.url, "m1", &sim, "", sections);
    wait_for(60, "the daemon's /healthz", || async {
        daemon.get("/healthz").filter(|(c, _)| *c == 200)
    })
    .await;
    let store = db.store().await;
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..500 {
        sqlx::query(
            &store.sql("INSERT INTO subscriptions (phone, village, since) VALUES (?, 'SH01', 0)"),
        )
        .bind(format!("1380000{i:04}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let clock = appeal_gateway::clock::Clock::System;
    appeal_gateway::affairs::broadcast::create(
        &store,
        "SH01",
        None,
        "【双红村】【财务公开】11月收支：收入4.1万元，支出3.0万元。 退订回R",
        "admin",
        None,
        clock.now(),
    )
    .await
    .unwrap()
    .expect("a new broadcast");
    let distinct = |texts: &[(String, String)]| {
        texts
            .iter()
            .map(|(p, _)| p.clone())
            .collect::<HashSet<_>>()
            .len()
    };
    // Per kill: how many texts the modem had sent, and the recipients recorded as sent.
    let mut kills: Vec<(usize, HashSet<String>)> = Vec::new();
    for at in [100, 250, 400] {
        wait_for(120, &format!("{at} broadcast texts sent"), || async {
            (distinct(&sim.sent_texts()) >= at).then_some(())
        })
        .await;
        daemon.kill9();
        let sent = sim.sent_texts();
        assert!(distinct(&sent) < 500, "killed midway ({} sent)", sent.len());
        kills.push((
            sent.len(),
            sqlx::query_scalar(
                "SELECT recipient FROM outbox WHERE kind = 'broadcast' AND state IN ('sent', 'delivered')",
            )
            .fetch_all(store.pool())
            .await
            .unwrap()
            .into_iter()
            .collect(),
        ));
        daemon = Daemon::start_with(db.dir(), &db.url, "m1", &sim, "", sections);
    }
    wait_for(
        120,
        "all 500 broadcast rows sent, delivered or unconfirmed",
        || async {
            (count(
                &store,
                "SELECT COUNT(*) FROM outbox WHERE kind = 'broadcast' \
             AND state IN ('sent', 'delivered', 'unconfirmed')",
            )
            .await
                == 500)
                .then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let texts = sim.sent_texts();
    let mut times: HashMap<&str, usize> = HashMap::new();
    for (p, _) in &texts {
        *times.entry(p.as_str()).or_default() += 1;
    }
    let twice: Vec<&str> = times
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(p, _)| *p)
        .collect();
    assert!(
        twice.is_empty(),
        "{} texts for 500 subscribers after {} kills: twice {twice:?}",
        texts.len(),
        kills.len()
    );
    for (sent, recorded) in &kills {
        let again: Vec<&str> = texts[*sent..]
            .iter()
            .map(|(p, _)| p.as_str())
            .filter(|p| recorded.contains(*p))
            .collect();
        assert!(
            again.is_empty(),
            "texts recorded as sent went again: {again:?}"
        );
    }
    let unconfirmed: Vec<String> = sqlx::query_scalar(
        "SELECT recipient FROM outbox WHERE kind = 'broadcast' AND state = 'unconfirmed'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(
        unconfirmed.len() <= kills.len(),
        "one text at most in the modem's hands per kill: {unconfirmed:?}"
    );
    let missing: Vec<String> = (0..500)
        .map(|i| format!("1380000{i:04}"))
        .filter(|p| !times.contains_key(p.as_str()))
        .collect();
    assert!(
        missing.iter().all(|p| unconfirmed.contains(p)),
        "a subscriber with no text is not recorded unconfirmed: missing {missing:?}, unconfirmed {unconfirmed:?}"
    );
    // The progress the page and the API show says the same (delivered texts count as sent).
    let (code, body) = daemon
        .get("/api/v1/broadcasts")
        .expect("the daemon answers");
    assert_eq!(code, 200, "{body}");
    let progress: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let b = &progress["broadcasts"][0];
    assert_eq!(b["queued"], 500, "{b}");
    assert_eq!(b["unconfirmed"], unconfirmed.len(), "{b}");
    assert_eq!(b["sent"], 500 - unconfirmed.len(), "{b}");
    eprintln!(
        "broadcast after {} kills: {} texts, {} unconfirmed ({} of them not sent)",
        kills.len(),
        texts.len(),
        unconfirmed.len(),
        missing.len()
    );
    assert!(texts.iter().all(|(_, t)| t.ends_with("退订回R")));
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM broadcast_recipients").await,
        500
    );
}
