//! The keypad menu end to end (`voice = "ivr"`): the daemon answers the simulated modem's call
//! through the pty, speaks by the modem's TTS and hears the caller's keys in the modem's own
//! format, on the two families that can (Quectel EC25: AT+QWTTS and +QTONEDET ASCII codes;
//! SIMCom SIM7600: AT+CTTS and +RXDTMF), on SQLite and PostgreSQL. A modem without TTS falls
//! back to callback.

mod common;

use std::time::Duration;

use appeal_gateway::appeals::Appeal;
use appeal_gateway::calls::CALLBACK_CATEGORY;
use appeal_gateway::clock::Clock;
use appeal_gateway::modem::ivr;
use appeal_gateway::sim::{CallEvent, Dialect, IncomingCall, Outbound, SimModem, SimOptions};
use appeal_gateway::store::Store;
use common::voice::*;
use common::*;

/// The command that turns key detection on: sent once per answered call.
fn dtmf_on(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Ec25 => "AT+QTONEDET=1",
        _ => "AT+DDET=1",
    }
}

/// Every prompt the modem was told to speak, decoded from its UCS2 hex.
fn spoken(sim: &SimModem) -> Vec<String> {
    sim.commands()
        .iter()
        .filter(|c| c.starts_with("AT+QWTTS=1,") || c.starts_with("AT+CTTS=1,"))
        .filter_map(|c| {
            let hex = c.split('"').nth(1)?;
            let units: Vec<u16> = (0..hex.len() / 4)
                .filter_map(|i| u16::from_str_radix(&hex[i * 4..i * 4 + 4], 16).ok())
                .collect();
            String::from_utf16(&units).ok()
        })
        .collect()
}

fn answered(sim: &SimModem) -> usize {
    sim.calls()
        .iter()
        .filter(|c| matches!(c, CallEvent::Answered { .. }))
        .count()
}

/// Rings, waits for the gateway to answer the `n`th call and turn key detection on, then keys
/// `keys` (`None`: hangs up instead); returns once the call's row is written.
async fn call_and_key(
    sim: &SimModem,
    store: &Store,
    dialect: Dialect,
    n: usize,
    keys: Option<&str>,
) {
    sim.call(IncomingCall::new(VILLAGER));
    // The welcome is spoken after key detection is on: keys from then on are heard.
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| spoken(s)
            .iter()
            .filter(|p| p.as_str() == ivr::WELCOME)
            .count()
            >= n)
            .await,
        "call {n} answered and welcomed: {:?}",
        sim.commands()
    );
    assert!(
        sim.commands()
            .iter()
            .filter(|c| *c == dtmf_on(dialect))
            .count()
            >= n
    );
    assert_eq!(answered(sim), n);
    match keys {
        Some(k) => sim.dtmf(k),
        None => sim.caller_hangs_up(),
    }
    wait_calls(store, n as i64, 40).await;
}

/// The villager texts an appeal, the cadre accepts and resolves it: its survey waits.
async fn resolved_appeal(sim: &SimModem, store: &Store) -> Appeal {
    deliver(sim, 0, VILLAGER, "三组的水渠堵了，请派人疏通");
    wait_appeals(store, 1, 30).await;
    let a = all_appeals(store).await.remove(0);
    let short = &a.number[a.number.len() - 3..];
    deliver(sim, 1, CADRE, &format!("JS{short}"));
    deliver(sim, 2, CADRE, &format!("BJ{short} 已疏通"));
    wait_for(30, "the survey", || async {
        let n = count(
            store,
            "SELECT COUNT(*) FROM appeals WHERE survey_state = 'pending'",
        )
        .await;
        (n == 1).then_some(())
    })
    .await;
    a
}

