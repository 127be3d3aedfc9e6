//! The notices page (三务公开与办事指南): the notices and service guides in force and
//! withdrawn-not, an editor for admins (create, edit, withdraw, broadcast to the village's
//! subscribers) and each broadcast's progress. Plain forms posting with the session's CSRF
//! token; the same checks and functions as the API (`web::affairs`).

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{NaiveDate, TimeZone};
use warp::http::StatusCode;

use super::{esc, html, layout, Lang};
use crate::affairs::broadcast;
use crate::affairs::notices::{self, Notice, NoticeIn, SERVICE};
use crate::web::affairs::{author, check, start_broadcast};
use crate::web::auth::Principal;
use crate::web::dashboard::local_short;
use crate::web::{internal, reject, Web};

type Form = HashMap<String, String>;

const KINDS: [(&str, &str, &str); 4] = [
    ("party", "党务公开", "Party affairs"),
    ("village", "村务公开", "Village affairs"),
    ("finance", "财务公开", "Finance"),
    (SERVICE, "办事指南", "Service guide"),
];

fn kind_name(lang: Lang, kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map_or("", |(_, zh, en)| lang.t(zh, en))
}

fn see_other(to: &str) -> warp::reply::Response {
    warp::http::Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", to)
        .body(warp::hyper::Body::empty())
        .unwrap_or_default()
}

/// A request error as a page (see [`super::or_error_page`]).
fn or_page(
    lang: Lang,
    p: &Principal,
    r: Result<warp::reply::Response, warp::Rejection>,
) -> Result<warp::reply::Response, warp::Rejection> {
    super::or_error_page(lang, p, lang.t("公开与办事", "Notices"), "/notices", r)
}

/// Admins only, with the form's CSRF token.
fn may_edit(p: &Principal, form: &Form) -> Result<(), warp::Rejection> {
    if !p.is_admin() {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "this account is read-only (role viewer)",
        ));
    }
    if !p.csrf_ok(form.get("csrf").map(String::as_str)) {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "the form expired; reload the page and try again",
        ));
    }
    Ok(())
}

/// A local date (YYYY-MM-DD) as ms at its midnight; empty = none.
fn date_ms(w: &Web, s: Option<&String>, field: &str) -> Result<Option<i64>, warp::Rejection> {
    let Some(s) = s.map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        reject(
            StatusCode::BAD_REQUEST,
            format!("{field}: write a date as 2026-12-31"),
        )
    })?;
    let tz = w.shared.config.time_zone;
    Ok(tz
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.timestamp_millis()))
}

fn from_form(w: &Web, f: &Form) -> Result<NoticeIn, warp::Rejection> {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let n = NoticeIn {
        village: get("village"),
        kind: get("kind"),
        topic: get("topic"),
        aliases: get("aliases")
            .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        title: get("title"),
        body: get("body"),
        valid_from: date_ms(w, f.get("valid_from"), "valid_from")?,
        valid_to: date_ms(w, f.get("valid_to"), "valid_to")?,
    };
    check(w, n)
}

