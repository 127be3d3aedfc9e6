//! The simulated modem's voice side: one call at a time, announced and ended in the dialect
//! of the modem it plays (voice-modems.md section 1: generic 27.007, SIM800, SIM7600, EC25,
//! ME909), with the pitfalls of section 2: ATH ignored under SIMCom's default AT+CVHU=1, a
//! hang-up whose OK comes before the call is gone, CLIP that never comes, RING twice, TTS that
//! fails with +CME ERROR: 903 outside a call, DTMF in four formats, placed calls that go busy
//! or ring out, and every call setting forgotten on a reboot.
//!
//! Pure like the engine: time comes in as `now`; URCs collect in `out` for the engine to send.

use std::time::Duration;

use tokio::time::Instant;

use super::engine::CallEvent;

/// The modem family the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// 27.007 only: RING/+CRING, `+CLIP: "<n>",<toa>`, AT+CHUP and ATH; no end URC when the
    /// caller gives up; no TTS or DTMF detection.
    #[default]
    Generic,
    /// SIMCom SIM800: six-field +CLIP, `NO CARRIER` when the caller gives up, AT+DDET.
    Sim800,
    /// SIMCom SIM7600 / A76xx: URCs framed `\r\r\n`, ATH ignored until AT+CVHU=0, +CLCC URCs
    /// after AT+CLCC=1, MISSED_CALL, +RXDTMF, AT+CTTS after AT+CDTAM=1.
    Sim7600,
    /// Huawei ME909s (voice-capable LTE module): 27.007 call URCs, `^CEND` after the end, keys
    /// as `^DDTMF`; no TTS.
    Me909,
    /// Quectel EC25: ccinfo URCs after AT+QINDCFG="ccinfo",1, AT+QHUP, +QTONEDET ASCII codes,
    /// AT+QWTTS.
    Ec25,
}

impl Dialect {
    pub fn manufacturer(self) -> &'static str {
        match self {
            Dialect::Generic => "SIMULATOR",
            Dialect::Sim800 => "SIMCOM_Ltd",
            Dialect::Sim7600 => "SIMCOM INCORPORATED",
            Dialect::Ec25 => "Quectel",
            Dialect::Me909 => "Huawei Technologies Co., Ltd",
        }
    }

    pub fn model(self) -> &'static str {
        match self {
            Dialect::Generic => "SIM-1",
            Dialect::Sim800 => "SIMCOM_SIM800L",
            Dialect::Sim7600 => "SIMCOM_SIM7600G-H",
            Dialect::Ec25 => "EC25",
            Dialect::Me909 => "ME909s-821",
        }
    }
}

/// When the caller ID comes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Clip {
    /// After each RING (with AT+CLIP=1).
    #[default]
    Normal,
    /// Before the first RING, then after each.
    BeforeRing,
    /// Never, even with AT+CLIP=1 (ML307A).
    Missing,
}

/// A scripted incoming call.
#[derive(Debug, Clone)]
pub struct IncomingCall {
    /// "" for a withheld number.
    pub from: String,
    pub clip: Clip,
    /// Each ring says RING twice.
    pub duplicate_rings: bool,
    /// The caller gives up after this many rings (None: `SimOptions::rings`).
    pub gives_up_after: Option<usize>,
}

impl IncomingCall {
    pub fn new(from: &str) -> IncomingCall {
        IncomingCall {
            from: from.to_string(),
            clip: Clip::Normal,
            duplicate_rings: false,
            gives_up_after: None,
        }
    }
}

/// What the far end of a call we place (`ATD<n>;`) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// Picks up after ringing this long.
    Answers(Duration),
    /// The line is busy: `BUSY` after a moment of dialling.
    Busy,
    /// Rings until the network gives up (`ring_interval` x `rings`): `NO ANSWER`.
    NoAnswer,
}

impl Default for Outbound {
    fn default() -> Outbound {
        Outbound::Answers(Duration::from_millis(800))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ringing,
    Active,
    /// An accepted hang-up; the call is released at this moment (`hangup_delay`).
    Releasing(Instant),
    /// Our own `ATD`: the network is setting the call up; alerting from this moment.
    Dialing(Instant),
    /// The far end rings; the scripted answer (or BUSY / NO ANSWER) at this moment.
    Alerting(Instant),
}

#[derive(Debug, Clone)]
struct Live {
    script: IncomingCall,
    /// Placed by `ATD` (mobile-originated), not received.
    outgoing: bool,
    state: State,
    rings: usize,
    next_ring: Instant,
    answered_at: Option<Instant>,
}

/// The call settings a reboot forgets.
#[derive(Debug, Clone, Default)]
struct Settings {
    clip: bool,
    crc: bool,
    /// SIMCom's "ATH hangs up voice calls" switch: 1 (ignore) by default there.
    cvhu: u8,
    clcc_urc: bool,
    ccinfo: bool,
    /// `AT+QINDCFG="ring",0`: no RING lines.
    no_ring: bool,
    qtonedet: bool,
    ddet: bool,
}

/// Timings of the voice side.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub ring_interval: Duration,
    pub rings: usize,
    pub hangup_delay: Duration,
    /// How long a TTS prompt plays before its end URC.
    pub tts_time: Duration,
}

