//! Notices (三务公开: party, village and finance affairs of one village) and service guides
//! (办事指南: kind `service`, found by topic or alias; village "" serves every village), kept in
//! one table because they have the same life: written by an admin on the web page or through
//! the API, valid from/to, and every change is an event on the audit chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::appeals::events::{append_event, NewEvent};
use crate::intake::affairs::NoticeKind;
use crate::store::{Result, Store};

/// The kind of a service guide.
pub const SERVICE: &str = "service";

/// A stored notice or guide. Times are ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub id: i64,
    pub village: String,
    pub kind: String,
    pub topic: String,
    pub aliases: Vec<String>,
    pub title: String,
    pub body: String,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub author: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What an editor sends: a new notice, or the new content of one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeIn {
    #[serde(default)]
    pub village: String,
    pub kind: String,
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub title: String,
    pub body: String,
    /// ms; absent: now.
    #[serde(default)]
    pub valid_from: Option<i64>,
    #[serde(default)]
    pub valid_to: Option<i64>,
}

/// Why a notice was refused, said to the editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("kind must be party, village, finance or service")]
    Kind,
    #[error("a notice needs its village (a code of the directory)")]
    Village,
    #[error("a service guide needs a topic, e.g. 低保")]
    Topic,
    #[error("title and body may not be empty")]
    Empty,
    #[error("the title is longer than 60 characters or the body longer than 2000")]
    TooLong,
    #[error("valid_to is before valid_from")]
    Window,
}

impl NoticeIn {
    /// Checks the content against what SMS and the page can carry; `known_village` says
    /// whether a village code exists.
    pub fn check(&self, known_village: impl Fn(&str) -> bool) -> std::result::Result<(), Invalid> {
        let service = self.kind == SERVICE;
        if !service && NoticeKind::parse(&self.kind).is_none() {
            return Err(Invalid::Kind);
        }
        if !service && (self.village.is_empty() || !known_village(&self.village)) {
            return Err(Invalid::Village);
        }
        if service && !self.village.is_empty() && !known_village(&self.village) {
            return Err(Invalid::Village);
        }
        if service && self.topic.trim().is_empty() {
            return Err(Invalid::Topic);
        }
        if self.title.trim().is_empty() || self.body.trim().is_empty() {
            return Err(Invalid::Empty);
        }
        if self.title.chars().count() > 60 || self.body.chars().count() > 2000 {
            return Err(Invalid::TooLong);
        }
        if let (Some(a), Some(b)) = (self.valid_from, self.valid_to) {
            if b < a {
                return Err(Invalid::Window);
            }
        }
        Ok(())
    }
}

const COLUMNS: &str = "id, village, kind, topic, aliases, title, body, valid_from, valid_to, author, created_at, updated_at";

fn row(r: &sqlx::any::AnyRow) -> Result<Notice> {
    let aliases: String = r.try_get(4)?;
    Ok(Notice {
        id: r.try_get(0)?,
        village: r.try_get(1)?,
        kind: r.try_get(2)?,
        topic: r.try_get(3)?,
        aliases: aliases.split_whitespace().map(str::to_string).collect(),
        title: r.try_get(5)?,
        body: r.try_get(6)?,
        valid_from: r.try_get(7)?,
        valid_to: r.try_get(8)?,
        author: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
    })
}

async fn event(
    store: &Store,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    kind: &str,
    by: &str,
    at: i64,
    text: &str,
) -> Result<()> {
    append_event(
        store,
        tx,
        NewEvent {
            appeal_id: None,
            at,
            actor: by,
            channel: "web",
            step: "supervision",
            kind,
            text,
        },
    )
    .await?;
    Ok(())
}

fn describe(n: &NoticeIn) -> String {
    let what = if n.kind == SERVICE {
        format!("办事指南[{}]", n.topic.trim())
    } else {
        let k = NoticeKind::parse(&n.kind).map_or("", |k| k.chinese());
        format!("{}{k}公开", n.village)
    };
    format!("{what}《{}》", n.title.trim())
}

