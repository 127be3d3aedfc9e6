//! The outbox under field conditions: needs-operator errors, delivery reports after TP-MR wraps,
//! the per-recipient cap in the database by normalised number, stale leases, and quiet hours
//! for retries. Each test runs on SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use appeal_gateway::clock::Clock;
use appeal_gateway::outbox::{
    claim_batch, claim_next, delivery_report, enqueue, mark_handed, mark_sent, reclaim_stale,
    record_outcomes, recover_stale, renew_lease, NewSms, Outcome,
};
use appeal_gateway::store::Store;
use chrono::{DateTime, TimeZone, Utc};
use common::*;

async fn queue(store: &Store, recipient: &str, kind: &str, at: DateTime<Utc>) -> i64 {
    let mut tx = store.pool().begin().await.expect("begin");
    let id = enqueue(
        store,
        &mut tx,
        NewSms {
            recipient,
            text: "测试短信",
            kind,
            appeal_id: None,
            modem: Some("m1"),
            not_before: at,
        },
    )
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    id
}

async fn row(store: &Store, id: i64) -> (String, i64, i64, Option<String>) {
    use sqlx::Row;
    let r = sqlx::query(
        &store.sql("SELECT state, attempts, next_attempt_at, last_error FROM outbox WHERE id = ?"),
    )
    .bind(id)
    .fetch_one(store.reader())
    .await
    .expect("outbox row");
    (
        r.get("state"),
        r.get("attempts"),
        r.get("next_attempt_at"),
        r.get("last_error"),
    )
}

async fn state(store: &Store, id: i64) -> String {
    row(store, id).await.0
}

/// Sends `id` as `modem` with TP-MR `mr` (claim + mark_sent), at `now`.
async fn send_as(store: &Store, modem: &str, mr: u8, now: DateTime<Utc>) -> i64 {
    let c = claim_next(store, modem, "test", true, now)
        .await
        .expect("claim")
        .expect("a due row");
    mark_sent(store, c.id, modem, &[mr], now)
        .await
        .expect("mark sent");
    c.id
}

fn with_outbox(toml: String, from: &str, to: &str) -> String {
    assert!(toml.contains(from), "config has {from}");
    toml.replace(from, to)
}

// Item 4: a SIM/PIN/SMSC error keeps the message queued without spending an attempt, and it
// goes out once the modem can send again.
async fn needs_operator_keeps_the_message_queued(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let config = parse_config(&config_toml(&db.url, &sim.device_path(), ""));
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    // "SIM not inserted" five times: more answers than max_attempts (4) allows.
    sim.fail_sends(310, 5);
    // Three rows, claimed as one batch: the two behind the refused one go back with it,
    // untried and uncounted, and all three go once the modem can send.
    let now = appeal_gateway::clock::Clock::System.now();
    let mut ids = Vec::new();
    for phone in ["+8613800000001", "13800000002", "13800000003"] {
        ids.push(queue(&store, phone, "reply", now).await);
    }
    let daemon = InProcess::start(config, Clock::System);
    wait_for(30, "the SMS after the operator's fix", || async {
        (sim.sent_texts().len() == 3).then_some(())
    })
    .await;
    for id in ids {
        let (st, attempts, _, _) = wait_for(10, "sent recorded", || async {
            let r = row(&store, id).await;
            (r.0 == "sent" || r.0 == "delivered").then_some(r)
        })
        .await;
        assert!(st == "sent" || st == "delivered", "{id}: {st}");
        assert_eq!(
            attempts, 1,
            "needs-operator answers are not attempts ({id})"
        );
    }
    daemon.stop().await;
    sim.shutdown().await;
}
both_backends!(
    needs_operator_keeps_queued,
    needs_operator_keeps_the_message_queued
);