/// What a voice command answered.
pub enum Reply {
    Lines(Vec<String>),
    /// A final code other than OK.
    Final(&'static str),
    /// `+CME ERROR: <n>`.
    Cme(u16),
    Error,
}

pub struct Voice {
    pub dialect: Dialect,
    timing: Timing,
    set: Settings,
    call: Option<Live>,
    /// Hang-up commands ("CHUP", "ATH", "QHUP") that answer OK and change nothing.
    ignored: Vec<String>,
    /// A playing prompt's end: when, and the URC that says so.
    tts_end: Option<(Instant, &'static str)>,
    /// How the next calls we place are answered, in order; then `Outbound::default()`.
    outbound: std::collections::VecDeque<Outbound>,
    /// The script of the call being placed.
    placing: Option<Outbound>,
    pub events: Vec<CallEvent>,
    /// URC bytes for the engine to send, framed per dialect.
    pub out: Vec<u8>,
}

impl Voice {
    pub fn new(dialect: Dialect, timing: Timing) -> Voice {
        Voice {
            dialect,
            timing,
            set: Settings::power_on(dialect),
            call: None,
            ignored: Vec::new(),
            tts_end: None,
            outbound: Default::default(),
            placing: None,
            events: Vec::new(),
            out: Vec::new(),
        }
    }

    fn urc(&mut self, line: &str) {
        // SIMCom's LTE modules frame their call URCs with a double CR.
        let frame: &[u8] = if self.dialect == Dialect::Sim7600 {
            b"\r\r\n"
        } else {
            b"\r\n"
        };
        self.out.extend_from_slice(frame);
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(frame);
    }

    fn from(&self) -> String {
        self.call
            .as_ref()
            .map(|c| c.script.from.clone())
            .unwrap_or_default()
    }

    fn toa(number: &str) -> u8 {
        if number.is_empty() {
            128
        } else if number.starts_with('+') {
            145
        } else {
            129
        }
    }

    /// The call-state URCs that list lines carry (SIMCom +CLCC, Quectel ccinfo); `state` is
    /// the 27.007 code, 6 / -1 for released.
    fn state_urcs(&mut self, clcc: u8, ccinfo: i8) {
        let from = self.from();
        let toa = Self::toa(&from);
        let dir = u8::from(!self.call.as_ref().is_some_and(|c| c.outgoing));
        if self.set.clcc_urc {
            self.urc(&format!("+CLCC: 1,{dir},{clcc},0,0,\"{from}\",{toa}"));
        }
        if self.set.ccinfo {
            self.urc(&format!(
                "+QIND: \"ccinfo\",1,{dir},{ccinfo},0,0,\"{from}\",{toa}"
            ));
        }
    }

    // ----- the network side -----

    pub fn ring(&mut self, script: IncomingCall, now: Instant) {
        if self.call.is_some() {
            return;
        }
        self.events.push(CallEvent::Ringing {
            from: script.from.clone(),
        });
        self.call = Some(Live {
            script,
            outgoing: false,
            state: State::Ringing,
            rings: 0,
            next_ring: now,
            answered_at: None,
        });
        self.state_urcs(4, 4);
        self.tick(now);
    }

    /// The remote party presses keys during an active call.
    pub fn dtmf(&mut self, digits: &str) {
        if !self.call.as_ref().is_some_and(|c| c.state == State::Active) {
            return;
        }
        for d in digits.chars() {
            let line = match self.dialect {
                Dialect::Generic => format!("+DTMF: {d}"),
                Dialect::Sim800 if self.set.ddet => format!("+DTMF: {d}"),
                Dialect::Sim7600 if self.set.ddet => format!("+RXDTMF: {d}"),
                Dialect::Ec25 if self.set.qtonedet => format!("+QTONEDET: {}", d as u32),
                Dialect::Me909 => format!("^DDTMF: {d}"),
                _ => continue,
            };
            self.urc(&line);
        }
    }

