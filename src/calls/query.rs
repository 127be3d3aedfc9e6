//! The read queries over the calls table, for the status page and `/api/v1/calls`.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use crate::store::{Result, Store};

/// One modem's calls since a moment, by what became of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    pub total: i64,
    /// Filed as a callback appeal.
    pub callback: i64,
    /// Joined the open callback appeal of an earlier call.
    pub repeat: i64,
    /// The caller's number was withheld: recorded, nobody to call back.
    pub withheld: i64,
    /// A service number: recorded, never called back.
    pub screened: i64,
    /// Answered by the keypad menu (voice = "ivr"), whatever became of them.
    pub ivr: i64,
    /// Menu calls that needed no callback (a status heard, a rating keyed).
    pub served: i64,
    /// Not yet processed.
    pub pending: i64,
    /// The caller hung up before the gateway did (a missed call in the narrow sense).
    pub caller_hung_up: i64,
}

/// Calls per modem that rang at or after `since_ms` (an index walk over `calls_rang`).
pub async fn counts_since(store: &Store, since_ms: i64) -> Result<BTreeMap<String, CallCounts>> {
    let rows = sqlx::query(&store.sql(
        "SELECT modem, state, ended, mode, COUNT(*) AS n FROM calls WHERE rang_at >= ? \
         GROUP BY modem, state, ended, mode",
    ))
    .bind(since_ms)
    .fetch_all(store.pool())
    .await?;
    let mut out: BTreeMap<String, CallCounts> = BTreeMap::new();
    for r in rows {
        let modem: String = r.try_get("modem")?;
        let state: String = r.try_get("state")?;
        let ended: String = r.try_get("ended")?;
        let mode: String = r.try_get("mode")?;
        let n: i64 = r.try_get("n")?;
        let c = out.entry(modem).or_default();
        c.total += n;
        match state.as_str() {
            "filed" => c.callback += n,
            "repeat" => c.repeat += n,
            "withheld" => c.withheld += n,
            "screened" => c.screened += n,
            "served" => c.served += n,
            _ => c.pending += n,
        }
        if mode == "ivr" {
            c.ivr += n;
        }
        if ended == "caller" {
            c.caller_hung_up += n;
        }
    }
    Ok(out)
}

/// A call as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRow {
    pub id: i64,
    pub modem: String,
    /// None when withheld; the web layer masks it for viewers.
    pub phone: Option<String>,
    pub rang_at: i64,
    pub mode: String,
    pub ended: String,
    pub state: String,
    /// The number of the appeal it filed or joined.
    pub appeal: Option<String>,
}

/// The latest calls, newest first.
pub async fn latest(store: &Store, limit: i64) -> Result<Vec<CallRow>> {
    let rows = sqlx::query(&store.sql(
        "SELECT c.id, c.modem, c.phone, c.rang_at, c.mode, c.ended, c.state, a.number \
         FROM calls c LEFT JOIN appeals a ON a.id = c.appeal_id ORDER BY c.id DESC LIMIT ?",
    ))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CallRow {
                id: r.try_get("id")?,
                modem: r.try_get("modem")?,
                phone: r.try_get("phone")?,
                rang_at: r.try_get("rang_at")?,
                mode: r.try_get("mode")?,
                ended: r.try_get("ended")?,
                state: r.try_get("state")?,
                appeal: r.try_get("number")?,
            })
        })
        .collect()
}
