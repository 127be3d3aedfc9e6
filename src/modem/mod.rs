//! The modem driver: one tokio task per modem owns its port; the rest of the daemon talks to it
//! through a typed command channel ([`ModemHandle`]) and reads its live state from a watch
//! channel ([`ModemStatus`]).
//!
//! Receipt follows the safe order: +CMTI -> AT+CMGR (AT+CMGL=0 for a burst) -> commit the raw
//! PDUs through the [`ReceiptSink`] the daemon gives -> AT+CMGD of the committed indexes, plus an AT+CMGL sweep at start and every few minutes. A database error leaves the
//! message on the SIM for the next sweep. An incoming call is followed to its end (who calls,
//! rejected with AT+CHUP/ATH/AT+QHUP unless voice is off) and handed to the same sink. A vanished or silent port is reopened with capped
//! exponential backoff; nothing else in the daemon stops meanwhile.

mod call;
mod conn;
pub mod ivr;
pub mod parse;
pub mod pin;
mod port;
mod task;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_util::sync::CancellationToken;

pub use call::{CallProgress, CallRecord, Ending, PlacedCall};
pub use conn::{CmdError, Conn};
pub use port::{open, Endpoint, Port};

use crate::clock::Clock;
pub use crate::config::ModemTimings;
use crate::config::{VoiceConfig, VoiceMode};
use crate::pdu::EncodedPart;
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct ModemSettings {
    pub name: String,
    pub endpoint: Endpoint,
    pub pin: Option<String>,
    pub smsc: Option<String>,
    pub timings: ModemTimings,
    /// What this modem does with a voice call.
    pub voice: VoiceMode,
    /// The `[voice]` timings (how long to wait for a caller's number, for a hang-up).
    pub voice_timings: VoiceConfig,
    /// The config file `pin` comes from, named when the SIM refuses it.
    pub config_file: Option<std::path::PathBuf>,
}

impl ModemSettings {
    pub fn new(name: &str, endpoint: Endpoint) -> ModemSettings {
        ModemSettings {
            name: name.to_string(),
            endpoint,
            pin: None,
            smsc: None,
            timings: ModemTimings::default(),
            voice: VoiceMode::default(),
            voice_timings: VoiceConfig::default(),
            config_file: None,
        }
    }
}

/// Live state of one modem, for the status page, the API and the logs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModemStatus {
    pub name: String,
    pub device: String,
    /// connecting | initialising | ready | down | needs-operator (a refused PIN, a PUK-locked
    /// SIM: the task idles until the operator acts, see `task::unlock_sim`)
    pub state: String,
    /// The SIM said `+CPIN: READY` in this session and has not since asked for a PIN (a reboot
    /// or a `+CPIN: SIM PIN` URC clears it until the SIM is unlocked again).
    pub sim_ready: bool,
    /// The last `+CREG` stat was 1 (home) or 5 (roaming); cleared with `sim_ready`.
    pub registered: bool,
    pub rssi: Option<u8>,
    pub bars: u8,
    pub operator: Option<String>,
    pub registration: Option<String>,
    pub sim_used: Option<u32>,
    pub sim_total: Option<u32>,
    pub last_contact: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub imei: Option<String>,
    pub received: u64,
    pub sent: u64,
    pub send_errors: u64,
    /// Incoming voice calls seen (each call once, however often it rang).
    pub calls: u64,
    pub reconnects: u64,
}

impl ModemStatus {
    pub fn is_ready(&self) -> bool {
        self.state == "ready"
    }

    /// Whether an SMS can go out now: the session is initialised, the SIM unlocked and the
    /// modem registered on a network.
    pub fn is_ready_to_send(&self) -> bool {
        self.is_ready() && self.sim_ready && self.registered
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("+CMS ERROR: {0} ({desc})", desc = crate::at::cms_description(*.0))]
    Cms(u16),
    #[error("modem not ready")]
    NotReady,
    #[error("{0}")]
    Failed(String),
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        match self {
            SendError::Cms(c) => crate::at::cms_is_transient(*c),
            SendError::NotReady | SendError::Failed(_) => true,
        }
    }
}

