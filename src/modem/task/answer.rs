//! Answering a call for the keypad menu (voice = "ivr"): the probe for TTS and DTMF, ATA and
//! the wait for the call to be active, and [`Line`], the session seen as the menu's
//! [`CallIo`]: prompts by the modem's TTS (Quectel AT+QWTTS mode 1, SIMCom AT+CTTS=1 after
//! AT+CDTAM=1, both UCS2 hex), keys from +QTONEDET / +DTMF / +RXDTMF (the framer's `Dtmf`).

use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::super::call::CallProgress;
use super::super::ivr::{CallIo, Keys, Said};
use super::{Fault, Session};
use crate::at::call::{clcc_line, signal, CallState};
use crate::at::Urc;

/// The longest answered call: a menu that takes longer is cut off.
pub(super) const MAX_CALL: Duration = Duration::from_secs(120);
/// How long an answered call may take to become active.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tts {
    /// Quectel `AT+QWTTS=1,1,1,"<UCS2>"`, ends with `+QWTTS: 0`.
    Qwtts,
    /// SIMCom `AT+CTTS=1,"<UCS2>"` (to the far end after `AT+CDTAM=1`), ends with `+CTTS: 0`.
    Ctts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtmf {
    /// Quectel `AT+QTONEDET=1` (forgotten on every reset, so set per call).
    Qtonedet,
    /// SIMCom `AT+DDET=1`.
    Ddet,
}

/// What a modem offers for the menu, found by `=?` probes (voice-modems.md section 4b).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IvrKit {
    pub tts: Tts,
    pub dtmf: Dtmf,
}

