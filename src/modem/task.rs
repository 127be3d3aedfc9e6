//! The modem task's lifecycle: open -> initialise -> serve (URCs, requests, sweeps, health) ->
//! on a link fault, back off and start again. Only this task touches the port.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::call::{CallRecord, PlacedCall};
use super::conn::{CmdError, Conn};
use super::parse;
use super::{ModemContext, ModemSettings, ModemStatus, Request, SendError};
use crate::at::call::signal;
use crate::at::Urc;
use crate::backoff::Backoff;
use crate::config::VoiceMode;

mod answer;
mod dial;
mod voice;

const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Consecutive command timeouts after which the modem counts as gone silent.
const MAX_TIMEOUTS: u32 = 3;
/// Deletes chained on one command line: "AT" and 24 x "+CMGD=255;" stay under 256 characters,
/// within the line buffers of SIM800 (556), EC2x and SIM7600. A modem with a shorter buffer
/// answers such a line `ERROR` and the session deletes one by one from then on.
const DELETES_PER_LINE: usize = 24;
/// A ring this soon after the end of the call we last handled, with no call listed, is that
/// call's late RING, not a new call (gammu-smsd ignores repeat rings within 5 s too).
const STALE_RING: Duration = Duration::from_secs(5);
/// AT+QHUP never answered on an EP06 (voice-modems.md pitfall 3): give it little time.
const QHUP_TIMEOUT: Duration = Duration::from_secs(3);
/// Calls kept in memory while the database cannot take them.
const MAX_UNSAVED_CALLS: usize = 100;

/// Why a session ended.
#[derive(Debug)]
enum Fault {
    Link(CmdError),
    Silent,
    Init(String),
    /// Only the operator can fix this (a refused PIN, a PUK-locked SIM): no reconnect loop.
    NeedsOperator(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Link(e) => write!(f, "link lost: {e}"),
            Fault::Silent => write!(
                f,
                "modem stopped answering ({MAX_TIMEOUTS} commands timed out)"
            ),
            Fault::Init(s) => write!(f, "initialisation failed: {s}"),
            Fault::NeedsOperator(s) => write!(f, "{s}"),
        }
    }
}

pub(super) async fn run(
    settings: ModemSettings,
    ctx: ModemContext,
    mut rx: mpsc::Receiver<Request>,
    status: watch::Sender<ModemStatus>,
) {
    let name = settings.name.clone();
    let mut backoff = Backoff::new(Duration::from_secs(1), MAX_BACKOFF);
    let mut attempt: u64 = 0;
    // Calls the database could not take yet; kept across reconnects.
    let mut unsaved_calls: Vec<CallRecord> = Vec::new();
    loop {
        if ctx.shutdown.is_cancelled() {
            break;
        }
        attempt += 1;
        status.send_modify(|s| {
            s.state = "connecting".into();
            if attempt > 1 {
                s.reconnects += 1;
            }
        });
        let fault = match super::open(&settings.endpoint).await {
            Err(e) => Fault::Link(CmdError::Io(e)),
            Ok(port) => {
                let mut session = Session {
                    conn: Conn::new(port),
                    settings: &settings,
                    ctx: &ctx,
                    status: &status,
                    timeouts: 0,
                    timeouts_seen: 0,
                    ready: false,
                    mem: "SM",
                    chain_deletes: true,
                    last_call: None,
                    unsaved_calls: &mut unsaved_calls,
                    ivr: None,
                };
                match session.run(&mut rx).await {
                    Ok(()) => break,
                    Err(Fault::NeedsOperator(why)) => {
                        idle_until_operator(&name, &why, &ctx, &mut rx, &status).await;
                        return;
                    }
                    Err(f) => {
                        if session.ready {
                            // It worked until now: retry soon.
                            backoff.reset();
                        }
                        f
                    }
                }
            }
        };
        let wait = backoff.fail();
        // One line per attempt, so a modem unplugged for a day does not flood the log.
        tracing::warn!(modem = %name, device = %settings.endpoint, attempt, retry_in = ?wait, "{fault}");
        status.send_modify(|s| {
            s.state = "down".into();
            s.sim_ready = false;
            s.registered = false;
            s.error = Some(fault.to_string());
        });
        let until = Instant::now() + wait;
        // While down, answer requests at once so senders do not wait on a dead modem.
        loop {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(until) => break,
                req = rx.recv() => match req {
                    None => return,
                    Some(r) => r.refuse(),
                },
            }
        }
    }
    status.send_modify(|s| s.state = "stopped".into());
}

