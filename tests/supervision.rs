//! Supervision over a scripted month (November 2026) on SQLite and PostgreSQL, driven through
//! the injectable clock: the workflow's own functions file, accept, transfer, resolve and rate
//! at scripted instants, and the scheduler ticks at the instants the digest and the
//! evaluation fall due. Every rate is checked against the values computed by hand in the
//! comments; the Monday texts, the snapshot and its once-only guarantee too.

mod common;
mod webutil;

use std::sync::Arc;

use appeal_gateway::appeals::actions::{apply, Action, Actor, Ctx};
use appeal_gateway::appeals::routing::{file_and_route, ChosenCategory};
use appeal_gateway::appeals::survey;
use appeal_gateway::appeals::{NewAppeal, TextIn};
use appeal_gateway::config::Config;
use appeal_gateway::directory::{Directory, DirectoryHandle};
use appeal_gateway::grade::Colour;
use appeal_gateway::scheduler::Scheduler;
use appeal_gateway::store::Store;
use appeal_gateway::supervision::period::Period;
use appeal_gateway::supervision::record;
use appeal_gateway::supervision::report::Evaluation;
use chrono::{DateTime, TimeZone, Utc};
use common::*;

pub const DIRECTORY: &str = r#"
[[village]]
code = "SH01"
name = "双红村"
town = "红星镇"
modems = ["m1"]

[[village]]
code = "SH02"
name = "新民村"
town = "红星镇"
modems = ["m1"]

[[cadre]]
name = "张书记"
phone = "13900000001"
role = "village_cadre"
village = "SH01"

[[cadre]]
name = "李主任"
phone = "13900000002"
role = "village_cadre"
village = "SH02"

[[cadre]]
name = "刘委员"
phone = "13900000004"
role = "village_cadre"
village = "SH01"
categories = ["政务服务"]

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
const LIU: &str = "13900000004";
const INSPECTOR: &str = "13900000020";
const TOWN: &str = "13900000010";
const V1: &str = "13800000001";
const V2: &str = "13800000002";
const V3: &str = "13800000003";

/// Local time in the villages, November 2026 unless the day says otherwise (31+ = December).
fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    let (month, day) = if d > 30 { (12, d - 30) } else { (11, d) };
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, month, day, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub struct World {
    pub db: TestDb,
    pub store: Store,
    pub config: Config,
    pub ctx: Ctx,
    pub dir: Arc<Directory>,
    pub handle: DirectoryHandle,
}

impl World {
    pub async fn new(backend: Backend, extra: &str) -> World {
        let db = TestDb::new(backend).await;
        let dir_path = db.dir().join("directory.toml");
        std::fs::write(&dir_path, DIRECTORY).unwrap();
        let toml = format!(
            "directory = \"{}\"\n{}",
            dir_path.display(),
            config_toml(&db.url, &db.dir().join("no-modem"), extra)
        );
        let path = db.dir().join("gateway.toml");
        std::fs::write(&path, toml).unwrap();
        let config = Config::load(&path).expect("config");
        let store = db.store().await;
        let dir = Arc::new(Directory::load(&dir_path).unwrap());
        let ctx = Ctx::new(&config, dir.clone());
        let handle = DirectoryHandle::new((*dir).clone());
        World {
            db,
            store,
            config,
            ctx,
            dir,
            handle,
        }
    }

