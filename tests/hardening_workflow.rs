//! Field hardening of the workflow (issue 9), on SQLite and PostgreSQL: every filing path
//! routes, deadlines start when the cadre can be told, PIN guessing locks a phone out, refusals
//! are logged without the PIN, and the acknowledgement says "received" in the village's name.

mod common;
mod webutil;

use std::path::PathBuf;
use std::sync::Arc;

use appeal_gateway::clock::Clock;
use appeal_gateway::config::Config;
use appeal_gateway::directory::{Directory, DirectoryHandle};
use appeal_gateway::scheduler::{Scheduler, TickReport};
use appeal_gateway::sim::SimModem;
use appeal_gateway::store::Store;
use chrono::{DateTime, TimeZone, Utc};
use common::*;

const ZHANG: &str = "13900000001";
const WANG: &str = "13900000003";
const TOWN: &str = "13900000010";

fn local(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2022, 7, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Moves the manual clock forward to `at`.
fn set(clock: &Clock, at: DateTime<Utc>) {
    clock.advance(at - clock.now());
}

struct World {
    _db: TestDb,
    sim: SimModem,
    daemon: Option<InProcess>,
    config: Config,
    store: Store,
    clock: Clock,
    scheduler: Scheduler,
    seen: usize,
}

impl World {
    /// The gateway's own signature differs from the village's, so the tests see which is used.
    async fn start(backend: Backend, quiet_hours: &str, start: DateTime<Utc>) -> World {
        let db = TestDb::new(backend).await;
        let sim = start_sim().await;
        let dir_path: PathBuf = db.dir().join("directory.toml");
        std::fs::write(&dir_path, VILLAGE_DIRECTORY).unwrap();
        let toml = format!(
            "directory = \"{}\"\n{}",
            dir_path.display(),
            config_toml(
                &db.url,
                &sim.device_path(),
                "[scheduler]\ninterval_secs = 3600\n"
            )
            .replace("signature = \"【双红村】\"", "signature = \"【村委会】\"")
            .replace(
                "quiet_hours = \"00:00-00:00\"",
                &format!("quiet_hours = \"{quiet_hours}\"")
            )
        );
        let config_path = db.dir().join("gateway.toml");
        std::fs::write(&config_path, &toml).unwrap();
        let config = Config::load(&config_path).expect("config");
        assert_eq!(config.signature, "【村委会】");
        let clock = Clock::manual(start);
        let daemon = InProcess::start(config.clone(), clock.clone());
        let store = db.store().await;
        let scheduler = Scheduler::new(
            store.clone(),
            Arc::new(config.clone()),
            DirectoryHandle::new(Directory::load(&dir_path).unwrap()),
        );
        World {
            _db: db,
            sim,
            daemon: Some(daemon),
            config,
            store,
            clock,
            scheduler,
            seen: 0,
        }
    }

    async fn say(&mut self, from: &str, text: &str, n: usize) -> Vec<(String, String)> {
        self.sim.receive_sms(from, text);
        let want = self.seen + n;
        let sim = self.sim.clone();
        wait_for(30, &format!("{n} SMS after {from}: {text}"), || {
            let sim = sim.clone();
            async move { (sim.sent_texts().len() >= want).then_some(()) }
        })
        .await;
        let new = self.sim.sent_texts()[self.seen..want].to_vec();
        self.seen = want;
        new
    }

    async fn restart(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.stop().await;
        }
        self.daemon = Some(InProcess::start(self.config.clone(), self.clock.clone()));
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

fn to<'a>(sms: &'a [(String, String)], phone: &str) -> Vec<&'a str> {
    sms.iter()
        .filter(|(p, _)| p == phone)
        .map(|(_, t)| t.as_str())
        .collect()
}

async fn deadlines_of(store: &Store, number: &str) -> (i64, i64) {
    sqlx::query_as(&store.sql("SELECT respond_by, resolve_by FROM appeals WHERE number = ?"))
        .bind(number)
        .fetch_one(store.reader())
        .await
        .unwrap()
}

/// (recipient, kind, not before) of every queued SMS about `number`, in order.
async fn outbox_of(store: &Store, number: &str) -> Vec<(String, String, i64)> {
    sqlx::query_as(&store.sql(
        "SELECT o.recipient, o.kind, o.next_attempt_at FROM outbox o JOIN appeals a ON a.id = o.appeal_id \
         WHERE a.number = ? ORDER BY o.id",
    ))
    .bind(number)
    .fetch_all(store.reader())
    .await
    .unwrap()
}

async fn refused_texts(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT text FROM events WHERE kind = 'refused' ORDER BY id")
        .fetch_all(store.reader())
        .await
        .unwrap()
}

/// Item 21: the villager is told the appeal was received (no cadre has accepted it yet), in
/// their village's name.
async fn ack_wording(backend: Backend) {
    let mut w = World::start(backend, "00:00-00:00", local(13, 9, 0)).await;
    let v = "13812345678";
    let sms = w.say(v, "村里垃圾堆了好几天没人收", 2).await;
    assert_eq!(
        to(&sms, v),
        vec!["【双红村】您的诉求已收到，编号20220713001，回复CX20220713001查询进度。"]
    );
    assert_eq!(to(&sms, ZHANG).len(), 1);
    w.stop().await;
}
both_backends!(ack_says_received_in_the_villages_name, ack_wording);

