//! JSON API under /api/v1, for the platform (bearer token) and the status page's own scripts
//! (session; state-changing calls then also need the `X-CSRF-Token` header). Viewers see
//! phone numbers masked; only admins and tokens may change anything.

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::Filter;

use super::auth::Principal;
use super::dashboard::{self, local_rfc3339};
use super::{api_principal, internal, reject, with_web, Web};
use crate::appeals::actions::{self, Action, ActionError, Actor, Ctx};
use crate::appeals::{get_appeal, list_appeals, Appeal, AppealFilter};
use crate::outbox::{enqueue, NewSms};

/// Bodies larger than this are refused before they are read.
const MAX_BODY: u64 = 16 * 1024;
pub const CSRF_HEADER: &str = "x-csrf-token";

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

/// An action on an appeal, as the platform sends it: `{"action": "reply", "text": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum ActionBody {
    // Empty braces rather than unit variants: serde's deny_unknown_fields only sees extra
    // keys on struct variants, and `{"action":"accept","text":"x"}` is a client's mistake.
    Accept {},
    Reply { text: String },
    Note { text: String },
    Resolve { text: String },
    Transfer { to: String },
    Escalate {},
    Regrade { colour: String },
    Reopen { text: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub to: String,
    pub text: String,
}

pub fn routes(
    w: Web,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let list = warp::path!("api" / "v1" / "appeals")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<ListQuery>())
        .and(with_web(w.clone()))
        .and_then(list_handler);
    let show = warp::path!("api" / "v1" / "appeals" / String)
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(with_web(w.clone()))
        .and_then(show_handler);
    let act = warp::path!("api" / "v1" / "appeals" / String / "actions")
        .and(warp::post())
        .and(api_principal(w.clone()))
        .and(warp::header::optional::<String>(CSRF_HEADER))
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and(with_web(w.clone()))
        .and_then(action_handler);
    let modems = warp::path!("api" / "v1" / "modems")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(with_web(w.clone()))
        .map(|_p: Principal, w: Web| {
            let list: Vec<_> = w.shared.modems.iter().map(|m| m.status()).collect();
            warp::reply::json(&list)
        });
    let stats = warp::path!("api" / "v1" / "stats")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(with_web(w.clone()))
        .and_then(stats_handler);
    let events = warp::path!("api" / "v1" / "events")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<EventsQuery>())
        .and(with_web(w.clone()))
        .and_then(events_handler);
    let calls = warp::path!("api" / "v1" / "calls")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<EventsQuery>())
        .and(with_web(w.clone()))
        .and_then(calls_handler);
    let messages = warp::path!("api" / "v1" / "messages")
        .and(warp::post())
        .and(api_principal(w.clone()))
        .and(warp::header::optional::<String>(CSRF_HEADER))
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and(with_web(w))
        .and_then(message_handler);
    list.or(show)
        .or(act)
        .or(modems)
        .or(stats)
        .or(events)
        .or(calls)
        .or(messages)
}

/// The list answer with phones as the caller may see them.
fn shown(p: &Principal, mut a: Appeal) -> Appeal {
    a.phone = p.phone(&a.phone);
    a.cadre = a.cadre.map(|c| p.phone(&c));
    a.text = p.text(&a.text);
    a
}

pub fn validate_number(number: &str) -> Result<(), warp::Rejection> {
    if number.len() < 11 || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "an appeal number is YYYYMMDD plus at least three digits",
        ));
    }
    Ok(())
}

/// Checks the list filters; the pure part of the list route.
pub fn list_filter(q: ListQuery) -> Result<AppealFilter, String> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err("limit must be between 1 and 500".into());
    }
    if let Some(c) = &q.colour {
        if !["red", "yellow", "green"].contains(&c.as_str()) {
            return Err("colour must be red, yellow or green".into());
        }
    }
    if q.before.is_some_and(|b| b < 1) {
        return Err("before must be a positive id (the `next` of the previous page)".into());
    }
    let since = match &q.since {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| "since must be RFC 3339, e.g. 2022-07-13T00:00:00+08:00".to_string())?
                .timestamp_millis(),
        ),
    };
    Ok(AppealFilter {
        status: q.status,
        colour: q.colour,
        village: q.village,
        since,
        before_id: q.before,
        limit,
    })
}