// Item 7: TP-MR wraps at 256; the report names its recipient.
async fn delivery_reports_match_the_recipient(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let t0 = Utc.with_ymd_and_hms(2022, 7, 13, 3, 0, 0).unwrap();
    let a = queue(&store, "+8613800000001", "reply", t0).await;
    let a_id = send_as(&store, "m1", 5, t0).await;
    assert_eq!(a, a_id);
    // Another recipient, the same modem and MR, sent later.
    let t1 = t0 + chrono::Duration::seconds(10);
    let b = queue(&store, "13900000002", "reply", t1).await;
    assert_eq!(send_as(&store, "m1", 5, t1).await, b);

    // The report for A (in another spelling of the number) finds A, not the newer B.
    let got = delivery_report(&store, "m1", 5, Some("8613800000001"), 0x00, t1)
        .await
        .expect("report");
    assert_eq!(got, Some(a));
    assert_eq!(state(&store, a).await, "delivered");
    assert_eq!(state(&store, b).await, "sent");

    // A late failure report for A must not turn a delivered row failed.
    delivery_report(&store, "m1", 5, Some("+8613800000001"), 0x41, t1)
        .await
        .expect("late report");
    assert_eq!(state(&store, a).await, "delivered");

    // 256 sends later the MR comes round again to A's number: the newest row is the one.
    let mut t = t1;
    for i in 0..256u32 {
        t += chrono::Duration::seconds(1);
        queue(&store, "13700000003", "reply", t).await;
        send_as(&store, "m1", (6 + i) as u8, t).await;
    }
    t += chrono::Duration::seconds(1);
    let a2 = queue(&store, "008613800000001", "reply", t).await;
    assert_eq!(send_as(&store, "m1", 5, t).await, a2);
    let got = delivery_report(&store, "m1", 5, Some("13800000001"), 0x41, t)
        .await
        .expect("report");
    assert_eq!(got, Some(a2));
    assert_eq!(state(&store, a2).await, "failed");
    assert_eq!(
        state(&store, a).await,
        "delivered",
        "the old row is untouched"
    );
    assert_eq!(state(&store, b).await, "sent");

    // A number nobody was sent to matches nothing.
    let none = delivery_report(&store, "m1", 5, Some("13611112222"), 0x00, t)
        .await
        .expect("report");
    assert_eq!(none, None);
    // A failure report for a row that already failed changes nothing; a delivered report
    // after it neither (the row stays failed, the network's first final word stands).
    delivery_report(&store, "m1", 5, Some("13800000001"), 0x00, t)
        .await
        .expect("report");
    assert_eq!(state(&store, a2).await, "failed");
}
both_backends!(
    delivery_reports_by_recipient,
    delivery_reports_match_the_recipient
);

