//! The HTML side: log-in, the status page, an appeal's page and the supervision page. Server-rendered strings with
//! every value escaped; Chinese by default, English by a cookie; CSS inlined and the one
//! script served from the binary, so there is no asset pipeline outside cargo.

mod appeal;
mod login;
mod names;
mod notices;
pub mod status;
mod supervision;

use std::collections::HashMap;

use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::auth::Principal;
use super::{page_principal, Web};

pub const LANG_COOKIE: &str = "ag_lang";
const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn from_cookie(c: Option<&str>) -> Lang {
        if c == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// Picks the phrase in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        self.t("zh", "en")
    }
}

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A redirect target from a query: only a path on this site. Browsers drop tabs and newlines
/// from a Location and read `\` as `/`, so `/%09/evil.example` would leave the site as
/// `//evil.example`; only printable ASCII without spaces or backslashes passes, and the second
/// character may not be a slash.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => "/",
    }
}

/// The page around `body`: header with the user, the language switch and log-out.
pub fn layout(lang: Lang, title: &str, who: Option<&Principal>, here: &str, body: &str) -> String {
    let other = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    let user = match who {
        Some(p) => format!(
            r#"<nav><a id="nav-status" href="/">{}</a> <a id="nav-supervision" href="/supervision">{}</a> <a id="nav-notices" href="/notices">{}</a></nav><span class="user">{} ({})</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="{}"><button type="submit" id="logout">{}</button></form>"#,
            lang.t("运行状态", "Status"),
            lang.t("纪委监督", "Supervision"),
            lang.t("公开与办事", "Notices"),
            esc(&p.name),
            esc(p.role.as_str()),
            esc(p.csrf()),
            lang.t("退出", "Log out")
        ),
        None => String::new(),
    };
    let csrf_meta = who
        .map(|p| format!(r#"<meta name="csrf" content="{}">"#, esc(p.csrf())))
        .unwrap_or_default();
    let script = if who.is_some() {
        r#"<script src="/assets/app.js" defer></script>"#
    } else {
        ""
    };
    format!(
        r#"<!doctype html><html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">{csrf_meta}<title>{title}</title><style>{CSS}</style>{script}</head>
<body><header><h1><a href="/">{brand}</a></h1><a id="lang" href="/lang/{other_code}?next={here}">{other_name}</a>{user}</header><main>{body}</main></body></html>"#,
        code = lang.code(),
        title = esc(title),
        brand = lang.t("码上办短信网关", "Appeal SMS gateway"),
        other_code = other.0,
        other_name = other.1,
        here = esc(&urlencode(here)),
    )
}

fn urlencode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn html(status: StatusCode, body: String) -> warp::reply::Response {
    let mut r = warp::reply::with_status(warp::reply::html(body), status).into_response();
    // Pages show personal data: never cache them, and let nothing else frame or script them.
    let h = r.headers_mut();
    h.insert(
        "cache-control",
        warp::http::HeaderValue::from_static("no-store"),
    );
    h.insert(
        "content-security-policy",
        warp::http::HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

/// A page handler's result as the browser should see it: a request error (4xx with a reason)
/// becomes a page saying so, with a link back to `back`; storage errors stay the usual 503.
pub(super) fn or_error_page(
    lang: Lang,
    p: &Principal,
    title: &str,
    back: &str,
    r: Result<warp::reply::Response, warp::Rejection>,
) -> Result<warp::reply::Response, warp::Rejection> {
    let e = match r {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    match e.find::<super::ApiError>() {
        Some(a) if a.status.is_client_error() => Ok(html(
            a.status,
            layout(
                lang,
                title,
                Some(p),
                back,
                &format!(
                    r#"<section><h2 class="err" id="error">{}</h2><p><a href="{}">{}</a></p></section>"#,
                    esc(&a.message),
                    esc(back),
                    lang.t("返回", "Back")
                ),
            ),
        )),
        _ => Err(e),
    }
}

fn lang_cookie() -> impl Filter<Extract = (Lang,), Error = std::convert::Infallible> + Clone {
    warp::cookie::optional::<String>(LANG_COOKIE)
        .map(|c: Option<String>| Lang::from_cookie(c.as_deref()))
}

pub fn routes(
    w: Web,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let status = warp::path::end()
        .and(warp::get())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(super::with_web(w.clone()))
        .and_then(status::page);
    let appeal = warp::path!("appeals" / String)
        .and(warp::get())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(super::with_web(w.clone()))
        .and_then(appeal::page);
    let supervision = warp::path!("supervision")
        .and(warp::get())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(warp::query::<HashMap<String, String>>())
        .and(super::with_web(w.clone()))
        .and_then(supervision::page);
    let drill = warp::path!("supervision" / "drill")
        .and(warp::get())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(warp::query::<HashMap<String, String>>())
        .and(super::with_web(w.clone()))
        .and_then(supervision::drill);
    let chart = warp::path!("supervision" / "charts" / String)
        .and(warp::get())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(super::with_web(w.clone()))
        .and_then(supervision::chart);
    let handle = warp::path!("supervision" / "warnings" / i64 / "handle")
        .and(warp::post())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(warp::body::content_length_limit(4096))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(super::with_web(w.clone()))
        .and_then(supervision::handle);
    let form = || {
        warp::body::content_length_limit(16 * 1024)
            .and(warp::body::form::<HashMap<String, String>>())
    };
    let notices_page = warp::path!("notices")
        .and(warp::get())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(super::with_web(w.clone()))
        .and_then(notices::page);
    let notice_edit = warp::path!("notices" / i64)
        .and(warp::get())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(super::with_web(w.clone()))
        .and_then(notices::edit);
    let notice_create = warp::path!("notices")
        .and(warp::post())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(form())
        .and(super::with_web(w.clone()))
        .and_then(notices::create);
    let notice_update = warp::path!("notices" / i64)
        .and(warp::post())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(form())
        .and(super::with_web(w.clone()))
        .and_then(notices::update);
    let notice_delete = warp::path!("notices" / i64 / "delete")
        .and(warp::post())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(form())
        .and(super::with_web(w.clone()))
        .and_then(notices::delete);
    let notice_send = warp::path!("notices" / i64 / "broadcast")
        .and(warp::post())
        .and(page_principal(w.clone()))
        .and(lang_cookie())
        .and(form())
        .and(super::with_web(w.clone()))
        .and_then(notices::send);
    let js = warp::path!("assets" / "app.js")
        .and(warp::get())
        .and(page_principal(w.clone()))
        .map(|_p: Principal| {
            warp::reply::with_header(JS, "content-type", "application/javascript; charset=utf-8")
        });
    let lang = warp::path!("lang" / String)
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .and_then(|to: String, q: HashMap<String, String>| async move {
            if to != "zh" && to != "en" {
                return Err(warp::reject::not_found());
            }
            let next = safe_next(q.get("next").map(String::as_str)).to_string();
            Ok::<_, warp::Rejection>(
                warp::http::Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header("location", next)
                    .header(
                        "set-cookie",
                        format!("{LANG_COOKIE}={to}; SameSite=Strict; Path=/; Max-Age=31536000"),
                    )
                    .body(warp::hyper::Body::empty())
                    .unwrap_or_default(),
            )
        });
    status
        .or(appeal)
        .or(supervision)
        .or(drill)
        .or(chart)
        .or(handle)
        .or(notices_page)
        .or(notice_edit)
        .or(notice_create)
        .or(notice_update)
        .or(notice_delete)
        .or(notice_send)
        .or(js)
        .or(lang)
        .or(login::routes(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>"a"&'b'"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;"
        );
    }

    #[test]
    fn next_stays_on_this_site() {
        for (n, want) in [
            (Some("/appeals/20220713001"), "/appeals/20220713001"),
            (Some("//evil.example/"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("/\\evil"), "/"),
            (Some("/\t/evil.example"), "/"),
            (Some("/\n/evil.example"), "/"),
            (Some("/\r\n/evil.example"), "/"),
            (Some("/ /evil.example"), "/"),
            (Some("/\u{3000}/evil.example"), "/"),
            (Some("/appeals?x=1&y=%2F"), "/appeals?x=1&y=%2F"),
            (None, "/"),
        ] {
            assert_eq!(safe_next(n), want, "{n:?}");
        }
    }

    #[test]
    fn layout_escapes_the_user_and_carries_csrf() {
        let p = Principal {
            name: "<b>".into(),
            role: crate::config::Role::Viewer,
            via: super::super::auth::Via::Session { csrf: "tok".into() },
        };
        let h = layout(Lang::En, "t", Some(&p), "/", "");
        assert!(h.contains("&lt;b&gt; (viewer)"));
        assert!(h.contains(r#"name="csrf" value="tok""#));
        assert!(h.contains(r#"<html lang="en">"#));
        assert!(h.contains("/lang/zh?next=/"));
    }
}
