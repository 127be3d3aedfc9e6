//! Read side: listing and showing appeals for the CLI, the web page and the API.

use serde::Serialize;
use sqlx::Row;

use crate::store::{from_millis, Result, Store};

#[derive(Debug, Clone, Serialize)]
pub struct AppealRow {
    pub id: i64,
    pub number: String,
    pub phone: String,
    pub village: Option<String>,
    pub modem: Option<String>,
    pub text: String,
    pub category: String,
    pub colour: String,
    pub status: String,
    pub step: String,
    /// The responsible cadre's phone (masked for viewers) and name.
    pub cadre: Option<String>,
    pub cadre_name: Option<String>,
    /// RFC 3339 in UTC.
    pub received_at: String,
    pub filed_at: String,
    pub updated_at: String,
    pub rating: Option<i64>,
}

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

const COLUMNS: &str =
    "id, number, phone, village, modem, text, category, colour, status, step, cadre, \
                       cadre_name, received_at, filed_at, updated_at, rating";

fn row_to_appeal(r: &sqlx::any::AnyRow) -> Result<AppealRow> {
    let ts = |name: &str| -> Result<String> {
        let ms: i64 = r.try_get(name)?;
        Ok(from_millis(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    Ok(AppealRow {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        phone: r.try_get("phone")?,
        village: r.try_get("village")?,
        modem: r.try_get("modem")?,
        text: r.try_get("text")?,
        category: r.try_get("category")?,
        colour: r.try_get("colour")?,
        status: r.try_get("status")?,
        step: r.try_get("step")?,
        cadre: r.try_get("cadre")?,
        cadre_name: r.try_get("cadre_name")?,
        received_at: ts("received_at")?,
        filed_at: ts("filed_at")?,
        updated_at: ts("updated_at")?,
        rating: r.try_get("rating")?,
    })
}

/// Newest first, keyset-paged by id (stable under inserts, and an index walk at any depth).
pub async fn list_appeals(store: &Store, f: &AppealFilter) -> Result<Vec<AppealRow>> {
    let mut sql = format!("SELECT {COLUMNS} FROM appeals WHERE 1=1");
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

pub async fn get_appeal(store: &Store, number: &str) -> Result<Option<AppealRow>> {
    let row = sqlx::query(&store.sql(&format!("SELECT {COLUMNS} FROM appeals WHERE number = ?")))
        .bind(number)
        .fetch_optional(store.reader())
        .await?;
    row.as_ref().map(row_to_appeal).transpose()
}
