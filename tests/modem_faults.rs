//! The modem driver against a simulator as unkind as the modems in modem-transcripts.md: late
//! answers after a timeout, an OK where the `> ` prompt belonged, a wrong PIN, a reboot while
//! the port stays open, status reports in the "SR" memory. Each runs on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use appeal_gateway::clock::Clock;
use appeal_gateway::config::ModemTimings;
use appeal_gateway::modem::{self, Endpoint, ModemContext, ModemHandle, ModemSettings};
use appeal_gateway::pdu::{self, Pdu};
use appeal_gateway::sim::{SimModem, SimOptions};
use appeal_gateway::store::Store;
use common::*;
use tokio_util::sync::CancellationToken;

async fn inbox_pdus(store: &Store) -> Vec<String> {
    sqlx::query_scalar::<_, String>("SELECT pdu FROM inbox")
        .fetch_all(store.reader())
        .await
        .expect("inbox")
}

/// Every PDU the network delivered is in the inbox exactly once.
async fn assert_each_delivered_once(store: &Store, sim: &SimModem) {
    let inbox = inbox_pdus(store).await;
    let delivered = sim.delivered();
    assert!(!delivered.is_empty());
    for d in &delivered {
        let n = inbox.iter().filter(|p| p.eq_ignore_ascii_case(d)).count();
        assert_eq!(n, 1, "delivered PDU {d} is in the inbox {n} times");
    }
}

/// A fresh database, simulator (prepared by `prep`) and in-process daemon, after the daemon's
/// start-up sweep has settled, so the test's texts meet a running session.
async fn settled_daemon(
    backend: Backend,
    prep: impl FnOnce(&SimModem),
) -> (TestDb, SimModem, InProcess, Store) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    prep(&sim);
    let (daemon, store) = gateway(&db, &sim).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    (db, sim, daemon, store)
}

/// The SIM empties within `secs` once everything is committed, every delivered PDU is in the
/// inbox once, and exactly `appeals` appeals were filed.
async fn assert_drained(store: &Store, sim: &SimModem, secs: u64, appeals: i64) {
    assert!(
        sim.wait_until(Duration::from_secs(secs), |s| s.stored_count() == 0)
            .await,
        "the SIM is emptied once everything is committed"
    );
    assert_each_delivered_once(store, sim).await;
    assert_eq!(count(store, "SELECT COUNT(*) FROM appeals").await, appeals);
}

/// A late `+CMGR` answer lands while the next `AT+CMGR` is pending. The driver must not take it
/// for the next index's message and delete that one unread: every text is filed, once, and the
/// SIM ends up empty.
async fn late_cmgr(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    // Let the daemon finish its initialisation and start-up sweep before the fault is armed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // command_timeout_secs is 3: the answer comes 1.5 s after the driver gave up.
    sim.late_replies("AT+CMGR", 1, Duration::from_millis(4500));
    for i in 0..3 {
        sim.receive_sms(
            &format!("1380000{i:04}"),
            &format!("东头的水井坏了，第{i}口"),
        );
    }
    wait_appeals(&store, 3, 60).await;
    assert_drained(&store, &sim, 30, 3).await;
    daemon.stop().await;
}
both_backends!(late_answer_never_deletes_an_uncommitted_message, late_cmgr);

/// `AT+CMGS` answered OK without the `> ` prompt: nothing went out, so the acknowledgement is
/// not "sent" but retried, and reaches the villager once.
async fn ok_before_prompt(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    sim.refuse_prompts(1);
    let (daemon, store) = gateway(&db, &sim).await;
    sim.receive_sms("13900001111", "村口的桥塌了一半");
    wait_appeals(&store, 1, 30).await;
    wait_sent(&sim, 1, 30).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sim.sent_texts().len(), 1, "acknowledged once");
    daemon.stop().await;
}
both_backends!(ok_before_the_prompt_is_not_sent, ok_before_prompt);

fn settings(sim: &SimModem, pin: &str) -> ModemSettings {
    let endpoint = Endpoint::Serial {
        path: sim.device_path().to_string_lossy().into_owned(),
        baud: 115200,
    };
    ModemSettings {
        pin: Some(pin.to_string()),
        timings: ModemTimings {
            command: Duration::from_secs(3),
            init: Duration::from_secs(5),
            ..ModemTimings::default()
        },
        ..ModemSettings::new("m1", endpoint)
    }
}

struct Task {
    handle: ModemHandle,
    join: tokio::task::JoinHandle<()>,
    token: CancellationToken,
}