fn editor(lang: Lang, p: &Principal, w: &Web, n: Option<&Notice>) -> String {
    let t = |zh, en| lang.t(zh, en);
    let dir = w.shared.directory.current();
    let tz = w.shared.config.time_zone;
    let day = |ms: Option<i64>| {
        ms.map(|m| {
            crate::store::from_millis(m)
                .with_timezone(&tz)
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default()
    };
    let village = n.map_or("", |n| n.village.as_str());
    let mut villages = format!(
        r#"<option value=""{}>{}</option>"#,
        if village.is_empty() { " selected" } else { "" },
        t("全部村（仅办事指南）", "Every village (guides only)")
    );
    for v in &dir.villages {
        let _ = write!(
            villages,
            r#"<option value="{c}"{s}>{name} ({c})</option>"#,
            c = esc(&v.code),
            name = esc(&v.name),
            s = if v.code == village || (n.is_none() && dir.villages.len() == 1) {
                " selected"
            } else {
                ""
            }
        );
    }
    let kind = n.map_or("village", |n| n.kind.as_str());
    let kinds: String = KINDS
        .iter()
        .map(|(k, zh, en)| {
            format!(
                r#"<option value="{k}"{}>{}</option>"#,
                if *k == kind { " selected" } else { "" },
                lang.t(zh, en)
            )
        })
        .collect();
    let action = n.map_or("/notices".to_string(), |n| format!("/notices/{}", n.id));
    format!(
        r#"<form method="post" action="{action}" id="notice-form" class="editor"><input type="hidden" name="csrf" value="{csrf}">
<label>{lv}<select name="village" id="f-village">{villages}</select></label>
<label>{lk}<select name="kind" id="f-kind">{kinds}</select></label>
<label>{lt}<input name="topic" id="f-topic" value="{topic}" maxlength="20" placeholder="低保"></label>
<label>{la}<input name="aliases" id="f-aliases" value="{aliases}" placeholder="最低生活保障 DB"></label>
<label>{ltitle}<input name="title" id="f-title" value="{title}" required maxlength="60"></label>
<label>{lbody}<textarea name="body" id="f-body" required maxlength="2000" rows="4">{body}</textarea></label>
<label>{lfrom}<input name="valid_from" id="f-from" value="{from}" placeholder="2026-12-01"></label>
<label>{lto}<input name="valid_to" id="f-to" value="{to}" placeholder="2026-12-31"></label>
<button type="submit" id="f-save">{save}</button></form>"#,
        csrf = esc(p.csrf()),
        lv = t("村", "Village"),
        lk = t("类别", "Kind"),
        lt = t("事项（办事指南）", "Topic (guides)"),
        la = t("别名", "Aliases"),
        ltitle = t("标题", "Title"),
        lbody = t("内容", "Body"),
        lfrom = t("生效日期", "Valid from"),
        lto = t("截止日期", "Valid to"),
        save = t("保存", "Save"),
        topic = esc(n.map_or("", |n| n.topic.as_str())),
        aliases = esc(&n.map(|n| n.aliases.join(" ")).unwrap_or_default()),
        title = esc(n.map_or("", |n| n.title.as_str())),
        body = esc(n.map_or("", |n| n.body.as_str())),
        from = day(n.map(|n| n.valid_from)),
        to = day(n.and_then(|n| n.valid_to)),
    )
}

pub async fn page(
    p: Principal,
    lang: Lang,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let t = |zh, en| lang.t(zh, en);
    let store = &w.shared.store;
    let tz = w.shared.config.time_zone;
    let list = notices::list(store, None, None, 500)
        .await
        .map_err(internal)?;
    let mut b = format!(
        r#"<section><h2>{}</h2><table id="notices"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        t("三务公开与办事指南", "Notices and service guides"),
        t("村", "Village"),
        t("类别", "Kind"),
        t("标题", "Title"),
        t("内容", "Body"),
        t("有效期", "Valid"),
        t("编辑人", "Author")
    );
    for n in &list {
        let actions = if p.is_admin() {
            let bc = if n.village.is_empty() {
                String::new()
            } else {
                format!(
                    r#"<form method="post" action="/notices/{id}/broadcast" class="inline"><input type="hidden" name="csrf" value="{c}"><button type="submit" class="broadcast">{}</button></form>"#,
                    t("群发订阅者", "Text subscribers"),
                    id = n.id,
                    c = esc(p.csrf())
                )
            };
            format!(
                r#"<a href="/notices/{id}">{}</a> <form method="post" action="/notices/{id}/delete" class="inline"><input type="hidden" name="csrf" value="{c}"><button type="submit">{}</button></form> {bc}"#,
                t("编辑", "Edit"),
                t("撤下", "Withdraw"),
                id = n.id,
                c = esc(p.csrf())
            )
        } else {
            String::new()
        };
        let _ = write!(
            b,
            r#"<tr data-id="{id}"><td>{id}</td><td>{v}</td><td>{k}{topic}</td><td>{title}</td><td class="text">{body}</td><td>{from} – {to}</td><td>{author}</td><td>{actions}</td></tr>"#,
            id = n.id,
            v = esc(if n.village.is_empty() {
                t("全部", "all")
            } else {
                &n.village
            }),
            k = kind_name(lang, &n.kind),
            topic = if n.topic.is_empty() {
                String::new()
            } else {
                format!(" · {}", esc(&n.topic))
            },
            title = esc(&n.title),
            body = esc(&n.body),
            from = local_short(n.valid_from, tz),
            to = n.valid_to.map(|m| local_short(m, tz)).unwrap_or_default(),
            author = esc(&p.actor(&n.author)),
        );
    }
    b.push_str("</tbody></table></section>");
    if p.is_admin() {
        let _ = write!(
            b,
            "<section><h2>{}</h2>{}</section>",
            t("发布", "Publish"),
            editor(lang, &p, &w, None)
        );
    }
    let progress = broadcast::progress(store, 20).await.map_err(internal)?;
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><table id="broadcasts"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t("群发进度", "Broadcasts"),
        t("村", "Village"),
        t("订阅者", "Subscribers"),
        t("已排队", "Queued"),
        t("已发送", "Sent"),
        t("已退订取消", "Cancelled"),
        t("未确认", "Unconfirmed"),
        t("时间", "When")
    );
    for g in progress {
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{}{}</td></tr>"#,
            g.id,
            esc(&g.village),
            g.total,
            g.queued,
            g.sent,
            g.cancelled,
            g.unconfirmed,
            local_short(g.created_at, tz),
            if g.done_at.is_some() { "" } else { " …" }
        );
    }
    b.push_str("</tbody></table></section>");
    Ok(html(
        StatusCode::OK,
        layout(lang, t("公开与办事", "Notices"), Some(&p), "/notices", &b),
    ))
}

