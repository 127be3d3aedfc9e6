//! The facts supervision computes from: one row per appeal, read from the appeal row (whose
//! accepted_at, resolved_at and rating are written in the same transaction as the accepted,
//! resolved and rated events, so they are the event log's projection) and from the events
//! themselves (transfers, reopenings; for the warnings the resolution and its notes).
//!
//! The loaders are the only I/O here; everything after them is pure (`rates`, `warnings`,
//! `report`), so a figure can be recomputed from the same rows and checked.

use std::collections::HashMap;

use sqlx::Row;

use crate::grade::Colour;
use crate::phone::national;
use crate::store::{Result, Store};

/// One appeal as supervision sees it. Times are ms since the epoch (UTC).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fact {
    pub id: i64,
    pub number: String,
    pub phone: String,
    pub village: Option<String>,
    pub category: String,
    pub colour: Colour,
    pub status: String,
    /// The handler at the end (national form), and their name.
    pub cadre: Option<String>,
    pub cadre_name: Option<String>,
    pub filed_at: i64,
    pub respond_by: Option<i64>,
    pub resolve_by: Option<i64>,
    pub accepted_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub rating: Option<u8>,
    /// `transferred` events.
    pub transfers: u32,
    /// `reopened` events (a low rating, or an admin): 重办.
    pub reopens: u32,
    /// The latest transfer and reopening: each sets a new limit, and only an acceptance (or,
    /// after a reopening, a resolution) after it meets that limit.
    pub last_transfer: Option<i64>,
    pub last_reopen: Option<i64>,
    /// Set by [`crate::supervision::rates::mark_repeats`].
    pub repeat: bool,
    /// Only for the warnings ([`load_details`]); empty for rates.
    #[serde(skip)]
    pub events: Vec<Ev>,
}

impl Fact {
    /// Whether something done at `t` meets the limit in force. A reopening follows a
    /// resolution (and so any acceptance before it) even at the same millisecond, so only
    /// what is strictly later counts; an acceptance at the instant of a transfer follows it.
    fn after_reset(&self, t: i64, with_transfer: bool) -> bool {
        self.last_reopen.is_none_or(|r| t > r)
            && (!with_transfer || self.last_transfer.is_none_or(|r| t >= r))
    }

