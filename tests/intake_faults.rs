//! Intake under hostile input: a text that poisons the database must not stop the texts behind
//! it, a sender that only looks like a cadre is not one, a PIN is never stored, concatenated
//! parts that arrive late or share a reference are not merged wrongly, and the dedupe key
//! belongs to one modem. Each runs on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use appeal_gateway::clock::Clock;
use appeal_gateway::inbox;
use appeal_gateway::pdu;
use common::*;

fn now_cst() -> chrono::DateTime<chrono::FixedOffset> {
    appeal_gateway::clock::Clock::System
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
}

/// The same SMS-DELIVER as `pdu::encode_deliver` would give for a numeric sender, with the
/// originator replaced by an alphanumeric one (TON 5): what an operator's or a spoofer's
/// gateway sends.
fn alphanumeric_pdu(sender: &str, text: &str) -> String {
    let numeric = pdu::encode_deliver("13800000000", text, now_cst(), 0).remove(0);
    // "00" SMSC, FO, then OA: length 0B, TOA, 6 octets of BCD; the codec writes the new OA.
    let rest = &numeric[4 + 4 + 12..];
    let mut oa = Vec::new();
    pdu::write_alphanumeric(sender, &mut oa);
    format!("{}{}{}", &numeric[..4], hex::encode_upper(&oa), rest)
}

async fn appeal_texts(store: &appeal_gateway::store::Store) -> Vec<String> {
    sqlx::query_scalar::<_, String>("SELECT text FROM appeals ORDER BY id")
        .fetch_all(store.reader())
        .await
        .unwrap()
}

/// A two-part UCS2 text with U+0000 in it (reproduced against a real modem) made every intake
/// pass fail on PostgreSQL ("invalid byte sequence for encoding UTF8: 0x00"), so every later
/// appeal waited for ever. Now the NUL is stripped on the multipart path too, and the appeal
/// behind it is filed.
async fn nul_in_multipart(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    let long = format!("路灯{}\u{0}坏了{}", "甲".repeat(60), "乙".repeat(20));
    assert!(pdu::encode_deliver("13811112222", &long, now_cst(), 1).len() == 2);
    sim.receive_sms("13811112222", &long);
    sim.receive_sms("13833334444", "停水三天了");
    wait_appeals(&store, 2, 30).await;
    let texts = appeal_texts(&store).await;
    assert!(texts.iter().any(|t| t == "停水三天了"), "{texts:?}");
    let multi = texts
        .iter()
        .find(|t| t.starts_with("路灯"))
        .expect("the long text is filed");
    assert!(!multi.contains('\u{0}'), "{multi:?}");
    assert!(multi.contains("坏了") && multi.ends_with('乙'), "{multi:?}");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM inbox WHERE state = 'bad'").await,
        0
    );
    daemon.stop().await;
}
both_backends!(nul_in_a_multipart_text_blocks_nothing, nul_in_multipart);

/// Installs a database trigger that fails any message whose text contains 毒, the way a
/// deterministic data error does (PostgreSQL: SQLSTATE 22021, the NUL defect's code).
async fn install_poison(store: &appeal_gateway::store::Store, backend: Backend) {
    let stmts: &[&str] = match backend {
        Backend::Sqlite => &["CREATE TRIGGER poison BEFORE INSERT ON messages \
             WHEN NEW.text LIKE '%毒%' BEGIN SELECT RAISE(ABORT, 'poisoned text'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
             IF NEW.text LIKE '%毒%' THEN RAISE EXCEPTION 'poisoned text' USING ERRCODE = '22021'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison()",
        ],
    };
    for s in stmts {
        sqlx::raw_sql(s).execute(store.pool()).await.expect(s);
    }
}

/// A text whose handling fails for a deterministic reason is marked `bad` with the reason; the
/// texts before and after it in the same batch are filed once, single part or multipart.
async fn poisoned_rows(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.unwrap();
    install_poison(&store, backend).await;
    let sim = start_sim().await;
    sim.receive_sms("13811110001", "路灯坏了");
    sim.receive_sms("13811110002", "有毒的水");
    sim.receive_sms(
        "13811110003",
        &format!("毒{}", "长".repeat(100)), // two parts
    );
    sim.receive_sms("13811110004", "停水三天了");
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        Clock::System,
    );
    wait_appeals(&store, 2, 30).await;
    wait_for(30, "poisoned rows marked bad", || async {
        (count(&store, "SELECT COUNT(*) FROM inbox WHERE state = 'bad'").await == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(appeal_texts(&store).await, ["路灯坏了", "停水三天了"]);
    let reason: String =
        sqlx::query_scalar("SELECT error FROM inbox WHERE state = 'bad' ORDER BY id LIMIT 1")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert!(reason.contains("poisoned text"), "{reason}");
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM inbox WHERE state NOT IN ('done', 'bad')"
        )
        .await,
        0
    );
    wait_sent(&sim, 2, 30).await;
    assert_eq!(
        sim.sent_texts().len(),
        2,
        "only the filed ones are answered"
    );
    daemon.stop().await;
}
both_backends!(
    poisoned_text_is_marked_bad_and_the_rest_filed,
    poisoned_rows
);