    pub async fn file(
        &self,
        phone: &str,
        village: &str,
        category: &str,
        colour: Colour,
        now: DateTime<Utc>,
    ) -> String {
        let input = TextIn {
            phone,
            modem: "m1",
            modem_village: Some(village),
            text: "村里的事情请处理",
            received_at: now,
            channel: "sms",
        };
        let mut tx = self.store.pool().begin().await.unwrap();
        let filed = file_and_route(
            &self.store,
            &mut tx,
            &self.ctx,
            NewAppeal {
                input: &input,
                village: Some(village),
                now,
            },
            Some(ChosenCategory {
                by: "test",
                channel: "api",
                category,
                colour,
            }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        filed.number
    }

    pub async fn act(&self, cadre: &str, number: &str, action: Action, now: DateTime<Utc>) {
        let c = self.dir.cadre_by_phone(cadre).unwrap();
        apply(
            &self.store,
            &self.ctx,
            &Actor::cadre(c, "sms"),
            number,
            action,
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("{number} by {cadre}: {e}"));
    }

    pub async fn accept(&self, cadre: &str, number: &str, now: DateTime<Utc>) {
        self.act(cadre, number, Action::Accept, now).await;
    }

    pub async fn resolve(&self, cadre: &str, number: &str, text: &str, now: DateTime<Utc>) {
        let text = text.to_string();
        self.act(cadre, number, Action::Resolve { text }, now).await;
    }

    pub async fn rate(&self, phone: &str, score: u8, now: DateTime<Utc>) {
        let mut tx = self.store.pool().begin().await.unwrap();
        survey::answer(&self.store, &mut tx, &self.ctx, phone, score, "sms", now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(
            self.store.clone(),
            Arc::new(self.config.clone()),
            self.handle.clone(),
        )
    }

    /// Texts of `kind` queued so far, (recipient, text).
    pub async fn texts(&self, kind: &str) -> Vec<(String, String)> {
        sqlx::query_as(
            &self
                .store
                .sql("SELECT recipient, text FROM outbox WHERE kind = ? ORDER BY id"),
        )
        .bind(kind)
        .fetch_all(self.store.pool())
        .await
        .unwrap()
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6)
}

fn cadre<'a>(ev: &'a Evaluation, phone: &str) -> &'a appeal_gateway::supervision::report::Ranked {
    ev.cadre(phone)
        .unwrap_or_else(|| panic!("no row for {phone}"))
}

async fn scripted_month(backend: Backend) {
    // Quiet hours off (the harness); green 120 min / 24 h, yellow 240 min / 72 h, red 30 min /
    // 24 h (the defaults). One cadre on each board.
    let w = World::new(backend, "[supervision]\nboard_size = 1\n").await;
    let s1 = w.scheduler();
    // A second daemon's scheduler on the same database.
    let s2 = w.scheduler();
    use Colour::*;

    // 张书记 (SH01), good: four green appeals, all on time; rated 5, 4, 5, 3.
    let z1 = w.file(V1, "SH01", "道路", Green, at(2, 9, 0)).await;
    w.accept(ZHANG, &z1, at(2, 9, 20)).await;
    w.resolve(ZHANG, &z1, "路灯已更换", at(2, 15, 0)).await;
    w.rate(V1, 5, at(2, 16, 0)).await;
    let z2 = w.file(V1, "SH01", "水电", Green, at(3, 9, 0)).await;
    w.accept(ZHANG, &z2, at(3, 9, 40)).await;
    w.resolve(ZHANG, &z2, "水管已修好", at(3, 17, 0)).await;
    w.rate(V1, 4, at(3, 18, 0)).await;
    // 李主任 (SH02), slack. L1: accepted after 240 min (limit 120), resolved after 48 h (limit
    // 24 h) with two characters, rated 2, so reopened at 11/06 10:00 with new limits (respond
    // by 12:00, resolve by 11/07 10:00) that he never meets.
    let l1 = w.file(V2, "SH02", "道路", Green, at(4, 9, 0)).await;
    w.accept(LI, &l1, at(4, 13, 0)).await;
    // 刘委员 (SH01, 政务服务): one appeal, quick and rated 4; too few to rank.
    let r1 = w.file(V1, "SH01", "政务服务", Green, at(5, 9, 0)).await;
    w.accept(LIU, &r1, at(5, 9, 5)).await;
    w.resolve(LIU, &r1, "材料已寄出", at(5, 10, 0)).await;
    w.rate(V1, 4, at(5, 11, 0)).await;
    w.resolve(LI, &l1, "已修", at(6, 9, 0)).await;
    w.rate(V2, 2, at(6, 10, 0)).await;

    // Monday 11/09 07:59: not yet. 08:00: the digest of week 45 (11/02-11/08).
    assert_eq!(s1.tick(at(9, 7, 59)).await.unwrap().digests, 0);
    let r = s1.tick(at(9, 8, 0)).await.unwrap();
    assert_eq!(r.digests, 2, "the inspector and the town office");
    assert_eq!(
        s2.tick(at(9, 8, 1)).await.unwrap().digests,
        0,
        "once across daemons"
    );
    assert_eq!(
        s1.tick(at(9, 9, 0)).await.unwrap().digests,
        0,
        "once per week"
    );
    let digests = w.texts("digest").await;
    let recipients: Vec<&str> = digests.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(recipients, [TOWN, INSPECTOR], "directory order");
    // Week 45: Z1, Z2, R1, L1, all green. Response: L1's acceptance predates its reopening and
    // its new limit (11/06 12:00) has passed: 3 of 4 = 75%. Overdue open at 11/09 08:00: L1
    // (resolve by 11/07 10:00). Low ratings in the week: L1's 2. Worst: 李 scores 0 (missed both
    // limits, rated 2).
    let text = &digests[0].1;
    assert!(
        text.starts_with("【纪委周报】红星镇11/02-11/08：新诉求4件(红0黄0绿4)，按时响应率75%，超时未办结1件，差评1件。得分最低：李主任0.0分"),
        "{text}"
    );

    // L2, yellow: 李 passes it to 张 and 张 hands it back (ping-pong). Accepted the next
    // morning, after the limit set by the transfer back (12:00 + 240 min = 16:00); resolved
    // 11/12 09:00 within 72 h of filing (11/12 10:00); rated 3.
    let l2 = w.file(V3, "SH02", "水电", Yellow, at(9, 10, 0)).await;
    w.act(
        LI,
        &l2,
        Action::Transfer {
            to: "张书记".into(),
        },
        at(9, 11, 0),
    )
    .await;
    w.act(
        ZHANG,
        &l2,
        Action::Transfer {
            to: "李主任".into(),
        },
        at(9, 12, 0),
    )
    .await;
    let r = s1.tick(at(9, 13, 0)).await.unwrap();
    assert!(r.warnings >= 1, "{r:?}");
    let open = record::warnings(&w.store, true, 100).await.unwrap();
    let pp = open
        .iter()
        .find(|x| x.rule == "ping_pong")
        .expect("ping-pong warning");
    assert_eq!(pp.appeals, std::slice::from_ref(&l2));
    assert_eq!(pp.events.len(), 2, "both transfer events as evidence");
    w.accept(LI, &l2, at(10, 9, 0)).await;
    let z3 = w.file(V1, "SH01", "环境", Green, at(10, 10, 0)).await;
    w.accept(ZHANG, &z3, at(10, 10, 10)).await;
    w.resolve(ZHANG, &z3, "垃圾已清运", at(11, 9, 0)).await;
    w.rate(V1, 5, at(11, 10, 0)).await;
    w.resolve(LI, &l2, "已处理，水管已修复", at(12, 9, 0)).await;
    w.rate(V3, 3, at(12, 10, 0)).await;
    let z4 = w.file(V1, "SH01", "治安", Green, at(16, 8, 0)).await;
    w.accept(ZHANG, &z4, at(16, 8, 30)).await;
    w.resolve(ZHANG, &z4, "已调解", at(16, 12, 0)).await;
    w.rate(V1, 3, at(16, 13, 0)).await;
    // L3: the same villager, village and category as L1 (resolved 11/06), within 30 days: a
    // repeat. Never accepted.
    let l3 = w.file(V2, "SH02", "道路", Green, at(20, 9, 0)).await;
    // L4, red: accepted in 20 min, resolved in 14 h, rated 5.
    let l4 = w.file(V3, "SH02", "治安", Red, at(25, 20, 0)).await;
    w.accept(LI, &l4, at(25, 20, 20)).await;
    w.resolve(LI, &l4, "已出警处理", at(26, 10, 0)).await;
    w.rate(V3, 5, at(26, 11, 0)).await;

    // Monday 11/30: week 48 (11/23-11/29) has L4 only; overdue open: L1 and L3.
    s1.tick(at(30, 8, 0)).await.unwrap();
    let digests = w.texts("digest").await;
    assert_eq!(
        digests.len(),
        4,
        "weeks 46 and 47 were not ticked on time; 48 is the latest"
    );
    assert!(
        digests[2]
            .1
            .contains("11/23-11/29：新诉求1件(红1黄0绿0)，按时响应率100%，超时未办结2件，差评0件"),
        "{}",
        digests[2].1
    );

    // 12/01 08:00: the evaluation of November.
    assert_eq!(s1.tick(at(31, 7, 0)).await.unwrap().evaluations, 0);
    let r = s1.tick(at(31, 8, 0)).await.unwrap();
    assert_eq!(r.evaluations, 3, "张, 李 and 刘 each texted");
    assert_eq!(s2.tick(at(31, 8, 5)).await.unwrap().evaluations, 0);
    assert_eq!(s1.tick(at(31, 9, 0)).await.unwrap().evaluations, 0);

    let snap = record::snapshot(&w.store, "2026-11")
        .await
        .unwrap()
        .expect("snapshot");
    let ev: Evaluation = serde_json::from_value(snap.report.clone()).unwrap();
    assert_eq!(snap.inputs_hash, ev.inputs_hash);
    assert_eq!(snap.appeals, 9);
    let nov = Period::parse("2026-11").unwrap();
    assert_eq!(snap.as_of, nov.bounds(chrono_tz::Asia::Shanghai).1);
    // Recomputed at its instant with nothing changed: the same inputs, the same figures.
    let again = record::evaluation(&w.store, &w.config, &w.dir, nov, snap.as_of)
        .await
        .unwrap();
    assert_eq!(again, ev);

    // 张: respond 4/4, resolve 4/4, rated 5 4 5 3: satisfied 3/4, basic 1/4.
    // Score 30 + 35 + 35 × 0.75 = 91.25. Response minutes 20 40 10 30: mean 25, p90 40.
    let z = &cadre(&ev, ZHANG).row.rates;
    assert_eq!((z.appeals, z.respond_due, z.responded_on_time), (4, 4, 4));
    assert_eq!((z.resolve_due, z.resolved_on_time, z.overdue), (4, 4, 0));
    assert_eq!((z.rated, z.satisfied, z.basic, z.unsatisfied), (4, 3, 1, 0));
    assert!(close(z.satisfaction_rate, 0.75) && close(z.basic_rate, 0.25));
    assert!(close(z.mean_response_mins, 25.0) && close(z.p90_response_mins, 40.0));
    assert!(close(z.rating_coverage, 1.0) && close(z.redo_rate, 0.0));
    assert!(close(z.score, 91.25), "{:?}", z.score);
    assert_eq!(cadre(&ev, ZHANG).rank, Some(1));

    // 李: L1 missed both (new) limits, L2 late to respond but resolved in time, L3 missed
    // both, L4 on time: respond 1/4, resolve 2/4, overdue 2. Resolved L1 L2 L4, rated 2 3 5:
    // one of each level. Response minutes 240, 1380, 20: mean 546.67, p90 1380. Redone L1
    // (1/3), transferred L2 (1/4), repeat L3 (1/4).
    // Score 30 × 0.25 + 35 × 0.5 + 35 / 3 = 36.667.
    let l = &cadre(&ev, LI).row.rates;
    assert_eq!((l.appeals, l.red, l.yellow, l.green), (4, 1, 1, 2));
    assert_eq!((l.respond_due, l.responded_on_time), (4, 1));
    assert_eq!((l.resolve_due, l.resolved_on_time, l.overdue), (4, 2, 2));
    assert_eq!(
        (l.resolved, l.rated, l.satisfied, l.basic, l.unsatisfied),
        (3, 3, 1, 1, 1)
    );
    assert!(
        close(l.mean_response_mins, 1640.0 / 3.0),
        "{:?}",
        l.mean_response_mins
    );
    assert!(close(l.p90_response_mins, 1380.0));
    assert!(close(l.redo_rate, 1.0 / 3.0));
    assert!(close(l.transfer_rate, 0.25) && close(l.repeat_rate, 0.25));
    assert!(close(l.score, 7.5 + 17.5 + 35.0 / 3.0), "{:?}", l.score);
    assert_eq!(cadre(&ev, LI).rank, Some(2));
    assert_eq!(cadre(&ev, LIU).rank, None, "one appeal is too few to rank");
    assert_eq!(
        (ev.red_board.as_slice(), ev.black_board.as_slice()),
        ([ZHANG.to_string()].as_slice(), [LI.to_string()].as_slice())
    );
    assert_eq!(ev.ranked, 2);

    // Totals: 9 appeals; respond 6/9, resolve 7/9; rated 8: satisfied 5, basic 2, not 1.
    let t = &ev.total;
    assert_eq!((t.appeals, t.respond_due, t.responded_on_time), (9, 9, 6));
    assert_eq!((t.resolve_due, t.resolved_on_time), (9, 7));
    assert_eq!((t.rated, t.satisfied, t.basic, t.unsatisfied), (8, 5, 2, 1));
    let villages: Vec<(&str, u64)> = ev
        .villages
        .iter()
        .map(|v| (v.key.as_str(), v.rates.appeals))
        .collect();
    assert_eq!(villages, [("SH01", 5), ("SH02", 4)]);
    assert_eq!(ev.towns.len(), 1);
    assert_eq!(
        (ev.towns[0].name.as_str(), ev.towns[0].rates.appeals),
        ("红星镇", 9)
    );

    // Each cadre texted their own figures and rank.
    let texts = w.texts("evaluation").await;
    let of = |p: &str| {
        texts
            .iter()
            .find(|(r, _)| r == p)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    assert_eq!(texts.len(), 3);
    let zt = of(ZHANG);
    assert!(
        zt.starts_with("【月度评价】2026年11月张书记：经办诉求4件，响应率100%，按时办结率100%，满意率75%，综合91.")
            && zt.ends_with("分，排名1/2。"),
        "{zt}"
    );
    assert!(
        of(LI).contains("响应率25%，按时办结率50%，满意率33%，综合36.7分，排名2/2"),
        "{}",
        of(LI)
    );
    assert!(of(LIU).contains("不足3件不排名"), "{}", of(LIU));

    // The snapshot cannot be changed; a later change to the record shows as a new hash.
    let upd = sqlx::query("UPDATE evaluations SET inputs_hash = 'x'")
        .execute(w.store.pool())
        .await;
    assert!(upd.is_err(), "evaluations are immutable");
    w.accept(LI, &l3, at(31, 10, 0)).await;
    let later = record::evaluation(&w.store, &w.config, &w.dir, nov, snap.as_of)
        .await
        .unwrap();
    assert_ne!(later.inputs_hash, snap.inputs_hash);

    // The CLI shows the snapshot and says its inputs have changed since.
    let cfg = w.db.dir().join("gateway.toml");
    let out = std::process::Command::new(bin())
        .args(["report", "month", "2026-11", "--config"])
        .arg(&cfg)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["period"], "2026-11");
    assert_eq!(v["inputs_hash"], snap.inputs_hash.as_str());
    assert_eq!(v["snapshot"]["matches"], false);
    assert_eq!(v["red_board"][0], ZHANG);
    assert!(String::from_utf8_lossy(&out.stderr).contains("changed since"));
    let out = std::process::Command::new(bin())
        .args(["report", "month", "2026-11", "--csv", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("group,key,name,rank,appeals"), "{csv}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("cadre,13900000001,张书记,1,4,")),
        "{csv}"
    );
    let out = std::process::Command::new(bin())
        .args(["report", "month", "2026-W48", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a week is not a month");

    web_view(&w, &later, &z1).await;
    let _ = (z4, l4, r1);
}

/// The web server on the world's database, its clock at `now`; a token, an admin and a
/// viewer (the commission) may use it.
fn serve(w: &World, now: DateTime<Utc>) -> (webutil::Http, tokio_util::sync::CancellationToken) {
    use appeal_gateway::config::{Account, Role};
    let mut config = w.config.clone();
    config.api.tokens.push(webutil::TOKEN.to_string());
    for (name, role, pw) in [
        ("admin", Role::Admin, webutil::ADMIN_PW),
        ("jiwei", Role::Viewer, webutil::VIEWER_PW),
    ] {
        config.web.accounts.push(Account {
            name: name.into(),
            role,
            password_hash: appeal_gateway::web::auth::hash_password(pw).unwrap(),
        });
    }
    let clock = appeal_gateway::clock::Clock::manual(now);
    let shared = appeal_gateway::web::Shared {
        config: Arc::new(config),
        store: w.store.clone(),
        clock: clock.clone(),
        modems: Vec::new(),
        outbox_wake: appeal_gateway::wake::Wake::new(),
        directory: w.handle.clone(),
        db: appeal_gateway::store::health::Health::new(clock),
        leader: appeal_gateway::store::leader::Leader::always(),
    };
    let token = tokio_util::sync::CancellationToken::new();
    let (addr, server) =
        appeal_gateway::web::bind(shared, "127.0.0.1:0".parse().unwrap(), token.clone())
            .expect("bind");
    tokio::spawn(server);
    (webutil::Http::new(format!("http://{addr}")), token)
}

/// The supervision API and page show the evaluation's own figures: per cadre, behind each
/// count, in the reports; viewers see no cadre's phone; a warning is marked handled once.
async fn web_view(w: &World, later: &Evaluation, z1: &str) {
    let (http, stop) = serve(w, at(31, 12, 0));
    let _stop = stop.drop_guard();

    // The token sees the same rows as the evaluation, keyed by phone.
    let r = http
        .get_token("/api/v1/supervision/rates?period=2026-11&by=cadre")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["period"], "2026-11");
    assert_eq!(v["by"], "cadre");
    for phone in [ZHANG, LI, LIU] {
        let row = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == phone)
            .unwrap_or_else(|| panic!("{phone} in {v}"));
        assert_eq!(
            *row,
            serde_json::to_value(&cadre(later, phone).row).unwrap()
        );
    }
    assert_eq!(v["total"], serde_json::to_value(&later.total).unwrap());

    // A viewer: names, no phones; the opaque key opens the appeals behind a figure.
    let (cookie, csrf) = http
        .login("jiwei", webutil::VIEWER_PW)
        .await
        .expect("viewer log-in");
    let vh = [("cookie", cookie.as_str())];
    let r = http
        .get("/api/v1/supervision/rates?period=2026-11", &vh)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains(ZHANG) && !r.body.contains(LI),
        "{}",
        r.body
    );
    let v = r.json();
    let key_of = |name: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {v}"))["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (zk, lk) = (key_of("张书记"), key_of("李主任"));
    assert!(zk.starts_with('c') && zk.len() == 17, "{zk}");
    let drill = |key: String, figure: &'static str| {
        let http = http.clone();
        let cookie = cookie.clone();
        async move {
            let r = http
                .get(
                    &format!(
                        "/api/v1/supervision/appeals?period=2026-11&by=cadre&key={key}&figure={figure}"
                    ),
                    &[("cookie", &cookie)],
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()
        }
    };
    let zhang = drill(zk.clone(), "appeals").await;
    assert_eq!(zhang["count"], 4);
    assert!(zhang["appeals"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["number"] == z1));
    let li = cadre(later, LI).row.rates.clone();
    assert_eq!(drill(lk.clone(), "overdue").await["count"], li.overdue);
    assert_eq!(
        drill(lk.clone(), "responded_on_time").await["count"],
        li.responded_on_time
    );
    assert_eq!(
        drill(lk.clone(), "unsatisfied").await["count"],
        li.unsatisfied
    );

    // Bad requests answer 400 with a reason.
    for (q, says) in [
        ("rates?by=street", "cadre, village or town"),
        ("rates?period=2026-13", "not a period"),
        ("rates?colour=red", "bad query string"),
        ("appeals?figure=score", "one of appeals"),
        ("reports?period=2026-11&format=xls", "json or csv"),
    ] {
        let r = http.get_token(&format!("/api/v1/supervision/{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert!(
            r.json()["error"].as_str().unwrap().contains(says),
            "{q}: {}",
            r.body
        );
    }
    let r = http.get("/api/v1/supervision/rates", &[]).await;
    assert_eq!(r.status, 401);

    // Reports: the month with its snapshot (changed since), as JSON and CSV; the week's digest.
    let r = http
        .get_token("/api/v1/supervision/reports?period=2026-11")
        .await;
    let v = r.json();
    assert_eq!(v["kind"], "evaluation");
    assert_eq!(v["evaluation"]["inputs_hash"], later.inputs_hash.as_str());
    assert_eq!(v["snapshot"]["matches"], false);
    let r = http
        .get_token("/api/v1/supervision/reports?period=2026-11&format=csv")
        .await;
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("evaluation-2026-11.csv"));
    assert!(
        r.body.contains("cadre,13900000001,张书记,1,4,"),
        "{}",
        r.body
    );
    let r = http
        .get("/api/v1/supervision/reports?period=2026-11&format=csv", &vh)
        .await;
    assert!(
        r.body.contains("cadre,139****0001,张书记,1,4,"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(ZHANG));
    let r = http
        .get_token("/api/v1/supervision/reports?period=2026-W47")
        .await;
    assert_eq!(r.json()["kind"], "digest", "{}", r.body);

    // The page: the table, worst first unless asked, the charts, the open warning.
    let page = http.get("/supervision?period=2026-11", &vh).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let b = &page.body;
    assert!(b.contains(r#"id="rates""#) && b.contains("2026年11月"));
    assert!(
        b.find("李主任").unwrap() < b.find("张书记").unwrap(),
        "worst first"
    );
    for chart in ["volume", "response", "satisfaction"] {
        assert!(
            b.contains(&format!(r#"id="chart-{chart}"><svg"#)),
            "{chart}"
        );
    }
    assert!(!b.contains(ZHANG), "no cadre phone on the viewer's page");
    assert!(
        b.contains(&format!("key={zk}")),
        "drill links carry the opaque key"
    );
    let best_first = http
        .get("/supervision?period=2026-11&sort=score&dir=desc", &vh)
        .await
        .body;
    assert!(best_first.find("张书记").unwrap() < best_first.find("李主任").unwrap());
    let en = http
        .get(
            "/supervision?period=2026-11",
            &[("cookie", &format!("{cookie}; ag_lang=en"))],
        )
        .await
        .body;
    assert!(en.contains("Answered on time") && en.contains("Appeals per week by colour"));
    let drill_page = http
        .get(
            &format!("/supervision/drill?period=2026-11&by=cadre&key={zk}&figure=appeals"),
            &vh,
        )
        .await;
    assert_eq!(drill_page.status, 200);
    assert!(drill_page
        .body
        .contains(&format!(r#"href="/appeals/{z1}""#)));
    let bad = http.get("/supervision?by=street", &vh).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains(r#"id="error""#));
    let svg = http.get("/supervision/charts/volume.svg", &vh).await;
    assert_eq!(svg.status, 200);
    assert!(svg
        .header("content-type")
        .unwrap()
        .starts_with("image/svg+xml"));
    assert!(svg.body.starts_with("<svg") && svg.body.contains("每周诉求量"));
    assert_eq!(
        http.get("/supervision/charts/pie.svg", &vh).await.status,
        404
    );

    // The open ping-pong warning: handled through the page's form by the commission, once.
    let open = http.get_token("/api/v1/supervision/warnings").await.json();
    let warning = open["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "ping_pong")
        .expect("ping-pong warning open")
        .clone();
    let id = warning["id"].as_i64().unwrap();
    assert!(b.contains(&format!(r#"action="/supervision/warnings/{id}/handle""#)));
    let form = |body: String| {
        let http = http.clone();
        let cookie = cookie.clone();
        async move {
            http.send(
                "POST",
                &format!("/supervision/warnings/{id}/handle"),
                &[
                    ("cookie", &cookie),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                &body,
            )
            .await
        }
    };
    assert_eq!(
        form(format!("note={}", webutil::enc("x"))).await.status,
        403
    );
    assert_eq!(form(format!("csrf={csrf}&note=")).await.status, 400);
    let done = form(format!(
        "csrf={csrf}&note={}",
        webutil::enc("已约谈两位干部")
    ))
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let open = http.get_token("/api/v1/supervision/warnings").await.json();
    assert!(!open["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == id));
    let all = http
        .get_token("/api/v1/supervision/warnings?open=false")
        .await
        .json();
    let h = all["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(h["note"], "已约谈两位干部");
    assert_eq!(h["handled_by"], "jiwei/viewer");
    let again = http
        .post_json(
            &format!("/api/v1/supervision/warnings/{id}/handle"),
            &[("authorization", &format!("Bearer {}", webutil::TOKEN))],
            r#"{"note":"again"}"#,
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE kind = 'warning_handled'")
            .fetch_one(w.store.pool())
            .await
            .unwrap();
    assert_eq!(events, 1);
    let page = http.get("/supervision?period=2026-11", &vh).await.body;
    assert!(page.contains("已约谈两位干部"), "handled warnings listed");
}

both_backends!(scripted_november, scripted_month);
