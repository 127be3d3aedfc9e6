//! What a failed send means for its row, and whether a modem can send at all. Pure over the
//! modem task's status and errors.

use crate::at::{CmsError, ErrorClass};
use crate::modem::{ModemStatus, SendError};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
