//! The texts of the affairs keywords, pure. Every reply fits one SMS (70 Chinese characters)
//! or says in front how many parts it comes in ("(共3条)"), so an elderly villager whose phone
//! shows parts as separate messages knows to wait for the rest.

use super::notices::Notice;
use crate::intake::affairs::NoticeKind;

/// Characters of one UCS-2 SMS, and of each part of a concatenated one (the UDH takes 3).
const SINGLE: usize = 70;
const PART: usize = 67;
/// GSM 7-bit: plain ASCII texts.
const SINGLE_7BIT: usize = 160;
const PART_7BIT: usize = 153;
/// Every broadcast ends with this (the carriers' rule for bulk texts).
pub const UNSUBSCRIBE_TAIL: &str = "退订回R";

/// How many SMS parts `text` takes. ASCII-only texts are counted as GSM 7-bit (a few of its
/// characters take two septets; counting them as one can only err by a part on texts no
/// keyword writes); anything else as UCS-2, where a character outside the BMP takes two.
pub fn parts(text: &str) -> usize {
    if text.is_ascii() {
        let n = text.len();
        return if n <= SINGLE_7BIT {
            1
        } else {
            n.div_ceil(PART_7BIT)
        };
    }
    let n: usize = text.chars().map(char::len_utf16).sum();
    if n <= SINGLE {
        1
    } else {
        n.div_ceil(PART)
    }
}

/// `text`, prefixed with its part count when it needs more than one SMS.
pub fn fitted(text: &str) -> String {
    if parts(text) == 1 {
        return text.to_string();
    }
    // The prefix itself may push the text into another part: settle on a fixed point.
    let mut n = parts(text);
    loop {
        let t = format!("(共{n}条){text}");
        let m = parts(&t);
        if m == n {
            return t;
        }
        n = m;
    }
}

/// GK: the latest notice of each kind (`kinds` in order; None = none in force).
pub fn public(sig: &str, found: &[(NoticeKind, Option<&Notice>)]) -> String {
    let mut out = format!("{sig}三务公开：");
    let mut any = false;
    for (k, n) in found {
        match n {
            Some(n) => {
                any = true;
                out.push_str(&format!("【{}】{}：{} ", k.chinese(), n.title, n.body));
            }
            None => out.push_str(&format!("【{}】暂无。", k.chinese())),
        }
    }
    if found.len() > 1 {
        out.push_str("回复GK DW/SW/CW只看党务/村务/财务。");
    }
    if !any && found.len() == 1 {
        out = format!("{sig}{}公开暂无内容。", found[0].0.chinese());
    }
    fitted(out.trim_end())
}

/// BS topic: the guide.
pub fn guide(sig: &str, g: &Notice) -> String {
    fitted(&format!("{sig}办事指南【{}】{}", g.title, g.body))
}

/// BS without a topic, or an unknown one: the topics there are.
pub fn guide_list(sig: &str, unknown: Option<&str>, topics: &[String]) -> String {
    let head = match unknown {
        Some(t) => format!("{sig}没有“{t}”的办事指南。"),
        None => sig.to_string(),
    };
    if topics.is_empty() {
        return fitted(&format!("{head}暂无办事指南，请直接发短信说明要办的事。"));
    }
    fitted(&format!(
        "{head}可查：{}。回复BS加事项，如BS{}",
        topics.join("、"),
        topics[0]
    ))
}

pub fn subscribed(sig: &str, village: &str) -> String {
    format!("{sig}已订阅{village}的公开信息，发布时短信通知您。{UNSUBSCRIBE_TAIL}")
}

pub fn no_village(sig: &str) -> String {
    format!("{sig}没找到您所在的村，请在短信里写上村名再试，如：DY")
}

pub fn unsubscribed(sig: &str) -> String {
    format!("{sig}已退订公开信息和评价提醒，不再发送。回复DY可重新订阅。")
}

/// The text of a broadcast: the notice, cut to fit three parts, with the unsubscribe tail.
pub fn broadcast(sig: &str, kind: &str, title: &str, body: &str) -> String {
    const MAX_CHARS: usize = 3 * PART - 8;
    let label = NoticeKind::parse(kind).map_or("公告", |k| k.chinese());
    let tail = format!(" {UNSUBSCRIBE_TAIL}");
    let mut text = format!("{sig}【{label}公开】{title}：{body}");
    let room = MAX_CHARS.saturating_sub(tail.chars().count());
    if text.chars().count() > room {
        text = text
            .chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    text + &tail
}

pub fn ask_how(sig: &str) -> String {
    format!("{sig}请发ZK加您的问题，如：ZK 玉米叶子发黄怎么办。专家答复后短信告诉您。")
}

pub fn asked(sig: &str, id: i64) -> String {
    format!("{sig}您的问题（编号{id}）已转给乡村智库专家，答复后短信告诉您。")
}

pub fn no_expert(sig: &str) -> String {
    format!("{sig}乡村智库暂时没有专家在岗，您的问题已记录，有专家后转给他。")
}

/// To the expert: the question and how to answer.
pub fn to_expert(id: i64, village: &str, text: &str) -> String {
    fitted(&format!(
        "【乡村智库#{id}】{village}村民问：{text} 请回复DA{id}加答复。"
    ))
}

/// To the villager: the expert's answer with the village signature.
pub fn answer(sig: &str, id: i64, expert: &str, text: &str) -> String {
    fitted(&format!(
        "{sig}乡村智库专家{expert}答复您的问题（编号{id}）：{text} 请回复1-5评价：5很满意，1不满意。"
    ))
}

pub fn answer_taken(id: i64) -> String {
    format!("问题{id}的答复已转给村民，谢谢！")
}

pub fn answer_refused(id: i64) -> String {
    format!("没有转给您的问题{id}，或它已有答复。")
}

pub fn rated(sig: &str, id: i64, score: u8) -> String {
    format!("{sig}感谢您对智库答复（编号{id}）的评价：{score}分。")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_chinese_and_ascii() {
        assert_eq!(parts(&"字".repeat(70)), 1);
        assert_eq!(parts(&"字".repeat(71)), 2);
        assert_eq!(parts(&"字".repeat(134)), 2);
        assert_eq!(parts(&"字".repeat(135)), 3);
        assert_eq!(parts(&"a".repeat(160)), 1);
        assert_eq!(parts(&"a".repeat(161)), 2);
        // A character outside the BMP is two UCS-2 units.
        assert_eq!(parts(&"😀".repeat(35)), 1);
        assert_eq!(parts(&"😀".repeat(36)), 2);
    }

    #[test]
    fn a_long_reply_says_how_many_parts() {
        let short = fitted("短");
        assert_eq!(short, "短");
        let long = fitted(&"字".repeat(125));
        assert!(long.starts_with("(共2条)"), "{long}");
        assert_eq!(parts(&long), 2);
        // 130 + 5 = 135 > 134: the prefix itself takes the text into a third part.
        let edge = fitted(&"字".repeat(130));
        assert!(edge.starts_with("(共3条)"), "{edge}");
        assert_eq!(parts(&edge), 3);
    }

    #[test]
    fn help_fits_and_broadcast_ends_with_the_tail() {
        let h = crate::appeals::messages::villager_help("【双红村】");
        assert!(h.contains("GK") && h.contains("BS") && h.contains("ZK") && h.contains("DY"));
        assert_eq!(parts(&h), 1, "{h}");
        let b = broadcast("【双红村】", "finance", "11月财务", &"收支".repeat(300));
        assert!(b.ends_with("退订回R"), "{b}");
        assert!(parts(&b) <= 3, "{}", parts(&b));
    }
}
