//! The audit trail: every state change is an event, chained so an edit after the fact shows.
//!
//! Each event stores the previous event's stored hash (`prev_hash`) and its own `hash`:
//! - keyed (`hmac1:<key id>:<hex>`): HMAC-SHA256(key, prev_hash, content). The key lives outside
//!   the database (`[audit] key` or `key_file`), so someone who can only write the database
//!   cannot make a row that verifies: edits, inserts, deletes and reorders all break the chain.
//! - unkeyed (plain hex, events written before the key existed): sha256(prev_hash, content).
//!   They are checked as before but never rewritten; once a keyed event is in the chain an
//!   unkeyed one after it is a break (a forger without the key would write those).
//!
//! A chain whose newest events are deleted is still a valid chain. So each daemon keeps a head
//! (newest event id and hash it has checked) in a file outside the database and in its log
//! (`audit head`); `audit verify` reports events missing after the head. See [`keep_head`].
//!
//! Lock order (PostgreSQL; SQLite has one writer and cannot deadlock): a transaction that
//! appends an event takes the chain lock ([`lock_chain`], a transaction-scoped advisory lock)
//! BEFORE any other lock it will hold, then the day counter row (filing), then appeal rows
//! (`load_for_update`). Intake transactions hold several texts, filings and commands, and take
//! it at their start (`inbox::process`); `file_appeal` takes it before the day counter and
//! `actions::apply` before the appeal row. Taken the other way round, a batch holding the chain
//! (after a command) and waiting for the day counter, against another daemon's batch holding
//! the day counter (a filing) and waiting for the chain, is a deadlock. Re-taking the lock in
//! the same transaction is free.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};
use tokio_util::sync::CancellationToken;

use crate::config::audit_key::{load_key_file, AuditKey, KeyError};
use crate::config::{AuditKeySource, Config};
use crate::store::{Backend, Result, Store, StoreError};

/// Advisory lock key for the event chain (arbitrary, fixed).
const CHAIN_LOCK: i64 = 0x6170_7065_616c_0001;

/// Marks a keyed hash; a later scheme would get `hmac2:`.
const KEYED_PREFIX: &str = "hmac1:";

