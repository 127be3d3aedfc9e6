//! The web side: status page, JSON API, Open311, metrics and health, served by warp from the
//! daemon with every asset compiled into the binary. Reads the store and the modems' live
//! state; writes only through the same functions the SMS side uses.
//!
//! Access: /healthz and the log-in page are open; pages need a log-in session (cookie), the
//! API and Open311 a session or a bearer token from `[api] tokens` (see [`auth`]).

pub mod affairs;
pub mod api;
pub mod auth;
pub mod csrf;
pub mod dashboard;
pub mod metrics;
pub mod open311;
pub mod page;
pub mod session;
mod shared;
pub mod supervision;

pub use shared::Shared;

use std::convert::Infallible;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use auth::{Denied, LoginLimiter, Principal};

/// What every handler gets: the daemon's shared state plus the web's own.
#[derive(Clone)]
pub struct Web {
    pub shared: Shared,
    pub login_limit: LoginLimiter,
    /// The status page's data, shared for up to a second (see `page::status`).
    pub page_cache: PageCache,
    /// Supervision's period facts, shared for up to a minute (see `supervision`).
    pub supervision: supervision::Cache,
}

pub type PageCache = std::sync::Arc<
    tokio::sync::Mutex<
        Option<(
            std::time::Instant,
            i64,
            std::sync::Arc<page::status::Snapshot>,
        )>,
    >,
>;

impl Web {
    pub fn new(shared: Shared) -> Web {
        Web {
            shared,
            login_limit: auth::login_limiter(),
            page_cache: PageCache::default(),
            supervision: supervision::Cache::default(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.shared.clock.now().timestamp_millis()
    }
}

/// Binds the listen address and serves until shutdown.
pub async fn serve(
    shared: Shared,
    shutdown: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let addr = shared.config.web.listen;
    let (_bound, server) = bind(shared, addr, shutdown)?;
    Ok(tokio::spawn(server))
}

/// Binds `addr` (port 0 picks a free one) and returns the bound address and the server future.
pub fn bind(
    shared: Shared,
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> std::io::Result<(std::net::SocketAddr, impl std::future::Future<Output = ()>)> {
    let routes = routes(shared)
        .recover(handle_rejection)
        .with(warp::reply::with::header(
            "x-content-type-options",
            "nosniff",
        ))
        .with(warp::reply::with::header("x-frame-options", "DENY"))
        .with(warp::reply::with::header("referrer-policy", "same-origin"))
        .with(warp::trace::request());
    let signal = async move { shutdown.cancelled().await };
    warp::serve(routes)
        .try_bind_with_graceful_shutdown(addr, signal)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::AddrInUse, e.to_string()))
}

pub fn routes(
    shared: Shared,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let web = Web::new(shared.clone());
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(move || healthz_reply(&shared.db_health()));
    healthz
        .or(api::routes(web.clone()))
        .or(supervision::routes(web.clone()))
        .or(affairs::routes(web.clone()))
        .or(open311::routes(web.clone()))
        .or(metrics::routes(web.clone()))
        .or(page::routes(web))
}

pub(crate) fn with_web(w: Web) -> impl Filter<Extract = (Web,), Error = Infallible> + Clone {
    warp::any().map(move || w.clone())
}

async fn principal_of(
    w: &Web,
    authorization: Option<String>,
    cookie: Option<String>,
) -> Result<Principal, Denied> {
    auth::resolve(
        &w.shared.config,
        &w.shared.store,
        w.now_ms(),
        authorization.as_deref(),
        cookie.as_deref(),
    )
    .await
}

/// The caller, from a bearer token or a session cookie; `denied` says how a refusal answers.
fn principal(
    w: Web,
    denied: fn(Denied) -> warp::Rejection,
) -> impl Filter<Extract = (Principal,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::cookie::optional::<String>(session::COOKIE))
        .and(with_web(w))
        .and_then(
            move |a: Option<String>, c: Option<String>, w: Web| async move {
                principal_of(&w, a, c).await.map_err(denied)
            },
        )
}

fn storage_unavailable() -> warp::Rejection {
    reject(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage unavailable; try again",
    )
}

/// The caller of an API route: a bearer token or a session, else 401 JSON.
pub(crate) fn api_principal(
    w: Web,
) -> impl Filter<Extract = (Principal,), Error = warp::Rejection> + Clone {
    principal(w, |d| match d {
        Denied::Unauthenticated => reject(
            StatusCode::UNAUTHORIZED,
            "log in, or send Authorization: Bearer <token> with a token from [api] tokens",
        ),
        Denied::BadToken => reject(StatusCode::UNAUTHORIZED, "unknown API token"),
        Denied::Storage => storage_unavailable(),
    })
}