    /// The first answer since the response limit in force was set: an acceptance, or a
    /// resolution (resolving at once also answers).
    pub fn responded_at(&self) -> Option<i64> {
        let current = |t: Option<i64>| t.filter(|a| self.after_reset(*a, true));
        match (current(self.accepted_at), current(self.resolved_at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The resolution since the last reopening (None while a reopened appeal is open).
    pub fn resolved_now(&self) -> Option<i64> {
        self.resolved_at.filter(|a| self.after_reset(*a, false))
    }

    /// Minutes from filing to the first answer ever (acceptance or resolution).
    pub fn response_mins(&self) -> Option<f64> {
        let first = match (self.accepted_at, self.resolved_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }?;
        Some((first - self.filed_at).max(0) as f64 / 60_000.0)
    }
}

/// One event of an appeal, as the warning rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ev {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub text: String,
}

/// An earlier appeal that was resolved, for the repeat rule and the repeat rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub number: String,
    pub phone: String,
    pub village: Option<String>,
    pub category: String,
    pub resolved_at: i64,
}

const COLUMNS: &str =
    "a.id, a.number, a.phone, a.village, a.category, a.colour, a.status, a.cadre, \
    a.cadre_name, a.filed_at, a.respond_by, a.resolve_by, a.accepted_at, a.resolved_at, a.rating";

fn fact(r: &sqlx::any::AnyRow) -> Result<Fact> {
    let colour: String = r.try_get(5)?;
    let rating: Option<i64> = r.try_get(14)?;
    let cadre: Option<String> = r.try_get(7)?;
    Ok(Fact {
        id: r.try_get(0)?,
        number: r.try_get(1)?,
        phone: r.try_get(2)?,
        village: r.try_get(3)?,
        category: r.try_get(4)?,
        // The filing and the regrade only ever write the three names.
        colour: colour.parse().unwrap_or(Colour::Green),
        status: r.try_get(6)?,
        cadre: cadre.map(|c| national(&c).to_string()),
        cadre_name: r.try_get(8)?,
        filed_at: r.try_get(9)?,
        respond_by: r.try_get(10)?,
        resolve_by: r.try_get(11)?,
        accepted_at: r.try_get(12)?,
        resolved_at: r.try_get(13)?,
        rating: rating.and_then(|n| u8::try_from(n).ok()),
        transfers: 0,
        reopens: 0,
        last_transfer: None,
        last_reopen: None,
        repeat: false,
        events: Vec::new(),
    })
}

/// The appeals filed in `[from, to)` with their transfer and reopen counts, in id order.
pub async fn load(store: &Store, from: i64, to: i64) -> Result<Vec<Fact>> {
    let rows = sqlx::query(&store.sql(&format!(
        "SELECT {COLUMNS} FROM appeals a WHERE a.filed_at >= ? AND a.filed_at < ? ORDER BY a.id"
    )))
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    let mut facts = rows.iter().map(fact).collect::<Result<Vec<_>>>()?;
    // Transfers and reopenings are rare: one pass over just those events of the period's
    // appeals, instead of a subquery per appeal.
    let counts = sqlx::query(&store.sql(
        "SELECT e.appeal_id, e.kind, COUNT(*), MAX(e.at) FROM events e JOIN appeals a ON a.id = e.appeal_id \
         WHERE a.filed_at >= ? AND a.filed_at < ? AND e.kind IN ('transferred', 'reopened') \
         GROUP BY e.appeal_id, e.kind",
    ))
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    let index: HashMap<i64, usize> = facts.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
    for r in &counts {
        let id: i64 = r.try_get(0)?;
        let kind: String = r.try_get(1)?;
        let n: i64 = r.try_get(2)?;
        let last: i64 = r.try_get(3)?;
        if let Some(&i) = index.get(&id) {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            match kind.as_str() {
                "transferred" => (facts[i].transfers, facts[i].last_transfer) = (n, Some(last)),
                _ => (facts[i].reopens, facts[i].last_reopen) = (n, Some(last)),
            }
        }
    }
    Ok(facts)
}

/// The appeals changed since `since` or filed since `filed_since`: what a warning scan looks
/// at. Counts as in [`load`].
pub async fn load_recent(store: &Store, since: i64, filed_since: i64) -> Result<Vec<Fact>> {
    let rows = sqlx::query(&store.sql(&format!(
        "SELECT {COLUMNS} FROM appeals a WHERE a.updated_at >= ? \
         UNION SELECT {COLUMNS} FROM appeals a WHERE a.filed_at >= ?"
    )))
    .bind(since)
    .bind(filed_since)
    .fetch_all(store.pool())
    .await?;
    let mut facts = rows.iter().map(fact).collect::<Result<Vec<_>>>()?;
    facts.sort_by_key(|f| f.id);
    facts.dedup_by_key(|f| f.id);
    Ok(facts)
}

/// Loads every event of `facts` into them (and their transfer and reopen counts).
pub async fn load_details(store: &Store, facts: &mut [Fact]) -> Result<()> {
    let index: HashMap<i64, usize> = facts.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
    // Bounded IN lists: SQLite's bind limit is 32766, PostgreSQL's 65535.
    let ids: Vec<i64> = facts.iter().map(|f| f.id).collect();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT id, appeal_id, at, kind, actor, text FROM events WHERE appeal_id IN ({marks}) ORDER BY id"
        );
        let sql = store.sql(&sql);
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(store.pool()).await? {
            let appeal: i64 = r.try_get(1)?;
            if let Some(&i) = index.get(&appeal) {
                facts[i].events.push(Ev {
                    id: r.try_get(0)?,
                    at: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    actor: r.try_get(4)?,
                    text: r.try_get(5)?,
                });
            }
        }
    }
    for f in facts.iter_mut() {
        let of = |kind: &'static str| {
            let ts: Vec<i64> = f
                .events
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| e.at)
                .collect();
            (ts.len() as u32, ts.iter().max().copied())
        };
        (f.transfers, f.last_transfer) = of("transferred");
        (f.reopens, f.last_reopen) = of("reopened");
    }
    Ok(())
}

/// Appeals resolved in `[from, to)`: the history a repeat is measured against.
pub async fn load_resolved(store: &Store, from: i64, to: i64) -> Result<Vec<Resolved>> {
    // resolved_at is never after updated_at, so the updated_at index bounds the scan.
    let rows = sqlx::query(&store.sql(
        "SELECT number, phone, village, category, resolved_at FROM appeals \
         WHERE updated_at >= ? AND resolved_at >= ? AND resolved_at < ?",
    ))
    .bind(from)
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let phone: String = r.try_get(1)?;
            Ok(Resolved {
                number: r.try_get(0)?,
                phone: national(&phone).to_string(),
                village: r.try_get(2)?,
                category: r.try_get(3)?,
                resolved_at: r.try_get(4)?,
            })
        })
        .collect()
}

/// Appeals filed per village in `[from, to)`.
pub async fn village_counts(store: &Store, from: i64, to: i64) -> Result<HashMap<String, u64>> {
    let rows = sqlx::query(&store.sql(
        "SELECT COALESCE(village, ''), COUNT(*) FROM appeals WHERE filed_at >= ? AND filed_at < ? GROUP BY COALESCE(village, '')",
    ))
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get(1)?;
            Ok((r.try_get(0)?, n.max(0) as u64))
        })
        .collect()
}
