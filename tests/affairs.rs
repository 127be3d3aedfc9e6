//! 三务公开, 办事 and 智库 by SMS (issue 12) end to end on both backends: villagers text the
//! simulated modem every keyword and alias and the test reads what the network got; a
//! broadcast to 500 subscribers is interrupted and resumed, each subscriber queued once, and
//! an unsubscribe is honoured at once; the notices API.

mod common;

use std::sync::Arc;

use appeal_gateway::affairs::broadcast;
use appeal_gateway::affairs::notices::{self, NoticeIn};
use appeal_gateway::clock::Clock;
use appeal_gateway::config::Config;
use appeal_gateway::directory::{Directory, DirectoryHandle};
use appeal_gateway::scheduler::Scheduler;
use appeal_gateway::sim::SimModem;
use appeal_gateway::store::Store;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;

const DIRECTORY: &str = r#"
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
name = "王农技"
phone = "13700000001"
role = "expert"
categories = ["农业保险"]

[[cadre]]
name = "陈专家"
phone = "13700000002"
role = "expert"
"#;

const VILLAGER: &str = "13800000001";
const WANG: &str = "13700000001";
const CHEN: &str = "13700000002";
const ZHANG: &str = "13900000001";

struct World {
    _db: TestDb,
    sim: SimModem,
    daemon: Option<InProcess>,
    store: Store,
    clock: Clock,
    scheduler: Scheduler,
    seen: usize,
}

fn start() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn notice(village: &str, kind: &str, topic: &str, title: &str, body: &str) -> NoticeIn {
    NoticeIn {
        village: village.into(),
        kind: kind.into(),
        topic: topic.into(),
        aliases: Vec::new(),
        title: title.into(),
        body: body.into(),
        valid_from: None,
        valid_to: None,
    }
}

impl World {
    async fn start(backend: Backend, with_modem: bool) -> World {
        let db = TestDb::new(backend).await;
        let sim = start_sim().await;
        let dir_path = db.dir().join("directory.toml");
        std::fs::write(&dir_path, DIRECTORY).unwrap();
        let toml = format!(
            "directory = \"{}\"\n{}",
            dir_path.display(),
            config_toml(
                &db.url,
                &sim.device_path(),
                "[scheduler]\ninterval_secs = 3600\n[intake]\nflood_per_hour = 1000\n"
            )
        );
        let config_path = db.dir().join("gateway.toml");
        std::fs::write(&config_path, &toml).unwrap();
        let config = Config::load(&config_path).expect("config");
        let clock = Clock::manual(start());
        let daemon = with_modem.then(|| InProcess::start(config.clone(), clock.clone()));
        let store = db.store().await;
        let scheduler = Scheduler::new(
            store.clone(),
            Arc::new(config),
            DirectoryHandle::new(Directory::load(&dir_path).unwrap()),
        );
        World {
            _db: db,
            sim,
            daemon,
            store,
            clock,
            scheduler,
            seen: 0,
        }
    }

    async fn say(&mut self, from: &str, text: &str, n: usize) -> Vec<(String, String)> {
        // A second apart: the same text twice in one second is one message delivered twice.
        self.clock.advance(Duration::seconds(1));
        self.sim.receive_sms(from, text);
        let want = self.seen + n;
        let sim = self.sim.clone();
        wait_for(30, &format!("{n} SMS after {from}: {text}"), || {
            let sim = sim.clone();
            async move { (sim.sent_texts().len() >= want).then_some(()) }
        })
        .await;
        let all = self.sim.sent_texts();
        let new = all[self.seen..want].to_vec();
        self.seen = want;
        new
    }

    /// The one reply to `from` after it texts `text`.
    async fn ask(&mut self, from: &str, text: &str) -> String {
        let got = self.say(from, text, 1).await;
        assert_eq!(got[0].0, from, "{got:?}");
        got[0].1.clone()
    }

    async fn stop(mut self) {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            self.sim.sent_texts()[self.seen..].to_vec(),
            Vec::<(String, String)>::new(),
            "unexpected SMS"
        );
        if let Some(d) = self.daemon.take() {
            d.stop().await;
        }
    }
}

