//! Every Chinese SMS text of the workflow, in one place so wording is reviewed together and kept
//! short (70 Chinese characters fill one SMS). Pure functions of their inputs.

use crate::grade::Colour;

/// The head of an appeal's text for alerts: at most `n` characters, "…" when cut.
pub fn preview(text: &str, n: usize) -> String {
    let one_line: String = text.split('\n').collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > n {
        let mut s: String = one_line.chars().take(n).collect();
        s.push('…');
        s
    } else {
        one_line
    }
}

pub struct AlertFacts<'a> {
    pub number: &'a str,
    pub colour: Colour,
    pub village: &'a str,
    pub masked_phone: &'a str,
    pub text: &'a str,
}

/// 【新诉求·黄】20220713002 双红村 138****5678：玉米被风吹倒了…回复JS20220713002受理
pub fn alert(kind: &str, f: &AlertFacts<'_>) -> String {
    format!(
        "【{kind}·{}】{} {} {}：{}回复JS{}受理",
        f.colour.chinese(),
        f.number,
        f.village,
        f.masked_phone,
        with_stop(&preview(f.text, 12)),
        f.number
    )
}

/// 【回电·黄】20220713002 双红村 13812345678 来电未留言，请回电。回复JS20220713002受理
///
/// The one alert with the whole number: calling back is the job.
pub fn callback_alert(f: &AlertFacts<'_>, phone: &str) -> String {
    format!(
        "【回电·{}】{} {} {phone} 来电未留言，请回电。回复JS{}受理",
        f.colour.chinese(),
        f.number,
        f.village,
        f.number
    )
}

/// A preview ends with "…" or gets a full stop, so the command hint after it reads apart.
fn with_stop(p: &str) -> String {
    if p.ends_with('…') || p.ends_with(['。', '！', '？', '.', '!', '?']) {
        p.to_string()
    } else {
        format!("{p}。")
    }
}

pub fn accepted_to_villager(sig: &str, number: &str, cadre: &str) -> String {
    format!("{sig}您的诉求{number}已由{cadre}受理，正在办理。")
}

pub fn relay_to_villager(sig: &str, number: &str, text: &str) -> String {
    format!("{sig}{text}（诉求{number}）")
}

pub fn decision_to_villager(sig: &str, number: &str, text: &str) -> String {
    format!("{sig}您的诉求{number}已办结：{text}")
}

pub const SURVEY_PROMPT: &str = "请评价办理结果：回复5非常满意 4满意 3基本满意 2不满意 1非常不满意";

pub fn survey_prompt(sig: &str, number: &str) -> String {
    format!("{sig}诉求{number}{SURVEY_PROMPT}")
}

pub fn survey_reminder(sig: &str, number: &str) -> String {
    format!("{sig}提醒：诉求{number}尚未评价。{SURVEY_PROMPT}。回复TD不再提醒")
}

pub fn rating_word(score: u8) -> &'static str {
    match score {
        5 => "非常满意",
        4 => "满意",
        3 => "基本满意",
        2 => "不满意",
        _ => "非常不满意",
    }
}

pub fn thanks_for_rating(sig: &str, number: &str, score: u8) -> String {
    format!(
        "{sig}已收到您对诉求{number}的评价：{}。感谢您的支持！",
        rating_word(score)
    )
}

pub fn reopened_to_villager(sig: &str, number: &str) -> String {
    format!("{sig}已收到您对诉求{number}的评价。诉求已重新办理，纪委将监督。")
}

pub fn bad_rating_alert(number: &str, village: &str, score: u8) -> String {
    format!(
        "【差评】诉求{number} {village} 群众评价{score}（{}），已重新打开，请监督。",
        rating_word(score)
    )
}

pub fn reopened_alert(number: &str, village: &str, why: &str) -> String {
    format!("【重办】诉求{number} {village}：{why}。回复JS{number}受理")
}

pub fn respond_reminder(number: &str, colour: Colour, minutes: i64) -> String {
    format!(
        "【提醒·{}】诉求{number}还有{minutes}分钟到响应时限，请回复JS{number}受理",
        colour.chinese()
    )
}