    /// The caller hangs up an answered call (or gives up ringing).
    pub fn remote_hang_up(&mut self) {
        let Some(state) = self.call.as_ref().map(|c| c.state) else {
            return;
        };
        let from = self.from();
        self.tts_end = None;
        let ringing = state == State::Ringing;
        self.events.push(if ringing {
            CallEvent::Missed { from: from.clone() }
        } else {
            CallEvent::HungUp
        });
        match self.dialect {
            // A plain 27.007 modem says nothing when a ringing caller gives up.
            Dialect::Generic if ringing => {}
            Dialect::Sim7600 if ringing => self.urc(&format!("MISSED_CALL: 09:00AM {from}")),
            Dialect::Sim7600 => self.urc("VOICE CALL: END: 000010"),
            Dialect::Me909 => {
                self.urc("NO CARRIER");
                self.urc("^CEND:1,0,104,16");
            }
            _ => self.urc("NO CARRIER"),
        }
        self.release();
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let call = self.call.as_ref().and_then(|c| match c.state {
            State::Ringing => Some(c.next_ring),
            State::Releasing(at) | State::Dialing(at) | State::Alerting(at) => Some(at),
            State::Active => None,
        });
        let tts = self.tts_end.map(|(at, _)| at);
        [call, tts].into_iter().flatten().min()
    }

    pub fn tick(&mut self, now: Instant) {
        if let Some((at, line)) = self.tts_end {
            if at <= now {
                self.tts_end = None;
                self.urc(&format!("{line} 0"));
            }
        }
        match self.call.as_ref().map(|c| c.state) {
            Some(State::Releasing(at)) => {
                if at <= now {
                    self.release();
                }
                return;
            }
            Some(State::Dialing(at)) if at <= now => return self.alert(now),
            Some(State::Alerting(at)) if at <= now => return self.far_end_decides(now),
            Some(State::Dialing(_) | State::Alerting(_)) => return,
            _ => {}
        }
        loop {
            let Some(c) = self.call.as_mut() else { return };
            if c.state != State::Ringing || c.next_ring > now {
                return;
            }
            let limit = c.script.gives_up_after.unwrap_or(self.timing.rings);
            if c.rings >= limit {
                self.remote_hang_up();
                return;
            }
            c.rings += 1;
            c.next_ring += self.timing.ring_interval;
            let first = c.rings == 1;
            let script = c.script.clone();
            let clip_line = match self.dialect {
                Dialect::Sim800 if script.from.is_empty() => {
                    "+CLIP: \"\",128,\"\",0,\"\",1".to_string()
                }
                Dialect::Sim800 => format!(
                    "+CLIP: \"{}\",{},\"\",0,\"\",0",
                    script.from,
                    Self::toa(&script.from)
                ),
                _ => format!(
                    "+CLIP: \"{}\",{},,,,{}",
                    script.from,
                    Self::toa(&script.from),
                    u8::from(script.from.is_empty())
                ),
            };
            let clip = self.set.clip && script.clip != Clip::Missing;
            if clip && first && script.clip == Clip::BeforeRing {
                self.urc(&clip_line);
            }
            if !self.set.no_ring {
                let ring = if self.set.crc {
                    "+CRING: VOICE"
                } else {
                    "RING"
                };
                self.urc(ring);
                if script.duplicate_rings {
                    self.urc(ring);
                }
            }
            if clip && !(first && script.clip == Clip::BeforeRing) {
                self.urc(&clip_line);
            }
        }
    }

    /// The far end of our call starts ringing.
    fn alert(&mut self, now: Instant) {
        let script = self.placing.clone().unwrap_or_default();
        let ring_for = self.timing.ring_interval * self.timing.rings as u32;
        let at = match script {
            Outbound::Answers(after) => now + after,
            Outbound::Busy => now,
            Outbound::NoAnswer => now + ring_for,
        };
        if let Some(c) = self.call.as_mut() {
            c.state = State::Alerting(at);
        }
        if script == Outbound::Busy {
            self.far_end_decides(now);
        } else {
            self.state_urcs(3, 3);
        }
    }

