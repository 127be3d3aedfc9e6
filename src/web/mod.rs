//! The web side: status page, JSON API and health, served by warp from the daemon. Reads the
//! store and the modems' live state; writes only through the same functions the SMS side uses.

mod api;
mod page;

use std::convert::Infallible;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use warp::http::StatusCode;
use warp::Filter;

use crate::daemon::Shared;

/// Binds the listen address and serves until shutdown.
pub async fn serve(
    shared: Shared,
    shutdown: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let addr = shared.config.web.listen;
    let routes = routes(shared)
        .recover(handle_rejection)
        .with(warp::trace::request());
    let signal = async move { shutdown.cancelled().await };
    let (_bound, server) = warp::serve(routes)
        .try_bind_with_graceful_shutdown(addr, signal)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::AddrInUse, e.to_string()))?;
    Ok(tokio::spawn(server))
}

pub fn routes(
    shared: Shared,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let health = shared.clone();
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(move || healthz_reply(&health.db_health()));
    healthz
        .or(api::routes(shared.clone()))
        .or(page::routes(shared))
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

async fn handle_rejection(err: warp::Rejection) -> Result<impl warp::Reply, Infallible> {
    let (status, message) = if let Some(e) = err.find::<ApiError>() {
        (e.status, e.message.clone())
    } else if err.is_not_found() {
        (StatusCode::NOT_FOUND, "no such route".to_string())
    } else if let Some(e) = err.find::<warp::reject::InvalidQuery>() {
        (StatusCode::BAD_REQUEST, format!("bad query string: {e}"))
    } else if let Some(e) = err.find::<warp::filters::body::BodyDeserializeError>() {
        (StatusCode::BAD_REQUEST, format!("bad JSON body: {e}"))
    } else if err.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route".to_string(),
        )
    } else if err.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large".to_string(),
        )
    } else if err.find::<warp::reject::UnsupportedMediaType>().is_some() {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json".to_string(),
        )
    } else if let Some(e) = err.find::<warp::reject::MissingHeader>() {
        (StatusCode::BAD_REQUEST, e.to_string())
    } else {
        tracing::error!(?err, "unhandled rejection");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".to_string(),
        )
    };
    Ok(warp::reply::with_status(
        warp::reply::json(&ErrorBody { error: message }),
        status,
    ))
}
