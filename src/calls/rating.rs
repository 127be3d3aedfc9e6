//! Rating calls: which villagers who left the SMS survey unanswered are due a call now, and
//! the record of each attempt (`rating_calls`). The rules are pure ([`due`]); the daemon's
//! loop (`daemon::rating_calls`) asks for [`candidates`], writes the attempt with [`start`]
//! before the modem dials, and [`finish`]es it with what the modem task reports. The rating
//! itself goes through the survey's own function (`calls::desk::rate`), as a texted one.
//!
//! An attempt is written before dialling: a daemon killed mid-call has used that attempt, so
//! a restart never rings the villager twice in a row for it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::Row;

use crate::quiet::{self, Window};
use crate::store::{from_millis, Result, Store};

/// Retries of one appeal's rating call within one local day, at most.
pub const RETRIES_PER_DAY: usize = 2;

/// When rating calls may go out.
#[derive(Debug, Clone, Copy)]
pub struct RatingRules {
    /// After the survey prompt.
    pub after: Duration,
    /// Attempts per appeal.
    pub attempts: u32,
    /// Between attempts.
    pub retry: Duration,
    pub tz: Tz,
    pub quiet: Window,
}

/// Pure: whether an appeal whose survey went out at `sent` and whose earlier attempts started
/// at `tries` is due a rating call at `now`.
pub fn due(
    sent: DateTime<Utc>,
    tries: &[DateTime<Utc>],
    now: DateTime<Utc>,
    r: &RatingRules,
) -> bool {
    if quiet::contains(r.quiet, now.with_timezone(&r.tz).time()) {
        return false;
    }
    if now < sent + chrono::Duration::from_std(r.after).unwrap_or(chrono::Duration::MAX) {
        return false;
    }
    if tries.len() >= r.attempts as usize {
        return false;
    }
    let retry = chrono::Duration::from_std(r.retry).unwrap_or(chrono::Duration::MAX);
    if tries.iter().any(|t| now < *t + retry) {
        return false;
    }
    // Every attempt but the first is a retry; a day holds at most RETRIES_PER_DAY of them.
    let day = |t: &DateTime<Utc>| t.with_timezone(&r.tz).date_naive();
    let today = day(&now);
    let first = tries.iter().min();
    let retries_today = tries
        .iter()
        .filter(|t| day(t) == today && Some(*t) != first)
        .count();
    tries.is_empty() || retries_today < RETRIES_PER_DAY
}

/// An appeal due a rating call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub appeal_id: i64,
    pub number: String,
    pub phone: String,
}

/// The appeals due a call at `now`, oldest survey first, at most `limit`.
pub async fn candidates(
    store: &Store,
    now: DateTime<Utc>,
    r: &RatingRules,
    limit: usize,
) -> Result<Vec<Due>> {
    let after = chrono::Duration::from_std(r.after).unwrap_or(chrono::Duration::MAX);
    let sent_before = (now - after).timestamp_millis();
    let rows = sqlx::query(&store.sql(
        "SELECT id, number, phone, survey_sent_at FROM appeals \
         WHERE survey_state = 'pending' AND survey_sent_at <= ? ORDER BY survey_sent_at, id LIMIT 500",
    ))
    .bind(sent_before)
    .fetch_all(store.reader())
    .await?;
    // Every earlier attempt of those appeals in one query, not one per appeal.
    let tries = sqlx::query(&store.sql(
        "SELECT r.appeal_id, r.started_at FROM rating_calls r JOIN appeals a ON a.id = r.appeal_id \
         WHERE a.survey_state = 'pending' AND a.survey_sent_at <= ?",
    ))
    .bind(sent_before)
    .fetch_all(store.reader())
    .await?;
    let mut by_appeal: std::collections::HashMap<i64, Vec<DateTime<Utc>>> = Default::default();
    for t in tries {
        by_appeal
            .entry(t.try_get("appeal_id")?)
            .or_default()
            .push(from_millis(t.try_get("started_at")?));
    }
    let mut out = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let tries = by_appeal.get(&id).map_or(&[][..], Vec::as_slice);
        let sent = from_millis(row.try_get("survey_sent_at")?);
        if due(sent, tries, now, r) {
            out.push(Due {
                appeal_id: id,
                number: row.try_get("number")?,
                phone: row.try_get("phone")?,
            });
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Rating calls `modem` started in the hour before `now` (its SIM's budget).
pub async fn calls_last_hour(store: &Store, modem: &str, now: DateTime<Utc>) -> Result<u32> {
    let since = (now - chrono::Duration::hours(1)).timestamp_millis();
    let n: i64 = sqlx::query_scalar(
        &store.sql("SELECT COUNT(*) FROM rating_calls WHERE modem = ? AND started_at > ?"),
    )
    .bind(modem)
    .bind(since)
    .fetch_one(store.reader())
    .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Records an attempt about to be dialled; returns its id.
pub async fn start(store: &Store, d: &Due, modem: &str, now: DateTime<Utc>) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO rating_calls (appeal_id, phone, modem, started_at) VALUES (?, ?, ?, ?) RETURNING id",
    ))
    .bind(d.appeal_id)
    .bind(&d.phone)
    .bind(modem)
    .bind(now.timestamp_millis())
    .fetch_one(store.pool())
    .await?;
    Ok(id)
}

/// Attempts left without an outcome by a daemon that died during the call, marked so; they
/// still count as attempts.
pub async fn close_interrupted(store: &Store, now: DateTime<Utc>) -> Result<u64> {
    let before = (now - chrono::Duration::minutes(10)).timestamp_millis();
    let r = sqlx::query(&store.sql(
        "UPDATE rating_calls SET outcome = 'interrupted', ended_at = ? WHERE outcome IS NULL AND started_at < ?",
    ))
    .bind(now.timestamp_millis())
    .bind(before)
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected())
}