// Item 11: the cap counts in the database by the national number; workflow texts to officials
// (alerts, escalations) are never held by it.
async fn cap_by_normalised_number_and_never_alerts(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let toml = with_outbox(
        config_toml(&db.url, &sim.device_path(), ""),
        "per_recipient_per_hour = 10000",
        "per_recipient_per_hour = 2",
    );
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let now = appeal_gateway::clock::Clock::System.now();
    let mut replies = Vec::new();
    for phone in ["+8613800000001", "13800000001", "008613800000001"] {
        replies.push(queue(&store, phone, "reply", now).await);
    }
    let mut alerts = Vec::new();
    for _ in 0..3 {
        alerts.push(queue(&store, "+8613900000009", "alert", now).await);
        alerts.push(queue(&store, "13900000009", "escalation", now).await);
    }
    let daemon = InProcess::start(parse_config(&toml), Clock::System);
    wait_sent(&sim, 8, 30).await;
    // Give a wrongly uncapped third reply the time to go out.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent = sim.sent_texts();
    let to_villager = sent
        .iter()
        .filter(|(to, _)| to.ends_with("13800000001"))
        .count();
    let to_official = sent
        .iter()
        .filter(|(to, _)| to.ends_with("13900000009"))
        .count();
    assert_eq!(
        to_villager, 2,
        "two texts an hour to one number, however written"
    );
    assert_eq!(to_official, 6, "alerts and escalations are never capped");
    for id in &alerts {
        let st = state(&store, *id).await;
        assert!(st == "sent" || st == "delivered", "alert {id}: {st}");
    }
    let held = count(&store, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'").await;
    assert_eq!(held, 1, "the third reply waits");
    daemon.stop().await;
    sim.shutdown().await;
}
both_backends!(
    cap_by_national_number,
    cap_by_normalised_number_and_never_alerts
);

// Item 12: a row a dead daemon left in `sending` is reclaimed by a live one without a restart.
async fn stale_lease_reclaimed_by_a_running_daemon(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let config = parse_config(&config_toml(&db.url, &sim.device_path(), ""));
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let daemon = InProcess::start(config, Clock::System);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Another daemon claims the row and dies with it: its lease is two minutes old.
    let id = queue(
        &store,
        "+8613800000001",
        "reply",
        appeal_gateway::clock::Clock::System.now() + chrono::Duration::days(1),
    )
    .await;
    let then = appeal_gateway::clock::Clock::System.now() + chrono::Duration::days(1);
    let c = claim_next(&store, "m1", "dead-host:m9", true, then)
        .await
        .expect("claim")
        .expect("row");
    assert_eq!(c.id, id);
    sqlx::query(&store.sql("UPDATE outbox SET claimed_at = ? WHERE id = ?"))
        .bind(
            (appeal_gateway::clock::Clock::System.now() - chrono::Duration::minutes(2))
                .timestamp_millis(),
        )
        .bind(id)
        .execute(store.pool())
        .await
        .expect("age the lease");
    sqlx::query(&store.sql("UPDATE outbox SET next_attempt_at = ? WHERE id = ?"))
        .bind(
            appeal_gateway::clock::Clock::System
                .now()
                .timestamp_millis(),
        )
        .bind(id)
        .execute(store.pool())
        .await
        .expect("due now");
    wait_sent(&sim, 1, 60).await;
    wait_for(10, "sent recorded", || async {
        (state(&store, id).await == "sent").then_some(())
    })
    .await;
    daemon.stop().await;
    sim.shutdown().await;
}
both_backends!(
    stale_lease_reclaimed,
    stale_lease_reclaimed_by_a_running_daemon
);

// Item 12: a lease renewed while the send is in flight is not reclaimed; an expired one is,
// whoever holds it.
async fn renewed_lease_is_not_reclaimed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let t0 = Utc.with_ymd_and_hms(2022, 7, 13, 3, 0, 0).unwrap();
    let lease = chrono::Duration::seconds(36);
    let live = queue(&store, "13800000001", "reply", t0).await;
    let dead = queue(&store, "13800000002", "reply", t0).await;
    claim_next(&store, "m1", "a:m1", false, t0)
        .await
        .unwrap()
        .unwrap();
    claim_next(&store, "m1", "b:m2", true, t0)
        .await
        .unwrap()
        .unwrap();
    // The live claimer renews 30 s in; the dead one never does.
    assert!(
        renew_lease(&store, live, "a:m1", t0 + chrono::Duration::seconds(30))
            .await
            .expect("renew")
    );
    let now = t0 + chrono::Duration::seconds(40);
    let n = reclaim_stale(&store, now - lease).await.expect("reclaim");
    assert_eq!(n, 1);
    assert_eq!(state(&store, live).await, "sending");
    assert_eq!(state(&store, dead).await, "queued");
    // The slow claimer's result still lands on its own row; a lease it lost cannot be renewed.
    assert!(!renew_lease(&store, dead, "b:m2", now).await.expect("renew"));
}
both_backends!(renewed_lease_kept, renewed_lease_is_not_reclaimed);

// Item 16: the retry of a held kind does not land in the quiet hours; an ack's retry does.
async fn retries_respect_quiet_hours(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let toml = with_outbox(
        config_toml(&db.url, &sim.device_path(), ""),
        "quiet_hours = \"00:00-00:00\"",
        "quiet_hours = \"22:00-07:00\"",
    );
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    // 21:59:59.5 in Shanghai: a retry one second later falls in the quiet hours.
    let start = Utc.with_ymd_and_hms(2022, 7, 13, 13, 59, 59).unwrap()
        + chrono::Duration::milliseconds(500);
    let clock = Clock::manual(start);
    let survey = queue(&store, "13800000001", "survey", start).await;
    let ack = queue(&store, "13800000002", "ack", start).await;
    sim.fail_sends(500, 2);
    let daemon = InProcess::start(parse_config(&toml), clock);
    let morning = Utc.with_ymd_and_hms(2022, 7, 13, 23, 0, 0).unwrap();
    let (st, _, next, _) = wait_for(30, "the survey's retry", || async {
        let r = row(&store, survey).await;
        (r.3.is_some()).then_some(r)
    })
    .await;
    assert_eq!(st, "queued");
    assert_eq!(next, morning.timestamp_millis(), "held until 07:00");
    let (_, _, next, _) = wait_for(30, "the ack's retry", || async {
        let r = row(&store, ack).await;
        (r.3.is_some()).then_some(r)
    })
    .await;
    assert!(
        next < (start + chrono::Duration::minutes(1)).timestamp_millis(),
        "an ack is never held: {next}"
    );
    daemon.stop().await;
    sim.shutdown().await;
}
both_backends!(quiet_hours_for_retries, retries_respect_quiet_hours);

