//! The appeal workflow over SMS end to end, against the simulated modem, on SQLite and
//! PostgreSQL: villagers and cadres text the simulator, the test reads what the network got.
//! Time is a manual clock started at 09:00 in Sichuan; the scheduler is ticked by the test
//! (the daemon's own tick runs hourly here, and is idempotent anyway).

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use appeal_gateway::appeals::{get_appeal, verify_chain};
use appeal_gateway::clock::Clock;
use appeal_gateway::config::Config;
use appeal_gateway::directory::{Directory, DirectoryHandle};
use appeal_gateway::scheduler::{Scheduler, TickReport};
use appeal_gateway::sim::SimModem;
use appeal_gateway::store::Store;
use chrono::{TimeZone, Utc};
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
name = "李网格"
phone = "13900000002"
role = "grid_member"
village = "SH01"
categories = ["农业保险", "道路交通"]

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

const ZHANG: &str = "13900000001";
const LI: &str = "13900000002";
const WANG: &str = "13900000003";
const TOWN: &str = "13900000010";
const INSPECTOR: &str = "13900000020";

struct World {
    _db: TestDb,
    sim: SimModem,
    daemon: Option<InProcess>,
    store: Store,
    clock: Clock,
    scheduler: Scheduler,
    config_path: PathBuf,
    seen: usize,
}

impl World {
    async fn start(backend: Backend) -> World {
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
                "[scheduler]\ninterval_secs = 3600\n"
            )
        );
        let config_path = db.dir().join("gateway.toml");
        std::fs::write(&config_path, &toml).unwrap();
        let config = Config::load(&config_path).expect("config");
        // 2022-07-13 09:00 in Sichuan.
        let start = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2022, 7, 13, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::manual(start);
        let daemon = InProcess::start(config.clone(), clock.clone());
        let store = db.store().await;
        let scheduler = Scheduler::new(
            store.clone(),
            Arc::new(config),
            DirectoryHandle::new(Directory::load(&dir_path).unwrap()),
        );
        World {
            _db: db,
            sim,
            daemon: Some(daemon),
            store,
            clock,
            scheduler,
            config_path,
            seen: 0,
        }
    }

    /// Texts the gateway from `from` and returns the `n` SMS the network gets because of it.
    async fn say(&mut self, from: &str, text: &str, n: usize) -> Vec<(String, String)> {
        self.sim.receive_sms(from, text);
        self.expect(n, &format!("{n} SMS after {from}: {text}"))
            .await
    }

    async fn expect(&mut self, n: usize, what: &str) -> Vec<(String, String)> {
        let want = self.seen + n;
        let sim = self.sim.clone();
        wait_for(30, what, || {
            let sim = sim.clone();
            async move { (sim.sent_texts().len() >= want).then_some(()) }
        })
        .await;
        let all = self.sim.sent_texts();
        let new = all[self.seen..want].to_vec();
        self.seen = want;
        new
    }

    async fn tick(&mut self) -> TickReport {
        self.scheduler.tick(self.clock.now()).await.expect("tick")
    }

    async fn status(&self, number: &str) -> (String, String, Option<String>, Option<i64>) {
        let a = get_appeal(&self.store, number)
            .await
            .unwrap()
            .expect("appeal");
        (
            a.status.as_str().into(),
            a.colour.as_str().into(),
            a.cadre,
            a.rating,
        )
    }

    async fn stop(mut self) {
        // Nothing else went out: every SMS the test did not expect would show here.
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

fn to<'a>(sms: &'a [(String, String)], phone: &str) -> Vec<&'a str> {
    sms.iter()
        .filter(|(p, _)| p == phone)
        .map(|(_, t)| t.as_str())
        .collect()
}

fn ack(number: &str) -> String {
    format!("【双红村】您的诉求已收到，编号{number}，回复CX{number}查询进度。")
}

async fn steps_of(store: &Store, number: &str) -> Vec<(String, String)> {
    sqlx::query_as::<_, (String, String)>(&store.sql(
        "SELECT e.step, e.kind FROM events e JOIN appeals a ON a.id = e.appeal_id WHERE a.number = ? ORDER BY e.id",
    ))
    .bind(number)
    .fetch_all(store.reader())
    .await
    .unwrap()
}