/// Records how an attempt ended: `outcome` is the modem's word for it
/// (`modem::PlacedCall::as_str`), `score` the key when one was recorded.
pub async fn finish(
    store: &Store,
    id: i64,
    outcome: &str,
    score: Option<u8>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        &store.sql("UPDATE rating_calls SET ended_at = ?, outcome = ?, score = ? WHERE id = ?"),
    )
    .bind(now.timestamp_millis())
    .bind(outcome)
    .bind(score.map(i64::from))
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules() -> RatingRules {
        RatingRules {
            after: Duration::from_secs(48 * 3600),
            attempts: 3,
            retry: Duration::from_secs(2 * 3600),
            tz: chrono_tz::Asia::Shanghai,
            quiet: (
                chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
            ),
        }
    }

    /// 2026-12-0D HH:MM in Beijing time.
    fn bj(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 12, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn rules_table() {
        let r = rules();
        let sent = bj(1, 10, 0);
        type Case<'a> = (&'a [DateTime<Utc>], DateTime<Utc>, bool, &'a str);
        let cases: &[Case] = &[
            (&[], bj(3, 9, 59), false, "47 h 59 after the survey"),
            (&[], bj(3, 10, 0), true, "48 h after"),
            (&[], bj(3, 22, 30), false, "quiet hours"),
            (&[], bj(4, 6, 59), false, "still quiet"),
            (
                &[bj(3, 10, 0)],
                bj(3, 11, 59),
                false,
                "within the retry pause",
            ),
            (&[bj(3, 10, 0)], bj(3, 12, 0), true, "first retry"),
            (
                &[bj(3, 10, 0), bj(3, 12, 0)],
                bj(3, 14, 0),
                true,
                "second retry, same day",
            ),
            (
                &[bj(3, 10, 0), bj(3, 12, 0), bj(3, 14, 0)],
                bj(4, 10, 0),
                false,
                "three attempts: done",
            ),
        ];
        for (tries, now, want, why) in cases {
            assert_eq!(due(sent, tries, *now, &r), *want, "{why}");
        }
        // With more attempts allowed, a day still holds at most two retries.
        let many = RatingRules { attempts: 10, ..r };
        let day3 = [bj(3, 8, 0), bj(3, 10, 0), bj(3, 12, 0)];
        assert!(
            !due(sent, &day3, bj(3, 16, 0), &many),
            "two retries today already"
        );
        assert!(due(sent, &day3, bj(4, 8, 0), &many), "a new day");
        let day4 = [bj(3, 8, 0), bj(4, 8, 0), bj(4, 10, 0)];
        assert!(
            !due(sent, &day4, bj(4, 14, 0), &many),
            "two retries on day 4"
        );
    }
}