    /// The far end answers, is busy, or never picks up.
    fn far_end_decides(&mut self, now: Instant) {
        let number = self.from();
        match self.placing.take().unwrap_or_default() {
            Outbound::Answers(_) => {
                if let Some(c) = self.call.as_mut() {
                    c.state = State::Active;
                    c.answered_at = Some(now);
                }
                self.events.push(CallEvent::Answered { from: number });
                if self.dialect == Dialect::Sim7600 {
                    self.urc("VOICE CALL: BEGIN");
                }
                self.state_urcs(0, 0);
            }
            Outbound::Busy => {
                self.events.push(CallEvent::Busy { number });
                self.urc("BUSY");
                self.release();
            }
            Outbound::NoAnswer => {
                self.events.push(CallEvent::NoAnswer { number });
                self.urc("NO ANSWER");
                self.release();
            }
        }
    }

    /// How the next call we place is answered (one script per `ATD`, in order).
    pub fn script_outbound(&mut self, o: Outbound) {
        self.outbound.push_back(o);
    }

    /// The call is gone (an accepted hang-up took effect).
    fn release(&mut self) {
        self.state_urcs(6, -1);
        self.call = None;
        self.tts_end = None;
    }

    /// A hang-up command from the driver; `by` is "CHUP", "ATH" or "QHUP".
    fn hang_up(&mut self, by: &str, now: Instant) {
        if self.ignored.iter().any(|i| i == by) {
            return;
        }
        if by == "ATH" && self.dialect == Dialect::Sim7600 && self.set.cvhu == 1 {
            // AT+CVHU=1: "ATH does not hang up voice calls" (T-SIM7600X#65).
            return;
        }
        let Some(c) = self.call.as_ref() else { return };
        let (state, from, answered) = (c.state, c.script.from.clone(), c.answered_at.is_some());
        let event = match state {
            State::Ringing => CallEvent::Rejected {
                from,
                by: by.to_string(),
            },
            State::Releasing(_) => return,
            State::Active | State::Dialing(_) | State::Alerting(_) => CallEvent::HungUp,
        };
        self.events.push(event);
        if self.timing.hangup_delay.is_zero() {
            if self.dialect == Dialect::Sim7600 && answered {
                self.urc("VOICE CALL: END: 000010");
            }
            self.release();
        } else if let Some(c) = self.call.as_mut() {
            c.state = State::Releasing(now + self.timing.hangup_delay);
        }
    }

    pub fn ignore_hangups(&mut self, commands: &[&str]) {
        self.ignored = commands.iter().map(|c| c.to_string()).collect();
    }

    pub fn reboot(&mut self) {
        self.set = Settings::power_on(self.dialect);
        self.call = None;
        self.tts_end = None;
        self.placing = None;
        self.placing = None;
    }

    /// `AT+CLCC`: the call list.
    fn list(&self) -> Vec<String> {
        let Some(c) = &self.call else {
            return Vec::new();
        };
        let from = &c.script.from;
        let stat = match c.state {
            State::Ringing | State::Releasing(_) if c.outgoing => 0,
            State::Ringing | State::Releasing(_) => 4,
            State::Active => 0,
            State::Dialing(_) => 2,
            State::Alerting(_) => 3,
        };
        let dir = u8::from(!c.outgoing);
        vec![format!(
            "+CLCC: 1,{dir},{stat},0,0,\"{from}\",{}",
            Self::toa(from)
        )]
    }

    fn active(&self) -> bool {
        self.call.as_ref().is_some_and(|c| c.state == State::Active)
    }

    // ----- commands -----

    /// `ATA`.
    pub fn answer(&mut self, now: Instant) -> Reply {
        let Some(c) = self.call.as_mut() else {
            return Reply::Final("NO CARRIER");
        };
        if c.state != State::Ringing {
            return Reply::Error;
        }
        c.state = State::Active;
        c.answered_at = Some(now);
        let from = c.script.from.clone();
        self.events.push(CallEvent::Answered { from });
        if self.dialect == Dialect::Sim7600 {
            self.urc("VOICE CALL: BEGIN");
        }
        self.state_urcs(0, 0);
        Reply::Lines(Vec::new())
    }

    /// `ATH`.
    pub fn ath(&mut self, now: Instant) -> Reply {
        self.hang_up("ATH", now);
        Reply::Lines(Vec::new())
    }

    /// `ATD<number>;`: OK at once, as SIMCom and Quectel answer (the call's fate comes later,
    /// in URCs and the call list: dialing, alerting, then active, BUSY or NO ANSWER).
    pub fn dial(&mut self, number: &str, now: Instant) -> Reply {
        if self.call.is_some() || number.is_empty() {
            return Reply::Error;
        }
        self.events.push(CallEvent::Dialled {
            number: number.to_string(),
        });
        self.placing = Some(self.outbound.pop_front().unwrap_or_default());
        self.call = Some(Live {
            script: IncomingCall::new(number),
            outgoing: true,
            state: State::Dialing(now + Duration::from_millis(300)),
            rings: 0,
            next_ring: now,
            answered_at: None,
        });
        self.state_urcs(2, 2);
        Reply::Lines(Vec::new())
    }

