//! Built-in defaults that are more than a number: the reply template and the
//! classification rules used when the file has no `[[rule]]`.

use crate::grade::{Colour, Rule};

pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";
pub const DEFAULT_SIGNATURE: &str = "【村委会】";
pub const DEFAULT_ACK: &str = "{signature}您的诉求已收到，编号{number}，回复CX{number}查询进度。";

/// (pattern, category, colour), tried in order.
///
/// Red comes first and is eager on purpose: a false red costs a cadre a phone call, a
/// missed one can cost a life, so bare 火 and 塌 count even though they sometimes
/// appear in harmless words. Red safety words are filed under the matching everyday
/// category where there is one (漏电 -> 用水用电, 打架 -> 邻里纠纷); fire, collapse,
/// drowning and injury have none, so they get 安全隐患.
///
/// Yellow marks matters that need investigation or several parties (insurance claims,
/// disputes, road works: 72 h to resolve); green is routine service (24 h).
/// 政务服务 precedes 农业保险 so that 养老保险/医保 are not taken for crop insurance.
pub(crate) const DEFAULT_RULES: &[(&str, &str, Colour)] = &[
    (
        "漏电|触电|电线.{0,4}(断|掉|落|垂)|煤气|燃气|天然气|液化气",
        "用水用电",
        Colour::Red,
    ),
    ("打架|斗殴|打人|动手|动刀|砍人|拿刀|要杀", "邻里纠纷", Colour::Red),
    (
        "塌方|(路|道).{0,4}塌|桥.{0,4}(塌|断)|车祸|撞人|翻车",
        "道路交通",
        Colour::Red,
    ),
    (
        "火|塌|溺水|落水|淹死|受伤|流血|摔伤|晕倒|昏迷|中毒|滑坡|泥石流|洪水",
        "安全隐患",
        Colour::Red,
    ),
    (
        "低保|社保|医保|养老保险|医疗保险|养老金|补贴|证明|户口|身份证|办证|盖章|残疾证|合作医疗|五保|救助|高龄",
        "政务服务",
        Colour::Green,
    ),
    (
        "保险|理赔|赔付|投保|保费|受灾|减产|冰雹|病虫|猪瘟|死猪|(庄稼|玉米|水稻|稻子|油菜|果树|秧苗).{0,6}(淹|死|倒|冻|旱)",
        "农业保险",
        Colour::Yellow,
    ),
    (
        "道路|公路|马路|村道|路面|路上|路灯|修路|烂路|路基|桥|坑|公交|班车|客车|交通|堵车",
        "道路交通",
        Colour::Yellow,
    ),
    (
        "停水|停电|断电|没水|没电|自来水|水管|水压|水费|电费|电表|电压|变压器|饮水|井水",
        "用水用电",
        Colour::Green,
    ),
    (
        "垃圾|污水|臭|脏|粪|厕所|卫生|焚烧|秸秆|苍蝇|蚊子|老鼠|排污|污染|黑烟",
        "环境卫生",
        Colour::Green,
    ),
    (
        "纠纷|吵架|争吵|矛盾|邻居|宅基地|占地|地界|边界|欠钱|赡养|骂",
        "邻里纠纷",
        Colour::Yellow,
    ),
];

/// The built-in classification rules, compiled.
pub fn default_rules() -> Vec<Rule> {
    DEFAULT_RULES
        .iter()
        .filter_map(|(pattern, category, colour)| {
            // The patterns are constants; `built_in_rules_all_compile` checks that none is
            // dropped here, so filtering instead of panicking loses nothing in practice.
            regex::Regex::new(pattern).ok().map(|pattern| Rule {
                pattern,
                category: (*category).to_string(),
                colour: *colour,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rules_all_compile() {
        assert_eq!(default_rules().len(), DEFAULT_RULES.len());
    }
}
