//! Open311 GeoReport v2, so existing civic-issue clients and dashboards read (and file)
//! appeals: categories are services, appeals are service requests. One jurisdiction per
//! gateway. Every route answers JSON or XML by its extension; errors are the spec's list of
//! `{code, description}` with 400, 403 or 404.
//!
//! Reads need a token (`api_key` parameter or bearer header) or a session; POST needs
//! `api_key`, as the spec says.

use std::collections::HashMap;

use chrono::DateTime;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::dashboard::local_rfc3339;
use super::{auth, session, with_web, Web};
use crate::appeals::actions::Ctx;
use crate::appeals::routing::{file_and_route, ChosenCategory};
use crate::appeals::Status;
use crate::appeals::{NewAppeal, TextIn};
use crate::config::Config;
use crate::grade::Colour;
use crate::store::Store;

pub const SPEC_URL: &str = "http://wiki.open311.org/GeoReport_v2";
/// The spec's cap on one answer.
pub const MAX_REQUESTS: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// `requests.json` -> ("requests", Json).
pub fn split_format(segment: &str) -> Option<(&str, Format)> {
    let (name, ext) = segment.rsplit_once('.')?;
    let f = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, f))
}

#[derive(Debug)]
pub struct Open311Error {
    pub status: StatusCode,
    pub description: String,
    pub format: Format,
}

impl warp::reject::Reject for Open311Error {}

fn err(status: StatusCode, format: Format, d: impl Into<String>) -> warp::Rejection {
    warp::reject::custom(Open311Error {
        status,
        description: d.into(),
        format,
    })
}

pub fn error_reply(e: &Open311Error) -> warp::reply::Response {
    let body = json!([{ "code": e.status.as_u16(), "description": e.description }]);
    let mut r = render(e.format, "errors", &body);
    *r.status_mut() = e.status;
    r
}

/// The gateway's one jurisdiction: its first village code, else its signature's name.
pub fn jurisdiction(c: &Config) -> String {
    c.modems
        .iter()
        .find_map(|m| m.village.clone())
        .unwrap_or_else(|| {
            c.signature
                .trim_matches(|ch: char| ch == '【' || ch == '】' || ch.is_whitespace())
                .to_string()
        })
}

/// A stable ASCII code for a category (the names are Chinese; codes go into URLs).
pub fn service_code(category: &str) -> String {
    hex::encode(&Sha256::digest(category.as_bytes())[..4])
}

/// The categories the rules can give, in rule order, plus the fallback; with their colour.
pub fn services(c: &Config) -> Vec<(String, Colour)> {
    let mut out: Vec<(String, Colour)> = Vec::new();
    for r in &c.rules {
        if !out.iter().any(|(n, _)| *n == r.category) {
            out.push((r.category.clone(), r.colour));
        }
    }
    if !out
        .iter()
        .any(|(n, _)| n == crate::grade::FALLBACK_CATEGORY)
    {
        out.push((crate::grade::FALLBACK_CATEGORY.to_string(), Colour::Green));
    }
    out
}

fn service_by_code(c: &Config, code: &str) -> Option<(String, Colour)> {
    services(c)
        .into_iter()
        .find(|(n, _)| service_code(n) == code)
}

/// The page's escape (its `&#39;` is XML too), after dropping the control characters XML 1.0
/// does not allow at all.
fn xml_escape(s: &str) -> String {
    let allowed = |c: &char| (*c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r');
    super::page::esc(&s.chars().filter(allowed).collect::<String>())
}

/// The element name of one item of a list, as the spec's XML examples name them.
fn item_name(list: &str) -> &str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "endpoints" => "endpoint",
        "formats" => "format",
        "attributes" => "attribute",
        "errors" => "error",
        "values" => "value",
        _ => "item",
    }
}