/// An alphanumeric sender that spells a cadre's number is a machine: recorded, never a cadre,
/// never answered. The real cadre's command (with a PIN) works and the PIN is not stored.
async fn spoofed_cadre(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let daemon = InProcess::start(
        parse_config(&config_with_directory(&db, &sim)),
        Clock::System,
    );
    let store = db.store().await;
    sim.receive_sms("13811112222", "玉米被风吹倒了");
    wait_appeals(&store, 1, 30).await;
    wait_sent(&sim, 2, 30).await; // the acknowledgement and the cadre's alert
    let number: String = sqlx::query_scalar("SELECT number FROM appeals")
        .fetch_one(store.reader())
        .await
        .unwrap();

    sim.receive_pdu(&alphanumeric_pdu("13900000001", &format!("JS{number}")));
    let kind: String = wait_for(30, "the spoofed text recorded", || async {
        sqlx::query_scalar::<_, String>("SELECT kind FROM messages WHERE sender = '13900000001'")
            .fetch_optional(store.reader())
            .await
            .unwrap()
    })
    .await;
    assert_eq!(kind, "service-sender");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.sent_texts().len(), 2, "a machine is never answered");
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM appeals WHERE accepted_at IS NOT NULL"
        )
        .await,
        0,
        "the spoofer accepted the appeal"
    );

    // The real cadre with the PIN: accepted, and the stored text hides the PIN.
    sim.receive_sms("13900000003", &format!("JS{number}#2468"));
    wait_for(30, "accepted by the cadre", || async {
        (count(
            &store,
            "SELECT COUNT(*) FROM appeals WHERE accepted_at IS NOT NULL",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
    let stored: String =
        sqlx::query_scalar("SELECT text FROM messages WHERE sender = '13900000003'")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!(stored, format!("JS{number}#****"));
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM messages WHERE text LIKE '%2468%'"
        )
        .await,
        0
    );
    daemon.stop().await;
}
both_backends!(
    alphanumeric_sender_is_never_a_cadre_and_pins_are_hidden,
    spoofed_cadre
);

/// A part that arrives after its group was filed with a gap mark is recorded on the filed
/// appeal: no second appeal of one fragment, not lost.
async fn late_part(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let clock = Clock::manual(appeal_gateway::clock::Clock::System.now());
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        clock.clone(),
    );
    let store = db.store().await;
    let text = format!("第一段{}第二段{}", "甲".repeat(64), "乙".repeat(30));
    let parts = pdu::encode_deliver("13811112222", &text, now_cst(), 42);
    assert_eq!(parts.len(), 2);
    sim.receive_pdu(&parts[0]);
    wait_for(30, "one part parked", || async {
        (count(&store, "SELECT COUNT(*) FROM inbox WHERE state = 'part'").await == 1).then_some(())
    })
    .await;
    clock.advance(chrono::Duration::minutes(11));
    wait_appeals(&store, 1, 30).await;
    wait_sent(&sim, 1, 30).await;

    sim.receive_pdu(&parts[1]);
    wait_for(30, "the late part taken", || async {
        (count(&store, "SELECT COUNT(*) FROM inbox WHERE state = 'done'").await == 2).then_some(())
    })
    .await;
    clock.advance(chrono::Duration::minutes(11));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&store, "SELECT COUNT(*) FROM appeals").await, 1);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM messages m JOIN appeals a ON a.id = m.appeal_id \
             WHERE m.kind = 'late-part' AND m.text LIKE '第二段%'"
        )
        .await,
        1
    );
    assert_eq!(sim.sent_texts().len(), 1, "the late part is not answered");
    daemon.stop().await;
}
both_backends!(part_after_its_gap_filed_group_is_recorded_on_it, late_part);