/// Batch claims (issue 14): two claimers taking batches at once never share a row, every row
/// is taken, and each batch comes back in queue order (due time, then id), whatever order the
/// database's RETURNING gives.
async fn batch_claims_are_disjoint_and_ordered(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
    let mut all = Vec::new();
    for i in 0..60i64 {
        // Due times run against the ids for every third row, so id order is not queue order.
        let at = t0 - chrono::Duration::seconds(if i % 3 == 0 { 100 - i } else { i });
        all.push(queue(&store, &format!("1380000{i:04}"), "reply", at).await);
    }
    let claimer = |who: &'static str| {
        let store = store.clone();
        async move {
            let mut got = Vec::new();
            loop {
                let batch = claim_batch(&store, "m1", who, false, t0, 16)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return got;
                }
                assert!(batch.len() <= 16);
                let keys: Vec<(i64, i64)> =
                    batch.iter().map(|c| (c.next_attempt_at, c.id)).collect();
                let mut sorted = keys.clone();
                sorted.sort();
                assert_eq!(keys, sorted, "a batch is in queue order");
                got.extend(batch.into_iter().map(|c| c.id));
            }
        }
    };
    let (a, b) = tokio::join!(claimer("host:a"), claimer("host:b"));
    let mut taken: Vec<i64> = a.iter().chain(b.iter()).copied().collect();
    taken.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(taken, expected, "every row taken once, by one claimer");
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE state = 'sending'"
        )
        .await,
        60
    );
}
both_backends!(
    batch_claims_disjoint_ordered,
    batch_claims_are_disjoint_and_ordered
);

/// Sends to one modem keep the queue's order across batches, each text once: 40 queued texts
/// (more than two batches) reach the network in the order they were queued.
async fn one_modem_sends_in_queue_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let now = Clock::System.now() - chrono::Duration::minutes(1);
    let mut expected = Vec::new();
    for i in 0..40i64 {
        let phone = format!("1380000{:04}", i % 7);
        let text = format!("第{i}条");
        let mut tx = store.pool().begin().await.expect("begin");
        enqueue(
            &store,
            &mut tx,
            NewSms {
                recipient: &phone,
                text: &text,
                kind: "api",
                appeal_id: None,
                modem: Some("m1"),
                not_before: now + chrono::Duration::milliseconds(i),
            },
        )
        .await
        .expect("enqueue");
        tx.commit().await.expect("commit");
        expected.push((phone, text));
    }
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        Clock::System,
    );
    wait_sent(&sim, 40, 60).await;
    wait_for(30, "every result recorded", || async {
        (count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE state IN ('sent', 'delivered')",
        )
        .await
            == 40)
            .then_some(())
    })
    .await;
    let sent: Vec<(String, String)> = sim
        .sent_texts()
        .into_iter()
        .map(|(to, text)| (to.trim_start_matches("+86").to_string(), text))
        .collect();
    assert_eq!(sent, expected, "queue order, each once");
    daemon.stop().await;
    sim.shutdown().await;
}
both_backends!(sends_keep_queue_order, one_modem_sends_in_queue_order);

/// On a slow modem (seconds per `AT+CMGS`) a batch's first result is committed while the modem
/// is still at the next SMS, not after it: its status report, which the network sends within
/// a second or two and names the SMS by its recorded TP-MR, finds it. Every row ends
/// `delivered`.
async fn results_commit_during_a_slow_send(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        Clock::System,
    );
    // The modem is initialised (at full speed) once a first text is out.
    let first = queue(&store, "13800000001", "reply", Clock::System.now()).await;
    wait_sent(&sim, 1, 30).await;
    sim.set_latency(Duration::from_millis(1500));
    // Two rows in one commit, so one claim takes both.
    let mut tx = store.pool().begin().await.expect("begin");
    let mut two = Vec::new();
    for (phone, text) in [("13800000002", "第一条"), ("13800000003", "第二条")] {
        let sms = NewSms {
            recipient: phone,
            text,
            kind: "reply",
            appeal_id: None,
            modem: Some("m1"),
            not_before: Clock::System.now(),
        };
        two.push(enqueue(&store, &mut tx, sms).await.expect("enqueue"));
    }
    tx.commit().await.expect("commit");
    // Sampled when the first of the two is recorded: is the second already on the network?
    // Committed within FLUSH_AFTER of its answer, the first is recorded about a second before
    // the modem even prompts for the second; recorded after the second's answer, it is not.
    let second_out_first = wait_for(60, "the first of the two recorded", || async {
        let recorded = matches!(state(&store, two[0]).await.as_str(), "sent" | "delivered");
        recorded.then(|| sim.sent_texts().len() >= 3)
    })
    .await;
    assert!(
        !second_out_first,
        "the first result waited for the modem to finish the next SMS"
    );
    for id in [first, two[0], two[1]] {
        wait_for(60, "every status report matched", || async {
            (state(&store, id).await == "delivered").then_some(())
        })
        .await;
    }
    daemon.stop().await;
    sim.shutdown().await;
}
both_backends!(
    results_commit_while_the_modem_is_slow,
    results_commit_during_a_slow_send
);

