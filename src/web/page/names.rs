//! What the pages call the gateway's stored words. The database keeps steps, statuses, event
//! kinds, channels and modem states as short English identifiers (the API and the webhooks
//! carry them as they are); a cadre or an inspector reading the Chinese page should see Chinese.
//! An identifier nobody listed here is shown as stored, so a new kind is never hidden.

use super::Lang;
use crate::appeals::Step;
use crate::grade::Colour;

pub const STEPS: [Step; 5] = [
    Step::Collection,
    Step::Negotiation,
    Step::Decision,
    Step::Supervision,
    Step::Evaluation,
];

/// One of the five steps of the 码上办 platform.
pub fn step_name(lang: Lang, step: &str) -> String {
    match STEPS.iter().find(|s| s.as_str() == step) {
        Some(s) if lang == Lang::Zh => s.chinese().to_string(),
        _ => step.to_string(),
    }
}

pub fn colour_name(lang: Lang, colour: &str) -> String {
    match (lang, colour.parse::<Colour>()) {
        (Lang::Zh, Ok(c)) => c.chinese().to_string(),
        _ => colour.to_string(),
    }
}

/// (stored, Chinese) pairs; English shows the stored word.
const STATUSES: &[(&str, &str)] = &[
    ("open", "待受理"),
    ("accepted", "办理中"),
    ("resolved", "已办结"),
    ("closed", "已关闭"),
    ("reopened", "重办"),
];

/// Every event kind the appeals, intake and scheduler code writes.
const EVENT_KINDS: &[(&str, &str)] = &[
    ("filed", "登记"),
    ("routed", "分派"),
    ("accepted", "受理"),
    ("reply", "回复"),
    ("note", "协商记录"),
    ("resolved", "办结"),
    ("rated", "评价"),
    ("reopened", "重办"),
    ("transferred", "转办"),
    ("escalated", "上报"),
    ("regraded", "改级"),
    ("recategorised", "改类"),
    ("reminder", "提醒"),
    ("survey_reminder", "评价提醒"),
    ("overdue_escalated", "超时上报"),
    ("filed_for_supervision", "纪委备案"),
    ("appended", "补充"),
    ("repeated", "重复诉求"),
    ("refused", "拒绝"),
    ("alert", "通知"),
    ("sms", "短信"),
    ("call", "来电"),
    ("api", "接口"),
    ("warning", "预警"),
    ("warning_handled", "预警已处理"),
];

const CHANNELS: &[(&str, &str)] = &[
    ("sms", "短信"),
    ("api", "接口"),
    ("web", "网页"),
    ("open311", "平台"),
    ("system", "系统"),
    ("voice", "电话"),
];

/// The modem task's states (modem::ModemStatus::state).
const MODEM_STATES: &[(&str, &str)] = &[
    ("connecting", "连接中"),
    ("initialising", "初始化"),
    ("ready", "正常"),
    ("down", "断开"),
    ("stopped", "已停止"),
    ("needs-operator", "需人工处理"),
];

fn lookup(table: &[(&str, &'static str)], lang: Lang, word: &str) -> String {
    match lang {
        Lang::Zh => table
            .iter()
            .find(|(k, _)| *k == word)
            .map(|(_, zh)| zh.to_string())
            .unwrap_or_else(|| word.to_string()),
        Lang::En => word.to_string(),
    }
}

pub fn status_name(lang: Lang, status: &str) -> String {
    lookup(STATUSES, lang, status)
}

pub fn kind_name(lang: Lang, kind: &str) -> String {
    lookup(EVENT_KINDS, lang, kind)
}

pub fn channel_name(lang: Lang, channel: &str) -> String {
    lookup(CHANNELS, lang, channel)
}

pub fn modem_state_name(lang: Lang, state: &str) -> String {
    lookup(MODEM_STATES, lang, state)
}

/// The names the live feed's script needs for rows it adds later (event kinds and steps), as a
/// JSON object for a `data-` attribute: the script keeps no word list of its own.
pub fn live_names_json(lang: Lang) -> String {
    let mut m = serde_json::Map::new();
    if lang == Lang::Zh {
        for (k, zh) in EVENT_KINDS {
            m.insert(format!("kind:{k}"), serde_json::Value::from(*zh));
        }
        for s in STEPS {
            m.insert(
                format!("step:{}", s.as_str()),
                serde_json::Value::from(s.chinese()),
            );
        }
    }
    serde_json::Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_language() {
        type Name = fn(Lang, &str) -> String;
        // English shows the stored word; an unknown word shows as itself in either language.
        let cases: [(Name, Lang, &str, &str); 12] = [
            (step_name, Lang::Zh, "supervision", "纪委监督"),
            (step_name, Lang::En, "supervision", "supervision"),
            (step_name, Lang::Zh, "odd", "odd"),
            (colour_name, Lang::Zh, "red", "红"),
            (colour_name, Lang::En, "red", "red"),
            (kind_name, Lang::Zh, "filed", "登记"),
            (kind_name, Lang::Zh, "routed", "分派"),
            (kind_name, Lang::En, "filed", "filed"),
            (kind_name, Lang::Zh, "brand_new_kind", "brand_new_kind"),
            (status_name, Lang::Zh, "resolved", "已办结"),
            (channel_name, Lang::Zh, "sms", "短信"),
            (modem_state_name, Lang::Zh, "ready", "正常"),
        ];
        for (name, lang, word, want) in cases {
            assert_eq!(name(lang, word), want, "{word}");
        }
    }

    #[test]
    fn every_chinese_name_is_chinese() {
        for (k, zh) in STATUSES
            .iter()
            .chain(EVENT_KINDS)
            .chain(CHANNELS)
            .chain(MODEM_STATES)
        {
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{k} -> {zh}"
            );
        }
    }

    #[test]
    fn the_live_feed_gets_the_same_words() {
        let j: serde_json::Value = serde_json::from_str(&live_names_json(Lang::Zh)).unwrap();
        assert_eq!(j["kind:filed"], "登记");
        assert_eq!(j["step:collection"], "诉求收集");
        assert_eq!(live_names_json(Lang::En), "{}");
    }
}
