//! The supervision API (/api/v1/supervision/...) and what the supervision page shares with
//! it: a period's facts (cached for a minute, since a month at county scale is seconds of
//! reading), the rates per group, the appeals behind a figure, the warnings and the reports.
//! The figures are those of [`crate::supervision`]; nothing here computes its own.
//!
//! Privacy: viewer sessions see phone numbers masked. A cadre's group key is their phone, so a
//! viewer gets an opaque key instead (a hash keyed by a secret of this daemon's run) that the
//! drill-down accepts back; admins and API tokens get the phone itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use warp::http::StatusCode;
use warp::Filter;

use super::api::CSRF_HEADER;
use super::auth::Principal;
use super::dashboard::local_rfc3339;
use super::{api_principal, internal, reject, with_web, Web};
use crate::config::Role;
use crate::supervision::drill::{behind, Figure};
use crate::supervision::facts::Fact;
use crate::supervision::period::Period;
use crate::supervision::rates::{by_group, compute, key_of, name_of, By, Rates, Row};
use crate::supervision::record::{self, Handled, WarningRow};
use crate::supervision::trend;

/// How long a period's facts are reused; the page says figures are "as of" their instant.
const CACHE_FOR: Duration = Duration::from_secs(60);
/// Periods kept at once: the page's period, the charts' window and a few drill-downs.
const CACHE_SLOTS: usize = 4;
const MAX_NOTE: usize = 500;
const MAX_BODY: u64 = 4096;

/// A period's facts, taken at `as_of`.
pub struct PeriodData {
    pub from: i64,
    pub to: i64,
    pub as_of: i64,
    pub facts: Vec<Fact>,
}

/// When it was taken (real time and logical minute), its key, the data.
type Slot = (Instant, i64, String, Arc<PeriodData>);

/// The cached periods (key: "2026-11" or "trend:2026-W50") and the secret of viewers' keys.
#[derive(Clone)]
pub struct Cache {
    slots: Arc<tokio::sync::Mutex<Vec<Slot>>>,
    secret: Arc<String>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            slots: Arc::default(),
            secret: Arc::new(super::csrf::new_token()),
        }
    }
}

/// Facts of `[from, to)` judged at `as_of`, from the cache when taken less than a minute ago
/// at the same logical minute (a test's manual clock moved).
async fn cached(w: &Web, key: String, from: i64, to: i64) -> crate::store::Result<Arc<PeriodData>> {
    let now = w.now_ms();
    let minute = now / 60_000;
    let mut slots = w.supervision.slots.lock().await;
    if let Some((_, _, _, d)) = slots
        .iter()
        .find(|(at, m, k, _)| *k == key && *m == minute && at.elapsed() < CACHE_FOR)
    {
        return Ok(d.clone());
    }
    let facts = record::period_facts(&w.shared.store, &w.shared.config, from, to).await?;
    let d = Arc::new(PeriodData {
        from,
        to,
        as_of: now.min(to),
        facts,
    });
    slots.retain(|(_, _, k, _)| *k != key);
    if slots.len() >= CACHE_SLOTS {
        slots.remove(0);
    }
    slots.push((Instant::now(), minute, key, d.clone()));
    Ok(d)
}

pub async fn period_data(w: &Web, period: Period) -> crate::store::Result<Arc<PeriodData>> {
    let (from, to) = period.bounds(w.shared.config.time_zone);
    cached(w, period.key(), from, to).await
}

/// The charts' window: eight weeks and six months ending with the week and month of `now`.
pub struct Trend {
    pub weeks: Vec<(Period, Rates)>,
    pub months: Vec<(Period, Rates)>,
}

pub const TREND_WEEKS: usize = 8;
pub const TREND_MONTHS: usize = 6;

