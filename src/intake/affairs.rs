//! The keywords of the platform's other three sections, by SMS: 三务公开 (`GK` / 公开), 政务服务
//! (`BS` / 办事), 乡村智库 (`ZK` / 智库, and an expert's answer `DA`), and the notice
//! subscription (`DY` / 订阅, `TD` / 退订 / `R`). Pure over the normalised text (NFKC has
//! already folded full-width letters, so `ｇｋ` is `gk`); any case.
//!
//! Like the villagers' other commands they count only as the whole message, so a villager's
//! appeal that happens to start with 办事 ("办事处的人不来") stays an appeal: a topic is at most
//! [`MAX_TOPIC`] characters without punctuation, and a GK kind must be one of the three.

/// The three kinds of 三务公开.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    /// 党务公开.
    Party,
    /// 村务公开.
    Village,
    /// 财务公开.
    Finance,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 3] = [NoticeKind::Party, NoticeKind::Village, NoticeKind::Finance];

    /// The stored name (database, API).
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Party => "party",
            NoticeKind::Village => "village",
            NoticeKind::Finance => "finance",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn chinese(self) -> &'static str {
        match self {
            NoticeKind::Party => "党务",
            NoticeKind::Village => "村务",
            NoticeKind::Finance => "财务",
        }
    }

    /// The code after GK: DW 党务, SW 村务 (事务; CW is taken by 财务, as the issue fixes), CW 财务.
    pub fn code(self) -> &'static str {
        match self {
            NoticeKind::Party => "DW",
            NoticeKind::Village => "SW",
            NoticeKind::Finance => "CW",
        }
    }

    fn from_word(w: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| {
            w.eq_ignore_ascii_case(k.code())
                || w == k.chinese()
                || w == format!("{}公开", k.chinese())
        })
    }
}

/// What an affairs keyword asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affairs {
    /// GK [kind]: the latest notice of each kind, or of one.
    Public(Option<NoticeKind>),
    /// BS [topic]: a service guide, or the list.
    Guide(Option<String>),
    /// ZK question: to the think tank.
    Ask(String),
    /// ZK with nothing after it: say how to ask.
    AskHow,
    /// DA<question> answer: an expert's answer (only from an expert's phone).
    Answer {
        question: i64,
        text: String,
    },
    Subscribe,
    Unsubscribe,
}

/// The longest service topic accepted (低保, 医保, 养老保险, 残疾证办理...).
pub const MAX_TOPIC: usize = 8;

/// The rest of `t` after keyword `kw` (ASCII: any case; must not run into more ASCII letters,
/// so "GKX" is no GK), or None.
fn after<'a>(t: &'a str, kw: &str) -> Option<&'a str> {
    if kw.is_ascii() {
        let head = t.get(..kw.len())?;
        if !head.eq_ignore_ascii_case(kw) {
            return None;
        }
        let rest = &t[kw.len()..];
        if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return None;
        }
        Some(rest)
    } else {
        t.strip_prefix(kw)
    }
}

fn strip_end_punct(t: &str) -> &str {
    t.trim()
        .trim_end_matches(['。', '.', '!', '！', '?', '？', '，', ','])
        .trim()
}

/// Strips a separator after the keyword: blanks, a colon.
fn arg(rest: &str) -> &str {
    rest.trim_start_matches([' ', ':', '：', '，', ',']).trim()
}

