//! Periods in the villages' local time: a month ("2026-11") or an ISO week ("2026-W49",
//! Monday to Monday). Pure: bounds in ms, parsing, labels and the scheduled instants.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Month { year: i32, month: u32 },
    Week { year: i32, week: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a period (write a month as 2026-11 or an ISO week as 2026-W49)")]
pub struct BadPeriod(pub String);

/// Local midnight at the start of `d`. A zone without that instant (a DST gap at midnight,
/// not in China) falls back to UTC midnight rather than failing.
fn local_midnight(tz: Tz, d: NaiveDate) -> i64 {
    let naive = d.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| naive.and_utc().timestamp_millis())
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, BadPeriod> {
        let t = s.trim();
        let bad = || BadPeriod(s.to_string());
        if let Some((y, w)) = t.split_once("-W").or_else(|| t.split_once("-w")) {
            let year: i32 = y.parse().map_err(|_| bad())?;
            let week: u32 = w.parse().map_err(|_| bad())?;
            NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
            return Ok(Period::Week { year, week });
        }
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        Ok(Period::Month { year, month })
    }

    /// The first local day of the period.
    pub fn first_day(self) -> NaiveDate {
        match self {
            // Both constructed through parse/containing, which checked the date exists.
            Period::Month { year, month } => {
                NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
            }
            Period::Week { year, week } => {
                NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).unwrap_or_default()
            }
        }
    }

    pub fn next(self) -> Period {
        match self {
            Period::Month { year, month: 12 } => Period::Month {
                year: year + 1,
                month: 1,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month + 1,
            },
            Period::Week { .. } => Period::week_of(self.first_day() + Duration::days(7)),
        }
    }

    pub fn prev(self) -> Period {
        match self {
            Period::Month { year, month: 1 } => Period::Month {
                year: year - 1,
                month: 12,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month - 1,
            },
            Period::Week { .. } => Period::week_of(self.first_day() - Duration::days(7)),
        }
    }

    pub fn week_of(d: NaiveDate) -> Period {
        let w = d.iso_week();
        Period::Week {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn month_of(d: NaiveDate) -> Period {
        Period::Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// [start, end) in ms.
    pub fn bounds(self, tz: Tz) -> (i64, i64) {
        (
            local_midnight(tz, self.first_day()),
            local_midnight(tz, self.next().first_day()),
        )
    }

    /// "2026-11" or "2026-W49": the period's key in snapshots, URLs and the CLI.
    pub fn key(self) -> String {
        match self {
            Period::Month { year, month } => format!("{year}-{month:02}"),
            Period::Week { year, week } => format!("{year}-W{week:02}"),
        }
    }

    /// "2026年11月" or "11/30-12/06".
    pub fn label(self) -> String {
        match self {
            Period::Month { year, month } => format!("{year}年{month}月"),
            Period::Week { .. } => {
                let a = self.first_day();
                let b = a + Duration::days(6);
                format!("{}/{:02}-{}/{:02}", a.month(), a.day(), b.month(), b.day())
            }
        }
    }
}

/// The latest instant at or before `now` that is `weekday` at `time` local: when the week's
/// digest became due. The digest covers the ISO week before that day.
pub fn last_weekly(now: DateTime<Utc>, tz: Tz, weekday: Weekday, time: NaiveTime) -> (i64, Period) {
    let today = now.with_timezone(&tz).date_naive();
    for back in 0..8 {
        let d = today - Duration::days(back);
        if d.weekday() != weekday {
            continue;
        }
        let at = local_midnight(tz, d) + i64::from(time.num_seconds_from_midnight()) * 1000;
        if at <= now.timestamp_millis() {
            return (at, Period::week_of(d - Duration::days(7)));
        }
    }
    // Unreachable: one of the last eight days is `weekday` and in the past.
    let d = today - Duration::days(7);
    (
        local_midnight(tz, d),
        Period::week_of(d - Duration::days(7)),
    )
}

/// The latest instant at or before `now` that is the 1st of a month at `time` local, and the
/// month before it (the one evaluated).
pub fn last_monthly(now: DateTime<Utc>, tz: Tz, time: NaiveTime) -> (i64, Period) {
    let today = now.with_timezone(&tz).date_naive();
    let this = Period::month_of(today);
    let at = |p: Period| {
        local_midnight(tz, p.first_day()) + i64::from(time.num_seconds_from_midnight()) * 1000
    };
    if at(this) <= now.timestamp_millis() {
        (at(this), this.prev())
    } else {
        (at(this.prev()), this.prev().prev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: Tz = chrono_tz::Asia::Shanghai;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parse_and_bounds() {
        let m = Period::parse("2026-11").unwrap();
        assert_eq!(m.key(), "2026-11");
        assert_eq!(m.label(), "2026年11月");
        let (a, b) = m.bounds(TZ);
        assert_eq!(a, utc("2026-10-31T16:00:00Z").timestamp_millis());
        assert_eq!(b, utc("2026-11-30T16:00:00Z").timestamp_millis());
        assert_eq!(Period::parse("2026-12").unwrap().next().key(), "2027-01");
        assert_eq!(Period::parse("2027-01").unwrap().prev().key(), "2026-12");
        let w = Period::parse("2026-W49").unwrap();
        assert_eq!(
            w.first_day(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(w.label(), "11/30-12/06");
        assert_eq!(w.next().key(), "2026-W50");
        assert_eq!(Period::parse("2027-W01").unwrap().prev().key(), "2026-W53");
        for bad in ["2026", "2026-13", "x-11", "2026-W60", ""] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scheduled_instants() {
        let t8 = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        // Monday 2026-12-07 07:59 local: the digest of this Monday is not due yet.
        let (at, p) = last_weekly(utc("2026-12-06T23:59:00Z"), TZ, Weekday::Mon, t8);
        assert_eq!(at, utc("2026-11-30T00:00:00Z").timestamp_millis());
        assert_eq!(p.key(), "2026-W48");
        let (at, p) = last_weekly(utc("2026-12-07T00:00:00Z"), TZ, Weekday::Mon, t8);
        assert_eq!(at, utc("2026-12-07T00:00:00Z").timestamp_millis());
        assert_eq!(p.key(), "2026-W49");
        // Thursday: still the Monday's.
        let (_, p) = last_weekly(utc("2026-12-10T05:00:00Z"), TZ, Weekday::Mon, t8);
        assert_eq!(p.key(), "2026-W49");
        let (at, p) = last_monthly(utc("2026-12-01T00:00:00Z"), TZ, t8);
        assert_eq!(at, utc("2026-12-01T00:00:00Z").timestamp_millis());
        assert_eq!(p.key(), "2026-11");
        let (_, p) = last_monthly(utc("2026-11-30T23:59:00Z"), TZ, t8);
        assert_eq!(p.key(), "2026-10");
    }
}