fn xml_value(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            let item = item_name(name);
            for i in items {
                xml_value(out, item, i);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in m {
                xml_value(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", xml_escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// JSON value -> the spec's XML: `root` names the outer element.
pub fn to_xml(root: &str, v: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    xml_value(&mut out, root, v);
    out
}

fn render(format: Format, root: &str, v: &Value) -> warp::reply::Response {
    match format {
        Format::Json => warp::reply::json(v).into_response(),
        Format::Xml => {
            warp::reply::with_header(to_xml(root, v), "content-type", "text/xml; charset=utf-8")
                .into_response()
        }
    }
}

type Params = HashMap<String, String>;

/// Checks jurisdiction_id (optional; the spec's 404 when it is not ours).
fn check_jurisdiction(c: &Config, p: &Params, f: Format) -> Result<(), warp::Rejection> {
    match p.get("jurisdiction_id") {
        Some(j) if !j.is_empty() && *j != jurisdiction(c) => {
            Err(err(StatusCode::NOT_FOUND, f, "jurisdiction_id not found"))
        }
        _ => Ok(()),
    }
}

async fn authorised(
    w: &Web,
    p: &Params,
    authorization: Option<String>,
    cookie: Option<String>,
    f: Format,
) -> Result<auth::Principal, warp::Rejection> {
    let from_key = p.get("api_key").map(|k| format!("Bearer {k}"));
    auth::resolve(
        &w.shared.config,
        &w.shared.store,
        w.now_ms(),
        from_key.as_deref().or(authorization.as_deref()),
        cookie.as_deref(),
    )
    .await
    .map_err(|_| err(StatusCode::FORBIDDEN, f, "api_key is missing or not valid"))
}

pub fn routes(
    w: Web,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let creds = warp::header::optional::<String>("authorization")
        .and(warp::cookie::optional::<String>(session::COOKIE));
    let get_one = warp::path!("open311" / "v2" / String)
        .and(warp::get())
        .and(warp::query::<Params>())
        .and(creds)
        .and(with_web(w.clone()))
        .and_then(|segment, p, a, c, w| get(None, segment, p, a, c, w));
    let get_two = warp::path!("open311" / "v2" / String / String)
        .and(warp::get())
        .and(warp::query::<Params>())
        .and(creds)
        .and(with_web(w.clone()))
        .and_then(|kind, segment, p, a, c, w| get(Some(kind), segment, p, a, c, w));
    let post = warp::path!("open311" / "v2" / String)
        .and(warp::post())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::form::<Params>())
        .and(with_web(w))
        .and_then(post_request);
    get_one.or(get_two).or(post)
}

/// Every GET: `/open311/v2/<name>.<format>` or `/open311/v2/<kind>/<id>.<format>`, checked
/// for a known format and path, the credentials and the jurisdiction before either is read.
async fn get(
    kind: Option<String>,
    segment: String,
    p: Params,
    a: Option<String>,
    c: Option<String>,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let Some((last, f)) = split_format(&segment) else {
        return Err(unknown());
    };
    if kind
        .as_deref()
        .is_some_and(|k| k != "services" && k != "requests")
    {
        return Err(unknown());
    }
    let _who = authorised(&w, &p, a, c, f).await?;
    check_jurisdiction(&w.shared.config, &p, f)?;
    match kind {
        None => get_top(last, &p, &w, f).await,
        Some(kind) => get_item(&kind, last, &w, f).await,
    }
}

async fn get_top(
    name: &str,
    p: &Params,
    w: &Web,
    f: Format,
) -> Result<warp::reply::Response, warp::Rejection> {
    let config = &w.shared.config;
    match name {
        "discovery" => Ok(render(f, "discovery", &discovery(config))),
        "services" => {
            let list: Vec<Value> = services(config)
                .into_iter()
                .map(|(name, colour)| {
                    json!({
                        "service_code": service_code(&name),
                        "service_name": name,
                        "description": format!("{name} ({} / {})", colour.as_str(), colour.chinese()),
                        "metadata": false,
                        "type": "realtime",
                        "keywords": colour.as_str(),
                        "group": jurisdiction(config),
                    })
                })
                .collect();
            Ok(render(f, "services", &Value::Array(list)))
        }
        "requests" => {
            let list = find_requests(&w.shared.store, config, p, w.shared.clock.now(), f).await?;
            Ok(render(f, "service_requests", &Value::Array(list)))
        }
        _ => Err(unknown()),
    }
}

/// A path under /open311/v2 that names nothing: the spec's 404 (a plain not-found would lose
/// to the POST route's method-not-allowed in warp's choice of rejection).
fn unknown() -> warp::Rejection {
    err(
        StatusCode::NOT_FOUND,
        Format::Json,
        "no such Open311 resource; see discovery.json (formats: .json, .xml)",
    )
}

async fn get_item(
    kind: &str,
    id: &str,
    w: &Web,
    f: Format,
) -> Result<warp::reply::Response, warp::Rejection> {
    let config = &w.shared.config;
    if kind == "services" {
        let Some((name, _)) = service_by_code(config, id) else {
            return Err(err(
                StatusCode::NOT_FOUND,
                f,
                format!("service_code {id} not found"),
            ));
        };
        // No service asks extra questions (metadata is false), so no attributes.
        let def = json!({ "service_code": service_code(&name), "attributes": [] });
        return Ok(render(f, "service_definition", &def));
    }
    if id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            f,
            "service_request_id is an appeal number (digits)",
        ));
    }
    let rows = requests_where(
        &w.shared.store,
        config,
        "number = ?",
        &[Bind::S(id.to_string())],
        1,
    )
    .await
    .map_err(|e| storage(e, f))?;
    if rows.is_empty() {
        return Err(err(
            StatusCode::NOT_FOUND,
            f,
            format!("service_request_id {id} not found"),
        ));
    }
    Ok(render(f, "service_requests", &Value::Array(rows)))
}