pub fn parse(text: &str) -> Option<Affairs> {
    let t = strip_end_punct(text);
    // "GKCW" typed without the space.
    if let Some(k) = NoticeKind::ALL
        .into_iter()
        .find(|k| t.eq_ignore_ascii_case(&format!("GK{}", k.code())))
    {
        return Some(Affairs::Public(Some(k)));
    }
    for kw in ["GK", "公开", "三务公开"] {
        if let Some(rest) = after(t, kw) {
            let a = arg(rest);
            if a.is_empty() {
                return Some(Affairs::Public(None));
            }
            return NoticeKind::from_word(a).map(|k| Affairs::Public(Some(k)));
        }
    }
    for kw in ["BS", "办事指南", "办事"] {
        if let Some(rest) = after(t, kw) {
            let a = arg(rest);
            if a.is_empty() {
                return Some(Affairs::Guide(None));
            }
            let short = a.chars().count() <= MAX_TOPIC
                && !a.contains(|c: char| c.is_whitespace() || "，。？！,.?!".contains(c));
            // "办事处的人不来" is an appeal; "办事 低保" or "BS低保" a topic.
            let typed_apart = kw == "BS" || rest.starts_with([' ', ':', '：']);
            return (short && (typed_apart || a.chars().count() <= 4))
                .then(|| Affairs::Guide(Some(a.to_string())));
        }
    }
    for kw in ["ZK", "智库"] {
        if let Some(rest) = after(t, kw) {
            let a = arg(rest);
            return Some(if a.is_empty() {
                Affairs::AskHow
            } else {
                Affairs::Ask(a.to_string())
            });
        }
    }
    if let Some(rest) = after(t, "DA").or_else(|| after(t, "答")) {
        let r = rest.trim_start();
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        if end > 0 {
            if let Ok(question) = r[..end].parse() {
                let text = arg(&r[end..]);
                if !text.is_empty() {
                    return Some(Affairs::Answer {
                        question,
                        text: text.to_string(),
                    });
                }
            }
        }
    }
    if t.eq_ignore_ascii_case("DY") || t == "订阅" {
        return Some(Affairs::Subscribe);
    }
    if t.eq_ignore_ascii_case("TD") || t == "退订" || t.eq_ignore_ascii_case("R") {
        return Some(Affairs::Unsubscribe);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::normalize::normalize;

    fn p(s: &str) -> Option<Affairs> {
        parse(&normalize(s))
    }

    #[test]
    fn every_keyword_and_alias() {
        use Affairs::*;
        use NoticeKind::*;
        for (text, want) in [
            ("GK", Public(None)),
            ("gk", Public(None)),
            ("ＧＫ", Public(None)),
            ("公开", Public(None)),
            ("三务公开", Public(None)),
            ("GK CW", Public(Some(Finance))),
            ("gkcw", Public(Some(Finance))),
            ("GK 财务", Public(Some(Finance))),
            ("公开财务", Public(Some(Finance))),
            ("公开 财务公开", Public(Some(Finance))),
            ("GK DW", Public(Some(Party))),
            ("公开党务", Public(Some(Party))),
            ("GK SW", Public(Some(Village))),
            ("公开 村务", Public(Some(Village))),
            ("BS", Guide(None)),
            ("办事", Guide(None)),
            ("办事指南", Guide(None)),
            ("BS 低保", Guide(Some("低保".into()))),
            ("bs低保", Guide(Some("低保".into()))),
            ("办事 医保", Guide(Some("医保".into()))),
            ("办事：养老保险", Guide(Some("养老保险".into()))),
            ("办事户口", Guide(Some("户口".into()))),
            ("BS 残疾证。", Guide(Some("残疾证".into()))),
            ("ZK 玉米叶子发黄怎么办", Ask("玉米叶子发黄怎么办".into())),
            ("智库：猪不吃食", Ask("猪不吃食".into())),
            ("zk", AskHow),
            (
                "DA12 多施钾肥",
                Answer {
                    question: 12,
                    text: "多施钾肥".into(),
                },
            ),
            (
                "答 7 打疫苗",
                Answer {
                    question: 7,
                    text: "打疫苗".into(),
                },
            ),
            ("DY", Subscribe),
            ("订阅", Subscribe),
            ("dy", Subscribe),
            ("TD", Unsubscribe),
            ("退订", Unsubscribe),
            ("R", Unsubscribe),
            ("r", Unsubscribe),
            ("Ｒ", Unsubscribe),
        ] {
            assert_eq!(p(text), Some(want), "{text}");
        }
    }

    #[test]
    fn appeals_that_look_like_keywords_stay_appeals() {
        for text in [
            "办事处的人不来",
            "办事的人态度不好，请处理",
            "公开一下村里的账目为什么不给看",
            "GK XX",
            "GKX",
            "BSN",
            "DA12",
            "DAX 你好",
            "R 你好",
            "DYS",
            "订阅号",
            "我要退订",
            "路灯坏了",
        ] {
            assert_eq!(p(text), None, "{text}");
        }
    }
}
