//! Broadcasts: one text to every subscriber of a village (a notice an admin publishes, the
//! monthly finance summary). A broadcast is a row; the leader's scheduler queues it in
//! batches, each batch one transaction that writes a `broadcast_recipients` row beside every
//! outbox row, so a broadcast killed midway resumes with the subscribers not yet queued and
//! nobody is texted twice. The outbox then sends at the modem's own pace (per-modem rate and
//! the carrier's limits are the sender's), held out of the quiet hours like every text to
//! villagers (kind `broadcast`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::notices::{self, Notice};
use super::replies;
use crate::config::Config;
use crate::directory::Directory;
use crate::intake::affairs::NoticeKind;
use crate::outbox::{enqueue, NewSms};
use crate::store::{Result, Store};

/// Subscribers queued per transaction: small enough that a kill loses little work, large
/// enough that 500 subscribers take a handful of commits.
pub const BATCH: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub id: i64,
    pub village: String,
    pub notice_id: Option<i64>,
    pub text: String,
    pub created_by: String,
    pub created_at: i64,
    /// Subscribers when it was created.
    pub total: i64,
    /// Queued so far, and of those sent (or delivered), cancelled (unsubscribed meanwhile) and
    /// unconfirmed (the modem had it when the daemon stopped; not sent again, see
    /// `outbox::policy::at_most_once`).
    pub queued: i64,
    pub sent: i64,
    pub cancelled: i64,
    pub unconfirmed: i64,
    pub done_at: Option<i64>,
}

/// Creates a broadcast of `text` to `village`'s subscribers. With a `key`, only the first
/// creation counts (None when it existed).
pub async fn create(
    store: &Store,
    village: &str,
    notice_id: Option<i64>,
    text: &str,
    by: &str,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let total = super::subscriptions::count(store, village).await?;
    let id: Option<i64> = sqlx::query_scalar(&store.sql(
        "INSERT INTO broadcasts (key, village, notice_id, text, created_by, created_at, total) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id",
    ))
    .bind(key)
    .bind(village)
    .bind(notice_id)
    .bind(text)
    .bind(by)
    .bind(now.timestamp_millis())
    .bind(total)
    .fetch_optional(store.pool())
    .await?;
    Ok(id)
}

/// The broadcast of a notice, in the words every broadcast uses.
pub fn notice_text(sig: &str, n: &Notice) -> String {
    replies::broadcast(sig, &n.kind, &n.title, &n.body)
}