/// How often a daemon moves its head forward.
const HEAD_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub appeal_id: Option<i64>,
    pub at: i64,
    pub actor: &'a str,
    pub channel: &'a str,
    pub step: &'a str,
    pub kind: &'a str,
    pub text: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the audit chain in this database is keyed with key {chain}, this daemon's key is {ours} (fix: give every daemon on one database the same key: copy the key file of the daemon that wrote the chain, or point [audit] key_file at it)")]
    OtherKey { chain: String, ours: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The event's fields, each length-prefixed so no two different events serialise alike.
fn content(prev: &str, e: &NewEvent<'_>) -> Vec<u8> {
    let appeal = e.appeal_id.map(|a| a.to_string()).unwrap_or_default();
    let at = e.at.to_string();
    let mut out = Vec::with_capacity(128 + e.text.len());
    for field in [
        prev, &appeal, &at, e.actor, e.channel, e.step, e.kind, e.text,
    ] {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The unkeyed hash of events written before the key (kept to check them).
fn legacy_hash(prev: &str, e: &NewEvent<'_>) -> String {
    hex::encode(Sha256::digest(content(prev, e)))
}

fn keyed_hash(key: &AuditKey, prev: &str, e: &NewEvent<'_>) -> String {
    format!(
        "{KEYED_PREFIX}{}:{}",
        key.id(),
        hex::encode(key.mac(&[&content(prev, e)]))
    )
}

/// The key each database's appends use, by database URL. Set by the daemon at start
/// ([`start_audit`]); a process may run daemons on several databases (the tests do).
static KEYS: LazyLock<RwLock<HashMap<String, Arc<AuditKey>>>> = LazyLock::new(Default::default);

fn store_name(store: &Store) -> String {
    store.pool().connect_options().database_url.to_string()
}

/// Appends to `store`'s chain are keyed with `key` from now on, in this process.
pub fn use_key(store: &Store, key: Arc<AuditKey>) {
    // A poisoned lock only means another thread panicked mid-insert; the map is still whole.
    let mut keys = KEYS.write().unwrap_or_else(|e| e.into_inner());
    keys.insert(store_name(store), key);
}

fn key_for(store: &Store) -> Option<Arc<AuditKey>> {
    let keys = KEYS.read().unwrap_or_else(|e| e.into_inner());
    keys.get(&store_name(store)).cloned()
}

/// Takes the chain lock for the rest of `tx` (PostgreSQL; SQLite's single writer already
/// serialises). Every transaction that appends events calls this before taking any other
/// lock: see the lock order in the module comment.
pub async fn lock_chain(store: &Store, tx: &mut Transaction<'static, Any>) -> Result<()> {
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Appends one event. Keyed when this process was given the database's key, else unkeyed
/// (library use without a daemon; `audit verify` then reports such an event after keyed ones).
pub async fn append_event(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    e: NewEvent<'_>,
) -> Result<i64> {
    lock_chain(store, tx).await?;
    let prev: Option<String> =
        sqlx::query_scalar("SELECT hash FROM events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let prev = prev.unwrap_or_default();
    let hash = match key_for(store) {
        Some(k) => keyed_hash(&k, &prev, &e),
        None => legacy_hash(&prev, &e),
    };
    let id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO events (appeal_id, at, actor, channel, step, kind, text, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(e.appeal_id)
    .bind(e.at)
    .bind(e.actor)
    .bind(e.channel)
    .bind(e.step)
    .bind(e.kind)
    .bind(e.text)
    .bind(&prev)
    .bind(&hash)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub event_id: i64,
    pub reason: String,
}

/// One stored event, as read back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub appeal_id: Option<i64>,
    pub at: i64,
    pub actor: String,
    pub channel: String,
    pub step: String,
    pub kind: String,
    pub text: String,
    pub prev_hash: String,
    pub hash: String,
}

impl EventRow {
    fn event(&self) -> NewEvent<'_> {
        NewEvent {
            appeal_id: self.appeal_id,
            at: self.at,
            actor: &self.actor,
            channel: &self.channel,
            step: &self.step,
            kind: &self.kind,
            text: &self.text,
        }
    }
}

/// The newest event a daemon has checked, kept outside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub id: i64,
    pub hash: String,
}

impl Head {
    /// `audit-head v1 <id> <hash>`.
    pub fn parse(s: &str) -> Option<Head> {
        let mut w = s.split_whitespace();
        if (w.next()?, w.next()?) != ("audit-head", "v1") {
            return None;
        }
        let id = w.next()?.parse().ok()?;
        let hash = w.next()?.to_string();
        Some(Head { id, hash })
    }

    pub fn render(&self) -> String {
        format!("audit-head v1 {} {}\n", self.id, self.hash)
    }
}

/// Pure: walks events in id order, from a known point (the start, or a checked head).
#[derive(Debug, Clone)]
pub struct Verifier<'k> {
    key: Option<&'k AuditKey>,
    prev: String,
    keyed_seen: bool,
    pub checked: u64,
    pub keyed: u64,
    pub last: Option<Head>,
}

impl<'k> Verifier<'k> {
    pub fn new(key: Option<&'k AuditKey>) -> Verifier<'k> {
        Verifier {
            key,
            prev: String::new(),
            keyed_seen: false,
            checked: 0,
            keyed: 0,
            last: None,
        }
    }

    /// Continues after `head`, already checked.
    pub fn after(key: Option<&'k AuditKey>, head: &Head) -> Verifier<'k> {
        let mut v = Verifier::new(key);
        v.keyed_seen = head.hash.starts_with(KEYED_PREFIX);
        v.prev = head.hash.clone();
        v.last = Some(head.clone());
        v
    }

    pub fn check(&mut self, r: &EventRow) -> std::result::Result<(), ChainBreak> {
        let broken = |reason: String| ChainBreak {
            event_id: r.id,
            reason,
        };
        if r.prev_hash != self.prev {
            return Err(broken("prev_hash does not match the event before it (an event was removed, inserted or reordered)".into()));
        }
        if let Some(rest) = r.hash.strip_prefix(KEYED_PREFIX) {
            let Some(key) = self.key else {
                return Err(broken(
                    "keyed event, but no audit key was given to check it".into(),
                ));
            };
            let key_id = rest.split(':').next().unwrap_or_default();
            if key_id != key.id() {
                return Err(broken(format!(
                    "keyed with key {key_id}, not with the configured key {}",
                    key.id()
                )));
            }
            if keyed_hash(key, &self.prev, &r.event()) != r.hash {
                return Err(broken("content does not match its keyed hash (the row was edited, or written without the key)".into()));
            }
            self.keyed_seen = true;
            self.keyed += 1;
        } else {
            if self.keyed_seen {
                return Err(broken(
                    "an unkeyed event after the chain became keyed (written without the key)"
                        .into(),
                ));
            }
            if legacy_hash(&self.prev, &r.event()) != r.hash {
                return Err(broken(
                    "content does not match its hash (the row was edited)".into(),
                ));
            }
        }
        self.prev = r.hash.clone();
        self.last = Some(Head {
            id: r.id,
            hash: r.hash.clone(),
        });
        self.checked += 1;
        Ok(())
    }
}

/// Pure: the walk ended at `last`; the head file says the chain reached `head`, whose stored
/// hash (if the event is still there) is `found`.
pub fn check_head(
    last: Option<&Head>,
    head: &Head,
    found: Option<&str>,
) -> std::result::Result<(), ChainBreak> {
    let newest = last.map(|l| l.id).unwrap_or(0);
    match found {
        Some(h) if h == head.hash => Ok(()),
        Some(_) => Err(ChainBreak {
            event_id: head.id,
            reason: "differs from the copy in the head file (the newest events were rewritten)"
                .into(),
        }),
        None if head.id > newest => Err(ChainBreak {
            event_id: head.id,
            reason: format!(
                "missing: the head file records event {} but the newest event is {newest} (the newest events were deleted)",
                head.id
            ),
        }),
        None => Err(ChainBreak {
            event_id: head.id,
            reason: "missing: the event the head file records was deleted".into(),
        }),
    }
}

/// What a whole-chain check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub checked: u64,
    /// Of `checked`, how many carry the key (the rest predate it).
    pub keyed: u64,
    pub last: Option<Head>,
}

async fn events_after(store: &Store, after: i64) -> Result<Vec<EventRow>> {
    let rows = sqlx::query_as(&store.sql(
        "SELECT id, appeal_id, at, actor, channel, step, kind, text, prev_hash, hash \
         FROM events WHERE id > ? ORDER BY id LIMIT 1000",
    ))
    .bind(after)
    .fetch_all(store.reader())
    .await?;
    Ok(rows)
}

/// Walks the whole chain in order with `key`, then compares the end with `head` (the head
/// file's record, when there is one). Returns the first break.
pub async fn verify(
    store: &Store,
    key: Option<&AuditKey>,
    head: Option<&Head>,
) -> Result<std::result::Result<Verified, ChainBreak>> {
    let mut v = Verifier::new(key);
    let mut at_head: Option<String> = None;
    loop {
        // Paged so a county's millions of events never sit in memory at once.
        let after = v.last.as_ref().map(|h| h.id).unwrap_or(0);
        let rows = events_after(store, after).await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            if let Err(b) = v.check(r) {
                return Ok(Err(b));
            }
            if head.is_some_and(|h| h.id == r.id) {
                at_head = Some(r.hash.clone());
            }
        }
    }
    if let Some(h) = head {
        if let Err(b) = check_head(v.last.as_ref(), h, at_head.as_deref()) {
            return Ok(Err(b));
        }
    }
    Ok(Ok(Verified {
        checked: v.checked,
        keyed: v.keyed,
        last: v.last,
    }))
}

/// The whole chain with the key this process uses for `store` (none: only unkeyed events
/// verify). Returns the number of events checked, or the first break.
pub async fn verify_chain(store: &Store) -> Result<std::result::Result<u64, ChainBreak>> {
    let key = key_for(store);
    Ok(verify(store, key.as_deref(), None)
        .await?
        .map(|v| v.checked))
}

/// The key `config` names; `create` allows making the default key file (the daemon does,
/// `audit verify` does not). `Ok(None)`: the default key file does not exist (yet).
pub fn load_key(
    config: &Config,
    create: bool,
) -> std::result::Result<Option<AuditKey>, AuditError> {
    match &config.audit.key {
        AuditKeySource::Inline(k) => Ok(Some(AuditKey::new(k.as_bytes())?)),
        AuditKeySource::File(p) => Ok(Some(load_key_file(p, false)?)),
        AuditKeySource::Default => {
            let p = config.audit_files().0;
            if create || p.exists() {
                Ok(Some(load_key_file(&p, create)?))
            } else {
                Ok(None)
            }
        }
    }
}

/// The head file's record; None when there is no (readable) head file.
pub fn read_head(path: &Path) -> Option<Head> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| Head::parse(&s))
}

