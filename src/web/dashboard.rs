//! The read queries behind the status page, the appeal page, /api/v1/stats and /metrics. Each is
//! an index walk over a bounded range (today, the unresolved, the queue states), so the page
//! costs the same with a thousand appeals or a million.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use crate::appeals::Status;
use crate::store::{Result, Store};

/// Milliseconds of the local midnight that began `now`'s day in `tz`.
pub fn local_midnight_ms(now: DateTime<Utc>, tz: Tz) -> i64 {
    let local = now.with_timezone(&tz).date_naive();
    let start = local.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A zone whose midnight is skipped by a DST jump starts the day at the first valid instant.
    tz.from_local_datetime(&start)
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| now.timestamp_millis() - 86_400_000)
}

/// `3天2小时` / `3d 2h`: how late, coarse enough to read at a glance.
pub fn duration_text(ms: i64, english: bool) -> String {
    let mins = ms.max(0) / 60_000;
    let (d, h, m) = (mins / 1440, (mins / 60) % 24, mins % 60);
    match (english, d, h) {
        (false, 0, 0) => format!("{m}分钟"),
        (false, 0, _) => format!("{h}小时{m}分"),
        (false, _, _) => format!("{d}天{h}小时"),
        (true, 0, 0) => format!("{m} min"),
        (true, 0, _) => format!("{h} h {m} min"),
        (true, _, _) => format!("{d} d {h} h"),
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Queues {
    pub inbox_waiting: i64,
    pub outbox_queued: i64,
    pub outbox_sending: i64,
    pub outbox_failed: i64,
    /// Sent in the last 24 hours, and how many of those have a delivery report.
    pub sent_24h: i64,
    pub delivered_24h: i64,
    pub webhooks_queued: i64,
}

impl Queues {
    /// Share of the last day's sent SMS confirmed delivered; None when nothing was sent.
    pub fn delivery_rate(&self) -> Option<f64> {
        (self.sent_24h > 0).then(|| self.delivered_24h as f64 / self.sent_24h as f64)
    }
}

async fn count(store: &Store, sql: &str, binds: &[i64]) -> Result<i64> {
    let sql = store.sql(sql);
    let mut q = sqlx::query_scalar::<_, i64>(&sql);
    for b in binds {
        q = q.bind(*b);
    }
    Ok(q.fetch_one(store.reader()).await?)
}

pub async fn queues(store: &Store, now_ms: i64) -> Result<Queues> {
    let day_ago = now_ms - 86_400_000;
    let mut q = Queues {
        inbox_waiting: count(
            store,
            "SELECT COUNT(*) FROM inbox WHERE state IN ('new', 'part')",
            &[],
        )
        .await?,
        sent_24h: count(
            store,
            "SELECT COUNT(*) FROM outbox WHERE sent_at >= ?",
            &[day_ago],
        )
        .await?,
        delivered_24h: count(
            store,
            "SELECT COUNT(*) FROM outbox WHERE sent_at >= ? AND delivered_at IS NOT NULL",
            &[day_ago],
        )
        .await?,
        webhooks_queued: count(
            store,
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'queued'",
            &[],
        )
        .await?,
        ..Queues::default()
    };
    let rows = sqlx::query(
        "SELECT state, COUNT(*) AS n FROM outbox WHERE state IN ('queued', 'sending', 'failed') GROUP BY state",
    )
    .fetch_all(store.reader())
    .await?;
    for r in rows {
        let state: String = r.try_get("state")?;
        let n: i64 = r.try_get("n")?;
        match state.as_str() {
            "queued" => q.outbox_queued = n,
            "sending" => q.outbox_sending = n,
            _ => q.outbox_failed = n,
        }
    }
    Ok(q)
}

/// Today's appeals by colour and step: colour -> step -> count.
pub async fn today_by_colour_step(
    store: &Store,
    since_ms: i64,
) -> Result<BTreeMap<String, BTreeMap<String, i64>>> {
    let rows = sqlx::query(&store.sql(
        "SELECT colour, step, COUNT(*) AS n FROM appeals WHERE filed_at >= ? GROUP BY colour, step",
    ))
    .bind(since_ms)
    .fetch_all(store.reader())
    .await?;
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for r in rows {
        let colour: String = r.try_get("colour")?;
        let step: String = r.try_get("step")?;
        let n: i64 = r.try_get("n")?;
        out.entry(colour).or_default().insert(step, n);
    }
    Ok(out)
}

/// Every appeal by status and colour (for /metrics and /api/v1/stats). Walks the status index.
pub async fn by_status_colour(store: &Store) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT status, colour, COUNT(*) AS n FROM appeals GROUP BY status, colour ORDER BY status, colour",
    )
    .fetch_all(store.reader())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("colour")?, r.try_get("n")?)))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Overdue {
    pub number: String,
    pub colour: String,
    pub category: String,
    pub status: String,
    pub step: String,
    /// `respond` (nobody accepted it in time) or `resolve` (not resolved in time).
    pub missed: &'static str,
    pub deadline_ms: i64,
    pub late_ms: i64,
}

