//! The simulated modem's brain: a pure AT command interpreter. Bytes from the serial line go
//! in, the bytes a modem would write back come out (echo, responses, the `> ` prompt), and
//! unsolicited result codes collect in a queue that the I/O task drains between responses.
//! Time comes in as arguments (`now` for timers, `wall` for PDU timestamps), so the whole
//! modem is testable without a pseudo-terminal or a clock.
//!
//! Behaviour follows the dialogues in shared/testdata/modem-transcripts.md (ATV1 framing,
//! PDU mode, `+CMTI` store-and-notify, `+CMT` with `+CNMA`, `+CDS`/`+CDSI` reports).

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use tokio::time::Instant;

use super::call::{self, Dialect, IncomingCall, Reply, Timing, Voice};
use super::storage::{tpdu_len, Stat, Storage};
use crate::pdu;

/// What the engine says the line should carry, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The command echo: written at once.
    Echo(Vec<u8>),
    /// A response (info lines + final code, or the prompt): written after the latency.
    Response(Vec<u8>),
    /// A response held back past the driver's timeout (the `late_replies` fault), so it lands
    /// while the driver's next command is pending.
    Late(Vec<u8>),
}

/// One SMS-SUBMIT part the network accepted through `AT+CMGS`.
#[derive(Debug, Clone, PartialEq)]
pub struct SentSms {
    pub to: String,
    /// The PDU hex as written by the daemon (SMSC field included), upper case.
    pub pdu: String,
    /// This part's decoded text.
    pub text: String,
    pub concat: Option<pdu::Concat>,
    /// The `<mr>` the modem answered with `+CMGS:`.
    pub message_ref: u8,
    pub status_report_requested: bool,
}

/// Voice call activity, for tests of the daemon's call handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    Ringing {
        from: String,
    },
    Answered {
        from: String,
    },
    /// The caller gave up after the configured number of rings.
    Missed {
        from: String,
    },
    HungUp,
    /// A ringing call ended by the modem's user (the gateway), never answered.
    Rejected {
        from: String,
        /// "CHUP", "ATH" or "QHUP".
        by: String,
    },
    Dialled {
        number: String,
    },
    /// A call we placed found the line busy.
    Busy {
        number: String,
    },
    /// A call we placed rang out.
    NoAnswer {
        number: String,
    },
}

/// How the simulated modem behaves; `Default` is a ready, unlocked SIM with 30 slots.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// When set the SIM starts locked (`+CPIN: SIM PIN`) until `AT+CPIN="<pin>"`.
    pub pin: Option<String>,
    pub storage_capacity: usize,
    /// Delay before each response (the echo is immediate, as on a real line). Applied by the
    /// pty task around the engine, which itself answers at once.
    pub latency: Duration,
    /// Echo at power-on (and after `ATZ` or a `close_port` reboot).
    pub echo: bool,
    pub operator: String,
    /// `+CSQ` rssi.
    pub signal: u8,
    /// Time between an accepted `AT+CMGS` with TP-SRR and its status report.
    pub report_delay: Duration,
    /// Time between two RINGs of an incoming call.
    pub ring_interval: Duration,
    /// RINGs before the caller gives up.
    pub rings: usize,
    /// Firmware that routes every new message directly (`+CMT`, held until `+CNMA`) whatever
    /// `+CNMI` asked for, as some Qualcomm-based modems do.
    pub direct_delivery: bool,
    /// The modem family played: its identity, call URCs, hang-up quirks, TTS and DTMF.
    pub dialect: Dialect,
    /// An accepted hang-up answers OK at once, but the call is released only this long
    /// after (AT+CLCC still lists it meanwhile), as on modems whose OK does not mean hung up.
    pub hangup_delay: Duration,
    /// How long a TTS prompt plays before its end URC.
    pub tts_time: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            pin: None,
            storage_capacity: 30,
            latency: Duration::ZERO,
            echo: true,
            operator: "CHINA MOBILE".into(),
            signal: 20,
            report_delay: Duration::from_millis(200),
            ring_interval: Duration::from_secs(1),
            rings: 5,
            direct_delivery: false,
            dialect: Dialect::Generic,
            hangup_delay: Duration::ZERO,
            tts_time: Duration::from_millis(300),
        }
    }
}

const SMSC: &str = "+8613800280500";
const MAX_LINE: usize = 2048;
/// A TPDU is at most 164 octets; anything much longer is junk, not a PDU.
const MAX_PDU_HEX: usize = 2 * 200;
const CMEE_DEFAULT: u8 = 1;

/// Settings a modem forgets when it reboots.
#[derive(Debug, Clone)]
struct Session {
    echo: bool,
    cmee: u8,
    pin_ok: bool,
    cmgf: u8,
    csms: u8,
    cscs: String,
    creg: [u8; 3],
    cops_format: u8,
    mem1_sr: bool,
}

impl Session {
    fn new(cfg: &SimOptions) -> Session {
        Session {
            echo: cfg.echo,
            cmee: CMEE_DEFAULT,
            pin_ok: cfg.pin.is_none(),
            cmgf: 0,
            csms: 0,
            cscs: "GSM".into(),
            creg: [0; 3],
            cops_format: 0,
            mem1_sr: false,
        }
    }

    /// What a real modem comes up with after power loss: 27.005 text mode, echo on.
    fn power_on(cfg: &SimOptions) -> Session {
        Session {
            echo: true,
            cmgf: 1,
            ..Session::new(cfg)
        }
    }
}

/// PIN attempts a fresh SIM allows before it wants its PUK.
const PIN_ATTEMPTS: u8 = 3;

#[derive(Debug, Clone)]
enum Mode {
    Command,
    /// After `AT+CMGS=<n>`: collecting PDU hex until Ctrl-Z.
    Prompt {
        declared: usize,
        hex: Vec<u8>,
    },
}

/// Something the network hands to the modem.
#[derive(Debug, Clone)]
enum Incoming {
    Deliver(String),
    Report(String),
}

#[derive(Debug, Clone)]
struct PendingReport {
    due: Instant,
    mr: u8,
    to: String,
}

#[derive(Debug, Clone)]
struct PartialText {
    to: String,
    reference: u16,
    total: u8,
    parts: Vec<(u8, String)>,
}

/// Why a command failed; rendered per `AT+CMEE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    Error,
    Cme(u16),
    Cms(u16),
}

/// How a command ended when it did not fail.
enum Done {
    Lines(Vec<String>),
    Prompt(usize),
    /// A final code other than OK (ATA without a call: NO CARRIER).
    Final(&'static str),
}

type CmdResult = Result<Done, Fail>;

fn ok() -> CmdResult {
    Ok(Done::Lines(Vec::new()))
}

/// A voice command's answer as a command result.
fn reply(r: Reply) -> CmdResult {
    match r {
        Reply::Lines(v) => Ok(Done::Lines(v)),
        Reply::Final(code) => Ok(Done::Final(code)),
        Reply::Cme(n) => Err(Fail::Cme(n)),
        Reply::Error => Err(Fail::Error),
    }
}

fn lines(v: Vec<String>) -> CmdResult {
    Ok(Done::Lines(v))
}

/// The extended-command operation: `+X`, `+X?`, `+X=?`, `+X=a,b`.
enum Op {
    Exec,
    Read,
    Test,
    Set(Vec<String>),
}

pub struct Engine {
    cfg: SimOptions,
    s: Session,
    mode: Mode,
    line: Vec<u8>,
    line_overflow: bool,
    /// `<mode>,<mt>,<bm>,<ds>,<bfr>`; kept across reboots so that messages that arrive
    /// while the port is down are still announced when it comes back (see `reboot`).
    cnmi: [u8; 5],
    /// PIN attempts left: a property of the SIM card, so it survives reboots and reopened
    /// ports; at zero the SIM wants its PUK.
    pin_tries: u8,
    /// Every value given to `AT+CPIN=`, in order (what the tests count).
    pin_entries: Vec<String>,
    /// Every PDU the network handed over (`deliver`/`preload`), upper case.
    delivered: Vec<String>,
    /// `late_replies`: the next `.1` commands starting with `.0` answer late.
    late: Option<(String, usize)>,
    /// `deliver_after_next_listing`: PDUs the network delivers right after the next `AT+CMGL`
    /// answer is composed, before the driver can send its deletes.
    after_listing: Vec<String>,
    /// How many `AT+CMGL=<stat>` were answered, by stat, and how many `AT+CMGR` (what the
    /// round-trip tests count).
    listings: [usize; 5],
    reads: usize,
    /// `refuse_chained_lines`: a line with several commands answers `ERROR`, none run.
    no_chains: bool,
    /// `refuse_prompts`: the next this many `AT+CMGS` get a bare OK instead of `> `.
    no_prompt: usize,
    smsc: String,
    sm: Storage,
    sr: Storage,
    /// Messages the "SMSC" keeps retrying because the SIM was full.
    network: VecDeque<Incoming>,
    /// `+CMT` deliveries waiting for the previous one's `+CNMA`.
    direct: VecDeque<String>,
    awaiting_ack: Option<String>,
    urcs: Vec<u8>,
    next_mr: u8,
    failures: Option<(u16, usize)>,
    sent: Vec<SentSms>,
    texts: Vec<(String, String)>,
    partial: Vec<PartialText>,
    reports: Vec<PendingReport>,
    voice: Voice,
    /// Every command line received, as typed (what the tests read as the transcript).
    commands: Vec<String>,
    /// `silent_commands`: the next `.1` commands starting with `.0` get no answer at all
    /// (run or not per `.2`).
    silent: Option<(String, usize, bool)>,
    /// The time of the input being handled (commands that start timers need it).
    now: Instant,
    direct_delivery: bool,
}

impl Engine {
    pub fn new(cfg: SimOptions) -> Engine {
        Engine {
            s: Session::new(&cfg),
            mode: Mode::Command,
            line: Vec::new(),
            line_overflow: false,
            cnmi: [2, if cfg.direct_delivery { 2 } else { 1 }, 0, 0, 0],
            direct_delivery: cfg.direct_delivery,
            pin_tries: PIN_ATTEMPTS,
            pin_entries: Vec::new(),
            delivered: Vec::new(),
            late: None,
            after_listing: Vec::new(),
            listings: [0; 5],
            reads: 0,
            no_chains: false,
            no_prompt: 0,
            smsc: SMSC.into(),
            sm: Storage::new(cfg.storage_capacity),
            sr: Storage::new(10),
            network: VecDeque::new(),
            direct: VecDeque::new(),
            awaiting_ack: None,
            urcs: Vec::new(),
            next_mr: 0,
            failures: None,
            sent: Vec::new(),
            texts: Vec::new(),
            partial: Vec::new(),
            reports: Vec::new(),
            voice: Voice::new(
                cfg.dialect,
                Timing {
                    ring_interval: cfg.ring_interval,
                    rings: cfg.rings,
                    hangup_delay: cfg.hangup_delay,
                    tts_time: cfg.tts_time,
                },
            ),
            commands: Vec::new(),
            silent: None,
            now: Instant::now(),
            cfg,
        }
    }