fn storage(e: impl std::fmt::Display, f: Format) -> warp::Rejection {
    tracing::error!(error = %e, "Open311 storage error");
    err(
        StatusCode::SERVICE_UNAVAILABLE,
        f,
        "storage unavailable; try again",
    )
}

fn discovery(c: &Config) -> Value {
    json!({
        "changeset": "2024-01-01T00:00:00Z",
        "contact": format!("{} appeal gateway", c.signature),
        "key_service": "API keys are the [api] tokens of the gateway's configuration; ask its admin",
        "endpoints": [{
            "specification": SPEC_URL,
            "url": "/open311/v2",
            "changeset": "2024-01-01T00:00:00Z",
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    })
}

enum Bind {
    S(String),
    I(i64),
}

const REQUEST_COLUMNS: &str =
    "number, phone, village, text, category, colour, status, step, cadre_name, \
     filed_at, updated_at, resolve_by, rating";

async fn requests_where(
    store: &Store,
    c: &Config,
    cond: &str,
    binds: &[Bind],
    limit: i64,
) -> crate::store::Result<Vec<Value>> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM appeals WHERE {cond} ORDER BY filed_at DESC, id DESC LIMIT ?");
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = match b {
            Bind::S(s) => q.bind(s.clone()),
            Bind::I(i) => q.bind(*i),
        };
    }
    let rows = q.bind(limit).fetch_all(store.reader()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(request_json(c, &r)?);
    }
    Ok(out)
}

/// Open311 has two statuses: open while the appeal is worked on, closed once resolved.
pub fn open311_status(status: &str) -> &'static str {
    if Status::is_open_name(status) {
        "open"
    } else {
        "closed"
    }
}

/// Status notes carry what Open311 has no field for: colour, step and rating.
pub fn status_notes(colour: &str, step: &str, rating: Option<i64>) -> String {
    let zh_colour = colour.parse::<Colour>().map(|c| c.chinese()).unwrap_or("");
    let mut s = format!("colour: {colour} ({zh_colour}); step: {step}");
    if let Some(r) = rating {
        s.push_str(&format!("; rating: {r}"));
    }
    s
}

fn request_json(c: &Config, r: &sqlx::any::AnyRow) -> crate::store::Result<Value> {
    let tz = c.time_zone;
    let category: String = r.try_get("category")?;
    let colour: String = r.try_get("colour")?;
    let step: String = r.try_get("step")?;
    let rating: Option<i64> = r.try_get("rating")?;
    let status: String = r.try_get("status")?;
    let resolve_by: Option<i64> = r.try_get("resolve_by")?;
    // The cadre's name, never their phone: Open311 readers include viewers and the public
    // platform, and a cadre's number is as private as a villager's.
    let cadre: Option<String> = r.try_get("cadre_name")?;
    let village: Option<String> = r.try_get("village")?;
    let mut m = Map::new();
    m.insert(
        "service_request_id".into(),
        Value::String(r.try_get("number")?),
    );
    m.insert("status".into(), json!(open311_status(&status)));
    m.insert(
        "status_notes".into(),
        json!(status_notes(&colour, &step, rating)),
    );
    m.insert("service_name".into(), json!(category));
    m.insert("service_code".into(), json!(service_code(&category)));
    m.insert("description".into(), Value::String(r.try_get("text")?));
    m.insert(
        "agency_responsible".into(),
        json!(cadre.unwrap_or_else(|| jurisdiction(c))),
    );
    m.insert("service_notice".into(), Value::Null);
    m.insert(
        "requested_datetime".into(),
        json!(local_rfc3339(r.try_get("filed_at")?, tz)),
    );
    m.insert(
        "updated_datetime".into(),
        json!(local_rfc3339(r.try_get("updated_at")?, tz)),
    );
    m.insert(
        "expected_datetime".into(),
        json!(resolve_by.map(|t| local_rfc3339(t, tz))),
    );
    m.insert("address".into(), json!(village));
    m.insert("address_id".into(), json!(village));
    m.insert("zipcode".into(), Value::Null);
    m.insert("lat".into(), Value::Null);
    m.insert("long".into(), Value::Null);
    m.insert("media_url".into(), Value::Null);
    Ok(Value::Object(m))
}

