//! One voice call as the modem task follows it (an incoming one, or a rating call it placed),
//! and the record it hands on.
//!
//! [`CallProgress`] is pure: it folds the call signals of any dialect (`at::call`) into what
//! the task needs to decide: who calls, which call index to hang up, whether the call is
//! over. The I/O around it (waiting for CLIP, polling AT+CLCC, the hang-up chain) is in
//! `task::Session::take_call`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ivr::RatingOutcome;
use crate::at::call::{CallLine, CallSignal, CallState};
use crate::config::VoiceMode;

/// How a call ended, for the calls table and the status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Ending {
    /// The caller hung up (or gave up ringing) before we acted.
    Caller,
    /// We rejected it with this command ("CHUP", "ATH", "QHUP") and the modem confirmed the
    /// call gone (an empty AT+CLCC or an end URC).
    Rejected(&'static str),
    /// Every hang-up command was tried and the call was still listed: it rings out on its own.
    Unconfirmed,
    /// Voice is off on this modem: left alone.
    Ignored,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Caller => "caller",
            Ending::Rejected("CHUP") => "chup",
            Ending::Rejected("ATH") => "ath",
            Ending::Rejected(_) => "qhup",
            Ending::Unconfirmed => "unconfirmed",
            Ending::Ignored => "ignored",
        }
    }
}

/// A finished incoming call, handed to [`super::ReceiptSink::commit_call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// As the modem printed it; `None` when the network withheld it.
    pub number: Option<String>,
    pub rang_at: DateTime<Utc>,
    pub ended: Ending,
    /// The mode the call was taken in: `Ivr` when the menu answered it, `Callback` when it
    /// was rejected (also on an "ivr" modem without TTS or DTMF, and for withheld callers).
    pub mode: VoiceMode,
    /// What the caller did in the menu (`ivr::MenuOutcome::code`), for an answered call.
    pub menu: Option<String>,
    /// Whether someone should call back: always for a rejected call; for an answered one
    /// when the menu could not help (the caller asked for a person, left, or chose nothing).
    pub callback: bool,
}

/// What is known so far about the call that is ringing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallProgress {
    pub number: Option<String>,
    /// The network said there is no number to give (`+CLIP: "",128`, an empty list entry).
    pub withheld: bool,
    /// The call's index from a list line, for `AT+QHUP=<cause>,<idx>`.
    pub id: Option<u8>,
    /// An end signal arrived for it.
    pub ended: bool,
    /// A call we placed (mobile-originated): list lines of outgoing calls are this call's.
    pub outgoing: bool,
}

impl CallProgress {
    /// Whether `s` may start following a call: something that rings. An end signal or a
    /// released list line with no call followed is history (a late URC of a call already
    /// handled).
    pub fn starts_call(s: &CallSignal) -> bool {
        match s {
            CallSignal::Ringing | CallSignal::Caller { .. } => true,
            CallSignal::Line(l) => l.incoming && l.state.is_ringing(),
            CallSignal::Ended { .. } => false,
        }
    }

    pub fn feed(&mut self, s: &CallSignal) {
        match s {
            CallSignal::Ringing => {}
            CallSignal::Caller { number } => self.learn(number.as_deref()),
            CallSignal::Line(l) if l.incoming != self.outgoing => {
                self.id = Some(l.id);
                if l.state == CallState::Released {
                    self.ended = true;
                }
                self.learn(l.number.as_deref());
            }
            // A call the other way is not this call.
            CallSignal::Line(_) => {}
            CallSignal::Ended { number } => {
                self.ended = true;
                if let Some(n) = number {
                    self.learn(Some(n));
                }
            }
        }
    }

    fn learn(&mut self, number: Option<&str>) {
        match number {
            Some(n) => {
                self.number = Some(n.to_string());
                self.withheld = false;
            }
            None if self.number.is_none() => self.withheld = true,
            None => {}
        }
    }

    /// Whether we know who calls (a number, or that there is none to know).
    pub fn caller_known(&self) -> bool {
        self.number.is_some() || self.withheld
    }

    /// Folds an `AT+CLCC` answer in; returns whether the call is still there (an incoming call
    /// ringing, waiting or, if someone answered it, active).
    pub fn listed(&mut self, lines: &[CallLine]) -> bool {
        let ours = lines
            .iter()
            .find(|l| l.incoming != self.outgoing && l.state != CallState::Released);
        match ours {
            Some(l) => {
                self.id = Some(l.id);
                self.learn(l.number.as_deref());
                true
            }
            None => false,
        }
    }
}