pub async fn trend_data(w: &Web) -> crate::store::Result<Trend> {
    let tz = w.shared.config.time_zone;
    let (week, month) = trend::containing(w.shared.clock.now(), tz);
    let weeks = trend::ending(week, TREND_WEEKS);
    let months = trend::ending(month, TREND_MONTHS);
    let from = weeks[0].bounds(tz).0.min(months[0].bounds(tz).0);
    let to = week.bounds(tz).1.max(month.bounds(tz).1);
    let d = cached(w, format!("trend:{}", week.key()), from, to).await?;
    let weights = w.shared.config.supervision.weights;
    Ok(Trend {
        weeks: trend::per_period(&d.facts, &weeks, tz, d.as_of, weights),
        months: trend::per_period(&d.facts, &months, tz, d.as_of, weights),
    })
}

/// The period a request names, else the current local month.
pub fn period_or_now(w: &Web, given: Option<&str>) -> Result<Period, warp::Rejection> {
    match given.filter(|s| !s.trim().is_empty()) {
        Some(s) => Period::parse(s).map_err(|e| reject(StatusCode::BAD_REQUEST, e.to_string())),
        None => Ok(trend::containing(w.shared.clock.now(), w.shared.config.time_zone).1),
    }
}

pub fn parse_by(given: Option<&str>) -> Result<By, warp::Rejection> {
    match given.unwrap_or("cadre") {
        "cadre" => Ok(By::Cadre),
        "village" => Ok(By::Village),
        "town" => Ok(By::Town),
        other => Err(reject(
            StatusCode::BAD_REQUEST,
            format!("by={other:?}: group by cadre, village or town"),
        )),
    }
}

pub fn by_str(by: By) -> &'static str {
    match by {
        By::Cadre => "cadre",
        By::Village => "village",
        By::Town => "town",
    }
}

impl Web {
    /// A group's key as `p` may see it: a viewer gets an opaque key for a cadre's phone.
    pub fn group_key(&self, p: &Principal, by: By, key: &str) -> String {
        if by != By::Cadre || key.is_empty() || p.role == Role::Admin {
            return key.to_string();
        }
        let mut h = Sha256::new();
        h.update(self.supervision.secret.as_bytes());
        h.update(key.as_bytes());
        format!("c{}", &hex::encode(h.finalize())[..16])
    }
}

/// The rows of a period's table, keys as `p` may see them.
pub fn rows(w: &Web, p: &Principal, d: &PeriodData, by: By) -> Vec<Row> {
    let dir = w.shared.directory.current();
    let mut rows = by_group(
        &d.facts,
        by,
        &dir,
        d.as_of,
        w.shared.config.supervision.weights,
    );
    for r in &mut rows {
        r.key = w.group_key(p, by, &r.key);
    }
    rows
}

pub fn total(w: &Web, d: &PeriodData) -> Rates {
    let refs: Vec<&Fact> = d.facts.iter().collect();
    compute(&refs, d.as_of, w.shared.config.supervision.weights)
}

/// The appeals behind a figure, and the name of their group.
pub struct Drilled<'a> {
    /// None for the whole period, or a key no group of the period has.
    pub name: Option<String>,
    pub facts: Vec<&'a Fact>,
}

/// The facts of the group `key` (as `p` sees keys; `None`: every appeal) behind `figure`.
pub fn drill<'a>(
    w: &Web,
    p: &Principal,
    d: &'a PeriodData,
    by: By,
    key: Option<&str>,
    figure: Figure,
) -> Drilled<'a> {
    let dir = w.shared.directory.current();
    let Some(k) = key else {
        let all: Vec<&Fact> = d.facts.iter().collect();
        return Drilled {
            name: None,
            facts: behind(&all, figure, d.as_of),
        };
    };
    // A viewer's key is a hash of the raw one: resolve it once among the period's groups,
    // not once per fact (a county month is a million hashes).
    let groups: std::collections::BTreeSet<&str> =
        d.facts.iter().map(|f| key_of(f, by, &dir)).collect();
    let Some(raw) = groups.into_iter().find(|r| w.group_key(p, by, r) == k) else {
        return Drilled {
            name: None,
            facts: Vec::new(),
        };
    };
    let group: Vec<&Fact> = d
        .facts
        .iter()
        .filter(|f| key_of(f, by, &dir) == raw)
        .collect();
    Drilled {
        name: group.first().map(|f| name_of(f, by, raw, &dir)),
        facts: behind(&group, figure, d.as_of),
    }
}