    // ----- the serial line -----

    /// Consumes bytes from the line and returns what the modem writes back.
    pub fn feed(&mut self, input: &[u8], now: Instant) -> Vec<Output> {
        self.now = now;
        let mut out = Vec::new();
        for &b in input {
            match &mut self.mode {
                Mode::Prompt { hex, .. } => match b {
                    0x1A => out.extend(self.submit(now)),
                    0x1B => {
                        self.mode = Mode::Command;
                        out.push(Output::Response(b"\r\nOK\r\n".to_vec()));
                    }
                    b'\r' | b'\n' | b' ' => {}
                    _ => {
                        if hex.len() < MAX_PDU_HEX + 2 {
                            hex.push(b);
                        }
                    }
                },
                Mode::Command => match b {
                    b'\r' | b'\n' => {
                        if !self.line.is_empty() {
                            out.extend(self.end_of_line());
                        }
                    }
                    // ESC/Ctrl-Z outside the prompt: what a driver sends to abort a prompt
                    // that is not there; a modem ignores them.
                    0x1A | 0x1B => {}
                    _ => {
                        if self.line.len() < MAX_LINE {
                            self.line.push(b);
                        } else {
                            self.line_overflow = true;
                        }
                    }
                },
            }
        }
        out
    }

    fn end_of_line(&mut self) -> Vec<Output> {
        let raw = std::mem::take(&mut self.line);
        let overflow = std::mem::replace(&mut self.line_overflow, false);
        let mut out = Vec::new();
        if self.s.echo {
            let mut e = raw.clone();
            e.extend_from_slice(b"\r\n");
            out.push(Output::Echo(e));
        }
        let text = String::from_utf8_lossy(&raw);
        // A modem starts a command at "AT" and ignores what came before (line noise).
        let Some(start) = text.to_ascii_uppercase().find("AT") else {
            return out;
        };
        self.commands.push(text[start..].to_string());
        let body = if overflow {
            Err(Fail::Error)
        } else {
            Ok(&text[start + 2..])
        };
        let upper = text[start..].to_ascii_uppercase();
        if let Some((prefix, left, executes)) = &mut self.silent {
            if *left > 0 && upper.starts_with(prefix.as_str()) {
                *left -= 1;
                let executes = *executes;
                if executes {
                    if let Ok(b) = body {
                        let _ = self.execute(b);
                    }
                }
                // A modem that went quiet on this command: no answer at all.
                return out;
            }
        }
        let resp = match body {
            Ok(b) => self.execute(b),
            Err(f) => self.render_fail(f),
        };
        let command = text[start..].to_ascii_uppercase();
        let late = match &mut self.late {
            Some((prefix, left)) if *left > 0 && command.starts_with(prefix.as_str()) => {
                *left -= 1;
                true
            }
            _ => false,
        };
        out.push(if late {
            Output::Late(resp)
        } else {
            Output::Response(resp)
        });
        out
    }

    /// Runs one command line (after "AT"); chained commands stop at the first failure.
    fn execute(&mut self, body: &str) -> Vec<u8> {
        let cmds = match split_commands(body) {
            Some(c) if c.len() > 1 && self.no_chains => return self.render_fail(Fail::Error),
            Some(c) => c,
            None => return self.render_fail(Fail::Error),
        };
        let mut resp = Vec::new();
        for cmd in cmds {
            match self.command(&cmd) {
                Ok(Done::Lines(ls)) => push_block(&mut resp, &ls),
                Ok(Done::Prompt(n)) => {
                    self.mode = Mode::Prompt {
                        declared: n,
                        hex: Vec::new(),
                    };
                    resp.extend_from_slice(b"\r\n> ");
                    return resp;
                }
                Ok(Done::Final(code)) => {
                    push_block(&mut resp, &[code.to_string()]);
                    return resp;
                }
                Err(f) => {
                    resp.extend(self.render_fail(f));
                    return resp;
                }
            }
        }
        resp.extend_from_slice(b"\r\nOK\r\n");
        resp
    }

    fn render_fail(&self, f: Fail) -> Vec<u8> {
        let line = match (f, self.s.cmee) {
            (Fail::Error, _) | (_, 0) => "ERROR".to_string(),
            (Fail::Cme(n), 2) => format!("+CME ERROR: {}", cme_text(n)),
            (Fail::Cme(n), _) => format!("+CME ERROR: {n}"),
            (Fail::Cms(n), _) => format!("+CMS ERROR: {n}"),
        };
        format!("\r\n{line}\r\n").into_bytes()
    }

    // ----- commands -----

    fn command(&mut self, cmd: &str) -> CmdResult {
        if let Some(ext) = cmd.strip_prefix('+') {
            let (name, op) = parse_op(ext);
            return self.extended(&name, op);
        }
        self.basic(cmd)
    }

    fn basic(&mut self, cmd: &str) -> CmdResult {
        // split_commands leaves ASCII here: one letter, or '&' and a letter.
        let head = if cmd.starts_with('&') { 2 } else { 1 };
        let Some((letter, arg)) = cmd.split_at_checked(head) else {
            return Err(Fail::Error);
        };
        if letter == "D" {
            let number = arg.trim_end_matches(';').to_string();
            return reply(self.voice.dial(&number, self.now));
        }
        let n: u8 = if arg.is_empty() {
            0
        } else {
            arg.parse().map_err(|_| Fail::Error)?
        };
        match letter {
            "E" if n <= 1 => {
                self.s.echo = n == 1;
                ok()
            }
            "Z" => {
                self.s = Session {
                    pin_ok: self.s.pin_ok,
                    ..Session::new(&self.cfg)
                };
                ok()
            }
            "V" if n == 1 => ok(),
            "Q" if n == 0 => ok(),
            "X" | "L" | "M" | "&F" | "&W" | "&C" | "&D" => ok(),
            "I" => lines(vec![
                "SIMULATOR GSM MODEM SIM-1".into(),
                "Revision: SIM-1.0".into(),
            ]),
            "A" => reply(self.voice.answer(self.now)),
            "H" => reply(self.voice.ath(self.now)),
            _ => Err(Fail::Error),
        }
    }

    fn need_pin_cms(&self) -> Result<(), Fail> {
        if self.s.pin_ok {
            Ok(())
        } else {
            Err(Fail::Cms(311))
        }
    }

    fn need_pdu_mode(&self) -> Result<(), Fail> {
        self.need_pin_cms()?;
        if self.s.cmgf == 0 {
            Ok(())
        } else {
            // Text-mode SMS is not simulated: "operation not allowed".
            Err(Fail::Cms(302))
        }
    }