async fn menu_in_dialect(backend: Backend, dialect: Dialect) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        dialect,
        rings: 30,
        ..voice_options()
    })
    .await;
    let (d, store, _) = voice_daemon(&db, &sim, "ivr", "ivr-test-token-0123456789", "").await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    wait_command(&sim, dtmf_on(dialect).replace("=1", "=?").as_str(), 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // A texted appeal, accepted and resolved by the cadre: a survey waits.
    let texted = resolved_appeal(&sim, &store).await;

    // 2 then #: the status of the latest appeal, spoken digit by digit; nothing filed.
    call_and_key(&sim, &store, dialect, 1, Some("2#")).await;
    let digits = ivr::spoken_digits(&texted.number);
    assert!(
        spoken(&sim).iter().any(|p| p.contains(&digits)),
        "{:?}",
        spoken(&sim)
    );
    let rows = call_endings(&store).await;
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2.as_deref()),
        ("ivr", Some("2:latest"))
    );
    assert_eq!(calls(&store).await[0].0, "served");
    assert_eq!(all_appeals(&store).await.len(), 1);

    // 3 then 4: rated through the survey, the appeal closed, the villager thanked by SMS.
    let before = texts_to(&sim, VILLAGER).len();
    call_and_key(&sim, &store, dialect, 2, Some("34")).await;
    let rated = all_appeals(&store).await.remove(0);
    assert_eq!(rated.rating, Some(4), "{:?}", call_endings(&store).await);
    assert_eq!(rated.status.as_str(), "closed");
    assert_eq!(call_endings(&store).await[1].2.as_deref(), Some("3:4"));
    wait_for(30, "the thanks", || async {
        (texts_to(&sim, VILLAGER).len() > before).then_some(())
    })
    .await;

    // 1: a callback appeal, the caller texted its number.
    call_and_key(&sim, &store, dialect, 3, Some("1")).await;
    wait_appeals(&store, 2, 30).await;
    let callback = all_appeals(&store)
        .await
        .into_iter()
        .find(|a| a.category == CALLBACK_CATEGORY)
        .expect("the callback appeal");
    assert_eq!(
        calls(&store).await[2],
        (
            "filed".into(),
            Some(VILLAGER.into()),
            Some(callback.number.clone())
        )
    );
    assert_eq!(call_endings(&store).await[2].2.as_deref(), Some("1"));

    // Hung up in the middle of the menu: recorded, and it joins the open callback appeal.
    call_and_key(&sim, &store, dialect, 4, None).await;
    let last = call_endings(&store).await.remove(3);
    assert_eq!(last.0, "caller");
    assert!(
        last.2.as_deref().is_some_and(|m| m.starts_with("hung-up:")),
        "{last:?}"
    );
    assert_eq!(calls(&store).await[3].0, "repeat");
    assert_eq!(all_appeals(&store).await.len(), 2);
    // The modem was hung up by the gateway after each finished menu, never left ringing.
    assert!(
        !sim.calls()
            .iter()
            .any(|c| matches!(c, CallEvent::Missed { .. })),
        "{:?}",
        sim.calls()
    );
    d.stop().await;
}

async fn ec25_menu(backend: Backend) {
    menu_in_dialect(backend, Dialect::Ec25).await;
}
both_backends!(ec25, ec25_menu);

async fn sim7600_menu(backend: Backend) {
    menu_in_dialect(backend, Dialect::Sim7600).await;
}
both_backends!(sim7600, sim7600_menu);

/// SIM800 knows DTMF but has no TTS: `voice = "ivr"` there rejects and files, like callback.
async fn without_tts_falls_back(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        dialect: Dialect::Sim800,
        ..voice_options()
    })
    .await;
    let (d, store, _) = voice_daemon(&db, &sim, "ivr", "ivr-test-token-0123456789", "").await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.ring(VILLAGER);
    wait_calls(&store, 1, 30).await;
    assert_eq!(calls(&store).await[0].0, "filed");
    let e = call_endings(&store).await.remove(0);
    assert_eq!((e.0.as_str(), e.1.as_str()), ("chup", "callback"));
    never_answered(&sim);
    // The probe ran once, at init; the call did not probe again.
    let probes = sim
        .commands()
        .iter()
        .filter(|c| c.as_str() == "AT+CTTS=?")
        .count();
    assert_eq!(probes, 1, "{:?}", sim.commands());
    d.stop().await;
}
both_backends!(no_tts, without_tts_falls_back);