async fn scripted_day(backend: Backend) {
    let mut w = World::start(backend).await;
    let a = "13812345678";
    let n1 = "20220713001";
    let sms = w.say(a, "玉米被风吹倒了，三亩地全倒了", 2).await;
    assert_eq!(to(&sms, a), vec![ack(n1)]);
    assert_eq!(
        to(&sms, LI),
        vec!["【新诉求·黄】20220713001 双红村 138****5678：玉米被风吹倒了，三亩地全…回复JS20220713001受理"]
    );
    // Accept by daily suffix, lower case and full width.
    let sms = w.say(LI, "ｊｓ００１", 2).await;
    assert_eq!(
        to(&sms, a),
        vec!["【双红村】您的诉求20220713001已由李网格受理，正在办理。"]
    );
    assert_eq!(
        to(&sms, LI),
        vec!["已受理20220713001。回复HF20220713001+内容答复群众，BJ20220713001+结果办结。"]
    );
    let sms = w.say(LI, "HF 001 明天上午来看", 2).await;
    assert_eq!(
        to(&sms, a),
        vec!["【双红村】明天上午来看（诉求20220713001）"]
    );
    assert_eq!(to(&sms, LI), vec!["已转告诉求20220713001的群众。"]);
    let sms = w.say(LI, "协商001 已联系保险公司定损", 1).await;
    assert_eq!(to(&sms, LI), vec!["已记录到诉求20220713001。"]);
    let sms = w.say(a, "CX", 1).await;
    assert_eq!(
        to(&sms, a),
        vec!["【双红村】诉求20220713001：已受理，正在办理（李网格）。"]
    );

    // Other villagers, other categories.
    let b = "13812340002";
    let sms = w.say(b, "村里垃圾堆了好几天没人收", 2).await;
    assert_eq!(to(&sms, b), vec![ack("20220713002")]);
    assert_eq!(
        to(&sms, ZHANG),
        vec!["【新诉求·绿】20220713002 双红村 138****0002：村里垃圾堆了好几天没人收。回复JS20220713002受理"]
    );
    let c = "13812340003";
    let sms = w.say(c, "家里漏电了很危险", 3).await;
    assert_eq!(to(&sms, c), vec![ack("20220713003")]);
    assert_eq!(to(&sms, ZHANG).len(), 1);
    assert_eq!(
        to(&sms, TOWN),
        vec!["【红色诉求·红】20220713003 双红村 138****0003：家里漏电了很危险。回复JS20220713003受理"]
    );
    let sms = w.say("13812340004", "邻居占了我家宅基地不还", 2).await;
    assert_eq!(
        to(&sms, ZHANG).len(),
        1,
        "邻里纠纷 goes to the village fallback"
    );
    let sms = w.say("13812340005", "低保什么时候发下来", 2).await;
    assert!(to(&sms, WANG)[0].starts_with("【新诉求·绿】20220713005"));
    let sms = w.say("13812340006", "请问村委会几点上班", 2).await;
    assert!(to(&sms, ZHANG)[0].starts_with("【新诉求·绿】20220713006"));

    // Transfer, escalate and regrade by SMS.
    let sms = w.say(ZHANG, "ZB002 李网格", 2).await;
    assert_eq!(to(&sms, ZHANG), vec!["诉求20220713002已转办给李网格。"]);
    assert!(to(&sms, LI)[0].starts_with("【转办·绿】20220713002 双红村"));
    assert_eq!(w.status("20220713002").await.2.as_deref(), Some(LI));
    let sms = w.say(LI, "SB20220713002 需要镇里协调", 2).await;
    assert_eq!(to(&sms, LI), vec!["诉求20220713002已上报红星镇办。"]);
    assert!(to(&sms, TOWN)[0].starts_with("【上报·绿】20220713002 双红村 138****0002："));
    let sms = w.say(LI, "FL002红", 2).await;
    assert_eq!(to(&sms, LI), vec!["诉求20220713002已改为红色。"]);
    assert!(to(&sms, TOWN)[0].starts_with("【红色诉求·红】20220713002"));
    assert_eq!(w.status("20220713002").await.1, "red");
    let sms = w.say(LI, "LB", 1).await;
    assert!(to(&sms, LI)[0].starts_with("待办"), "{sms:?}");

    // Resolve, survey, rating.
    let sms = w.say(LI, "BJ001 已赔付800元", 3).await;
    assert_eq!(
        to(&sms, a),
        vec![
            "【双红村】您的诉求20220713001已办结：已赔付800元",
            "【双红村】诉求20220713001请评价办理结果：回复5非常满意 4满意 3基本满意 2不满意 1非常不满意"
        ]
    );
    assert_eq!(to(&sms, LI), vec!["诉求20220713001已办结，已请群众评价。"]);
    let sms = w.say(a, "满意", 1).await;
    assert_eq!(
        to(&sms, a),
        vec!["【双红村】已收到您对诉求20220713001的评价：满意。感谢您的支持！"]
    );
    assert_eq!(w.status(n1).await.0, "closed");
    assert_eq!(w.status(n1).await.3, Some(4));

    // The five steps in order on the first appeal, and the chain verifies.
    let steps = steps_of(&w.store, n1).await;
    let order = [
        "collection",
        "negotiation",
        "decision",
        "supervision",
        "evaluation",
    ];
    let ranks: Vec<usize> = steps
        .iter()
        .map(|(s, _)| order.iter().position(|o| o == s).expect("known step"))
        .collect();
    assert!(ranks.windows(2).all(|p| p[0] <= p[1]), "{steps:?}");
    for s in order {
        assert!(steps.iter().any(|(x, _)| x == s), "step {s} in {steps:?}");
    }
    assert!(matches!(verify_chain(&w.store).await.unwrap(), Ok(n) if n >= 15));
    w.stop().await;
}
both_backends!(a_scripted_day, scripted_day);