/// A second long message from the same phone with the same concatenation reference (the
/// phone's counter wrapped, or the first lost a part) is its own text, not merged into the
/// parked parts of the first.
async fn same_reference(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let clock = Clock::manual(appeal_gateway::clock::Clock::System.now());
    let daemon = InProcess::start(
        parse_config(&config_toml(&db.url, &sim.device_path(), "")),
        clock.clone(),
    );
    let store = db.store().await;
    let first = format!("第一条{}", "甲".repeat(100));
    let second = format!("第二条{}", "乙".repeat(100));
    let a = pdu::encode_deliver("13811112222", &first, now_cst(), 9);
    let b = pdu::encode_deliver("13811112222", &second, now_cst(), 9);
    sim.receive_pdu(&a[0]);
    wait_for(30, "one part parked", || async {
        (count(&store, "SELECT COUNT(*) FROM inbox WHERE state = 'part'").await == 1).then_some(())
    })
    .await;
    sim.receive_pdu(&b[0]);
    sim.receive_pdu(&b[1]);
    wait_appeals(&store, 1, 30).await;
    assert_eq!(appeal_texts(&store).await, [second]);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM inbox WHERE state = 'part'").await,
        1,
        "the first message's part still waits"
    );
    clock.advance(chrono::Duration::minutes(11));
    wait_appeals(&store, 2, 30).await;
    let texts = appeal_texts(&store).await;
    assert!(
        texts[1].starts_with("第一条") && texts[1].contains("【第2段缺失】"),
        "{texts:?}"
    );
    daemon.stop().await;
}
both_backends!(
    second_long_message_with_same_reference_is_separate,
    same_reference
);

/// The dedupe key belongs to the modem: the same PDU bytes on two SIMs are two receipts. A
/// PDU stored under the old key (sha256 of the PDU alone) before an upgrade is still
/// recognised on its modem, so it is not filed twice.
async fn dedupe_per_modem(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.unwrap();
    let now = appeal_gateway::clock::Clock::System.now();
    let hex = pdu::encode_deliver("13811112222", "路灯坏了", now_cst(), 0).remove(0);
    assert!(inbox::store_raw(&store, "m1", &hex, now).await.unwrap());
    assert!(!inbox::store_raw(&store, "m1", &hex, now).await.unwrap());
    assert!(inbox::store_raw(&store, "m2", &hex, now).await.unwrap());
    assert_ne!(inbox::dedupe_key("m1", &hex), inbox::dedupe_key("m2", &hex));

    let old = pdu::encode_deliver("13811113333", "停水了", now_cst(), 0).remove(0);
    let legacy_key = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(old.as_bytes()))
    };
    sqlx::query(
        &store
            .sql("INSERT INTO inbox (dedupe_key, modem, pdu, received_at) VALUES (?, 'm1', ?, 0)"),
    )
    .bind(&legacy_key)
    .bind(&old)
    .execute(store.pool())
    .await
    .unwrap();
    assert!(!inbox::store_raw(&store, "m1", &old, now).await.unwrap());
    assert!(inbox::store_raw(&store, "m2", &old, now).await.unwrap());
    // m1 and m2 for the first PDU; the legacy row and m2 for the second.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM inbox").await, 4);
}
both_backends!(dedupe_key_includes_the_modem, dedupe_per_modem);

/// One part of a UCS2 message from a phone that does not mind surrogate pairs: the emoji's
/// high surrogate ends part 1 and its low surrogate starts part 2 (and the same for a CJK
/// Extension B character). Reassembly joins the UTF-16 units, so both characters survive.
fn split_pair_part(oa: &str, reference: u8, seq: u8, units: &[u16]) -> String {
    let ud: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    let udh = [5u8, 0, 3, reference, 2, seq];
    format!(
        "0044{oa}000852305090000023{:02X}{}{}",
        udh.len() + ud.len(),
        hex::encode_upper(udh),
        hex::encode_upper(ud)
    )
}

async fn split_surrogate(backend: Backend) {
    let db = TestDb::new(backend).await;
    let sim = start_sim().await;
    let (daemon, store) = gateway(&db, &sim).await;
    // 中 + the high half of U+1F600, then its low half + 路灯; the second message out of order.
    // +8613811112222 and +8613811113333, semi-octets swapped.
    let (a, b) = ("0D91683118112122F2", "0D91683118113133F3");
    sim.receive_pdu(&split_pair_part(a, 7, 1, &[0x4E2D, 0xD83D]));
    sim.receive_pdu(&split_pair_part(a, 7, 2, &[0xDE00, 0x8DEF, 0x706F]));
    sim.receive_pdu(&split_pair_part(b, 8, 2, &[0xDC00, 0x574F]));
    sim.receive_pdu(&split_pair_part(b, 8, 1, &[0x6751, 0xD840]));
    wait_appeals(&store, 2, 30).await;
    assert_eq!(appeal_texts(&store).await, ["中😀路灯", "村\u{20000}坏"]);
    daemon.stop().await;
}
both_backends!(surrogate_pair_split_across_parts_survives, split_surrogate);