/// Queues the next batch of every unfinished broadcast; returns how many texts were queued.
pub async fn step(
    store: &Store,
    config: &Config,
    dir: &Directory,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<u64> {
    let open: Vec<(i64, String, String)> =
        sqlx::query("SELECT id, village, text FROM broadcasts WHERE done_at IS NULL ORDER BY id")
            .fetch_all(store.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_>>()?;
    let mut queued = 0;
    for (id, village, text) in open {
        queued += queue_batch(store, config, dir, id, &village, &text, now, batch).await?;
    }
    Ok(queued)
}

#[allow(clippy::too_many_arguments)]
async fn queue_batch(
    store: &Store,
    config: &Config,
    dir: &Directory,
    id: i64,
    village: &str,
    text: &str,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<u64> {
    let ms = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    let phones: Vec<String> = sqlx::query_scalar(&store.sql(
        "SELECT s.phone FROM subscriptions s WHERE s.village = ? AND NOT EXISTS \
         (SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = ? AND r.phone = s.phone) \
         ORDER BY s.phone LIMIT ?",
    ))
    .bind(village)
    .bind(id)
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    if phones.is_empty() {
        sqlx::query(
            &store.sql("UPDATE broadcasts SET done_at = ? WHERE id = ? AND done_at IS NULL"),
        )
        .bind(ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(0);
    }
    let not_before = crate::quiet::end_after(now, config.time_zone, config.quiet_hours);
    // The village's own SIM, when it has one, so the text comes from the number villagers know.
    let modem = dir.village(village).and_then(|v| v.modems.first().cloned());
    for phone in &phones {
        let outbox_id = enqueue(
            store,
            &mut tx,
            NewSms {
                recipient: phone,
                text,
                kind: "broadcast",
                appeal_id: None,
                modem: modem.as_deref(),
                not_before,
            },
        )
        .await?;
        sqlx::query(&store.sql(
            "INSERT INTO broadcast_recipients (broadcast_id, phone, outbox_id, queued_at) VALUES (?, ?, ?, ?)",
        ))
        .bind(id)
        .bind(phone)
        .bind(outbox_id)
        .bind(ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(phones.len() as u64)
}

/// Every broadcast, newest first, with how far it got.
pub async fn progress(store: &Store, limit: i64) -> Result<Vec<Progress>> {
    let rows = sqlx::query(&store.sql(
        "SELECT b.id, b.village, b.notice_id, b.text, b.created_by, b.created_at, b.total, b.done_at, \
         (SELECT COUNT(*) FROM broadcast_recipients r WHERE r.broadcast_id = b.id), \
         (SELECT COUNT(*) FROM broadcast_recipients r JOIN outbox o ON o.id = r.outbox_id WHERE r.broadcast_id = b.id AND o.state IN ('sent', 'delivered')), \
         (SELECT COUNT(*) FROM broadcast_recipients r JOIN outbox o ON o.id = r.outbox_id WHERE r.broadcast_id = b.id AND o.state = 'cancelled'), \
         (SELECT COUNT(*) FROM broadcast_recipients r JOIN outbox o ON o.id = r.outbox_id WHERE r.broadcast_id = b.id AND o.state = 'unconfirmed') \
         FROM broadcasts b ORDER BY b.id DESC LIMIT ?",
    ))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Progress {
                id: r.try_get(0)?,
                village: r.try_get(1)?,
                notice_id: r.try_get(2)?,
                text: r.try_get(3)?,
                created_by: r.try_get(4)?,
                created_at: r.try_get(5)?,
                total: r.try_get(6)?,
                done_at: r.try_get(7)?,
                queued: r.try_get(8)?,
                sent: r.try_get(9)?,
                cancelled: r.try_get(10)?,
                unconfirmed: r.try_get(11)?,
            })
        })
        .collect()
}

/// The monthly finance summary (村民委员会组织法 Art. 30: finances published at least
/// quarterly, monthly where busy): on the 1st, for each village with a finance notice in force,
/// a broadcast of it to the subscribers, created once per village and month.
pub async fn monthly_finance(
    store: &Store,
    config: &Config,
    dir: &Directory,
    now: DateTime<Utc>,
) -> Result<u32> {
    let Some((label, key)) =
        finance_month_due(now, config.time_zone, config.supervision.evaluation_time)
    else {
        return Ok(0);
    };
    let mut made = 0;
    for v in &dir.villages {
        let Some(n) = notices::latest(
            store,
            store.pool(),
            &v.code,
            NoticeKind::Finance,
            now.timestamp_millis(),
        )
        .await?
        else {
            continue;
        };
        let sig = v
            .signature
            .clone()
            .unwrap_or_else(|| config.signature.clone());
        let text = replies::broadcast(
            &sig,
            "finance",
            &format!("{label}财务"),
            &format!("{}：{}", n.title, n.body),
        );
        let key = format!("finance:{}:{key}", v.code);
        if create(store, &v.code, Some(n.id), &text, "system", Some(&key), now)
            .await?
            .is_some()
        {
            made += 1;
        }
    }
    Ok(made)
}

/// The month whose finance summary is due at `now`: within a day after the 1st at `time`
/// (local), the month before, as ("2026年11月", "2026-11"). Only that day, so a daemon
/// started mid-month (or back after days down) does not text a stale summary; the notice
/// itself stays readable by GK CW.
pub fn finance_month_due(
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    time: chrono::NaiveTime,
) -> Option<(String, String)> {
    use chrono::{Datelike, TimeZone};
    let first = now.with_timezone(&tz).date_naive().with_day(1)?;
    let at = tz.from_local_datetime(&first.and_time(time)).earliest()?;
    let since = now.timestamp_millis() - at.timestamp_millis();
    if !(0..86_400_000).contains(&since) {
        return None;
    }
    let before = first.pred_opt()?;
    Some((
        format!("{}年{}月", before.year(), before.month()),
        format!("{}-{:02}", before.year(), before.month()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_finance_summary_is_due_on_the_first_day_only() {
        let tz = chrono_tz::Asia::Shanghai;
        let eight = chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        let at = |m, d, h| {
            tz.with_ymd_and_hms(2026, m, d, h, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(finance_month_due(at(12, 1, 7), tz, eight), None);
        assert_eq!(
            finance_month_due(at(12, 1, 9), tz, eight),
            Some(("2026年11月".into(), "2026-11".into()))
        );
        assert_eq!(
            finance_month_due(at(1, 1, 9), tz, eight).map(|x| x.1),
            Some("2025-12".into())
        );
        assert_eq!(finance_month_due(at(12, 2, 9), tz, eight), None);
        assert_eq!(finance_month_due(at(11, 20, 9), tz, eight), None);
    }
}
