//! Early warnings: patterns in the record that the discipline commission wants to see before
//! the month is out (a cadre who is slack, or who abuses a small power). Pure: [`scan`] looks
//! at facts (with their events) and returns findings, each keyed so that recording it twice is
//! a no-op, each carrying its evidence (the appeal numbers and event ids). Thresholds are the
//! `[supervision]` keys; README "Supervision" lists the rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::facts::{Fact, Resolved};
use super::period::Period;
use super::rates::{index_by_phone, repeat_of};
use crate::config::WarningThresholds;
use crate::phone::national;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Resolved within quick_resolve_mins, then rated 1-2: closed to get it off the books.
    QuickThenLow,
    /// A cadre's overdue share of the last 7 days' due appeals above overdue_rate_percent.
    OverdueRate,
    /// Resolved with no reply or note recorded and a resolution text that says nothing.
    BareResolution,
    /// Handed back to a cadre who had passed it on (A -> B -> A).
    PingPong,
    /// Rated from a cadre's own phone.
    SelfRating,
    /// The same villager, village and category again soon after a resolution.
    RepeatAfterResolve,
    /// A village's appeals fell sharply week on week (appeals suppressed?).
    VolumeDrop,
    /// One cadre resolving many appeals in one night.
    NightClosures,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::QuickThenLow,
        Rule::OverdueRate,
        Rule::BareResolution,
        Rule::PingPong,
        Rule::SelfRating,
        Rule::RepeatAfterResolve,
        Rule::VolumeDrop,
        Rule::NightClosures,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::QuickThenLow => "quick_then_low",
            Rule::OverdueRate => "overdue_rate",
            Rule::BareResolution => "bare_resolution",
            Rule::PingPong => "ping_pong",
            Rule::SelfRating => "self_rating",
            Rule::RepeatAfterResolve => "repeat_after_resolve",
            Rule::VolumeDrop => "volume_drop",
            Rule::NightClosures => "night_closures",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Rule::QuickThenLow => "速办差评",
            Rule::OverdueRate => "超时率高",
            Rule::BareResolution => "办结无答复",
            Rule::PingPong => "来回转办",
            Rule::SelfRating => "干部自评",
            Rule::RepeatAfterResolve => "办结后重复诉求",
            Rule::VolumeDrop => "诉求量骤降",
            Rule::NightClosures => "深夜集中办结",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            Rule::QuickThenLow => "resolved fast, rated low",
            Rule::OverdueRate => "high overdue rate",
            Rule::BareResolution => "resolved with no reply",
            Rule::PingPong => "transfer ping-pong",
            Rule::SelfRating => "cadre rated own appeal",
            Rule::RepeatAfterResolve => "repeat after resolution",
            Rule::VolumeDrop => "village volume dropped",
            Rule::NightClosures => "mass closures at night",
        }
    }
}

/// One warning, before it is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    /// Unique per occurrence: a second scan finding the same thing records nothing.
    pub key: String,
    /// The cadre concerned (national phone) and the village, where there is one.
    pub cadre: Option<String>,
    pub village: Option<String>,
    /// Evidence: the appeals and the events behind the finding.
    pub appeals: Vec<String>,
    pub events: Vec<i64>,
    /// One line in Chinese for the page and the inspector's SMS.
    pub detail: String,
}

/// What a scan looks at.
pub struct Scan<'a> {
    /// Recently changed or filed appeals, with their events.
    pub facts: &'a [Fact],
    /// Resolutions within the repeat window before the facts.
    pub earlier: &'a [Resolved],
    /// Appeals per village in the last complete week and the week before it.
    pub week: Period,
    pub this_week: &'a HashMap<String, u64>,
    pub week_before: &'a HashMap<String, u64>,
    /// Every cadre's phone (national form).
    pub cadre_phones: &'a HashSet<String>,
    pub thresholds: WarningThresholds,
    pub min_appeals: u32,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

/// Every finding of `s`, in rule order then key order.
pub fn scan(s: &Scan<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in s.facts {
        out.extend(quick_then_low(f, s.thresholds));
        out.extend(bare_resolution(f, s.thresholds));
        out.extend(ping_pong(f));
        out.extend(self_rating(f, s.cadre_phones));
    }
    out.extend(overdue_rate(s));
    out.extend(repeats(s));
    out.extend(volume_drop(s));
    out.extend(night_closures(s));
    out.sort_by(|a, b| (a.rule, &a.key).cmp(&(b.rule, &b.key)));
    out
}

