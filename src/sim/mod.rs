//! A simulated GSM modem on a real pseudo-terminal, for the daemon's integration tests,
//! `appeal-gateway demo` and `appeal-gateway simulate`. The daemon opens `device_path()`
//! through tokio-serial exactly as it would open /dev/ttyUSB0.
//!
//! Layout: `engine` is the pure AT interpreter (bytes in, bytes out, time passed in);
//! `storage` is the SIM memory; `pty` owns the pseudo-terminal. This file is the shell: a
//! cloneable handle for tests (the "network" side: deliver texts, ring, inject faults) and
//! one tokio task that moves bytes between the pty and the engine. The task writes each
//! response in one piece and drains unsolicited output only between responses, so URCs
//! never split a response line. See `pty` for why AsyncFd rather than a blocking thread.

mod call;
mod engine;
mod pty;
pub mod script;
mod storage;

pub use call::{Clip, Dialect, IncomingCall, Outbound};
pub use engine::{CallEvent, SentSms};

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::pdu;
pub use engine::SimOptions;
use engine::{Engine, Output};
use pty::Pty;

struct State {
    engine: Engine,
    latency: Duration,
    /// How late a `late_replies` answer comes.
    late_delay: Duration,
    unresponsive: bool,
    concat_ref: u8,
}

/// What the task and the handles share. The task holds this, never `Inner`, so dropping
/// the last handle is what stops the modem.
struct Shared {
    state: Mutex<State>,
    wake: Notify,
    cancel: CancellationToken,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under the lock could at worst leave one command half applied; a simulator
        // that keeps serving is more useful to the test than one that spreads the panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Control {
    ClosePort {
        down_for: Duration,
        done: oneshot::Sender<()>,
    },
}

