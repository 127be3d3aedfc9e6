//! The audit chain (issue 9, item 10): keyed with a key outside the database, its newest event
//! kept in a head file outside it too. `appeal-gateway audit verify --config FILE` names an
//! edited event, reports the newest events deleted, and refuses events forged without the key.
//! Both backends, the daemon in-process, the real binary for `audit verify`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use appeal_gateway::clock::Clock;
use appeal_gateway::config::Config;
use appeal_gateway::sim::SimModem;
use appeal_gateway::store::Store;
use common::*;
use sha2::{Digest, Sha256};

/// The harness's config without any `[audit]` section: the out-of-the-box defaults.
fn without_audit(toml: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in toml.lines() {
        if line.trim_start().starts_with('[') {
            skipping = line.trim() == "[audit]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

struct Site {
    db: TestDb,
    sim: SimModem,
    config_path: PathBuf,
    store: Store,
}

impl Site {
    /// A config file in the test's folder with `audit` as its `[audit]` section (empty: none).
    async fn new(backend: Backend, audit: &str) -> Site {
        let db = TestDb::new(backend).await;
        let sim = start_sim().await;
        let toml = without_audit(&config_toml(&db.url, &sim.device_path(), ""));
        let config_path = db.dir().join("gateway.toml");
        std::fs::write(&config_path, format!("{toml}\n{audit}\n")).unwrap();
        let store = db.store().await;
        Site {
            db,
            sim,
            config_path,
            store,
        }
    }

    fn config(&self) -> Config {
        Config::load(&self.config_path).unwrap_or_else(|e| panic!("config: {e}"))
    }

    /// Runs the daemon until `n` more appeals are filed, then stops it (orderly: the head
    /// file is brought up to date).
    async fn file(&self, texts: &[(&str, &str)]) {
        let before = count(&self.store, "SELECT COUNT(*) FROM appeals").await;
        let daemon = InProcess::start(self.config(), Clock::System);
        for (phone, text) in texts {
            self.sim.receive_sms(phone, text);
        }
        wait_appeals(&self.store, before + texts.len() as i64, 60).await;
        daemon.stop().await;
    }

    fn verify(&self) -> Output {
        verify_with(&self.config_path)
    }

    async fn newest_event(&self) -> i64 {
        count(&self.store, "SELECT MAX(id) FROM events").await
    }
}

fn verify_with(config: &Path) -> Output {
    std::process::Command::new(bin())
        .args(["audit", "verify", "--config"])
        .arg(config)
        .output()
        .expect("run audit verify")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_intact(o: &Output) {
    assert!(o.status.success(), "verify failed:\n{}", text(o));
    assert!(text(o).contains("audit chain intact"), "{}", text(o));
}

fn assert_broken_at(o: &Output, id: i64) -> String {
    let t = text(o);
    assert!(!o.status.success(), "verify passed:\n{t}");
    assert!(t.contains(&format!("broken at event {id}")), "{t}");
    t
}

const FIRST: [(&str, &str); 3] = [
    ("13812340001", "村口路灯坏了三天了"),
    ("13812340002", "河边垃圾没人收"),
    ("13812340003", "自来水停了"),
];

/// With no `[audit]` section the daemon makes a key file on its first start (beside the SQLite
/// file, or beside the config for PostgreSQL), keys every event, and an edited text is named.
async fn edit(backend: Backend) {
    let site = Site::new(backend, "").await;
    site.file(&FIRST).await;
    let key_file = match backend {
        Backend::Sqlite => site.db.dir().join("test.sqlite.audit-key"),
        Backend::Postgres => site.db.dir().join("audit.key"),
    };
    let key = std::fs::read_to_string(&key_file)
        .unwrap_or_else(|e| panic!("default key file {}: {e}", key_file.display()));
    assert!(key.trim().len() >= 32, "a random key of 32 bytes or more");
    let keyed = count(
        &site.store,
        "SELECT COUNT(*) FROM events WHERE hash LIKE 'hmac1:%'",
    )
    .await;
    assert_eq!(
        keyed,
        count(&site.store, "SELECT COUNT(*) FROM events").await,
        "every event keyed"
    );
    assert_intact(&site.verify());
    let id: i64 = count(&site.store, "SELECT MIN(id) FROM events").await + 1;
    sqlx::query(
        &site
            .store
            .sql("UPDATE events SET text = '没有这回事' WHERE id = ?"),
    )
    .bind(id)
    .execute(site.store.pool())
    .await
    .unwrap();
    let t = assert_broken_at(&site.verify(), id);
    assert!(t.contains("edited"), "{t}");
}
both_backends!(an_edited_event_is_named, edit);

/// Deleting the newest events leaves a valid chain; the head file outside the database still
/// records the newest event, so verify reports the loss. The log keeps a copy too.
async fn truncation(backend: Backend) {
    let site = Site::new(backend, "").await;
    site.file(&FIRST).await;
    assert_intact(&site.verify());
    let newest = site.newest_event().await;
    sqlx::query(&site.store.sql("DELETE FROM events WHERE id >= ?"))
        .bind(newest - 1)
        .execute(site.store.pool())
        .await
        .unwrap();
    let t = assert_broken_at(&site.verify(), newest);
    assert!(t.contains("deleted"), "{t}");
    assert!(
        t.contains(&format!("newest event is {}", newest - 2)),
        "{t}"
    );
}
both_backends!(deleting_the_newest_events_is_reported, truncation);

/// Someone with the database but not the key rewrites an event and recomputes its hash: with
/// the old unkeyed scheme, or with a key of their own. Both are refused, and so is the whole
/// chain checked with a wrong key.
async fn forgery(backend: Backend) {
    let site = Site::new(backend, "").await;
    site.file(&FIRST).await;
    let id = site.newest_event().await;
    let row: (String, Option<i64>, i64, String, String, String, String, String) = sqlx::query_as(
        &site.store.sql(
            "SELECT prev_hash, appeal_id, at, actor, channel, step, kind, hash FROM events WHERE id = ?",
        ),
    )
    .bind(id)
    .fetch_one(site.store.reader())
    .await
    .unwrap();
    let (prev, appeal, at, actor, channel, step, kind, hash) = row;
    let forged_text = "村干部已经解决，不用再管";
    // The content as the chain serialises it: each field length-prefixed.
    let mut content = Vec::new();
    let appeal = appeal.map(|a| a.to_string()).unwrap_or_default();
    let at = at.to_string();
    for f in [
        prev.as_str(),
        &appeal,
        &at,
        &actor,
        &channel,
        &step,
        &kind,
        forged_text,
    ] {
        content.extend_from_slice(&(f.len() as u64).to_be_bytes());
        content.extend_from_slice(f.as_bytes());
    }
    let unkeyed = hex::encode(Sha256::digest(&content));
    let mut wrong_key = hmac_sha256(b"an attacker's own key of 32 bytes..", &content);
    // Keep the real key's id in front, as a forger would.
    if let Some(pos) = hash.rfind(':') {
        wrong_key = format!("{}{wrong_key}", &hash[..=pos]);
    }
    for forged in [unkeyed, wrong_key] {
        sqlx::query(
            &site
                .store
                .sql("UPDATE events SET text = ?, hash = ? WHERE id = ?"),
        )
        .bind(forged_text)
        .bind(&forged)
        .bind(id)
        .execute(site.store.pool())
        .await
        .unwrap();
        assert_broken_at(&site.verify(), id);
    }
    // A copy of the database verified with some other key: the first keyed event already fails.
    let first = count(&site.store, "SELECT MIN(id) FROM events").await;
    let other = site.db.dir().join("other.toml");
    let toml = std::fs::read_to_string(&site.config_path).unwrap();
    std::fs::write(
        &other,
        format!(
            "{toml}\n[audit]\nkey = \"{}\"\n",
            "0123456789abcdef".repeat(4)
        ),
    )
    .unwrap();
    assert_broken_at(&verify_with(&other), first);
}
both_backends!(events_forged_without_the_key_are_refused, forgery);

fn hmac_sha256(key: &[u8], data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(data);
    hex::encode(m.finalize().into_bytes())
}

/// A database whose chain predates the key: the old events still verify unkeyed, new ones are
/// keyed, and none is rewritten. A second daemon with another key refuses to start.
async fn switch(backend: Backend) {
    let site = Site::new(backend, "").await;
    // Events from before the key: appended by a process that was given none.
    {
        let store = Store::connect(&site.db.url, 1).await.unwrap();
        let mut tx = store.pool().begin().await.unwrap();
        for i in 0..3 {
            appeal_gateway::appeals::append_event(
                &store,
                &mut tx,
                appeal_gateway::appeals::NewEvent {
                    appeal_id: None,
                    at: 1_000 + i,
                    actor: "system",
                    channel: "system",
                    step: "collection",
                    kind: "note",
                    text: "升级前的事件",
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let old: Vec<String> = sqlx::query_scalar("SELECT hash FROM events ORDER BY id")
        .fetch_all(site.store.reader())
        .await
        .unwrap();
    site.file(&FIRST).await;
    let now: Vec<String> = sqlx::query_scalar("SELECT hash FROM events ORDER BY id")
        .fetch_all(site.store.reader())
        .await
        .unwrap();
    assert_eq!(&now[..3], &old[..], "old events are never rewritten");
    assert!(now[3..].iter().all(|h| h.starts_with("hmac1:")), "{now:?}");
    let o = site.verify();
    assert_intact(&o);
    assert!(text(&o).contains("3 from before the key"), "{}", text(&o));

    let other = site.db.dir().join("other.toml");
    let toml = std::fs::read_to_string(&site.config_path).unwrap();
    std::fs::write(
        &other,
        format!(
            "{toml}\n[audit]\nkey = \"{}\"\n",
            "fedcba9876543210".repeat(4)
        ),
    )
    .unwrap();
    let config = Config::load(&other).unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let err = appeal_gateway::daemon::run(config, Clock::System, token)
        .await
        .expect_err("a daemon with another key must not start");
    assert!(err.to_string().contains("keyed with key"), "{err}");
}
both_backends!(the_key_starts_on_an_old_chain_and_stays_one_key, switch);

/// `[audit]` mistakes are errors with key and fix, found by `check-config` too.
#[test]
fn audit_config_errors_name_key_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let base = config_toml("sqlite:///tmp/x.db", Path::new("/dev/null"), "");
    let base = without_audit(&base);
    let parse = |audit: &str| {
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, format!("{base}\n[audit]\n{audit}\n")).unwrap();
        Config::load(&path)
    };
    let e = parse("key = \"short\"").unwrap_err();
    let k = e.find("audit.key").unwrap_or_else(|| panic!("{e}"));
    assert!(k.problem.contains("at least 32"), "{e}");
    assert!(k.fix.contains("openssl rand -hex 32"), "{e}");

    let e = parse(&format!("key = \"{}\"\nkey_file = \"k\"", "a".repeat(40))).unwrap_err();
    assert!(e.find("audit.key").is_some(), "{e}");

    let e = parse("key_file = \"missing.key\"").unwrap_err();
    let k = e.find("audit.key_file").unwrap_or_else(|| panic!("{e}"));
    assert!(k.problem.contains("missing.key"), "{e}");
    assert!(!k.fix.is_empty());

    std::fs::write(dir.path().join("short.key"), "0123\n").unwrap();
    let e = parse("key_file = \"short.key\"").unwrap_err();
    let k = e.find("audit.key_file").unwrap_or_else(|| panic!("{e}"));
    assert!(k.problem.contains("at least 32"), "{e}");

    let good = "9f".repeat(32);
    std::fs::write(dir.path().join("good.key"), format!("{good}\n")).unwrap();
    let c = parse("key_file = \"good.key\"\nhead_file = \"h\"").unwrap();
    assert_eq!(c.audit_files().1, dir.path().join("h"));
    // check-config reports the same, with the file name, and fails.
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, format!("{base}\n[audit]\nkey = \"short\"\n")).unwrap();
    let o = std::process::Command::new(bin())
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("audit.key") && t.contains("fix:"), "{t}");
}
