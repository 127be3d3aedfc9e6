//! What an inbound text asks for: a pure function of the normalised text and whether the sender
//! is a registered cadre. No I/O; the inbox decides what to do with the [`Intent`].
//!
//! Commands are a keyword (pinyin initials or Chinese, any case) directly followed, with or
//! without spaces, by an appeal number: the full one (`20220713002`) or its daily sequence
//! (`002`, resolved later among the cadre's open appeals). A cadre's PIN, when the directory
//! sets one, comes right after the number as `#1234`: `JS002#1234`, `HF 002 #1234 已派人`.
//! `LB#1234` lists. Free text (reply, note, decision, transfer target, colour) follows.
//!
//! Villagers' commands (CX/查询 [number], BZ/帮助, TD/退订) and survey answers count only when
//! they are the whole message, so "查询一下低保怎么办" stays an appeal. A cadre keyword from a
//! villager counts (and is refused) only when a number follows it, so "回复一下我的问题" also
//! stays an appeal.

use crate::grade::Colour;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderRole {
    Cadre,
    Villager,
}

/// The appeal a command names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The whole number, e.g. "20220713002".
    Full(String),
    /// The daily sequence only, e.g. "002" (digits as written).
    Suffix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CadreVerb {
    Accept,
    Reply(String),
    Note(String),
    Resolve(String),
    Transfer(String),
    Escalate,
    Regrade(Colour),
    List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadreCommand {
    pub verb: CadreVerb,
    /// None only for List.
    pub target: Option<Target>,
    pub pin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// A well-formed cadre command (from a cadre's phone).
    Cadre(CadreCommand),
    /// A cadre command from a number that is not a cadre's: refuse and log.
    NotCadre(CadreCommand),
    /// CX / 查询, with the number given (else the sender's latest appeal).
    Query(Option<String>),
    Help,
    OptOut,
    /// A survey answer 1-5.
    Rating(u8),
    /// A command keyword with the wrong shape; says what was expected.
    Malformed {
        expected: &'static str,
    },
    /// From a cadre, something that is no command.
    Unknown,
    /// From a villager: an appeal (new, appended or a repeat; the inbox decides).
    Text,
}

struct Keyword {
    pinyin: &'static str,
    chinese: &'static str,
    shape: Shape,
    expected: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Accept,
    Reply,
    Note,
    Resolve,
    Transfer,
    Escalate,
    Regrade,
    List,
}

const KEYWORDS: &[Keyword] = &[
    Keyword {
        pinyin: "JS",
        chinese: "受理",
        shape: Shape::Accept,
        expected: "JS编号，如JS20220713002或JS002",
    },
    Keyword {
        pinyin: "HF",
        chinese: "回复",
        shape: Shape::Reply,
        expected: "HF编号 回复内容，如HF002 明天上午来看",
    },
    Keyword {
        pinyin: "XS",
        chinese: "协商",
        shape: Shape::Note,
        expected: "XS编号 协商记录，如XS002 已与邻居商量",
    },
    Keyword {
        pinyin: "BJ",
        chinese: "办结",
        shape: Shape::Resolve,
        expected: "BJ编号 办结结果，如BJ002 已修好",
    },
    Keyword {
        pinyin: "ZB",
        chinese: "转办",
        shape: Shape::Transfer,
        expected: "ZB编号 干部姓名或电话，如ZB002 李网格",
    },
    Keyword {
        pinyin: "SB",
        chinese: "上报",
        shape: Shape::Escalate,
        expected: "SB编号，如SB002",
    },
    Keyword {
        pinyin: "FL",
        chinese: "分类",
        shape: Shape::Regrade,
        expected: "FL编号 红/黄/绿，如FL002红",
    },
    Keyword {
        pinyin: "LB",
        chinese: "列表",
        shape: Shape::List,
        expected: "LB",
    },
];

const NUMBER_EXPECTED: &str = "编号为完整编号(如20220713002)或当天序号(如002)";

/// Trailing punctuation people add to one-word answers.
fn strip_end_punct(s: &str) -> &str {
    s.trim_end_matches(['。', '.', '!', '！', '~', '～', ' '])
}

/// The survey answer in `s`, if it is one: a digit 1-5 or one of the five words.
pub fn rating(s: &str) -> Option<u8> {
    let s = strip_end_punct(s.trim());
    match s {
        "5" | "非常满意" => Some(5),
        "4" | "满意" => Some(4),
        "3" | "基本满意" => Some(3),
        "2" | "不满意" => Some(2),
        "1" | "非常不满意" => Some(1),
        _ => None,
    }
}

/// `s` starts with `kw` (ASCII case-insensitive); returns the rest.
fn strip_keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let head = s.get(..kw.len())?;
    head.eq_ignore_ascii_case(kw).then(|| &s[kw.len()..])
}