/// Item 6: a green appeal filed at 22:30 in quiet hours 22:00-07:00. Its alert is held until
/// 07:00 and its clock starts then: respond by 09:00, resolve by 07:00 the next day; nothing
/// overdue goes out with the morning alert.
async fn quiet_night(backend: Backend) {
    let mut w = World::start(backend, "22:00-07:00", local(13, 22, 30)).await;
    let v = "13812345678";
    let n = "20220713001";
    // The acknowledgement goes at once; the cadre's alert waits for the morning.
    let sms = w.say(v, "村里垃圾堆了好几天没人收", 1).await;
    assert_eq!(to(&sms, v).len(), 1);
    // From here the test drives the scheduler and reads the queue: the daemon would send the
    // held rows as the clock passes 07:00 (the outbox's business, tested there).
    if let Some(d) = w.daemon.take() {
        d.stop().await;
    }
    let morning = local(14, 7, 0).timestamp_millis();
    let queued = outbox_of(&w.store, n).await;
    assert_eq!(
        queued
            .iter()
            .filter(|(p, k, _)| p == ZHANG && k == "alert")
            .map(|(_, _, at)| *at)
            .collect::<Vec<_>>(),
        vec![morning],
        "{queued:?}"
    );
    assert_eq!(
        deadlines_of(&w.store, n).await,
        (
            local(14, 9, 0).timestamp_millis(),
            local(15, 7, 0).timestamp_millis()
        ),
        "the clock starts with the alert"
    );
    // Through the night and at 07:00 the scheduler has nothing to send.
    for at in [local(14, 0, 30), local(14, 3, 0), local(14, 7, 0)] {
        set(&w.clock, at);
        assert_eq!(
            w.scheduler.tick(at).await.unwrap(),
            TickReport::default(),
            "nothing due at {at}"
        );
    }
    let escalations = |q: &[(String, String, i64)]| {
        q.iter()
            .filter(|(_, k, _)| k == "escalation" || k == "supervision")
            .count()
    };
    assert_eq!(escalations(&outbox_of(&w.store, n).await), 0);
    // The reminder half an hour before the response deadline, the escalation at it.
    let at = local(14, 8, 30);
    set(&w.clock, at);
    assert_eq!(w.scheduler.tick(at).await.unwrap().reminders, 1);
    let at = local(14, 9, 0);
    set(&w.clock, at);
    assert_eq!(w.scheduler.tick(at).await.unwrap().escalations, 1);
    let q = outbox_of(&w.store, n).await;
    assert_eq!(escalations(&q), 2, "town office and inspector: {q:?}");
    assert!(
        q.iter()
            .filter(|(_, k, _)| k == "escalation" || k == "reminder")
            .all(|(_, _, nb)| *nb >= local(14, 8, 30).timestamp_millis()),
        "{q:?}"
    );
    // The reminder of the 07:00 resolve deadline goes the evening before, not with its
    // escalation in the morning.
    let at = local(14, 21, 29);
    set(&w.clock, at);
    assert_eq!(w.scheduler.tick(at).await.unwrap(), TickReport::default());
    let at = local(14, 21, 30);
    set(&w.clock, at);
    assert_eq!(w.scheduler.tick(at).await.unwrap().reminders, 1);
    let at = local(15, 6, 59);
    set(&w.clock, at);
    assert_eq!(w.scheduler.tick(at).await.unwrap(), TickReport::default());
    let at = local(15, 7, 0);
    set(&w.clock, at);
    assert_eq!(w.scheduler.tick(at).await.unwrap().escalations, 1);
    let reminders: Vec<i64> = outbox_of(&w.store, n)
        .await
        .into_iter()
        .filter(|(_, k, _)| k == "reminder")
        .map(|(_, _, nb)| nb)
        .collect();
    assert_eq!(
        reminders,
        vec![
            local(14, 8, 30).timestamp_millis(),
            local(14, 21, 30).timestamp_millis()
        ]
    );
}
both_backends!(quiet_hours_start_the_clock_at_the_alert, quiet_night);