async fn deadlines(backend: Backend) {
    let mut w = World::start(backend).await;
    let v = "13812345678";
    let sms = w.say(v, "路灯坏了很久没人修", 2).await;
    assert_eq!(to(&sms, LI).len(), 1, "道路交通 goes to the grid member");
    let n = "20220713001";
    assert_eq!(w.tick().await, TickReport::default());
    w.clock.advance(chrono::Duration::minutes(209));
    assert_eq!(
        w.tick().await,
        TickReport::default(),
        "nothing before 3 h 30"
    );
    w.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(w.tick().await.reminders, 1);
    assert_eq!(
        w.tick().await,
        TickReport::default(),
        "a reminder goes once"
    );
    let sms = w.expect(1, "the reminder").await;
    assert_eq!(
        to(&sms, LI),
        vec!["【提醒·黄】诉求20220713001还有30分钟到响应时限，请回复JS20220713001受理"]
    );
    w.clock.advance(chrono::Duration::minutes(30));
    assert_eq!(w.tick().await.escalations, 1);
    assert_eq!(
        w.tick().await,
        TickReport::default(),
        "an escalation goes once"
    );
    let sms = w.expect(2, "escalation and notice").await;
    assert_eq!(
        to(&sms, TOWN),
        vec!["【超时上报·黄】诉求20220713001 双红村 超过响应时限未办（李网格），请督办。回复JS20220713001受理"]
    );
    assert_eq!(
        to(&sms, INSPECTOR),
        vec!["【纪委监督】诉求20220713001 双红村 超过响应时限（李网格），已上报镇里。"]
    );
    // A second scheduler (another daemon, or this one restarted) finds nothing left to do.
    let again = Scheduler::new(
        w.store.clone(),
        w.scheduler.config.clone(),
        w.scheduler.directory.clone(),
    );
    assert_eq!(
        again.tick(w.clock.now()).await.unwrap(),
        TickReport::default()
    );
    let steps = steps_of(&w.store, n).await;
    assert!(steps.contains(&("supervision".into(), "overdue_escalated".into())));
    assert_eq!(
        count(&w.store, "SELECT COUNT(*) FROM schedule_log").await,
        2
    );
    w.stop().await;
}
both_backends!(an_appeal_nobody_accepts, deadlines);