// Issue 12: broadcasts are at most once. A broadcast row handed to the modem by a daemon that
// then died is `unconfirmed` after recovery, never queued again; one that was claimed but not
// yet handed goes back to the queue; a result recorded after a hand-over (a failure to retry)
// clears the mark, so a later crash re-sends the retry normally. An ack in the same crash is
// at least once and goes back too. A reclaim by a running daemon applies the same rule, and a
// result that comes late from the modem still records `sent`.
async fn handed_broadcasts_are_not_sent_again(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap();
    let handed = queue(&store, "13800000001", "broadcast", t0).await;
    let claimed = queue(&store, "13800000002", "broadcast", t0).await;
    let retried = queue(&store, "13800000003", "broadcast", t0).await;
    let ack = queue(&store, "13800000004", "ack", t0).await;
    let rows = claim_batch(&store, "m1", "host:m1", false, t0, 10)
        .await
        .expect("claim");
    assert_eq!(rows.len(), 4);
    for id in [handed, retried, ack] {
        assert!(mark_handed(&store, id, "host:m1", t0).await.expect("hand"));
    }
    // Another claimer's row is not handed over by this one.
    assert!(!mark_handed(&store, claimed, "other:m9", t0)
        .await
        .expect("hand"));
    let retry = rows.iter().find(|r| r.id == retried).expect("claimed");
    record_outcomes(
        &store,
        "m1",
        &[(
            retry,
            Outcome::Retry {
                error: "+CMS ERROR: 332".into(),
                next: t0,
            },
        )],
    )
    .await
    .expect("record");
    // The retry is claimed again by the same daemon, which dies before handing it over.
    let again = claim_next(&store, "m1", "host:m1", false, t0)
        .await
        .expect("claim")
        .expect("the retry is due");
    assert_eq!(again.id, retried);
    let n = recover_stale(&store, "host:m1", t0).await.expect("recover");
    assert_eq!(n, 4);
    assert_eq!(state(&store, handed).await, "unconfirmed");
    let (_, _, _, why) = row(&store, handed).await;
    assert!(why.unwrap_or_default().contains("not sent again"));
    assert_eq!(state(&store, claimed).await, "queued");
    assert_eq!(
        state(&store, retried).await,
        "queued",
        "the mark was cleared"
    );
    // Only at-most-once kinds are marked by the sender; a marked ack would be unconfirmed too,
    // which is why the sender marks nothing else (outbox::policy::at_most_once).
    assert_eq!(state(&store, ack).await, "unconfirmed");
    // Nothing unconfirmed is claimed again.
    let t1 = t0 + chrono::Duration::minutes(1);
    let next = claim_batch(&store, "m1", "host:m1", false, t1, 10)
        .await
        .expect("claim");
    let mut ids: Vec<i64> = next.iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(ids, vec![claimed, retried]);
    // A running daemon's reclaim of a dead claimer's lease: the same rule.
    assert!(mark_handed(&store, claimed, "host:m1", t1)
        .await
        .expect("hand"));
    let t2 = t1 + chrono::Duration::minutes(5);
    assert_eq!(reclaim_stale(&store, t2).await.expect("reclaim"), 2);
    assert_eq!(state(&store, claimed).await, "unconfirmed");
    assert_eq!(state(&store, retried).await, "queued");
    // The modem's answer came after all: the text is recorded as sent.
    let late = next.iter().find(|r| r.id == claimed).expect("claimed");
    record_outcomes(
        &store,
        "m1",
        &[(
            late,
            Outcome::Sent {
                refs: vec![7],
                at: t2,
            },
        )],
    )
    .await
    .expect("record");
    assert_eq!(state(&store, claimed).await, "sent");
}
both_backends!(
    handed_broadcasts_unconfirmed,
    handed_broadcasts_are_not_sent_again
);
