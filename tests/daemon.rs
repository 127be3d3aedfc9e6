//! The daemon end to end against the simulated modem on a real pseudo-terminal: filing, the
//! acknowledgement, and what must hold when things go wrong. Each test runs on SQLite and on
//! PostgreSQL.

mod common;

use std::time::Duration;

use appeal_gateway::appeals::Appeal;
use common::*;

/// 200 messages from 50 phones in four shapes: GSM 7-bit, UCS2 Chinese, three-part UCS2
/// delivered out of order, and full-width digits.
fn workload() -> Vec<(String, String)> {
    (0..200)
        .map(|i| {
            let phone = format!("+861380000{:04}", i % 50);
            let text = match i % 4 {
                0 => format!("Road lamp {i} is broken near the school @ gate"),
                1 => format!("第{i}号：村口路灯坏了三天了"),
                2 => format!(
                    "第{i}号长诉求：{}",
                    "河边垃圾堆了好几天没人收，气味很大，希望村里尽快安排人清理。".repeat(4)
                ),
                _ => format!(
                    "我家电表号是{}，电费算错了",
                    fullwidth(&format!("{:08}", i * 7919))
                ),
            };
            (phone, text)
        })
        .collect()
}

/// Every expected (phone, text) filed exactly once, numbers unique.
fn check_filed_once(appeals: &[Appeal], expected: &[(String, String)]) {
    filed_once(appeals, expected);
}

fn check_acks(appeals: &[Appeal], sent: &[(String, String)]) {
    for a in appeals {
        let acks: Vec<_> = sent
            .iter()
            .filter(|(to, t)| to == &a.phone && t.contains(&a.number))
            .collect();
        assert_eq!(
            acks.len(),
            1,
            "one acknowledgement for {} to {}",
            a.number,
            a.phone
        );
        assert_eq!(
            acks[0].1,
            format!(
                "【双红村】您的诉求已收到，编号{}，回复CX{}查询进度。",
                a.number, a.number
            )
        );
    }
    assert_eq!(
        sent.len(),
        appeals.len(),
        "nothing but acknowledgements sent"
    );
}

async fn two_hundred_from_fifty_phones(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    let work = workload();
    for (i, (phone, text)) in work.iter().enumerate() {
        deliver(&sim, i, phone, text);
    }
    wait_appeals(&store, 200, 120).await;
    wait_sent(&sim, 200, 60).await;
    let appeals = all_appeals(&store).await;
    check_filed_once(&appeals, &work);
    check_acks(&appeals, &sim.sent_texts());
    // The full-width digits were folded.
    assert!(appeals
        .iter()
        .any(|a| a.text.contains("我家电表号是00023757")));
    // Duplicate parts may still be arriving; they are read, recognised and deleted too.
    wait_for(30, "the SIM emptied", || async {
        (sim.stored_count() == 0).then_some(())
    })
    .await;
    daemon.stop().await;
}
both_backends!(
    two_hundred_sms_from_fifty_phones,
    two_hundred_from_fifty_phones
);

async fn waiting_on_the_sim(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let work: Vec<(String, String)> = (0..30)
        .map(|i| (format!("1390000{:04}", i), format!("停电了，第{i}户")))
        .collect();
    for (p, t) in &work {
        sim.preload(p, t);
    }
    assert_eq!(sim.stored_count(), 30);
    let (daemon, store) = gateway(&db, &sim).await;
    wait_appeals(&store, 30, 60).await;
    wait_sent(&sim, 30, 30).await;
    check_filed_once(&all_appeals(&store).await, &work);
    wait_for(30, "the SIM emptied", || async {
        (sim.stored_count() == 0).then_some(())
    })
    .await;
    daemon.stop().await;
}
both_backends!(thirty_messages_waiting_before_start, waiting_on_the_sim);