async fn list_handler(
    p: Principal,
    q: ListQuery,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    let filter = list_filter(q).map_err(|m| reject(StatusCode::BAD_REQUEST, m))?;
    let rows = list_appeals(&w.shared.store, &filter)
        .await
        .map_err(internal)?;
    let next = if rows.len() as i64 == filter.limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let rows: Vec<Appeal> = rows.into_iter().map(|a| shown(&p, a)).collect();
    Ok(warp::reply::json(
        &serde_json::json!({ "appeals": rows, "next": next }),
    ))
}

/// An event as the API shows it: its local time, and the actor and text as the caller may
/// see them.
#[derive(Debug, Serialize)]
pub struct EventJson {
    pub at: String,
    #[serde(flatten)]
    pub event: dashboard::EventRow,
}

pub fn event_json(p: &Principal, tz: chrono_tz::Tz, mut e: dashboard::EventRow) -> EventJson {
    e.actor = p.actor(&e.actor);
    e.text = p.text(&e.text);
    EventJson {
        at: local_rfc3339(e.at_ms, tz),
        event: e,
    }
}

#[derive(Debug, Serialize)]
struct SmsJson {
    at: String,
    #[serde(flatten)]
    sms: dashboard::Sms,
}

#[derive(Debug, Serialize)]
struct AppealDetail {
    #[serde(flatten)]
    appeal: Appeal,
    respond_by: Option<String>,
    resolve_by: Option<String>,
    accepted_at: Option<String>,
    resolved_at: Option<String>,
    events: Vec<EventJson>,
    sms: Vec<SmsJson>,
}

async fn show_handler(
    number: String,
    p: Principal,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    validate_number(&number)?;
    let store = &w.shared.store;
    let tz = w.shared.config.time_zone;
    let Some(a) = get_appeal(store, &number).await.map_err(internal)? else {
        return Err(reject(StatusCode::NOT_FOUND, format!("no appeal {number}")));
    };
    let m = dashboard::milestones(store, a.id).await.map_err(internal)?;
    let events = dashboard::timeline(store, a.id).await.map_err(internal)?;
    let sms = dashboard::sms_of(store, a.id).await.map_err(internal)?;
    let t = |ms: Option<i64>| ms.map(|ms| local_rfc3339(ms, tz));
    Ok(warp::reply::json(&AppealDetail {
        respond_by: t(m.respond_by_ms),
        resolve_by: t(m.resolve_by_ms),
        accepted_at: t(m.accepted_at_ms),
        resolved_at: t(m.resolved_at_ms),
        events: events.into_iter().map(|e| event_json(&p, tz, e)).collect(),
        sms: sms
            .into_iter()
            .map(|mut s| {
                s.peer = p.phone(&s.peer);
                s.text = p.text(&s.text);
                SmsJson {
                    at: local_rfc3339(s.at_ms, tz),
                    sms: s,
                }
            })
            .collect(),
        appeal: shown(&p, a),
    }))
}

/// Admins and tokens may change things; a session must also show its CSRF token.
pub fn may_write(p: &Principal, csrf: Option<&str>) -> Result<(), warp::Rejection> {
    if !p.is_admin() {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "this account is read-only (role viewer)",
        ));
    }
    if !p.csrf_ok(csrf) {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "missing or wrong X-CSRF-Token header (take it from the page's csrf meta tag)",
        ));
    }
    Ok(())
}

