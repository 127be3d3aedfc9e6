//! Webhooks: appeal created, changed and rated, POSTed as signed JSON to the `[[webhook]]`
//! URLs, through a durable queue so a platform outage loses nothing.
//!
//! The event log is the source: a pump tails `events` from a cursor and, in one transaction,
//! queues one delivery per (webhook, event) and advances the cursor. A sender claims due
//! deliveries (a lease, `SKIP LOCKED` on PostgreSQL so several daemons share the work), POSTs
//! them with `X-Signature: sha256=<HMAC-SHA256 of the body>`, and on anything but 2xx retries
//! with capped exponential backoff, for ever. Nothing in the filing or workflow code has to
//! know webhooks exist, and a crash between the POST and the commit only sends one twice: each
//! body carries `event_id`, so a receiver can drop repeats.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Config, WebhookEvent};
use crate::store::{Result, Store};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// How long a claimed delivery is left alone before another attempt may take it.
const LEASE_MS: i64 = 60_000;
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Which webhook event an event-log entry is.
pub fn event_of(kind: &str) -> WebhookEvent {
    match kind {
        "filed" => WebhookEvent::Created,
        k if k.contains("rat") => WebhookEvent::Rated,
        _ => WebhookEvent::Changed,
    }
}

/// `sha256=<hex>`: HMAC-SHA256 of the exact body bytes.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // An HMAC key may have any length, so new_from_slice cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Wait before attempt `attempts + 1`: 10 s doubling up to one hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    let wait = crate::backoff::backoff(
        u32::try_from(attempts.max(1)).unwrap_or(u32::MAX),
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(3600),
    );
    wait.as_millis() as i64
}

