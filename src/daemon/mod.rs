//! The supervisor: builds every task from the configuration, runs them until the shutdown
//! token fires, and joins them by name within a grace period. Also tells systemd we are ready
//! and alive (Type=notify with a watchdog).

mod desk;
mod notify;
mod rating_calls;
mod receipts;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Config, Device};
use crate::directory::{Directory, DirectoryHandle};
use crate::inbox::ProcessSettings;
use crate::modem::{self, Endpoint, ModemContext, ModemSettings};
use crate::scheduler::Scheduler;
use crate::sender::{run_sender, SenderContext, SenderSettings};
use crate::store::health::Health;
use crate::store::leader::{campaign_recorded, Candidate};
use crate::store::{Store, StoreError};

pub use notify::sd_notify;
pub use receipts::InboxReceipts;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("web server: {0}")]
    Web(String),
    #[error(transparent)]
    Directory(#[from] crate::directory::DirectoryError),
    #[error(transparent)]
    Audit(#[from] crate::appeals::events::AuditError),
}

/// Loads the configured directory file (an empty directory when none is configured).
pub fn load_directory(c: &Config) -> Result<Directory, crate::directory::DirectoryError> {
    match &c.directory {
        Some(p) => Directory::load(p),
        None => Ok(Directory::default()),
    }
}

/// Re-reads the directory on SIGHUP. A bad file is logged and the running directory kept.
fn reload_on_sighup(config: Arc<Config>, directory: DirectoryHandle, shutdown: CancellationToken) {
    let Some(path) = config.directory.clone() else {
        return;
    };
    tokio::spawn(async move {
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot watch SIGHUP; the directory reloads only on restart");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    match directory.reload(&path) {
                        Ok(()) => {
                            let d = directory.current();
                            tracing::info!(villages = d.villages.len(), cadres = d.cadres.len(), "directory reloaded");
                        }
                        Err(e) => tracing::error!(error = %e, "directory NOT reloaded; the previous one stays"),
                    }
                }
            }
        }
    });
}

pub fn modem_settings(m: &crate::config::ModemConfig) -> ModemSettings {
    let endpoint = match &m.device {
        Device::Serial(p) => Endpoint::Serial {
            path: p.to_string_lossy().into_owned(),
            baud: m.baud,
        },
        Device::Tcp(addr) => Endpoint::Tcp { addr: addr.clone() },
    };
    ModemSettings {
        pin: m.pin.clone(),
        smsc: m.smsc.clone(),
        timings: m.timings,
        voice: m.voice,
        ..ModemSettings::new(&m.name, endpoint)
    }
}

/// Identifies this daemon's claims on outbox rows. Stable across restarts of the same daemon
/// (host + its modems), so after a crash it takes back its own `sending` rows at once.
pub fn daemon_id(c: &Config) -> String {
    let host =
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "localhost".into());
    let modems: Vec<&str> = c.modems.iter().map(|m| m.name.as_str()).collect();
    format!("{}:{}", host.trim(), modems.join(","))
}