/// The outbound rating call (issue 10 part 3) for a villager who left the SMS survey
/// unanswered: nothing before rating_call_after_hours; then a call that finds the line busy,
/// no retry before rating_call_retry_mins, the retry answered, the prompt naming the appeal,
/// one key recorded as the rating through the survey (the appeal closed), and no call after.
async fn rating_call_in_dialect(backend: Backend, dialect: Dialect) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        dialect,
        ..voice_options()
    })
    .await;
    let clock = Clock::manual(Clock::System.now());
    let (d, store, _) = voice_daemon_at(
        &db,
        &sim,
        "ivr",
        "ivr-test-token-0123456789",
        "[scheduler]\ninterval_secs = 1\n",
        clock.clone(),
    )
    .await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    let a = resolved_appeal(&sim, &store).await;
    let dials = |s: &SimModem| s.commands().iter().filter(|c| c.starts_with("ATD")).count();
    // 47 hours on: the survey reminder, no call.
    clock.advance(chrono::Duration::hours(47));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(dials(&sim), 0);
    // 49 hours: the first call finds the line busy.
    sim.script_outbound(Outbound::Busy);
    clock.advance(chrono::Duration::hours(2));
    wait_for(30, "the busy attempt", || async {
        (count(
            &store,
            "SELECT COUNT(*) FROM rating_calls WHERE outcome = 'busy'",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
    assert_eq!(
        sim.commands()
            .iter()
            .filter(|c| *c == &format!("ATD{VILLAGER};"))
            .count(),
        1
    );
    // Within the retry pause nothing is dialled.
    clock.advance(chrono::Duration::minutes(100));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(dials(&sim), 1);
    // After it, the retry is answered; the villager keys 5 during the prompt.
    clock.advance(chrono::Duration::minutes(30));
    let digits = ivr::spoken_digits(&a.number);
    assert!(
        sim.wait_until(Duration::from_secs(30), |s| spoken(s)
            .iter()
            .any(|p| p.contains(&digits) && p.contains("打分")))
            .await,
        "the rating prompt: {:?}",
        spoken(&sim)
    );
    sim.dtmf("5");
    wait_for(30, "the rated attempt", || async {
        (count(
            &store,
            "SELECT COUNT(*) FROM rating_calls WHERE outcome = 'rated' AND score = 5",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
    let rated = all_appeals(&store).await.remove(0);
    assert_eq!(rated.rating, Some(5));
    assert_eq!(rated.status.as_str(), "closed");
    // The gateway hung up; a day later nobody is called again.
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| s
            .calls()
            .iter()
            .any(|c| matches!(c, CallEvent::HungUp)))
            .await
    );
    clock.advance(chrono::Duration::hours(24));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(dials(&sim), 2);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rating_calls").await, 2);
    d.stop().await;
}

async fn ec25_rating_call(backend: Backend) {
    rating_call_in_dialect(backend, Dialect::Ec25).await;
}
both_backends!(rating_call_ec25, ec25_rating_call);

async fn sim7600_rating_call(backend: Backend) {
    rating_call_in_dialect(backend, Dialect::Sim7600).await;
}
both_backends!(rating_call_sim7600, sim7600_rating_call);

/// The modem reboots in the middle of a menu call (RDY, every setting forgotten, QTONEDET
/// among them): the call is recorded as hung up and becomes a callback, the session comes
/// back, and the next call's keys are heard again because key detection is switched on per
/// call.
async fn reboot_mid_call(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        dialect: Dialect::Ec25,
        rings: 30,
        ..voice_options()
    })
    .await;
    let (d, store, _) = voice_daemon(&db, &sim, "ivr", "ivr-test-token-0123456789", "").await;
    wait_command(&sim, "AT+QTONEDET=?", 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.call(IncomingCall::new(VILLAGER));
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| spoken(s)
            .iter()
            .any(|p| p.as_str() == ivr::WELCOME))
            .await
    );
    sim.reboot();
    wait_calls(&store, 1, 60).await;
    let first = call_endings(&store).await.remove(0);
    assert!(
        first
            .2
            .as_deref()
            .is_some_and(|m| m.starts_with("hung-up:")),
        "{first:?}"
    );
    assert_eq!(calls(&store).await[0].0, "filed");
    // The session re-initialises; the next caller's key is heard.
    wait_for(30, "the modem back", || async {
        (sim.commands()
            .iter()
            .filter(|c| *c == "AT+QTONEDET=?")
            .count()
            >= 2)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    call_and_key(&sim, &store, Dialect::Ec25, 2, Some("2#")).await;
    assert_eq!(call_endings(&store).await[1].2.as_deref(), Some("2:latest"));
    d.stop().await;
}
both_backends!(reboot_during_menu, reboot_mid_call);

/// rating_calls_per_hour is the SIM's budget: a retry due by the rules waits until the hour
/// since the last call has passed.
async fn hourly_budget(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = sim_with(SimOptions {
        dialect: Dialect::Ec25,
        ..voice_options()
    })
    .await;
    let clock = Clock::manual(Clock::System.now());
    let extra = "[scheduler]\ninterval_secs = 1\n\n[voice]\nrating_calls_per_hour = 1\nrating_call_retry_mins = 1\n";
    let (d, store, _) = voice_daemon_at(
        &db,
        &sim,
        "ivr",
        "ivr-test-token-0123456789",
        extra,
        clock.clone(),
    )
    .await;
    wait_command(&sim, "AT+CRC=1", 20).await;
    resolved_appeal(&sim, &store).await;
    let dials = |s: &SimModem| s.commands().iter().filter(|c| c.starts_with("ATD")).count();
    sim.script_outbound(Outbound::Busy);
    sim.script_outbound(Outbound::Busy);
    clock.advance(chrono::Duration::hours(49));
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| dials(s) == 1)
            .await
    );
    // Due again by the retry pause, but the hour's one call is spent.
    clock.advance(chrono::Duration::minutes(5));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(dials(&sim), 1);
    clock.advance(chrono::Duration::minutes(56));
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| dials(s) == 2)
            .await
    );
    d.stop().await;
}
both_backends!(rating_call_budget, hourly_budget);