pub fn resolve_reminder(number: &str, colour: Colour, minutes: i64) -> String {
    format!(
        "【提醒·{}】诉求{number}还有{}到办结时限，请回复BJ{number}+结果办结",
        colour.chinese(),
        span(minutes)
    )
}

fn span(minutes: i64) -> String {
    if minutes >= 120 {
        format!("{}小时", minutes / 60)
    } else {
        format!("{minutes}分钟")
    }
}

/// To the town office when a deadline passes.
pub fn overdue_to_town(
    number: &str,
    colour: Colour,
    village: &str,
    what: &str,
    cadre: &str,
) -> String {
    format!(
        "【超时上报·{}】诉求{number} {village} 超过{what}时限未办（{cadre}），请督办。回复JS{number}受理",
        colour.chinese()
    )
}

pub fn overdue_to_inspector(number: &str, village: &str, what: &str, cadre: &str) -> String {
    format!("【纪委监督】诉求{number} {village} 超过{what}时限（{cadre}），已上报镇里。")
}

pub fn escalated_to_town(
    number: &str,
    colour: Colour,
    village: &str,
    masked: &str,
    text: &str,
    by: &str,
) -> String {
    format!(
        "【上报·{}】{number} {village} {masked}：{}{by}上报，回复JS{number}受理",
        colour.chinese(),
        with_stop(&preview(text, 12))
    )
}

pub fn progress(sig: &str, number: &str, status: &str, cadre: Option<&str>) -> String {
    let who = cadre.map(|c| format!("（{c}）")).unwrap_or_default();
    let state = match status {
        "open" => "已登记，等待村干部受理".to_string(),
        "accepted" => format!("已受理，正在办理{who}"),
        "resolved" => "已办结，等待您的评价".to_string(),
        "closed" => "已办结并评价".to_string(),
        "reopened" => format!("正在重新办理{who}"),
        other => other.to_string(),
    };
    format!("{sig}诉求{number}：{state}。")
}

pub fn repeat_noted(sig: &str, number: &str, status: &str, cadre: Option<&str>) -> String {
    format!(
        "{}您反映的问题已在处理中，不再重复登记。",
        progress(sig, number, status, cadre)
    )
}

pub fn appended(sig: &str, number: &str) -> String {
    format!("{sig}已补充到您的诉求{number}。")
}

pub fn no_appeal(sig: &str) -> String {
    format!("{sig}没有找到您的诉求。直接发短信说明问题即可登记。")
}

pub fn villager_help(sig: &str) -> String {
    // The four sections of the platform by keyword (affairs::replies keeps their answers).
    format!("{sig}发短信说问题即可登记诉求。CX查进度，GK三务公开，GK CW看财务，BS办事指南，ZK加问题问专家，DY订阅，TD退订。")
}

pub fn opted_out(sig: &str) -> String {
    format!("{sig}已退订评价提醒。")
}

pub fn no_pending_survey(sig: &str) -> String {
    format!("{sig}您目前没有待评价的诉求。回复CX查询进度。")
}

/// For cadres: the command set and the PIN format.
pub const CADRE_HELP: &str = "命令：JS编号受理 HF编号+内容回复群众 XS编号+记录 BJ编号+结果办结 ZB编号+干部转办 SB编号上报 FL编号+红/黄/绿 LB列表。编号可只写当天序号如JS002；设了PIN的在编号后加#PIN，如JS002#1234";

pub fn unknown_command() -> String {
    format!("未识别的命令。{CADRE_HELP}")
}

pub fn malformed(expected: &str) -> String {
    format!("命令格式不对，应为：{expected}")
}

pub fn refused_not_cadre(sig: &str) -> String {
    format!("{sig}本号码不是登记的干部号码，不能使用该命令。如要反映问题，请直接说明。")
}

pub const WRONG_PIN: &str = "PIN不对或缺少PIN，命令未执行。格式：JS002#1234";

/// After five wrong PINs in an hour (see `commands::PIN_LOCK_AFTER`).
pub const PIN_LOCKED: &str =
    "PIN连续错误次数过多，本号码的干部命令暂停1小时。如非本人操作，请联系镇政府。";

/// An appeal number read digit by digit ("2 0 2 6 ..."): TTS reads a run of digits as one
/// large number, which nobody can write down.
pub fn spoken_digits(number: &str) -> String {
    number
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
}
