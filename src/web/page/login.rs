//! GET/POST /login and POST /logout. The log-in form's CSRF token is a double-submit cookie;
//! attempts are rate-limited per client address before argon2 runs.

use std::collections::HashMap;
use std::net::SocketAddr;

use warp::http::StatusCode;
use warp::Filter;

use super::{esc, html, lang_cookie, layout, Lang};
use crate::web::{auth, csrf, session, with_web, Web};

fn form(lang: Lang, token: &str, flash: Option<&str>) -> String {
    let flash = flash
        .map(|f| format!(r#"<p class="flash" id="flash">{}</p>"#, esc(f)))
        .unwrap_or_default();
    let body = format!(
        r#"<form class="login" method="post" action="/login">
<h2>{title}</h2>{flash}
<input type="hidden" name="csrf" value="{token}">
<label for="name">{name}</label><input id="name" name="name" autocomplete="username" required>
<label for="password">{pw}</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login">{go}</button></form>"#,
        title = lang.t("登录", "Log in"),
        name = lang.t("用户名", "Name"),
        pw = lang.t("密码", "Password"),
        go = lang.t("登录", "Log in"),
        token = esc(token),
    );
    layout(lang, lang.t("登录", "Log in"), None, "/login", &body)
}

/// The form with a fresh double-submit token set as a cookie scoped to /login.
fn form_reply(lang: Lang, status: StatusCode, flash: Option<&str>) -> warp::reply::Response {
    let token = csrf::new_token();
    let mut r = html(status, form(lang, &token, flash));
    if let Ok(v) = warp::http::HeaderValue::from_str(&format!(
        "{}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600",
        csrf::LOGIN_COOKIE
    )) {
        r.headers_mut().insert("set-cookie", v);
    }
    r
}

fn redirect(to: &str, cookie: Option<String>) -> warp::reply::Response {
    let mut b = warp::http::Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", to);
    if let Some(c) = cookie {
        b = b.header("set-cookie", c);
    }
    b.body(warp::hyper::Body::empty()).unwrap_or_default()
}

pub fn routes(
    w: Web,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let show = warp::path!("login")
        .and(warp::get())
        .and(lang_cookie())
        .map(|lang: Lang| form_reply(lang, StatusCode::OK, None));
    let submit = warp::path!("login")
        .and(warp::post())
        .and(warp::addr::remote())
        .and(lang_cookie())
        .and(warp::cookie::optional::<String>(csrf::LOGIN_COOKIE))
        .and(warp::body::content_length_limit(4096))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_web(w.clone()))
        .and_then(submit);
    let logout = warp::path!("logout")
        .and(warp::post())
        .and(warp::cookie::optional::<String>(session::COOKIE))
        .and(warp::body::content_length_limit(4096))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_web(w))
        .and_then(logout);
    show.or(submit).or(logout)
}

async fn submit(
    addr: Option<SocketAddr>,
    lang: Lang,
    cookie: Option<String>,
    f: HashMap<String, String>,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let ip = addr
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    if w.login_limit.check_key(&ip).is_err() {
        tracing::warn!(%ip, "log-in rate limit hit");
        return Ok(form_reply(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            Some(lang.t(
                "尝试次数太多，请一分钟后再试",
                "Too many attempts; wait a minute",
            )),
        ));
    }
    if !csrf::check(
        cookie.as_deref().unwrap_or(""),
        f.get("csrf").map(String::as_str),
    ) {
        return Ok(form_reply(
            lang,
            StatusCode::FORBIDDEN,
            Some(lang.t("表单已过期，请重新登录", "The form expired; log in again")),
        ));
    }
    let name = f.get("name").map(|s| s.trim()).unwrap_or("");
    let password = f.get("password").map(String::as_str).unwrap_or("");
    let Some(role) = auth::check_login(&w.shared.config, name, password).await else {
        tracing::warn!(%ip, account = %name, "failed log-in");
        return Ok(form_reply(
            lang,
            StatusCode::UNAUTHORIZED,
            Some(lang.t("用户名或密码错误", "Wrong name or password")),
        ));
    };
    let token = session::create(&w.shared.store, name, role, w.now_ms())
        .await
        .map_err(super::super::internal)?;
    tracing::info!(account = %name, role = role.as_str(), "logged in");
    Ok(redirect("/", Some(session::set_cookie(&token))))
}

async fn logout(
    cookie: Option<String>,
    f: HashMap<String, String>,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    if let Some(token) = cookie {
        let s = session::find(&w.shared.store, &token, w.now_ms())
            .await
            .map_err(super::super::internal)?;
        // A cross-site form cannot know the session's CSRF token, so it cannot log anyone out.
        if let Some(s) = s {
            if !csrf::check(&s.csrf, f.get("csrf").map(String::as_str)) {
                return Err(super::super::reject(
                    StatusCode::FORBIDDEN,
                    "missing or wrong CSRF token",
                ));
            }
            session::delete(&w.shared.store, &token)
                .await
                .map_err(super::super::internal)?;
        }
    }
    Ok(redirect("/login", Some(session::clear_cookie())))
}