/// A refused PIN or a PUK-locked SIM: "until an operator acts" means until the daemon is
/// restarted with a changed `pin` (or the refusal cleared, `modem::pin::clear_refusals`).
/// Reconnecting could only enter the same wrong PIN again, so the task says why once, on its
/// status and in one log line, and answers senders "not ready" until shutdown.
async fn idle_until_operator(
    name: &str,
    why: &str,
    ctx: &ModemContext,
    rx: &mut mpsc::Receiver<Request>,
    status: &watch::Sender<ModemStatus>,
) {
    tracing::error!(modem = %name, "{why}");
    status.send_modify(|s| {
        s.state = "needs-operator".into();
        s.sim_ready = false;
        s.registered = false;
        s.error = Some(why.to_string());
    });
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            req = rx.recv() => match req {
                None => break,
                Some(r) => r.refuse(),
            },
        }
    }
    status.send_modify(|s| s.state = "stopped".into());
}

struct Session<'a> {
    conn: Conn,
    settings: &'a ModemSettings,
    ctx: &'a ModemContext,
    status: &'a watch::Sender<ModemStatus>,
    timeouts: u32,
    /// Every timeout ever, so a batch can tell whether one happened while it ran.
    timeouts_seen: u64,
    ready: bool,
    /// The memory chosen at init for reading, deleting and receiving ("SM" or "ME").
    mem: &'static str,
    /// The modem takes several AT+CMGD on one line (until it answers such a line `ERROR`).
    chain_deletes: bool,
    /// The number and end of the last call handled, to tell its late RINGs from a new call.
    last_call: Option<(Option<String>, Instant)>,
    unsaved_calls: &'a mut Vec<CallRecord>,
    /// The TTS and DTMF commands found at init when voice = "ivr" (None: calls are taken as
    /// callback).
    ivr: Option<answer::IvrKit>,
}

