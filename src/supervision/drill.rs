//! Drill-down: which appeals stand behind a figure of a rates table. Each [`Figure`] names a
//! count of [`Rates`](super::rates::Rates) and [`Figure::holds`] says whether one fact is
//! counted in it; a property test checks that the number of facts it selects is the count
//! [`compute`](super::rates::compute) reports, so the page's drill-down and its table can
//! never disagree. Pure.

use super::facts::Fact;

/// A count of the rates table that a reader can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Appeals,
    Red,
    Yellow,
    Green,
    RespondDue,
    RespondedOnTime,
    /// respond_due - responded_on_time: answered late or not at all past the limit.
    RespondedLate,
    ResolveDue,
    ResolvedOnTime,
    Overdue,
    Resolved,
    Rated,
    Satisfied,
    Basic,
    Unsatisfied,
    Accepted,
    Redone,
    Transferred,
    Repeats,
}

impl Figure {
    pub const ALL: [Figure; 19] = [
        Figure::Appeals,
        Figure::Red,
        Figure::Yellow,
        Figure::Green,
        Figure::RespondDue,
        Figure::RespondedOnTime,
        Figure::RespondedLate,
        Figure::ResolveDue,
        Figure::ResolvedOnTime,
        Figure::Overdue,
        Figure::Resolved,
        Figure::Rated,
        Figure::Satisfied,
        Figure::Basic,
        Figure::Unsatisfied,
        Figure::Accepted,
        Figure::Redone,
        Figure::Transferred,
        Figure::Repeats,
    ];

    /// The name in the API and in links: the field of `Rates` it counts.
    pub fn as_str(self) -> &'static str {
        match self {
            Figure::Appeals => "appeals",
            Figure::Red => "red",
            Figure::Yellow => "yellow",
            Figure::Green => "green",
            Figure::RespondDue => "respond_due",
            Figure::RespondedOnTime => "responded_on_time",
            Figure::RespondedLate => "responded_late",
            Figure::ResolveDue => "resolve_due",
            Figure::ResolvedOnTime => "resolved_on_time",
            Figure::Overdue => "overdue",
            Figure::Resolved => "resolved",
            Figure::Rated => "rated",
            Figure::Satisfied => "satisfied",
            Figure::Basic => "basic",
            Figure::Unsatisfied => "unsatisfied",
            Figure::Accepted => "accepted",
            Figure::Redone => "redone",
            Figure::Transferred => "transferred",
            Figure::Repeats => "repeats",
        }
    }

    pub fn parse(s: &str) -> Option<Figure> {
        Figure::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Figure::Appeals => "诉求",
            Figure::Red => "红色",
            Figure::Yellow => "黄色",
            Figure::Green => "绿色",
            Figure::RespondDue => "应响应",
            Figure::RespondedOnTime => "按时响应",
            Figure::RespondedLate => "未按时响应",
            Figure::ResolveDue => "应办结",
            Figure::ResolvedOnTime => "按时办结",
            Figure::Overdue => "超时",
            Figure::Resolved => "已办结",
            Figure::Rated => "已评价",
            Figure::Satisfied => "满意",
            Figure::Basic => "基本满意",
            Figure::Unsatisfied => "不满意",
            Figure::Accepted => "已响应",
            Figure::Redone => "重办",
            Figure::Transferred => "转办",
            Figure::Repeats => "重复诉求",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            Figure::Appeals => "appeals",
            Figure::Red => "red",
            Figure::Yellow => "yellow",
            Figure::Green => "green",
            Figure::RespondDue => "response due",
            Figure::RespondedOnTime => "answered on time",
            Figure::RespondedLate => "not answered on time",
            Figure::ResolveDue => "resolution due",
            Figure::ResolvedOnTime => "resolved on time",
            Figure::Overdue => "overdue",
            Figure::Resolved => "resolved",
            Figure::Rated => "rated",
            Figure::Satisfied => "satisfied",
            Figure::Basic => "basically satisfied",
            Figure::Unsatisfied => "unsatisfied",
            Figure::Accepted => "answered",
            Figure::Redone => "redone",
            Figure::Transferred => "transferred",
            Figure::Repeats => "repeats",
        }
    }

    /// Whether `f` is counted in this figure at `as_of` (ms), by the rules of
    /// [`compute`](super::rates::compute).
    pub fn holds(self, f: &Fact, as_of: i64) -> bool {
        use crate::grade::Colour;
        let respond_due = f
            .respond_by
            .is_some_and(|by| f.responded_at().is_some() || by <= as_of);
        let on_time = f
            .respond_by
            .zip(f.responded_at())
            .is_some_and(|(by, at)| at <= by);
        let resolve_due = f
            .resolve_by
            .is_some_and(|by| f.resolved_now().is_some() || by <= as_of);
        let resolved_on_time = f
            .resolve_by
            .zip(f.resolved_now())
            .is_some_and(|(by, at)| at <= by);
        match self {
            Figure::Appeals => true,
            Figure::Red => f.colour == Colour::Red,
            Figure::Yellow => f.colour == Colour::Yellow,
            Figure::Green => f.colour == Colour::Green,
            Figure::RespondDue => respond_due,
            Figure::RespondedOnTime => on_time,
            Figure::RespondedLate => respond_due && !on_time,
            Figure::ResolveDue => resolve_due,
            Figure::ResolvedOnTime => resolved_on_time,
            Figure::Overdue => resolve_due && !resolved_on_time,
            Figure::Resolved => f.resolved_at.is_some(),
            Figure::Rated => f.rating.is_some(),
            Figure::Satisfied => matches!(f.rating, Some(4..=5)),
            Figure::Basic => f.rating == Some(3),
            Figure::Unsatisfied => matches!(f.rating, Some(0..=2) | Some(6..)),
            Figure::Accepted => f.response_mins().is_some(),
            Figure::Redone => f.reopens > 0,
            Figure::Transferred => f.transfers > 0,
            Figure::Repeats => f.repeat,
        }
    }
}