fn event_ids<'a>(f: &'a Fact, kinds: &'a [&str]) -> impl Iterator<Item = i64> + 'a {
    f.events
        .iter()
        .filter(move |e| kinds.contains(&e.kind.as_str()))
        .map(|e| e.id)
}

/// The first resolution's time: from its event where loaded, else the row.
fn first_resolved(f: &Fact) -> Option<i64> {
    f.events
        .iter()
        .find(|e| e.kind == "resolved")
        .map(|e| e.at)
        .or(f.resolved_at)
}

fn quick_then_low(f: &Fact, th: WarningThresholds) -> Option<Finding> {
    let score = f.rating.filter(|r| *r <= 2)?;
    let took = first_resolved(f)? - f.filed_at;
    if took > i64::from(th.quick_resolve_mins) * 60_000 {
        return None;
    }
    Some(Finding {
        rule: Rule::QuickThenLow,
        key: format!("quick_then_low:{}", f.number),
        cadre: f.cadre.clone(),
        village: f.village.clone(),
        appeals: vec![f.number.clone()],
        events: event_ids(f, &["resolved", "rated"]).collect(),
        detail: format!(
            "诉求{}登记后{}分钟即办结，群众评价{}分",
            f.number,
            took.max(0) / 60_000,
            score
        ),
    })
}

fn bare_resolution(f: &Fact, th: WarningThresholds) -> Option<Finding> {
    let resolved = f.events.iter().find(|e| e.kind == "resolved")?;
    let said = f
        .events
        .iter()
        .take_while(|e| e.id != resolved.id)
        .any(|e| e.kind == "reply" || e.kind == "note");
    let chars = resolved.text.trim().chars().count();
    if said || chars >= th.bare_resolution_chars as usize {
        return None;
    }
    Some(Finding {
        rule: Rule::BareResolution,
        key: format!("bare_resolution:{}", f.number),
        cadre: f.cadre.clone(),
        village: f.village.clone(),
        appeals: vec![f.number.clone()],
        events: vec![resolved.id],
        detail: format!(
            "诉求{}办结前无答复或记录，办结说明仅“{}”",
            f.number,
            resolved.text.trim()
        ),
    })
}

/// The handlers in order: who made the first transfer, then each transfer's target, read from
/// the transfer events ("{who}转办给{target}", written by the state machine).
fn handlers(f: &Fact) -> Vec<(&str, i64)> {
    let mut seq: Vec<(&str, i64)> = Vec::new();
    for e in f.events.iter().filter(|e| e.kind == "transferred") {
        let Some((from, to)) = e.text.split_once("转办给") else {
            continue;
        };
        if seq.is_empty() {
            seq.push((from.trim(), e.id));
        }
        seq.push((to.trim(), e.id));
    }
    seq
}

fn ping_pong(f: &Fact) -> Option<Finding> {
    let seq = handlers(f);
    let w = seq
        .windows(3)
        .find(|w| w[0].0 == w[2].0 && w[0].0 != w[1].0)?;
    Some(Finding {
        rule: Rule::PingPong,
        key: format!("ping_pong:{}", f.number),
        cadre: f.cadre.clone(),
        village: f.village.clone(),
        appeals: vec![f.number.clone()],
        events: vec![w[1].1, w[2].1],
        detail: format!("诉求{}在{}与{}之间来回转办", f.number, w[0].0, w[1].0),
    })
}

fn self_rating(f: &Fact, cadres: &HashSet<String>) -> Option<Finding> {
    let score = f.rating?;
    let phone = national(&f.phone);
    if !cadres.contains(phone) {
        return None;
    }
    Some(Finding {
        rule: Rule::SelfRating,
        key: format!("self_rating:{}", f.number),
        cadre: Some(phone.to_string()),
        village: f.village.clone(),
        appeals: vec![f.number.clone()],
        events: event_ids(f, &["rated"]).collect(),
        detail: format!("诉求{}由干部本人手机评价{}分", f.number, score),
    })
}

/// Missed either time limit (late, or unanswered past it) at `now`.
fn missed(f: &Fact, now: i64) -> Option<bool> {
    let check = |by: Option<i64>, done: Option<i64>| -> Option<bool> {
        let by = by?;
        match done {
            Some(at) => Some(at > by),
            None if by <= now => Some(true),
            None => None,
        }
    };
    let respond = check(f.respond_by, f.responded_at());
    let resolve = check(f.resolve_by, f.resolved_now());
    match (respond, resolve) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
    }
}