struct Inner {
    shared: Arc<Shared>,
    dir: PathBuf,
    link: PathBuf,
    control: mpsc::UnboundedSender<Control>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
        let _ = std::fs::remove_file(&self.link);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A handle on a running simulated modem; clones share it.
#[derive(Clone)]
pub struct SimModem {
    inner: Arc<Inner>,
}

fn now_shanghai() -> DateTime<FixedOffset> {
    crate::clock::Clock::System
        .now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .fixed_offset()
}

impl SimModem {
    /// Creates the pseudo-terminal and its symlink and starts the modem task. Must be
    /// called inside a tokio runtime.
    pub async fn start(opts: SimOptions) -> std::io::Result<SimModem> {
        let dir = pty::private_dir()?;
        let link = dir.join("ttySIM0");
        let port = match Pty::open().and_then(|p| pty::point_link(&link, p.slave_path()).map(|_| p))
        {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                latency: opts.latency,
                engine: Engine::new(opts),
                late_delay: Duration::ZERO,
                unresponsive: false,
                concat_ref: rand::random(),
            }),
            wake: Notify::new(),
            cancel: CancellationToken::new(),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(shared.clone(), port, link.clone(), rx));
        Ok(SimModem {
            inner: Arc::new(Inner {
                shared,
                dir,
                link,
                control: tx,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// The stable device path (a symlink to the current /dev/pts/N). It is missing while
    /// the modem is down during `close_port`, like an unplugged USB modem.
    pub fn device_path(&self) -> PathBuf {
        self.inner.link.clone()
    }

    fn with_engine<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let r = f(&mut self.inner.shared.lock());
        self.inner.shared.wake.notify_one();
        r
    }

    fn encode(&self, st: &mut State, from: &str, text: &str) -> Vec<String> {
        st.concat_ref = st.concat_ref.wrapping_add(1);
        pdu::encode_deliver(from, text, now_shanghai(), st.concat_ref)
    }

    /// The network delivers a text (several PDUs when long), announced per `+CNMI`.
    pub fn receive_sms(&self, from: &str, text: &str) {
        self.with_engine(|st| {
            for part in self.encode(st, from, text) {
                st.engine.deliver(&part);
            }
        });
    }

    /// Like `receive_sms`, delivering the parts in `order` (indexes into the part list;
    /// repeats are duplicate deliveries, omissions lost parts, out-of-range ones ignored).
    pub fn receive_parts(&self, from: &str, text: &str, order: &[usize]) {
        self.with_engine(|st| {
            let parts = self.encode(st, from, text);
            for part in order.iter().filter_map(|&i| parts.get(i)) {
                st.engine.deliver(part);
            }
        });
    }

    /// A command line chaining several commands (`AT+CMGD=1;+CMGD=2`) answers `ERROR`.
    pub fn refuse_chained_lines(&self, on: bool) {
        self.with_engine(|st| st.engine.refuse_chained_lines(on));
    }

    /// How many `AT+CMGL=<stat>` the modem answered (0 = unread, 4 = all).
    pub fn listings(&self, stat: u8) -> usize {
        self.inner.shared.lock().engine.listings(stat)
    }

    /// How many `AT+CMGR` the modem answered.
    pub fn reads(&self) -> usize {
        self.inner.shared.lock().engine.reads()
    }

    /// The network delivers these PDUs back to back (one lock for all: what the bench uses).
    pub fn receive_pdus(&self, pdus: &[String]) {
        self.with_engine(|st| {
            for p in pdus {
                st.engine.deliver(p);
            }
        });
    }

    /// Like `receive_sms`, but the text arrives just after the next `AT+CMGL` listing is
    /// answered: between the driver's listing and its deletes.
    pub fn receive_after_next_listing(&self, from: &str, text: &str) {
        self.with_engine(|st| {
            for part in self.encode(st, from, text) {
                st.engine.deliver_after_next_listing(&part);
            }
        });
    }

    /// Delivers an arbitrary PDU (full hex with SMSC field; possibly malformed).
    pub fn receive_pdu(&self, pdu_hex: &str) {
        self.with_engine(|st| st.engine.deliver(pdu_hex));
    }

    /// Puts a text on the SIM without announcing it (it arrived while the daemon was down).
    pub fn preload(&self, from: &str, text: &str) {
        self.with_engine(|st| {
            for part in self.encode(st, from, text) {
                st.engine.preload(&part);
            }
        });
    }

    /// Every PDU part the network accepted through `AT+CMGS`, in order.
    pub fn sent(&self) -> Vec<SentSms> {
        self.inner.shared.lock().engine.sent().to_vec()
    }

    /// (recipient, text) per complete message, concatenated parts joined, in order of completion.
    pub fn sent_texts(&self) -> Vec<(String, String)> {
        self.inner.shared.lock().engine.sent_texts().to_vec()
    }

    /// Messages on the SIM now.
    pub fn stored_count(&self) -> usize {
        self.inner.shared.lock().engine.stored_count()
    }

    /// Voice call activity so far.
    pub fn calls(&self) -> Vec<CallEvent> {
        self.inner.shared.lock().engine.calls().to_vec()
    }

    /// Polls `cond` every 10 ms until it holds or `within` passes; true when it held.
    /// For tests and the demo: "wait until the daemon has answered", "until the SIM is empty".
    pub async fn wait_until(&self, within: Duration, cond: impl Fn(&SimModem) -> bool) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if cond(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// An incoming call: RING (or `+CRING: VOICE`) and `+CLIP` when enabled, repeated every
    /// `ring_interval` until ATA/ATH or `rings` rings.
    pub fn ring(&self, from: &str) {
        self.with_engine(|st| st.engine.ring(from, Instant::now()));
    }

    /// A scripted incoming call in the modem's dialect.
    pub fn call(&self, c: IncomingCall) {
        self.with_engine(|st| st.engine.call(c, Instant::now()));
    }

    /// Keys pressed by the far end of an answered call, reported in the dialect's format
    /// (+DTMF, +RXDTMF, +QTONEDET ASCII codes) once detection is on.
    pub fn dtmf(&self, digits: &str) {
        self.with_engine(|st| st.engine.dtmf(digits));
    }

    /// How the next call the gateway places (`ATD`) is answered; one per call, in order.
    pub fn script_outbound(&self, o: Outbound) {
        self.with_engine(|st| st.engine.script_outbound(o));
    }

    /// The caller hangs up (an answered call) or gives up ringing, now.
    pub fn caller_hangs_up(&self) {
        self.with_engine(|st| st.engine.remote_hang_up());
    }

    /// Hang-up commands ("CHUP", "ATH", "QHUP") that answer OK and leave the call ringing,
    /// until cleared with an empty slice.
    pub fn ignore_hangups(&self, commands: &[&str]) {
        self.with_engine(|st| st.engine.ignore_hangups(commands));
    }

    /// The next `count` commands starting with `prefix` (e.g. "AT+QHUP") never answer; with
    /// `executes` they still take effect.
    pub fn silent_commands(&self, prefix: &str, count: usize, executes: bool) {
        self.with_engine(|st| st.engine.silent_commands(prefix, count, executes));
    }

    /// Every command line the modem received, as typed, in order.
    pub fn commands(&self) -> Vec<String> {
        self.inner.shared.lock().engine.commands().to_vec()
    }

    /// Bytes written to the line as soon as no response is in progress.
    pub fn inject_garbage(&self, bytes: &[u8]) {
        self.with_engine(|st| st.engine.push_raw(bytes));
    }

    pub fn set_latency(&self, d: Duration) {
        self.with_engine(|st| st.latency = d);
    }

    /// The modem reboots while the port stays open (a power dip, a firmware watchdog): it
    /// forgets echo, PDU mode, `+CPMS` and `+CNMI`, locks a PIN-protected SIM again, and says
    /// `RDY`, `+CPIN: ...`, `SMS Ready`, `+QIND: SMS DONE`.
    pub fn reboot(&self) {
        self.with_engine(|st| st.engine.reboot_in_place());
    }

    /// The next `count` commands starting with `prefix` (e.g. "AT+CMGR") are answered
    /// `delay` late: past the driver's timeout, while its next command is pending.
    pub fn late_replies(&self, prefix: &str, count: usize, delay: Duration) {
        self.with_engine(|st| {
            st.late_delay = delay;
            st.engine.late_replies(prefix, count)
        });
    }

    /// The next `count` `AT+CMGS` are answered with a bare OK instead of the `> ` prompt;
    /// nothing is sent.
    pub fn refuse_prompts(&self, count: usize) {
        self.with_engine(|st| st.engine.refuse_prompts(count));
    }

    /// Every value the driver gave `AT+CPIN=`, in order.
    pub fn pin_entries(&self) -> Vec<String> {
        self.inner.shared.lock().engine.pin_entries().to_vec()
    }

    /// PIN attempts the SIM still allows (0: it wants the PUK).
    pub fn pin_attempts_left(&self) -> u8 {
        self.inner.shared.lock().engine.pin_attempts_left()
    }

    /// Every PDU the network delivered (full hex with SMSC field, upper case), in order.
    pub fn delivered(&self) -> Vec<String> {
        self.inner.shared.lock().engine.delivered().to_vec()
    }

    /// Status reports in the SIM's "SR" memory now.
    pub fn stored_reports(&self) -> usize {
        self.inner.shared.lock().engine.stored_reports()
    }

    /// The next `count` accepted-looking `AT+CMGS` answer `+CMS ERROR: <code>`.
    pub fn fail_sends(&self, code: u16, count: usize) {
        self.with_engine(|st| st.engine.fail_sends(code, count));
    }

    /// The modem reads commands but writes nothing (no echo, no answer, no URC).
    pub fn set_unresponsive(&self, on: bool) {
        self.with_engine(|st| st.unresponsive = on);
    }

    /// The modem vanishes: the pty closes (the daemon's reads see EOF or EIO) and the
    /// symlink disappears; after `down_for` a fresh pty comes up behind the same path and
    /// the modem has rebooted (echo on, SIM locked if it has a PIN). Returns once it is back.
    pub async fn close_port(&self, down_for: Duration) {
        let (done, wait) = oneshot::channel();
        if self
            .inner
            .control
            .send(Control::ClosePort { down_for, done })
            .is_ok()
        {
            let _ = wait.await;
        }
    }

    /// Stops the modem and removes its device path (also done when the last handle drops).
    pub async fn shutdown(self) {
        self.inner.shared.cancel.cancel();
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(t) = task {
            let _ = t.await;
        }
        let _ = std::fs::remove_file(&self.inner.link);
    }
}

enum Event {
    Stop,
    Control(Control),
    Wake,
    Timer,
    Read(std::io::Result<usize>),
}

async fn read_port(port: &Option<Pty>, buf: &mut [u8]) -> std::io::Result<usize> {
    match port {
        Some(p) => p.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Writes unless cancelled; false when the modem is stopping.
async fn write(port: &Pty, data: &[u8], cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        r = port.write_all(data) => {
            if let Err(e) = r {
                tracing::warn!(error = %e, "simulated modem: write to pty failed");
            }
            true
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    port: Pty,
    link: PathBuf,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut port = Some(port);
    let mut buf = vec![0u8; 4096];
    loop {
        if let Some(p) = &port {
            let urcs = {
                let mut st = shared.lock();
                if st.unresponsive {
                    Vec::new()
                } else {
                    st.engine.take_urcs()
                }
            };
            if !urcs.is_empty() && !write(p, &urcs, &shared.cancel).await {
                return;
            }
        }
        let deadline = shared.lock().engine.next_deadline();
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            biased;
            _ = shared.cancel.cancelled() => Event::Stop,
            c = control.recv() => c.map_or(Event::Stop, Event::Control),
            _ = shared.wake.notified() => Event::Wake,
            _ = timer => Event::Timer,
            r = read_port(&port, &mut buf) => Event::Read(r),
        };
        match event {
            Event::Stop => return,
            Event::Wake => {}
            Event::Timer => shared
                .lock()
                .engine
                .tick(Instant::now(), Some(now_shanghai())),
            Event::Control(Control::ClosePort { down_for, done }) => {
                port = None;
                let _ = std::fs::remove_file(&link);
                shared.lock().engine.reboot();
                tokio::select! {
                    _ = shared.cancel.cancelled() => return,
                    _ = tokio::time::sleep(down_for) => {}
                }
                match Pty::open() {
                    Ok(p) => match pty::point_link(&link, p.slave_path()) {
                        Ok(()) => port = Some(p),
                        Err(e) => {
                            tracing::error!(error = %e, "simulated modem: cannot re-point its symlink")
                        }
                    },
                    Err(e) => {
                        tracing::error!(error = %e, "simulated modem: cannot reopen a pty; staying down")
                    }
                }
                let _ = done.send(());
            }
            Event::Read(Ok(n)) => {
                let Some(p) = &port else { continue };
                let (outputs, latency, late_delay) = {
                    let mut st = shared.lock();
                    if st.unresponsive || n == 0 {
                        (Vec::new(), Duration::ZERO, Duration::ZERO)
                    } else {
                        (
                            st.engine.feed(&buf[..n], Instant::now()),
                            st.latency,
                            st.late_delay,
                        )
                    }
                };
                for out in outputs {
                    let (bytes, delay) = match out {
                        Output::Echo(b) => (b, Duration::ZERO),
                        Output::Response(b) => (b, latency),
                        // Held while the modem "works"; the driver's next command waits in
                        // the pty until then, so the late answer lands while it is pending.
                        Output::Late(b) => (b, late_delay.max(latency)),
                    };
                    if !delay.is_zero() {
                        tokio::select! {
                            _ = shared.cancel.cancelled() => return,
                            _ = tokio::time::sleep(delay) => {}
                        }
                    }
                    if !write(p, &bytes, &shared.cancel).await {
                        return;
                    }
                }
            }
            Event::Read(Err(e)) => {
                // Cannot happen while we hold the slave open; back off rather than spin.
                tracing::warn!(error = %e, "simulated modem: pty read failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