fn spawn(store: &Store, settings: ModemSettings) -> Task {
    let token = CancellationToken::new();
    let ctx = ModemContext {
        store: store.clone(),
        receipts: Arc::new(appeal_gateway::daemon::InboxReceipts(store.clone())),
        desk: Arc::new(appeal_gateway::modem::ivr::NoDesk),
        clock: Clock::System,
        inbox_wake: Arc::new(tokio::sync::Notify::new()),
        shutdown: token.clone(),
    };
    let (handle, join) = modem::spawn(settings, ctx);
    Task {
        handle,
        join,
        token,
    }
}

impl Task {
    async fn wait_state(&self, state: &str, secs: u64) -> modem::ModemStatus {
        wait_for(secs, &format!("modem {state}"), || async {
            let s = self.handle.status();
            (s.state == state).then_some(s)
        })
        .await
    }

    async fn stop(self) {
        self.token.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.join)
            .await
            .expect("modem task stops")
            .expect("modem task");
    }
}

/// A refused PIN is entered once, never again: not on a reconnect, not after a restart (it
/// is remembered in the database). The modem says what to fix and idles. A changed `pin`
/// is tried.
async fn wrong_pin(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let sim = SimModem::start(SimOptions {
        pin: Some("1234".into()),
        ..Default::default()
    })
    .await
    .expect("sim");
    let task = spawn(&store, settings(&sim, "0000"));
    let status = task.wait_state("needs-operator", 30).await;
    let error = status.error.clone().unwrap_or_default();
    assert!(
        error.contains("SIM PIN refused") && error.contains("fix `pin` for modem m1"),
        "{error}"
    );
    assert!(!status.sim_ready && !status.is_ready_to_send());
    // Long enough for several reconnects with the 1 s, 2 s, 4 s backoff.
    tokio::time::sleep(Duration::from_secs(8)).await;
    sim.close_port(Duration::from_millis(300)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sim.pin_entries(),
        ["0000"],
        "the wrong PIN was entered once"
    );
    assert_eq!(sim.pin_attempts_left(), 2);
    task.stop().await;

    // A restart with the same wrong PIN does not enter it again.
    let task = spawn(&store, settings(&sim, "0000"));
    task.wait_state("needs-operator", 30).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.pin_entries(), ["0000"]);
    task.stop().await;

    // The operator fixed `pin`: it is entered and the modem comes up.
    let task = spawn(&store, settings(&sim, "1234"));
    let status = task.wait_state("ready", 30).await;
    assert!(status.sim_ready);
    assert_eq!(sim.pin_entries(), ["0000", "1234"]);
    assert_eq!(sim.pin_attempts_left(), 3);
    task.stop().await;
}
both_backends!(refused_pin_is_never_entered_again, wrong_pin);

/// A modem reboots while the port stays open: it forgets +CNMI, PDU mode and echo and its SIM
/// wants the PIN again. The driver hears the boot URCs, goes not-ready, re-initialises (the
/// right PIN again, +CNMI again), and a text that arrives afterwards is announced and filed
/// without waiting for a sweep.
async fn reboot_in_place(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = SimModem::start(SimOptions {
        pin: Some("1234".into()),
        ..Default::default()
    })
    .await
    .expect("sim");
    let toml = config_toml(&db.url, &sim.device_path(), "")
        .replace("sweep_interval_secs = 5", "sweep_interval_secs = 3600")
        .replace(
            "init_timeout_secs = 10",
            "init_timeout_secs = 10\npin = \"1234\"",
        );
    let daemon = InProcess::start(parse_config(&toml), Clock::System);
    let store = db.store().await;
    sim.receive_sms("13700001111", "水渠堵了");
    wait_appeals(&store, 1, 30).await;
    wait_sent(&sim, 1, 30).await;
    sim.reboot();
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.receive_sms("13700002222", "路灯不亮了");
    wait_appeals(&store, 2, 30).await;
    wait_sent(&sim, 2, 30).await;
    assert_eq!(
        sim.pin_entries(),
        ["1234", "1234"],
        "the PIN again after the reboot"
    );
    assert_each_delivered_once(&store, &sim).await;
    daemon.stop().await;
}
both_backends!(reboot_with_the_port_open_reinitialises, reboot_in_place);

