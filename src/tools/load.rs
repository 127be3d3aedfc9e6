//! `appeal-gateway bench-web`: the status page and GET /api/v1/appeals under load. Fills a
//! SQLite file with N appeals (two years of them, most resolved, some overdue) in batched
//! transactions, serves the web on it, and runs C concurrent keep-alive clients against each
//! route for a while, reporting p50/p90/p99 and the request rate. The file can be kept and
//! served again (`--keep`) to point wrk or oha at it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Account, Config, Role};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

/// Latency figures of one route.
#[derive(Debug, Clone)]
pub struct RouteReport {
    pub route: String,
    pub requests: usize,
    pub errors: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl std::fmt::Display for RouteReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<28} {:>7} req {:>4} err {:>7.0} req/s   p50 {:>6.1} ms  p90 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
            self.route, self.requests, self.errors, self.rps, self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms
        )
    }
}

/// The `q` quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

const VILLAGES: [&str; 10] = [
    "v01", "v02", "v03", "v04", "v05", "v06", "v07", "v08", "v09", "v10",
];
const CATEGORIES: [(&str, &str); 5] = [
    ("安全隐患", "red"),
    ("用水用电", "yellow"),
    ("邻里纠纷", "yellow"),
    ("道路交通", "green"),
    ("其他", "green"),
];

/// Fills `store` with `n` appeals over the two years ending at `now_ms`, newest last (ids
/// ascend with time).
pub async fn seed(store: &Store, n: usize, now_ms: i64) -> Result<(), LoadError> {
    seed_over(store, n, now_ms, 730 * 86_400_000).await
}

/// [`seed`] with the appeals spread over the `span_ms` before `now_ms`.
pub async fn seed_over(
    store: &Store,
    n: usize,
    now_ms: i64,
    span_ms: i64,
) -> Result<(), LoadError> {
    const ROWS: usize = 500; // 500 rows x 16 columns stays under SQLite's bind limit
    let step = (span_ms / n.max(1) as i64).max(1);
    let mut i = 0usize;
    while i < n {
        let mut tx = store.pool().begin().await?;
        for _ in 0..200 {
            if i >= n {
                break;
            }
            let batch = ROWS.min(n - i);
            let mut sql = String::from(
                "INSERT INTO appeals (number, phone, village, modem, text, category, colour, status, step, \
                 received_at, filed_at, updated_at, respond_by, resolve_by, accepted_at, resolved_at, rating) VALUES ",
            );
            for k in 0..batch {
                if k > 0 {
                    sql.push(',');
                }
                sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
            }
            let sql = store.sql(&sql);
            let mut q = sqlx::query(&sql);
            for k in 0..batch {
                let j = i + k;
                let filed = now_ms - span_ms + (j as i64) * step;
                let (cat, colour) = CATEGORIES[j % CATEGORIES.len()];
                // The last 2000 are still being worked on (some of them overdue); the rest
                // went through all five steps.
                let open = j + 2000 >= n;
                let (status, stepname) = if open {
                    (if j % 3 == 0 { "open" } else { "accepted" }, "negotiation")
                } else {
                    ("closed", "evaluation")
                };
                let accepted = (!open || j % 3 != 0).then_some(filed + 600_000);
                let resolved = (!open).then_some(filed + 86_400_000);
                q = q
                    .bind(format!("2{j:011}"))
                    .bind(format!("138{:08}", j % 100_000_000))
                    .bind(VILLAGES[j % VILLAGES.len()])
                    .bind("m1")
                    .bind("村口路灯坏了三天了，晚上路不好走，希望尽快修好")
                    .bind(cat)
                    .bind(colour)
                    .bind(status)
                    .bind(stepname)
                    .bind(filed)
                    .bind(filed)
                    .bind(resolved.unwrap_or(filed))
                    .bind(filed + 1_800_000)
                    .bind(filed + 72 * 3_600_000)
                    .bind(accepted)
                    .bind(resolved)
                    .bind((!open).then_some(3 + (j % 3) as i64));
            }
            q.execute(&mut *tx).await?;
            i += batch;
        }
        tx.commit().await?;
    }
    // Events for the newest appeals, so the live feed and the timelines have something.
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO events (appeal_id, at, actor, channel, step, kind, text, prev_hash, hash) \
         SELECT id, filed_at, phone, 'sms', 'collection', 'filed', text, '', '' FROM appeals \
         ORDER BY id DESC LIMIT 5000",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    Ok(())
}

