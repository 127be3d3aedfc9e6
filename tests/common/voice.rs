//! What the voice tests share: a simulated modem that rings slowly enough to follow, the
//! daemon on it with a given `[[modem]] voice` mode, and readers for the calls table and the
//! texts the modem sent.

use std::time::Duration;

use appeal_gateway::clock::Clock;
use appeal_gateway::sim::{CallEvent, SimModem, SimOptions};
use appeal_gateway::store::Store;

use super::*;

pub const VILLAGER: &str = "13800000001";
pub const CADRE: &str = "13900000001";

/// Rings slow enough to follow, eight before the caller gives up.
pub fn voice_options() -> SimOptions {
    SimOptions {
        ring_interval: Duration::from_millis(700),
        rings: 8,
        ..SimOptions::default()
    }
}

pub async fn sim_with(opts: SimOptions) -> SimModem {
    SimModem::start(opts).await.expect("simulated modem")
}

/// The daemon on `db` and `sim` with `voice` as the modem's mode and `extra` appended; its
/// API on the returned port, accepting `token`.
pub async fn voice_daemon(
    db: &TestDb,
    sim: &SimModem,
    voice: &str,
    token: &str,
    extra: &str,
) -> (InProcess, Store, u16) {
    voice_daemon_at(db, sim, voice, token, extra, Clock::System).await
}

/// [`voice_daemon`] on `clock`.
pub async fn voice_daemon_at(
    db: &TestDb,
    sim: &SimModem,
    voice: &str,
    token: &str,
    extra: &str,
    clock: Clock,
) -> (InProcess, Store, u16) {
    let port = free_port();
    let toml = format!(
        "{}\n[api]\ntokens = [\"{token}\"]\n{extra}",
        config_with_directory(db, sim)
            .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"))
            .replace(
                "init_timeout_secs = 10",
                &format!("init_timeout_secs = 10\nvoice = \"{voice}\""),
            )
    );
    let d = InProcess::start(parse_config(&toml), clock);
    (d, db.store().await, port)
}

/// (state, phone, appeal number) of every call, oldest first.
pub async fn calls(store: &Store) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT c.state, c.phone, a.number FROM calls c LEFT JOIN appeals a ON a.id = c.appeal_id ORDER BY c.id",
    )
    .fetch_all(store.reader())
    .await
    .expect("calls")
}

/// (ended, mode, menu) of every call, oldest first.
pub async fn call_endings(store: &Store) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as("SELECT ended, mode, menu FROM calls ORDER BY id")
        .fetch_all(store.reader())
        .await
        .expect("call endings")
}

pub async fn wait_calls(store: &Store, n: i64, secs: u64) {
    wait_for(secs, &format!("{n} calls processed"), || async {
        (count(store, "SELECT COUNT(*) FROM calls WHERE state <> 'new'").await >= n).then_some(())
    })
    .await;
}

pub fn texts_to(sim: &SimModem, phone: &str) -> Vec<String> {
    sim.sent_texts()
        .into_iter()
        .filter(|(to, _)| to == phone)
        .map(|(_, t)| t)
        .collect()
}

pub fn never_answered(sim: &SimModem) {
    assert!(
        !sim.calls()
            .iter()
            .any(|c| matches!(c, CallEvent::Answered { .. })),
        "a callback call is never answered (the villager would pay): {:?}",
        sim.calls()
    );
}

/// How the simulated modem saw the call end by the gateway's hand, if it did.
pub fn rejected_by(sim: &SimModem) -> Vec<String> {
    sim.calls()
        .into_iter()
        .filter_map(|c| match c {
            CallEvent::Rejected { by, .. } => Some(by),
            _ => None,
        })
        .collect()
}

/// Waits until the modem has seen a command starting with `prefix`.
pub async fn wait_command(sim: &SimModem, prefix: &str, secs: u64) {
    assert!(
        sim.wait_until(Duration::from_secs(secs), |s| s
            .commands()
            .iter()
            .any(|c| c.starts_with(prefix)))
            .await,
        "the modem never saw {prefix}: {:?}",
        sim.commands()
    );
}