    fn extended(&mut self, name: &str, op: Op) -> CmdResult {
        let voice_op = match &op {
            Op::Exec => call::Op::Exec,
            Op::Read => call::Op::Read,
            Op::Test => call::Op::Test,
            Op::Set(a) => call::Op::Set(a),
        };
        if let Some(r) = self.voice.extended(name, voice_op, self.now) {
            return reply(r);
        }
        match (name, op) {
            ("CMEE", Op::Set(a)) => {
                self.s.cmee = num_in(&a, 0, 0..=2).ok_or(Fail::Cme(3))?;
                ok()
            }
            ("CMEE", Op::Read) => lines(vec![format!("+CMEE: {}", self.s.cmee)]),
            ("CMEE", Op::Test) => lines(vec!["+CMEE: (0-2)".into()]),
            ("CGMI" | "GMI", Op::Exec) => lines(vec![self.cfg.dialect.manufacturer().into()]),
            ("CGMM" | "GMM", Op::Exec) => lines(vec![self.cfg.dialect.model().into()]),
            ("CGMR" | "GMR", Op::Exec) => lines(vec!["Revision: SIM-1.0".into()]),
            ("CGSN" | "GSN", Op::Exec) => lines(vec!["866012345678905".into()]),
            ("GCAP", Op::Exec) => lines(vec!["+GCAP: +CGSM".into()]),
            ("CIMI", Op::Exec) => {
                if !self.s.pin_ok {
                    return Err(Fail::Cme(11));
                }
                lines(vec!["460001234567890".into()])
            }
            ("CPIN", Op::Read) => {
                let state = if self.s.pin_ok {
                    "READY"
                } else if self.pin_tries == 0 {
                    "SIM PUK"
                } else {
                    "SIM PIN"
                };
                lines(vec![format!("+CPIN: {state}")])
            }
            ("CPIN", Op::Test) => ok(),
            // The remaining-attempts counters (3GPP AT+CPINR, Quectel AT+QPINC).
            ("CPINR", Op::Set(_) | Op::Exec) => lines(vec![
                format!("+CPINR: SIM PIN,{},{PIN_ATTEMPTS}", self.pin_tries),
                "+CPINR: SIM PUK,10,10".into(),
            ]),
            ("QPINC", Op::Set(_) | Op::Read) => {
                lines(vec![format!("+QPINC: \"SC\",{},10", self.pin_tries)])
            }
            ("CPIN", Op::Set(a)) => self.enter_pin(&a),
            ("CREG" | "CGREG" | "CEREG", op) => self.registration(name, op),
            ("CSQ", Op::Exec) => lines(vec![format!("+CSQ: {},99", self.cfg.signal)]),
            ("CSQ", Op::Test) => lines(vec!["+CSQ: (0-31,99),(0-7,99)".into()]),
            ("COPS", Op::Set(a)) => {
                if let Some(f) = a.get(1).filter(|f| !f.is_empty()) {
                    self.s.cops_format = f.parse().ok().filter(|f| *f <= 2).ok_or(Fail::Cme(3))?;
                }
                ok()
            }
            ("COPS", Op::Read) => {
                if !self.s.pin_ok {
                    return lines(vec!["+COPS: 0".into()]);
                }
                let name = match self.s.cops_format {
                    2 => "46000".to_string(),
                    _ => self.cfg.operator.clone(),
                };
                lines(vec![format!(
                    "+COPS: 0,{},\"{name}\",7",
                    self.s.cops_format
                )])
            }
            ("COPS", Op::Test) => lines(vec![format!(
                "+COPS: (2,\"{}\",\"CMCC\",\"46000\",7),,(0-4),(0-2)",
                self.cfg.operator
            )]),
            ("CFUN", Op::Read) => lines(vec!["+CFUN: 1".into()]),
            ("CFUN", Op::Set(_)) => ok(),
            ("CMGF", Op::Set(a)) => {
                self.s.cmgf = num_in(&a, 0, 0..=1).ok_or(Fail::Cms(303))?;
                ok()
            }
            ("CMGF", Op::Read) => lines(vec![format!("+CMGF: {}", self.s.cmgf)]),
            ("CMGF", Op::Test) => lines(vec!["+CMGF: (0,1)".into()]),
            ("CSCS", Op::Set(a)) => {
                let cs = a.first().cloned().unwrap_or_default();
                if !["GSM", "IRA", "UCS2", "HEX", "PCCP936"].contains(&cs.as_str()) {
                    return Err(Fail::Cme(4));
                }
                self.s.cscs = cs;
                ok()
            }
            ("CSCS", Op::Read) => lines(vec![format!("+CSCS: \"{}\"", self.s.cscs)]),
            ("CSCS", Op::Test) => lines(vec!["+CSCS: (\"GSM\",\"IRA\",\"UCS2\")".into()]),
            ("CPMS", op) => self.cpms(op),
            ("CSMS", Op::Read) => lines(vec![format!("+CSMS: {},1,1,1", self.s.csms)]),
            ("CSMS", Op::Set(a)) => {
                self.s.csms = num_in(&a, 0, 0..=1).ok_or(Fail::Cms(303))?;
                lines(vec!["+CSMS: 1,1,1".into()])
            }
            ("CSMS", Op::Test) => lines(vec!["+CSMS: (0,1)".into()]),
            ("CNMI", Op::Set(a)) => self.set_cnmi(&a),
            ("CNMI", Op::Read) => {
                let c = self.cnmi;
                lines(vec![format!(
                    "+CNMI: {},{},{},{},{}",
                    c[0], c[1], c[2], c[3], c[4]
                )])
            }
            ("CNMI", Op::Test) => lines(vec!["+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)".into()]),
            ("CSCA", Op::Read) => {
                self.need_pin_cms()?;
                lines(vec![format!("+CSCA: \"{}\",145", self.smsc)])
            }
            ("CSCA", Op::Set(a)) => {
                self.need_pin_cms()?;
                self.smsc = a.first().cloned().ok_or(Fail::Cms(304))?;
                ok()
            }
            ("CMMS", Op::Set(_)) => ok(),
            ("CMMS", Op::Read) => lines(vec!["+CMMS: 0".into()]),
            ("CNUM", Op::Exec) => ok(),
            ("CMGR", Op::Set(a)) => self.cmgr(&a),
            ("CMGL", Op::Set(a)) => self.cmgl(&a),
            ("CMGL", Op::Exec) => self.cmgl(&["0".into()]),
            ("CMGL", Op::Test) => lines(vec!["+CMGL: (0-4)".into()]),
            ("CMGD", Op::Set(a)) => self.cmgd(&a),
            ("CMGD", Op::Test) => lines(vec![format!("+CMGD: (1-{}),(0-4)", self.sm.capacity())]),
            ("CMGS", Op::Set(a)) => {
                self.need_pdu_mode()?;
                if self.no_prompt > 0 {
                    // Firmware that answers before the prompt (or a late OK in its place):
                    // nothing is sent.
                    self.no_prompt -= 1;
                    return ok();
                }
                let n: usize = a
                    .first()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=180).contains(n))
                    .ok_or(Fail::Cms(304))?;
                Ok(Done::Prompt(n))
            }
            ("CMGS", Op::Test) => ok(),
            ("CNMA", Op::Exec) => self.cnma(1),
            ("CNMA", Op::Set(a)) => self.cnma(num_in(&a, 0, 0..=2).ok_or(Fail::Cms(304))?),
            _ => Err(Fail::Error),
        }
    }

    fn enter_pin(&mut self, a: &[String]) -> CmdResult {
        self.pin_entries
            .push(a.first().cloned().unwrap_or_default());
        if self.s.pin_ok {
            return Err(Fail::Cme(3));
        }
        if self.pin_tries == 0 {
            // PUK unlocking is not simulated: the SIM stays blocked.
            return Err(Fail::Cme(16));
        }
        let given = a.first().map(String::as_str).unwrap_or("");
        if Some(given) == self.cfg.pin.as_deref() {
            self.s.pin_ok = true;
            self.pin_tries = PIN_ATTEMPTS;
            // The SIM registers once unlocked; with +CREG=n>0 the modem says so.
            for (i, prefix) in ["+CREG", "+CGREG", "+CEREG"].iter().enumerate() {
                match self.s.creg[i] {
                    1 => self.push_urc(&format!("{prefix}: 1")),
                    2 => self.push_urc(&format!("{prefix}: 1,\"5A3C\",\"0B1D2E\"")),
                    _ => {}
                }
            }
            ok()
        } else {
            self.pin_tries = self.pin_tries.saturating_sub(1);
            Err(Fail::Cme(16))
        }
    }

    fn registration(&mut self, name: &str, op: Op) -> CmdResult {
        let i = match name {
            "CREG" => 0,
            "CGREG" => 1,
            _ => 2,
        };
        match op {
            Op::Set(a) => {
                self.s.creg[i] = num_in(&a, 0, 0..=2).ok_or(Fail::Cme(3))?;
                ok()
            }
            Op::Read => {
                let n = self.s.creg[i];
                let stat = u8::from(self.s.pin_ok);
                let extra = if n == 2 && stat == 1 {
                    ",\"5A3C\",\"0B1D2E\""
                } else {
                    ""
                };
                lines(vec![format!("+{name}: {n},{stat}{extra}")])
            }
            Op::Test => lines(vec![format!("+{name}: (0-2)")]),
            Op::Exec => Err(Fail::Error),
        }
    }

    fn cpms(&mut self, op: Op) -> CmdResult {
        self.need_pin_cms()?;
        let (u, t) = (self.sm.used(), self.sm.capacity());
        match op {
            Op::Test => lines(vec!["+CPMS: (\"SM\",\"SR\"),(\"SM\"),(\"SM\")".into()]),
            Op::Read => {
                let m1 = if self.s.mem1_sr {
                    format!("\"SR\",{},{}", self.sr.used(), self.sr.capacity())
                } else {
                    format!("\"SM\",{u},{t}")
                };
                lines(vec![format!("+CPMS: {m1},\"SM\",{u},{t},\"SM\",{u},{t}")])
            }
            Op::Set(a) => {
                if a.is_empty() || a.len() > 3 {
                    return Err(Fail::Cms(302));
                }
                let m1_sr = match a[0].as_str() {
                    "SM" => false,
                    "SR" => true,
                    _ => return Err(Fail::Cms(302)),
                };
                if a[1..].iter().any(|m| m != "SM") {
                    return Err(Fail::Cms(302));
                }
                self.s.mem1_sr = m1_sr;
                let m1 = if m1_sr { &self.sr } else { &self.sm };
                let mut fields = vec![m1.used(), m1.capacity()];
                for _ in 1..a.len() {
                    fields.extend([u, t]);
                }
                let f: Vec<String> = fields.iter().map(|x| x.to_string()).collect();
                lines(vec![format!("+CPMS: {}", f.join(","))])
            }
            Op::Exec => Err(Fail::Error),
        }
    }

    fn set_cnmi(&mut self, a: &[String]) -> CmdResult {
        self.need_pin_cms()?;
        let limits = [3u8, 3, 2, 2, 1];
        if a.is_empty() || a.len() > 5 {
            return Err(Fail::Cms(303));
        }
        let mut next = self.cnmi;
        for (i, v) in a.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            let n: u8 = v.parse().map_err(|_| Fail::Cms(303))?;
            if n > limits[i] || (i == 2 && n == 1) {
                return Err(Fail::Cms(303));
            }
            next[i] = n;
        }
        if self.direct_delivery {
            next[1] = 2;
        }
        self.cnmi = next;
        if self.cnmi[1] != 2 {
            // Leaving direct routing: whatever waited for +CNMA goes to the SIM instead.
            let held: Vec<String> = self
                .awaiting_ack
                .take()
                .into_iter()
                .chain(self.direct.drain(..))
                .collect();
            for p in held {
                self.arrive(Incoming::Deliver(p), true);
            }
        }
        ok()
    }

    fn mem1(&mut self) -> &mut Storage {
        if self.s.mem1_sr {
            &mut self.sr
        } else {
            &mut self.sm
        }
    }

    fn cmgr(&mut self, a: &[String]) -> CmdResult {
        self.need_pdu_mode()?;
        let i: usize = num_arg(a, 0).ok_or(Fail::Cms(321))?;
        self.reads += 1;
        match self.mem1().read(i) {
            Ok(Some(slot)) => lines(vec![
                format!("+CMGR: {},,{}", slot.stat.code(), tpdu_len(&slot.pdu)),
                slot.pdu,
            ]),
            Ok(None) | Err(_) => Err(Fail::Cms(321)),
        }
    }

    fn cmgl(&mut self, a: &[String]) -> CmdResult {
        self.need_pdu_mode()?;
        let stat: u8 = num_in(a, 0, 0..=4).ok_or(Fail::Cms(302))?;
        self.listings[usize::from(stat)] += 1;
        let mut out = Vec::new();
        for (i, slot) in self.mem1().list(stat) {
            out.push(format!(
                "+CMGL: {i},{},,{}",
                slot.stat.code(),
                tpdu_len(&slot.pdu)
            ));
            out.push(slot.pdu);
        }
        for p in std::mem::take(&mut self.after_listing) {
            self.deliver(&p);
        }
        lines(out)
    }

    fn cmgd(&mut self, a: &[String]) -> CmdResult {
        self.need_pdu_mode()?;
        let i: usize = num_arg(a, 0).ok_or(Fail::Cms(321))?;
        let flag: u8 = match a.get(1).filter(|f| !f.is_empty()) {
            None => 0,
            Some(f) => f.parse().ok().filter(|f| *f <= 4).ok_or(Fail::Cms(302))?,
        };
        let deleted = if flag == 0 {
            self.mem1()
                .delete(i)
                .map(|_| ())
                .map_err(|_| Fail::Cms(321))
        } else {
            self.mem1().delete_by_flag(flag);
            Ok(())
        };
        // Like an SMSC retrying, the network delivers whenever there is room, even after a
        // failed delete.
        self.drain_network();
        deleted?;
        ok()
    }

    fn cnma(&mut self, kind: u8) -> CmdResult {
        let Some(pdu) = self.awaiting_ack.take() else {
            return Err(Fail::Cms(340));
        };
        if kind == 2 {
            // A negative ack: the SMSC will try again later.
            self.direct.push_back(pdu);
        }
        self.next_direct();
        ok()
    }

    /// Ctrl-Z after the prompt: validate, "send", answer.
    fn submit(&mut self, now: Instant) -> Vec<Output> {
        let Mode::Prompt { declared, hex } = std::mem::replace(&mut self.mode, Mode::Command)
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.s.echo {
            out.push(Output::Echo(hex.clone()));
        }
        let hex = String::from_utf8_lossy(&hex).to_ascii_uppercase();
        let resp = match self.accept_submit(declared, &hex, now) {
            Ok(mr) => format!("\r\n+CMGS: {mr}\r\n\r\nOK\r\n").into_bytes(),
            Err(f) => self.render_fail(f),
        };
        out.push(Output::Response(resp));
        out
    }

    fn accept_submit(&mut self, declared: usize, hex: &str, now: Instant) -> Result<u8, Fail> {
        let bytes = hex::decode(hex).map_err(|_| Fail::Cms(304))?;
        let smsc_len = usize::from(*bytes.first().ok_or(Fail::Cms(304))?);
        let tpdu = bytes
            .len()
            .checked_sub(1 + smsc_len)
            .ok_or(Fail::Cms(304))?;
        if tpdu != declared || tpdu == 0 {
            return Err(Fail::Cms(304));
        }
        let submit = match pdu::decode_hex(hex, true) {
            Ok(pdu::Pdu::Submit(s)) => s,
            _ => return Err(Fail::Cms(304)),
        };
        if let Some((code, left)) = self.failures.as_mut() {
            if *left > 0 {
                *left -= 1;
                return Err(Fail::Cms(*code));
            }
        }
        let mr = self.next_mr;
        self.next_mr = self.next_mr.wrapping_add(1);
        self.record_sent(SentSms {
            to: submit.recipient.clone(),
            pdu: hex.to_string(),
            text: submit.text.clone(),
            concat: submit.concat,
            message_ref: mr,
            status_report_requested: submit.status_report_request,
        });
        if submit.status_report_request {
            self.reports.push(PendingReport {
                due: now + self.cfg.report_delay,
                mr,
                to: submit.recipient,
            });
        }
        Ok(mr)
    }

    fn record_sent(&mut self, sms: SentSms) {
        match sms.concat {
            None => self.texts.push((sms.to.clone(), sms.text.clone())),
            Some(c) => {
                let pos = self.partial.iter().position(|p| {
                    p.to == sms.to && p.reference == c.reference && p.total == c.total
                });
                let idx = match pos {
                    Some(i) => i,
                    None => {
                        self.partial.push(PartialText {
                            to: sms.to.clone(),
                            reference: c.reference,
                            total: c.total,
                            parts: Vec::new(),
                        });
                        self.partial.len() - 1
                    }
                };
                let p = &mut self.partial[idx];
                // A part sent twice (a retry after a timeout) counts once.
                if !p.parts.iter().any(|(s, _)| *s == c.seq) {
                    p.parts.push((c.seq, sms.text.clone()));
                }
                if p.parts.len() >= usize::from(p.total) {
                    let mut done = self.partial.remove(idx);
                    done.parts.sort_by_key(|(s, _)| *s);
                    let text: String = done.parts.into_iter().map(|(_, t)| t).collect();
                    self.texts.push((done.to, text));
                }
            }
        }
        self.sent.push(sms);
    }

    // ----- the network side -----

    /// The network delivers one SMS-DELIVER PDU (full hex with SMSC field).
    pub fn deliver(&mut self, pdu_hex: &str) {
        self.delivered.push(pdu_hex.to_ascii_uppercase());
        self.arrive(Incoming::Deliver(pdu_hex.to_ascii_uppercase()), true);
    }

    /// Puts a PDU on the SIM without announcing it; if the SIM is full it waits at the SMSC
    /// like any other message.
    pub fn preload(&mut self, pdu_hex: &str) {
        self.delivered.push(pdu_hex.to_ascii_uppercase());
        self.arrive(Incoming::Deliver(pdu_hex.to_ascii_uppercase()), false);
    }

    fn arrive(&mut self, msg: Incoming, announce: bool) {
        match msg {
            Incoming::Deliver(p) if announce && self.cnmi[1] == 2 => {
                self.direct.push_back(p);
                if self.awaiting_ack.is_none() {
                    self.next_direct();
                }
            }
            Incoming::Report(p) if self.cnmi[3] == 1 => {
                self.push_urc(&format!("+CDS: {}\r\n{p}", tpdu_len(&p)));
            }
            Incoming::Report(_) if self.cnmi[3] == 0 => {}
            // Reports live in their own "SR" memory, as on EC2x and SIM7600; a full SR
            // memory loses the report (the network does not retry reports).
            Incoming::Report(p) => {
                if let Some(i) = self.sr.store(p, Stat::Unread) {
                    if announce {
                        self.push_urc(&format!("+CDSI: \"SR\",{i}"));
                    }
                }
            }
            msg => {
                self.drain_network();
                if !self.network.is_empty() || self.sm.is_full() {
                    self.network.push_back(msg);
                } else {
                    self.store(msg, announce);
                }
            }
        }
    }

    fn store(&mut self, msg: Incoming, announce: bool) {
        let (pdu, report) = match msg {
            Incoming::Deliver(p) => (p, false),
            Incoming::Report(p) => (p, true),
        };
        let Some(i) = self.sm.store(pdu.clone(), Stat::Unread) else {
            let m = if report {
                Incoming::Report(pdu)
            } else {
                Incoming::Deliver(pdu)
            };
            self.network.push_front(m);
            return;
        };
        if !announce {
            return;
        }
        if report {
            self.push_urc(&format!("+CDSI: \"SM\",{i}"));
        } else if matches!(self.cnmi[1], 1..=3) {
            self.push_urc(&format!("+CMTI: \"SM\",{i}"));
        }
    }

    fn drain_network(&mut self) {
        while !self.sm.is_full() {
            let Some(m) = self.network.pop_front() else {
                break;
            };
            self.store(m, true);
        }
    }

    fn next_direct(&mut self) {
        if let Some(p) = self.direct.pop_front() {
            self.push_urc(&format!("+CMT: ,{}\r\n{p}", tpdu_len(&p)));
            self.awaiting_ack = Some(p);
        }
    }

    /// An incoming voice call; the first RING goes out at once.
    pub fn ring(&mut self, from: &str, now: Instant) {
        self.call(IncomingCall::new(from), now);
    }

    /// A scripted incoming call (withheld, CLIP late or missing, duplicate rings...).
    pub fn call(&mut self, script: IncomingCall, now: Instant) {
        self.voice.ring(script, now);
    }

    /// Keys pressed by the far end of the active call.
    pub fn dtmf(&mut self, digits: &str) {
        self.voice.dtmf(digits);
    }

    /// How the next call placed with `ATD` is answered.
    pub fn script_outbound(&mut self, o: super::call::Outbound) {
        self.voice.script_outbound(o);
    }

    /// The far end hangs up (or a ringing caller gives up now).
    pub fn remote_hang_up(&mut self) {
        self.voice.remote_hang_up();
    }

    pub fn ignore_hangups(&mut self, commands: &[&str]) {
        self.voice.ignore_hangups(commands);
    }

    /// The next `count` commands starting with `prefix` get no answer at all; with
    /// `executes` they still take effect.
    pub fn silent_commands(&mut self, prefix: &str, count: usize, executes: bool) {
        self.silent = Some((prefix.to_ascii_uppercase(), count, executes));
    }

    pub fn commands(&self) -> &[String] {
        &self.commands
    }

    /// The earliest moment `tick` has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let r = self.voice.next_deadline();
        let rep = self.reports.iter().map(|p| p.due).min();
        [r, rep].into_iter().flatten().min()
    }

    /// Fires due timers: rings and status reports (`wall` stamps the reports; without it
    /// they wait for the next tick).
    pub fn tick(&mut self, now: Instant, wall: Option<DateTime<FixedOffset>>) {
        self.voice.tick(now);
        let Some(wall) = wall else { return };
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reports)
            .into_iter()
            .partition(|p| p.due <= now);
        self.reports = later;
        for p in due {
            let pdu = pdu::encode_status_report(p.mr, &p.to, wall, wall, 0);
            self.arrive(Incoming::Report(pdu.to_ascii_uppercase()), true);
        }
    }

    fn push_urc(&mut self, line: &str) {
        self.urcs.extend_from_slice(b"\r\n");
        self.urcs.extend_from_slice(line.as_bytes());
        self.urcs.extend_from_slice(b"\r\n");
    }

    /// Raw bytes for the line between responses (garbage injection).
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.urcs.extend_from_slice(bytes);
    }

    /// Unsolicited output ready to be written; held back while the `> ` prompt is open so
    /// it never lands between the prompt and the `+CMGS` answer.
    pub fn take_urcs(&mut self) -> Vec<u8> {
        if matches!(self.mode, Mode::Prompt { .. }) {
            return Vec::new();
        }
        self.urcs.append(&mut self.voice.out);
        std::mem::take(&mut self.urcs)
    }

    /// The modem lost power or its USB link: like the modems in modem-transcripts.md it
    /// forgets every session setting (echo back on, text mode, `+CPMS` back to "SM",
    /// `+CNMI` back to the 27.005 default of no indications, `+CLIP`/`+CRC` off), any
    /// half-typed command or open prompt, and the SIM locks again. Kept: the SIM's messages
    /// and its PIN counter, what the SMSC holds, the sent log. A driver that does not
    /// re-initialise after a reboot hears of no new message.
    pub fn reboot(&mut self) {
        self.s = Session::power_on(&self.cfg);
        self.cnmi = [0, if self.direct_delivery { 2 } else { 0 }, 0, 0, 0];
        self.voice.reboot();
        self.mode = Mode::Command;
        self.line.clear();
        self.line_overflow = false;
        if let Some(p) = self.awaiting_ack.take() {
            self.direct.push_front(p);
        }
        self.next_direct();
    }

    /// A reboot while the port stays open (power dip, firmware watchdog): `reboot` plus the
    /// boot URCs of SIMCom and Quectel modems.
    pub fn reboot_in_place(&mut self) {
        // Output not yet on the wire dies with the power; what `reboot` re-offers (an
        // unacknowledged +CMT) comes after the boot lines.
        self.urcs.clear();
        self.voice.out.clear();
        self.reboot();
        let after_boot = std::mem::take(&mut self.urcs);
        self.push_urc("RDY");
        if self.s.pin_ok {
            self.push_urc("+CPIN: READY");
            self.push_urc("SMS Ready");
            self.push_urc("+QIND: SMS DONE");
        } else if self.pin_tries == 0 {
            self.push_urc("+CPIN: SIM PUK");
        } else {
            self.push_urc("+CPIN: SIM PIN");
        }
        self.urcs.extend(after_boot);
    }

    /// The next `count` commands starting with `prefix` (e.g. "AT+CMGR") answer late.
    pub fn late_replies(&mut self, prefix: &str, count: usize) {
        self.late = Some((prefix.to_ascii_uppercase(), count));
    }

    /// Like firmware with a short line buffer: a command line chaining several commands
    /// answers `ERROR` and runs none of them.
    pub fn refuse_chained_lines(&mut self, on: bool) {
        self.no_chains = on;
    }

    /// How many `AT+CMGL=<stat>` were answered (stat 0-4).
    pub fn listings(&self, stat: u8) -> usize {
        self.listings.get(usize::from(stat)).copied().unwrap_or(0)
    }

    /// How many `AT+CMGR` were answered.
    pub fn reads(&self) -> usize {
        self.reads
    }

    /// The network delivers `pdu_hex` just after the next `AT+CMGL` listing (a message arriving
    /// between a listing and its deletes).
    pub fn deliver_after_next_listing(&mut self, pdu_hex: &str) {
        self.after_listing.push(pdu_hex.to_string());
    }

    /// The next `count` `AT+CMGS` are answered OK without the `> ` prompt.
    pub fn refuse_prompts(&mut self, count: usize) {
        self.no_prompt = count;
    }

    pub fn pin_entries(&self) -> &[String] {
        &self.pin_entries
    }

    pub fn pin_attempts_left(&self) -> u8 {
        self.pin_tries
    }

    pub fn delivered(&self) -> &[String] {
        &self.delivered
    }

    /// Status reports in the "SR" memory now.
    pub fn stored_reports(&self) -> usize {
        self.sr.used()
    }

    pub fn fail_sends(&mut self, code: u16, count: usize) {
        self.failures = Some((code, count));
    }

    pub fn sent(&self) -> &[SentSms] {
        &self.sent
    }

    pub fn sent_texts(&self) -> &[(String, String)] {
        &self.texts
    }

    pub fn stored_count(&self) -> usize {
        self.sm.used()
    }

    pub fn calls(&self) -> &[CallEvent] {
        &self.voice.events
    }
}