/// A call we placed, by its line in the call list: `None` when it is not (or no longer)
/// listed, else its state (dialing, alerting, active).
pub fn placed_state(lines: &[CallLine]) -> Option<CallState> {
    lines
        .iter()
        .find(|l| !l.incoming && l.state != CallState::Released)
        .map(|l| l.state)
}

/// What became of a rating call (`ModemHandle::rating_call`), kept as the outcome of its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacedCall {
    /// The modem cannot speak or hear keys (voice is not "ivr", or the probe found no TTS or
    /// DTMF): nothing was dialled.
    NotCapable,
    Busy,
    /// Rang out, or the network gave up (`NO ANSWER`, `NO CARRIER` before an answer).
    NoAnswer,
    /// The modem refused to dial (no network, barred, +CME ERROR).
    Failed(String),
    /// Someone picked up: what they did with the prompt.
    Answered(RatingOutcome),
}

impl PlacedCall {
    /// The `outcome` column of `rating_calls`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlacedCall::NotCapable => "not_capable",
            PlacedCall::Busy => "busy",
            PlacedCall::NoAnswer => "no_answer",
            PlacedCall::Failed(_) => "failed",
            PlacedCall::Answered(o) => o.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(state: CallState, number: Option<&str>) -> CallLine {
        CallLine {
            id: 2,
            incoming: true,
            state,
            number: number.map(Into::into),
        }
    }

    #[test]
    fn what_starts_a_call() {
        let cases = [
            (CallSignal::Ringing, true),
            (CallSignal::Caller { number: None }, true),
            (CallSignal::Line(line(CallState::Incoming, Some("1"))), true),
            (CallSignal::Line(line(CallState::Waiting, None)), true),
            (
                CallSignal::Line(line(CallState::Released, Some("1"))),
                false,
            ),
            (CallSignal::Line(line(CallState::Active, Some("1"))), false),
            (CallSignal::Ended { number: None }, false),
        ];
        for (s, starts) in cases {
            assert_eq!(CallProgress::starts_call(&s), starts, "{s:?}");
        }
    }

    #[test]
    fn signals_fold_into_caller_index_and_end() {
        let mut c = CallProgress::default();
        c.feed(&CallSignal::Ringing);
        assert!(!c.caller_known());
        c.feed(&CallSignal::Line(line(
            CallState::Incoming,
            Some("13800000001"),
        )));
        assert_eq!(
            (c.number.as_deref(), c.id, c.ended),
            (Some("13800000001"), Some(2), false)
        );
        // A withheld field afterwards does not forget a number already given.
        c.feed(&CallSignal::Caller { number: None });
        assert_eq!(c.number.as_deref(), Some("13800000001"));
        assert!(!c.withheld);
        c.feed(&CallSignal::Line(line(CallState::Released, None)));
        assert!(c.ended);

        let mut w = CallProgress::default();
        w.feed(&CallSignal::Caller { number: None });
        assert!(w.withheld && w.caller_known());

        let mut m = CallProgress::default();
        m.feed(&CallSignal::Ended {
            number: Some("13800000002".into()),
        });
        assert!(m.ended);
        assert_eq!(m.number.as_deref(), Some("13800000002"));

        let mut o = CallProgress::default();
        o.feed(&CallSignal::Line(CallLine {
            incoming: false,
            ..line(CallState::Released, Some("10086"))
        }));
        assert_eq!(
            o,
            CallProgress::default(),
            "an outgoing call is not this one"
        );
    }

    #[test]
    fn a_call_list_says_whether_the_call_is_still_there() {
        let mut c = CallProgress::default();
        assert!(!c.listed(&[]));
        assert!(!c.listed(&[line(CallState::Released, Some("1"))]));
        assert!(c.listed(&[line(CallState::Incoming, None)]));
        assert!(c.withheld && c.id == Some(2));
        let mut d = CallProgress::default();
        assert!(d.listed(&[line(CallState::Incoming, Some("+8613800000001"))]));
        assert_eq!(d.number.as_deref(), Some("+8613800000001"));
        let ours_outgoing = CallLine {
            incoming: false,
            ..line(CallState::Alerting, Some("10086"))
        };
        assert!(!CallProgress::default().listed(&[ours_outgoing]));
    }

    #[test]
    fn endings_have_stable_names() {
        let names: Vec<&str> = [
            Ending::Caller,
            Ending::Rejected("CHUP"),
            Ending::Rejected("ATH"),
            Ending::Rejected("QHUP"),
            Ending::Unconfirmed,
            Ending::Ignored,
        ]
        .iter()
        .map(|e| e.as_str())
        .collect();
        assert_eq!(
            names,
            ["caller", "chup", "ath", "qhup", "unconfirmed", "ignored"]
        );
    }
}
