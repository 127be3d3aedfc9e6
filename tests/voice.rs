//! The voice channel end to end: a villager calls the village number instead of texting. The
//! daemon drives the simulated modem through the pty as it would a real one, in each vendor's
//! dialect, on SQLite and PostgreSQL: the call is rejected (never answered), a callback appeal
//! (来电登记) is filed once per caller and repeat window, the caller texted its number, the
//! cadre alerted to call back; withheld numbers are recorded, not filed.

mod common;
mod webutil;

use std::time::Duration;

use appeal_gateway::calls::{CALLBACK_CATEGORY, CALLBACK_TEXT};
use appeal_gateway::clock::Clock;
use appeal_gateway::sim::{CallEvent, SimModem, SimOptions};
use appeal_gateway::store::Store;
use common::*;

const VILLAGER: &str = "13800000001";
const CADRE: &str = "13900000001";

async fn sim_with(opts: SimOptions) -> SimModem {
    SimModem::start(SimOptions {
        ring_interval: Duration::from_millis(700),
        rings: 8,
        ..opts
    })
    .await
    .expect("simulated modem")
}

/// The daemon on `db` and `sim`, its API on a free port with the test token.
async fn daemon(db: &TestDb, sim: &SimModem, extra: &str) -> (InProcess, Store, webutil::Http) {
    let port = free_port();
    let toml = format!(
        "{}\n[api]\ntokens = [\"{}\"]\n{extra}",
        config_with_directory(db, sim).replace("127.0.0.1:0", &format!("127.0.0.1:{port}")),
        webutil::TOKEN
    );
    let d = InProcess::start(parse_config(&toml), Clock::System);
    let http = webutil::Http::new(format!("http://127.0.0.1:{port}"));
    (d, db.store().await, http)
}

/// (state, phone, appeal number) of every call, oldest first.
async fn calls(store: &Store) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT c.state, c.phone, a.number FROM calls c LEFT JOIN appeals a ON a.id = c.appeal_id ORDER BY c.id",
    )
    .fetch_all(store.reader())
    .await
    .expect("calls")
}

async fn wait_calls(store: &Store, n: i64, secs: u64) {
    wait_for(secs, &format!("{n} calls processed"), || async {
        (count(store, "SELECT COUNT(*) FROM calls WHERE state <> 'new'").await >= n).then_some(())
    })
    .await;
}

fn texts_to(sim: &SimModem, phone: &str) -> Vec<String> {
    sim.sent_texts()
        .into_iter()
        .filter(|(to, _)| to == phone)
        .map(|(_, t)| t)
        .collect()
}

fn never_answered(sim: &SimModem) {
    assert!(
        !sim.calls()
            .iter()
            .any(|c| matches!(c, CallEvent::Answered { .. })),
        "a callback call is never answered (the villager would pay): {:?}",
        sim.calls()
    );
}

async fn missed_call_files_one_callback_appeal(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions::default()).await;
    let (d, store, http) = daemon(&db, &sim, "").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.ring(VILLAGER);
    wait_calls(&store, 1, 30).await;
    let appeals = all_appeals(&store).await;
    assert_eq!(appeals.len(), 1);
    let a = &appeals[0];
    assert_eq!(
        (a.phone.as_str(), a.category.as_str(), a.text.as_str()),
        (VILLAGER, CALLBACK_CATEGORY, CALLBACK_TEXT)
    );
    wait_for(30, "the caller's text", || async {
        texts_to(&sim, VILLAGER)
            .into_iter()
            .find(|t| t.contains(&a.number) && t.contains("村干部将尽快回电"))
    })
    .await;
    wait_for(30, "the cadre's alert", || async {
        texts_to(&sim, CADRE)
            .into_iter()
            .find(|t| t.contains(&a.number) && t.contains("请回电") && t.contains(VILLAGER))
    })
    .await;
    never_answered(&sim);
    assert!(
        sim.calls()
            .iter()
            .any(|c| !matches!(c, CallEvent::Ringing { .. } | CallEvent::Missed { .. })),
        "the gateway hung up rather than letting it ring out: {:?}",
        sim.calls()
    );
    // The villager hears busy and calls again: the same appeal, no second text.
    let acks = texts_to(&sim, VILLAGER).len();
    sim.ring(VILLAGER);
    wait_calls(&store, 2, 30).await;
    let rows = calls(&store).await;
    assert_eq!(
        rows,
        [
            (
                "filed".into(),
                Some(VILLAGER.into()),
                Some(a.number.clone())
            ),
            (
                "repeat".into(),
                Some(VILLAGER.into()),
                Some(a.number.clone())
            ),
        ]
    );
    assert_eq!(all_appeals(&store).await.len(), 1, "one appeal per caller");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(texts_to(&sim, VILLAGER).len(), acks, "no second text");
    // Both calls are on the appeal's timeline.
    let n = count(
        &store,
        &format!(
            "SELECT COUNT(*) FROM events WHERE appeal_id = {} AND kind = 'call' AND channel = 'voice'",
            a.id
        ),
    )
    .await;
    assert_eq!(n, 2);
    // The API: today's calls on m1, the latest first with its appeal.
    let r = http.get_token("/api/v1/calls?limit=5").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["today"]["m1"]["total"], 2, "{j}");
    assert_eq!(j["today"]["m1"]["callback"], 1, "{j}");
    assert_eq!(j["today"]["m1"]["repeat"], 1, "{j}");
    assert_eq!(j["calls"][0]["state"], "repeat", "{j}");
    assert_eq!(j["calls"][1]["appeal"], a.number.as_str(), "{j}");
    assert_eq!(
        j["calls"][1]["phone"], VILLAGER,
        "an API token sees whole numbers"
    );
    let stats = http.get_token("/api/v1/stats").await.json();
    assert_eq!(stats["calls_today"]["m1"]["total"], 2, "{stats}");
    assert_eq!(http.get_token("/api/v1/calls?limit=0").await.status, 400);
    d.stop().await;
}
both_backends!(missed_call, missed_call_files_one_callback_appeal);