pub fn parse_figure(given: Option<&str>) -> Result<Figure, warp::Rejection> {
    let s = given.unwrap_or("appeals");
    Figure::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Figure::ALL.iter().map(|f| f.as_str()).collect();
        reject(
            StatusCode::BAD_REQUEST,
            format!("figure={s:?}: one of {}", names.join(", ")),
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesQuery {
    pub period: Option<String>,
    pub by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillQuery {
    pub period: Option<String>,
    pub by: Option<String>,
    /// A row's `key`; absent: every appeal of the period.
    pub key: Option<String>,
    pub figure: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningsQuery {
    /// true (default): only the warnings nobody marked handled.
    pub open: Option<bool>,
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub period: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
    /// A week's digest for one town (default: every town).
    pub town: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandleBody {
    pub note: String,
}

#[derive(Serialize)]
struct RatesOut {
    period: String,
    label: String,
    from: String,
    to: String,
    as_of: String,
    by: &'static str,
    total: Rates,
    rows: Vec<Row>,
}

/// One appeal behind a figure.
#[derive(Debug, Serialize)]
pub struct DrillAppeal {
    pub number: String,
    pub village: Option<String>,
    pub category: String,
    pub colour: String,
    pub status: String,
    pub cadre_name: Option<String>,
    pub filed_at: String,
    pub respond_by: Option<String>,
    pub accepted_at: Option<String>,
    pub resolve_by: Option<String>,
    pub resolved_at: Option<String>,
    pub rating: Option<u8>,
    pub transfers: u32,
    pub reopens: u32,
    pub repeat: bool,
}

pub fn drill_appeal(w: &Web, f: &Fact) -> DrillAppeal {
    let tz = w.shared.config.time_zone;
    let t = |ms: Option<i64>| ms.map(|ms| local_rfc3339(ms, tz));
    DrillAppeal {
        number: f.number.clone(),
        village: f.village.clone(),
        category: f.category.clone(),
        colour: f.colour.as_str().to_string(),
        status: f.status.clone(),
        cadre_name: f.cadre_name.clone(),
        filed_at: local_rfc3339(f.filed_at, tz),
        respond_by: t(f.respond_by),
        accepted_at: t(f.accepted_at),
        resolve_by: t(f.resolve_by),
        resolved_at: t(f.resolved_at),
        rating: f.rating,
        transfers: f.transfers,
        reopens: f.reopens,
        repeat: f.repeat,
    }
}

#[derive(Serialize)]
struct DrillOut {
    period: String,
    by: &'static str,
    key: Option<String>,
    figure: &'static str,
    count: usize,
    truncated: bool,
    appeals: Vec<DrillAppeal>,
}

/// A warning as `p` may see it, with times in local RFC 3339 and the rule's names.
#[derive(Serialize)]
pub struct WarningOut {
    #[serde(flatten)]
    pub row: WarningRow,
    pub rule_zh: &'static str,
    pub rule_en: &'static str,
    pub detected: String,
    pub handled: Option<String>,
}

pub fn warning_out(w: &Web, p: &Principal, mut row: WarningRow) -> WarningOut {
    let tz = w.shared.config.time_zone;
    let rule = crate::supervision::warnings::Rule::parse(&row.rule);
    row.cadre = row.cadre.map(|c| p.phone(&c));
    row.detail = p.text(&row.detail);
    row.handled_by = row.handled_by.map(|b| p.actor(&b));
    row.note = row.note.map(|n| p.text(&n));
    row.key = p.text(&row.key);
    WarningOut {
        rule_zh: rule.map_or("", |r| r.chinese()),
        rule_en: rule.map_or("", |r| r.english()),
        detected: local_rfc3339(row.detected_at, tz),
        handled: row.handled_at.map(|t| local_rfc3339(t, tz)),
        row,
    }
}

/// Marks warning `id` handled by `p`; the answer a client can act on otherwise.
pub async fn handle(w: &Web, p: &Principal, id: i64, note: &str) -> Result<(), warp::Rejection> {
    let note = note.trim();
    if note.is_empty() {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "write a note: what was checked and what was done",
        ));
    }
    if note.chars().count() > MAX_NOTE {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            format!("the note is longer than {MAX_NOTE} characters"),
        ));
    }
    let by = format!("{}/{}", p.name, p.role.as_str());
    match record::handle_warning(&w.shared.store, id, &by, note, w.shared.clock.now())
        .await
        .map_err(internal)?
    {
        Handled::Done => Ok(()),
        Handled::NotFound => Err(reject(StatusCode::NOT_FOUND, format!("no warning {id}"))),
        Handled::AlreadyHandled => Err(reject(
            StatusCode::CONFLICT,
            format!("warning {id} was already marked handled"),
        )),
    }
}

/// A report: the month's evaluation (with its snapshot, if one was taken) or a week's digest.
pub enum Report {
    Month {
        evaluation: crate::supervision::report::Evaluation,
        snapshot: Option<record::Snapshot>,
    },
    Week(crate::supervision::report::Digest),
}

pub async fn report(
    w: &Web,
    p: &Principal,
    period: Period,
    town: Option<&str>,
) -> Result<Report, warp::Rejection> {
    let s = &w.shared;
    let dir = s.directory.current();
    let now = w.now_ms();
    let mask = |key: &mut String| *key = p.phone(key);
    match period {
        Period::Month { .. } => {
            let mut evaluation = record::evaluation(&s.store, &s.config, &dir, period, now)
                .await
                .map_err(internal)?;
            let snapshot = record::snapshot(&s.store, &period.key())
                .await
                .map_err(internal)?;
            for c in &mut evaluation.cadres {
                mask(&mut c.row.key);
            }
            evaluation.red_board.iter_mut().for_each(mask);
            evaluation.black_board.iter_mut().for_each(mask);
            // The stored report is as it was computed; a viewer sees its figures, not phones.
            let snapshot = snapshot.map(|mut sn| {
                if p.role != Role::Admin {
                    sn.report = serde_json::Value::Null;
                }
                sn
            });
            Ok(Report::Month {
                evaluation,
                snapshot,
            })
        }
        Period::Week { .. } => {
            let inputs = record::week_inputs(&s.store, &s.config, period, now)
                .await
                .map_err(internal)?;
            let mut d = inputs.digest(town, &dir, &s.config);
            for r in &mut d.worst {
                mask(&mut r.key);
            }
            Ok(Report::Week(d))
        }
    }
}

impl Report {
    pub fn csv(&self) -> String {
        match self {
            Report::Month { evaluation, .. } => evaluation.csv(),
            Report::Week(d) => d.csv(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        match self {
            Report::Month {
                evaluation,
                snapshot,
            } => serde_json::json!({
                "kind": "evaluation",
                "evaluation": evaluation,
                "snapshot": snapshot.as_ref().map(|s| serde_json::json!({
                    "created_at": s.created_at,
                    "as_of": s.as_of,
                    "appeals": s.appeals,
                    "inputs_hash": s.inputs_hash,
                    "matches": s.inputs_hash == evaluation.inputs_hash,
                    "report": s.report,
                })),
            }),
            Report::Week(d) => serde_json::json!({ "kind": "digest", "digest": d }),
        }
    }
}

/// A CSV download named for its period.
pub fn csv_reply(name: &str, body: String) -> warp::reply::Response {
    warp::http::Response::builder()
        .header("content-type", "text/csv; charset=utf-8")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{name}.csv\""),
        )
        .header("cache-control", "no-store")
        .body(warp::hyper::Body::from(body))
        .unwrap_or_default()
}

pub fn routes(
    w: Web,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let rates = warp::path!("api" / "v1" / "supervision" / "rates")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<RatesQuery>())
        .and(with_web(w.clone()))
        .and_then(rates_handler);
    let appeals = warp::path!("api" / "v1" / "supervision" / "appeals")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<DrillQuery>())
        .and(with_web(w.clone()))
        .and_then(drill_handler);
    let warnings = warp::path!("api" / "v1" / "supervision" / "warnings")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<WarningsQuery>())
        .and(with_web(w.clone()))
        .and_then(warnings_handler);
    let handle = warp::path!("api" / "v1" / "supervision" / "warnings" / i64 / "handle")
        .and(warp::post())
        .and(api_principal(w.clone()))
        .and(warp::header::optional::<String>(CSRF_HEADER))
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and(with_web(w.clone()))
        .and_then(handle_handler);
    let reports = warp::path!("api" / "v1" / "supervision" / "reports")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(warp::query::<ReportQuery>())
        .and(with_web(w))
        .and_then(report_handler);
    rates.or(appeals).or(warnings).or(handle).or(reports)
}