impl Session<'_> {
    async fn run(&mut self, rx: &mut mpsc::Receiver<Request>) -> Result<(), Fault> {
        self.reinit().await?;
        let mut sweep = tokio::time::interval_at(
            Instant::now() + self.settings.timings.sweep,
            self.settings.timings.sweep,
        );
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut health = tokio::time::interval_at(
            Instant::now() + self.settings.timings.health,
            self.settings.timings.health,
        );
        health.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            while let Some(urc) = self.conn.take_urc() {
                self.handle_urc(urc).await?;
            }
            tokio::select! {
                biased;
                _ = self.ctx.shutdown.cancelled() => return Ok(()),
                r = self.conn.idle_read() => r.map_err(Fault::Link)?,
                req = rx.recv() => match req {
                    None => return Ok(()),
                    Some(Request::Send { parts, reply }) => {
                        match self.send(&parts).await {
                            Ok(answer) => { let _ = reply.send(answer); }
                            Err(fault) => {
                                let _ = reply.send(Err(SendError::Failed(fault.to_string())));
                                return Err(fault);
                            }
                        }
                    }
                    Some(Request::RatingCall { phone, number, reply }) => {
                        let placed = self.rating_call(&phone, &number).await;
                        let _ = reply.send(Ok(placed.as_ref().map_or_else(
                            |f| PlacedCall::Failed(f.to_string()),
                            Clone::clone,
                        )));
                        placed?;
                    }
                },
                _ = sweep.tick() => self.sweep().await?,
                _ = health.tick() => self.health().await?,
            }
        }
    }

    /// (Re-)initialises the session: not ready meanwhile; boot lines that arrived during it
    /// belong to the same boot and are dropped.
    async fn reinit(&mut self) -> Result<(), Fault> {
        self.status.send_modify(|s| {
            s.state = "initialising".into();
            s.sim_ready = false;
            s.registered = false;
        });
        self.init().await?;
        self.conn
            .drop_urcs(|u| matches!(u, Urc::Ready(_) | Urc::SimStatus(_)));
        self.ready = true;
        self.status.send_modify(|s| {
            s.state = "ready".into();
            s.error = None;
        });
        tracing::info!(modem = %self.settings.name, "modem ready");
        self.sweep().await
    }

    /// Runs a command; link loss and repeated timeouts end the session, other errors are the
    /// caller's to judge.
    async fn cmd(&mut self, command: &str) -> Result<Result<Vec<String>, CmdError>, Fault> {
        self.cmd_timeout(command, self.settings.timings.command)
            .await
    }

    async fn cmd_timeout(
        &mut self,
        command: &str,
        t: Duration,
    ) -> Result<Result<Vec<String>, CmdError>, Fault> {
        let r = self.conn.command(command, t).await;
        self.note_contact();
        match r {
            Err(e) if e.is_link_failure() => Err(Fault::Link(e)),
            Err(CmdError::Timeout(..)) => {
                tracing::debug!(modem = %self.settings.name, command, "command timed out");
                self.timed_out().await?;
                Ok(Err(CmdError::Timeout(command.into(), t)))
            }
            other => {
                self.timeouts = 0;
                Ok(other)
            }
        }
    }

    /// After any timeout the abandoned command's answer may still arrive: resynchronise before
    /// the next command, so no late answer is taken for another command's.
    async fn timed_out(&mut self) -> Result<(), Fault> {
        self.timeouts += 1;
        self.timeouts_seen += 1;
        if self.timeouts >= MAX_TIMEOUTS {
            return Err(Fault::Silent);
        }
        match self.conn.resync(self.settings.timings.command, 3).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Fault::Silent),
            Err(e) if e.is_link_failure() => Err(Fault::Link(e)),
            Err(_) => Err(Fault::Silent),
        }
    }

    /// A command that must succeed; transient errors are retried a few times.
    async fn must(&mut self, command: &str) -> Result<Vec<String>, Fault> {
        let mut last = None;
        for attempt in 0..4 {
            match self.cmd(command).await? {
                Ok(lines) => return Ok(lines),
                Err(e) if e.is_transient() && attempt < 3 => {
                    tracing::info!(modem = %self.settings.name, command, error = %e, "retrying");
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                    last = Some(e);
                }
                Err(e) => return Err(Fault::Init(format!("{command}: {e}"))),
            }
        }
        Err(Fault::Init(format!(
            "{command}: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }

    fn note_contact(&self) {
        let now = self.ctx.clock.now();
        self.status.send_modify(|s| s.last_contact = Some(now));
    }

    async fn init(&mut self) -> Result<(), Fault> {
        // ESC aborts a "> " prompt a previous run may have left open.
        self.conn.write_raw(&[0x1b]).await.map_err(Fault::Link)?;
        let deadline = Instant::now() + self.settings.timings.init;
        // Some modems drop the first command after power-up, SIM800 locks its auto-baud on it.
        loop {
            match self.conn.command("AT", Duration::from_secs(2)).await {
                Ok(_) => break,
                Err(e) if e.is_link_failure() => return Err(Fault::Link(e)),
                Err(e) if Instant::now() >= deadline => {
                    return Err(Fault::Init(format!(
                        "no answer to AT within {:?}: {e}",
                        self.settings.timings.init
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        self.timeouts = 0;
        self.must("ATE0").await?;
        if let Err(e) = self.cmd("AT+CMEE=1").await? {
            tracing::info!(modem = %self.settings.name, error = %e, "modem refuses numeric errors (AT+CMEE=1)");
        }
        self.unlock_sim().await?;
        self.identify().await?;
        self.must("AT+CMGF=0").await?;
        // Read, delete and receive in one memory so +CMTI indexes are readable without switching.
        let mut storage = None;
        for mem in ["SM", "ME"] {
            if let Ok(lines) = self
                .cmd(&format!("AT+CPMS=\"{mem}\",\"{mem}\",\"{mem}\""))
                .await?
            {
                storage = lines.iter().find_map(|l| parse::cpms(l));
                self.mem = mem;
                break;
            }
        }
        if let Some((used, total)) = storage {
            self.status.send_modify(|s| {
                s.sim_used = Some(used);
                s.sim_total = Some(total);
            });
        }
        // Store-and-notify for messages and reports; fall back as ModemManager does when the
        // modem rejects <ds>.
        let mut cnmi_ok = false;
        for cnmi in [
            "AT+CNMI=2,1,0,2,0",
            "AT+CNMI=2,1,0,1,0",
            "AT+CNMI=2,1,0,0,0",
        ] {
            if self.cmd(cnmi).await?.is_ok() {
                cnmi_ok = true;
                break;
            }
        }
        if !cnmi_ok {
            tracing::warn!(modem = %self.settings.name, "no +CNMI setting accepted; relying on AT+CMGL sweeps");
        }
        if let Some(smsc) = self.settings.smsc.clone() {
            self.must(&format!("AT+CSCA=\"{smsc}\",145")).await?;
        }
        let mut optional = vec!["AT+CLIP=1", "AT+CREG=2"];
        if self.settings.voice != VoiceMode::Off {
            optional.extend(voice::voice_setup(
                self.status.borrow().manufacturer.as_deref().unwrap_or(""),
            ));
        }
        for command in optional {
            if let Err(e) = self.cmd(command).await? {
                tracing::debug!(modem = %self.settings.name, command, error = %e, "optional setting refused");
            }
        }
        if self.settings.voice == VoiceMode::Ivr {
            let kit = self.probe_ivr().await?;
            if kit.is_none() && self.ivr.is_none() {
                tracing::warn!(modem = %self.settings.name, "voice = \"ivr\" but the modem has no TTS or no DTMF detection: calls are taken as \"callback\"");
            }
            self.ivr = kit;
        }
        self.health().await
    }

    /// Brings the SIM to READY. A PIN is entered at most once per value, ever: a refusal is
    /// recorded in the database (by modem and PIN hash) and the modem waits for the operator
    /// (see `idle_until_operator`); with one attempt left, the PIN is not entered at all.
    async fn unlock_sim(&mut self) -> Result<(), Fault> {
        let deadline = Instant::now() + self.settings.timings.init;
        let mut pin_sent = false;
        loop {
            let state = match self.cmd("AT+CPIN?").await? {
                Ok(lines) => lines
                    .iter()
                    .find_map(|l| parse::cpin(l))
                    .unwrap_or_else(|| "READY".into()),
                // SIM busy right after power-up or after the PIN (transcript 1.3): wait.
                Err(e) if e.is_transient() => "BUSY".into(),
                Err(e) => return Err(Fault::Init(format!("SIM state unreadable: {e}"))),
            };
            match state.as_str() {
                "READY" => {
                    self.status.send_modify(|s| s.sim_ready = true);
                    if pin_sent {
                        // The PIN in the config works: older refusals are history.
                        if let Err(e) =
                            super::pin::clear_refusals(&self.ctx.store, &self.settings.name).await
                        {
                            tracing::warn!(modem = %self.settings.name, error = %e, "cannot clear old PIN refusals");
                        }
                    }
                    return Ok(());
                }
                "SIM PIN" if !pin_sent => {
                    self.status.send_modify(|s| s.sim_ready = false);
                    let Some(pin) = self.settings.pin.clone() else {
                        return Err(
                            self.needs_operator("the SIM asks for a PIN and none is configured")
                        );
                    };
                    let refused = match super::pin::is_refused(
                        &self.ctx.store,
                        &self.settings.name,
                        &pin,
                    )
                    .await
                    {
                        Ok(r) => r,
                        Err(e) => {
                            // Unknown: the attempts counter below still guards the last try.
                            tracing::warn!(modem = %self.settings.name, error = %e, "cannot read PIN refusals");
                            false
                        }
                    };
                    if refused {
                        return Err(
                            self.needs_operator("SIM PIN refused earlier (not entered again)")
                        );
                    }
                    if let Some(left) = self.pin_attempts_left().await? {
                        if left <= 1 {
                            return Err(self.needs_operator(&format!(
                                "the SIM allows {left} more PIN attempt(s); not risking its PUK"
                            )));
                        }
                    }
                    pin_sent = true;
                    match self.cmd(&format!("AT+CPIN=\"{pin}\"")).await? {
                        Ok(_) => {}
                        // Busy, not refused: the counter is untouched; retried on the next
                        // connection (the counter check above still guards it).
                        Err(e) if e.is_transient() => {
                            return Err(Fault::Init(format!(
                                "the SIM was busy taking the PIN: {e}"
                            )));
                        }
                        Err(e) => {
                            let reason = format!("SIM PIN refused ({e})");
                            if let Err(db) = super::pin::record_refusal(
                                &self.ctx.store,
                                &self.settings.name,
                                &pin,
                                &reason,
                                self.ctx.clock.now(),
                            )
                            .await
                            {
                                tracing::error!(modem = %self.settings.name, error = %db, "cannot record the PIN refusal; this process will still not retry it");
                            }
                            return Err(self.needs_operator(&reason));
                        }
                    }
                }
                "SIM PUK" => {
                    self.status.send_modify(|s| s.sim_ready = false);
                    return Err(Fault::NeedsOperator(format!(
                        "the SIM of modem {} is PUK-locked: unlock it in a phone, then restart",
                        self.settings.name
                    )));
                }
                _ if Instant::now() >= deadline => {
                    return Err(Fault::Init(format!("SIM not ready: {state}")));
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn needs_operator(&self, what: &str) -> Fault {
        let file = self.settings.config_file.as_ref().map_or_else(
            || "the config file".to_string(),
            |f| f.display().to_string(),
        );
        Fault::NeedsOperator(format!(
            "{what} — fix `pin` for modem {} in {file} and restart",
            self.settings.name
        ))
    }

    /// The SIM's remaining PIN attempts, where the modem tells (3GPP, Quectel, Huawei).
    async fn pin_attempts_left(&mut self) -> Result<Option<u8>, Fault> {
        for c in ["AT+CPINR=\"SIM PIN\"", "AT+QPINC=\"SC\"", "AT^CPIN?"] {
            if let Ok(lines) = self.cmd(c).await? {
                if let Some(n) = lines.iter().find_map(|l| super::pin::attempts_left(l)) {
                    return Ok(Some(n));
                }
            }
        }
        Ok(None)
    }

    async fn identify(&mut self) -> Result<(), Fault> {
        let mut got = [None, None, None];
        for (i, c) in ["AT+CGMI", "AT+CGMM", "AT+CGSN"].into_iter().enumerate() {
            if let Ok(lines) = self.cmd(c).await? {
                got[i] = lines
                    .into_iter()
                    .map(|l| l.trim().to_string())
                    .find(|l| !l.is_empty());
            }
        }
        let [manufacturer, model, imei] = got;
        self.status.send_modify(|s| {
            s.manufacturer = manufacturer;
            s.model = model;
            s.imei = imei;
        });
        Ok(())
    }

    async fn health(&mut self) -> Result<(), Fault> {
        let rssi = match self.cmd("AT+CSQ").await? {
            Ok(lines) => lines.iter().find_map(|l| parse::csq(l)).flatten(),
            Err(_) => None,
        };
        let reg = match self.cmd("AT+CREG?").await? {
            Ok(lines) => lines.iter().find_map(|l| parse::creg_stat(l)),
            Err(_) => None,
        };
        let _ = self.cmd("AT+COPS=3,0").await?;
        let op = match self.cmd("AT+COPS?").await? {
            Ok(lines) => lines.iter().find_map(|l| parse::cops(l)),
            Err(_) => None,
        };
        let storage = match self.cmd("AT+CPMS?").await? {
            Ok(lines) => lines.iter().find_map(|l| parse::cpms(l)),
            Err(_) => None,
        };
        self.status.send_modify(|s| {
            s.rssi = rssi;
            s.bars = parse::bars(rssi);
            s.registration = reg.map(|r| parse::registration_name(r).to_string());
            s.registered = reg.is_some_and(registered);
            s.operator = op;
            if let Some((used, total)) = storage {
                s.sim_used = Some(used);
                s.sim_total = Some(total);
            }
        });
        if let Some((used, total)) = storage {
            if total > 0 && used * 10 >= total * 8 {
                tracing::warn!(modem = %self.settings.name, used, total, "SIM storage above 80%");
            }
        }
        Ok(())
    }

    async fn handle_urc(&mut self, urc: Urc) -> Result<(), Fault> {
        if let Some(call) = signal(&urc) {
            return self.take_call(call).await;
        }
        match urc {
            Urc::Cmti { mem, index } | Urc::Cdsi { mem, index } => {
                if index >= 0 {
                    // A burst of notifications is read, committed once, then deleted, one
                    // memory at a time (+CDSI names "SR" for reports on EC2x/SIM7600).
                    let mut wanted = vec![(mem, index as u32)];
                    while let Some(Urc::Cmti { mem, index } | Urc::Cdsi { mem, index }) =
                        self.conn.take_urc_if(|u| matches!(u, Urc::Cmti { index, .. } | Urc::Cdsi { index, .. } if *index >= 0))
                    {
                        wanted.push((mem, index as u32));
                    }
                    // A stale notification can repeat an index the sweep already emptied and the
                    // network refilled: read and delete each index once, or the second delete
                    // would drop the new, unread message.
                    wanted.sort_unstable();
                    wanted.dedup();
                    let mut mems: Vec<String> = wanted.iter().map(|(m, _)| m.clone()).collect();
                    mems.dedup();
                    for m in mems {
                        let indexes: Vec<u32> = wanted
                            .iter()
                            .filter(|(wm, _)| *wm == m)
                            .map(|(_, i)| *i)
                            .collect();
                        self.fetch_in(&m, &indexes).await?;
                    }
                } else {
                    // +CMTI: ,-1 means nothing was stored where we can see it: sweep.
                    self.sweep().await?;
                }
            }
            Urc::Cmt { pdu, .. } | Urc::Cds { pdu, .. } => {
                // Direct delivery: commit, then acknowledge; never ack what we failed to store.
                match self
                    .ctx
                    .receipts
                    .commit(&self.settings.name, &[pdu.as_str()], self.ctx.clock.now())
                    .await
                {
                    Ok(new) => {
                        self.received(new);
                        let _ = self.cmd("AT+CNMA").await?;
                    }
                    Err(e) => {
                        tracing::error!(modem = %self.settings.name, error = %e, "cannot commit a routed message; refusing it so the network retries");
                        let _ = self.cmd("AT+CNMA=2").await?;
                    }
                }
            }
            Urc::Registration { stat, .. } => {
                self.status.send_modify(|s| {
                    s.registration = Some(parse::registration_name(stat).to_string());
                    s.registered = registered(stat);
                });
            }
            Urc::Rssi(r) => {
                self.status.send_modify(|s| {
                    s.rssi = Some(r).filter(|r| *r <= 31);
                    s.bars = parse::bars(s.rssi);
                });
            }
            Urc::Ready(line) | Urc::SimStatus(line) => {
                // Boot lines (RDY, SMS Ready, +QIND: SMS DONE, +CPIN: ...) mean the modem
                // rebooted with the port open and forgot echo, PDU mode, +CPMS and +CNMI; a
                // SIM asking for its PIN cannot send. Initialise again.
                tracing::warn!(modem = %self.settings.name, %line, "modem rebooted or SIM state changed; initialising again");
                self.reinit().await?;
            }
            other => tracing::debug!(modem = %self.settings.name, urc = ?other, "unhandled URC"),
        }
        Ok(())
    }

    /// Counts newly committed messages (duplicates of stored ones are not news) and wakes the
    /// intake worker for them.
    fn received(&self, new: usize) {
        if new > 0 {
            self.status.send_modify(|s| s.received += new as u64);
            self.ctx.inbox_wake.notify_one();
        }
    }

    /// Reads `indexes` from memory `mem`, selecting it first when it is not the one chosen at
    /// init (status reports in "SR"), and selecting ours again after.
    async fn fetch_in(&mut self, mem: &str, indexes: &[u32]) -> Result<(), Fault> {
        let ours = mem.is_empty() || mem.eq_ignore_ascii_case(self.mem);
        if !ours {
            if let Err(e) = self.cmd(&format!("AT+CPMS=\"{mem}\"")).await? {
                tracing::warn!(modem = %self.settings.name, mem, error = %e, "cannot select the memory a notification named");
                return Ok(());
            }
        }
        let r = self.fetch_all(indexes).await;
        if !ours {
            let back = format!("AT+CPMS=\"{m}\",\"{m}\",\"{m}\"", m = self.mem);
            if let Err(e) = self.cmd(&back).await? {
                // Reading elsewhere than where +CMTI points would go wrong: start over.
                return Err(Fault::Init(format!(
                    "cannot select {} again: {e}",
                    self.mem
                )));
            }
        }
        r
    }

    /// A burst (two or more indexes) is read with one AT+CMGL=0, a single index with AT+CMGR;
    /// then one commit for all, then AT+CMGD for each committed index. When any command timed
    /// out meanwhile, nothing is deleted: an index may have been paired with another command's
    /// late answer; the next sweep deletes what is committed.
    ///
    /// Why the deletes are per index and never a bulk `AT+CMGD=1,<flag>` (the safety argument
    /// for "committed before deleted"):
    /// - Only indexes present in the listing (or the AT+CMGR answer) whose batch the receipt
    ///   sink committed are deleted. Until we delete it, a listed message occupies its slot, so
    ///   a message arriving between the listing and the delete lands in another (empty) slot
    ///   and no delete of this batch names it; it is announced by +CMTI and read by the next
    ///   batch, or by the sweep. Each index is deleted at most once per batch (deduplicated),
    ///   so a slot emptied and refilled meanwhile is not deleted a second time; several such
    ///   deletes may share one command line (`delete_committed`), never a failed line retried.
    /// - A bulk delete of "all read" (flag 1) or more is not provably safe: modems mark messages
    ///   read on AT+CMGR and on listing (some even on AT+CMGL=4), so a read message may be one
    ///   whose commit failed (database down), one of a batch whose deletes were skipped after
    ///   a timeout, or one a late answer paired with the wrong index. Only a per-index delete
    ///   names exactly what was committed.
    /// - After kill -9 anywhere: before the commit, the messages are still on the SIM and the
    ///   start-up sweep (AT+CMGL=4) reads them; after the commit but before a delete, the sweep
    ///   reads them again and the inbox's dedupe key drops the duplicate, then deletes them.
    ///   Either way each message is committed once and filed once.
    ///
    /// An announced index missing from the AT+CMGL=0 listing was already read: deleted by an
    /// earlier batch that listed it (the +CMTI came late), or left on the SIM on purpose (a
    /// failed commit, a skipped delete), which the sweep recovers, as it does on the AT+CMGR
    /// path.
    async fn fetch_all(&mut self, indexes: &[u32]) -> Result<(), Fault> {
        let seen = self.timeouts_seen;
        if indexes.len() >= 2 {
            match self
                .cmd_timeout("AT+CMGL=0", self.settings.timings.command * 3)
                .await?
            {
                Ok(lines) => {
                    let found = parse_listing(&lines);
                    let delete = self.timeouts_seen == seen;
                    return self.commit_and_delete(found, delete).await;
                }
                // A modem without AT+CMGL=0: read one by one (after a timeout, without deleting).
                Err(e) => {
                    tracing::debug!(modem = %self.settings.name, error = %e, "AT+CMGL=0 failed; reading each index");
                }
            }
        }
        let mut found = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let lines = match self.cmd(&format!("AT+CMGR={index}")).await? {
                Ok(lines) => lines,
                // 321: the slot is empty (already deleted); nothing to do.
                Err(CmdError::Cms(321)) => continue,
                Err(e) => {
                    tracing::warn!(modem = %self.settings.name, index, error = %e, "cannot read message; the sweep will retry");
                    continue;
                }
            };
            if let Some(pdu) = pdu_line(&lines) {
                found.push((index, pdu));
            }
        }
        let delete = self.timeouts_seen == seen;
        if !delete {
            tracing::warn!(modem = %self.settings.name, "a read timed out: committing without deleting; the sweep deletes later");
        }
        self.commit_and_delete(found, delete).await
    }

    /// Commits the PDUs, and only then deletes them from the SIM.
    async fn commit_and_delete(
        &mut self,
        found: Vec<(u32, String)>,
        delete: bool,
    ) -> Result<(), Fault> {
        if found.is_empty() {
            return Ok(());
        }
        let pdus: Vec<&str> = found.iter().map(|(_, p)| p.as_str()).collect();
        match self
            .ctx
            .receipts
            .commit(&self.settings.name, &pdus, self.ctx.clock.now())
            .await
        {
            Ok(new) => {
                self.received(new);
                self.status.send_if_modified(|s| {
                    let was_db = s
                        .error
                        .as_deref()
                        .is_some_and(|e| e.starts_with("database"));
                    if was_db {
                        s.error = None;
                    }
                    was_db
                });
                if delete {
                    let indexes: Vec<u32> = found.iter().map(|(i, _)| *i).collect();
                    self.delete_committed(&indexes).await?;
                }
            }
            Err(e) => {
                tracing::error!(modem = %self.settings.name, count = found.len(), error = %e, "database unavailable: messages left on the SIM");
                self.status
                    .send_modify(|s| s.error = Some(format!("database: {e}")));
            }
        }
        Ok(())
    }

    /// Deletes committed `indexes`, several per command line (`AT+CMGD=3;+CMGD=4;...`, V.250
    /// concatenation) while the modem accepts that, else one per command.
    ///
    /// A chained line stops at its first failing command, and which ones ran before is not
    /// told. None of the rest is tried again here: a slot this line emptied may already hold a
    /// new, uncommitted message, and deleting it a second time would lose that message. What is
    /// left is committed and stays for the sweep (read again, deduplicated, then deleted). A
    /// plain `ERROR` may mean the modem does not take chained lines at all (or not this long),
    /// so the session goes one by one from then on.
    async fn delete_committed(&mut self, indexes: &[u32]) -> Result<(), Fault> {
        let per_line = if self.chain_deletes {
            DELETES_PER_LINE
        } else {
            1
        };
        for chunk in indexes.chunks(per_line) {
            let line = chunk
                .iter()
                .map(|i| format!("+CMGD={i}"))
                .collect::<Vec<_>>()
                .join(";");
            match self.cmd(&format!("AT{line}")).await? {
                Ok(_) => {}
                Err(e) => {
                    if chunk.len() > 1 && matches!(e, CmdError::Error) {
                        tracing::info!(modem = %self.settings.name, "modem refuses chained AT+CMGD; deleting one per command");
                        self.chain_deletes = false;
                    }
                    // Kept and deduplicated: the next sweep deletes it.
                    tracing::warn!(modem = %self.settings.name, indexes = ?chunk, error = %e, "delete failed; the sweep deletes later");
                    if matches!(e, CmdError::Timeout(..)) {
                        // After a timeout the next answers may be late ones: no more deletes.
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Lists everything on the SIM and files it: messages that arrived while we were down,
    /// lost notifications, and a full SIM.
    async fn sweep(&mut self) -> Result<(), Fault> {
        self.save_calls().await;
        let seen = self.timeouts_seen;
        let lines = match self
            .cmd_timeout("AT+CMGL=4", self.settings.timings.command * 3)
            .await?
        {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!(modem = %self.settings.name, error = %e, "AT+CMGL sweep failed");
                return Ok(());
            }
        };
        let found = parse_listing(&lines);
        if !found.is_empty() {
            tracing::info!(modem = %self.settings.name, count = found.len(), "sweep found messages on the SIM");
        }
        let delete = self.timeouts_seen == seen;
        self.commit_and_delete(found, delete).await
    }

    /// Sends all parts. The outer error ends the session (link gone); the inner one is the
    /// sender's to judge (retry or give up).
    async fn send(
        &mut self,
        parts: &[crate::pdu::EncodedPart],
    ) -> Result<Result<Vec<u8>, SendError>, Fault> {
        let mut refs = Vec::with_capacity(parts.len());
        for p in parts {
            match self
                .conn
                .send_pdu(p.tpdu_len, &p.hex, self.settings.timings.send)
                .await
            {
                Ok(mr) => {
                    self.timeouts = 0;
                    refs.push(mr);
                }
                Err(e) if e.is_link_failure() => return Err(Fault::Link(e)),
                Err(e) => {
                    self.status.send_modify(|s| s.send_errors += 1);
                    // An answer that came instead of the prompt may be a late one: either way
                    // the line needs a resync before the next command.
                    if matches!(e, CmdError::Timeout(..) | CmdError::NoPrompt(_)) {
                        self.timed_out().await?;
                    }
                    return Ok(Err(match e {
                        CmdError::Cms(c) => SendError::Cms(c),
                        other => SendError::Failed(other.to_string()),
                    }));
                }
            }
        }
        self.note_contact();
        self.status.send_modify(|s| s.sent += 1);
        Ok(Ok(refs))
    }
}

/// Whether a +CREG stat allows SMS: registered at home (1) or roaming (5).
fn registered(stat: u8) -> bool {
    matches!(stat, 1 | 5)
}

fn is_hex(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The (index, PDU) pairs of an AT+CMGL answer; a header without a PDU line is skipped.
fn parse_listing(lines: &[String]) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let mut iter = lines.iter().peekable();
    while let Some(line) = iter.next() {
        if let Some(index) = parse::cmgl_index(line) {
            if let Some(pdu) = iter.peek().filter(|l| is_hex(l)) {
                found.push((index, pdu.trim().to_string()));
                iter.next();
            }
        }
    }
    found
}

/// The PDU line of a +CMGR response (the line after the header).
fn pdu_line(lines: &[String]) -> Option<String> {
    lines
        .iter()
        .rev()
        .find(|l| is_hex(l))
        .map(|l| l.trim().to_string())
}
