//! Queue policy, pure: which rows the per-recipient cap and the quiet hours may hold, and how
//! long a claim's lease lasts. What a failed send means is the sender's (`sender::failure`).
//!
//! The rules (README "The outbox"):
//! - Kinds to officials from the workflow (`alert`, `escalation`, `reminder`, `supervision`)
//!   and from supervision (`digest`, `evaluation`, `warning`) are never held by the
//!   per-recipient cap: escalation must always reach the town office and the inspector, and
//!   the workflow itself bounds them (each deadline, week, month and finding is recorded once).
//! - Quiet hours hold, for a retry or a deferral, exactly what `appeals::actions` holds when it
//!   queues: texts relayed to villagers (`accepted`, `decision`, `survey`) and broadcasts
//!   (`broadcast`) always, and texts to
//!   cadres (`alert`, `escalation`, `reminder`, `supervision`) unless their appeal is red.
//!   Acknowledgements, direct answers (`reply`, `refused`), API texts and every red text are
//!   never held.
//! - Broadcasts are at most once (`at_most_once`); every other kind at least once.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

/// Kinds the workflow sends to officials (cadres, the town office, the inspector).
pub const OFFICIAL_KINDS: &[&str] = &[
    "alert",
    "escalation",
    "reminder",
    "supervision",
    "digest",
    "evaluation",
    "warning",
];
/// Kinds relayed to villagers that the workflow holds in the quiet hours.
const VILLAGER_HELD_KINDS: &[&str] = &["accepted", "decision", "survey", "broadcast"];

/// Whether the per-recipient cap may hold a row of this kind.
pub fn capped(kind: &str) -> bool {
    !OFFICIAL_KINDS.contains(&kind)
}

/// Whether a retry or deferral of this row must stay out of the quiet hours.
pub fn held_in_quiet_hours(kind: &str, red: bool) -> bool {
    VILLAGER_HELD_KINDS.contains(&kind) || (OFFICIAL_KINDS.contains(&kind) && !red)
}

/// Whether a row of this kind must never go twice, at the price of maybe not at all: the
/// sender commits that it hands the row to the modem before it does, and its result before the
/// next text; a row the daemon died holding is marked `unconfirmed` and not sent again
/// (`outbox::queue::release_stale`). Broadcasts: a duplicate texts hundreds of subscribers
/// twice (the issue forbids it), a lost one costs one villager a notice they can ask for with
/// `GK`, and the carrier's pace (`send_per_minute`) leaves ample time for two commits a text.
/// Every other kind is at least once, its results committed per batch: an acknowledgement or
/// an alert must arrive, and the batch buys the ack rate of a flood.
pub fn at_most_once(kind: &str) -> bool {
    kind == "broadcast"
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
        crate::quiet::end_after(at, tz, quiet)
    } else {
        at
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
    fn only_broadcasts_are_at_most_once() {
        assert!(at_most_once("broadcast"));
        for kind in [
            "ack", "reply", "accepted", "survey", "alert", "digest", "api",
        ] {
            assert!(!at_most_once(kind), "{kind}");
        }
    }

    #[test]
    fn lease_outlasts_two_command_timeouts() {
        assert_eq!(lease(Duration::from_secs(10)), Duration::from_secs(50));
    }
}