/// Stores a new notice (checked by the caller) and its `notice_created` event.
pub async fn create(store: &Store, n: &NoticeIn, by: &str, now: DateTime<Utc>) -> Result<Notice> {
    let at = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    let id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO notices (village, kind, topic, aliases, title, body, valid_from, valid_to, author, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(&n.village)
    .bind(&n.kind)
    .bind(n.topic.trim())
    .bind(n.aliases.join(" "))
    .bind(n.title.trim())
    .bind(n.body.trim())
    .bind(n.valid_from.unwrap_or(at))
    .bind(n.valid_to)
    .bind(by)
    .bind(at)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    event(
        store,
        &mut tx,
        "notice_created",
        by,
        at,
        &format!("#{id} {}", describe(n)),
    )
    .await?;
    let notice = get_on(store, &mut *tx, id).await?;
    tx.commit().await?;
    notice.ok_or_else(|| crate::store::StoreError::Corrupt(format!("notice {id} vanished")))
}

/// Replaces a notice's content; None when there is no such (live) notice.
pub async fn update(
    store: &Store,
    id: i64,
    n: &NoticeIn,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<Notice>> {
    let at = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    let r = sqlx::query(&store.sql(
        "UPDATE notices SET village = ?, kind = ?, topic = ?, aliases = ?, title = ?, body = ?, \
         valid_from = COALESCE(?, valid_from), valid_to = ?, author = ?, updated_at = ? \
         WHERE id = ? AND deleted_at IS NULL",
    ))
    .bind(&n.village)
    .bind(&n.kind)
    .bind(n.topic.trim())
    .bind(n.aliases.join(" "))
    .bind(n.title.trim())
    .bind(n.body.trim())
    .bind(n.valid_from)
    .bind(n.valid_to)
    .bind(by)
    .bind(at)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(None);
    }
    event(
        store,
        &mut tx,
        "notice_updated",
        by,
        at,
        &format!("#{id} {}", describe(n)),
    )
    .await?;
    let notice = get_on(store, &mut *tx, id).await?;
    tx.commit().await?;
    Ok(notice)
}

/// Withdraws a notice (kept, with its events, for the record); false when there was none.
pub async fn delete(store: &Store, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
    let at = now.timestamp_millis();
    let mut tx = store.pool().begin().await?;
    let r =
        sqlx::query(&store.sql(
            "UPDATE notices SET deleted_at = ?, author = ? WHERE id = ? AND deleted_at IS NULL",
        ))
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    event(store, &mut tx, "notice_deleted", by, at, &format!("#{id}")).await?;
    tx.commit().await?;
    Ok(true)
}

async fn get_on<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    store: &Store,
    on: E,
    id: i64,
) -> Result<Option<Notice>> {
    let r = sqlx::query(&store.sql(&format!(
        "SELECT {COLUMNS} FROM notices WHERE id = ? AND deleted_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(on)
    .await?;
    r.as_ref().map(row).transpose()
}

pub async fn get(store: &Store, id: i64) -> Result<Option<Notice>> {
    get_on(store, store.pool(), id).await
}

/// Live notices, newest first, optionally of one kind and village.
pub async fn list(
    store: &Store,
    kind: Option<&str>,
    village: Option<&str>,
    limit: i64,
) -> Result<Vec<Notice>> {
    // Filters are added as text: PostgreSQL cannot type a bare `? IS NULL` parameter.
    let mut sql = format!("SELECT {COLUMNS} FROM notices WHERE deleted_at IS NULL");
    if kind.is_some() {
        sql.push_str(" AND kind = ?");
    }
    if village.is_some() {
        sql.push_str(" AND village = ?");
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql);
    if let Some(k) = kind {
        q = q.bind(k);
    }
    if let Some(v) = village {
        q = q.bind(v);
    }
    let rows = q.bind(limit).fetch_all(store.pool()).await?;
    rows.iter().map(row).collect()
}

/// The notices in force at `now` for `village`: its own, and for guides also the ones for
/// every village (""), newest valid_from first.
pub async fn in_force<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    store: &Store,
    on: E,
    village: &str,
    kind: &str,
    now: i64,
) -> Result<Vec<Notice>> {
    let rows = sqlx::query(&store.sql(&format!(
        "SELECT {COLUMNS} FROM notices WHERE deleted_at IS NULL AND kind = ? \
         AND (village = ? OR (kind = 'service' AND village = '')) \
         AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) \
         ORDER BY valid_from DESC, id DESC LIMIT 200"
    )))
    .bind(kind)
    .bind(village)
    .bind(now)
    .bind(now)
    .fetch_all(on)
    .await?;
    rows.iter().map(row).collect()
}

/// The latest notice of `kind` in force for `village`.
pub async fn latest<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    store: &Store,
    on: E,
    village: &str,
    kind: NoticeKind,
    now: i64,
) -> Result<Option<Notice>> {
    Ok(in_force(store, on, village, kind.as_str(), now)
        .await?
        .into_iter()
        .next())
}

/// The guide whose topic or alias is `topic` (case- and width-insensitive; the village's own
/// before the county's).
pub fn find_guide<'a>(guides: &'a [Notice], village: &str, topic: &str) -> Option<&'a Notice> {
    let t = topic.to_lowercase();
    let hit = |g: &&Notice| {
        g.topic.to_lowercase() == t || g.aliases.iter().any(|a| a.to_lowercase() == t)
    };
    guides
        .iter()
        .filter(|g| g.village == village)
        .find(hit)
        .or_else(|| guides.iter().find(hit))
}
