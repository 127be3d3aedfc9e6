//! JSON API under /api/v1.

use serde::Deserialize;
use warp::http::StatusCode;
use warp::Filter;

use super::reject;
use crate::appeals::{get_appeal, list_appeals, AppealFilter};
use crate::daemon::Shared;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub colour: Option<String>,
    pub village: Option<String>,
    /// RFC 3339.
    pub since: Option<String>,
    /// Keyset cursor: the `next` value of the previous page.
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

fn with_shared(
    s: Shared,
) -> impl Filter<Extract = (Shared,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || s.clone())
}

pub fn routes(
    shared: Shared,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let list = warp::path!("api" / "v1" / "appeals")
        .and(warp::get())
        .and(warp::query::<ListQuery>())
        .and(with_shared(shared.clone()))
        .and_then(list_handler);
    let show = warp::path!("api" / "v1" / "appeals" / String)
        .and(warp::get())
        .and(with_shared(shared.clone()))
        .and_then(show_handler);
    let modems = warp::path!("api" / "v1" / "modems")
        .and(warp::get())
        .and(with_shared(shared))
        .map(|s: Shared| {
            let list: Vec<_> = s.modems.iter().map(|m| m.status()).collect();
            warp::reply::json(&list)
        });
    list.or(show).or(modems)
}

fn internal(e: impl std::fmt::Display) -> warp::Rejection {
    tracing::error!(error = %e, "API storage error");
    reject(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage unavailable; try again",
    )
}

async fn list_handler(q: ListQuery, s: Shared) -> Result<impl warp::Reply, warp::Rejection> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 500",
        ));
    }
    if let Some(c) = &q.colour {
        if !["red", "yellow", "green"].contains(&c.as_str()) {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "colour must be red, yellow or green",
            ));
        }
    }
    let since = match &q.since {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    reject(
                        StatusCode::BAD_REQUEST,
                        "since must be RFC 3339, e.g. 2022-07-13T00:00:00+08:00",
                    )
                })?
                .timestamp_millis(),
        ),
    };
    let filter = AppealFilter {
        status: q.status,
        colour: q.colour,
        village: q.village,
        since,
        before_id: q.before,
        limit,
    };
    let rows = list_appeals(&s.store, &filter).await.map_err(internal)?;
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(warp::reply::json(
        &serde_json::json!({ "appeals": rows, "next": next }),
    ))
}

async fn show_handler(number: String, s: Shared) -> Result<impl warp::Reply, warp::Rejection> {
    if number.len() < 11 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "an appeal number is YYYYMMDD plus at least three digits",
        ));
    }
    match get_appeal(&s.store, &number).await.map_err(internal)? {
        Some(a) => Ok(warp::reply::json(&a)),
        None => Err(reject(StatusCode::NOT_FOUND, format!("no appeal {number}"))),
    }
}