impl Session<'_> {
    /// Which TTS and DTMF commands the modem knows; `None` when it lacks either (the open
    /// Quectel firmware stubs them, SIM800 and Huawei sticks have no TTS).
    pub(super) async fn probe_ivr(&mut self) -> Result<Option<IvrKit>, Fault> {
        let tts = if self.cmd("AT+QWTTS=?").await?.is_ok() {
            Some(Tts::Qwtts)
        } else if self.cmd("AT+CTTS=?").await?.is_ok() {
            Some(Tts::Ctts)
        } else {
            None
        };
        let dtmf = if self.cmd("AT+QTONEDET=?").await?.is_ok() {
            Some(Dtmf::Qtonedet)
        } else if self.cmd("AT+DDET=?").await?.is_ok() {
            Some(Dtmf::Ddet)
        } else {
            None
        };
        Ok(tts.zip(dtmf).map(|(tts, dtmf)| IvrKit { tts, dtmf }))
    }

    /// ATA, then waits for the call list to show it active. `Ok(false)` when the modem
    /// refused or the caller left meanwhile.
    pub(super) async fn answer(
        &mut self,
        kit: IvrKit,
        call: &mut CallProgress,
    ) -> Result<bool, Fault> {
        if let Err(e) = self.cmd("ATA").await? {
            tracing::warn!(modem = %self.settings.name, error = %e, "ATA refused; rejecting instead");
            return Ok(false);
        }
        let until = Instant::now() + ANSWER_WAIT;
        loop {
            self.absorb_call_signals(call);
            if call.ended {
                return Ok(false);
            }
            if let Ok(lines) = self.cmd("AT+CLCC").await? {
                let list: Vec<_> = lines.iter().filter_map(|l| clcc_line(l)).collect();
                if list
                    .iter()
                    .any(|l| l.incoming && l.state == CallState::Active)
                {
                    break;
                }
                if !call.listed(&list) {
                    call.ended = true;
                    return Ok(false);
                }
            }
            if Instant::now() >= until {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.audio_on(kit).await?;
        Ok(true)
    }

    /// Key detection on (and, for SIMCom, TTS to the far end) for a call just connected;
    /// both are per call (Quectel forgets QTONEDET on every reset).
    pub(super) async fn audio_on(&mut self, kit: IvrKit) -> Result<(), Fault> {
        let mut setup = vec![match kit.dtmf {
            Dtmf::Qtonedet => "AT+QTONEDET=1",
            Dtmf::Ddet => "AT+DDET=1",
        }];
        if kit.tts == Tts::Ctts {
            setup.push("AT+CDTAM=1");
        }
        for c in setup {
            if let Err(e) = self.cmd(c).await? {
                tracing::warn!(modem = %self.settings.name, command = c, error = %e, "call audio setting refused");
            }
        }
        Ok(())
    }
}

/// An answered call as the menu sees it. A link fault is kept in `fault` (the menu sees a
/// hang-up) and raised by the caller after the menu.
pub(super) struct Line<'s, 'a> {
    pub s: &'s mut Session<'a>,
    pub kit: IvrKit,
    pub call: CallProgress,
    /// The end of the longest call allowed.
    pub until: Instant,
    pub fault: Option<Fault>,
}

impl<'s, 'a> Line<'s, 'a> {
    /// The connected `call` as the menu's line, for at most [`MAX_CALL`].
    pub fn open(s: &'s mut Session<'a>, kit: IvrKit, call: &CallProgress) -> Self {
        Line {
            s,
            kit,
            call: call.clone(),
            until: Instant::now() + MAX_CALL,
            fault: None,
        }
    }

    /// Hands back what the script learnt about the call (its end) into `call`, and raises a
    /// link fault the script saw as a hang-up.
    pub fn close(self, call: &mut CallProgress) -> Result<(), Fault> {
        *call = self.call;
        self.fault.map_or(Ok(()), Err)
    }
}

impl Line<'_, '_> {
    fn gone(&self) -> bool {
        self.call.ended || self.fault.is_some()
    }

    /// Takes queued call signals (an end), keys and TTS ends, in order; other URCs stay.
    fn next_event(&mut self) -> Option<Event> {
        let tts_end = |u: &Urc| matches!(u, Urc::Vendor(l) if is_tts_end(l));
        while let Some(u) = self
            .s
            .conn
            .take_first_urc(|u| matches!(u, Urc::Dtmf(_)) || tts_end(u) || signal(u).is_some())
        {
            match u {
                Urc::Dtmf(k) => return Some(Event::Key(k)),
                ref v if tts_end(v) => return Some(Event::TtsDone),
                other => {
                    if let Some(sig) = signal(&other) {
                        self.call.feed(&sig);
                        if self.call.ended {
                            return Some(Event::Ended);
                        }
                    }
                }
            }
        }
        None
    }

    /// Waits for the next event until `deadline` (and the call's end); `None` at the deadline.
    async fn wait(&mut self, deadline: Instant) -> Option<Event> {
        let deadline = deadline.min(self.until);
        loop {
            if let Some(e) = self.next_event() {
                return Some(e);
            }
            if Instant::now() >= deadline {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.s.conn.idle_read()).await {
                Err(_) => return None,
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.fault = Some(Fault::Link(e));
                    return Some(Event::Ended);
                }
            }
        }
    }

    async fn speak(&mut self, text: &str) -> Said {
        if self.gone() || Instant::now() >= self.until {
            return Said::HungUp;
        }
        let hex = ucs2_hex(text);
        let command = match self.kit.tts {
            Tts::Qwtts => format!("AT+QWTTS=1,1,1,\"{hex}\""),
            Tts::Ctts => format!("AT+CTTS=1,\"{hex}\""),
        };
        match self.s.cmd(&command).await {
            Err(f) => {
                self.fault = Some(f);
                return Said::HungUp;
            }
            // +CME ERROR: 903 is "no call": the caller is gone.
            Ok(Err(e)) => {
                tracing::info!(modem = %self.s.settings.name, error = %e, "TTS refused; the call is over");
                self.call.ended = true;
                return Said::HungUp;
            }
            Ok(Ok(_)) => {}
        }
        // A prompt takes about a quarter second a character; the end URC usually says sooner.
        let expected = Duration::from_millis(250 * text.chars().count() as u64 + 2000);
        match self.wait(Instant::now() + expected).await {
            Some(Event::Key(k)) => {
                if self.kit.tts == Tts::Ctts {
                    // Stop the prompt the key cut short (Quectel's ends by itself).
                    if let Err(f) = self.s.cmd("AT+CTTS=0").await {
                        self.fault = Some(f);
                    }
                }
                Said::KeyPressed(k)
            }
            Some(Event::Ended) => Said::HungUp,
            Some(Event::TtsDone) | None => Said::Done,
        }
    }

    async fn collect(
        &mut self,
        max: usize,
        until_hash: bool,
        first: Duration,
        between: Duration,
    ) -> Keys {
        let mut got = String::new();
        let mut deadline = Instant::now() + first;
        while got.chars().count() < max {
            if self.gone() {
                return Keys::HungUp;
            }
            match self.wait(deadline).await {
                Some(Event::Key('#')) if until_hash => return Keys::Got(got),
                Some(Event::Key(k)) => {
                    got.push(k);
                    deadline = Instant::now() + between;
                }
                Some(Event::Ended) => return Keys::HungUp,
                Some(Event::TtsDone) => {}
                None if got.is_empty() => return Keys::Timeout,
                None => break,
            }
        }
        Keys::Got(got)
    }
}

enum Event {
    Key(char),
    TtsDone,
    Ended,
}

impl CallIo for Line<'_, '_> {
    fn say<'a>(&'a mut self, text: &'a str) -> BoxFuture<'a, Said> {
        Box::pin(self.speak(text))
    }

    fn keys(
        &mut self,
        max: usize,
        until_hash: bool,
        first: Duration,
        between: Duration,
    ) -> BoxFuture<'_, Keys> {
        Box::pin(self.collect(max, until_hash, first, between))
    }
}

fn is_tts_end(line: &str) -> bool {
    let u = line.to_ascii_uppercase();
    u.starts_with("+QWTTS:") || u.starts_with("+CTTS:")
}

/// UTF-16 code units as upper-case hex, what `mode 1` TTS takes.
pub(crate) fn ucs2_hex(text: &str) -> String {
    text.encode_utf16().map(|u| format!("{u:04X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_ucs2_hex_and_tts_ends_are_known() {
        // QM manual's example text 欢迎 is 6B22 8FCE.
        assert_eq!(ucs2_hex("欢迎"), "6B228FCE");
        assert_eq!(ucs2_hex("1#"), "00310023");
        assert!(is_tts_end("+QWTTS: 0") && is_tts_end("+CTTS: 0"));
        assert!(!is_tts_end("+QTTS: 0") && !is_tts_end("+CTTSX"));
    }
}