async fn port_closes_mid_run(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    let work: Vec<(String, String)> = (0..40)
        .map(|i| (format!("1370000{:04}", i), format!("路坏了 {i}")))
        .collect();
    for (p, t) in &work[..20] {
        sim.receive_sms(p, t);
    }
    wait_appeals(&store, 20, 60).await;
    // The modem vanishes for 3 s; texts keep arriving meanwhile.
    let s2 = sim.clone();
    let closer = tokio::spawn(async move { s2.close_port(Duration::from_secs(3)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (p, t) in &work[20..] {
        sim.receive_sms(p, t);
    }
    closer.await.unwrap();
    wait_appeals(&store, 40, 90).await;
    wait_sent(&sim, 40, 60).await;
    check_filed_once(&all_appeals(&store).await, &work);
    daemon.stop().await;
}
both_backends!(port_closes_and_reopens, port_closes_mid_run);

async fn garbage_between_responses(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    let work: Vec<(String, String)> = (0..40)
        .map(|i| (format!("1360000{:04}", i), format!("水管爆了 {i}")))
        .collect();
    for (i, (p, t)) in work.iter().enumerate() {
        sim.inject_garbage(&[
            0x00, 0xFF, b'\r', b'+', b'X', b'Y', 0x1B, b'\r', b'\n', 0x80, b'\r', b'\r', b'\n',
        ]);
        sim.receive_sms(p, t);
        if i % 5 == 0 {
            sim.inject_garbage(b"\r\n+UNKNOWNURC: 1,2\r\nGARBAGE LINE\r\n\0\0\0");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_appeals(&store, 40, 60).await;
    wait_sent(&sim, 40, 60).await;
    check_filed_once(&all_appeals(&store).await, &work);
    daemon.stop().await;
}
both_backends!(garbage_bytes_lose_nothing, garbage_between_responses);

async fn cms_errors_on_send(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    // Transient (332 network timeout) twice: retried, then delivered.
    sim.fail_sends(332, 2);
    sim.receive_sms("13500000001", "路灯坏了");
    wait_sent(&sim, 1, 60).await;
    // The network has it; the row is marked right after the modem answers.
    let (state, attempts): (String, i64) = wait_for(30, "row marked sent", || async {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT state, attempts FROM outbox WHERE recipient = '13500000001'",
        )
        .fetch_one(store.reader())
        .await
        .ok()
        .filter(|(s, _)| s == "sent" || s == "delivered")
    })
    .await;
    assert!(state == "sent" || state == "delivered", "state {state}");
    assert_eq!(attempts, 3, "two failures then success");
    // Permanent (304 invalid PDU parameter): failed with the reason, not retried.
    sim.fail_sends(304, 1);
    sim.receive_sms("13500000002", "水停了");
    let (state, error): (String, Option<String>) = wait_for(60, "failed row", || async {
        sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT state, last_error FROM outbox WHERE recipient = '13500000002'",
        )
        .fetch_optional(store.reader())
        .await
        .unwrap()
        .filter(|(s, _)| s == "failed")
    })
    .await;
    assert_eq!(state, "failed");
    assert!(error.unwrap_or_default().contains("304"), "reason recorded");
    assert_eq!(sim.sent_texts().len(), 1);
    // Delivery reports come back and mark the first row delivered.
    wait_for(30, "delivery report", || async {
        let s: String =
            sqlx::query_scalar("SELECT state FROM outbox WHERE recipient = '13500000001'")
                .fetch_one(store.reader())
                .await
                .unwrap();
        (s == "delivered").then_some(())
    })
    .await;
    daemon.stop().await;
}
both_backends!(cms_errors_retried_or_failed, cms_errors_on_send);

/// kill -9 of the daemon process at random moments while 200 messages arrive; after the last
/// restart every message is filed exactly once and the SIM is empty.
async fn kill_nine(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let cfg_path = db.dir().join("gateway.toml");
    std::fs::write(&cfg_path, config_toml(&db.url, &sim.device_path(), "")).unwrap();
    let store = db.store().await;
    let work = workload();
    let mut child = Child::run(&cfg_path);
    let mut rng_state: u64 = 0x9e3779b97f4a7c15 ^ std::process::id() as u64;
    let mut next_rand = move || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    for (i, (phone, text)) in work.iter().enumerate() {
        deliver(&sim, i, phone, text);
        if i % 25 == 24 {
            // Let it get going, then kill it somewhere in the middle of its work.
            tokio::time::sleep(Duration::from_millis(100 + next_rand() % 900)).await;
            child.kill9();
            child = Child::run(&cfg_path);
        } else if i % 5 == 0 {
            tokio::time::sleep(Duration::from_millis(next_rand() % 60)).await;
        }
    }
    wait_appeals(&store, 200, 180).await;
    wait_for(60, "SIM emptied", || async {
        (sim.stored_count() == 0).then_some(())
    })
    .await;
    // The contract command reads the same appeals.
    let out = std::process::Command::new(bin())
        .args(["appeals", "list", "--json", "--config"])
        .arg(&cfg_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 200);
    for key in ["number", "phone", "text", "status", "received_at"] {
        assert!(
            listed[0].get(key).is_some(),
            "appeals list --json has {key}"
        );
    }
    child.kill9();
    let appeals = all_appeals(&store).await;
    check_filed_once(&appeals, &work);
    // Every appeal has its ack queued exactly once (sending is at least once across a kill).
    let acks = count(&store, "SELECT COUNT(*) FROM outbox WHERE kind = 'ack'").await;
    assert_eq!(acks, 200);
}
both_backends!(kill_nine_at_random_moments, kill_nine);