// ----- parsing helpers -----

/// Appends an information block framed like a modem with ATV1: "\r\n" line ("\r\n" line)* "\r\n".
fn push_block(resp: &mut Vec<u8>, ls: &[String]) {
    if ls.is_empty() {
        return;
    }
    resp.extend_from_slice(b"\r\n");
    resp.extend_from_slice(ls.join("\r\n").as_bytes());
    resp.extend_from_slice(b"\r\n");
}

fn cme_text(n: u16) -> String {
    match n {
        3 => "operation not allowed".into(),
        4 => "operation not supported".into(),
        10 => "SIM not inserted".into(),
        11 => "SIM PIN required".into(),
        16 => "incorrect password".into(),
        _ => n.to_string(),
    }
}

/// Splits what follows "AT" into commands: basic ones ("E0", "Z", "H", "D123;") and
/// extended ones ("+CMGF=0"), the latter separated by ';'. Upper-cases outside quotes.
/// `None` for a line no modem would parse.
fn split_commands(body: &str) -> Option<Vec<String>> {
    let mut chars = body.trim().chars().peekable();
    let mut cmds = Vec::new();
    while let Some(&c) = chars.peek() {
        if c == ';' || c == ' ' {
            chars.next();
            continue;
        }
        let c = c.to_ascii_uppercase();
        if matches!(c, '+' | '^' | '$' | '*' | '#') {
            let mut cmd = String::new();
            let mut quoted = false;
            while let Some(&ch) = chars.peek() {
                if ch == ';' && !quoted {
                    break;
                }
                if ch == '"' {
                    quoted = !quoted;
                }
                cmd.push(if quoted { ch } else { ch.to_ascii_uppercase() });
                chars.next();
            }
            if !cmd.starts_with('+') {
                // Vendor prefixes (^, $, ...) are not simulated: "+" only.
                cmd.insert(0, '!');
            }
            cmds.push(cmd);
        } else if c == 'D' {
            // Dial takes the rest of the line, ';' included.
            let rest: String = chars.collect();
            cmds.push(rest.to_ascii_uppercase());
            break;
        } else if c.is_ascii_alphabetic() || c == '&' {
            let mut cmd = String::new();
            cmd.push(c);
            chars.next();
            if c == '&' {
                cmd.push(chars.next()?.to_ascii_uppercase());
            }
            while let Some(&d) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                cmd.push(d);
                chars.next();
            }
            cmds.push(cmd);
        } else {
            return None;
        }
    }
    Some(cmds)
}