/// Queues deliveries for up to `batch` new events; returns how many events it read.
pub async fn pump(store: &Store, config: &Config, now_ms: i64, batch: i64) -> Result<usize> {
    let mut tx = store.pool().begin().await?;
    // An UPDATE takes the row lock on PostgreSQL, so two daemons never read the same span.
    let cursor: i64 = sqlx::query_scalar(
        "UPDATE webhook_cursor SET last_event_id = last_event_id WHERE id = 1 RETURNING last_event_id",
    )
    .fetch_one(&mut *tx)
    .await?;
    let rows = sqlx::query(&store.sql(
        "SELECT id, appeal_id, at, actor, channel, step, kind, text FROM events WHERE id > ? ORDER BY id LIMIT ?",
    ))
    .bind(cursor)
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let Some(last) = rows.last().map(|r| r.try_get::<i64, _>("id")).transpose()? else {
        tx.rollback().await?;
        return Ok(0);
    };
    for r in &rows {
        let Some(appeal_id) = r.try_get::<Option<i64>, _>("appeal_id")? else {
            continue;
        };
        let kind: String = r.try_get("kind")?;
        let event = event_of(&kind);
        let hooks: Vec<_> = config
            .webhooks
            .iter()
            .filter(|h| h.events.contains(&event))
            .collect();
        if hooks.is_empty() {
            continue;
        }
        let event_id: i64 = r.try_get("id")?;
        let number: Option<String> =
            sqlx::query_scalar(&store.sql("SELECT number FROM appeals WHERE id = ?"))
                .bind(appeal_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(number) = number else { continue };
        let appeal = crate::appeals::get_appeal(store, &number).await?;
        let at: i64 = r.try_get("at")?;
        let body = serde_json::json!({
            "event": format!("appeal.{}", event.as_str()),
            "event_id": event_id,
            "at": crate::store::from_millis(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "kind": kind,
            "step": r.try_get::<String, _>("step")?,
            "channel": r.try_get::<String, _>("channel")?,
            "text": r.try_get::<String, _>("text")?,
            "appeal": appeal,
        })
        .to_string();
        for h in hooks {
            sqlx::query(&store.sql(
                "INSERT INTO webhook_deliveries (url, event, event_id, appeal_id, body, state, next_attempt_at, created_at) \
                 VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT (url, event_id) DO NOTHING",
            ))
            .bind(&h.url)
            .bind(event.as_str())
            .bind(event_id)
            .bind(appeal_id)
            .bind(&body)
            .bind(now_ms)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query(&store.sql("UPDATE webhook_cursor SET last_event_id = ? WHERE id = 1"))
        .bind(last)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub url: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
}

/// Takes the oldest due delivery under a lease.
pub async fn claim(store: &Store, now_ms: i64) -> Result<Option<Claimed>> {
    // The lease is a next attempt pushed past the POST's time: a worker that dies mid-POST
    // leaves the row due again when the lease runs out.
    let sql = crate::store::queue::claim_oldest_due(
        store,
        "webhook_deliveries",
        "attempts = attempts + 1, next_attempt_at = ?",
        "1=1",
        "id, url, event, body, attempts",
        1,
    );
    Ok(sqlx::query_as(&sql)
        .bind(now_ms + LEASE_MS)
        .bind(now_ms)
        .fetch_optional(store.pool())
        .await?)
}

/// Records the outcome of one attempt.
pub async fn finish(
    store: &Store,
    c: &Claimed,
    outcome: std::result::Result<(), String>,
    now_ms: i64,
) -> Result<()> {
    match outcome {
        Ok(()) => {
            sqlx::query(&store.sql(
                "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = ?, last_error = NULL WHERE id = ?",
            ))
            .bind(now_ms)
            .bind(c.id)
            .execute(store.pool())
            .await?;
        }
        Err(e) => {
            sqlx::query(&store.sql(
                "UPDATE webhook_deliveries SET next_attempt_at = ?, last_error = ? WHERE id = ?",
            ))
            .bind(now_ms + backoff_ms(c.attempts))
            .bind(e)
            .bind(c.id)
            .execute(store.pool())
            .await?;
        }
    }
    Ok(())
}

type Client = hyper::Client<hyper::client::HttpConnector>;

/// One POST; Ok on any 2xx.
pub async fn post(
    client: &Client,
    url: &str,
    secret: &str,
    c: &Claimed,
) -> std::result::Result<(), String> {
    let req = hyper::Request::post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(secret, c.body.as_bytes()))
        .header("x-appeal-gateway-event", format!("appeal.{}", c.event))
        .header("x-appeal-gateway-delivery", c.id.to_string())
        .body(hyper::Body::from(c.body.clone()))
        .map_err(|e| format!("bad request: {e}"))?;
    match tokio::time::timeout(POST_TIMEOUT, client.request(req)).await {
        Err(_) => Err("timed out".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(resp)) if resp.status().is_success() => Ok(()),
        Ok(Ok(resp)) => Err(format!("HTTP {}", resp.status())),
    }
}

/// Sends every due delivery; returns how many were attempted.
pub async fn deliver_due(
    store: &Store,
    config: &Config,
    clock: &Clock,
    client: &Client,
) -> Result<usize> {
    let mut n = 0;
    while let Some(c) = claim(store, clock.now().timestamp_millis()).await? {
        n += 1;
        let Some(hook) = config.webhooks.iter().find(|h| h.url == c.url) else {
            // The webhook left the config: nobody to send it to.
            sqlx::query(&store.sql("UPDATE webhook_deliveries SET state = 'dropped' WHERE id = ?"))
                .bind(c.id)
                .execute(store.pool())
                .await?;
            continue;
        };
        let outcome = post(client, &c.url, &hook.secret, &c).await;
        if let Err(e) = &outcome {
            tracing::warn!(url = %c.url, delivery = c.id, attempts = c.attempts, error = %e, "webhook delivery failed; will retry");
        }
        finish(store, &c, outcome, clock.now().timestamp_millis()).await?;
    }
    Ok(n)
}

pub struct WebhookContext {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub shutdown: CancellationToken,
}

/// The webhook task: pump and deliver about once a second until shutdown.
pub async fn run(ctx: WebhookContext) {
    let client: Client = hyper::Client::new();
    loop {
        let now = ctx.clock.now().timestamp_millis();
        let step = async {
            while pump(&ctx.store, &ctx.config, now, 200).await? == 200 {}
            deliver_due(&ctx.store, &ctx.config, &ctx.clock, &client).await
        };
        if let Err(e) = step.await {
            tracing::error!(error = %e, "webhook queue error; retrying");
        }
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_events() {
        assert_eq!(event_of("filed"), WebhookEvent::Created);
        assert_eq!(event_of("rated"), WebhookEvent::Rated);
        assert_eq!(event_of("accepted"), WebhookEvent::Changed);
        assert_eq!(event_of("reply"), WebhookEvent::Changed);
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let s = sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            s,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1), 10_000);
        assert_eq!(backoff_ms(2), 20_000);
        assert_eq!(backoff_ms(5), 160_000);
        assert_eq!(backoff_ms(30), 3_600_000);
        assert_eq!(backoff_ms(0), 10_000);
    }
}
