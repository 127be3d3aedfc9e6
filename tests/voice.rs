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
use appeal_gateway::sim::{CallEvent, Clip, Dialect, IncomingCall, SimModem, SimOptions};
use appeal_gateway::store::Store;
use common::voice::*;
use common::*;

/// The daemon on `db` and `sim` in callback mode, its API on a free port with the test token.
async fn daemon(db: &TestDb, sim: &SimModem, extra: &str) -> (InProcess, Store, webutil::Http) {
    let (d, store, port) = voice_daemon(db, sim, "callback", webutil::TOKEN, extra).await;
    (
        d,
        store,
        webutil::Http::new(format!("http://127.0.0.1:{port}")),
    )
}

async fn missed_call_files_one_callback_appeal(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(voice_options()).await;
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
    let sim = sim_with(voice_options()).await;
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
    let sim = sim_with(voice_options()).await;
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
        ..voice_options()
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

/// One callback flow in `dialect`: the call announced as `call` says, the modem ignoring the
/// hang-ups in `ignored` (and never answering the first `silent` command, if any), so the
/// gateway walks its rejection chain to `want` ("chup", "ath", "qhup"). One appeal, the caller
/// texted, never answered, and the SMS side still works afterwards.
async fn rejected_in_dialect(
    backend: Backend,
    dialect: Dialect,
    call: IncomingCall,
    ignored: &[&str],
    silent: Option<&str>,
    want: &str,
) {
    let db = TestDb::new(backend).await;
    // Rings enough for three hang-up tries to be confirmed or not before the caller gives up.
    let sim = sim_with(SimOptions {
        dialect,
        rings: 25,
        ..voice_options()
    })
    .await;
    sim.ignore_hangups(ignored);
    let (d, store, _) = daemon(&db, &sim, "").await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    if let Some(prefix) = silent {
        sim.silent_commands(prefix, 1, true);
    }
    sim.call(call);
    wait_calls(&store, 1, 40).await;
    let rows = calls(&store).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_deref()),
        ("filed", Some(VILLAGER))
    );
    let number = rows[0].2.clone().expect("the call's appeal");
    assert_eq!(
        call_endings(&store).await[0].0,
        want,
        "{:?}",
        sim.commands()
    );
    let by = rejected_by(&sim);
    assert_eq!(by.len(), 1, "one hang-up took: {by:?}");
    assert_eq!(by[0].to_ascii_lowercase(), want);
    never_answered(&sim);
    wait_for(30, "the caller's text", || async {
        texts_to(&sim, VILLAGER)
            .into_iter()
            .find(|t| t.contains(&number))
    })
    .await;
    // The line is still the SMS line it was.
    deliver(&sim, 0, "13700000009", "村口的路灯坏了三天了");
    wait_appeals(&store, 2, 30).await;
    assert_eq!(texts_to(&sim, VILLAGER).len(), 1);
    d.stop().await;
}

/// SIM800: six-field +CLIP, RING said twice per ring; AT+CHUP takes.
async fn sim800_duplicate_rings(backend: Backend) {
    let call = IncomingCall {
        duplicate_rings: true,
        ..IncomingCall::new(VILLAGER)
    };
    rejected_in_dialect(backend, Dialect::Sim800, call, &[], None, "chup").await;
}
both_backends!(sim800_callback, sim800_duplicate_rings);

/// SIM7600: +CLIP before the first RING, `\r\r\n` framing, +CLCC URCs; AT+CHUP ignored, so ATH,
/// which works only because init sent AT+CVHU=0.
async fn sim7600_ath_after_cvhu(backend: Backend) {
    let call = IncomingCall {
        clip: Clip::BeforeRing,
        ..IncomingCall::new(VILLAGER)
    };
    rejected_in_dialect(backend, Dialect::Sim7600, call, &["CHUP"], None, "ath").await;
}
both_backends!(sim7600_callback, sim7600_ath_after_cvhu);

/// EC25: no +CLIP at all (the number comes in ccinfo), AT+CHUP and ATH ignored, AT+QHUP
/// executed but never answered.
async fn ec25_qhup_without_answer(backend: Backend) {
    let call = IncomingCall {
        clip: Clip::Missing,
        ..IncomingCall::new(VILLAGER)
    };
    rejected_in_dialect(
        backend,
        Dialect::Ec25,
        call,
        &["CHUP", "ATH"],
        Some("AT+QHUP"),
        "qhup",
    )
    .await;
}
both_backends!(ec25_callback, ec25_qhup_without_answer);

/// A plain 27.007 modem that never sends +CLIP: the number comes from AT+CLCC.
async fn generic_number_from_clcc(backend: Backend) {
    let call = IncomingCall {
        clip: Clip::Missing,
        ..IncomingCall::new(VILLAGER)
    };
    rejected_in_dialect(backend, Dialect::Generic, call, &[], None, "chup").await;
}
both_backends!(generic_callback, generic_number_from_clcc);