/// Sent to the log-in page.
#[derive(Debug)]
pub struct NeedLogin;
impl warp::reject::Reject for NeedLogin {}

/// The caller of a page: a session, else a redirect to the log-in page.
pub(crate) fn page_principal(
    w: Web,
) -> impl Filter<Extract = (Principal,), Error = warp::Rejection> + Clone {
    // Pages take a bearer token too, so monitoring can read the status page without a session.
    principal(w, |d| match d {
        Denied::Storage => storage_unavailable(),
        _ => warp::reject::custom(NeedLogin),
    })
}

/// `ok`, or 503 `degraded: ...` while the database is lost (the daemon still runs its modems).
fn healthz_reply(db: &crate::store::health::DbHealth) -> warp::reply::WithStatus<String> {
    if db.up {
        warp::reply::with_status("ok".to_string(), StatusCode::OK)
    } else {
        warp::reply::with_status(
            format!(
                "degraded: database unavailable: {}",
                db.last_error.as_deref().unwrap_or("")
            ),
            StatusCode::SERVICE_UNAVAILABLE,
        )
    }
}

/// Every error answers JSON with a reason a client can act on.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl warp::reject::Reject for ApiError {}

pub fn reject(status: StatusCode, message: impl Into<String>) -> warp::Rejection {
    warp::reject::custom(ApiError {
        status,
        message: message.into(),
    })
}

/// Logs a storage error and answers 503: the client may retry, the daemon carries on.
pub(crate) fn internal(e: impl std::fmt::Display) -> warp::Rejection {
    tracing::error!(error = %e, "web storage error");
    reject(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage unavailable; try again",
    )
}

/// warp's own rejections that carry nothing to quote, with the reason a client can act on.
fn fixed_reason(err: &warp::Rejection) -> Option<(StatusCode, &'static str)> {
    use warp::reject::{LengthRequired, MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType};
    let known = [
        (
            err.find::<MethodNotAllowed>().is_some(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
        ),
        (
            err.find::<PayloadTooLarge>().is_some(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ),
        (
            err.find::<LengthRequired>().is_some(),
            StatusCode::LENGTH_REQUIRED,
            "send a body with a Content-Length header",
        ),
        (
            err.find::<UnsupportedMediaType>().is_some(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json",
        ),
    ];
    known
        .into_iter()
        .find(|(hit, _, _)| *hit)
        .map(|(_, status, reason)| (status, reason))
}

async fn handle_rejection(err: warp::Rejection) -> Result<warp::reply::Response, Infallible> {
    if err.find::<NeedLogin>().is_some() {
        return Ok(warp::http::Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", "/login")
            .body(warp::hyper::Body::empty())
            .unwrap_or_default());
    }
    if let Some(e) = err.find::<open311::Open311Error>() {
        return Ok(open311::error_reply(e));
    }
    let (status, message) = if let Some(e) = err.find::<ApiError>() {
        (e.status, e.message.clone())
    } else if err.is_not_found() {
        (StatusCode::NOT_FOUND, "no such route".to_string())
    } else if let Some(e) = err.find::<warp::reject::InvalidQuery>() {
        (StatusCode::BAD_REQUEST, format!("bad query string: {e}"))
    } else if let Some(e) = err.find::<warp::filters::body::BodyDeserializeError>() {
        (StatusCode::BAD_REQUEST, format!("bad request body: {e}"))
    } else if let Some((status, reason)) = fixed_reason(&err) {
        (status, reason.to_string())
    } else if let Some(e) = err.find::<warp::reject::MissingHeader>() {
        (StatusCode::BAD_REQUEST, e.to_string())
    } else if let Some(e) = err.find::<warp::reject::InvalidHeader>() {
        (StatusCode::BAD_REQUEST, e.to_string())
    } else {
        tracing::error!(?err, "unhandled rejection");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".to_string(),
        )
    };
    let mut resp =
        warp::reply::with_status(warp::reply::json(&ErrorBody { error: message }), status)
            .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            "www-authenticate",
            warp::http::HeaderValue::from_static("Bearer realm=\"appeal-gateway\""),
        );
    }
    Ok(resp)
}
