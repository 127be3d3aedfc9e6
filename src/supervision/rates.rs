//! The rates, pure over [`Fact`]s. Each is defined in README "Supervision" with its formula;
//! the definitions here are the ones the README quotes. `as_of` is the instant the figures are
//! taken at: an appeal whose deadline has not come yet and that was not answered yet is not
//! counted for or against anyone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::facts::{Fact, Resolved};
use crate::config::Weights;
use crate::directory::Directory;

/// Counts and rates of one group of appeals (a cadre, a village, a town, everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub appeals: u64,
    pub red: u64,
    pub yellow: u64,
    pub green: u64,
    /// Appeals whose response counts: accepted, or past respond_by unaccepted.
    pub respond_due: u64,
    /// Of those, accepted at or before respond_by.
    pub responded_on_time: u64,
    /// responded_on_time / respond_due.
    pub response_rate: Option<f64>,
    /// Appeals whose resolution counts: resolved, or past resolve_by unresolved.
    pub resolve_due: u64,
    /// Of those, resolved at or before resolve_by.
    pub resolved_on_time: u64,
    /// resolved_on_time / resolve_due.
    pub resolution_rate: Option<f64>,
    /// resolve_due - resolved_on_time: late or still open past the limit.
    pub overdue: u64,
    /// Resolved at least once.
    pub resolved: u64,
    pub rated: u64,
    /// Rated 4 or 5 (满意), 3 (基本满意), 1 or 2 (不满意).
    pub satisfied: u64,
    pub basic: u64,
    pub unsatisfied: u64,
    /// satisfied / rated; basic_rate and unsatisfied_rate complete the three-level view.
    pub satisfaction_rate: Option<f64>,
    pub basic_rate: Option<f64>,
    pub unsatisfied_rate: Option<f64>,
    /// rated / resolved.
    pub rating_coverage: Option<f64>,
    /// Minutes from filing to the first answer (acceptance, or a resolution without one) over
    /// the answered appeals: mean and 90th percentile (nearest rank).
    pub accepted: u64,
    pub mean_response_mins: Option<f64>,
    pub p90_response_mins: Option<f64>,
    /// Reopened at least once (重办) / resolved.
    pub redone: u64,
    pub redo_rate: Option<f64>,
    /// Transferred at least once (转办/退回) / appeals.
    pub transferred: u64,
    pub transfer_rate: Option<f64>,
    /// Filed again by the same villager for the same village and category within the repeat
    /// window after an earlier one was resolved / appeals.
    pub repeats: u64,
    pub repeat_rate: Option<f64>,
    /// Weighted mean of response, resolution and satisfaction rates, 0-100; a rate with no
    /// appeals behind it is left out and the other weights carry the score.
    pub score: Option<f64>,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The figures of `facts` at `as_of` (ms).
