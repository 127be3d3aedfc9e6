//! What the call-related lines of each vendor say about a voice call. Pure.
//!
//! Modems announce calls in at least five dialects (voice-modems.md section 1): 27.007's
//! `RING`/`+CRING`/`+CLIP`, the `+CLCC` list (polled, or unsolicited after `AT+CLCC=1` on
//! SIMCom), Quectel's `+QIND: "ccinfo"`, Huawei/Quectel `^DSCI`, and SIMCom's word lines
//! (`MISSED_CALL:`, `VOICE CALL: END`). The framer passes most of them on as
//! [`Urc::Vendor`]; [`signal`] turns each into one [`CallSignal`] so the driver follows a
//! call the same way on every modem.

use super::urc::{fields, split_name, unquote};
use super::Urc;

/// A call's state, numbered as in 27.007 `+CLCC` (`Released` is SIMCom's 6, ccinfo's -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Active,
    Held,
    Dialing,
    Alerting,
    Incoming,
    Waiting,
    Released,
}

impl CallState {
    fn from_code(code: i32) -> Option<CallState> {
        Some(match code {
            0 => CallState::Active,
            1 => CallState::Held,
            2 => CallState::Dialing,
            3 => CallState::Alerting,
            4 => CallState::Incoming,
            5 => CallState::Waiting,
            6 | 7 | -1 => CallState::Released,
            _ => return None,
        })
    }

    /// Still ringing at us (incoming, or waiting behind another call).
    pub fn is_ringing(self) -> bool {
        matches!(self, CallState::Incoming | CallState::Waiting)
    }
}

/// One call as a call list line describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLine {
    /// The call's index, what `AT+QHUP=<cause>,<idx>` and `AT+CHLD=1<idx>` name.
    pub id: u8,
    /// Mobile-terminated (someone calls us).
    pub incoming: bool,
    pub state: CallState,
    /// `None` when the network withheld it (empty, or type 128 with no digits).
    pub number: Option<String>,
}

/// What a line tells about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallSignal {
    /// `RING`, `+CRING: VOICE`: a call is ringing; who, the line does not say.
    Ringing,
    /// `+CLIP`: the caller's number, `None` when withheld or unavailable.
    Caller { number: Option<String> },
    /// A call list line (`+CLCC`, ccinfo, `^DSCI`).
    Line(CallLine),
    /// The call is over: `NO CARRIER`, `MISSED_CALL:` (with the number), `VOICE CALL: END`,
    /// `^CEND`. A list line in state `Released` is a [`CallSignal::Line`].
    Ended { number: Option<String> },
}

/// The call meaning of an unsolicited line, if it has one. `+CRING` of a data or fax call
/// is not a voice call and says nothing here.
pub fn signal(urc: &Urc) -> Option<CallSignal> {
    match urc {
        Urc::Ring => Some(CallSignal::Ringing),
        Urc::Cring(kind) => {
            let k = kind.trim().to_ascii_uppercase();
            (k.is_empty() || k.contains("VOICE")).then_some(CallSignal::Ringing)
        }
        Urc::Clip { number } => Some(CallSignal::Caller {
            number: number_or_none(number),
        }),
        Urc::NoCarrier => Some(CallSignal::Ended { number: None }),
        Urc::Vendor(line) => vendor_line(line),
        _ => None,
    }
}

fn vendor_line(line: &str) -> Option<CallSignal> {
    let upper = line.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("MISSED_CALL:") {
        // `MISSED_CALL: 11:01AM 07718000000`: the number is the last word.
        let number = rest.split_whitespace().last().filter(|w| w.len() > 2);
        let number = number.and_then(|w| line.get(line.len() - w.len()..));
        return Some(CallSignal::Ended {
            number: number.and_then(number_or_none),
        });
    }
    if upper.starts_with("VOICE CALL: END") {
        return Some(CallSignal::Ended { number: None });
    }
    let (name, rest) = split_name(line)?;
    match name.as_str() {
        "+CLCC" => clcc_fields(&fields(rest)).map(CallSignal::Line),
        "^DSCI" => clcc_like(&fields(rest), false).map(CallSignal::Line),
        "^CEND" => Some(CallSignal::Ended { number: None }),
        "+QIND" => {
            let f = fields(rest);
            if !f
                .first()
                .is_some_and(|k| unquote(k).eq_ignore_ascii_case("ccinfo"))
            {
                return None;
            }
            clcc_fields(&f[1..]).map(CallSignal::Line)
        }
        _ => None,
    }
}

/// One line of an `AT+CLCC` answer (`+CLCC: 1,1,4,0,0,"+8613...",145`).
pub fn clcc_line(line: &str) -> Option<CallLine> {
    let (name, rest) = split_name(line.trim())?;
    (name == "+CLCC")
        .then(|| clcc_fields(&fields(rest)))
        .flatten()
}

/// `<id>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>...]`.
fn clcc_fields(f: &[&str]) -> Option<CallLine> {
    clcc_like(f, true)
}

/// `^DSCI` puts `<type>` where `+CLCC` has `<mode>` and has no `<mpty>`:
/// `<id>,<dir>,<stat>,<type>,<number>,<num_type>`.
fn clcc_like(f: &[&str], with_mpty: bool) -> Option<CallLine> {
    let id = f.first()?.parse::<u8>().ok()?;
    let dir = f.get(1)?.parse::<u8>().ok()?;
    let state = CallState::from_code(f.get(2)?.parse::<i32>().ok()?)?;
    let number_at = if with_mpty { 5 } else { 4 };
    let number = f.get(number_at).and_then(|n| number_or_none(unquote(n)));
    Some(CallLine {
        id,
        incoming: dir == 1,
        state,
        number,
    })
}

