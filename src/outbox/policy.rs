//! Sending policy, pure: what a failed send means for its row, which rows the per-recipient
//! cap and the quiet hours may hold, and how long a claim's lease lasts.
//!
//! The rules (README "The outbox"):
//! - Kinds to officials from the workflow (`alert`, `escalation`, `reminder`, `supervision`)
//!   are never held by the per-recipient cap: escalation must always reach the town office and
//!   the inspector, and the workflow itself bounds them (each deadline is recorded once).
//! - Quiet hours hold, for a retry or a deferral, exactly what `appeals::actions` holds when it
//!   queues: texts relayed to villagers (`accepted`, `decision`, `survey`) always, and texts to
//!   cadres (`alert`, `escalation`, `reminder`, `supervision`) unless their appeal is red.
//!   Acknowledgements, direct answers (`reply`, `refused`), API texts and every red text are
//!   never held.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::at::{CmsError, ErrorClass};
use crate::modem::{ModemStatus, SendError};

/// Kinds the workflow sends to officials (cadres, the town office, the inspector).
const OFFICIAL_KINDS: &[&str] = &["alert", "escalation", "reminder", "supervision"];
/// Kinds relayed to villagers that the workflow holds in the quiet hours.
const VILLAGER_HELD_KINDS: &[&str] = &["accepted", "decision", "survey"];

/// Whether the per-recipient cap may hold a row of this kind.
pub fn capped(kind: &str) -> bool {
    !OFFICIAL_KINDS.contains(&kind)
}

/// Whether a retry or deferral of this row must stay out of the quiet hours.
pub fn held_in_quiet_hours(kind: &str, red: bool) -> bool {
    VILLAGER_HELD_KINDS.contains(&kind) || (OFFICIAL_KINDS.contains(&kind) && !red)
}

/// When a retry or deferral planned for `at` may go: `at`, or for a held kind the end of the
/// quiet hours `at` falls in.
pub fn next_attempt(
    kind: &str,
    red: bool,
    at: DateTime<Utc>,
    tz: Tz,
    quiet: (NaiveTime, NaiveTime),
) -> DateTime<Utc> {
    if held_in_quiet_hours(kind, red) {
        crate::appeals::actions::after_quiet(at, tz, quiet)
    } else {
        at
    }
}

/// What a failed send means for its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The modem cannot send at all now (no SIM, PIN, no SMSC, no network, port down): the row
    /// goes back unchanged, the attempt is not counted, and the sender waits for the modem.
    WaitForModem,
    /// This message may go later: back off, counting the attempt.
    Retry,
    /// Retrying fails again: the row fails with the reason.
    Fail,
}

pub fn disposition(e: &SendError) -> Disposition {
    match e {
        SendError::NotReady => Disposition::WaitForModem,
        SendError::Cms(code) => {
            let cms = CmsError::from_code(*code);
            // 331 is "transient" for the command, but it says the modem is off the network:
            // no message can go until it registers again, so no message should pay for it.
            if cms == CmsError::NoNetworkService {
                return Disposition::WaitForModem;
            }
            match cms.class() {
                ErrorClass::NeedsOperator => Disposition::WaitForModem,
                ErrorClass::Transient => Disposition::Retry,
                ErrorClass::Permanent => Disposition::Fail,
            }
        }
        // A fault of the link (timeout, closed port) the modem task reports as text.
        SendError::Failed(_) => Disposition::Retry,
    }
}

/// Ready, the SIM unlocked in this session (a rebooted modem asks again) and, as far as the
/// modem has told, registered. No registration report yet counts as registered: some modems
/// never answer +CREG, and the send itself then says 331.
pub fn can_send(s: &ModemStatus) -> bool {
    s.is_ready()
        && s.sim_ready
        && match s.registration.as_deref() {
            None => true,
            Some(r) => r == "home" || r == "roaming",
        }
}

/// How long a claim lasts without renewal. The sender renews every third of it while the
/// modem works on the row, so only a claimer that is gone (crash, lost host) lets it expire:
/// twice the longest command timeout plus a margin for a slow database.
pub fn lease(max_command_timeout: Duration) -> Duration {
    max_command_timeout.saturating_mul(2) + Duration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Asia::Shanghai;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn needs_operator_and_no_network_wait_for_the_modem() {
        for code in [310, 311, 313, 330, 331] {
            assert_eq!(
                disposition(&SendError::Cms(code)),
                Disposition::WaitForModem,
                "{code}"
            );
        }
        assert_eq!(disposition(&SendError::NotReady), Disposition::WaitForModem);
        assert_eq!(disposition(&SendError::Cms(332)), Disposition::Retry);
        assert_eq!(disposition(&SendError::Cms(500)), Disposition::Retry);
        assert_eq!(disposition(&SendError::Cms(304)), Disposition::Fail);
        assert_eq!(
            disposition(&SendError::Failed("timeout".into())),
            Disposition::Retry
        );
    }

    #[test]
    fn only_workflow_texts_to_officials_escape_the_cap() {
        for k in ["alert", "escalation", "reminder", "supervision"] {
            assert!(!capped(k), "{k}");
        }
        for k in ["ack", "reply", "refused", "api", "survey", "decision"] {
            assert!(capped(k), "{k}");
        }
    }

    #[test]
    fn quiet_hours_hold_what_the_workflow_holds() {
        let q = (hm(22, 0), hm(7, 0));
        let night = Shanghai
            .with_ymd_and_hms(2022, 7, 13, 23, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let morning = Shanghai
            .with_ymd_and_hms(2022, 7, 14, 7, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        for k in ["survey", "decision", "accepted"] {
            assert_eq!(next_attempt(k, true, night, Shanghai, q), morning, "{k}");
        }
        for k in ["alert", "escalation", "reminder", "supervision"] {
            assert_eq!(next_attempt(k, false, night, Shanghai, q), morning, "{k}");
            assert_eq!(next_attempt(k, true, night, Shanghai, q), night, "red {k}");
        }
        for k in ["ack", "reply", "refused", "api"] {
            assert_eq!(next_attempt(k, false, night, Shanghai, q), night, "{k}");
        }
        let noon = night + chrono::Duration::hours(12);
        assert_eq!(next_attempt("survey", false, noon, Shanghai, q), noon);
    }

    #[test]
    fn registration_gates_sending() {
        let mut s = ModemStatus {
            state: "ready".into(),
            sim_ready: true,
            ..Default::default()
        };
        assert!(can_send(&s));
        s.sim_ready = false;
        assert!(!can_send(&s), "a SIM that wants its PIN again");
        s.sim_ready = true;
        for (r, ok) in [
            ("home", true),
            ("roaming", true),
            ("searching", false),
            ("not registered", false),
            ("denied", false),
        ] {
            s.registration = Some(r.into());
            assert_eq!(can_send(&s), ok, "{r}");
        }
        s.registration = Some("home".into());
        s.state = "down".into();
        assert!(!can_send(&s));
    }

    #[test]
    fn lease_outlasts_two_command_timeouts() {
        assert_eq!(lease(Duration::from_secs(10)), Duration::from_secs(50));
    }
}