async fn rates_handler(
    p: Principal,
    q: RatesQuery,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    let period = period_or_now(&w, q.period.as_deref())?;
    let by = parse_by(q.by.as_deref())?;
    let d = period_data(&w, period).await.map_err(internal)?;
    let tz = w.shared.config.time_zone;
    Ok(warp::reply::json(&RatesOut {
        period: period.key(),
        label: period.label(),
        from: local_rfc3339(d.from, tz),
        to: local_rfc3339(d.to, tz),
        as_of: local_rfc3339(d.as_of, tz),
        by: by_str(by),
        total: total(&w, &d),
        rows: rows(&w, &p, &d, by),
    }))
}

async fn drill_handler(
    p: Principal,
    q: DrillQuery,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    let period = period_or_now(&w, q.period.as_deref())?;
    let by = parse_by(q.by.as_deref())?;
    let figure = parse_figure(q.figure.as_deref())?;
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let d = period_data(&w, period).await.map_err(internal)?;
    let list = drill(&w, &p, &d, by, q.key.as_deref(), figure).facts;
    Ok(warp::reply::json(&DrillOut {
        period: period.key(),
        by: by_str(by),
        key: q.key,
        figure: figure.as_str(),
        count: list.len(),
        truncated: list.len() > limit,
        appeals: list
            .iter()
            .take(limit)
            .map(|f| drill_appeal(&w, f))
            .collect(),
    }))
}

