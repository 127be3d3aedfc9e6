//! What the gateway does when parts go missing, a modem never answers, or it must hold back:
//! the timed-out concatenation with its gap mark, an unresponsive modem that comes back, and
//! the per-modem send rate. Each runs on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use appeal_gateway::clock::Clock;
use common::*;

/// Two of three parts arrive; after the concatenation timeout the text is filed with a mark
/// where the missing part was. Time is moved with the manual clock, not slept.
async fn missing_part(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let clock = Clock::manual(appeal_gateway::clock::Clock::System.now());
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        clock.clone(),
    );
    let store = db.store().await;
    let text = format!(
        "第一段{}第二段{}第三段{}",
        "甲".repeat(64),
        "乙".repeat(64),
        "丙".repeat(64)
    );
    sim.receive_parts("13811112222", &text, &[0, 2]);
    wait_for(30, "two parts parked", || async {
        (count(&store, "SELECT COUNT(*) FROM inbox WHERE state = 'part'").await == 2).then_some(())
    })
    .await;
    // Not yet: the wait for the missing part is not over.
    clock.advance(chrono::Duration::minutes(9));
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM appeals").await,
        0,
        "filed before the timeout"
    );
    clock.advance(chrono::Duration::minutes(2));
    let filed: String = wait_for(30, "filed after the timeout", || async {
        sqlx::query_scalar::<_, String>("SELECT text FROM appeals")
            .fetch_optional(store.reader())
            .await
            .unwrap()
    })
    .await;
    assert!(filed.contains("【第2段缺失】"), "gap marked: {filed}");
    assert!(
        filed.starts_with("第一段") && filed.contains("丙"),
        "{filed}"
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM messages WHERE has_gap").await,
        1
    );
    // The villager still gets the number.
    wait_sent(&sim, 1, 30).await;
    assert_eq!(sim.sent_texts().len(), 1);
    daemon.stop().await;
}
both_backends!(missing_part_filed_with_gap_after_timeout, missing_part);

/// A modem that never answers is reported down (not waited on forever); when it starts to
/// answer again the daemon initialises it and files what arrived meanwhile.
async fn silent_modem(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    sim.set_unresponsive(true);
    let toml = config_toml(&db.url, &sim.device_path(), "")
        .replace("init_timeout_secs = 10", "init_timeout_secs = 2");
    let daemon = InProcess::start(parse_config(&toml), Clock::System);
    let store = db.store().await;
    sim.receive_sms("13822223333", "停水三天了");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(count(&store, "SELECT COUNT(*) FROM appeals").await, 0);
    sim.set_unresponsive(false);
    wait_appeals(&store, 1, 60).await;
    wait_sent(&sim, 1, 30).await;
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM appeals").await,
        1,
        "filed once"
    );
    assert_eq!(sim.sent_texts().len(), 1, "acknowledged once");
    daemon.stop().await;
}
both_backends!(unresponsive_modem_recovers, silent_modem);

/// The per-modem rate (governor, `send_per_minute`): a burst of 10, then one every 6 s. The
/// daemon idles first: an idle sender must not spend its burst on polls that find nothing
/// (it did: every empty claim took a slot, so after ten idle seconds the burst was gone).
async fn rate_limited(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let toml = config_toml(&db.url, &sim.device_path(), "")
        .replace("send_per_minute = 100000", "send_per_minute = 10");
    let daemon = InProcess::start(parse_config(&toml), Clock::System);
    let store = db.store().await;
    tokio::time::sleep(Duration::from_secs(14)).await;
    for i in 0..13 {
        sim.receive_sms(&format!("1390000{i:04}"), &format!("路灯坏了 {i}"));
    }
    wait_appeals(&store, 13, 30).await;
    wait_sent(&sim, 10, 30).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.sent_texts().len(), 10, "the 11th waits for the rate");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'").await,
        3
    );
    wait_sent(&sim, 11, 30).await;
    daemon.stop().await;
}
both_backends!(per_modem_send_rate, rate_limited);

/// Service numbers, automatic replies and a flood from one phone are recorded, never filed or
/// answered, so the gateway cannot loop with a machine.
async fn machines_and_floods(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let toml = config_toml(
        &db.url,
        &sim.device_path(),
        "[intake]\nflood_per_hour = 3\n",
    );
    let daemon = InProcess::start(parse_config(&toml), Clock::System);
    let store = db.store().await;
    sim.receive_sms("10086", "尊敬的客户，您的话费余额不足10元");
    sim.receive_sms("13833334444", "【自动回复】您好，我正在开会，稍后回复");
    for i in 1..=5 {
        sim.receive_sms(
            "13855556666",
            &format!("第{i}件事：村口第{i}盏路灯坏了，请派人修理"),
        );
    }
    wait_for(30, "all 7 texts handled", || async {
        (count(&store, "SELECT COUNT(*) FROM messages").await == 7).then_some(())
    })
    .await;
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM messages WHERE kind = 'service-sender'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM messages WHERE kind = 'auto-reply'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM messages WHERE kind = 'flood'").await,
        2
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM appeals").await, 3);
    wait_sent(&sim, 3, 30).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = sim.sent_texts();
    assert_eq!(
        sent.len(),
        3,
        "only the first three texts of the flooding phone are answered"
    );
    assert!(sent.iter().all(|(to, _)| to == "13855556666"));
    daemon.stop().await;
}
both_backends!(machines_and_floods_are_not_answered, machines_and_floods);

/// A modem that routes every message directly (`+CMT`) whatever `+CNMI` asked for: each is
/// committed and then acknowledged with `+CNMA` (the network holds the next one until then), so
/// all are filed once and nothing lands on the SIM.
async fn direct_routing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = appeal_gateway::sim::SimModem::start(appeal_gateway::sim::SimOptions {
        direct_delivery: true,
        ..Default::default()
    })
    .await
    .expect("simulated modem");
    let (daemon, store) = gateway(&db, &sim).await;
    let work: Vec<(String, String)> = (0..20)
        .map(|i| (format!("1351111{i:04}"), format!("桥头的路灯坏了，第{i}盏")))
        .collect();
    for (p, t) in &work {
        sim.receive_sms(p, t);
    }
    wait_appeals(&store, 20, 60).await;
    let mut filed: Vec<String> = sqlx::query_scalar("SELECT text FROM appeals")
        .fetch_all(store.reader())
        .await
        .unwrap();
    filed.sort();
    let mut expected: Vec<String> = work.iter().map(|(_, t)| t.clone()).collect();
    expected.sort();
    assert_eq!(filed, expected);
    assert_eq!(sim.stored_count(), 0, "routed messages never touch the SIM");
    wait_sent(&sim, 20, 30).await;
    assert_eq!(sim.sent_texts().len(), 20, "one acknowledgement each");
    daemon.stop().await;
}
both_backends!(direct_routing_acknowledged_after_commit, direct_routing);