async fn keywords(backend: Backend) {
    let mut w = World::start(backend, true).await;
    // The daemon is up (migrated, modem ready) once it answers; the notices come after.
    let help = w.ask(VILLAGER, "BZ").await;
    for k in ["GK", "BS", "ZK", "DY", "TD"] {
        assert!(help.contains(k), "{help}");
    }
    assert_eq!(help, w.ask(VILLAGER, "帮助").await);
    // Every text of this test differs: the simulator stamps a PDU to the second, and the same
    // PDU twice is one SMS the modem delivered twice.
    let none = w.ask(VILLAGER, "GK 财务公开").await;
    assert!(none.contains("财务公开暂无内容"), "{none}");
    let now = w.clock.now();
    let s = &w.store;
    notices::create(
        s,
        &notice(
            "SH01",
            "party",
            "",
            "党员大会",
            "12月1日晚7点村委会开党员大会。",
        ),
        "admin",
        now,
    )
    .await
    .unwrap();
    notices::create(
        s,
        &notice(
            "SH01",
            "village",
            "",
            "修路",
            "村道硬化工程12月开工，预算20万元。",
        ),
        "admin",
        now,
    )
    .await
    .unwrap();
    notices::create(
        s,
        &notice(
            "SH01",
            "finance",
            "",
            "10月收支",
            "收入3.2万元，支出2.8万元，结余0.4万元。",
        ),
        "admin",
        now,
    )
    .await
    .unwrap();
    // A newer finance notice replaces the older one in the reply.
    let mut nov = notice(
        "SH01",
        "finance",
        "",
        "11月收支",
        "收入4.1万元，支出3.0万元，结余1.1万元。",
    );
    nov.valid_from = Some(now.timestamp_millis() + 1);
    notices::create(s, &nov, "admin", now).await.unwrap();
    let mut dibao = notice(
        "",
        "service",
        "低保",
        "低保申请",
        "带身份证、户口本、收入证明，工作日到镇便民服务中心申请。",
    );
    dibao.aliases = vec!["最低生活保障".into(), "DB".into()];
    notices::create(s, &dibao, "admin", now).await.unwrap();
    notices::create(
        s,
        &notice(
            "",
            "service",
            "医保",
            "医保缴费",
            "每年9月至12月，带身份证到村委会或用手机缴费。",
        ),
        "admin",
        now,
    )
    .await
    .unwrap();
    // Expired: never offered.
    let mut old = notice("", "service", "户口", "户口迁移", "已停办。");
    old.valid_to = Some(now.timestamp_millis() - 1);
    notices::create(s, &old, "admin", now).await.unwrap();
    w.clock.advance(Duration::seconds(1));

    let all = w.ask(VILLAGER, "GK").await;
    assert!(
        all.starts_with("【双红村】") || all.starts_with("(共"),
        "{all}"
    );
    for part in ["【党务】党员大会", "【村务】修路", "【财务】11月收支"] {
        assert!(all.contains(part), "{all}");
    }
    assert!(!all.contains("10月收支"), "{all}");
    assert!(
        all.starts_with("(共2条)"),
        "a long reply says its parts: {all}"
    );
    for text in [
        "GK CW",
        "ｇｋ ｃｗ",
        "gkcw",
        "公开财务",
        "公开 财务",
        "三务公开 财务",
    ] {
        let r = w.ask(VILLAGER, text).await;
        assert!(r.contains("11月收支") && !r.contains("党员"), "{text}: {r}");
    }
    for (text, want) in [
        ("GK DW", "党员大会"),
        ("公开党务", "党员大会"),
        ("GK SW", "修路"),
        ("公开村务", "修路"),
    ] {
        let r = w.ask(VILLAGER, text).await;
        assert!(r.contains(want), "{text}: {r}");
    }
    for text in [
        "BS 低保",
        "bs低保",
        "办事 低保",
        "办事低保",
        "BS 最低生活保障",
        "ＢＳ ｄｂ",
    ] {
        let r = w.ask(VILLAGER, text).await;
        assert!(
            r.contains("办事指南【低保申请】") && r.contains("身份证"),
            "{text}: {r}"
        );
    }
    let list = w.ask(VILLAGER, "BS").await;
    assert!(
        list.contains("低保") && list.contains("医保") && !list.contains("户口"),
        "{list}"
    );
    let unknown = w.ask(VILLAGER, "办事 火箭").await;
    assert!(
        unknown.contains("没有“火箭”的办事指南") && unknown.contains("医保"),
        "{unknown}"
    );
    // Subscriptions.
    for text in ["DY", "订阅"] {
        let r = w.ask(VILLAGER, text).await;
        assert!(r.contains("已订阅双红村") && r.ends_with("退订回R"), "{r}");
    }
    assert_eq!(
        count(&w.store, "SELECT COUNT(*) FROM subscriptions").await,
        1
    );
    // Each text differs: the same text twice within a second is one SMS delivered twice.
    for (text, again) in [("TD", "dy"), ("退订", "Dy"), ("R", "dY"), ("r", "订阅。")] {
        let r = w.ask(VILLAGER, text).await;
        assert!(r.contains("已退订"), "{text}: {r}");
        assert_eq!(
            count(&w.store, "SELECT COUNT(*) FROM subscriptions").await,
            0
        );
        assert!(w.ask(VILLAGER, again).await.contains("已订阅"));
    }

    // The think tank: 农业保险 goes to 王农技 first; he answers; the villager rates it.
    let got = w
        .say(VILLAGER, "ZK 玉米买了农业保险，遭了冰雹怎么理赔", 2)
        .await;
    let to_v = got
        .iter()
        .find(|(p, _)| p == VILLAGER)
        .expect("villager told")
        .1
        .clone();
    let to_e = got
        .iter()
        .find(|(p, _)| p == WANG)
        .expect("expert asked")
        .1
        .clone();
    assert!(to_v.contains("已转给乡村智库专家"), "{to_v}");
    assert!(
        to_e.contains("【乡村智库#1】双红村村民问：玉米买了农业保险") && to_e.contains("DA1"),
        "{to_e}"
    );
    // Someone else's "DA1" is no answer: from a villager it is an appeal (ack + alert).
    let refused = w.ask(CHEN, "DA1 我来答").await;
    assert!(refused.contains("没有转给您的问题1"), "{refused}");
    let got = w
        .say(WANG, "DA1 拍照留证，48小时内打保险公司电话报案。", 2)
        .await;
    let relayed = got
        .iter()
        .find(|(p, _)| p == VILLAGER)
        .expect("answer relayed")
        .1
        .clone();
    assert!(
        relayed.starts_with("【双红村】") || relayed.starts_with("(共"),
        "{relayed}"
    );
    assert!(
        relayed.contains("王农技答复您的问题（编号1）：拍照留证") && relayed.contains("回复1-5"),
        "{relayed}"
    );
    assert!(got
        .iter()
        .any(|(p, t)| p == WANG && t.contains("已转给村民")));
    let thanks = w.ask(VILLAGER, "5").await;
    assert!(thanks.contains("评价：5分"), "{thanks}");
    let rated: Option<i64> = sqlx::query_scalar("SELECT rating FROM questions WHERE id = 1")
        .fetch_one(w.store.pool())
        .await
        .unwrap();
    assert_eq!(rated, Some(5));
    assert!(w.ask(VILLAGER, "智库").await.contains("请发ZK加您的问题"));

    // Unanswered for 48 h: passed to 陈专家, once.
    w.say(VILLAGER, "智库：猪不吃食怎么办", 2).await;
    w.clock.advance(Duration::hours(47));
    assert_eq!(
        w.scheduler
            .tick(w.clock.now())
            .await
            .unwrap()
            .questions_passed,
        0
    );
    w.clock.advance(Duration::hours(2));
    assert_eq!(
        w.scheduler
            .tick(w.clock.now())
            .await
            .unwrap()
            .questions_passed,
        1
    );
    assert_eq!(
        w.scheduler
            .tick(w.clock.now())
            .await
            .unwrap()
            .questions_passed,
        0
    );
    let passed = w.say_nothing_then(1).await;
    assert_eq!(passed[0].0, CHEN, "{passed:?}");
    assert!(passed[0].1.contains("猪不吃食"));

    // An appeal that starts like a keyword is still an appeal: acknowledged, cadre alerted.
    let got = w.say(VILLAGER, "办事处的人不来", 2).await;
    assert!(
        got.iter()
            .any(|(p, t)| p == VILLAGER && t.contains("诉求已收到")),
        "{got:?}"
    );
    assert!(got.iter().any(|(p, _)| p == ZHANG), "{got:?}");
    w.stop().await;
}