fn overdue_rate(s: &Scan<'_>) -> Vec<Finding> {
    let now = s.now.timestamp_millis();
    let since = now - 7 * 86_400_000;
    let mut by_cadre: BTreeMap<&str, (u32, Vec<&str>)> = BTreeMap::new();
    for f in s.facts.iter().filter(|f| f.filed_at >= since) {
        let (Some(cadre), Some(late)) = (f.cadre.as_deref(), missed(f, now)) else {
            continue;
        };
        let e = by_cadre.entry(cadre).or_default();
        e.0 += 1;
        if late {
            e.1.push(&f.number);
        }
    }
    let week = Period::week_of(s.now.with_timezone(&s.tz).date_naive()).key();
    by_cadre
        .into_iter()
        .filter(|(_, (due, late))| {
            *due >= s.min_appeals
                && late.len() as u64 * 100
                    > u64::from(*due) * u64::from(s.thresholds.overdue_rate_percent)
        })
        .map(|(cadre, (due, late))| Finding {
            rule: Rule::OverdueRate,
            key: format!("overdue_rate:{cadre}:{week}"),
            cadre: Some(cadre.to_string()),
            village: None,
            detail: format!(
                "近7天到期诉求{}件中超时{}件（{}%），超过{}%",
                due,
                late.len(),
                late.len() as u64 * 100 / u64::from(due),
                s.thresholds.overdue_rate_percent
            ),
            appeals: late.into_iter().map(str::to_string).collect(),
            events: Vec::new(),
        })
        .collect()
}

fn repeats(s: &Scan<'_>) -> Vec<Finding> {
    let window = i64::from(s.thresholds.repeat_days) * 86_400_000;
    let by_phone = index_by_phone(s.earlier);
    s.facts
        .iter()
        .filter_map(|f| {
            let e = repeat_of(f, &by_phone, window)?;
            Some(Finding {
                rule: Rule::RepeatAfterResolve,
                key: format!("repeat_after_resolve:{}", f.number),
                cadre: f.cadre.clone(),
                village: f.village.clone(),
                appeals: vec![e.number.clone(), f.number.clone()],
                events: Vec::new(),
                detail: format!(
                    "同一群众就“{}”再次诉求{}，距上次诉求{}办结{}天",
                    f.category,
                    f.number,
                    e.number,
                    (f.filed_at - e.resolved_at) / 86_400_000
                ),
            })
        })
        .collect()
}

fn volume_drop(s: &Scan<'_>) -> Vec<Finding> {
    let th = s.thresholds;
    let mut out = Vec::new();
    let mut villages: Vec<(&String, &u64)> = s.week_before.iter().collect();
    villages.sort();
    for (village, &before) in villages {
        if village.is_empty() || before < u64::from(th.volume_drop_min) {
            continue;
        }
        let now = s.this_week.get(village).copied().unwrap_or(0);
        // now < before × (1 - p/100), in integers.
        if now * 100 < before * u64::from(100 - th.volume_drop_percent.min(100)) {
            out.push(Finding {
                rule: Rule::VolumeDrop,
                key: format!("volume_drop:{village}:{}", s.week.key()),
                cadre: None,
                village: Some(village.clone()),
                appeals: Vec::new(),
                events: Vec::new(),
                detail: format!(
                    "本村{}诉求{}件，前一周{}件，下降{}%",
                    s.week.label(),
                    now,
                    before,
                    (before - now) * 100 / before
                ),
            });
        }
    }
    out
}

/// The phone in an actor label ("name/phone"), or the label.
fn actor_phone(actor: &str) -> &str {
    national(actor.rsplit('/').next().unwrap_or(actor))
}

