//! One appeal's page: its details, the timeline through the five steps, every SMS in and out,
//! and the rating.

use std::fmt::Write;

use super::names::{channel_name, colour_name, kind_name, status_name, step_name, STEPS};
use super::{esc, html, layout, Lang};
use crate::appeals::get_appeal;
use crate::web::auth::Principal;
use crate::web::dashboard::{self, local_short};
use crate::web::{internal, Web};

pub async fn page(
    number: String,
    p: Principal,
    lang: Lang,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let t = |zh, en| lang.t(zh, en);
    let here = format!("/appeals/{number}");
    let not_found = |msg: &str| {
        html(
            warp::http::StatusCode::NOT_FOUND,
            layout(
                lang,
                msg,
                Some(&p),
                "/",
                &format!("<section><h2>{}</h2></section>", esc(msg)),
            ),
        )
    };
    if number.len() < 11 || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(not_found(t(
            "没有这个编号的诉求",
            "No appeal with this number",
        )));
    }
    let s = &w.shared;
    let tz = s.config.time_zone;
    let Some(a) = get_appeal(&s.store, &number).await.map_err(internal)? else {
        return Ok(not_found(t(
            "没有这个编号的诉求",
            "No appeal with this number",
        )));
    };
    let m = dashboard::milestones(&s.store, a.id)
        .await
        .map_err(internal)?;
    let events = dashboard::timeline(&s.store, a.id)
        .await
        .map_err(internal)?;
    let sms = dashboard::sms_of(&s.store, a.id).await.map_err(internal)?;
    let when = |ms: Option<i64>| {
        ms.map(|ms| local_short(ms, tz))
            .unwrap_or_else(|| "-".into())
    };
    let filed = local_short(a.filed_at, tz);

    // A cadre is named, and their number shown as the reader may see it.
    let cadre = match (&a.cadre_name, &a.cadre) {
        (Some(name), Some(phone)) => format!("{name} {}", p.phone(phone)),
        (None, Some(phone)) => p.phone(phone),
        (Some(name), None) => name.clone(),
        (None, None) => "-".into(),
    };
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<section class="{colour}"><h2><span class="dot"></span>{} {num}</h2><table id="detail">
<tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>
<tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>
<tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>
<tr><th>{}</th><td id="rating">{}</td></tr><tr><th>{}</th><td class="text">{}</td></tr></table></section>"#,
        t("诉求", "Appeal"),
        t("电话", "Phone"),
        esc(&p.phone(&a.phone)),
        t("村", "Village"),
        esc(a.village.as_deref().unwrap_or("-")),
        t("类别 / 颜色", "Category / colour"),
        format_args!(
            "{} / {}",
            esc(&a.category),
            esc(&colour_name(lang, a.colour.as_str()))
        ),
        t("状态 / 环节", "Status / step"),
        format_args!(
            "{} / {}",
            esc(&status_name(lang, a.status.as_str())),
            esc(&step_name(lang, a.step.as_str()))
        ),
        t("负责干部", "Cadre"),
        esc(&cadre),
        t("受理", "Filed"),
        filed,
        t("响应期限 / 已响应", "Respond by / accepted"),
        format_args!("{} / {}", when(m.respond_by_ms), when(m.accepted_at_ms)),
        t("办结期限 / 已办结", "Resolve by / resolved"),
        format_args!("{} / {}", when(m.resolve_by_ms), when(m.resolved_at_ms)),
        t("短信数", "SMS"),
        sms.len(),
        t("群众评价", "Rating"),
        a.rating
            .map(|r| format!("{r} / 5 {}", "★".repeat(r.clamp(0, 5) as usize)))
            .unwrap_or_else(|| t("尚未评价", "not rated yet").into()),
        t("内容", "Text"),
        esc(&p.text(&a.text)),
        colour = a.colour.as_str(),
        num = esc(&a.number),
    );

    // The five steps, each with its events; steps before the current one are done.
    let current = STEPS.iter().position(|s| *s == a.step);
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><ol class="steps" id="timeline">"#,
        t("办理进程", "Timeline")
    );
    for (i, st) in STEPS.iter().enumerate() {
        let class = match current {
            Some(c) if i < c => "done",
            Some(c) if i == c => "current",
            _ => "",
        };
        let _ = write!(
            b,
            r#"<li class="{class}" data-step="{}"><h3>{}. {}</h3><ul>"#,
            st.as_str(),
            i + 1,
            esc(&step_name(lang, st.as_str()))
        );
        for e in events.iter().filter(|e| e.step == st.as_str()) {
            let _ = write!(
                b,
                r#"<li data-event="{}">{} <b>{}</b> {} <span class="muted">{}</span> {}</li>"#,
                e.id,
                local_short(e.at_ms, tz),
                esc(&kind_name(lang, &e.kind)),
                esc(&p.actor(&e.actor)),
                esc(&channel_name(lang, &e.channel)),
                esc(&p.text(&e.text)),
            );
        }
        b.push_str("</ul></li>");
    }
    // Events whose step is none of the five (should not happen) are still shown.
    let odd: Vec<_> = events
        .iter()
        .filter(|e| !STEPS.iter().any(|s| s.as_str() == e.step))
        .collect();
    if !odd.is_empty() {
        b.push_str("<li><h3>?</h3><ul>");
        for e in odd {
            let _ = write!(
                b,
                "<li>{} <b>{}</b> {}</li>",
                local_short(e.at_ms, tz),
                esc(&kind_name(lang, &e.kind)),
                esc(&p.text(&e.text))
            );
        }
        b.push_str("</ul></li>");
    }
    b.push_str("</ol></section>");

    let _ = write!(
        b,
        r#"<section><h2>{}</h2><table id="sms"><thead><tr><th>{}</th><th></th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t("短信往来", "SMS in and out"),
        t("时间", "Time"),
        t("对方", "Peer"),
        t("调制解调器", "Modem"),
        t("状态", "State"),
        t("内容", "Text"),
    );
    for m in &sms {
        let _ = write!(
            b,
            r#"<tr class="{dir}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="text">{}</td></tr>"#,
            local_short(m.at_ms, tz),
            if m.direction == "in" {
                t("收 ←", "in ←")
            } else {
                t("发 →", "out →")
            },
            esc(&p.phone(&m.peer)),
            esc(m.modem.as_deref().unwrap_or("-")),
            esc(m.state.as_deref().unwrap_or("")),
            esc(&p.text(&m.text)),
            dir = m.direction,
        );
    }
    b.push_str("</tbody></table></section>");
    Ok(html(
        warp::http::StatusCode::OK,
        layout(lang, &a.number, Some(&p), &here, &b),
    ))
}