impl World {
    /// The next `n` SMS the network gets without a new text in (the scheduler's).
    async fn say_nothing_then(&mut self, n: usize) -> Vec<(String, String)> {
        let want = self.seen + n;
        let sim = self.sim.clone();
        wait_for(30, "scheduled SMS", || {
            let sim = sim.clone();
            async move { (sim.sent_texts().len() >= want).then_some(()) }
        })
        .await;
        let all = self.sim.sent_texts();
        let new = all[self.seen..want].to_vec();
        self.seen = want;
        new
    }
}

both_backends!(every_keyword_and_alias, keywords);

async fn broadcast_resumes(backend: Backend) {
    let w = World::start(backend, false).await;
    let s = &w.store;
    let now = w.clock.now();
    for i in 0..500 {
        sqlx::query(
            &s.sql("INSERT INTO subscriptions (phone, village, since) VALUES (?, 'SH01', 0)"),
        )
        .bind(format!("1380000{i:04}"))
        .execute(s.pool())
        .await
        .unwrap();
    }
    let n = notices::create(
        s,
        &notice(
            "SH01",
            "finance",
            "",
            "11月收支",
            "收入4.1万元，支出3.0万元。",
        ),
        "admin",
        now,
    )
    .await
    .unwrap();
    let text = broadcast::notice_text("【双红村】", &n);
    assert!(text.ends_with("退订回R"), "{text}");
    let id = broadcast::create(s, "SH01", Some(n.id), &text, "admin", None, now)
        .await
        .unwrap()
        .unwrap();

    // Two batches, then the scheduler stops (the real kill -9 is tests/cluster.rs
    // `a_broadcast_to_500_survives_kill_9`).
    let config = Config::load(&w._db.dir().join("gateway.toml")).unwrap();
    let dir = Directory::load(&w._db.dir().join("directory.toml")).unwrap();
    assert_eq!(
        broadcast::step(s, &config, &dir, now, 100).await.unwrap(),
        100
    );
    assert_eq!(
        broadcast::step(s, &config, &dir, now, 100).await.unwrap(),
        100
    );
    let progress = broadcast::progress(s, 10).await.unwrap();
    assert_eq!(
        (progress[0].id, progress[0].total, progress[0].queued),
        (id, 500, 200)
    );
    assert_eq!(progress[0].done_at, None);

    // Meanwhile one queued subscriber and one not yet queued unsubscribe: honoured at once.
    let mut tx = s.pool().begin().await.unwrap();
    let cancelled = appeal_gateway::affairs::subscriptions::unsubscribe(s, &mut tx, "13800000000")
        .await
        .unwrap();
    appeal_gateway::affairs::subscriptions::unsubscribe(s, &mut tx, "13800000499")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(cancelled, 1, "the queued text of the first is cancelled");

    // The restarted daemon's scheduler finishes the broadcast.
    let report = w.scheduler.tick(now).await.unwrap();
    assert_eq!(report.broadcast_texts, 299);
    let again = w.scheduler.tick(now).await.unwrap();
    assert_eq!(again.broadcast_texts, 0);
    let dup = count(s, "SELECT COUNT(*) FROM (SELECT recipient FROM outbox WHERE kind = 'broadcast' GROUP BY recipient HAVING COUNT(*) > 1) d").await;
    assert_eq!(dup, 0, "nobody queued twice");
    assert_eq!(
        count(
            s,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'broadcast' AND state = 'queued'"
        )
        .await,
        498
    );
    assert_eq!(
        count(
            s,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'broadcast' AND state = 'cancelled'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            s,
            "SELECT COUNT(*) FROM outbox WHERE recipient = '13800000499'"
        )
        .await,
        0
    );
    assert_eq!(
        count(s, "SELECT COUNT(*) FROM broadcast_recipients").await,
        499
    );
    let p = &broadcast::progress(s, 10).await.unwrap()[0];
    assert!(p.done_at.is_some());
    assert_eq!((p.queued, p.cancelled), (499, 1));
    // Every change to a notice was an event.
    assert_eq!(
        count(
            s,
            "SELECT COUNT(*) FROM events WHERE kind = 'notice_created'"
        )
        .await,
        1
    );

    // On the 1st the finance notice goes to the subscribers as the month's summary, once.
    w.clock.advance(Duration::days(11));
    let first = w.scheduler.tick(w.clock.now()).await.unwrap();
    assert_eq!((first.finance_broadcasts, first.broadcast_texts), (1, 498));
    let again = w.scheduler.tick(w.clock.now()).await.unwrap();
    assert_eq!((again.finance_broadcasts, again.broadcast_texts), (0, 0));
    let summary: String =
        sqlx::query_scalar("SELECT text FROM broadcasts WHERE key = 'finance:SH01:2026-11'")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert!(
        summary.contains("2026年11月财务") && summary.ends_with("退订回R"),
        "{summary}"
    );
    w.stop().await;
}