/// Runs `clients` keep-alive clients GETting `path` for `secs` seconds.
pub async fn hammer(
    addr: std::net::SocketAddr,
    path: &str,
    headers: Vec<(String, String)>,
    clients: usize,
    secs: u64,
) -> RouteReport {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let headers = Arc::new(headers);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let url: hyper::Uri = match format!("http://{addr}{path}").parse() {
            Ok(u) => u,
            Err(_) => break,
        };
        let headers = headers.clone();
        tasks.push(tokio::spawn(async move {
            // One connection per client, kept alive, as a browser or wrk would.
            let client: hyper::Client<hyper::client::HttpConnector> = hyper::Client::builder()
                .pool_max_idle_per_host(1)
                .build_http();
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let mut b = hyper::Request::get(url.clone());
                for (k, v) in headers.iter() {
                    b = b.header(k.as_str(), v.as_str());
                }
                let Ok(req) = b.body(hyper::Body::empty()) else {
                    errors += 1;
                    continue;
                };
                let t = Instant::now();
                match client.request(req).await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let body = hyper::body::to_bytes(resp.into_body()).await;
                        if ok && body.is_ok() {
                            lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        } else {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    RouteReport {
        route: path.to_string(),
        requests: all.len(),
        errors,
        rps: all.len() as f64 / elapsed,
        p50_ms: quantile(&all, 0.50),
        p90_ms: quantile(&all, 0.90),
        p99_ms: quantile(&all, 0.99),
        max_ms: all.last().copied().unwrap_or(0.0),
    }
}

/// Seeds (unless the file already holds appeals), serves, measures. With `hold`, keeps
/// serving after the measurement and prints a wrk command line.
pub async fn run(
    db: &Path,
    appeals: usize,
    clients: usize,
    secs: u64,
    hold: bool,
    connections: u32,
) -> Result<Vec<RouteReport>, LoadError> {
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let mut config = Config::parse(
        &format!("[database]\nurl = \"{url}\"\nmax_connections = {connections}\n"),
        Path::new("bench-web.toml"),
    )
    .map_err(|e| LoadError::Other(e.to_string()))?;
    let token = crate::web::csrf::new_token();
    config.api.tokens.push(token.clone());
    let hash =
        crate::web::auth::hash_password("bench").map_err(|e| LoadError::Other(e.to_string()))?;
    config.web.accounts.push(Account {
        name: "admin".into(),
        role: Role::Admin,
        password_hash: hash,
    });
    let store = Store::connect(&url, config.database.max_connections).await?;
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appeals")
        .fetch_one(store.reader())
        .await?;
    let now = crate::clock::Clock::System.now();
    if have == 0 {
        let t = Instant::now();
        seed(&store, appeals, now.timestamp_millis()).await?;
        println!(
            "seeded {appeals} appeals in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    } else {
        println!("using the {have} appeals already in {}", db.display());
    }
    let cookie_token =
        crate::web::session::create(&store, "admin", Role::Admin, now.timestamp_millis()).await?;
    let shared = crate::web::Shared {
        config: Arc::new(config),
        store: store.clone(),
        clock: Clock::System,
        modems: Vec::new(),
        outbox_wake: crate::wake::Wake::new(),
        directory: crate::directory::DirectoryHandle::new(crate::directory::Directory::default()),
        db: crate::store::health::Health::new(Clock::System),
        leader: crate::store::leader::Leader::always(),
    };
    let shutdown = CancellationToken::new();
    let (addr, server) = crate::web::bind(
        shared,
        "127.0.0.1:0"
            .parse()
            .map_err(|_| LoadError::Other("addr".into()))?,
        shutdown.clone(),
    )
    .map_err(|e| LoadError::Other(e.to_string()))?;
    let server = tokio::spawn(server);
    let cookie = vec![(
        "cookie".to_string(),
        format!("{}={cookie_token}", crate::web::session::COOKIE),
    )];
    let bearer = vec![("authorization".to_string(), format!("Bearer {token}"))];
    // Warm the page cache of the file before measuring.
    let _ = hammer(addr, "/", cookie.clone(), 2, 1).await;
    let mut out = Vec::new();
    for (path, headers) in [
        ("/", cookie.clone()),
        ("/api/v1/appeals", bearer.clone()),
        ("/api/v1/appeals?colour=red&limit=50", bearer.clone()),
    ] {
        let r = hammer(addr, path, headers, clients, secs).await;
        println!("{r}");
        out.push(r);
    }
    if hold {
        println!("serving on http://{addr}/ until Ctrl-C; for example:");
        println!(
            "  wrk -t2 -c{clients} -d30s --latency -H 'Cookie: {}={cookie_token}' http://{addr}/",
            crate::web::session::COOKIE
        );
        println!("  wrk -t2 -c{clients} -d30s --latency -H 'Authorization: Bearer {token}' http://{addr}/api/v1/appeals");
        let _ = tokio::signal::ctrl_c().await;
    }
    shutdown.cancel();
    let _ = server.await;
    store.close().await;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[7.0], 0.01), 7.0);
    }
}