pub fn compute(facts: &[&Fact], as_of: i64, weights: Weights) -> Rates {
    let mut r = Rates::default();
    let mut response_mins: Vec<f64> = Vec::new();
    for f in facts {
        r.appeals += 1;
        match f.colour {
            crate::grade::Colour::Red => r.red += 1,
            crate::grade::Colour::Yellow => r.yellow += 1,
            crate::grade::Colour::Green => r.green += 1,
        }
        // The limit in force is the latest; only what was done after it was set meets it.
        if let Some(by) = f.respond_by {
            match f.responded_at() {
                Some(at) => {
                    r.respond_due += 1;
                    if at <= by {
                        r.responded_on_time += 1;
                    }
                }
                None if by <= as_of => r.respond_due += 1,
                None => {}
            }
        }
        if let Some(by) = f.resolve_by {
            match f.resolved_now() {
                Some(at) => {
                    r.resolve_due += 1;
                    if at <= by {
                        r.resolved_on_time += 1;
                    }
                }
                None if by <= as_of => r.resolve_due += 1,
                None => {}
            }
        }
        if f.resolved_at.is_some() {
            r.resolved += 1;
        }
        if let Some(score) = f.rating {
            r.rated += 1;
            match score {
                4..=5 => r.satisfied += 1,
                3 => r.basic += 1,
                _ => r.unsatisfied += 1,
            }
        }
        if let Some(m) = f.response_mins() {
            r.accepted += 1;
            response_mins.push(m);
        }
        if f.reopens > 0 {
            r.redone += 1;
        }
        if f.transfers > 0 {
            r.transferred += 1;
        }
        if f.repeat {
            r.repeats += 1;
        }
    }
    r.overdue = r.resolve_due - r.resolved_on_time;
    r.response_rate = ratio(r.responded_on_time, r.respond_due);
    r.resolution_rate = ratio(r.resolved_on_time, r.resolve_due);
    r.satisfaction_rate = ratio(r.satisfied, r.rated);
    r.basic_rate = ratio(r.basic, r.rated);
    r.unsatisfied_rate = ratio(r.unsatisfied, r.rated);
    r.rating_coverage = ratio(r.rated, r.resolved);
    r.redo_rate = ratio(r.redone, r.resolved);
    r.transfer_rate = ratio(r.transferred, r.appeals);
    r.repeat_rate = ratio(r.repeats, r.appeals);
    if !response_mins.is_empty() {
        r.mean_response_mins = Some(response_mins.iter().sum::<f64>() / response_mins.len() as f64);
        response_mins.sort_by(f64::total_cmp);
        r.p90_response_mins = Some(nearest_rank(&response_mins, 0.9));
    }
    r.score = score(&r, weights);
    r
}

/// The p-th percentile of sorted, non-empty values by the nearest-rank method: the smallest
/// value with at least p of the values at or below it.
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// 100 × the weighted mean of the rates present.
pub fn score(r: &Rates, w: Weights) -> Option<f64> {
    let parts = [
        (r.response_rate, w.response),
        (r.resolution_rate, w.resolution),
        (r.satisfaction_rate, w.satisfaction),
    ];
    let (sum, weight) = parts
        .iter()
        .filter_map(|(rate, w)| rate.map(|v| (v * f64::from(*w), f64::from(*w))))
        .fold((0.0, 0.0), |(s, t), (v, w)| (s + v, t + w));
    (weight > 0.0).then(|| 100.0 * sum / weight)
}

/// Marks each fact filed within `days` after an earlier resolution of the same villager,
/// village and category (`earlier` may include the facts themselves).
pub fn mark_repeats(facts: &mut [Fact], earlier: &[Resolved], days: u32) {
    let window = i64::from(days) * 86_400_000;
    let by_phone = index_by_phone(earlier);
    for f in facts.iter_mut() {
        f.repeat = repeat_of(f, &by_phone, window).is_some();
    }
}

/// The earlier resolution `f` repeats, if any (the latest one).
pub fn repeat_of<'a>(f: &Fact, by_phone: &ByPhone<'a>, window_ms: i64) -> Option<&'a Resolved> {
    let phone = crate::phone::national(&f.phone);
    let list = &by_phone.0;
    let start = list.partition_point(|e| e.phone.as_str() < phone);
    list[start..]
        .iter()
        .take_while(|e| e.phone == phone)
        .filter(|e| {
            e.number != f.number
                && e.village == f.village
                && e.category == f.category
                && e.resolved_at < f.filed_at
                && f.filed_at - e.resolved_at <= window_ms
        })
        .max_by_key(|e| e.resolved_at)
        .copied()
}

/// Resolutions sorted by national phone, for [`repeat_of`]'s binary search: one vector, not
/// one per phone (a month of a million villagers).
pub struct ByPhone<'a>(Vec<&'a Resolved>);

pub fn index_by_phone(earlier: &[Resolved]) -> ByPhone<'_> {
    let mut list: Vec<&Resolved> = earlier.iter().collect();
    list.sort_unstable_by(|a, b| a.phone.cmp(&b.phone));
    ByPhone(list)
}

/// Which group a fact is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Cadre,
    Village,
    Town,
}

/// One row of a rates table: the group's key (phone, village code, town name; "" = none),
/// its display name and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub key: String,
    pub name: String,
    #[serde(flatten)]
    pub rates: Rates,
}