pub async fn edit(
    id: i64,
    p: Principal,
    lang: Lang,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let r = async {
        let Some(n) = notices::get(&w.shared.store, id).await.map_err(internal)? else {
            return Err(reject(StatusCode::NOT_FOUND, format!("no notice {id}")));
        };
        if !p.is_admin() {
            return Err(reject(
                StatusCode::FORBIDDEN,
                "this account is read-only (role viewer)",
            ));
        }
        let b = format!(
            "<section><h2>{} #{id}</h2>{}</section>",
            lang.t("编辑", "Edit"),
            editor(lang, &p, &w, Some(&n))
        );
        Ok(html(
            StatusCode::OK,
            layout(
                lang,
                lang.t("公开与办事", "Notices"),
                Some(&p),
                "/notices",
                &b,
            ),
        ))
    }
    .await;
    or_page(lang, &p, r)
}

pub async fn create(
    p: Principal,
    lang: Lang,
    form: Form,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let r = async {
        may_edit(&p, &form)?;
        let n = from_form(&w, &form)?;
        notices::create(&w.shared.store, &n, &author(&p), w.shared.clock.now())
            .await
            .map_err(internal)?;
        Ok(see_other("/notices"))
    }
    .await;
    or_page(lang, &p, r)
}

pub async fn update(
    id: i64,
    p: Principal,
    lang: Lang,
    form: Form,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let r = async {
        may_edit(&p, &form)?;
        let n = from_form(&w, &form)?;
        match notices::update(&w.shared.store, id, &n, &author(&p), w.shared.clock.now())
            .await
            .map_err(internal)?
        {
            Some(_) => Ok(see_other("/notices")),
            None => Err(reject(StatusCode::NOT_FOUND, format!("no notice {id}"))),
        }
    }
    .await;
    or_page(lang, &p, r)
}

pub async fn delete(
    id: i64,
    p: Principal,
    lang: Lang,
    form: Form,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let r = async {
        may_edit(&p, &form)?;
        if notices::delete(&w.shared.store, id, &author(&p), w.shared.clock.now())
            .await
            .map_err(internal)?
        {
            Ok(see_other("/notices"))
        } else {
            Err(reject(StatusCode::NOT_FOUND, format!("no notice {id}")))
        }
    }
    .await;
    or_page(lang, &p, r)
}

pub async fn send(
    id: i64,
    p: Principal,
    lang: Lang,
    form: Form,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let r = async {
        may_edit(&p, &form)?;
        start_broadcast(&w, &p, id).await?;
        Ok(see_other("/notices#broadcasts"))
    }
    .await;
    or_page(lang, &p, r)
}