fn night_closures(s: &Scan<'_>) -> Vec<Finding> {
    let th = s.thresholds;
    let (start, end) = th.night_hours;
    let mut nights: BTreeMap<(String, chrono::NaiveDate), Vec<(&str, i64)>> = BTreeMap::new();
    for f in s.facts {
        for e in f.events.iter().filter(|e| e.kind == "resolved") {
            let local = crate::store::from_millis(e.at).with_timezone(&s.tz);
            if !crate::quiet::contains((start, end), local.time()) {
                continue;
            }
            // A night belongs to the evening it began on.
            let date = if start > end && local.time() < end {
                local.date_naive() - Duration::days(1)
            } else {
                local.date_naive()
            };
            nights
                .entry((actor_phone(&e.actor).to_string(), date))
                .or_default()
                .push((&f.number, e.id));
        }
    }
    nights
        .into_iter()
        .filter(|(_, list)| list.len() >= th.night_closures as usize)
        .map(|((who, date), list)| Finding {
            rule: Rule::NightClosures,
            key: format!("night_closures:{who}:{date}"),
            cadre: Some(who.clone()),
            village: None,
            detail: format!("{date}夜间集中办结{}件诉求", list.len()),
            appeals: list.iter().map(|(n, _)| n.to_string()).collect(),
            events: list.iter().map(|(_, id)| *id).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervision::facts::Ev;
    use crate::supervision::rates::tests::{fact, HOUR, MIN};

    fn ev(id: i64, at: i64, kind: &str, actor: &str, text: &str) -> Ev {
        Ev {
            id,
            at,
            kind: kind.into(),
            actor: actor.into(),
            text: text.into(),
        }
    }

    fn th() -> WarningThresholds {
        crate::config::SupervisionConfig::default().thresholds
    }

    struct World {
        facts: Vec<Fact>,
        earlier: Vec<Resolved>,
        this_week: HashMap<String, u64>,
        week_before: HashMap<String, u64>,
        cadres: HashSet<String>,
        now: i64,
    }

    impl World {
        fn new(facts: Vec<Fact>) -> World {
            World {
                facts,
                earlier: Vec::new(),
                this_week: HashMap::new(),
                week_before: HashMap::new(),
                cadres: ["13900000001".to_string()].into(),
                now: 2 * HOUR,
            }
        }

        fn rules(&self) -> Vec<(Rule, String)> {
            let now = crate::store::from_millis(self.now);
            let s = Scan {
                facts: &self.facts,
                earlier: &self.earlier,
                week: Period::week_of(now.date_naive()).prev(),
                this_week: &self.this_week,
                week_before: &self.week_before,
                cadre_phones: &self.cadres,
                thresholds: th(),
                min_appeals: 3,
                tz: chrono_tz::Asia::Shanghai,
                now,
            };
            scan(&s).into_iter().map(|f| (f.rule, f.key)).collect()
        }

        fn fires(&self, rule: Rule) -> bool {
            self.rules().iter().any(|(r, _)| *r == rule)
        }
    }

    /// Accepted at 10 min, resolved at `resolved` with a reply before it.
    fn resolved(number: &str, resolved: i64, text: &str) -> Fact {
        let mut f = fact(number);
        f.accepted_at = Some(10 * MIN);
        f.resolved_at = Some(resolved);
        f.status = "resolved".into();
        f.events = vec![
            ev(1, 0, "filed", "13800000001", "路灯坏了"),
            ev(2, 10 * MIN, "accepted", "张三/13900000001", "张三受理"),
            ev(3, 20 * MIN, "reply", "张三/13900000001", "明天来修"),
            ev(4, resolved, "resolved", "张三/13900000001", text),
        ];
        f
    }

    #[test]
    fn quick_then_low() {
        let mut f = resolved("1", 30 * MIN, "已修好路灯");
        f.rating = Some(2);
        assert!(World::new(vec![f.clone()]).fires(Rule::QuickThenLow));
        let mut slow = resolved("1", 3 * HOUR, "已修好路灯");
        slow.rating = Some(1);
        assert!(
            !World::new(vec![slow]).fires(Rule::QuickThenLow),
            "not quick"
        );
        f.rating = Some(3);
        assert!(!World::new(vec![f]).fires(Rule::QuickThenLow), "not low");
    }

    #[test]
    fn bare_resolution() {
        let mut f = resolved("1", HOUR, "已办");
        f.events.retain(|e| e.kind != "reply");
        assert!(World::new(vec![f.clone()]).fires(Rule::BareResolution));
        // A reply before, or a resolution that says something, is not bare.
        assert!(!World::new(vec![resolved("1", HOUR, "已办")]).fires(Rule::BareResolution));
        let mut said = resolved("1", HOUR, "路灯已换新");
        said.events.retain(|e| e.kind != "reply");
        assert!(!World::new(vec![said]).fires(Rule::BareResolution));
    }

    #[test]
    fn ping_pong() {
        let mut f = fact("1");
        f.events = vec![
            ev(5, MIN, "transferred", "张三/13900000001", "张三转办给李四"),
            ev(
                6,
                2 * MIN,
                "transferred",
                "李四/13900000002",
                "李四转办给张三",
            ),
        ];
        assert_eq!(
            World::new(vec![f.clone()]).rules(),
            [(Rule::PingPong, "ping_pong:1".to_string())]
        );
        f.events[1].text = "李四转办给王五".into();
        assert!(
            !World::new(vec![f]).fires(Rule::PingPong),
            "A -> B -> C is a chain"
        );
    }

    #[test]
    fn self_rating() {
        let mut f = resolved("1", 3 * HOUR, "已修好路灯");
        f.rating = Some(5);
        f.phone = "+8613900000001".into();
        assert!(World::new(vec![f.clone()]).fires(Rule::SelfRating));
        f.phone = "13800000001".into();
        assert!(!World::new(vec![f]).fires(Rule::SelfRating));
    }

    #[test]
    fn overdue_rate() {
        // Three appeals due by now (respond_by 60 min); two missed it.
        let mut on_time = fact("1");
        on_time.accepted_at = Some(10 * MIN);
        let late = fact("2");
        let mut late2 = fact("3");
        late2.accepted_at = Some(70 * MIN);
        let w = World::new(vec![on_time.clone(), late.clone(), late2]);
        assert!(w.fires(Rule::OverdueRate), "{:?}", w.rules());
        // One late of three is 33% > 30%; one late of four is 25%.
        let mut ok = on_time.clone();
        ok.id = 4;
        ok.number = "4".into();
        let mut ok2 = on_time.clone();
        ok2.id = 5;
        ok2.number = "5".into();
        let w = World::new(vec![on_time.clone(), ok, ok2, late.clone()]);
        assert!(!w.fires(Rule::OverdueRate));
        // Too few appeals to say.
        assert!(!World::new(vec![late]).fires(Rule::OverdueRate));
    }

    #[test]
    fn repeat_after_resolve() {
        let mut w = World::new(vec![fact("2")]);
        w.earlier = vec![Resolved {
            number: "1".into(),
            phone: "13800000001".into(),
            village: Some("SH01".into()),
            category: "道路".into(),
            resolved_at: -HOUR,
        }];
        assert!(w.fires(Rule::RepeatAfterResolve));
        w.earlier[0].category = "水电".into();
        assert!(!w.fires(Rule::RepeatAfterResolve));
    }

    #[test]
    fn volume_drop() {
        let mut w = World::new(Vec::new());
        w.week_before.insert("SH01".into(), 20);
        w.this_week.insert("SH01".into(), 9);
        assert!(w.fires(Rule::VolumeDrop));
        w.this_week.insert("SH01".into(), 10);
        assert!(!w.fires(Rule::VolumeDrop), "exactly half is not below half");
        w.week_before.insert("SH01".into(), 8);
        w.this_week.insert("SH01".into(), 0);
        assert!(
            !w.fires(Rule::VolumeDrop),
            "too small a week before to judge"
        );
    }

    #[test]
    fn night_closures() {
        // 23:30 local (Asia/Shanghai) on the night of 1970-01-01 is 15:30 UTC.
        let night = 15 * HOUR + 30 * MIN;
        let make = |n: usize, at: i64| {
            (0..n)
                .map(|i| {
                    let mut f = fact(&(i + 1).to_string());
                    f.accepted_at = Some(10 * MIN);
                    f.resolved_at = Some(at);
                    f.events = vec![ev(
                        i as i64 + 10,
                        at + i as i64 * MIN,
                        "resolved",
                        "张三/13900000001",
                        "已修好路灯",
                    )];
                    f
                })
                .collect::<Vec<_>>()
        };
        let w = World::new(make(5, night));
        assert_eq!(
            w.rules(),
            [(
                Rule::NightClosures,
                "night_closures:13900000001:1970-01-01".to_string()
            )]
        );
        assert!(
            !World::new(make(4, night)).fires(Rule::NightClosures),
            "four is not a mass"
        );
        // 10:00 local: daytime.
        assert!(!World::new(make(5, 2 * HOUR)).fires(Rule::NightClosures));
    }

    #[test]
    fn findings_carry_evidence() {
        let mut f = resolved("1", 30 * MIN, "已修好路灯");
        f.rating = Some(1);
        f.events
            .push(ev(9, 40 * MIN, "rated", "13800000001", "1 非常不满意"));
        let w = World::new(vec![f]);
        let now = crate::store::from_millis(w.now);
        let found = scan(&Scan {
            facts: &w.facts,
            earlier: &[],
            week: Period::week_of(now.date_naive()),
            this_week: &w.this_week,
            week_before: &w.week_before,
            cadre_phones: &w.cadres,
            thresholds: th(),
            min_appeals: 3,
            tz: chrono_tz::Asia::Shanghai,
            now,
        });
        let q = found.iter().find(|f| f.rule == Rule::QuickThenLow).unwrap();
        assert_eq!(q.appeals, ["1"]);
        assert_eq!(q.events, [4, 9]);
        assert!(q.detail.contains("30分钟"), "{}", q.detail);
    }
}