/// Connects to the database, retrying with backoff: a daemon started before its PostgreSQL
/// waits for it instead of dying.
pub async fn connect_store(
    c: &Config,
    shutdown: &CancellationToken,
) -> Result<Option<Store>, StoreError> {
    let mut wait = Duration::from_secs(1);
    loop {
        match Store::connect(&c.database.url, c.database.max_connections).await {
            Ok(s) => return Ok(Some(s)),
            Err(StoreError::Sqlx(e)) => {
                tracing::error!(error = %e, retry_in = ?wait, "database unavailable");
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// How long an outbox claim lasts unrenewed: twice the longest command timeout of this
/// daemon's modems plus a margin (`outbox::lease_for`). Daemons sharing a database should use
/// the same timeouts, or a short-lease daemon takes a long-timeout daemon's rows earlier.
pub fn outbox_lease(c: &Config) -> Duration {
    let longest = c
        .modems
        .iter()
        .map(|m| m.timings.command)
        .max()
        .unwrap_or(Duration::from_secs(10));
    crate::outbox::lease_for(longest)
}

fn chrono_lease(lease: Duration) -> chrono::Duration {
    chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(10))
}

/// Takes back, on every daemon and all the time, outbox rows whose claimer stopped renewing
/// its lease (a daemon that died, a host that vanished): without it they would wait in
/// `sending` until that very daemon restarts. Senders renew their rows' leases while the modem
/// works on them, so a row in flight is never taken.
async fn reclaim_leases(
    store: Store,
    clock: Clock,
    lease: Duration,
    wake: crate::wake::Wake,
    shutdown: CancellationToken,
) {
    let every = (lease / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match crate::outbox::reclaim_stale(&store, clock.now() - chrono_lease(lease)).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(
                    rows = n,
                    "outbox rows whose claimer stopped are queued again"
                );
                wake.notify();
            }
            Err(e) => tracing::warn!(error = %e, "cannot reclaim stale outbox rows"),
        }
    }
}

/// Runs the daemon until `shutdown` fires.
pub async fn run(
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    for w in config.warnings() {
        tracing::warn!("config: {w}");
    }
    let Some(store) = connect_store(&config, &shutdown).await? else {
        return Ok(());
    };
    let audit = crate::appeals::events::start_audit(&config, &store).await?;
    let id = daemon_id(&config);
    let lease = outbox_lease(&config);
    match crate::outbox::recover_stale(&store, &id, clock.now() - chrono_lease(lease)).await {
        Ok(n) if n > 0 => tracing::warn!(
            rows = n,
            "outbox rows interrupted while sending are queued again"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot recover interrupted outbox rows"),
    }
    let directory = DirectoryHandle::new(load_directory(&config)?);
    let config = Arc::new(config);
    let db = Health::new(clock.clone());
    let leader = campaign_recorded(
        &store,
        Candidate {
            daemon_id: id.clone(),
            clock: clock.clone(),
        },
        shutdown.clone(),
    );
    reload_on_sighup(config.clone(), directory.clone(), shutdown.clone());
    let inbox_wake = Arc::new(Notify::new());
    let outbox_wake = crate::wake::Wake::new();
    let mut tasks: Vec<(String, tokio::task::JoinHandle<()>)> = Vec::new();
    let mut handles = Vec::new();
    tasks.push((
        "database monitor".into(),
        tokio::spawn(crate::store::health::monitor(
            store.clone(),
            db.clone(),
            shutdown.clone(),
        )),
    ));
    tasks.push((
        "outbox leases".into(),
        tokio::spawn(reclaim_leases(
            store.clone(),
            clock.clone(),
            lease,
            outbox_wake.clone(),
            shutdown.clone(),
        )),
    ));
    for m in &config.modems {
        let ctx = ModemContext {
            store: store.clone(),
            receipts: Arc::new(InboxReceipts(store.clone())),
            desk: Arc::new(desk::AppealDesk {
                store: store.clone(),
                clock: clock.clone(),
                config: config.clone(),
                directory: directory.clone(),
                modem: m.name.clone(),
            }),
            clock: clock.clone(),
            inbox_wake: inbox_wake.clone(),
            shutdown: shutdown.clone(),
        };
        let (handle, join) = modem::spawn(
            ModemSettings {
                config_file: Some(config.source.clone()),
                voice_timings: config.voice,
                ..modem_settings(m)
            },
            ctx,
        );
        tasks.push((format!("modem {}", m.name), join));
        let sender = SenderContext {
            store: store.clone(),
            clock: clock.clone(),
            modem: handle.clone(),
            wake: outbox_wake.clone(),
            shutdown: shutdown.clone(),
        };
        let settings = SenderSettings {
            daemon_id: id.clone(),
            pool: config.outbox.pool_sending,
            status_reports: config.outbox.status_reports,
            smsc: None,
            max_attempts: config.outbox.max_attempts,
            retry_base: config.outbox.retry_base,
            retry_max: config.outbox.retry_max,
            per_minute: m.send_per_minute,
            per_recipient_per_hour: config.outbox.per_recipient_per_hour,
            tz: config.time_zone,
            quiet_hours: config.quiet_hours,
            lease,
        };
        tasks.push((
            format!("sender {}", m.name),
            tokio::spawn(run_sender(sender, settings)),
        ));
        handles.push(handle);
    }
    let intake = worker::IntakeWorker {
        store: store.clone(),
        clock: clock.clone(),
        config: config.clone(),
        directory: directory.clone(),
        settings: ProcessSettings {
            modems: config
                .modems
                .iter()
                .map(|m| (m.name.clone(), m.village.clone()))
                .collect(),
            concat_timeout: config.intake.concat_timeout,
        },
        calls: crate::calls::CallSettings {
            modems: config
                .modems
                .iter()
                .filter(|m| m.voice != crate::config::VoiceMode::Off)
                .map(|m| (m.name.clone(), m.village.clone()))
                .collect(),
            repeat_window: config.voice.repeat_window,
            colour: config.voice.callback_colour,
        },
        wake: inbox_wake.clone(),
        outbox_wake: outbox_wake.clone(),
        health: db.clone(),
        shutdown: shutdown.clone(),
    };
    tasks.push(("intake".into(), tokio::spawn(intake.run())));
    tasks.push((
        "webhooks".into(),
        tokio::spawn(crate::webhooks::run(crate::webhooks::WebhookContext {
            store: store.clone(),
            config: config.clone(),
            clock: clock.clone(),
            shutdown: shutdown.clone(),
        })),
    ));
    let scheduler = Scheduler::new(store.clone(), config.clone(), directory.clone());
    tasks.push((
        "scheduler".into(),
        tokio::spawn(scheduler.run(
            clock.clone(),
            leader.clone(),
            outbox_wake.clone(),
            shutdown.clone(),
        )),
    ));
    tasks.push((
        "rating calls".into(),
        tokio::spawn(
            rating_calls::RatingCaller {
                store: store.clone(),
                config: config.clone(),
                clock: clock.clone(),
                modems: rating_calls::ivr_modems(&config, &handles),
                leader: leader.clone(),
                shutdown: shutdown.clone(),
            }
            .run(),
        ),
    ));
    let shared = crate::web::Shared {
        config: config.clone(),
        store: store.clone(),
        clock: clock.clone(),
        modems: handles,
        outbox_wake,
        directory,
        db,
        leader,
    };
    let web = crate::web::serve(shared.clone(), shutdown.clone())
        .await
        .map_err(|e| DaemonError::Web(format!("cannot listen on {}: {e}", config.web.listen)))?;
    tasks.push(("web".into(), web));
    tracing::info!(listen = %config.web.listen, modems = config.modems.len(), "appeal-gateway running");
    sd_notify("READY=1");
    let watchdog = tokio::spawn(notify::watchdog(shutdown.clone()));
    shutdown.cancelled().await;
    sd_notify("STOPPING=1");
    tracing::info!("shutting down");
    // Each task finishes what it holds (a command in flight, a transaction) and returns.
    for (name, join) in tasks {
        match tokio::time::timeout(Duration::from_secs(10), join).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(task = %name, error = %e, "task failed"),
            Err(_) => tracing::error!(task = %name, "task did not stop within 10 s"),
        }
    }
    watchdog.abort();
    audit.stop().await;
    store.close().await;
    Ok(())
}