pub(crate) enum Request {
    /// Sends the parts in order; replies with each part's TP-MR.
    Send {
        parts: Vec<EncodedPart>,
        reply: oneshot::Sender<Result<Vec<u8>, SendError>>,
    },
    /// Calls `phone` to ask for the rating of its resolved appeal `number`.
    RatingCall {
        phone: String,
        number: String,
        reply: oneshot::Sender<Result<PlacedCall, SendError>>,
    },
}

impl Request {
    /// Answers "not ready" at once: the modem is down or waits for an operator.
    pub(crate) fn refuse(self) {
        match self {
            Request::Send { reply, .. } => {
                let _ = reply.send(Err(SendError::NotReady));
            }
            Request::RatingCall { reply, .. } => {
                let _ = reply.send(Err(SendError::NotReady));
            }
        }
    }
}

/// The way to a modem task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ModemHandle {
    pub name: String,
    tx: mpsc::Sender<Request>,
    status: watch::Receiver<ModemStatus>,
}

impl ModemHandle {
    pub fn status(&self) -> ModemStatus {
        self.status.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<ModemStatus> {
        self.status.clone()
    }

    /// Sends one SMS (all its parts). Fails fast with NotReady when the task is gone.
    pub async fn send(&self, parts: Vec<EncodedPart>) -> Result<Vec<u8>, SendError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Send { parts, reply })
            .await
            .map_err(|_| SendError::NotReady)?;
        rx.await.map_err(|_| SendError::NotReady)?
    }
}

impl ModemHandle {
    /// Places a rating call (one prompt, one key) and waits for it to end, up to a few
    /// minutes. NotReady when the task is gone or the modem down.
    pub async fn rating_call(&self, phone: &str, number: &str) -> Result<PlacedCall, SendError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::RatingCall {
                phone: phone.to_string(),
                number: number.to_string(),
                reply,
            })
            .await
            .map_err(|_| SendError::NotReady)?;
        rx.await.map_err(|_| SendError::NotReady)?
    }
}

/// Why a [`ReceiptSink`] could not commit a batch; the messages stay on the SIM.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReceiptError(pub String);

/// Where the modem task hands the raw PDUs it read from the modem. The task deletes a message
/// from the modem (or acknowledges a routed one) only after `commit` returned `Ok` for the batch
/// holding it, so whatever the sink does must be durable when it returns.
pub trait ReceiptSink: Send + Sync {
    /// Commits `pdus` (full hex, SMSC field first) read from `modem`, all or none; returns how
    /// many were new (a PDU already committed is not news).
    fn commit<'a>(
        &'a self,
        modem: &'a str,
        pdus: &'a [&'a str],
        now: DateTime<Utc>,
    ) -> futures::future::BoxFuture<'a, Result<usize, ReceiptError>>;

    /// Records a finished incoming call durably. A call leaves nothing on the SIM, so the
    /// task keeps a call whose commit failed and tries again at the next sweep.
    fn commit_call<'a>(
        &'a self,
        modem: &'a str,
        call: &'a CallRecord,
        now: DateTime<Utc>,
    ) -> futures::future::BoxFuture<'a, Result<(), ReceiptError>>;
}

/// What a modem task shares with the rest of the daemon.
#[derive(Clone)]
pub struct ModemContext {
    /// For the PIN-refusal records only; received messages go to `receipts`.
    pub store: Store,
    pub receipts: Arc<dyn ReceiptSink>,
    /// What the keypad menu asks of the appeals (voice = "ivr").
    pub desk: Arc<dyn ivr::IvrDesk>,
    pub clock: Clock,
    /// Woken after each committed inbound PDU so the intake worker files it at once.
    pub inbox_wake: Arc<Notify>,
    pub shutdown: CancellationToken,
}

/// Starts the task that owns this modem's port.
pub fn spawn(
    settings: ModemSettings,
    ctx: ModemContext,
) -> (ModemHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(16);
    let status = ModemStatus {
        name: settings.name.clone(),
        device: settings.endpoint.to_string(),
        state: "connecting".into(),
        ..Default::default()
    };
    let (status_tx, status_rx) = watch::channel(status);
    let handle = ModemHandle {
        name: settings.name.clone(),
        tx,
        status: status_rx,
    };
    let join = tokio::spawn(task::run(settings, ctx, rx, status_tx));
    (handle, join)
}