/// Item 8: five wrong PINs within an hour lock the phone's cadre commands, the right PIN
/// included, across a restart, until the hour has passed. No PIN reaches the event log.
async fn pin_lockout(backend: Backend) {
    let mut w = World::start(backend, "00:00-00:00", local(13, 9, 0)).await;
    let v = "13812345678";
    w.say(v, "低保什么时候发下来", 2).await;
    let n = "20220713001";
    for i in 0..5 {
        set(&w.clock, local(13, 9, 1) + chrono::Duration::minutes(i * 5));
        let sms = w.say(WANG, &format!("JS001#111{i}"), 1).await;
        assert_eq!(
            to(&sms, WANG),
            vec!["PIN不对或缺少PIN，命令未执行。格式：JS002#1234"]
        );
    }
    set(&w.clock, local(13, 9, 30));
    let locked = "PIN连续错误次数过多，本号码的干部命令暂停1小时。如非本人操作，请联系镇政府。";
    let sms = w.say(WANG, "JS001#2468", 1).await;
    assert_eq!(to(&sms, WANG), vec![locked]);
    // The count lives in the database: a restarted daemon keeps the lock.
    w.restart().await;
    let sms = w.say(WANG, "LB#2468", 1).await;
    assert_eq!(to(&sms, WANG), vec![locked]);
    let status: String =
        sqlx::query_scalar(&w.store.sql("SELECT status FROM appeals WHERE number = ?"))
            .bind(n)
            .fetch_one(w.store.reader())
            .await
            .unwrap();
    assert_eq!(status, "open");
    let refused = refused_texts(&w.store).await;
    assert_eq!(refused.len(), 7, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|t| !t.contains("111") && !t.contains("2468")),
        "no PIN in the event log: {refused:?}"
    );
    // One hour after the first wrong PIN only four remain in the window: the right PIN works.
    set(&w.clock, local(13, 10, 1) + chrono::Duration::seconds(1));
    // Not the same text as the refused one: the simulator stamps PDUs to the second, and an
    // identical PDU is (rightly) dropped as a duplicate delivery.
    let sms = w.say(WANG, "JS20220713001#2468", 2).await;
    assert_eq!(to(&sms, v).len(), 1, "{sms:?}");
    let all: Vec<String> = sqlx::query_scalar("SELECT text FROM events ORDER BY id")
        .fetch_all(w.store.reader())
        .await
        .unwrap();
    assert!(all.iter().all(|t| !t.contains("2468")), "{all:?}");
    w.stop().await;
}
both_backends!(five_wrong_pins_lock_the_phone_for_an_hour, pin_lockout);

/// Item 19: a malformed appeal number and a rating with no survey pending are refused events.
async fn refusals_logged(backend: Backend) {
    let mut w = World::start(backend, "00:00-00:00", local(13, 9, 0)).await;
    let v = "13812345678";
    w.say(ZHANG, "JS2022071", 1).await;
    w.say(v, "5", 1).await;
    let refused = refused_texts(&w.store).await;
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("JS2022071"), "{refused:?}");
    assert!(refused[1].contains("没有待评价"), "{refused:?}");
    w.stop().await;
}
both_backends!(
    malformed_numbers_and_stray_ratings_are_refused_events,
    refusals_logged
);

/// Item 5: an Open311 POST files through the same filing and routing as an SMS: the village's
/// cadre is alerted, a red appeal also reaches the town office at once, the client's choice of
/// service is an event, and the acknowledgement is the village's.
async fn open311_routes(backend: Backend) {
    let s = webutil::Server::start(backend, |_| {}).await;
    s.shared
        .directory
        .replace(Directory::parse(VILLAGE_DIRECTORY, "directory.toml").unwrap());
    let code = appeal_gateway::web::open311::service_code("安全隐患");
    let r = s
        .http
        .send(
            "POST",
            "/open311/v2/requests.json",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!(
                "api_key={}&service_code={code}&address_id=SH01&description={}&phone=13500004444",
                webutil::TOKEN,
                webutil::enc("请问村委会几点上班")
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let number = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        r.json()[0]["service_notice"],
        format!("【双红村】已收到，编号{number}")
    );
    let sent: Vec<(String, String, String)> = sqlx::query_as(
        &s.store
            .sql("SELECT recipient, kind, text FROM outbox ORDER BY id"),
    )
    .fetch_all(s.store.reader())
    .await
    .unwrap();
    let alerts: Vec<&str> = sent
        .iter()
        .filter(|(_, k, _)| k == "alert")
        .map(|(p, _, _)| p.as_str())
        .collect();
    assert_eq!(alerts, vec![ZHANG, TOWN], "{sent:?}");
    let ack: Vec<&str> = sent
        .iter()
        .filter(|(_, k, _)| k == "ack")
        .map(|(_, _, t)| t.as_str())
        .collect();
    assert_eq!(
        ack,
        vec![format!(
            "【双红村】您的诉求已收到，编号{number}，回复CX{number}查询进度。"
        )]
    );
    let events: Vec<(String, String, String)> = sqlx::query_as(&s.store.sql(
        "SELECT e.kind, e.actor, e.text FROM events e JOIN appeals a ON a.id = e.appeal_id \
         WHERE a.number = ? ORDER BY e.id",
    ))
    .bind(&number)
    .fetch_all(s.store.reader())
    .await
    .unwrap();
    let kinds: Vec<&str> = events.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, vec!["filed", "regraded", "routed"], "{events:?}");
    assert_eq!(events[1].1, "open311");
    assert!(events[1].2.contains("安全隐患"), "{events:?}");
    let (colour, cadre): (String, Option<String>) = sqlx::query_as(
        &s.store
            .sql("SELECT colour, cadre FROM appeals WHERE number = ?"),
    )
    .bind(&number)
    .fetch_one(s.store.reader())
    .await
    .unwrap();
    assert_eq!((colour.as_str(), cadre.as_deref()), ("red", Some(ZHANG)));
}
both_backends!(open311_post_files_and_routes_like_an_sms, open311_routes);
