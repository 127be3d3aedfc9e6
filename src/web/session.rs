//! Log-in sessions in the database (so they survive a restart and work across daemons on one
//! PostgreSQL). The cookie carries a random token; the table holds its sha256 only.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::config::Role;
use crate::store::{Result, Store};

/// Session cookie name.
pub const COOKIE: &str = "ag_session";
/// How long a log-in lasts: one working day.
pub const LIFETIME_MS: i64 = 12 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub account: String,
    pub role: Role,
    pub csrf: String,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session; returns the cookie token. Expired sessions are swept on the way.
pub async fn create(store: &Store, account: &str, role: Role, now_ms: i64) -> Result<String> {
    let token = super::csrf::new_token();
    let csrf = super::csrf::new_token();
    let mut tx = store.pool().begin().await?;
    sqlx::query(&store.sql("DELETE FROM web_sessions WHERE expires_at < ?"))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    sqlx::query(&store.sql(
        "INSERT INTO web_sessions (token_hash, account, role, csrf, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    ))
    .bind(token_hash(&token))
    .bind(account)
    .bind(role.as_str())
    .bind(&csrf)
    .bind(now_ms)
    .bind(now_ms + LIFETIME_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The live session for a cookie token, if any. Only the database says who is logged in; the
/// caller re-checks the account against the config, so a removed account is out at once.
pub async fn find(store: &Store, token: &str, now_ms: i64) -> Result<Option<Session>> {
    // A token of the wrong shape is not worth a query.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query(&store.sql(
        "SELECT account, role, csrf FROM web_sessions WHERE token_hash = ? AND expires_at > ?",
    ))
    .bind(token_hash(token))
    .bind(now_ms)
    .fetch_optional(store.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get("role")?;
    let role = match role.as_str() {
        "admin" => Role::Admin,
        _ => Role::Viewer,
    };
    Ok(Some(Session {
        account: row.try_get("account")?,
        role,
        csrf: row.try_get("csrf")?,
    }))
}

pub async fn delete(store: &Store, token: &str) -> Result<()> {
    sqlx::query(&store.sql("DELETE FROM web_sessions WHERE token_hash = ?"))
        .bind(token_hash(token))
        .execute(store.pool())
        .await?;
    Ok(())
}

/// `Set-Cookie` value for a new session.
pub fn set_cookie(token: &str) -> String {
    format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        LIFETIME_MS / 1000
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_and_strict() {
        let c = set_cookie("abc");
        assert!(c.starts_with("ag_session=abc;"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn only_the_hash_is_stored() {
        let h = token_hash("secret");
        assert_eq!(h.len(), 64);
        assert_ne!(h, "secret");
    }
}
