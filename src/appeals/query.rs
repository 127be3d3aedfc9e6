//! Read side: listing and showing appeals for the CLI, the web page and the API.

use super::record::{row_to_appeal, Appeal, APPEAL_COLUMNS};
use crate::store::{Result, Store};

#[derive(Debug, Clone, Default)]
pub struct AppealFilter {
    pub status: Option<String>,
    pub colour: Option<String>,
    pub village: Option<String>,
    /// Milliseconds; appeals filed at or after.
    pub since: Option<i64>,
    /// Keyset paging: appeals with id below this (newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first, keyset-paged by id (stable under inserts, and an index walk at any depth).
pub async fn list_appeals(store: &Store, f: &AppealFilter) -> Result<Vec<Appeal>> {
    let mut sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE 1=1");
    if f.status.is_some() {
        sql.push_str(" AND status = ?");
    }
    if f.colour.is_some() {
        sql.push_str(" AND colour = ?");
    }
    if f.village.is_some() {
        sql.push_str(" AND village = ?");
    }
    if f.since.is_some() {
        sql.push_str(" AND filed_at >= ?");
    }
    if f.before_id.is_some() {
        sql.push_str(" AND id < ?");
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql);
    if let Some(s) = &f.status {
        q = q.bind(s);
    }
    if let Some(c) = &f.colour {
        q = q.bind(c);
    }
    if let Some(v) = &f.village {
        q = q.bind(v);
    }
    if let Some(s) = f.since {
        q = q.bind(s);
    }
    if let Some(b) = f.before_id {
        q = q.bind(b);
    }
    q = q.bind(f.limit);
    let rows = q.fetch_all(store.reader()).await?;
    rows.iter().map(row_to_appeal).collect()
}

pub async fn get_appeal(store: &Store, number: &str) -> Result<Option<Appeal>> {
    let row = sqlx::query(&store.sql(&format!(
        "SELECT {APPEAL_COLUMNS} FROM appeals WHERE number = ?"
    )))
    .bind(number)
    .fetch_optional(store.reader())
    .await?;
    row.as_ref().map(row_to_appeal).transpose()
}