async fn warnings_handler(
    p: Principal,
    q: WarningsQuery,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let list = record::warnings(&w.shared.store, q.open.unwrap_or(true), limit)
        .await
        .map_err(internal)?;
    let out: Vec<WarningOut> = list.into_iter().map(|r| warning_out(&w, &p, r)).collect();
    Ok(warp::reply::json(&serde_json::json!({ "warnings": out })))
}

async fn handle_handler(
    id: i64,
    p: Principal,
    csrf: Option<String>,
    body: bytes::Bytes,
    w: Web,
) -> Result<impl warp::Reply, warp::Rejection> {
    // Marking a warning handled is the commission's own act: viewers (the commission) may,
    // unlike every other change, which is an admin's.
    if !p.csrf_ok(csrf.as_deref()) {
        return Err(reject(
            StatusCode::FORBIDDEN,
            format!("send the page's CSRF token in the {CSRF_HEADER} header"),
        ));
    }
    let b: HandleBody = super::api::parse_json(&body)?;
    handle(&w, &p, id, &b.note).await?;
    Ok(warp::reply::json(
        &serde_json::json!({ "id": id, "handled": true }),
    ))
}

async fn report_handler(
    p: Principal,
    q: ReportQuery,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    use warp::Reply;
    let period = period_or_now(&w, q.period.as_deref())?;
    let r = report(&w, &p, period, q.town.as_deref()).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(warp::reply::json(&r.json()).into_response()),
        "csv" => {
            let kind = match r {
                Report::Month { .. } => "evaluation",
                Report::Week(_) => "digest",
            };
            Ok(csv_reply(&format!("{kind}-{}", period.key()), r.csv()))
        }
        other => Err(reject(
            StatusCode::BAD_REQUEST,
            format!("format={other:?}: json or csv"),
        )),
    }
}