fn parse_date(p: &Params, key: &str, f: Format) -> Result<Option<i64>, warp::Rejection> {
    match p.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|d| Some(d.timestamp_millis()))
            .map_err(|_| {
                err(
                    StatusCode::BAD_REQUEST,
                    f,
                    format!("{key} must be a W3C date-time, e.g. 2022-07-13T00:00:00+08:00"),
                )
            }),
    }
}

async fn find_requests(
    store: &Store,
    c: &Config,
    p: &Params,
    now: chrono::DateTime<chrono::Utc>,
    f: Format,
) -> Result<Vec<Value>, warp::Rejection> {
    // service_request_id overrides every other filter, as the spec says.
    if let Some(ids) = p.get("service_request_id").filter(|v| !v.is_empty()) {
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .take(100)
            .collect();
        if ids
            .iter()
            .any(|i| i.len() > 20 || !i.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err(
                StatusCode::BAD_REQUEST,
                f,
                "service_request_id is a comma-separated list of appeal numbers",
            ));
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let binds: Vec<Bind> = ids.iter().map(|s| Bind::S(s.to_string())).collect();
        return requests_where(
            store,
            c,
            &format!("number IN ({marks})"),
            &binds,
            MAX_REQUESTS,
        )
        .await
        .map_err(|e| storage(e, f));
    }
    let end = parse_date(p, "end_date", f)?.unwrap_or(now.timestamp_millis());
    // The spec's default window: the 90 days before end_date.
    let start = parse_date(p, "start_date", f)?.unwrap_or(end - 90 * 86_400_000);
    if start > end {
        return Err(err(
            StatusCode::BAD_REQUEST,
            f,
            "start_date is after end_date",
        ));
    }
    let mut cond = String::from("filed_at >= ? AND filed_at <= ?");
    let mut binds = vec![Bind::I(start), Bind::I(end)];
    if let Some(codes) = p.get("service_code").filter(|v| !v.is_empty()) {
        let names: Vec<String> = codes
            .split(',')
            .filter_map(|code| service_by_code(c, code.trim()).map(|(n, _)| n))
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        cond.push_str(&format!(
            " AND category IN ({})",
            vec!["?"; names.len()].join(", ")
        ));
        binds.extend(names.into_iter().map(Bind::S));
    }
    if let Some(status) = p.get("status").filter(|v| !v.is_empty()) {
        let wanted: Vec<&str> = status.split(',').map(str::trim).collect();
        if wanted.iter().any(|s| *s != "open" && *s != "closed") {
            return Err(err(
                StatusCode::BAD_REQUEST,
                f,
                "status must be open, closed or open,closed",
            ));
        }
        match (wanted.contains(&"open"), wanted.contains(&"closed")) {
            (true, false) => cond.push_str(&format!(" AND status IN {}", Status::OPEN_SQL)),
            (false, true) => cond.push_str(&format!(" AND status NOT IN {}", Status::OPEN_SQL)),
            _ => {}
        }
    }
    requests_where(store, c, &cond, &binds, MAX_REQUESTS)
        .await
        .map_err(|e| storage(e, f))
}