/// The group key of a fact: the cadre's phone, the village code or the town name ("" = none).
/// Borrowed, so grouping a million facts allocates per group, not per fact.
pub fn key_of<'a>(f: &'a Fact, by: By, dir: &'a Directory) -> &'a str {
    match by {
        By::Cadre => f.cadre.as_deref().unwrap_or(""),
        By::Village => f.village.as_deref().unwrap_or(""),
        By::Town => f
            .village
            .as_deref()
            .and_then(|v| dir.village(v))
            .map(|x| x.town.as_str())
            .unwrap_or(""),
    }
}

/// The display name of a group, from the directory, else what the fact recorded.
pub fn name_of(f: &Fact, by: By, key: &str, dir: &Directory) -> String {
    match (by, key) {
        (By::Cadre, "") => "未分派".into(),
        (By::Village, "") => "未知村".into(),
        (By::Town, "") => "未知镇".into(),
        (By::Cadre, p) => dir
            .cadre_by_phone(p)
            .map(|c| c.name.clone())
            .or_else(|| f.cadre_name.clone())
            .unwrap_or_else(|| p.to_string()),
        (By::Village, v) => dir
            .village(v)
            .map(|x| x.name.clone())
            .unwrap_or(v.to_string()),
        (By::Town, t) => t.to_string(),
    }
}

