//! The modem task's side of a rating call: `ATD<n>;`, following the call through dialing and
//! alerting to an answer (or BUSY / NO ANSWER) by the call list and URCs, since most modems
//! answer OK to ATD at once (voice-modems.md section 3), then the one-prompt, one-key script
//! of `ivr::rating_call` and the hang-up.

use std::time::Duration;

use tokio::time::Instant;

use super::super::call::{placed_state, CallProgress, PlacedCall};
use super::super::ivr;
use super::answer::Line;
use super::{Fault, Session};
use crate::at::call::{clcc_line, CallState};
use crate::at::{FinalResult, Urc};
use crate::config::VoiceMode;
use crate::modem::CmdError;

/// How long ATD itself may take: modems that wait for the answer before OK (27.007 without
/// the vendor's early OK) say it within the network's ring-out.
const DIAL_COMMAND: Duration = Duration::from_secs(70);
/// How long the far end may ring before we give up; the network usually ends it first.
const RING_OUT: Duration = Duration::from_secs(60);
/// A dialled call may take a moment to show in the call list.
const LIST_GRACE: Duration = Duration::from_secs(3);

impl Session<'_> {
    /// Calls `phone` about its resolved appeal `number`. A link fault ends the session after
    /// the caller is answered (as `Failed`).
    pub(super) async fn rating_call(
        &mut self,
        phone: &str,
        number: &str,
    ) -> Result<PlacedCall, Fault> {
        let Some(kit) = self.ivr.filter(|_| self.settings.voice == VoiceMode::Ivr) else {
            return Ok(PlacedCall::NotCapable);
        };
        if !self.ready {
            return Ok(PlacedCall::Failed("modem not ready".into()));
        }
        let mut call = CallProgress {
            outgoing: true,
            number: Some(phone.to_string()),
            ..CallProgress::default()
        };
        let dial = format!("ATD{phone};");
        match self.cmd_timeout(&dial, DIAL_COMMAND).await? {
            Ok(_) => {}
            Err(CmdError::Unexpected(FinalResult::Busy)) => return Ok(PlacedCall::Busy),
            Err(CmdError::Unexpected(FinalResult::NoAnswer | FinalResult::NoCarrier)) => {
                return Ok(PlacedCall::NoAnswer)
            }
            Err(e) => return Ok(PlacedCall::Failed(e.to_string())),
        }
        if let Some(end) = self.until_answered(&mut call).await? {
            tracing::info!(modem = %self.settings.name, outcome = end.as_str(), "rating call not answered");
            return Ok(end);
        }
        self.audio_on(kit).await?;
        let desk = self.ctx.desk.clone();
        let mut line = Line::open(self, kit, &call);
        let outcome = ivr::rating_call(&mut line, &*desk, phone).await;
        line.close(&mut call)?;
        if !call.ended {
            self.reject(&mut call).await?;
        }
        tracing::info!(modem = %self.settings.name, appeal = number, outcome = outcome.as_str(), "rating call ended");
        Ok(PlacedCall::Answered(outcome))
    }

    /// Follows a dialled call until it is active (`None`) or over (busy, no answer).
    async fn until_answered(
        &mut self,
        call: &mut CallProgress,
    ) -> Result<Option<PlacedCall>, Fault> {
        let started = Instant::now();
        let mut listed = false;
        loop {
            if let Some(end) = self.dial_end() {
                return Ok(Some(end));
            }
            self.absorb_call_signals(call);
            if call.ended {
                return Ok(Some(self.dial_end().unwrap_or(PlacedCall::NoAnswer)));
            }
            if let Ok(lines) = self.cmd("AT+CLCC").await? {
                let list: Vec<_> = lines.iter().filter_map(|l| clcc_line(l)).collect();
                match placed_state(&list) {
                    Some(CallState::Active) => return Ok(None),
                    Some(_) => listed = true,
                    None if listed || started.elapsed() >= LIST_GRACE => {
                        // Gone from the list: its end URC says why, if it came.
                        self.absorb_call_signals(call);
                        return Ok(Some(self.dial_end().unwrap_or(PlacedCall::NoAnswer)));
                    }
                    None => {}
                }
            }
            if started.elapsed() >= RING_OUT {
                self.reject(call).await?;
                return Ok(Some(PlacedCall::NoAnswer));
            }
            let pause = Instant::now() + Duration::from_millis(400);
            if let Ok(r) = tokio::time::timeout_at(pause, self.conn.idle_read()).await {
                r.map_err(Fault::Link)?;
            }
        }
    }

    /// A dialled call's own ending words, if queued: BUSY, NO ANSWER, NO DIALTONE.
    fn dial_end(&mut self) -> Option<PlacedCall> {
        let u = self
            .conn
            .take_first_urc(|u| matches!(u, Urc::Busy | Urc::NoAnswer | Urc::NoDialtone))?;
        Some(match u {
            Urc::Busy => PlacedCall::Busy,
            Urc::NoDialtone => PlacedCall::Failed("NO DIALTONE".into()),
            _ => PlacedCall::NoAnswer,
        })
    }
}