fn write_head(path: &Path, head: &Head) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new(".")))?;
    tmp.write_all(head.render().as_bytes())?;
    // Renamed into place: a crash leaves the old head or the new one, never half a line.
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The daemon's audit set-up: its key in use for the store, the head keeper running.
pub struct Audit {
    stop: CancellationToken,
    join: tokio::task::JoinHandle<()>,
}

impl Audit {
    /// Brings the head up to the last event committed (call after the other tasks stopped).
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.join.await;
    }
}

/// At daemon start: loads (or on first start creates) the key, refuses a key other than the
/// one the chain already uses, keys this process's appends, and starts the head keeper.
pub async fn start_audit(config: &Config, store: &Store) -> std::result::Result<Audit, AuditError> {
    let key = match load_key(config, true)? {
        Some(k) => Arc::new(k),
        // Unreachable: with `create` a missing default key file is made.
        None => return Err(KeyError::Short(0).into()),
    };
    let newest: Option<String> = sqlx::query_scalar(
        &store.sql("SELECT hash FROM events WHERE hash LIKE ? ORDER BY id DESC LIMIT 1"),
    )
    .bind(format!("{KEYED_PREFIX}%"))
    .fetch_optional(store.reader())
    .await
    .map_err(StoreError::from)?;
    if let Some(h) = newest {
        let chain = h[KEYED_PREFIX.len()..]
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        if chain != key.id() {
            return Err(AuditError::OtherKey {
                chain,
                ours: key.id().to_string(),
            });
        }
    }
    use_key(store, key.clone());
    let stop = CancellationToken::new();
    let join = tokio::spawn(keep_head(
        store.clone(),
        key,
        config.audit_files().1,
        stop.clone(),
    ));
    Ok(Audit { stop, join })
}