async fn ratings(backend: Backend) {
    let mut w = World::start(backend).await;
    let a = "13812345678";
    let b = "13812340002";
    let c = "13812340003";
    w.say(a, "村里垃圾堆了好几天没人收", 2).await;
    w.say(b, "村口水管漏水好几天了", 2).await;
    w.say(c, "家门口污水横流臭得很", 2).await;
    for (i, phone) in [(1, a), (2, b), (3, c)] {
        let sms = w.say(ZHANG, &format!("BJ{i:03} 已处理"), 3).await;
        assert_eq!(to(&sms, phone).len(), 2);
    }
    // A rating of 1 reopens the appeal and tells the inspector (and the cadre).
    let sms = w.say(a, "1", 3).await;
    assert_eq!(
        to(&sms, a),
        vec!["【双红村】已收到您对诉求20220713001的评价。诉求已重新办理，纪委将监督。"]
    );
    assert_eq!(
        to(&sms, INSPECTOR),
        vec!["【差评】诉求20220713001 双红村 群众评价1（非常不满意），已重新打开，请监督。"]
    );
    assert_eq!(to(&sms, ZHANG).len(), 1);
    assert_eq!(w.status("20220713001").await.0, "reopened");
    assert_eq!(w.status("20220713001").await.3, Some(1));
    // Full-width digit.
    let sms = w.say(b, "４", 1).await;
    assert_eq!(
        to(&sms, b),
        vec!["【双红村】已收到您对诉求20220713002的评价：满意。感谢您的支持！"]
    );
    assert_eq!(w.status("20220713002").await.0, "closed");
    // c never answers: one reminder 24 h after the prompt.
    w.clock.advance(chrono::Duration::hours(24));
    let r = w.tick().await;
    assert_eq!(r.survey_reminders, 1, "{r:?}");
    // The reopened appeal ran past both its new deadlines in these 24 h (green: respond 2 h,
    // resolve 24 h): each escalated once, to the town office and the inspector.
    assert_eq!((r.reminders, r.escalations), (0, 2), "{r:?}");
    // Supervision's early warnings, once each (by this tick or the daemon's own scheduler):
    // 001 was resolved at once and rated 1, and one of 张's three due appeals (001, past its
    // new limits) is overdue, above 30%.
    assert_eq!(w.tick().await, TickReport::default());
    let sms = w
        .expect(1 + 4 + 2, "survey reminder, escalations and warnings")
        .await;
    assert_eq!(to(&sms, TOWN).len(), 2);
    let inspector = to(&sms, INSPECTOR);
    assert_eq!(inspector.len(), 4, "{inspector:?}");
    assert!(
        inspector.iter().any(
            |t| t.contains("【速办差评】张书记：诉求20220713001登记后0分钟即办结，群众评价1分")
        ),
        "{inspector:?}"
    );
    assert!(
        inspector
            .iter()
            .any(|t| t.contains("【超时率高】张书记：近7天到期诉求3件中超时1件（33%）")),
        "{inspector:?}"
    );
    assert_eq!(
        to(&sms, c),
        vec!["【双红村】提醒：诉求20220713003尚未评价。请评价办理结果：回复5非常满意 4满意 3基本满意 2不满意 1非常不满意。回复TD不再提醒"]
    );
    w.stop().await;
}
both_backends!(ratings_reopen_and_remind, ratings);

async fn refusals(backend: Backend) {
    let mut w = World::start(backend).await;
    let v = "13812345678";
    w.say(v, "低保什么时候发下来", 2).await;
    let n = "20220713001";
    let before = w.status(n).await;
    let events_before = count(&w.store, "SELECT COUNT(*) FROM events").await;
    // A cadre command from a villager's number.
    let sms = w.say(v, "JS20220713001", 1).await;
    assert_eq!(
        to(&sms, v),
        vec!["【双红村】本号码不是登记的干部号码，不能使用该命令。如要反映问题，请直接说明。"]
    );
    // A wrong PIN, and a missing one.
    let sms = w.say(WANG, "JS001#1111", 1).await;
    assert_eq!(
        to(&sms, WANG),
        vec!["PIN不对或缺少PIN，命令未执行。格式：JS002#1234"]
    );
    let sms = w.say(WANG, "JS001", 1).await;
    assert_eq!(to(&sms, WANG).len(), 1);
    // A malformed number.
    let sms = w.say(ZHANG, "JS2022071", 1).await;
    assert_eq!(
        to(&sms, ZHANG),
        vec!["命令格式不对，应为：编号为完整编号(如20220713002)或当天序号(如002)"]
    );
    // An answer to no pending survey.
    let sms = w.say(v, "5", 1).await;
    assert_eq!(
        to(&sms, v),
        vec!["【双红村】您目前没有待评价的诉求。回复CX查询进度。"]
    );
    // An unknown appeal.
    let sms = w.say(ZHANG, "JS20220713999", 1).await;
    assert_eq!(
        to(&sms, ZHANG),
        vec!["没有编号为20220713999的诉求，命令未执行。"]
    );
    assert_eq!(w.status(n).await, before, "nothing changed");
    // Only the refusals were logged (five: villager, wrong PIN, missing PIN, malformed number,
    // rating with no survey); the unknown appeal is answered, not refused.
    let logged = count(&w.store, "SELECT COUNT(*) FROM events").await - events_before;
    assert_eq!(logged, 5);
    assert_eq!(
        count(
            &w.store,
            "SELECT COUNT(*) FROM events WHERE kind = 'refused' AND appeal_id IS NULL"
        )
        .await,
        5
    );
    assert_eq!(
        count(
            &w.store,
            "SELECT COUNT(*) FROM events WHERE text LIKE '%1111%'"
        )
        .await,
        0,
        "the wrong PIN is not in the log"
    );
    // And the right PIN works.
    let sms = w.say(WANG, "JS001#2468", 2).await;
    assert_eq!(to(&sms, WANG).len(), 1);
    assert_eq!(w.status(n).await.0, "accepted");
    w.stop().await;
}
both_backends!(refused_and_malformed_commands, refusals);