/// A number as the modem printed it, or `None` for the empty field of a withheld caller.
fn number_or_none(n: &str) -> Option<String> {
    let n = n.trim();
    let digits = n.chars().filter(char::is_ascii_digit).count();
    (digits > 0).then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at::{Frame, Framer};

    /// The signals a byte stream carries, through the real framer with nothing pending.
    fn signals(bytes: &[u8]) -> Vec<CallSignal> {
        let mut f = Framer::new();
        f.push(bytes);
        std::iter::from_fn(|| f.next_frame())
            .filter_map(|fr| match fr {
                Frame::Urc(u) => signal(&u),
                _ => None,
            })
            .collect()
    }

    fn line(id: u8, state: CallState, number: Option<&str>) -> CallSignal {
        CallSignal::Line(CallLine {
            id,
            incoming: true,
            state,
            number: number.map(Into::into),
        })
    }

    fn caller(n: Option<&str>) -> CallSignal {
        CallSignal::Caller {
            number: n.map(Into::into),
        }
    }

    #[test]
    fn each_dialect_reads_as_the_same_signals() {
        let ended = CallSignal::Ended { number: None };
        let cases: &[(&str, &[u8], Vec<CallSignal>)] = &[
            (
                "27.007 with caller id",
                b"\r\nRING\r\n\r\n+CLIP: \"+8613800000001\",145,,,,0\r\n",
                vec![CallSignal::Ringing, caller(Some("+8613800000001"))],
            ),
            (
                "SIM800 six fields, withheld",
                b"\r\nRING\r\n\r\n+CLIP: \"\",128,\"\",0,\"\",1\r\n\r\nNO CARRIER\r\n",
                vec![CallSignal::Ringing, caller(None), ended.clone()],
            ),
            (
                "SIM7600 double CR, +CLCC URCs, missed call",
                b"\r\r\n+CRING: VOICE\r\r\n\r\r\n+CLCC: 1,1,4,0,0,\"13800000002\",129\r\r\n\
                  \r\r\nMISSED_CALL: 11:01AM 13800000002\r\r\n\r\r\n+CLCC: 1,1,6,0,0,\"13800000002\",129\r\r\n",
                vec![
                    CallSignal::Ringing,
                    line(1, CallState::Incoming, Some("13800000002")),
                    CallSignal::Ended {
                        number: Some("13800000002".into()),
                    },
                    line(1, CallState::Released, Some("13800000002")),
                ],
            ),
            (
                "SIM7600 end of an answered call",
                b"\r\nVOICE CALL: END: 000041\r\n",
                vec![ended.clone()],
            ),
            (
                "Quectel ccinfo",
                b"\r\n+QIND: \"ccinfo\",1,1,4,0,0,\"13800000003\",129\r\n\
                  \r\n+QIND: \"ccinfo\",1,1,-1,0,0,\"13800000003\",129\r\n",
                vec![
                    line(1, CallState::Incoming, Some("13800000003")),
                    line(1, CallState::Released, Some("13800000003")),
                ],
            ),
            (
                "Huawei/Quectel ^DSCI and ^CEND",
                b"\r\n^DSCI: 2,1,4,0,+48600000000,145\r\n\r\n^CEND:1,0,104,16\r\n",
                vec![line(2, CallState::Incoming, Some("+48600000000")), ended],
            ),
            (
                "not calls",
                b"\r\n+CRING: REL ASYNC\r\n\r\n+QIND: \"csq\",20,99\r\n\r\nVOICE CALL: BEGIN\r\n",
                vec![],
            ),
        ];
        for (what, bytes, want) in cases {
            assert_eq!(&signals(bytes), want, "{what}");
        }
    }

    #[test]
    fn call_list_lines() {
        assert_eq!(
            clcc_line("+CLCC: 1,1,4,0,0,\"+8613800000001\",145"),
            Some(CallLine {
                id: 1,
                incoming: true,
                state: CallState::Incoming,
                number: Some("+8613800000001".into())
            })
        );
        assert_eq!(
            clcc_line("+CLCC: 2,0,3,0,0,\"10086\",129").map(|l| (l.incoming, l.state)),
            Some((false, CallState::Alerting))
        );
        // Withheld: no number, or an empty one.
        assert_eq!(
            clcc_line("+CLCC: 1,1,4,0,0,\"\",128").and_then(|l| l.number),
            None
        );
        assert_eq!(clcc_line("+CLCC: 1,1,0,0,0").and_then(|l| l.number), None);
        assert!(CallState::Waiting.is_ringing() && !CallState::Active.is_ringing());
        for junk in [
            "+CLCC: ",
            "+CLCC: x,1,4,0,0",
            "+CLCC: 1,1,9,0,0",
            "OK",
            "+CSQ: 1,1,4",
        ] {
            assert_eq!(clcc_line(junk), None, "{junk}");
        }
    }

    proptest::proptest! {
        /// Whatever a modem prints, reading it never panics.
        #[test]
        fn any_line_is_safe(s in "\\PC{0,80}") {
            let _ = clcc_line(&s);
            let _ = signal(&Urc::Vendor(s.clone()));
            let _ = signal(&Urc::Cring(s));
        }
    }
}