/// Keeps the head file at the newest event, moving it only along events that verify from the
/// previous head: a deleted or rewritten tail is reported (error log) and never adopted. Each
/// move is logged (`audit head`), so the log keeps a copy too.
pub async fn keep_head(store: Store, key: Arc<AuditKey>, path: PathBuf, stop: CancellationToken) {
    let mut head = read_head(&path);
    let mut reported = false;
    loop {
        let last_pass = stop.is_cancelled();
        match advance(&store, &key, head.as_ref()).await {
            Ok(Ok(Some(h))) if Some(&h) != head.as_ref() => match write_head(&path, &h) {
                Ok(()) => {
                    tracing::info!(event = h.id, hash = %h.hash, "audit head");
                    head = Some(h);
                }
                Err(e) => {
                    if !reported {
                        tracing::error!(path = %path.display(), error = %e, "cannot write the audit head file; truncation of the newest events will not be detected");
                        reported = true;
                    }
                }
            },
            Ok(Ok(_)) => {}
            Ok(Err(b)) => {
                if !reported {
                    tracing::error!(event = b.event_id, reason = %b.reason, "audit chain broken after the head");
                    reported = true;
                }
            }
            // The database monitor reports an unreachable database; the head waits.
            Err(_) => {}
        }
        if last_pass {
            return;
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(HEAD_INTERVAL) => {}
        }
    }
}