/// How many appeals are past a deadline, and the `limit` latest-running of them. An appeal
/// still open (nobody accepted it) is late to respond after `respond_by`; any appeal still being
/// worked on (open, accepted, reopened) is late to resolve after `resolve_by`.
pub async fn overdue(store: &Store, now_ms: i64, limit: i64) -> Result<(i64, Vec<Overdue>)> {
    // Range walks on (status, deadline) indexes: resolved and closed appeals are never read.
    let resolve_sql = format!(
        "SELECT number, colour, category, status, step, resolve_by AS deadline FROM appeals \
         WHERE status IN {} AND resolve_by < ? ORDER BY resolve_by LIMIT ?",
        Status::OPEN_SQL
    );
    let respond_sql =
        "SELECT number, colour, category, status, step, respond_by AS deadline FROM appeals \
         WHERE status = 'open' AND respond_by < ? ORDER BY respond_by LIMIT ?";
    let mut list: Vec<Overdue> = Vec::new();
    for (sql, missed) in [(resolve_sql.as_str(), "resolve"), (respond_sql, "respond")] {
        let rows = sqlx::query(&store.sql(sql))
            .bind(now_ms)
            .bind(limit)
            .fetch_all(store.reader())
            .await?;
        for r in rows {
            let number: String = r.try_get("number")?;
            let deadline_ms: i64 = r.try_get("deadline")?;
            if list.iter().any(|o| o.number == number) {
                continue; // already listed as late to resolve, the later deadline
            }
            list.push(Overdue {
                number,
                colour: r.try_get("colour")?,
                category: r.try_get("category")?,
                status: r.try_get("status")?,
                step: r.try_get("step")?,
                missed,
                deadline_ms,
                late_ms: now_ms - deadline_ms,
            });
        }
    }
    list.sort_by_key(|o| std::cmp::Reverse(o.late_ms));
    list.truncate(usize::try_from(limit).unwrap_or(0));
    let total = count(
        store,
        &format!(
            "SELECT COUNT(*) FROM appeals WHERE status IN {} AND resolve_by < ?",
            Status::OPEN_SQL
        ),
        &[now_ms],
    )
    .await?
        + count(
            store,
            "SELECT COUNT(*) FROM appeals WHERE status = 'open' AND respond_by < ? AND resolve_by >= ?",
            &[now_ms, now_ms],
        )
        .await?;
    Ok((total, list))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    /// Milliseconds; the API shows it as a local RFC 3339 `at` (see `api::event_json`).
    #[sqlx(rename = "at")]
    #[serde(skip)]
    pub at_ms: i64,
    pub actor: String,
    pub channel: String,
    pub step: String,
    pub kind: String,
    pub text: String,
    pub number: Option<String>,
}

/// The newest events (newest first); with `after`, only those after that id.
pub async fn latest_events(store: &Store, after: Option<i64>, limit: i64) -> Result<Vec<EventRow>> {
    let rows = sqlx::query_as(&store.sql(
        "SELECT e.id, e.at, e.actor, e.channel, e.step, e.kind, e.text, a.number \
         FROM events e LEFT JOIN appeals a ON a.id = e.appeal_id \
         WHERE e.id > ? ORDER BY e.id DESC LIMIT ?",
    ))
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    Ok(rows)
}