/// Parses a JSON body with a message that says what is wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, warp::Rejection> {
    serde_json::from_slice(body)
        .map_err(|e| reject(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

/// Checks an action's arguments before anything touches the store.
pub fn check_action(a: &ActionBody) -> Result<(), String> {
    let text_ok = |t: &str| !t.trim().is_empty() && t.chars().count() <= 500;
    match a {
        ActionBody::Reply { text }
        | ActionBody::Note { text }
        | ActionBody::Resolve { text }
        | ActionBody::Reopen { text }
            if !text_ok(text) =>
        {
            Err("text must be 1 to 500 characters".into())
        }
        ActionBody::Transfer { to } if to.trim().is_empty() => Err("to must name a cadre".into()),
        ActionBody::Regrade { colour } if colour.parse::<crate::grade::Colour>().is_err() => {
            Err("colour must be red, yellow or green".into())
        }
        _ => Ok(()),
    }
}

async fn action_handler(
    number: String,
    p: Principal,
    csrf: Option<String>,
    body: bytes::Bytes,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    validate_number(&number)?;
    may_write(&p, csrf.as_deref())?;
    let action: ActionBody = parse_json(&body)?;
    check_action(&action).map_err(|m| reject(StatusCode::BAD_REQUEST, m))?;
    let Some(_appeal) = get_appeal(&w.shared.store, &number)
        .await
        .map_err(internal)?
    else {
        return Err(reject(StatusCode::NOT_FOUND, format!("no appeal {number}")));
    };
    apply_action(&w, &p, &number, action).await
}

/// The workflow's action for an API body (arguments already checked).
pub fn to_action(a: ActionBody) -> Result<Action, String> {
    Ok(match a {
        ActionBody::Accept {} => Action::Accept,
        ActionBody::Reply { text } => Action::Reply { text },
        ActionBody::Note { text } => Action::Note { text },
        ActionBody::Resolve { text } => Action::Resolve { text },
        ActionBody::Transfer { to } => Action::Transfer { to },
        ActionBody::Escalate {} => Action::Escalate,
        ActionBody::Regrade { colour } => Action::Regrade {
            colour: colour
                .parse()
                .map_err(|e: crate::grade::UnknownColour| e.to_string())?,
        },
        ActionBody::Reopen { text } => Action::Reopen { text },
    })
}

/// HTTP status for a refused action: unknown 404, not allowed 403, wrong state 409, bad
/// argument 400, storage 503.
pub fn action_status(e: &ActionError) -> StatusCode {
    match e {
        ActionError::UnknownAppeal(_) => StatusCode::NOT_FOUND,
        ActionError::NotAllowed(_) => StatusCode::FORBIDDEN,
        ActionError::WrongState { .. } => StatusCode::CONFLICT,
        ActionError::BadArgument(_) => StatusCode::BAD_REQUEST,
        ActionError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Runs the action through the appeal workflow (`crate::appeals::actions`), the same code
/// the SMS commands use, as the web account (or `api` for a token).
async fn apply_action(
    w: &Web,
    p: &Principal,
    number: &str,
    action: ActionBody,
) -> Result<warp::reply::Response, warp::Rejection> {
    use warp::Reply;
    let action = to_action(action).map_err(|m| reject(StatusCode::BAD_REQUEST, m))?;
    let s = &w.shared;
    let ctx = Ctx::new(&s.config, s.directory.current());
    let actor = Actor::api(&p.name);
    let name = action.name();
    match actions::apply(&s.store, &ctx, &actor, number, action, s.clock.now()).await {
        Ok(outcome) => {
            if outcome.queued > 0 {
                s.outbox_wake.notify();
            }
            tracing::info!(%number, action = name, by = %p.name, "appeal action through the API");
            Ok(warp::reply::json(&outcome).into_response())
        }
        Err(ActionError::Store(e)) => Err(internal(e)),
        Err(e) => Err(reject(action_status(&e), e.to_string())),
    }
}

#[derive(Debug, Serialize)]
struct Stats {
    appeals: AppealStats,
    queues: dashboard::Queues,
    delivery_rate_24h: Option<f64>,
    modems: Vec<ModemBrief>,
    /// Incoming calls since local midnight, per modem.
    calls_today: std::collections::BTreeMap<String, crate::calls::query::CallCounts>,
}

#[derive(Debug, Serialize)]
struct AppealStats {
    total: i64,
    by_status: std::collections::BTreeMap<String, i64>,
    by_colour: std::collections::BTreeMap<String, i64>,
    today: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
    overdue: i64,
}

#[derive(Debug, Serialize)]
struct ModemBrief {
    name: String,
    state: String,
    bars: u8,
    error: Option<String>,
}

async fn stats_handler(_p: Principal, w: Web) -> Result<impl warp::Reply, warp::Rejection> {
    let store = &w.shared.store;
    let now = w.shared.clock.now();
    let now_ms = now.timestamp_millis();
    let rows = dashboard::by_status_colour(store).await.map_err(internal)?;
    let mut by_status = std::collections::BTreeMap::new();
    let mut by_colour = std::collections::BTreeMap::new();
    let mut total = 0;
    for (status, colour, n) in rows {
        *by_status.entry(status).or_insert(0) += n;
        *by_colour.entry(colour).or_insert(0) += n;
        total += n;
    }
    let midnight = dashboard::local_midnight_ms(now, w.shared.config.time_zone);
    let today = dashboard::today_by_colour_step(store, midnight)
        .await
        .map_err(internal)?;
    let (overdue, _) = dashboard::overdue(store, now_ms, 1)
        .await
        .map_err(internal)?;
    let queues = dashboard::queues(store, now_ms).await.map_err(internal)?;
    let calls_today = crate::calls::query::counts_since(store, midnight)
        .await
        .map_err(internal)?;
    Ok(warp::reply::json(&Stats {
        calls_today,
        appeals: AppealStats {
            total,
            by_status,
            by_colour,
            today,
            overdue,
        },
        delivery_rate_24h: queues.delivery_rate(),
        queues,
        modems: w
            .shared
            .modems
            .iter()
            .map(|m| {
                let s = m.status();
                ModemBrief {
                    name: s.name,
                    state: s.state,
                    bars: s.bars,
                    error: s.error,
                }
            })
            .collect(),
    }))
}

async fn events_handler(
    p: Principal,
    q: EventsQuery,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 200",
        ));
    }
    let tz = w.shared.config.time_zone;
    let rows = dashboard::latest_events(&w.shared.store, q.after, limit)
        .await
        .map_err(internal)?;
    let events: Vec<EventJson> = rows.into_iter().map(|e| event_json(&p, tz, e)).collect();
    Ok(warp::reply::json(&serde_json::json!({ "events": events })))
}

/// `GET /api/v1/calls?limit=N`: today's calls per modem and the latest calls (phones masked
/// for viewers, as everywhere).
async fn calls_handler(
    p: Principal,
    q: EventsQuery,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 200",
        ));
    }
    let store = &w.shared.store;
    let now = w.shared.clock.now();
    let tz = w.shared.config.time_zone;
    let midnight = dashboard::local_midnight_ms(now, tz);
    let today = crate::calls::query::counts_since(store, midnight)
        .await
        .map_err(internal)?;
    let rows = crate::calls::query::latest(store, limit)
        .await
        .map_err(internal)?;
    let calls: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id,
                "modem": c.modem,
                "phone": c.phone.as_deref().map(|n| p.phone(n)),
                "rang_at": local_rfc3339(c.rang_at, tz),
                "mode": c.mode,
                "ended": c.ended,
                "state": c.state,
                "appeal": c.appeal,
            })
        })
        .collect();
    Ok(warp::reply::json(
        &serde_json::json!({ "today": today, "calls": calls }),
    ))
}

