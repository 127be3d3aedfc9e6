//! The modem task's side of a voice call: following it from its first signal to its end,
//! rejecting it (callback) or answering it with the keypad menu (ivr), and handing the
//! finished call to the receipt sink. Runs inside the session between commands, like a
//! receipt batch.

use std::time::Duration;

use tokio::time::Instant;

use super::super::call::{CallProgress, CallRecord, Ending};
use super::super::ivr::{self, MenuOutcome};
use super::answer::{IvrKit, Line};
use super::{Fault, Session, MAX_UNSAVED_CALLS, QHUP_TIMEOUT, STALE_RING};
use crate::at::call::{clcc_line, signal, CallSignal};
use crate::config::VoiceMode;
use crate::modem::CmdError;

impl Session<'_> {
    /// Follows an incoming call from its first signal to its end: who calls (CLIP, else
    /// AT+CLCC after `clip_wait`), then, unless voice is off, the rejection chain. Other URCs
    /// that arrive meanwhile (a +CMTI) stay queued and are handled right after, so a call
    /// never costs an SMS; a call that rings during AT+CMGS is queued the same way and taken
    /// after the send.
    pub(super) async fn take_call(&mut self, first: CallSignal) -> Result<(), Fault> {
        if !CallProgress::starts_call(&first) {
            // An end signal or a released list line with no call followed: history.
            tracing::debug!(modem = %self.settings.name, signal = ?first, "call signal outside a call");
            return Ok(());
        }
        let rang_at = self.ctx.clock.now();
        let mut call = CallProgress::default();
        call.feed(&first);
        self.absorb_call_signals(&mut call);
        let wait_until = Instant::now() + self.settings.voice_timings.clip_wait;
        while !call.caller_known() && !call.ended {
            match tokio::time::timeout_at(wait_until, self.conn.idle_read()).await {
                Err(_) => break,
                Ok(r) => r.map_err(Fault::Link)?,
            }
            self.absorb_call_signals(&mut call);
        }
        // Whether the call is still there: only the modem's call list knows for sure.
        let listed = match self.cmd("AT+CLCC").await? {
            Ok(lines) => {
                let list: Vec<_> = lines.iter().filter_map(|l| clcc_line(l)).collect();
                Some(call.listed(&list))
            }
            Err(e) => {
                tracing::debug!(modem = %self.settings.name, error = %e, "AT+CLCC refused");
                None
            }
        };
        self.absorb_call_signals(&mut call);
        if listed == Some(false) && !call.ended {
            let late = self.last_call.as_ref().is_some_and(|(n, at)| {
                at.elapsed() < STALE_RING && (call.number.is_none() || *n == call.number)
            });
            if late || !call.caller_known() {
                // The late RING of the call just handled, or a call gone before anyone could
                // say who it was: nothing to record.
                tracing::debug!(modem = %self.settings.name, late, "ring without a call");
                return Ok(());
            }
            // The caller gave up before we acted (a SIM800 sends no end URC while ringing).
            call.ended = true;
        }
        // The menu answers only a caller it can help (a number to look up and to call back)
        // on a modem that can speak and hear keys; everything else is rejected.
        let kit = self.ivr.filter(|_| {
            self.settings.voice == VoiceMode::Ivr && !call.ended && call.number.is_some()
        });
        let (mode, ended, menu, callback) = if self.settings.voice == VoiceMode::Off {
            (VoiceMode::Off, Ending::Ignored, None, false)
        } else if call.ended {
            (VoiceMode::Callback, Ending::Caller, None, true)
        } else if let Some(kit) = kit {
            match self.serve(kit, &mut call).await? {
                Some((ended, outcome)) => (
                    VoiceMode::Ivr,
                    ended,
                    Some(outcome.code()),
                    outcome.wants_callback(),
                ),
                None => {
                    let ended = if call.ended {
                        Ending::Caller
                    } else {
                        self.reject(&mut call).await?
                    };
                    (VoiceMode::Callback, ended, None, true)
                }
            }
        } else {
            let ended = self.reject(&mut call).await?;
            (VoiceMode::Callback, ended, None, true)
        };
        self.last_call = Some((call.number.clone(), Instant::now()));
        self.status.send_modify(|s| s.calls += 1);
        let caller = call
            .number
            .as_deref()
            .map_or_else(|| "withheld".to_string(), crate::phone::mask);
        tracing::info!(modem = %self.settings.name, %caller, ended = ended.as_str(), "incoming call");
        if mode == VoiceMode::Off {
            return Ok(());
        }
        if self.unsaved_calls.len() >= MAX_UNSAVED_CALLS {
            tracing::error!(modem = %self.settings.name, "database down and {MAX_UNSAVED_CALLS} calls waiting: the oldest is dropped");
            self.unsaved_calls.remove(0);
        }
        self.unsaved_calls.push(CallRecord {
            number: call.number,
            rang_at,
            ended,
            mode,
            menu,
            callback,
        });
        self.save_calls().await;
        Ok(())
    }

    /// Answers the call and runs the menu. `None` when it could not be answered (the caller
    /// is then rejected or already gone); else how it ended and what the caller did.
    async fn serve(
        &mut self,
        kit: IvrKit,
        call: &mut CallProgress,
    ) -> Result<Option<(Ending, MenuOutcome)>, Fault> {
        let Some(phone) = call.number.clone() else {
            return Ok(None);
        };
        if !self.answer(kit, call).await? {
            return Ok(None);
        }
        let desk = self.ctx.desk.clone();
        let mut line = Line::open(self, kit, call);
        let outcome = ivr::run(&mut line, &*desk, &phone).await;
        line.close(call)?;
        let ended = if call.ended {
            Ending::Caller
        } else {
            // Our goodbye was said: hang up as for a rejected call.
            self.reject(call).await?
        };
        tracing::info!(modem = %self.settings.name, menu = %outcome.code(), "menu call ended");
        Ok(Some((ended, outcome)))
    }

    /// Takes every queued call signal into `call`, leaving the other URCs queued.
    pub(super) fn absorb_call_signals(&mut self, call: &mut CallProgress) {
        while let Some(u) = self.conn.take_first_urc(|u| signal(u).is_some()) {
            if let Some(s) = signal(&u) {
                call.feed(&s);
            }
        }
    }

    /// Hangs up without answering: AT+CHUP (27.007), then ATH (SIMCom honours it only after
    /// AT+CVHU=0, set at init), then AT+QHUP=17,<idx> (Quectel, "user busy"). "OK" does not
    /// mean hung up (voice-modems.md pitfall 3), so each is confirmed by an end URC or a call
    /// list without the call before the next is tried.
    pub(super) async fn reject(&mut self, call: &mut CallProgress) -> Result<Ending, Fault> {
        let qhup = format!("AT+QHUP=17,{}", call.id.unwrap_or(1));
        let chain = [
            ("CHUP", "AT+CHUP", self.settings.timings.command),
            ("ATH", "ATH", self.settings.timings.command),
            ("QHUP", qhup.as_str(), QHUP_TIMEOUT),
        ];
        for (how, command, timeout) in chain {
            match self.cmd_timeout(command, timeout).await? {
                Ok(_) | Err(CmdError::Timeout(..)) => {}
                // Not this modem's way of hanging up: the next one, at once.
                Err(e) => {
                    tracing::debug!(modem = %self.settings.name, command, error = %e, "hang-up refused");
                    continue;
                }
            }
            if self.call_gone(call).await? {
                return Ok(Ending::Rejected(how));
            }
            tracing::info!(modem = %self.settings.name, command, "call still there after hang-up");
        }
        tracing::warn!(modem = %self.settings.name, "cannot hang up the call; it rings out on its own");
        Ok(Ending::Unconfirmed)
    }

    /// Waits up to `hangup_confirm` for the call to end: an end URC, or a call list without it.
    async fn call_gone(&mut self, call: &mut CallProgress) -> Result<bool, Fault> {
        let until = Instant::now() + self.settings.voice_timings.hangup_confirm;
        loop {
            self.absorb_call_signals(call);
            if call.ended {
                return Ok(true);
            }
            if let Ok(lines) = self.cmd("AT+CLCC").await? {
                let list: Vec<_> = lines.iter().filter_map(|l| clcc_line(l)).collect();
                if !call.listed(&list) {
                    return Ok(true);
                }
            }
            let pause = (Instant::now() + Duration::from_millis(250)).min(until);
            if Instant::now() >= until {
                return Ok(false);
            }
            if let Ok(r) = tokio::time::timeout_at(pause, self.conn.idle_read()).await {
                r.map_err(Fault::Link)?;
            }
        }
    }

    /// Hands the finished calls to the sink; those it cannot take stay for the next sweep.
    pub(super) async fn save_calls(&mut self) {
        while let Some(call) = self.unsaved_calls.first() {
            let r = self
                .ctx
                .receipts
                .commit_call(&self.settings.name, call, self.ctx.clock.now())
                .await;
            match r {
                Ok(()) => {
                    self.unsaved_calls.remove(0);
                    self.ctx.inbox_wake.notify_one();
                }
                Err(e) => {
                    tracing::error!(modem = %self.settings.name, error = %e, waiting = self.unsaved_calls.len(), "cannot record a call; kept for the next sweep");
                    return;
                }
            }
        }
    }
}

/// The call settings for a modem maker (voice-modems.md section 4a), after `AT+CLIP=1`:
/// `+CRING: VOICE` tells a voice call from data; SIMCom honours ATH only with AT+CVHU=0 and
/// reports call states with AT+CLCC=1; Quectel reports them as ccinfo. All forgotten on a
/// reboot, so sent on every init.
pub(super) fn voice_setup(manufacturer: &str) -> Vec<&'static str> {
    let m = manufacturer.to_ascii_uppercase();
    let mut v = vec!["AT+CRC=1"];
    if m.contains("SIMCOM") {
        v.extend(["AT+CVHU=0", "AT+CLCC=1"]);
    } else if m.contains("QUECTEL") {
        v.push("AT+QINDCFG=\"ccinfo\",1,0");
    }
    v
}
