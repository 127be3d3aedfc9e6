//! The public-affairs API: notices and service guides (`/api/v1/notices`, read by anyone
//! logged in, written by admins and tokens, every change an event), their broadcast to the
//! village's subscribers (`POST /api/v1/notices/{id}/broadcast`) and the broadcasts' progress
//! (`/api/v1/broadcasts`). The SMS side reads the same rows (`affairs::handle`).

use serde::Deserialize;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::api::{may_write, parse_json, CSRF_HEADER};
use super::auth::Principal;
use super::{api_principal, internal, reject, with_web, Web};
use crate::affairs::notices::{self, NoticeIn};
use crate::affairs::{broadcast, subscriptions};

const MAX_BODY: u64 = 16 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeQuery {
    pub kind: Option<String>,
    pub village: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    pub limit: Option<i64>,
}

/// Who the editor is, as recorded in `author` and the events.
pub fn author(p: &Principal) -> String {
    format!("{}/{}", p.name, p.role.as_str())
}

/// A checked notice body: the village must be one of the directory's.
fn checked(w: &Web, body: &[u8]) -> Result<NoticeIn, warp::Rejection> {
    check(w, parse_json(body)?)
}

/// `n` if the directory knows its village and its content fits, else 400 with the reason.
pub fn check(w: &Web, n: NoticeIn) -> Result<NoticeIn, warp::Rejection> {
    let dir = w.shared.directory.current();
    n.check(|v| dir.village(v).is_some())
        .map_err(|e| reject(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(n)
}

/// A broadcast started from the API or the page.
#[derive(Debug, serde::Serialize)]
pub struct Started {
    pub broadcast: Option<i64>,
    pub village: String,
    pub subscribers: i64,
    pub text: String,
}

/// Starts the broadcast of notice `id` (the caller checked the right to).
pub async fn start_broadcast(w: &Web, p: &Principal, id: i64) -> Result<Started, warp::Rejection> {
    let store = &w.shared.store;
    let Some(n) = notices::get(store, id).await.map_err(internal)? else {
        return Err(reject(StatusCode::NOT_FOUND, format!("no notice {id}")));
    };
    if n.village.is_empty() {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "a guide for every village has no subscribers of its own; give it a village",
        ));
    }
    let dir = w.shared.directory.current();
    let sig = dir
        .village(&n.village)
        .and_then(|v| v.signature.clone())
        .unwrap_or_else(|| w.shared.config.signature.clone());
    let text = broadcast::notice_text(&sig, &n);
    let bid = broadcast::create(
        store,
        &n.village,
        Some(n.id),
        &text,
        &author(p),
        None,
        w.shared.clock.now(),
    )
    .await
    .map_err(internal)?;
    let subscribers = subscriptions::count(store, &n.village)
        .await
        .map_err(internal)?;
    Ok(Started {
        broadcast: bid,
        village: n.village,
        subscribers,
        text,
    })
}

pub fn routes(
    w: Web,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let list = warp::path!("api" / "v1" / "notices")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<NoticeQuery>())
        .and(with_web(w.clone()))
        .and_then(|_p: Principal, q: NoticeQuery, w: Web| async move {
            let list = notices::list(
                &w.shared.store,
                q.kind.as_deref(),
                q.village.as_deref(),
                q.limit.unwrap_or(100).clamp(1, 1000),
            )
            .await
            .map_err(internal)?;
            Ok::<_, warp::Rejection>(warp::reply::json(&serde_json::json!({ "notices": list })))
        });
    let show = warp::path!("api" / "v1" / "notices" / i64)
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(with_web(w.clone()))
        .and_then(|id: i64, _p: Principal, w: Web| async move {
            match notices::get(&w.shared.store, id).await.map_err(internal)? {
                Some(n) => Ok(warp::reply::json(&n)),
                None => Err(reject(StatusCode::NOT_FOUND, format!("no notice {id}"))),
            }
        });
    let create = warp::path!("api" / "v1" / "notices")
        .and(warp::post())
        .and(api_principal(w.clone()))
        .and(warp::header::optional::<String>(CSRF_HEADER))
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and(with_web(w.clone()))
        .and_then(
            |p: Principal, csrf: Option<String>, body: bytes::Bytes, w: Web| async move {
                may_write(&p, csrf.as_deref())?;
                let n = checked(&w, &body)?;
                let made = notices::create(&w.shared.store, &n, &author(&p), w.shared.clock.now())
                    .await
                    .map_err(internal)?;
                Ok::<_, warp::Rejection>(
                    warp::reply::with_status(warp::reply::json(&made), StatusCode::CREATED)
                        .into_response(),
                )
            },
        );
    let update = warp::path!("api" / "v1" / "notices" / i64)
        .and(warp::put())
        .and(api_principal(w.clone()))
        .and(warp::header::optional::<String>(CSRF_HEADER))
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and(with_web(w.clone()))
        .and_then(
            |id: i64, p: Principal, csrf: Option<String>, body: bytes::Bytes, w: Web| async move {
                may_write(&p, csrf.as_deref())?;
                let n = checked(&w, &body)?;
                match notices::update(&w.shared.store, id, &n, &author(&p), w.shared.clock.now())
                    .await
                    .map_err(internal)?
                {
                    Some(n) => Ok(warp::reply::json(&n)),
                    None => Err(reject(StatusCode::NOT_FOUND, format!("no notice {id}"))),
                }
            },
        );
    let delete = warp::path!("api" / "v1" / "notices" / i64)
        .and(warp::delete())
        .and(api_principal(w.clone()))
        .and(warp::header::optional::<String>(CSRF_HEADER))
        .and(with_web(w.clone()))
        .and_then(
            |id: i64, p: Principal, csrf: Option<String>, w: Web| async move {
                may_write(&p, csrf.as_deref())?;
                if notices::delete(&w.shared.store, id, &author(&p), w.shared.clock.now())
                    .await
                    .map_err(internal)?
                {
                    Ok(warp::reply::with_status(
                        warp::reply::json(&serde_json::json!({ "id": id, "deleted": true })),
                        StatusCode::OK,
                    ))
                } else {
                    Err(reject(StatusCode::NOT_FOUND, format!("no notice {id}")))
                }
            },
        );
    let send = warp::path!("api" / "v1" / "notices" / i64 / "broadcast")
        .and(warp::post())
        .and(api_principal(w.clone()))
        .and(warp::header::optional::<String>(CSRF_HEADER))
        .and(with_web(w.clone()))
        .and_then(
            |id: i64, p: Principal, csrf: Option<String>, w: Web| async move {
                may_write(&p, csrf.as_deref())?;
                let b = start_broadcast(&w, &p, id).await?;
                Ok::<_, warp::Rejection>(warp::reply::with_status(
                    warp::reply::json(&b),
                    StatusCode::ACCEPTED,
                ))
            },
        );
    let progress = warp::path!("api" / "v1" / "broadcasts")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<LimitQuery>())
        .and(with_web(w))
        .and_then(|_p: Principal, q: LimitQuery, w: Web| async move {
            let list = broadcast::progress(&w.shared.store, q.limit.unwrap_or(50).clamp(1, 500))
                .await
                .map_err(internal)?;
            Ok::<_, warp::Rejection>(warp::reply::json(
                &serde_json::json!({ "broadcasts": list }),
            ))
        });
    list.or(show)
        .or(create)
        .or(update)
        .or(delete)
        .or(send)
        .or(progress)
}