/// A status report stored in "SR" and announced `+CDSI: "SR",<idx>` is read and deleted there,
/// and its PDU reaches the inbox (where the outbox's delivery-report matching takes it).
async fn report_in_sr(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    sim.receive_sms("13600001111", "垃圾没人收");
    wait_appeals(&store, 1, 30).await;
    wait_sent(&sim, 1, 30).await;
    assert!(sim.sent()[0].status_report_requested);
    wait_for(30, "the report in the inbox", || async {
        let reports = inbox_pdus(&store)
            .await
            .iter()
            .filter(|p| matches!(pdu::decode_hex(p, true), Ok(Pdu::StatusReport(_))))
            .count();
        (reports == 1).then_some(())
    })
    .await;
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| s.stored_reports() == 0)
            .await,
        "the report is deleted from SR"
    );
    assert_eq!(sim.stored_count(), 0);
    daemon.stop().await;
}
both_backends!(status_report_in_sr_is_read_and_deleted, report_in_sr);

/// A burst of notifications is read with AT+CMGL=0, not one AT+CMGR each; everything is filed
/// once and the SIM ends up empty.
async fn burst_via_cmgl(backend: Backend) {
    let (_db, sim, daemon, store) = settled_daemon(backend, |_| {}).await;
    let reads_before = sim.reads();
    for i in 0..20 {
        sim.receive_sms(
            &format!("1380000{i:04}"),
            &format!("南边的路灯坏了，第{i}盏"),
        );
    }
    wait_appeals(&store, 20, 60).await;
    assert!(
        sim.wait_until(Duration::from_secs(30), |s| s.stored_count() == 0)
            .await,
        "the SIM is emptied once everything is committed"
    );
    assert!(sim.listings(0) >= 1, "the burst was listed with AT+CMGL=0");
    assert!(
        sim.reads() - reads_before < 20,
        "fewer AT+CMGR than messages: {}",
        sim.reads() - reads_before
    );
    assert_each_delivered_once(&store, &sim).await;
    assert_eq!(count(&store, "SELECT COUNT(*) FROM appeals").await, 20);
    daemon.stop().await;
}
both_backends!(a_burst_is_read_with_one_listing, burst_via_cmgl);

/// A message arrives between a listing and that batch's deletes: it is not deleted with the
/// batch (it was never committed), it is read, committed and filed exactly once afterwards, and
/// the SIM ends up empty.
async fn arrival_mid_batch(backend: Backend) {
    let (_db, sim, daemon, store) = settled_daemon(backend, |_| {}).await;
    sim.receive_after_next_listing("13900009999", "中途到的：西头的桥塌了");
    for i in 0..6 {
        sim.receive_sms(
            &format!("1380000{i:04}"),
            &format!("学校的水管破了，第{i}处"),
        );
    }
    wait_appeals(&store, 7, 60).await;
    assert_eq!(sim.delivered().len(), 7, "the mid-batch message arrived");
    assert_drained(&store, &sim, 30, 7).await;
    daemon.stop().await;
}
both_backends!(
    a_message_arriving_mid_batch_is_filed_once,
    arrival_mid_batch
);

/// The burst listing answers late (past its timeout): the batch falls back to AT+CMGR without
/// deleting anything, and the sweep deletes later; each text is filed once.
async fn late_cmgl(backend: Backend) {
    let (_db, sim, daemon, store) = settled_daemon(backend, |_| {}).await;
    // A listing may wait 3 x command_timeout_secs (9 s): answer after that.
    sim.late_replies("AT+CMGL=0", 1, Duration::from_millis(10_500));
    for i in 0..4 {
        sim.receive_sms(&format!("1380000{i:04}"), &format!("北头的井干了，第{i}口"));
    }
    wait_appeals(&store, 4, 90).await;
    assert!(sim.listings(0) >= 1, "the burst was listed with AT+CMGL=0");
    assert_drained(&store, &sim, 40, 4).await;
    daemon.stop().await;
}
both_backends!(
    a_late_listing_never_deletes_an_uncommitted_message,
    late_cmgl
);

/// A modem that answers `ERROR` to a line of chained deletes: nothing of that line was deleted,
/// the driver deletes one per command from then on, and the sweep deletes what the refused line
/// named; each text is filed once and the SIM ends up empty.
async fn chained_deletes_refused(backend: Backend) {
    let (_db, sim, daemon, store) =
        settled_daemon(backend, |sim| sim.refuse_chained_lines(true)).await;
    for i in 0..15 {
        sim.receive_sms(
            &format!("1380000{i:04}"),
            &format!("东边的电线断了，第{i}根"),
        );
    }
    wait_appeals(&store, 15, 60).await;
    assert_drained(&store, &sim, 30, 15).await;
    daemon.stop().await;
}
both_backends!(
    refused_chained_deletes_fall_back_to_one_by_one,
    chained_deletes_refused
);