    /// An extended voice command (`name` without "+", args unquoted); `None` when the name is
    /// not a voice command of this dialect.
    pub fn extended(&mut self, name: &str, op: Op<'_>, now: Instant) -> Option<Reply> {
        let d = self.dialect;
        let flag = |a: &[String]| match a.first().map(String::as_str) {
            Some("0") => Some(false),
            Some("1") => Some(true),
            _ => None,
        };
        let ok = || Reply::Lines(Vec::new());
        Some(match (name, op) {
            ("CLIP", Op::Set(a)) => match flag(a) {
                Some(on) => {
                    self.set.clip = on;
                    ok()
                }
                None => Reply::Cme(3),
            },
            ("CLIP", Op::Read) => {
                Reply::Lines(vec![format!("+CLIP: {},1", u8::from(self.set.clip))])
            }
            ("CRC", Op::Set(a)) => match flag(a) {
                Some(on) => {
                    self.set.crc = on;
                    ok()
                }
                None => Reply::Cme(3),
            },
            ("CRC", Op::Read) => Reply::Lines(vec![format!("+CRC: {}", u8::from(self.set.crc))]),
            ("CVHU", Op::Set(a)) => match flag(a) {
                Some(on) => {
                    self.set.cvhu = u8::from(on);
                    ok()
                }
                None => Reply::Cme(3),
            },
            ("CVHU", Op::Read) => Reply::Lines(vec![format!("+CVHU: {}", self.set.cvhu)]),
            ("CHUP", Op::Exec) => {
                self.hang_up("CHUP", now);
                ok()
            }
            ("CLCC", Op::Exec) => Reply::Lines(self.list()),
            ("CLCC", Op::Set(a)) if d == Dialect::Sim7600 => match flag(a) {
                Some(on) => {
                    self.set.clcc_urc = on;
                    ok()
                }
                None => Reply::Cme(3),
            },
            ("CLCC", Op::Test) if d == Dialect::Sim7600 => {
                Reply::Lines(vec!["+CLCC: (0-1)".into()])
            }
            ("QHUP", Op::Exec | Op::Set(_)) if d == Dialect::Ec25 => {
                self.hang_up("QHUP", now);
                ok()
            }
            ("QINDCFG", Op::Set(a)) if d == Dialect::Ec25 => {
                let on = a.get(1).map(String::as_str) == Some("1");
                match a.first().map(|k| k.to_ascii_lowercase()).as_deref() {
                    Some("ccinfo") => self.set.ccinfo = on,
                    Some("ring") => self.set.no_ring = !on,
                    _ => return Some(Reply::Cme(3)),
                }
                ok()
            }
            ("QTONEDET", Op::Set(a)) if d == Dialect::Ec25 => match flag(a) {
                Some(on) => {
                    self.set.qtonedet = on;
                    ok()
                }
                None => Reply::Cme(3),
            },
            ("QTONEDET", Op::Test) if d == Dialect::Ec25 => {
                Reply::Lines(vec!["+QTONEDET: (0,1)".into()])
            }
            ("DDET", Op::Set(a)) if matches!(d, Dialect::Sim800 | Dialect::Sim7600) => {
                self.set.ddet = a.first().map(String::as_str) == Some("1");
                ok()
            }
            ("DDET", Op::Test) if matches!(d, Dialect::Sim800 | Dialect::Sim7600) => {
                Reply::Lines(vec!["+DDET: (0,1)".into()])
            }
            ("QWTTS", Op::Test) if d == Dialect::Ec25 => {
                Reply::Lines(vec!["+QWTTS: (0,1),(0,1),(0-2),<text>".into()])
            }
            ("QWTTS", Op::Set(_)) if d == Dialect::Ec25 => self.speak(now, "+QWTTS:"),
            ("CTTS", Op::Test) if d == Dialect::Sim7600 => {
                Reply::Lines(vec!["+CTTS: (0-2)".into()])
            }
            ("CTTS", Op::Set(a)) if d == Dialect::Sim7600 => {
                if a.first().map(String::as_str) == Some("0") {
                    self.tts_end = None;
                    return Some(ok());
                }
                self.speak(now, "+CTTS:")
            }
            ("CDTAM", Op::Set(_) | Op::Read) if d == Dialect::Sim7600 => ok(),
            _ => return None,
        })
    }