both_backends!(broadcast_to_500_interrupted_and_resumed, broadcast_resumes);

mod webutil;

/// The notices API: admins and tokens write (each change an event), viewers read, bad bodies
/// get 400 with the reason; a broadcast answers 202 with its subscribers.
async fn notices_api(backend: Backend) {
    let srv = webutil::Server::start(backend, |_| {}).await;
    srv.shared
        .directory
        .replace(Directory::parse(DIRECTORY, "directory.toml").unwrap());
    let auth = format!("Bearer {}", webutil::TOKEN);
    let h = [("authorization", auth.as_str())];
    let body = r#"{"village":"SH01","kind":"finance","title":"11月收支","body":"收入4.1万元。"}"#;
    let r = srv.http.post_json("/api/v1/notices", &h, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["author"], "api/admin");
    for (bad, says) in [
        (
            r#"{"village":"XX","kind":"finance","title":"t","body":"b"}"#,
            "village",
        ),
        (
            r#"{"village":"SH01","kind":"sports","title":"t","body":"b"}"#,
            "kind must be",
        ),
        (
            r#"{"village":"","kind":"service","title":"t","body":"b"}"#,
            "topic",
        ),
        (
            r#"{"village":"SH01","kind":"party","title":" ","body":"b"}"#,
            "empty",
        ),
        (
            r#"{"village":"SH01","kind":"party","title":"t","body":"b","colour":"red"}"#,
            "unknown field",
        ),
    ] {
        let r = srv.http.post_json("/api/v1/notices", &h, bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(
            r.json()["error"].as_str().unwrap().contains(says),
            "{bad}: {}",
            r.body
        );
    }
    let put = srv
        .http
        .send(
            "PUT",
            &format!("/api/v1/notices/{id}"),
            &[("authorization", auth.as_str()), ("content-type", "application/json")],
            r#"{"village":"SH01","kind":"finance","title":"11月收支(更正)","body":"收入4.2万元。"}"#,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["title"], "11月收支(更正)");
    let (cookie, csrf) = srv.http.login("jiwei", webutil::VIEWER_PW).await.unwrap();
    let vh = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let list = srv.http.get("/api/v1/notices?kind=finance", &vh).await;
    assert_eq!(list.json()["notices"][0]["title"], "11月收支(更正)");
    let refused = srv.http.post_json("/api/v1/notices", &vh, body).await;
    assert_eq!(refused.status, 403);
    sqlx::query(&srv.store.sql(
        "INSERT INTO subscriptions (phone, village, since) VALUES ('13800000001', 'SH01', 0)",
    ))
    .execute(srv.store.pool())
    .await
    .unwrap();
    let sent = srv
        .http
        .post_json(&format!("/api/v1/notices/{id}/broadcast"), &h, "")
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert_eq!(sent.json()["subscribers"], 1);
    assert!(sent.json()["text"].as_str().unwrap().ends_with("退订回R"));
    let progress = srv.http.get_token("/api/v1/broadcasts").await.json();
    assert_eq!(progress["broadcasts"][0]["total"], 1);
    let del = srv
        .http
        .send("DELETE", &format!("/api/v1/notices/{id}"), &h, "")
        .await;
    assert_eq!(del.status, 200, "{}", del.body);
    assert_eq!(
        srv.http
            .get_token(&format!("/api/v1/notices/{id}"))
            .await
            .status,
        404
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM events WHERE kind LIKE 'notice_%' ORDER BY id")
            .fetch_all(srv.store.pool())
            .await
            .unwrap();
    assert_eq!(
        kinds,
        ["notice_created", "notice_updated", "notice_deleted"]
    );
}

both_backends!(notices_through_the_api, notices_api);
