//! Quiet hours: the nightly window ("22:00-07:00") in which the gateway holds texts that can
//! wait. Pure; the one home of the window arithmetic that the workflow, the outbox and the
//! scheduler all need.

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// (start, end) in local wall-clock time. Start is inside, end is not; the window may wrap
/// midnight; start == end means there are no quiet hours.
pub type Window = (NaiveTime, NaiveTime);

/// Whether the local time `t` falls in the window.
pub fn contains((start, end): Window, t: NaiveTime) -> bool {
    if start <= end {
        start <= t && t < end
    } else {
        t >= start || t < end
    }
}

/// The first instant at or after `now` outside the quiet window (start inclusive, end
/// exclusive, may wrap midnight; start == end means no quiet hours).
pub fn end_after(
    now: DateTime<Utc>,
    tz: Tz,
    (start, end): (NaiveTime, NaiveTime),
) -> DateTime<Utc> {
    let local = now.with_timezone(&tz);
    let t = local.time();
    if !contains((start, end), t) {
        return now;
    }
    let mut day = local.date_naive();
    if start > end && t >= start {
        day = day.succ_opt().unwrap_or(day);
    }
    // China keeps no daylight saving, so the local end time exists exactly once.
    tz.from_local_datetime(&day.and_time(end))
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now)
}

/// How long the quiet hours last, in milliseconds (0 when there are none).
pub fn length_ms((start, end): Window) -> i64 {
    let d = (end - start).num_milliseconds();
    if d < 0 {
        d + 24 * 3_600_000
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn local(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Shanghai
            .with_ymd_and_hms(2022, 7, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_hold_until_morning() {
        let q = (hm(22, 0), hm(7, 0));
        for (now, expect) in [
            (local(13, 21, 59), local(13, 21, 59)),
            (local(13, 22, 0), local(14, 7, 0)),
            (local(13, 23, 30), local(14, 7, 0)),
            (local(14, 3, 0), local(14, 7, 0)),
            (local(14, 7, 0), local(14, 7, 0)),
            (local(14, 12, 0), local(14, 12, 0)),
        ] {
            assert_eq!(end_after(now, Shanghai, q), expect, "{now}");
        }
        // Non-wrapping window and none at all.
        assert_eq!(
            end_after(local(13, 13, 0), Shanghai, (hm(12, 0), hm(14, 0))),
            local(13, 14, 0)
        );
        assert_eq!(
            end_after(local(13, 23, 0), Shanghai, (hm(0, 0), hm(0, 0))),
            local(13, 23, 0)
        );
    }

    #[test]
    fn window_edges_and_length() {
        let q = (hm(22, 0), hm(7, 0));
        assert!(contains(q, hm(22, 0)));
        assert!(contains(q, hm(6, 59)));
        assert!(!contains(q, hm(7, 0)));
        assert!(!contains((hm(0, 0), hm(0, 0)), hm(12, 0)));
        const MIN: i64 = 60_000;
        assert_eq!(length_ms(q), 9 * 60 * MIN);
        assert_eq!(length_ms((hm(0, 0), hm(0, 0))), 0);
        assert_eq!(length_ms((hm(12, 0), hm(14, 0))), 120 * MIN);
    }
}
