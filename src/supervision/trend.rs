//! Figures over consecutive periods, for the supervision page's charts: weekly volume by
//! colour, weekly response time, monthly satisfaction. Pure: the same [`compute`] as the
//! rates table, over the facts filed in each period, so a chart and the table agree.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::facts::Fact;
use super::period::Period;
use super::rates::{compute, Rates};
use crate::config::Weights;

/// The `n` periods ending with `last`, oldest first.
pub fn ending(last: Period, n: usize) -> Vec<Period> {
    let mut list = Vec::with_capacity(n);
    let mut p = last;
    for _ in 0..n {
        list.push(p);
        p = p.prev();
    }
    list.reverse();
    list
}

/// The week and the month that contain `at` (local).
pub fn containing(at: DateTime<Utc>, tz: Tz) -> (Period, Period) {
    let d = at.with_timezone(&tz).date_naive();
    (Period::week_of(d), Period::month_of(d))
}

/// The rates of the facts filed in each period, judged at `as_of` (clamped to each period's
/// end, as the monthly evaluation judges a month).
pub fn per_period(
    facts: &[Fact],
    periods: &[Period],
    tz: Tz,
    as_of: i64,
    w: Weights,
) -> Vec<(Period, Rates)> {
    periods
        .iter()
        .map(|&p| {
            let (from, to) = p.bounds(tz);
            let mine: Vec<&Fact> = facts
                .iter()
                .filter(|f| f.filed_at >= from && f.filed_at < to)
                .collect();
            (p, compute(&mine, as_of.min(to), w))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervision::rates::tests::{fact, MIN};
    use chrono::TimeZone;

    const W: Weights = Weights {
        response: 30,
        resolution: 35,
        satisfaction: 35,
    };

    #[test]
    fn ending_counts_back_across_a_year() {
        let keys: Vec<String> = ending(Period::parse("2026-02").unwrap(), 3)
            .into_iter()
            .map(Period::key)
            .collect();
        assert_eq!(keys, ["2025-12", "2026-01", "2026-02"]);
        let weeks: Vec<String> = ending(Period::parse("2026-W01").unwrap(), 2)
            .into_iter()
            .map(Period::key)
            .collect();
        assert_eq!(weeks, ["2025-W52", "2026-W01"]);
    }

    #[test]
    fn each_fact_counts_in_the_week_it_was_filed() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // Sunday 2026-12-06 23:30 and Monday 2026-12-07 00:30 local: two ISO weeks.
        let sunday = tz.with_ymd_and_hms(2026, 12, 6, 23, 30, 0).unwrap();
        let monday = tz.with_ymd_and_hms(2026, 12, 7, 0, 30, 0).unwrap();
        let mut a = fact("1");
        a.filed_at = sunday.timestamp_millis();
        let mut b = fact("2");
        b.filed_at = monday.timestamp_millis();
        b.rating = Some(5);
        b.resolved_at = Some(b.filed_at + MIN);
        let (week, month) = containing(monday.with_timezone(&Utc), tz);
        assert_eq!(
            (week.key(), month.key()),
            ("2026-W50".into(), "2026-12".into())
        );
        let got = per_period(&[a, b], &ending(week, 2), tz, i64::MAX, W);
        assert_eq!(got[0].0.key(), "2026-W49");
        assert_eq!((got[0].1.appeals, got[1].1.appeals), (1, 1));
        assert_eq!(got[1].1.satisfaction_rate, Some(1.0));
        assert_eq!(got[0].1.satisfaction_rate, None);
    }
}