/// The facts behind `figure` among `facts`, in the order given.
pub fn behind<'a>(facts: &[&'a Fact], figure: Figure, as_of: i64) -> Vec<&'a Fact> {
    facts
        .iter()
        .copied()
        .filter(|f| figure.holds(f, as_of))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Weights;
    use crate::grade::Colour;
    use crate::supervision::rates::tests::{fact, HOUR, MIN};
    use crate::supervision::rates::{compute, Rates};
    use proptest::prelude::*;

    fn count(r: &Rates, f: Figure) -> u64 {
        match f {
            Figure::Appeals => r.appeals,
            Figure::Red => r.red,
            Figure::Yellow => r.yellow,
            Figure::Green => r.green,
            Figure::RespondDue => r.respond_due,
            Figure::RespondedOnTime => r.responded_on_time,
            Figure::RespondedLate => r.respond_due - r.responded_on_time,
            Figure::ResolveDue => r.resolve_due,
            Figure::ResolvedOnTime => r.resolved_on_time,
            Figure::Overdue => r.overdue,
            Figure::Resolved => r.resolved,
            Figure::Rated => r.rated,
            Figure::Satisfied => r.satisfied,
            Figure::Basic => r.basic,
            Figure::Unsatisfied => r.unsatisfied,
            Figure::Accepted => r.accepted,
            Figure::Redone => r.redone,
            Figure::Transferred => r.transferred,
            Figure::Repeats => r.repeats,
        }
    }

    const W: Weights = Weights {
        response: 30,
        resolution: 35,
        satisfaction: 35,
    };

    #[test]
    fn names_round_trip() {
        for f in Figure::ALL {
            assert_eq!(Figure::parse(f.as_str()), Some(f));
        }
        assert_eq!(Figure::parse("score"), None);
    }

    #[test]
    fn an_overdue_appeal_is_behind_overdue_and_not_behind_on_time() {
        let mut late = fact("1");
        late.accepted_at = Some(90 * MIN);
        let mut good = fact("2");
        good.accepted_at = Some(10 * MIN);
        good.resolved_at = Some(HOUR);
        let list = [&late, &good];
        let at = |fig| {
            behind(&list, fig, 48 * HOUR)
                .iter()
                .map(|f| f.number.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(at(Figure::Overdue), ["1"]);
        assert_eq!(at(Figure::RespondedLate), ["1"]);
        assert_eq!(at(Figure::RespondedOnTime), ["2"]);
        assert_eq!(at(Figure::ResolvedOnTime), ["2"]);
        // Before the limits came, the unresolved appeal counts for nobody.
        assert!(behind(&list, Figure::Overdue, 2 * HOUR).is_empty());
    }

    fn arb_fact() -> impl Strategy<Value = crate::supervision::facts::Fact> {
        (
            (
                0u8..3,
                proptest::option::of(0i64..200),
                proptest::option::of(0i64..200),
            ),
            (
                proptest::option::of(0i64..200),
                proptest::option::of(0i64..200),
            ),
            (proptest::option::of(0u8..7), 0u32..3, 0u32..3),
            (
                proptest::option::of(0i64..200),
                proptest::option::of(0i64..200),
            ),
            any::<bool>(),
        )
            .prop_map(
                |((c, rb, sb), (acc, res), (rating, tr, ro), (lt, lr), repeat)| {
                    let mut f = fact("1");
                    f.colour = [Colour::Red, Colour::Yellow, Colour::Green][c as usize];
                    f.respond_by = rb.map(|m| m * MIN);
                    f.resolve_by = sb.map(|m| m * MIN);
                    f.accepted_at = acc.map(|m| m * MIN);
                    f.resolved_at = res.map(|m| m * MIN);
                    f.rating = rating;
                    f.transfers = tr;
                    f.reopens = ro;
                    f.last_transfer = lt.filter(|_| tr > 0).map(|m| m * MIN);
                    f.last_reopen = lr.filter(|_| ro > 0).map(|m| m * MIN);
                    f.repeat = repeat;
                    f
                },
            )
    }

    proptest! {
        #[test]
        fn every_figure_selects_as_many_facts_as_it_counts(
            facts in proptest::collection::vec(arb_fact(), 0..30),
            as_of in 0i64..250,
        ) {
            let refs: Vec<_> = facts.iter().collect();
            let r = compute(&refs, as_of * MIN, W);
            for fig in Figure::ALL {
                prop_assert_eq!(
                    behind(&refs, fig, as_of * MIN).len() as u64,
                    count(&r, fig),
                    "{}", fig.as_str()
                );
            }
        }
    }
}
