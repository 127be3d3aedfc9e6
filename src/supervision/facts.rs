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

/// The columns of a fact, in the order [`fact`] reads them.
const FIELDS: [&str; 15] = [
    "a.id",
    "a.number",
    "a.phone",
    "a.village",
    "a.category",
    "a.colour",
    "a.status",
    "a.cadre",
    "a.cadre_name",
    "a.filed_at",
    "a.respond_by",
    "a.resolve_by",
    "a.accepted_at",
    "a.resolved_at",
    "a.rating",
];

/// The separator of [`packed`] rows (ASCII unit separator): no phone, number, code, category
/// or name the gateway stores contains it (control characters are blanked at intake and
/// refused in the directory).
const SEP: char = '\u{1f}';

/// One SQL expression giving a fact as one text: the row's fields joined by [`SEP`], NULL as
/// empty. Measured on a million appeals through sqlx's Any driver: fifteen columns took 6.2 s
/// to read, one packed column 1.6 s (the driver's cost is per value, not per byte), which
/// decides whether a month's evaluation fits its 5 s.
fn packed(store: &Store) -> String {
    let sep = match store.backend() {
        crate::store::Backend::Sqlite => "char(31)",
        crate::store::Backend::Postgres => "chr(31)",
    };
    FIELDS
        .iter()
        .map(|f| format!("COALESCE(CAST({f} AS TEXT), '')"))
        .collect::<Vec<_>>()
        .join(&format!(" || {sep} || "))
}

fn fact(row: &str) -> Result<Fact> {
    let bad = || crate::store::StoreError::Corrupt(format!("appeal row for supervision: {row:?}"));
    let f: Vec<&str> = row.split(SEP).collect();
    if f.len() != FIELDS.len() {
        return Err(bad());
    }
    let text = |i: usize| Some(f[i].to_string()).filter(|s| !s.is_empty());
    let int = |i: usize| -> Result<Option<i64>> {
        match f[i] {
            "" => Ok(None),
            s => s.parse().map(Some).map_err(|_| bad()),
        }
    };
    let need = |i: usize| int(i)?.ok_or_else(bad);
    Ok(Fact {
        id: need(0)?,
        number: f[1].to_string(),
        phone: f[2].to_string(),
        village: text(3),
        category: f[4].to_string(),
        // The filing and the regrade only ever write the three names.
        colour: f[5].parse().unwrap_or(Colour::Green),
        status: f[6].to_string(),
        cadre: text(7).map(|c| national(&c).to_string()),
        cadre_name: text(8),
        filed_at: need(9)?,
        respond_by: int(10)?,
        resolve_by: int(11)?,
        accepted_at: int(12)?,
        resolved_at: int(13)?,
        rating: int(14)?.and_then(|n| u8::try_from(n).ok()),
        transfers: 0,
        reopens: 0,
        last_transfer: None,
        last_reopen: None,
        repeat: false,
        events: Vec::new(),
    })
}

/// Streams the facts `sql` (selecting [`packed`] rows) yields, sorted by id.
async fn fetch_facts(store: &Store, sql: &str, binds: &[i64]) -> Result<Vec<Fact>> {
    use futures::TryStreamExt;
    let sql = store.sql(sql);
    let mut q = sqlx::query_scalar::<_, String>(&sql);
    for b in binds {
        q = q.bind(*b);
    }
    // Converted row by row: a million rows held raw first took 1.8 GiB. Sorted here rather
    // than by the database, which would sort a whole month in a temporary tree.
    let mut rows = q.fetch(store.pool());
    let mut facts = Vec::new();
    while let Some(r) = rows.try_next().await? {
        facts.push(fact(&r)?);
    }
    drop(rows);
    facts.sort_unstable_by_key(|f| f.id);
    facts.dedup_by_key(|f| f.id);
    Ok(facts)
}

/// The appeals filed in `[from, to)` with their transfer and reopen counts, in id order.
pub async fn load(store: &Store, from: i64, to: i64) -> Result<Vec<Fact>> {
    let sql = format!(
        "SELECT {} FROM appeals a WHERE a.filed_at >= ? AND a.filed_at < ?",
        packed(store)
    );
    let mut facts = fetch_facts(store, &sql, &[from, to]).await?;
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
    let p = packed(store);
    let sql = format!(
        "SELECT {p} FROM appeals a WHERE a.updated_at >= ? UNION SELECT {p} FROM appeals a WHERE a.filed_at >= ?"
    );
    fetch_facts(store, &sql, &[since, filed_since]).await
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

/// Appeals filed before `filed_before` and resolved in `[from, to)`: the history a repeat is
/// measured against beside the facts themselves (see [`resolved_of`]).
pub async fn load_resolved(
    store: &Store,
    from: i64,
    to: i64,
    filed_before: i64,
) -> Result<Vec<Resolved>> {
    // resolved_at is never after updated_at, so the updated_at index bounds the scan.
    let rows = sqlx::query(&store.sql(
        "SELECT number, phone, village, category, resolved_at FROM appeals \
         WHERE updated_at >= ? AND resolved_at >= ? AND resolved_at < ? AND filed_at < ?",
    ))
    .bind(from)
    .bind(from)
    .bind(to)
    .bind(filed_before)
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

/// The resolutions among `facts`, as history for [`crate::supervision::rates::mark_repeats`]:
/// what is already loaded is not read again.
pub fn resolved_of(facts: &[Fact]) -> Vec<Resolved> {
    facts
        .iter()
        .filter_map(|f| {
            Some(Resolved {
                number: f.number.clone(),
                phone: national(&f.phone).to_string(),
                village: f.village.clone(),
                category: f.category.clone(),
                resolved_at: f.resolved_at?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_rows_decode_and_bad_ones_are_refused() {
        let row = [
            "7",
            "20261102001",
            "13800000001",
            "SH01",
            "道路",
            "red",
            "closed",
            "+8613900000001",
            "张书记",
            "100",
            "200",
            "300",
            "150",
            "250",
            "4",
        ]
        .join("\u{1f}");
        let f = fact(&row).unwrap();
        assert_eq!(
            (f.id, f.number.as_str(), f.colour),
            (7, "20261102001", Colour::Red)
        );
        assert_eq!(f.cadre.as_deref(), Some("13900000001"), "national form");
        assert_eq!(
            (f.accepted_at, f.resolved_at, f.rating),
            (Some(150), Some(250), Some(4))
        );
        // NULLs arrive empty.
        let row = [
            "8",
            "20261102002",
            "13800000001",
            "",
            "道路",
            "green",
            "open",
            "",
            "",
            "100",
            "",
            "",
            "",
            "",
            "",
        ]
        .join("\u{1f}");
        let f = fact(&row).unwrap();
        assert_eq!(
            (f.village, f.cadre, f.respond_by, f.rating),
            (None, None, None, None)
        );
        assert!(fact("1\u{1f}2").is_err(), "too few fields");
        let row = row.replacen("100", "x", 1);
        assert!(fact(&row).is_err(), "a time that is not a number");
    }
}