pub fn parse(text: &str, role: SenderRole) -> Intent {
    let norm = crate::intake::normalize(text);
    let t = norm.trim();
    if let Some(i) = villager_command(t) {
        return i;
    }
    for kw in KEYWORDS {
        let rest = if let Some(r) = strip_keyword(t, kw.pinyin) {
            // "JSON", "HFx": letters right after pinyin initials are a word, not a command.
            if r.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue;
            }
            r
        } else if let Some(r) = t.strip_prefix(kw.chinese) {
            r
        } else {
            continue;
        };
        let numbered = rest.trim_start().starts_with(|c: char| c.is_ascii_digit());
        let bare_list = kw.shape == Shape::List && {
            let r = rest.trim();
            r.is_empty() || r.starts_with('#')
        };
        match role {
            SenderRole::Villager if !(numbered || bare_list) => continue,
            _ => {}
        }
        return match command(kw, rest) {
            Ok(c) if role == SenderRole::Cadre => Intent::Cadre(c),
            Ok(c) => Intent::NotCadre(c),
            Err(expected) => Intent::Malformed { expected },
        };
    }
    if let Some(n) = rating(t) {
        if role == SenderRole::Villager {
            return Intent::Rating(n);
        }
    }
    match role {
        SenderRole::Cadre => Intent::Unknown,
        SenderRole::Villager => Intent::Text,
    }
}

fn villager_command(t: &str) -> Option<Intent> {
    let s = strip_end_punct(t);
    for kw in ["CX", "查询"] {
        if let Some(rest) = strip_keyword(s, kw) {
            let rest = rest.trim();
            if rest.is_empty() {
                return Some(Intent::Query(None));
            }
            if rest.bytes().all(|b| b.is_ascii_digit()) {
                return Some(Intent::Query(Some(rest.to_string())));
            }
        }
    }
    if s.eq_ignore_ascii_case("BZ") || s == "帮助" || s == "?" || s == "？" {
        return Some(Intent::Help);
    }
    if s.eq_ignore_ascii_case("TD") || s == "退订" {
        return Some(Intent::OptOut);
    }
    None
}

/// The part after the keyword: number, optional #PIN, argument.
fn command(kw: &Keyword, rest: &str) -> Result<CadreCommand, &'static str> {
    let mut r = rest.trim_start();
    let digits_end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
    let digits = &r[..digits_end];
    r = &r[digits_end..];
    let target = if digits.is_empty() {
        None
    } else if digits.len() >= 11 {
        Some(Target::Full(digits.to_string()))
    } else if digits.len() <= 4 {
        Some(Target::Suffix(digits.to_string()))
    } else {
        return Err(NUMBER_EXPECTED);
    };
    // A number running straight into letters ("JS002abc") is a typo, not a number.
    if target.is_some() && r.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(kw.expected);
    }
    let mut pin = None;
    let after = r.trim_start();
    if let Some(p) = after.strip_prefix('#') {
        let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
        if !(4..=8).contains(&end) {
            return Err("PIN为#加4到8位数字，紧跟编号，如JS002#1234");
        }
        pin = Some(p[..end].to_string());
        r = &p[end..];
    }
    let arg = r.trim();
    let verb = match kw.shape {
        Shape::List => {
            if target.is_some() || !arg.is_empty() {
                return Err(kw.expected);
            }
            return Ok(CadreCommand {
                verb: CadreVerb::List,
                target: None,
                pin,
            });
        }
        _ if target.is_none() => return Err(kw.expected),
        Shape::Accept => CadreVerb::Accept,
        Shape::Escalate => CadreVerb::Escalate,
        Shape::Reply | Shape::Note | Shape::Resolve | Shape::Transfer if arg.is_empty() => {
            return Err(kw.expected)
        }
        Shape::Reply => CadreVerb::Reply(arg.to_string()),
        Shape::Note => CadreVerb::Note(arg.to_string()),
        Shape::Resolve => CadreVerb::Resolve(arg.to_string()),
        Shape::Transfer => CadreVerb::Transfer(arg.to_string()),
        Shape::Regrade => CadreVerb::Regrade(colour_word(arg).ok_or(kw.expected)?),
    };
    Ok(CadreCommand { verb, target, pin })
}