/// The caller gives up after one ring while the gateway's AT+CLCC goes unanswered: each
/// dialect's end URC (SIM800 NO CARRIER, SIM7600 MISSED_CALL, EC25 ccinfo -1) ends the call as
/// the caller's, nothing is hung up, and the callback appeal is still filed. (A plain 27.007
/// modem says nothing when a ringing caller gives up; there only the call list can tell, and
/// the gateway cannot know whether its hang-up or the caller ended it.)
async fn caller_hangs_up_first(backend: Backend, dialect: Dialect) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        dialect,
        ..voice_options()
    })
    .await;
    let (d, store, _) = daemon(&db, &sim, "").await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.silent_commands("AT+CLCC", 1, true);
    sim.call(IncomingCall {
        gives_up_after: Some(1),
        ..IncomingCall::new(VILLAGER)
    });
    wait_calls(&store, 1, 40).await;
    let rows = calls(&store).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "filed");
    assert_eq!(call_endings(&store).await[0].0, "caller");
    assert!(rejected_by(&sim).is_empty(), "{:?}", sim.calls());
    assert!(
        sim.calls()
            .iter()
            .any(|c| matches!(c, CallEvent::Missed { .. })),
        "{:?}",
        sim.calls()
    );
    never_answered(&sim);
    wait_appeals(&store, 1, 30).await;
    d.stop().await;
}

async fn caller_first_each_dialect(backend: Backend) {
    for dialect in [Dialect::Sim800, Dialect::Sim7600, Dialect::Ec25] {
        caller_hangs_up_first(backend, dialect).await;
    }
}
both_backends!(caller_first, caller_first_each_dialect);

/// Withheld in each dialect's own words (SIM800's `"",128,...,1`, 27.007's CLI validity 1,
/// ccinfo with an empty number): recorded, never filed, still rejected.
async fn withheld_each_dialect(backend: Backend) {
    for dialect in [Dialect::Sim800, Dialect::Sim7600, Dialect::Ec25] {
        let db = TestDb::new(backend).await;
        let sim = sim_with(SimOptions {
            dialect,
            ..voice_options()
        })
        .await;
        let (d, store, _) = daemon(&db, &sim, "").await;
        wait_command(&sim, "AT+CRC=1", 20).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        sim.call(IncomingCall::new(""));
        wait_calls(&store, 1, 30).await;
        assert_eq!(
            calls(&store).await,
            [("withheld".into(), None, None)],
            "{dialect:?}"
        );
        assert!(all_appeals(&store).await.is_empty());
        assert_eq!(rejected_by(&sim).len(), 1, "{dialect:?}: {:?}", sim.calls());
        d.stop().await;
    }
}
both_backends!(withheld_dialects, withheld_each_dialect);

/// A call that rings while AT+CMGS waits at its prompt (the modem slow to answer) is taken
/// after the send: the acknowledgement goes out once, the call is filed once.
async fn a_call_during_a_send(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(voice_options()).await;
    let (d, store, _) = daemon(&db, &sim, "").await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.set_latency(Duration::from_millis(400));
    deliver(&sim, 0, "13700000009", "村口的路灯坏了三天了");
    wait_command(&sim, "AT+CMGS=", 30).await;
    sim.ring(VILLAGER);
    wait_calls(&store, 1, 40).await;
    sim.set_latency(Duration::ZERO);
    wait_appeals(&store, 2, 30).await;
    wait_for(30, "both acknowledgements", || async {
        (!texts_to(&sim, VILLAGER).is_empty() && !texts_to(&sim, "13700000009").is_empty())
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(texts_to(&sim, "13700000009").len(), 1, "sent once");
    assert_eq!(texts_to(&sim, VILLAGER).len(), 1);
    assert_eq!(calls(&store).await.len(), 1);
    never_answered(&sim);
    d.stop().await;
}
both_backends!(call_during_send, a_call_during_a_send);

/// The network's release takes a second after the hang-up's OK (voice-modems.md pitfall 3):
/// the gateway waits for the call list to empty instead of trying the next command.
async fn slow_release_is_waited_for(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        dialect: Dialect::Sim800,
        hangup_delay: Duration::from_millis(1200),
        ..voice_options()
    })
    .await;
    let (d, store, _) = daemon(&db, &sim, "").await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.ring(VILLAGER);
    wait_calls(&store, 1, 30).await;
    assert_eq!(call_endings(&store).await[0].0, "chup");
    assert_eq!(rejected_by(&sim), ["CHUP"]);
    assert!(
        !sim.commands().iter().any(|c| c == "ATH"),
        "no second hang-up"
    );
    d.stop().await;
}
both_backends!(slow_release, slow_release_is_waited_for);

/// Huawei ME909s: 27.007 announcements, `^CEND` after the end; AT+CHUP takes.
async fn me909_chup(backend: Backend) {
    rejected_in_dialect(
        backend,
        Dialect::Me909,
        IncomingCall::new(VILLAGER),
        &[],
        None,
        "chup",
    )
    .await;
}
both_backends!(me909_callback, me909_chup);