/// The rates of each group, ordered by key.
pub fn by_group(facts: &[Fact], by: By, dir: &Directory, as_of: i64, w: Weights) -> Vec<Row> {
    let mut groups: BTreeMap<&str, Vec<&Fact>> = BTreeMap::new();
    for f in facts {
        groups.entry(key_of(f, by, dir)).or_default().push(f);
    }
    groups
        .into_iter()
        .map(|(key, list)| Row {
            key: key.to_string(),
            name: name_of(list[0], by, key, dir),
            rates: compute(&list, as_of, w),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::Colour;

    pub const MIN: i64 = 60_000;
    pub const HOUR: i64 = 60 * MIN;

    /// A yellow appeal filed at 0 with a 60-minute response and 24-hour resolution limit.
    pub fn fact(number: &str) -> Fact {
        Fact {
            id: number.parse().unwrap_or(1),
            number: number.into(),
            phone: "13800000001".into(),
            village: Some("SH01".into()),
            category: "道路".into(),
            colour: Colour::Yellow,
            status: "open".into(),
            cadre: Some("13900000001".into()),
            cadre_name: Some("张三".into()),
            filed_at: 0,
            respond_by: Some(60 * MIN),
            resolve_by: Some(24 * HOUR),
            accepted_at: None,
            resolved_at: None,
            rating: None,
            transfers: 0,
            reopens: 0,
            last_transfer: None,
            last_reopen: None,
            repeat: false,
            events: Vec::new(),
        }
    }

    const W: Weights = Weights {
        response: 30,
        resolution: 35,
        satisfaction: 35,
    };

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn hand_computed_rates() {
        let mut f1 = fact("1");
        f1.accepted_at = Some(30 * MIN);
        f1.resolved_at = Some(2 * HOUR);
        f1.rating = Some(5);
        f1.status = "closed".into();
        let mut f2 = fact("2");
        f2.accepted_at = Some(90 * MIN);
        f2.resolved_at = Some(30 * HOUR);
        f2.rating = Some(3);
        f2.status = "closed".into();
        f2.colour = Colour::Red;
        let f3 = fact("3");
        let mut f4 = fact("4");
        f4.accepted_at = Some(10 * MIN);
        f4.resolved_at = Some(HOUR);
        f4.rating = Some(1);
        f4.status = "reopened".into();
        // Rated 1 at 2 h and reopened with new limits; not accepted again since.
        f4.last_reopen = Some(2 * HOUR);
        f4.respond_by = Some(4 * HOUR);
        f4.resolve_by = Some(72 * HOUR);
        f4.reopens = 1;
        f4.transfers = 1;
        f4.colour = Colour::Green;
        let all = [&f1, &f2, &f3, &f4];
        let r = compute(&all, 48 * HOUR, W);
        assert_eq!((r.appeals, r.red, r.yellow, r.green), (4, 1, 2, 1));
        // f4's acceptance predates its reopening: its new response limit passed unmet.
        assert_eq!((r.respond_due, r.responded_on_time), (4, 1));
        assert!(close(r.response_rate, 0.25));
        // f4 is reopened with its new limit still ahead: not counted.
        assert_eq!((r.resolve_due, r.resolved_on_time, r.overdue), (3, 1, 2));
        assert!(close(r.resolution_rate, 1.0 / 3.0));
        assert_eq!((r.resolved, r.rated), (3, 3));
        assert_eq!((r.satisfied, r.basic, r.unsatisfied), (1, 1, 1));
        assert!(close(r.satisfaction_rate, 1.0 / 3.0));
        assert!(close(r.basic_rate, 1.0 / 3.0));
        assert!(close(r.unsatisfied_rate, 1.0 / 3.0));
        assert!(close(r.rating_coverage, 1.0));
        assert_eq!(r.accepted, 3);
        assert!(close(r.mean_response_mins, 130.0 / 3.0));
        assert!(close(r.p90_response_mins, 90.0));
        assert!(close(r.redo_rate, 1.0 / 3.0));
        assert!(close(r.transfer_rate, 0.25));
        assert!(close(r.repeat_rate, 0.0));
        // (0.25×30 + ⅓×35 + ⅓×35) / 100 × 100
        assert!(close(r.score, 7.5 + 70.0 / 3.0));

        // Early on (as_of 30 min) nothing is due yet except what was done.
        let r = compute(&all, 30 * MIN, W);
        assert_eq!((r.respond_due, r.responded_on_time), (2, 1));
        assert_eq!(
            r.resolve_due, 2,
            "resolved ones count whenever they were resolved"
        );

        // A transfer sets a new response limit: the old acceptance does not meet it, and the
        // resolution (an answer too) came after it.
        let mut t = f1.clone();
        t.last_transfer = Some(40 * MIN);
        t.respond_by = Some(100 * MIN);
        let r = compute(&[&t], 48 * HOUR, W);
        assert_eq!((r.respond_due, r.responded_on_time), (1, 0));
        assert_eq!(
            (r.resolve_due, r.resolved_on_time),
            (1, 1),
            "the resolution still counts"
        );
    }

    #[test]
    fn empty_groups_have_no_rates_and_score_uses_what_is_there() {
        let r = compute(&[], 0, W);
        assert_eq!(r.appeals, 0);
        assert!(r.response_rate.is_none() && r.score.is_none() && r.p90_response_mins.is_none());
        let mut f = fact("1");
        f.accepted_at = Some(10 * MIN);
        let r = compute(&[&f], MIN, W);
        // Only the response rate exists: the score is it alone.
        assert!(close(r.score, 100.0));
    }

    #[test]
    fn nearest_rank_percentile() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.9), 9.0);
        assert_eq!(nearest_rank(&v[..1], 0.9), 1.0);
        assert_eq!(nearest_rank(&v[..5], 0.9), 5.0);
    }

    #[test]
    fn repeats_need_same_phone_village_category_within_the_window() {
        let earlier = vec![Resolved {
            number: "0".into(),
            phone: "13800000001".into(),
            village: Some("SH01".into()),
            category: "道路".into(),
            resolved_at: -5 * 24 * HOUR,
        }];
        let mut same = fact("1");
        let mut other_cat = fact("2");
        other_cat.category = "水电".into();
        let mut later = fact("3");
        later.filed_at = 40 * 24 * HOUR;
        let mut list = vec![same.clone(), other_cat, later];
        mark_repeats(&mut list, &earlier, 30);
        assert_eq!(
            list.iter().map(|f| f.repeat).collect::<Vec<_>>(),
            [true, false, false]
        );
        same.phone = "+8613800000001".into();
        let mut list = vec![same];
        mark_repeats(&mut list, &earlier, 30);
        assert!(list[0].repeat, "phone compared in national form");
    }
}