    fn speak(&mut self, now: Instant, end: &'static str) -> Reply {
        if !self.active() {
            // "No call" (Quectel manual: QWTTS outside a call).
            return Reply::Cme(903);
        }
        self.tts_end = Some((now + self.timing.tts_time, end));
        Reply::Lines(Vec::new())
    }
}

impl Settings {
    fn power_on(d: Dialect) -> Settings {
        Settings {
            cvhu: u8::from(d == Dialect::Sim7600),
            ..Settings::default()
        }
    }
}

/// The operation of an extended command, as the engine parsed it.
pub enum Op<'a> {
    Exec,
    Read,
    Test,
    Set(&'a [String]),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(d: Dialect) -> (Voice, Instant) {
        let t = Instant::now();
        (
            Voice::new(
                d,
                Timing {
                    ring_interval: Duration::from_secs(1),
                    rings: 3,
                    hangup_delay: Duration::ZERO,
                    tts_time: Duration::from_millis(200),
                },
            ),
            t,
        )
    }

    fn take(v: &mut Voice) -> String {
        String::from_utf8(std::mem::take(&mut v.out)).unwrap()
    }

    fn set(v: &mut Voice, name: &str, args: &[&str], t: Instant) {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        assert!(
            matches!(v.extended(name, Op::Set(&a), t), Some(Reply::Lines(_))),
            "{name}"
        );
    }

    fn clcc(v: &mut Voice, t: Instant) -> Vec<String> {
        match v.extended("CLCC", Op::Exec, t) {
            Some(Reply::Lines(l)) => l,
            _ => panic!("AT+CLCC"),
        }
    }

    #[test]
    fn placed_calls_go_dialing_alerting_then_active_busy_or_no_answer() {
        let (mut q, t) = voice(Dialect::Ec25);
        set(&mut q, "QINDCFG", &["ccinfo", "1", "0"], t);
        q.script_outbound(Outbound::Answers(Duration::from_secs(2)));
        q.script_outbound(Outbound::Busy);
        assert!(matches!(q.dial("13800000001", t), Reply::Lines(_)));
        assert!(
            matches!(q.dial("13800000002", t), Reply::Error),
            "one call at a time"
        );
        assert_eq!(clcc(&mut q, t), ["+CLCC: 1,0,2,0,0,\"13800000001\",129"]);
        let at = q.next_deadline().unwrap();
        q.tick(at);
        assert_eq!(clcc(&mut q, at), ["+CLCC: 1,0,3,0,0,\"13800000001\",129"]);
        // Keys before the answer are not heard; after it they are.
        q.dtmf("5");
        let answer = q.next_deadline().unwrap();
        assert_eq!(answer - at, Duration::from_secs(2));
        q.tick(answer);
        assert_eq!(
            clcc(&mut q, answer),
            ["+CLCC: 1,0,0,0,0,\"13800000001\",129"]
        );
        set(&mut q, "QTONEDET", &["1"], answer);
        q.dtmf("4");
        let out = take(&mut q);
        assert!(
            out.contains("+QIND: \"ccinfo\",1,0,2,")
                && out.contains("1,0,3,")
                && out.contains("1,0,0,")
        );
        assert!(
            out.ends_with("\r\n+QTONEDET: 52\r\n") && !out.contains("53"),
            "{out:?}"
        );
        assert!(matches!(
            q.extended("CHUP", Op::Exec, answer),
            Some(Reply::Lines(_))
        ));
        assert!(clcc(&mut q, answer).is_empty());
        // Busy: BUSY after the dialling moment, and the list empties.
        q.dial("13800000003", answer);
        q.tick(q.next_deadline().unwrap());
        assert!(take(&mut q).contains("\r\nBUSY\r\n"));
        assert!(clcc(&mut q, answer).is_empty());
        // Nobody picks up: NO ANSWER after rings x interval.
        let (mut g, t) = voice(Dialect::Generic);
        g.script_outbound(Outbound::NoAnswer);
        g.dial("13800000004", t);
        g.tick(g.next_deadline().unwrap());
        let end = g.next_deadline().unwrap();
        g.tick(end);
        assert!(take(&mut g).ends_with("\r\nNO ANSWER\r\n"));
        assert_eq!(
            g.events,
            [
                CallEvent::Dialled {
                    number: "13800000004".into()
                },
                CallEvent::NoAnswer {
                    number: "13800000004".into()
                }
            ]
        );
        assert_eq!(
            q.events
                .iter()
                .filter(|e| matches!(e, CallEvent::Busy { .. }))
                .count(),
            1
        );
    }