async fn follow_ups(backend: Backend) {
    let mut w = World::start(backend).await;
    let v = "13812345678";
    w.say(v, "玉米倒了", 2).await;
    // A second text minutes after a short first one completes it.
    w.clock.advance(chrono::Duration::minutes(2));
    let sms = w.say(v, "在三组，五亩地", 1).await;
    assert_eq!(to(&sms, v), vec!["【双红村】已补充到您的诉求20220713001。"]);
    let a = get_appeal(&w.store, "20220713001").await.unwrap().unwrap();
    assert_eq!(a.text, "玉米倒了\n在三组，五亩地");
    // Much later, the same complaint again: recorded on the open appeal, answered with progress.
    w.clock.advance(chrono::Duration::minutes(30));
    let sms = w.say(v, "玉米倒了！", 1).await;
    assert_eq!(
        to(&sms, v),
        vec!["【双红村】诉求20220713001：已登记，等待村干部受理。您反映的问题已在处理中，不再重复登记。"]
    );
    assert_eq!(count(&w.store, "SELECT COUNT(*) FROM appeals").await, 1);
    w.stop().await;
}
both_backends!(follow_ups_and_repeats, follow_ups);

async fn tampering(backend: Backend) {
    let mut w = World::start(backend).await;
    w.say("13812345678", "村里垃圾堆了好几天没人收", 2).await;
    w.say(ZHANG, "JS001", 2).await;
    let verify = |path: &PathBuf| {
        std::process::Command::new(bin())
            .args(["audit", "verify", "--config"])
            .arg(path)
            .output()
            .unwrap()
    };
    let ok = verify(&w.config_path);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let id: i64 = sqlx::query_scalar("SELECT MIN(id) FROM events WHERE kind = 'accepted'")
        .fetch_one(w.store.reader())
        .await
        .unwrap();
    sqlx::query(
        &w.store
            .sql("UPDATE events SET text = '张书记没有受理' WHERE id = ?"),
    )
    .bind(id)
    .execute(w.store.pool())
    .await
    .unwrap();
    let bad = verify(&w.config_path);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(&format!("broken at event {id}")), "{err}");
    w.stop().await;
}
both_backends!(tampering_is_detected, tampering);

/// `appeal-gateway directory ...` edits the file; SIGHUP makes the running daemon use it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_cli_and_reload() {
    let mut w = World::start(Backend::Sqlite).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .arg("directory")
            .arg("--config")
            .arg(&w.config_path)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = run(&["check"]);
    assert!(ok, "{out}");
    assert!(out.contains("1 villages, 5 cadres"), "{out}");
    let (ok, out) = run(&[
        "add-cadre",
        "孙干部",
        "13900000099",
        "--role",
        "village_cadre",
        "--village",
        "SH01",
        "--category",
        "环境卫生",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = run(&[
        "add-cadre",
        "坏",
        "13900000098",
        "--role",
        "village_cadre",
        "--village",
        "NOPE",
    ]);
    assert!(!ok && out.contains("unknown village"), "{out}");
    let (ok, out) = run(&["list"]);
    assert!(
        ok && out.contains("孙干部") && !out.contains("2468"),
        "{out}"
    );
    // Before the reload the old directory routes 环境卫生 to the fallback.
    let sms = w.say("13812345678", "村里垃圾堆了好几天没人收", 2).await;
    assert_eq!(to(&sms, ZHANG).len(), 1);
    // The daemon's SIGHUP handler is installed (it has answered texts since it started).
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    // The reload is asynchronous to the signal; it is a file read, well under a second.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sms = w.say("13812340002", "河边污水横流很臭", 2).await;
    assert_eq!(to(&sms, "13900000099").len(), 1, "{sms:?}");
    w.stop().await;
}