fn colour_word(s: &str) -> Option<Colour> {
    let s = strip_end_punct(s).trim_end_matches('色');
    match s.to_ascii_lowercase().as_str() {
        "红" | "red" | "r" => Some(Colour::Red),
        "黄" | "yellow" | "y" => Some(Colour::Yellow),
        "绿" | "green" | "g" => Some(Colour::Green),
        _ => None,
    }
}

/// The canonical text of a command (pinyin form), e.g. for help texts and tests.
pub fn render(c: &CadreCommand) -> String {
    let (kw, arg) = match &c.verb {
        CadreVerb::Accept => ("JS", String::new()),
        CadreVerb::Reply(t) => ("HF", t.clone()),
        CadreVerb::Note(t) => ("XS", t.clone()),
        CadreVerb::Resolve(t) => ("BJ", t.clone()),
        CadreVerb::Transfer(t) => ("ZB", t.clone()),
        CadreVerb::Escalate => ("SB", String::new()),
        CadreVerb::Regrade(col) => ("FL", col.chinese().to_string()),
        CadreVerb::List => ("LB", String::new()),
    };
    let number = match &c.target {
        Some(Target::Full(n)) | Some(Target::Suffix(n)) => n.as_str(),
        None => "",
    };
    let pin = c
        .pin
        .as_deref()
        .map(|p| format!("#{p}"))
        .unwrap_or_default();
    let arg = if arg.is_empty() {
        arg
    } else {
        format!(" {arg}")
    };
    format!("{kw}{number}{pin}{arg}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use SenderRole::*;

    fn cmd(verb: CadreVerb, target: Option<Target>, pin: Option<&str>) -> Intent {
        Intent::Cadre(CadreCommand {
            verb,
            target,
            pin: pin.map(str::to_string),
        })
    }

    fn full(n: &str) -> Option<Target> {
        Some(Target::Full(n.into()))
    }

    fn suffix(n: &str) -> Option<Target> {
        Some(Target::Suffix(n.into()))
    }

    #[test]
    fn cadre_commands() {
        let table: Vec<(&str, Intent)> = vec![
            (
                "JS20220713002",
                cmd(CadreVerb::Accept, full("20220713002"), None),
            ),
            (
                "js 20220713002",
                cmd(CadreVerb::Accept, full("20220713002"), None),
            ),
            ("ＪＳ００２", cmd(CadreVerb::Accept, suffix("002"), None)),
            ("受理002", cmd(CadreVerb::Accept, suffix("002"), None)),
            (
                "JS002#1234",
                cmd(CadreVerb::Accept, suffix("002"), Some("1234")),
            ),
            (
                "JS 002 #1234",
                cmd(CadreVerb::Accept, suffix("002"), Some("1234")),
            ),
            (
                "hf002 明天上午来看",
                cmd(CadreVerb::Reply("明天上午来看".into()), suffix("002"), None),
            ),
            (
                "回复 002#9999 好的",
                cmd(CadreVerb::Reply("好的".into()), suffix("002"), Some("9999")),
            ),
            (
                "XS002已和邻居商量",
                cmd(CadreVerb::Note("已和邻居商量".into()), suffix("002"), None),
            ),
            (
                "BJ20220713002 已赔付800元",
                cmd(
                    CadreVerb::Resolve("已赔付800元".into()),
                    full("20220713002"),
                    None,
                ),
            ),
            (
                "ZB002 李网格",
                cmd(CadreVerb::Transfer("李网格".into()), suffix("002"), None),
            ),
            (
                "转办2 13900000002",
                cmd(CadreVerb::Transfer("13900000002".into()), suffix("2"), None),
            ),
            ("SB002", cmd(CadreVerb::Escalate, suffix("002"), None)),
            (
                "上报002 需要镇里协调",
                cmd(CadreVerb::Escalate, suffix("002"), None),
            ),
            (
                "FL002红",
                cmd(CadreVerb::Regrade(Colour::Red), suffix("002"), None),
            ),
            (
                "fl 002 黄色",
                cmd(CadreVerb::Regrade(Colour::Yellow), suffix("002"), None),
            ),
            ("LB", cmd(CadreVerb::List, None, None)),
            ("列表#1234", cmd(CadreVerb::List, None, Some("1234"))),
        ];
        for (text, want) in table {
            assert_eq!(parse(text, Cadre), want, "{text}");
        }
    }

    #[test]
    fn malformed_commands_say_what_was_expected() {
        for text in [
            "JS",
            "JS2022071",
            "HF002",
            "FL002紫",
            "ZB002",
            "JS002#12",
            "LB002",
            "JS002abc",
        ] {
            assert!(
                matches!(parse(text, Cadre), Intent::Malformed { .. }),
                "{text}"
            );
        }
        assert_eq!(parse("好的收到", Cadre), Intent::Unknown);
        assert_eq!(parse("JSON data", Cadre), Intent::Unknown);
    }

    #[test]
    fn villagers() {
        assert_eq!(parse("CX", Villager), Intent::Query(None));
        assert_eq!(
            parse("cx 20220713002", Villager),
            Intent::Query(Some("20220713002".into()))
        );
        assert_eq!(parse("查询。", Villager), Intent::Query(None));
        assert_eq!(parse("帮助", Villager), Intent::Help);
        assert_eq!(parse("td", Villager), Intent::OptOut);
        assert_eq!(parse("满意", Villager), Intent::Rating(4));
        assert_eq!(parse("４", Villager), Intent::Rating(4));
        assert_eq!(parse("非常不满意！", Villager), Intent::Rating(1));
        assert_eq!(parse("不满意", Villager), Intent::Rating(2));
        assert_eq!(parse("查询一下低保怎么办", Villager), Intent::Text);
        assert_eq!(parse("回复一下我的问题", Villager), Intent::Text);
        assert_eq!(parse("受理了吗", Villager), Intent::Text);
        assert_eq!(parse("玉米被风吹倒了", Villager), Intent::Text);
        assert_eq!(parse("6", Villager), Intent::Text);
        assert!(matches!(
            parse("JS20220713002", Villager),
            Intent::NotCadre(_)
        ));
        assert!(matches!(parse("BJ002 好了", Villager), Intent::NotCadre(_)));
    }

    fn verb() -> impl Strategy<Value = CadreVerb> {
        // Normalised, as the inbox hands texts over (NFKC folds some Han radicals).
        let text = || {
            "[\\p{Han}a-z][\\p{Han}a-z0-9 ]{0,20}[\\p{Han}a-z]"
                .prop_map(|t| crate::intake::normalize(&t))
                .prop_filter("non-empty", |t| !t.is_empty())
        };
        prop_oneof![
            Just(CadreVerb::Accept),
            text().prop_map(CadreVerb::Reply),
            text().prop_map(CadreVerb::Note),
            text().prop_map(CadreVerb::Resolve),
            text().prop_map(CadreVerb::Transfer),
            Just(CadreVerb::Escalate),
            prop_oneof![Just(Colour::Red), Just(Colour::Yellow), Just(Colour::Green)]
                .prop_map(CadreVerb::Regrade),
            Just(CadreVerb::List),
        ]
    }

    fn command_strategy() -> impl Strategy<Value = CadreCommand> {
        (
            verb(),
            prop_oneof![
                "[0-9]{11,12}".prop_map(Target::Full),
                "[0-9]{1,4}".prop_map(Target::Suffix)
            ],
            proptest::option::of("[0-9]{4,8}"),
        )
            .prop_map(|(verb, target, pin)| {
                let target = (verb != CadreVerb::List).then_some(target);
                CadreCommand { verb, target, pin }
            })
    }

    /// What feature phones do to a command: lower case, full width, spaces after the keyword.
    fn mangle(s: &str, lower: bool, wide: bool, space: bool) -> String {
        let mut out: String = s.to_string();
        if space && out.len() > 2 {
            out.insert(2, ' ');
        }
        if lower {
            let (kw, rest) = out.split_at(2);
            out = format!("{}{rest}", kw.to_ascii_lowercase());
        }
        if wide {
            out = out
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect();
        }
        out
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}", cadre in any::<bool>()) {
            let _ = parse(&s, if cadre { Cadre } else { Villager });
        }

        #[test]
        fn commands_round_trip(c in command_strategy(), lower in any::<bool>(), wide in any::<bool>(), space in any::<bool>()) {
            let text = mangle(&render(&c), lower, wide, space);
            prop_assert_eq!(parse(&text, Cadre), Intent::Cadre(c.clone()), "{}", text);
            prop_assert_eq!(parse(&text, Villager), Intent::NotCadre(c));
        }

        #[test]
        fn villager_text_without_keywords_is_an_appeal(s in "[\\p{Han}]{2,30}") {
            let starts_with_keyword = KEYWORDS.iter().any(|k| s.starts_with(k.chinese))
                || ["查询", "帮助", "退订"].iter().any(|k| s.starts_with(k))
                || rating(&s).is_some();
            prop_assume!(!starts_with_keyword);
            prop_assert_eq!(parse(&s, Villager), Intent::Text);
        }
    }
}