async fn post_request(
    segment: String,
    p: Params,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let Some(("requests", f)) = split_format(&segment) else {
        return Err(unknown());
    };
    let config = w.shared.config.clone();
    let key = p.get("api_key").map(String::as_str).unwrap_or("");
    if !auth::token_ok(&config, key) {
        return Err(err(
            StatusCode::FORBIDDEN,
            f,
            "api_key is missing or not valid",
        ));
    }
    check_jurisdiction(&config, &p, f)?;
    let Some(code) = p.get("service_code").filter(|v| !v.is_empty()) else {
        return Err(err(
            StatusCode::BAD_REQUEST,
            f,
            "service_code was not provided",
        ));
    };
    let Some((category, colour)) = service_by_code(&config, code) else {
        return Err(err(
            StatusCode::BAD_REQUEST,
            f,
            format!("service_code {code} not found"),
        ));
    };
    let text = crate::intake::normalize(p.get("description").map(String::as_str).unwrap_or(""));
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(err(
            StatusCode::BAD_REQUEST,
            f,
            "description must say what the appeal is (1 to 2000 characters)",
        ));
    }
    let phone = p.get("phone").map(|s| s.trim()).unwrap_or("");
    if !crate::phone::is_valid(phone) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            f,
            "phone is required (optional + and 5 to 15 digits): the gateway answers the villager by SMS",
        ));
    }
    // address_id names the village when it is one of ours (a modem's or the directory's);
    // the ack goes out on its modem.
    let directory = w.shared.directory.current();
    let village = p
        .get("address_id")
        .filter(|v| {
            directory.village(v).is_some()
                || config
                    .modems
                    .iter()
                    .any(|m| m.village.as_deref() == Some(v.as_str()))
        })
        .cloned()
        .or_else(|| config.modems.iter().find_map(|m| m.village.clone()));
    let modem = config
        .modems
        .iter()
        .find(|m| village.is_some() && m.village == village)
        .or(config.modems.first())
        .map(|m| m.name.clone())
        .unwrap_or_else(|| "api".to_string());
    let store = &w.shared.store;
    let now = w.shared.clock.now();
    let ctx = Ctx::new(&config, directory);
    let filed = async {
        let mut tx = store.pool().begin().await?;
        // Filed and routed like an SMS; the client chose the service, which sets the category
        // and, with it, the colour and deadlines that the text alone would have given.
        let filed = file_and_route(
            store,
            &mut tx,
            &ctx,
            NewAppeal {
                input: &TextIn {
                    phone,
                    modem: &modem,
                    modem_village: None,
                    text,
                    received_at: now,
                    channel: "api",
                },
                village: village.as_deref(),
                now,
            },
            Some(ChosenCategory {
                by: "open311",
                channel: "api",
                category: &category,
                colour,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(filed)
    }
    .await
    .map_err(|e| storage(e, f))?;
    w.shared.outbox_wake.notify();
    // Received, not accepted: only a cadre accepts an appeal.
    let body = json!([{
        "service_request_id": filed.number,
        "service_notice": format!("{}已收到，编号{}", ctx.signature(village.as_deref()), filed.number),
        "account_id": null,
    }]);
    Ok(render(f, "service_requests", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_split() {
        assert_eq!(
            split_format("requests.json"),
            Some(("requests", Format::Json))
        );
        assert_eq!(
            split_format("20220713001.xml"),
            Some(("20220713001", Format::Xml))
        );
        assert_eq!(split_format("requests.csv"), None);
        assert_eq!(split_format("requests"), None);
        assert_eq!(split_format(".json"), None);
    }

    #[test]
    fn xml_is_escaped_and_lists_are_named() {
        let v =
            json!([{ "service_request_id": "1", "description": "<a&b>\u{1}", "media_url": null }]);
        assert_eq!(
            to_xml("service_requests", &v),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><description>&lt;a&amp;b&gt;</description><media_url/><service_request_id>1</service_request_id></request></service_requests>"
        );
        let e = to_xml("errors", &json!([{ "code": 404, "description": "x" }]));
        assert!(e.ends_with(
            "<errors><error><code>404</code><description>x</description></error></errors>"
        ));
    }

    #[test]
    fn notes_carry_colour_step_rating() {
        assert_eq!(
            status_notes("red", "negotiation", Some(5)),
            "colour: red (红); step: negotiation; rating: 5"
        );
        assert_eq!(
            status_notes("green", "collection", None),
            "colour: green (绿); step: collection"
        );
    }

    #[test]
    fn statuses_map_to_open_and_closed() {
        for (s, want) in [
            ("open", "open"),
            ("accepted", "open"),
            ("reopened", "open"),
            ("resolved", "closed"),
            ("closed", "closed"),
        ] {
            assert_eq!(open311_status(s), want);
        }
    }

    #[test]
    fn service_codes_are_short_stable_ascii() {
        let c = service_code("用水用电");
        assert_eq!(c.len(), 8);
        assert_eq!(c, service_code("用水用电"));
        assert_ne!(c, service_code("其他"));
    }

    proptest::proptest! {
        #[test]
        fn xml_text_never_breaks_out(s in ".*") {
            let x = to_xml("r", &json!({ "d": s }));
            let inner = x.trim_start_matches("<?xml version=\"1.0\" encoding=\"utf-8\"?><r><d>").trim_end_matches("</d></r>");
            proptest::prop_assert!(!inner.contains('<') && !inner.contains('>'));
        }
    }
}