    #[test]
    fn huawei_keys_are_ddtmf_and_ends_say_cend() {
        let (mut h, t) = voice(Dialect::Me909);
        set(&mut h, "CLIP", &["1"], t);
        h.ring(IncomingCall::new("13800000001"), t);
        assert!(matches!(h.answer(t), Reply::Lines(_)));
        take(&mut h);
        h.dtmf("3#");
        assert_eq!(take(&mut h), "\r\n^DDTMF: 3\r\n\r\n^DDTMF: #\r\n");
        // No TTS on this module: the probe finds nothing.
        assert!(h.extended("QWTTS", Op::Test, t).is_none());
        assert!(h.extended("CTTS", Op::Test, t).is_none());
        h.remote_hang_up();
        assert_eq!(take(&mut h), "\r\nNO CARRIER\r\n\r\n^CEND:1,0,104,16\r\n");
    }

    #[test]
    fn each_dialect_announces_a_call_its_own_way() {
        let (mut g, t) = voice(Dialect::Generic);
        set(&mut g, "CLIP", &["1"], t);
        g.ring(IncomingCall::new("13800000001"), t);
        assert_eq!(
            take(&mut g),
            "\r\nRING\r\n\r\n+CLIP: \"13800000001\",129,,,,0\r\n"
        );

        let (mut s8, t) = voice(Dialect::Sim800);
        set(&mut s8, "CLIP", &["1"], t);
        s8.ring(IncomingCall::new(""), t);
        assert_eq!(
            take(&mut s8),
            "\r\nRING\r\n\r\n+CLIP: \"\",128,\"\",0,\"\",1\r\n"
        );

        let (mut s76, t) = voice(Dialect::Sim7600);
        for (n, a) in [("CLIP", "1"), ("CRC", "1"), ("CLCC", "1")] {
            set(&mut s76, n, &[a], t);
        }
        s76.ring(IncomingCall::new("+8613800000001"), t);
        assert_eq!(
            take(&mut s76),
            "\r\r\n+CLCC: 1,1,4,0,0,\"+8613800000001\",145\r\r\n\r\r\n+CRING: VOICE\r\r\n\
             \r\r\n+CLIP: \"+8613800000001\",145,,,,0\r\r\n"
        );

        let (mut q, t) = voice(Dialect::Ec25);
        set(&mut q, "QINDCFG", &["ccinfo", "1", "0"], t);
        set(&mut q, "QINDCFG", &["ring", "0", "0"], t);
        set(&mut q, "CLIP", &["1"], t);
        let mut c = IncomingCall::new("13800000002");
        c.clip = Clip::BeforeRing;
        q.ring(c, t);
        assert_eq!(
            take(&mut q),
            "\r\n+QIND: \"ccinfo\",1,1,4,0,0,\"13800000002\",129\r\n\
             \r\n+CLIP: \"13800000002\",129,,,,0\r\n"
        );
    }

    #[test]
    fn scripts_duplicate_rings_missing_clip_and_a_caller_who_gives_up() {
        let (mut v, t) = voice(Dialect::Sim800);
        set(&mut v, "CLIP", &["1"], t);
        v.ring(
            IncomingCall {
                from: "13800000001".into(),
                clip: Clip::Missing,
                duplicate_rings: true,
                gives_up_after: Some(1),
            },
            t,
        );
        assert_eq!(take(&mut v), "\r\nRING\r\n\r\nRING\r\n");
        assert_eq!(v.next_deadline(), Some(t + Duration::from_secs(1)));
        v.tick(t + Duration::from_secs(1));
        assert_eq!(take(&mut v), "\r\nNO CARRIER\r\n");
        assert_eq!(
            v.events.last(),
            Some(&CallEvent::Missed {
                from: "13800000001".into()
            })
        );
        assert_eq!(v.list(), Vec::<String>::new());

        let (mut s, t) = voice(Dialect::Sim7600);
        set(&mut s, "CLCC", &["1"], t);
        s.ring(
            IncomingCall {
                gives_up_after: Some(0),
                ..IncomingCall::new("13800000003")
            },
            t,
        );
        let out = take(&mut s);
        assert!(out.contains("MISSED_CALL: 09:00AM 13800000003"), "{out:?}");
        assert!(
            out.ends_with("+CLCC: 1,1,6,0,0,\"13800000003\",129\r\r\n"),
            "{out:?}"
        );

        let (mut q, t) = voice(Dialect::Ec25);
        set(&mut q, "QINDCFG", &["ccinfo", "1"], t);
        q.ring(
            IncomingCall {
                gives_up_after: Some(0),
                ..IncomingCall::new("13800000004")
            },
            t,
        );
        assert!(take(&mut q).ends_with(
            "\r\nNO CARRIER\r\n\r\n+QIND: \"ccinfo\",1,1,-1,0,0,\"13800000004\",129\r\n"
        ));
    }