/// The new head after the events past `head`, checked from it.
async fn advance(
    store: &Store,
    key: &AuditKey,
    head: Option<&Head>,
) -> Result<std::result::Result<Option<Head>, ChainBreak>> {
    let mut v = match head {
        Some(h) => {
            let found: Option<String> =
                sqlx::query_scalar(&store.sql("SELECT hash FROM events WHERE id = ?"))
                    .bind(h.id)
                    .fetch_optional(store.reader())
                    .await?;
            let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events")
                .fetch_one(store.reader())
                .await?;
            let newest = newest.map(|id| Head {
                id,
                hash: String::new(),
            });
            if let Err(b) = check_head(newest.as_ref(), h, found.as_deref()) {
                return Ok(Err(b));
            }
            Verifier::after(Some(key), h)
        }
        None => Verifier::new(Some(key)),
    };
    loop {
        let after = v.last.as_ref().map(|h| h.id).unwrap_or(0);
        let rows = events_after(store, after).await?;
        if rows.is_empty() {
            return Ok(Ok(v.last));
        }
        for r in &rows {
            if let Err(b) = v.check(r) {
                return Ok(Err(b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> AuditKey {
        AuditKey::new(s.repeat(32).as_bytes()).unwrap()
    }

    fn row(id: i64, prev: &str, text: &str, key: Option<&AuditKey>) -> EventRow {
        let e = NewEvent {
            appeal_id: Some(1),
            at: 1_000 + id,
            actor: "13812345678",
            channel: "sms",
            step: "collection",
            kind: "filed",
            text,
        };
        let hash = match key {
            Some(k) => keyed_hash(k, prev, &e),
            None => legacy_hash(prev, &e),
        };
        EventRow {
            id,
            appeal_id: e.appeal_id,
            at: e.at,
            actor: e.actor.into(),
            channel: e.channel.into(),
            step: e.step.into(),
            kind: e.kind.into(),
            text: text.into(),
            prev_hash: prev.into(),
            hash,
        }
    }

    /// Unkeyed events, then keyed ones: `n_legacy` + `n_keyed` rows chained.
    fn chain(n_legacy: i64, n_keyed: i64, k: &AuditKey) -> Vec<EventRow> {
        let mut out: Vec<EventRow> = Vec::new();
        for id in 1..=n_legacy + n_keyed {
            let prev = out.last().map(|r| r.hash.clone()).unwrap_or_default();
            let key = (id > n_legacy).then_some(k);
            out.push(row(id, &prev, &format!("诉求{id}"), key));
        }
        out
    }

    fn run(
        rows: &[EventRow],
        k: Option<&AuditKey>,
    ) -> std::result::Result<Verifier<'static>, ChainBreak> {
        // The verifier borrows the key; tests leak one so the result can outlive the call.
        let k: Option<&'static AuditKey> = k.map(|k| &*Box::leak(Box::new(k.clone())));
        let mut v = Verifier::new(k);
        for r in rows {
            v.check(r)?;
        }
        Ok(v)
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(
            AuditKey::new(b"too short"),
            Err(KeyError::Short(9))
        ));
        assert!(AuditKey::new(&[b'x'; 32]).is_ok());
        // The key file's newline is not part of the key.
        assert_eq!(
            AuditKey::new(format!("{}\n", "k".repeat(40)).as_bytes())
                .unwrap()
                .id(),
            AuditKey::new("k".repeat(40).as_bytes()).unwrap().id()
        );
    }

    #[test]
    fn unkeyed_then_keyed_chain_verifies() {
        let k = key("a");
        let v = run(&chain(3, 4, &k), Some(&k)).unwrap();
        assert_eq!((v.checked, v.keyed), (7, 4));
        assert_eq!(v.last.unwrap().id, 7);
    }

    #[test]
    fn an_edited_keyed_event_is_named() {
        let k = key("a");
        let mut rows = chain(2, 4, &k);
        rows[3].text = "张书记没有受理".into();
        let b = run(&rows, Some(&k)).unwrap_err();
        assert_eq!(b.event_id, 4);
        assert!(b.reason.contains("edited"), "{}", b.reason);
    }

    #[test]
    fn a_forger_without_the_key_cannot_make_a_valid_event() {
        let k = key("a");
        let mut rows = chain(0, 3, &k);
        // Recomputed with a wrong key, and with the unkeyed scheme: both refused.
        let wrong = key("b");
        let forged = row(3, &rows[1].hash, "伪造", Some(&wrong));
        rows[2] = forged;
        let b = run(&rows, Some(&k)).unwrap_err();
        assert_eq!(b.event_id, 3);
        assert!(b.reason.contains(wrong.id()), "{}", b.reason);
        // Same key id faked in front of a wrong MAC.
        let mut faked = row(3, &rows[1].hash, "伪造", Some(&wrong));
        faked.hash = faked.hash.replace(wrong.id(), k.id());
        rows[2] = faked;
        assert_eq!(run(&rows, Some(&k)).unwrap_err().event_id, 3);
        let downgraded = row(3, &rows[1].hash, "伪造", None);
        rows[2] = downgraded;
        let b = run(&rows, Some(&k)).unwrap_err();
        assert!(b.reason.contains("unkeyed event after"), "{}", b.reason);
    }

    #[test]
    fn deleted_inserted_and_reordered_events_break_the_links() {
        let k = key("a");
        let rows = chain(1, 5, &k);
        let mut deleted = rows.clone();
        deleted.remove(2);
        assert_eq!(run(&deleted, Some(&k)).unwrap_err().event_id, 4);
        let mut swapped = rows.clone();
        swapped.swap(2, 3);
        assert_eq!(run(&swapped, Some(&k)).unwrap_err().event_id, 4);
    }

    #[test]
    fn keyed_events_need_the_key() {
        let k = key("a");
        let b = run(&chain(1, 1, &k), None).unwrap_err();
        assert_eq!(b.event_id, 2);
    }

    #[test]
    fn the_head_catches_a_truncated_tail() {
        let k = key("a");
        let rows = chain(0, 5, &k);
        let head = Head {
            id: 5,
            hash: rows[4].hash.clone(),
        };
        // The first three survive, and verify as a chain on their own.
        let v = run(&rows[..3], Some(&k)).unwrap();
        let b = check_head(v.last.as_ref(), &head, None).unwrap_err();
        assert_eq!(b.event_id, 5);
        assert!(b.reason.contains("newest event is 3"), "{}", b.reason);
        assert!(check_head(v.last.as_ref(), &head, Some(&rows[4].hash)).is_ok());
        assert!(check_head(v.last.as_ref(), &head, Some("other")).is_err());
        assert_eq!(Head::parse(&head.render()), Some(head));
        assert_eq!(Head::parse("garbage"), None);
    }

    #[test]
    fn continuing_after_a_head_checks_the_same_way() {
        let k = key("a");
        let rows = chain(2, 3, &k);
        let head = Head {
            id: 3,
            hash: rows[2].hash.clone(),
        };
        let mut v = Verifier::after(Some(&k), &head);
        for r in &rows[3..] {
            v.check(r).unwrap();
        }
        assert_eq!(v.last.unwrap().id, 5);
        let mut v = Verifier::after(Some(&k), &head);
        assert_eq!(v.check(&rows[4]).unwrap_err().event_id, 5);
    }
}