/// "+CMGF=0" -> ("CMGF", Set(["0"])); arguments are trimmed and unquoted.
fn parse_op(ext: &str) -> (String, Op) {
    if let Some(name) = ext.strip_suffix("=?") {
        return (name.trim().to_string(), Op::Test);
    }
    if let Some((name, args)) = ext.split_once('=') {
        return (name.trim().to_string(), Op::Set(split_args(args)));
    }
    if let Some(name) = ext.strip_suffix('?') {
        return (name.trim().to_string(), Op::Read);
    }
    (ext.trim().to_string(), Op::Exec)
}

fn split_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in args.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(ch),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn num_arg<T: std::str::FromStr>(a: &[String], i: usize) -> Option<T> {
    a.get(i)?.parse().ok()
}

fn num_in(a: &[String], i: usize, range: std::ops::RangeInclusive<u8>) -> Option<u8> {
    num_arg(a, i).filter(|n| range.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DELIVER from +31641600986, "How are you?" (gammu tests/atgen fixtures).
    const DELIVER: &str = "07918497483252F0040B918496445078F700007121320144744004D4F29C0E";

    fn engine(cfg: SimOptions) -> (Engine, Instant) {
        (Engine::new(cfg), Instant::now())
    }

    /// Feeds a line and returns everything written back, echo and response together.
    fn say(e: &mut Engine, now: Instant, input: &str) -> String {
        let mut out = Vec::new();
        for o in e.feed(input.as_bytes(), now) {
            match o {
                Output::Echo(b) | Output::Response(b) | Output::Late(b) => out.extend(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn urcs(e: &mut Engine) -> String {
        String::from_utf8_lossy(&e.take_urcs()).into_owned()
    }

    #[test]
    fn echo_is_on_until_ate0_and_echo_comes_before_the_response() {
        let (mut e, t) = engine(SimOptions::default());
        let outs = e.feed(b"AT\r", t);
        assert_eq!(
            outs,
            vec![
                Output::Echo(b"AT\r\n".to_vec()),
                Output::Response(b"\r\nOK\r\n".to_vec())
            ]
        );
        assert_eq!(say(&mut e, t, "ATE0\r"), "ATE0\r\n\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT\r"), "\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "ATE1\r"), "\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT\r"), "AT\r\n\r\nOK\r\n");
    }

    #[test]
    fn crlf_lowercase_split_reads_and_chained_commands() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        assert_eq!(say(&mut e, t, "at+cmgf=0\r\n"), "\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT+C"), "");
        assert_eq!(say(&mut e, t, "SQ\r"), "\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
        assert_eq!(
            say(&mut e, t, "AT+CMGF=0;+CSQ;+COPS?\r"),
            "\r\n+CSQ: 20,99\r\n\r\n+COPS: 0,0,\"CHINA MOBILE\",7\r\n\r\nOK\r\n"
        );
        assert_eq!(say(&mut e, t, "AT+CMGF=0;+NOPE;+CSQ\r"), "\r\nERROR\r\n");
        assert_eq!(
            say(&mut e, t, "AT+COPS=3,2;+COPS?\r"),
            "\r\n+COPS: 0,2,\"46000\",7\r\n\r\nOK\r\n"
        );
    }

    #[test]
    fn noise_lines_without_at_get_no_answer_and_unknown_commands_error() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        assert_eq!(say(&mut e, t, "\x1b\x1a\r"), "");
        assert_eq!(say(&mut e, t, "hello\r"), "");
        assert_eq!(say(&mut e, t, "xxAT\r"), "\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT+FOO\r"), "\r\nERROR\r\n");
        assert_eq!(say(&mut e, t, "AT^CURC=0\r"), "\r\nERROR\r\n");
        let long = format!("AT+{}\r", "X".repeat(3 * MAX_LINE));
        assert_eq!(say(&mut e, t, &long), "\r\nERROR\r\n");
        assert_eq!(
            say(&mut e, t, "ATI\r"),
            "\r\nSIMULATOR GSM MODEM SIM-1\r\nRevision: SIM-1.0\r\n\r\nOK\r\n"
        );
        assert_eq!(say(&mut e, t, "AT+CGMI\r"), "\r\nSIMULATOR\r\n\r\nOK\r\n");
    }

    #[test]
    fn pin_flow_and_cmee_modes() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            pin: Some("1234".into()),
            ..SimOptions::default()
        });
        assert_eq!(
            say(&mut e, t, "AT+CPIN?\r"),
            "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
        );
        assert_eq!(say(&mut e, t, "AT+CMGL=4\r"), "\r\n+CMS ERROR: 311\r\n");
        assert_eq!(say(&mut e, t, "AT+CIMI\r"), "\r\n+CME ERROR: 11\r\n");
        assert_eq!(say(&mut e, t, "AT+CREG?\r"), "\r\n+CREG: 0,0\r\n\r\nOK\r\n");
        assert_eq!(
            say(&mut e, t, "AT+CPIN=\"0000\"\r"),
            "\r\n+CME ERROR: 16\r\n"
        );
        assert_eq!(say(&mut e, t, "AT+CMEE=2\r"), "\r\nOK\r\n");
        assert_eq!(
            say(&mut e, t, "AT+CPIN=\"0001\"\r"),
            "\r\n+CME ERROR: incorrect password\r\n"
        );
        assert_eq!(say(&mut e, t, "AT+CMEE=0\r"), "\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT+CREG=1\r"), "\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT+CPIN=\"1234\"\r"), "\r\nOK\r\n");
        assert_eq!(
            urcs(&mut e),
            "\r\n+CREG: 1\r\n",
            "registration URC after unlock"
        );
        assert_eq!(
            say(&mut e, t, "AT+CPIN?\r"),
            "\r\n+CPIN: READY\r\n\r\nOK\r\n"
        );
        assert_eq!(
            say(&mut e, t, "AT+CPIN=\"1234\"\r"),
            "\r\nERROR\r\n",
            "CMEE=0: bare ERROR"
        );
        assert_eq!(say(&mut e, t, "AT+CREG?\r"), "\r\n+CREG: 1,1\r\n\r\nOK\r\n");
        assert_eq!(
            say(&mut e, t, "AT+CREG=2;+CREG?\r"),
            "\r\n+CREG: 2,1,\"5A3C\",\"0B1D2E\"\r\n\r\nOK\r\n"
        );
    }

    #[test]
    fn three_wrong_pins_block_the_sim() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            pin: Some("1234".into()),
            ..SimOptions::default()
        });
        for _ in 0..3 {
            assert_eq!(
                say(&mut e, t, "AT+CPIN=\"9999\"\r"),
                "\r\n+CME ERROR: 16\r\n"
            );
        }
        assert_eq!(
            say(&mut e, t, "AT+CPIN?\r"),
            "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"
        );
        assert_eq!(
            say(&mut e, t, "AT+CPIN=\"1234\"\r"),
            "\r\n+CME ERROR: 16\r\n"
        );
    }

    #[test]
    fn delivery_is_announced_read_listed_and_deleted() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        e.deliver(DELIVER);
        assert_eq!(urcs(&mut e), "\r\n+CMTI: \"SM\",1\r\n");
        assert_eq!(urcs(&mut e), "", "taken once");
        let read = format!("\r\n+CMGR: 0,,23\r\n{DELIVER}\r\n\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT+CMGR=1\r"), read);
        let reread = format!("\r\n+CMGR: 1,,23\r\n{DELIVER}\r\n\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT+CMGR=1\r"), reread);
        assert_eq!(say(&mut e, t, "AT+CMGR=2\r"), "\r\n+CMS ERROR: 321\r\n");
        assert_eq!(say(&mut e, t, "AT+CMGR=99\r"), "\r\n+CMS ERROR: 321\r\n");
        e.preload(DELIVER);
        assert_eq!(urcs(&mut e), "", "preloaded messages are not announced");
        assert_eq!(
            say(&mut e, t, "AT+CMGL=4\r"),
            format!("\r\n+CMGL: 1,1,,23\r\n{DELIVER}\r\n+CMGL: 2,0,,23\r\n{DELIVER}\r\n\r\nOK\r\n")
        );
        assert_eq!(
            say(&mut e, t, "AT+CMGL=0\r"),
            "\r\nOK\r\n",
            "listing marked them read"
        );
        assert_eq!(
            say(&mut e, t, "AT+CPMS?\r"),
            "\r\n+CPMS: \"SM\",2,30,\"SM\",2,30,\"SM\",2,30\r\n\r\nOK\r\n"
        );
        assert_eq!(say(&mut e, t, "AT+CMGD=1\r"), "\r\nOK\r\n");
        assert_eq!(e.stored_count(), 1);
        assert_eq!(
            say(&mut e, t, "AT+CMGD=1\r"),
            "\r\nOK\r\n",
            "already gone is fine"
        );
        assert_eq!(say(&mut e, t, "AT+CMGD=31\r"), "\r\n+CMS ERROR: 321\r\n");
        assert_eq!(say(&mut e, t, "AT+CMGD=1,4\r"), "\r\nOK\r\n");
        assert_eq!(e.stored_count(), 0);
        assert_eq!(
            say(&mut e, t, "AT+CPMS=\"SM\",\"SM\",\"SM\"\r"),
            "\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n"
        );
        assert_eq!(
            say(&mut e, t, "AT+CPMS=\"ME\"\r"),
            "\r\n+CMS ERROR: 302\r\n"
        );
    }

    /// The hook the commit-before-delete tests use: a message lands just after a listing, in a
    /// free slot, unread, announced; a delete of the listed index leaves it, "all read" would
    /// leave it too, and it is listed as unread next time.
    #[test]
    fn a_message_can_arrive_between_a_listing_and_its_deletes() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        e.preload(DELIVER);
        let other = DELIVER.replace("9C0E", "9C0F");
        e.deliver_after_next_listing(&other);
        assert_eq!(
            say(&mut e, t, "AT+CMGL=0\r"),
            format!("\r\n+CMGL: 1,0,,23\r\n{DELIVER}\r\n\r\nOK\r\n")
        );
        assert_eq!(e.listings(0), 1);
        assert_eq!(urcs(&mut e), "\r\n+CMTI: \"SM\",2\r\n");
        assert_eq!(say(&mut e, t, "AT+CMGD=1\r"), "\r\nOK\r\n");
        assert_eq!(e.stored_count(), 1, "the new arrival is not deleted");
        assert_eq!(say(&mut e, t, "AT+CMGD=1,1\r"), "\r\nOK\r\n");
        assert_eq!(e.stored_count(), 1, "nor by deleting all read ones");
        let listed = say(&mut e, t, "AT+CMGL=0\r");
        assert!(listed.starts_with("\r\n+CMGL: 2,0,,"), "{listed:?}");
        assert_eq!(e.delivered().len(), 2);
    }

    #[test]
    fn a_full_sim_makes_the_network_wait_until_a_slot_frees() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            storage_capacity: 2,
            ..SimOptions::default()
        });
        e.preload(DELIVER);
        e.preload(DELIVER);
        e.deliver(DELIVER);
        e.deliver(DELIVER);
        assert_eq!(urcs(&mut e), "");
        assert_eq!(e.stored_count(), 2);
        assert_eq!(say(&mut e, t, "AT+CMGD=2\r"), "\r\nOK\r\n");
        assert_eq!(urcs(&mut e), "\r\n+CMTI: \"SM\",2\r\n");
        assert_eq!(say(&mut e, t, "AT+CMGD=0,4\r"), "\r\nOK\r\n");
        assert_eq!(urcs(&mut e), "\r\n+CMTI: \"SM\",1\r\n");
        assert_eq!(e.stored_count(), 1);
    }

    #[test]
    fn direct_routing_holds_the_next_message_until_cnma() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        assert_eq!(say(&mut e, t, "AT+CNMI=2,2,0,0,0\r"), "\r\nOK\r\n");
        e.deliver(DELIVER);
        e.deliver(DELIVER);
        assert_eq!(urcs(&mut e), format!("\r\n+CMT: ,23\r\n{DELIVER}\r\n"));
        assert_eq!(say(&mut e, t, "AT+CNMA\r"), "\r\nOK\r\n");
        assert_eq!(urcs(&mut e), format!("\r\n+CMT: ,23\r\n{DELIVER}\r\n"));
        assert_eq!(say(&mut e, t, "AT+CNMA=1\r"), "\r\nOK\r\n");
        assert_eq!(say(&mut e, t, "AT+CNMA\r"), "\r\n+CMS ERROR: 340\r\n");
        assert_eq!(e.stored_count(), 0, "routed messages are not stored");
        assert_eq!(
            say(&mut e, t, "AT+CNMI=2,1,0,2,0;+CNMI?\r"),
            "\r\n+CNMI: 2,1,0,2,0\r\n\r\nOK\r\n"
        );
        assert_eq!(
            say(&mut e, t, "AT+CNMI=2,1,1,0,0\r"),
            "\r\n+CMS ERROR: 303\r\n"
        );
    }

    fn submit(to: &str, text: &str, srr: bool) -> Vec<pdu::EncodedPart> {
        let opts = pdu::SubmitOptions {
            status_report: srr,
            concat_ref: 7,
            ..pdu::SubmitOptions::default()
        };
        match pdu::encode_submit(to, text, &opts) {
            Ok(p) => p,
            Err(e) => panic!("test PDU does not encode: {e}"),
        }
    }

    #[test]
    fn cmgs_prompts_records_and_answers_with_incrementing_references() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        let parts = submit("+8613800000001", "您的诉求已受理，编号 A1", false);
        assert_eq!(parts.len(), 1);
        let p = &parts[0];
        assert_eq!(
            say(&mut e, t, &format!("AT+CMGS={}\r", p.tpdu_len)),
            "\r\n> "
        );
        assert_eq!(
            say(&mut e, t, &format!("{}\x1a", p.hex)),
            "\r\n+CMGS: 0\r\n\r\nOK\r\n"
        );
        assert_eq!(
            say(&mut e, t, &format!("AT+CMGS={}\r", p.tpdu_len)),
            "\r\n> "
        );
        assert_eq!(
            say(&mut e, t, &format!("{}\x1a", p.hex.to_lowercase())),
            "\r\n+CMGS: 1\r\n\r\nOK\r\n"
        );
        let sent = e.sent();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].to, "+8613800000001");
        assert_eq!(sent[0].text, "您的诉求已受理，编号 A1");
        assert_eq!(sent[0].pdu, p.hex.to_ascii_uppercase());
        assert_eq!((sent[0].message_ref, sent[1].message_ref), (0, 1));
        assert!(!sent[0].status_report_requested);
        assert_eq!(e.sent_texts().len(), 2);
    }

    #[test]
    fn cmgs_rejects_wrong_length_bad_hex_and_non_submit_and_esc_aborts() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        let p = &submit("10086", "hi", false)[0];
        say(&mut e, t, &format!("AT+CMGS={}\r", p.tpdu_len + 1));
        assert_eq!(
            say(&mut e, t, &format!("{}\x1a", p.hex)),
            "\r\n+CMS ERROR: 304\r\n"
        );
        say(&mut e, t, "AT+CMGS=3\r");
        assert_eq!(say(&mut e, t, "00ZZ11\x1a"), "\r\n+CMS ERROR: 304\r\n");
        say(&mut e, t, "AT+CMGS=23\r");
        assert_eq!(
            say(&mut e, t, &format!("{DELIVER}\x1a")),
            "\r\n+CMS ERROR: 304\r\n"
        );
        assert_eq!(say(&mut e, t, "AT+CMGS=0\r"), "\r\n+CMS ERROR: 304\r\n");
        // ESC abandons the prompt; a URC that arrived meanwhile waits for it to close.
        assert_eq!(
            say(&mut e, t, &format!("AT+CMGS={}\r", p.tpdu_len)),
            "\r\n> "
        );
        e.deliver(DELIVER);
        assert_eq!(urcs(&mut e), "", "no URC inside the prompt");
        assert_eq!(say(&mut e, t, "0011\x1b"), "\r\nOK\r\n");
        assert_eq!(urcs(&mut e), "\r\n+CMTI: \"SM\",1\r\n");
        assert_eq!(say(&mut e, t, "AT\r"), "\r\nOK\r\n");
        assert!(e.sent().is_empty());
        assert_eq!(say(&mut e, t, "AT+CMGF=1\r"), "\r\nOK\r\n");
        assert_eq!(
            say(&mut e, t, "AT+CMGS=\"10086\"\r"),
            "\r\n+CMS ERROR: 302\r\n"
        );
    }

    #[test]
    fn fail_sends_answers_cms_errors_then_recovers() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        e.fail_sends(38, 2);
        let p = &submit("10086", "hi", false)[0];
        let cmd = format!("AT+CMGS={}\r", p.tpdu_len);
        let body = format!("{}\x1a", p.hex);
        for _ in 0..2 {
            say(&mut e, t, &cmd);
            assert_eq!(say(&mut e, t, &body), "\r\n+CMS ERROR: 38\r\n");
        }
        say(&mut e, t, &cmd);
        assert_eq!(say(&mut e, t, &body), "\r\n+CMGS: 0\r\n\r\nOK\r\n");
        assert_eq!(e.sent().len(), 1);
    }

    #[test]
    fn concatenated_parts_are_reassembled_in_order_of_completion() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        let long = "诉".repeat(150);
        let parts = submit("+8613900000002", &long, false);
        assert_eq!(parts.len(), 3);
        for i in [0, 2, 0, 1] {
            let p = &parts[i];
            say(&mut e, t, &format!("AT+CMGS={}\r", p.tpdu_len));
            assert!(say(&mut e, t, &format!("{}\x1a", p.hex)).contains("+CMGS:"));
            if i != 1 {
                assert!(e.sent_texts().is_empty(), "incomplete until the last part");
            }
        }
        assert_eq!(e.sent().len(), 4, "one entry per PDU, the retry included");
        assert_eq!(e.sent()[0].concat.map(|c| (c.seq, c.total)), Some((1, 3)));
        assert_eq!(e.sent_texts(), [("+8613900000002".to_string(), long)]);
    }

    #[test]
    fn status_reports_follow_cnmi_ds() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        let wall = chrono::DateTime::parse_from_rfc3339("2025-03-01T10:00:00+08:00").ok();
        let p = &submit("+8613800000001", "ok", true)[0];
        let send = |e: &mut Engine| {
            say(e, t, &format!("AT+CMGS={}\r", p.tpdu_len));
            say(e, t, &format!("{}\x1a", p.hex))
        };
        // ds=0 (default): no report at all.
        send(&mut e);
        e.tick(t + Duration::from_secs(1), wall);
        assert_eq!(urcs(&mut e), "");
        // ds=1: +CDS with the PDU, after the delay.
        say(&mut e, t, "AT+CNMI=2,1,0,1,0\r");
        assert_eq!(send(&mut e), "\r\n+CMGS: 1\r\n\r\nOK\r\n");
        assert_eq!(e.next_deadline(), Some(t + Duration::from_millis(200)));
        e.tick(t + Duration::from_millis(100), wall);
        assert_eq!(urcs(&mut e), "");
        e.tick(t + Duration::from_millis(200), wall);
        let u = urcs(&mut e);
        let pdu_line = u.lines().nth(2).unwrap_or_default().to_string();
        match pdu::decode_hex(&pdu_line, true) {
            Ok(pdu::Pdu::StatusReport(r)) => {
                assert_eq!((r.message_ref, r.status), (1, 0));
                assert_eq!(r.recipient, "+8613800000001");
            }
            other => panic!("not a status report: {other:?} in {u:?}"),
        }
        assert!(u.starts_with(&format!("\r\n+CDS: {}\r\n", tpdu_len(&pdu_line))));
        // ds=2: stored, +CDSI.
        say(&mut e, t, "AT+CNMI=2,1,0,2,0\r");
        send(&mut e);
        e.tick(t + Duration::from_secs(1), wall);
        // Reports live in "SR": invisible in "SM", readable and deletable once SR is selected.
        assert_eq!(urcs(&mut e), "\r\n+CDSI: \"SR\",1\r\n");
        assert_eq!(say(&mut e, t, "AT+CMGR=1\r"), "\r\n+CMS ERROR: 321\r\n");
        assert_eq!(e.stored_reports(), 1);
        assert_eq!(e.stored_count(), 0);
        assert_eq!(
            say(&mut e, t, "AT+CPMS=\"SR\"\r"),
            "\r\n+CPMS: 1,10\r\n\r\nOK\r\n"
        );
        assert!(say(&mut e, t, "AT+CMGR=1\r").starts_with("\r\n+CMGR: 0,,"));
        assert_eq!(say(&mut e, t, "AT+CMGD=1\r"), "\r\nOK\r\n");
        assert_eq!(e.stored_reports(), 0);
        say(&mut e, t, "AT+CPMS=\"SM\"\r");
    }

    #[test]
    fn ring_repeats_with_clip_until_answered() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        assert_eq!(say(&mut e, t, "ATA\r"), "\r\nNO CARRIER\r\n");
        say(&mut e, t, "AT+CLIP=1\r");
        e.ring("+8613700000003", t);
        assert_eq!(
            urcs(&mut e),
            "\r\nRING\r\n\r\n+CLIP: \"+8613700000003\",145,,,,0\r\n"
        );
        assert_eq!(e.next_deadline(), Some(t + Duration::from_secs(1)));
        e.tick(t + Duration::from_secs(1), None);
        assert_eq!(
            urcs(&mut e),
            "\r\nRING\r\n\r\n+CLIP: \"+8613700000003\",145,,,,0\r\n"
        );
        assert!(say(&mut e, t, "AT+CLCC\r").contains("+CLCC: 1,1,4,0,0,\"+8613700000003\",145"));
        assert_eq!(say(&mut e, t, "ATA\r"), "\r\nOK\r\n");
        assert_eq!(e.next_deadline(), None);
        assert_eq!(say(&mut e, t, "ATH\r"), "\r\nOK\r\n");
        assert_eq!(
            e.calls(),
            [
                CallEvent::Ringing {
                    from: "+8613700000003".into()
                },
                CallEvent::Answered {
                    from: "+8613700000003".into()
                },
                CallEvent::HungUp
            ]
        );
    }

    #[test]
    fn unanswered_call_with_crc_rings_a_few_times_then_is_missed() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            rings: 2,
            ..SimOptions::default()
        });
        say(&mut e, t, "AT+CRC=1\r");
        e.ring("10086", t);
        e.tick(t + Duration::from_secs(5), None);
        assert_eq!(urcs(&mut e), "\r\n+CRING: VOICE\r\n\r\n+CRING: VOICE\r\n");
        assert_eq!(
            e.calls().last(),
            Some(&CallEvent::Missed {
                from: "10086".into()
            })
        );
        assert_eq!(e.next_deadline(), None);
    }

    #[test]
    fn reboot_restores_echo_and_pin_and_resends_an_unacked_cmt() {
        let (mut e, t) = engine(SimOptions {
            pin: Some("1234".into()),
            ..SimOptions::default()
        });
        say(&mut e, t, "ATE0\r");
        say(&mut e, t, "AT+CPIN=\"1234\"\r");
        say(&mut e, t, "AT+CNMI=2,2,0,0,0\r");
        e.deliver(DELIVER);
        assert!(urcs(&mut e).contains("+CMT: ,23"));
        say(&mut e, t, "AT+CMG");
        e.reboot();
        assert!(
            urcs(&mut e).contains("+CMT: ,23"),
            "the network retries the unacked one"
        );
        assert_eq!(
            say(&mut e, t, "S=1\r"),
            "S=1\r\n",
            "half a line is gone; echo is back"
        );
        assert_eq!(
            say(&mut e, t, "AT+CPIN?\r"),
            "AT+CPIN?\r\n\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
        );
    }

    #[test]
    fn the_pin_counter_belongs_to_the_sim_and_survives_reboots() {
        let (mut e, t) = engine(SimOptions {
            pin: Some("1234".into()),
            echo: false,
            ..SimOptions::default()
        });
        assert_eq!(
            say(&mut e, t, "AT+CPIN=\"0000\"\r"),
            "\r\n+CME ERROR: 16\r\n"
        );
        assert!(say(&mut e, t, "AT+CPINR=\"SIM PIN\"\r").contains("+CPINR: SIM PIN,2,3"));
        e.reboot();
        say(&mut e, t, "ATE0\r");
        assert!(say(&mut e, t, "AT+QPINC=\"SC\"\r").contains("+QPINC: \"SC\",2,10"));
        say(&mut e, t, "AT+CPIN=\"0000\"\r");
        e.reboot_in_place();
        assert!(urcs(&mut e).contains("+CPIN: SIM PIN"));
        say(&mut e, t, "ATE0\r");
        say(&mut e, t, "AT+CPIN=\"0000\"\r");
        assert_eq!(e.pin_attempts_left(), 0);
        e.reboot();
        say(&mut e, t, "ATE0\r");
        assert!(say(&mut e, t, "AT+CPIN?\r").contains("+CPIN: SIM PUK"));
        assert_eq!(
            say(&mut e, t, "AT+CPIN=\"1234\"\r"),
            "\r\n+CME ERROR: 16\r\n"
        );
        assert_eq!(e.pin_entries(), ["0000", "0000", "0000", "1234"]);
    }

    #[test]
    fn a_reboot_in_place_announces_itself_and_forgets_the_session() {
        let (mut e, t) = engine(SimOptions::default());
        say(&mut e, t, "ATE0\r");
        say(&mut e, t, "AT+CNMI=2,1,0,2,0\r");
        say(&mut e, t, "AT+CLIP=1\r");
        say(&mut e, t, "AT+CPMS=\"SR\"\r");
        e.deliver(DELIVER);
        assert_eq!(urcs(&mut e), "\r\n+CMTI: \"SM\",1\r\n");
        e.reboot_in_place();
        assert_eq!(
            urcs(&mut e),
            "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n\r\n+QIND: SMS DONE\r\n"
        );
        // Echo is back, text mode is back, +CNMI is back to "no indications".
        assert_eq!(
            say(&mut e, t, "AT+CMGF?\r"),
            "AT+CMGF?\r\n\r\n+CMGF: 1\r\n\r\nOK\r\n"
        );
        say(&mut e, t, "ATE0\r");
        assert_eq!(say(&mut e, t, "AT+CMGR=1\r"), "\r\n+CMS ERROR: 302\r\n");
        assert!(say(&mut e, t, "AT+CNMI?\r").contains("+CNMI: 0,0,0,0,0"));
        assert!(say(&mut e, t, "AT+CPMS?\r").contains("+CPMS: \"SM\",1,30"));
        e.deliver(DELIVER);
        assert_eq!(urcs(&mut e), "", "stored silently until +CNMI is set again");
        assert_eq!(e.stored_count(), 2, "the SIM keeps its messages");
        say(&mut e, t, "AT+CNMI=2,1,0,2,0\r");
        e.deliver(DELIVER);
        assert_eq!(urcs(&mut e), "\r\n+CMTI: \"SM\",3\r\n");
    }

    #[test]
    fn late_replies_are_marked_for_the_matching_command_only() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        e.late_replies("AT+CMGR", 1);
        let kinds = |out: Vec<Output>| -> Vec<&'static str> {
            out.iter()
                .map(|o| match o {
                    Output::Echo(_) => "echo",
                    Output::Response(_) => "now",
                    Output::Late(_) => "late",
                })
                .collect()
        };
        assert_eq!(kinds(e.feed(b"AT+CSQ\r", t)), ["now"]);
        assert_eq!(kinds(e.feed(b"at+cmgr=1\r", t)), ["late"]);
        assert_eq!(kinds(e.feed(b"AT+CMGR=1\r", t)), ["now"]);
    }

    #[test]
    fn refused_prompt_sends_nothing() {
        let (mut e, t) = engine(SimOptions {
            echo: false,
            ..SimOptions::default()
        });
        e.refuse_prompts(1);
        let p = &submit("+8613800000001", "ok", false)[0];
        assert_eq!(
            say(&mut e, t, &format!("AT+CMGS={}\r", p.tpdu_len)),
            "\r\nOK\r\n"
        );
        assert_eq!(
            say(&mut e, t, &format!("AT+CMGS={}\r", p.tpdu_len)),
            "\r\n> "
        );
        assert!(say(&mut e, t, &format!("{}\x1a", p.hex)).contains("+CMGS: 0"));
        assert_eq!(e.sent().len(), 1);
    }
}
