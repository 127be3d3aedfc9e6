//! Grades: an appeal's colour (red, yellow, green), the time limits each colour sets, and the
//! rules that give a new appeal its category and colour. Pure; the one home of `classify`.

use std::fmt;
use std::time::Duration;

/// Category given to an appeal that no rule matches.
pub const FALLBACK_CATEGORY: &str = "其他";

/// Urgency of an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Colour {
    Red,
    Yellow,
    Green,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Yellow => "yellow",
            Colour::Green => "green",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Colour::Red => "红",
            Colour::Yellow => "黄",
            Colour::Green => "绿",
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stored and shown by its English name, as in `appeals.colour`.
impl serde::Serialize for Colour {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A colour name that is none of red/yellow/green (or 红/黄/绿).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown colour `{0}` (expected red, yellow or green)")]
pub struct UnknownColour(pub String);

impl std::str::FromStr for Colour {
    type Err = UnknownColour;

    /// Accepts what `as_str` and `chinese` produce, so stored values read back.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "red" | "红" => Ok(Colour::Red),
            "yellow" | "黄" => Ok(Colour::Yellow),
            "green" | "绿" => Ok(Colour::Green),
            other => Err(UnknownColour(other.to_string())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColourLimits {
    /// A cadre must respond within this.
    pub respond: Duration,
    /// The appeal must be resolved within this.
    pub resolve: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colours {
    pub red: ColourLimits,
    pub yellow: ColourLimits,
    pub green: ColourLimits,
}

impl Colours {
    pub fn get(&self, c: Colour) -> &ColourLimits {
        match c {
            Colour::Red => &self.red,
            Colour::Yellow => &self.yellow,
            Colour::Green => &self.green,
        }
    }
}

/// One classification rule: text matching `pattern` gets `category` and `colour`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub pattern: regex::Regex,
    pub category: String,
    pub colour: Colour,
}

/// Category and colour of an appeal: the first rule whose pattern matches, else
/// ([`FALLBACK_CATEGORY`], Green). Green is the safe default: a cadre regrades by SMS, and a
/// wrongly red appeal would wake a cadre at night.
pub fn classify(rules: &[Rule], text: &str) -> (String, Colour) {
    rules
        .iter()
        .find(|r| r.pattern.is_match(text))
        .map(|r| (r.category.clone(), r.colour))
        .unwrap_or_else(|| (FALLBACK_CATEGORY.to_string(), Colour::Green))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_names_read_back() {
        for c in [Colour::Red, Colour::Yellow, Colour::Green] {
            assert_eq!(c.as_str().parse::<Colour>(), Ok(c));
            assert_eq!(c.chinese().parse::<Colour>(), Ok(c));
        }
        assert!("blue".parse::<Colour>().is_err());
    }

    #[test]
    fn first_matching_rule_wins_else_fallback_green() {
        let rule = |p: &str, cat: &str, colour| Rule {
            pattern: regex::Regex::new(p).unwrap(),
            category: cat.into(),
            colour,
        };
        let rules = vec![
            rule("火", "火灾", Colour::Red),
            rule("路|火", "道路", Colour::Yellow),
        ];
        assert_eq!(classify(&rules, "着火了"), ("火灾".into(), Colour::Red));
        assert_eq!(classify(&rules, "路坏了"), ("道路".into(), Colour::Yellow));
        assert_eq!(
            classify(&rules, "你好"),
            (FALLBACK_CATEGORY.into(), Colour::Green)
        );
    }
}