/// An SMS body the queue accepts: up to ten parts of 67 UCS2 characters.
pub const MAX_TEXT_CHARS: usize = 670;

pub fn check_message(m: &MessageBody) -> Result<(), String> {
    if !crate::phone::is_valid(&m.to) {
        return Err("to must be a phone number: optional + and 5 to 15 digits".into());
    }
    let n = m.text.chars().count();
    if m.text.trim().is_empty() || n > MAX_TEXT_CHARS {
        return Err(format!("text must be 1 to {MAX_TEXT_CHARS} characters"));
    }
    Ok(())
}

async fn message_handler(
    p: Principal,
    csrf: Option<String>,
    body: bytes::Bytes,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    may_write(&p, csrf.as_deref())?;
    let m: MessageBody = parse_json(&body)?;
    check_message(&m).map_err(|e| reject(StatusCode::BAD_REQUEST, e))?;
    let store = &w.shared.store;
    let now = w.shared.clock.now();
    let mut tx = store.pool().begin().await.map_err(internal)?;
    let id = enqueue(
        store,
        &mut tx,
        NewSms {
            recipient: &m.to,
            text: &m.text,
            kind: "api",
            appeal_id: None,
            modem: None,
            not_before: now,
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    w.shared.outbox_wake.notify();
    tracing::info!(id, to = %crate::phone::mask(&m.to), by = %p.name, "SMS queued through the API");
    Ok(warp::reply::with_status(
        warp::reply::json(&serde_json::json!({ "id": id, "state": "queued" })),
        StatusCode::ACCEPTED,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_from_json() {
        let a: ActionBody = serde_json::from_str(r#"{"action":"reply","text":"已派人"}"#).unwrap();
        assert_eq!(
            a,
            ActionBody::Reply {
                text: "已派人".into()
            }
        );
        let a: ActionBody = serde_json::from_str(r#"{"action":"accept"}"#).unwrap();
        assert_eq!(a, ActionBody::Accept {});
        for bad in [
            r#"{"action":"fly"}"#,
            r#"{"action":"reply"}"#,
            r#"{"action":"accept","text":"x"}"#,
            r#"{"text":"x"}"#,
            "[1]",
        ] {
            assert!(serde_json::from_str::<ActionBody>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn action_arguments_table() {
        for (a, ok) in [
            (ActionBody::Reply { text: " ".into() }, false),
            (
                ActionBody::Resolve {
                    text: "修好了".into(),
                },
                true,
            ),
            (ActionBody::Transfer { to: "".into() }, false),
            (
                ActionBody::Regrade {
                    colour: "blue".into(),
                },
                false,
            ),
            (
                ActionBody::Regrade {
                    colour: "红".into(),
                },
                true,
            ),
            (ActionBody::Escalate {}, true),
        ] {
            assert_eq!(check_action(&a).is_ok(), ok, "{a:?}");
        }
    }

    #[test]
    fn list_filter_table() {
        let q = |limit, colour: Option<&str>, since: Option<&str>, before| ListQuery {
            status: None,
            colour: colour.map(String::from),
            village: None,
            since: since.map(String::from),
            before,
            limit,
        };
        assert!(list_filter(q(None, None, None, None)).is_ok());
        assert!(list_filter(q(Some(0), None, None, None)).is_err());
        assert!(list_filter(q(Some(501), None, None, None)).is_err());
        assert!(list_filter(q(None, Some("blue"), None, None)).is_err());
        assert!(list_filter(q(None, None, Some("yesterday"), None)).is_err());
        assert!(list_filter(q(None, None, None, Some(0))).is_err());
        let f = list_filter(q(
            Some(5),
            Some("red"),
            Some("2022-07-13T00:00:00+08:00"),
            Some(9),
        ))
        .unwrap();
        assert_eq!(f.limit, 5);
        assert_eq!(f.since, Some(1657641600000));
        assert_eq!(f.before_id, Some(9));
    }

    #[test]
    fn messages_table() {
        let m = |to: &str, text: &str| MessageBody {
            to: to.into(),
            text: text.into(),
        };
        assert!(check_message(&m("13812345678", "你好")).is_ok());
        assert!(check_message(&m("+8613812345678", "hi")).is_ok());
        assert!(check_message(&m("1381234567a", "hi")).is_err());
        assert!(check_message(&m("123", "hi")).is_err());
        assert!(check_message(&m("13812345678", "  ")).is_err());
        assert!(check_message(&m("13812345678", &"字".repeat(671))).is_err());
    }
}