/// An appeal's events, oldest first.
pub async fn timeline(store: &Store, appeal_id: i64) -> Result<Vec<EventRow>> {
    let rows = sqlx::query_as(&store.sql(
        "SELECT e.id, e.at, e.actor, e.channel, e.step, e.kind, e.text, a.number \
         FROM events e LEFT JOIN appeals a ON a.id = e.appeal_id \
         WHERE e.appeal_id = ? ORDER BY e.id",
    ))
    .bind(appeal_id)
    .fetch_all(store.reader())
    .await?;
    Ok(rows)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Sms {
    /// `in` (from a villager or cadre) or `out` (from the gateway).
    pub direction: String,
    #[serde(skip)]
    pub at_ms: i64,
    pub peer: String,
    pub text: String,
    pub modem: Option<String>,
    /// Outbound only: queued | sending | sent | delivered | failed.
    pub state: Option<String>,
}

/// Every SMS in and out that belongs to an appeal, in time order (on a tie, in before out).
pub async fn sms_of(store: &Store, appeal_id: i64) -> Result<Vec<Sms>> {
    Ok(sqlx::query_as(&store.sql(
        "SELECT 'in' AS direction, received_at AS at_ms, sender AS peer, text, modem, \
                CAST(NULL AS TEXT) AS state, id FROM messages WHERE appeal_id = ? \
         UNION ALL \
         SELECT 'out' AS direction, COALESCE(sent_at, created_at) AS at_ms, recipient AS peer, \
                text, sent_by AS modem, state, id FROM outbox WHERE appeal_id = ? \
         ORDER BY at_ms, direction, id",
    ))
    .bind(appeal_id)
    .bind(appeal_id)
    .fetch_all(store.reader())
    .await?)
}

/// Deadlines and milestones the list query does not carry.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct Milestones {
    #[sqlx(rename = "respond_by")]
    pub respond_by_ms: Option<i64>,
    #[sqlx(rename = "resolve_by")]
    pub resolve_by_ms: Option<i64>,
    #[sqlx(rename = "accepted_at")]
    pub accepted_at_ms: Option<i64>,
    #[sqlx(rename = "resolved_at")]
    pub resolved_at_ms: Option<i64>,
}

pub async fn milestones(store: &Store, appeal_id: i64) -> Result<Milestones> {
    let r =
        sqlx::query_as(&store.sql(
            "SELECT respond_by, resolve_by, accepted_at, resolved_at FROM appeals WHERE id = ?",
        ))
        .bind(appeal_id)
        .fetch_optional(store.reader())
        .await?;
    Ok(r.unwrap_or_default())
}

/// SMS in and out per modem since `since_ms`: modem -> (in, out).
pub async fn per_modem_since(store: &Store, since_ms: i64) -> Result<BTreeMap<String, (i64, i64)>> {
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let rows = sqlx::query(
        &store
            .sql("SELECT modem, COUNT(*) AS n FROM messages WHERE received_at >= ? GROUP BY modem"),
    )
    .bind(since_ms)
    .fetch_all(store.reader())
    .await?;
    for r in rows {
        out.entry(r.try_get("modem")?).or_default().0 = r.try_get("n")?;
    }
    let rows = sqlx::query(&store.sql(
        "SELECT sent_by, COUNT(*) AS n FROM outbox WHERE sent_at >= ? AND sent_by IS NOT NULL GROUP BY sent_by",
    ))
    .bind(since_ms)
    .fetch_all(store.reader())
    .await?;
    for r in rows {
        out.entry(r.try_get("sent_by")?).or_default().1 = r.try_get("n")?;
    }
    Ok(out)
}

/// Formats milliseconds as local time with the zone's offset (RFC 3339).
pub fn local_rfc3339(ms: i64, tz: Tz) -> String {
    crate::store::from_millis(ms)
        .with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// `07-13 09:05` in the local zone, for tables.
pub fn local_short(ms: i64, tz: Tz) -> String {
    crate::store::from_millis(ms)
        .with_timezone(&tz)
        .format("%m-%d %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_in_shanghai() {
        let now = Utc.with_ymd_and_hms(2022, 7, 13, 1, 30, 0).unwrap(); // 09:30 local
        let m = local_midnight_ms(now, chrono_tz::Asia::Shanghai);
        assert_eq!(
            m,
            Utc.with_ymd_and_hms(2022, 7, 12, 16, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
    }

    #[test]
    fn durations_read_coarsely() {
        for (ms, zh, en) in [
            (0, "0分钟", "0 min"),
            (-5, "0分钟", "0 min"),
            (59 * 60_000, "59分钟", "59 min"),
            (3 * 3_600_000 + 20 * 60_000, "3小时20分", "3 h 20 min"),
            (2 * 86_400_000 + 5 * 3_600_000, "2天5小时", "2 d 5 h"),
        ] {
            assert_eq!(duration_text(ms, false), zh);
            assert_eq!(duration_text(ms, true), en);
        }
    }

    #[test]
    fn delivery_rate() {
        let q = Queues {
            sent_24h: 4,
            delivered_24h: 3,
            ..Default::default()
        };
        assert_eq!(q.delivery_rate(), Some(0.75));
        assert_eq!(Queues::default().delivery_rate(), None);
    }

    #[test]
    fn local_times_carry_the_offset() {
        let ms = Utc
            .with_ymd_and_hms(2022, 7, 13, 1, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            local_rfc3339(ms, chrono_tz::Asia::Shanghai),
            "2022-07-13T09:00:00+08:00"
        );
        assert_eq!(local_short(ms, chrono_tz::Asia::Shanghai), "07-13 09:00");
    }
}