async fn withheld_caller_is_recorded_not_filed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions::default()).await;
    let (d, store, _) = daemon(&db, &sim, "").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.ring("");
    wait_calls(&store, 1, 30).await;
    assert_eq!(calls(&store).await, [("withheld".into(), None, None)]);
    assert!(all_appeals(&store).await.is_empty());
    never_answered(&sim);
    d.stop().await;
}
both_backends!(withheld, withheld_caller_is_recorded_not_filed);

/// A call and 20 SMS at once: every text is filed once, the call once, nothing lost.
async fn a_call_among_twenty_texts(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions::default()).await;
    let (d, store, _) = daemon(&db, &sim, "").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut expected = Vec::new();
    for i in 0..20 {
        let phone = format!("1370000{i:04}");
        let text = format!("第{i}组的水渠堵了，请派人疏通");
        if i == 10 {
            sim.ring(VILLAGER);
        }
        deliver(&sim, i, &phone, &text);
        expected.push((phone, text));
    }
    wait_calls(&store, 1, 60).await;
    wait_appeals(&store, 21, 60).await;
    let appeals = all_appeals(&store).await;
    let (texts, call): (Vec<_>, Vec<_>) = appeals
        .into_iter()
        .partition(|a| a.category != CALLBACK_CATEGORY);
    filed_once(&texts, &expected);
    assert_eq!(call.len(), 1);
    assert_eq!(call[0].phone, VILLAGER);
    // 21 acknowledgements, each once.
    wait_for(60, "every acknowledgement", || async {
        expected
            .iter()
            .chain([(VILLAGER.to_string(), String::new())].iter())
            .all(|(p, _)| !texts_to(&sim, p).is_empty())
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (phone, _) in &expected {
        assert_eq!(texts_to(&sim, phone).len(), 1, "{phone}");
    }
    assert_eq!(texts_to(&sim, VILLAGER).len(), 1);
    assert_eq!(sim.stored_count(), 0, "the SIM is drained");
    never_answered(&sim);
    d.stop().await;
}
both_backends!(call_among_texts, a_call_among_twenty_texts);

async fn voice_off_leaves_calls_alone(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        rings: 2,
        ..SimOptions::default()
    })
    .await;
    let toml = config_with_directory(&db, &sim).replace(
        "init_timeout_secs = 10",
        "init_timeout_secs = 10\nvoice = \"off\"",
    );
    let d = InProcess::start(parse_config(&toml), Clock::System);
    let store = db.store().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.ring(VILLAGER);
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| s
            .calls()
            .iter()
            .any(|c| matches!(c, CallEvent::Missed { .. })))
            .await,
        "the call rings out: {:?}",
        sim.calls()
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM calls").await, 0);
    assert!(all_appeals(&store).await.is_empty());
    d.stop().await;
}
both_backends!(voice_off, voice_off_leaves_calls_alone);