    #[test]
    fn hang_ups_per_dialect() {
        // SIM7600: ATH is ignored until AT+CVHU=0; CHUP works.
        let (mut s, t) = voice(Dialect::Sim7600);
        s.ring(IncomingCall::new("13800000001"), t);
        assert!(
            matches!(s.extended("CVHU", Op::Read, t), Some(Reply::Lines(l)) if l == ["+CVHU: 1"])
        );
        s.ath(t);
        assert_eq!(s.list().len(), 1, "ATH ignored under CVHU=1");
        set(&mut s, "CVHU", &["0"], t);
        s.ath(t);
        assert!(s.list().is_empty());
        assert_eq!(
            s.events.last(),
            Some(&CallEvent::Rejected {
                from: "13800000001".into(),
                by: "ATH".into()
            })
        );
        // A reboot forgets CVHU=0.
        s.reboot();
        assert!(
            matches!(s.extended("CVHU", Op::Read, t), Some(Reply::Lines(l)) if l == ["+CVHU: 1"])
        );

        // EC25: QHUP; Generic: no QHUP at all.
        let (mut q, t) = voice(Dialect::Ec25);
        q.ring(IncomingCall::new("13800000002"), t);
        assert!(q
            .extended("QHUP", Op::Set(&["17".into(), "1".into()]), t)
            .is_some());
        assert!(q.list().is_empty());
        let (mut g, t) = voice(Dialect::Generic);
        assert!(g.extended("QHUP", Op::Exec, t).is_none());

        // Ignored hang-ups, and a hang-up whose OK comes before the call is gone.
        let (mut d, t) = voice(Dialect::Generic);
        d.timing.hangup_delay = Duration::from_millis(500);
        d.ignore_hangups(&["CHUP"]);
        d.ring(IncomingCall::new("13800000005"), t);
        d.extended("CHUP", Op::Exec, t);
        assert_eq!(d.list().len(), 1);
        d.ignore_hangups(&[]);
        d.ath(t);
        assert_eq!(d.list().len(), 1, "still listed while releasing");
        d.tick(t + Duration::from_millis(200));
        take(&mut d);
        assert_eq!(take(&mut d), "", "no more rings while releasing");
        d.tick(t + Duration::from_millis(600));
        assert!(d.list().is_empty());
    }

    #[test]
    fn answered_calls_speak_and_hear_keys_in_each_format() {
        for (dialect, enable, tts, want) in [
            (Dialect::Generic, None, None, "+DTMF: 5"),
            (Dialect::Sim800, Some("DDET"), None, "+DTMF: 5"),
            (Dialect::Sim7600, Some("DDET"), Some("CTTS"), "+RXDTMF: 5"),
            (
                Dialect::Ec25,
                Some("QTONEDET"),
                Some("QWTTS"),
                "+QTONEDET: 53",
            ),
        ] {
            let (mut v, t) = voice(dialect);
            v.ring(IncomingCall::new("13800000001"), t);
            if let Some(name) = tts {
                let a = vec!["1".to_string(), "6B228FCE".into()];
                assert!(
                    matches!(v.extended(name, Op::Set(&a), t), Some(Reply::Cme(903))),
                    "{dialect:?}: no TTS outside a call"
                );
            }
            assert!(matches!(v.answer(t), Reply::Lines(_)));
            v.dtmf("5");
            if let Some(e) = enable {
                assert!(
                    !take(&mut v).contains(want),
                    "{dialect:?}: keys only after {e}=1"
                );
                set(&mut v, e, &["1"], t);
                v.dtmf("5");
            }
            assert!(take(&mut v).contains(want), "{dialect:?}");
            if let Some(name) = tts {
                let a = vec!["1".to_string(), "6B228FCE".into()];
                assert!(matches!(
                    v.extended(name, Op::Set(&a), t),
                    Some(Reply::Lines(_))
                ));
                assert_eq!(v.next_deadline(), Some(t + Duration::from_millis(200)));
                v.tick(t + Duration::from_millis(200));
                assert!(take(&mut v).contains(&format!("+{name}: 0")), "{dialect:?}");
            }
            v.remote_hang_up();
            assert!(v.list().is_empty());
            assert_eq!(v.events.last(), Some(&CallEvent::HungUp));
        }
    }
}
