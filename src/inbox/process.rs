//! Durable receipt and the intake worker's pass over the inbox.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Any, Executor, Row, Transaction};

use super::assemble::{assemble, complete, generations, join_present, Part};
use super::poison::poison_reason;
use crate::appeals::actions::Ctx;
use crate::appeals::commands::{dispatch, Handled};
use crate::appeals::routing::{TextIn, TextOutcome};
use crate::appeals::Filed;
use crate::intake::guard::{may_be_cadre, screen_kind, sender_kind_typed, Reason, Screen};
use crate::intake::{normalize, redact_pin};
use crate::pdu::{self, Encoding, Pdu};
use crate::store::{from_millis, Result, Store, StoreError};

/// Texts filed per transaction: one disk sync for up to this many appeals.
const BATCH: usize = 64;

/// Parts of one long text are sent together: parts under the same reference whose service
/// centre times are further apart than this belong to different texts.
const SAME_TEXT_WINDOW_MS: i64 = 10 * 60_000;

/// A part arriving this long after its text was filed with a gap mark is still recorded on
/// that text's appeal; after that, it starts a text of its own.
const LATE_PART_WINDOW_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone)]
pub struct ProcessSettings {
    /// The modems this daemon owns, with the village each serves. A daemon processes only its
    /// own modems' rows, so daemons sharing a PostgreSQL never race over a group of parts.
    pub modems: Vec<(String, Option<String>)>,
    /// Missing parts are given up on after this long and the text filed with a gap mark.
    pub concat_timeout: Duration,
}

#[derive(Debug, Default, Clone)]
pub struct ProcessOutcome {
    /// New appeals.
    pub filed: Vec<Filed>,
    /// Whole texts handled (appeals, commands, answers): each may have queued SMS.
    pub handled: usize,
    pub parked_parts: usize,
    pub bad: usize,
    pub reports: usize,
}

/// One pass: decode new rows, file complete texts, file timed-out groups. Returns what it did;
/// the caller loops while it keeps doing something.
pub async fn process(
    store: &Store,
    settings: &ProcessSettings,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<ProcessOutcome> {
    let mut out = ProcessOutcome::default();
    if settings.modems.is_empty() {
        return Ok(out);
    }
    let villages: HashMap<&str, Option<&str>> = settings
        .modems
        .iter()
        .map(|(m, v)| (m.as_str(), v.as_deref()))
        .collect();
    let rows = of_our_modems(
        store,
        settings,
        "SELECT id, modem, pdu, received_at FROM inbox WHERE state = 'new' AND modem IN ({modems}) ORDER BY id LIMIT 500",
    )
    .await?;
    let mut batch: Option<Transaction<'static, Any>> = None;
    let mut in_batch = 0;
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let modem: String = r.try_get("modem")?;
        let hex: String = r.try_get("pdu")?;
        let received_at: i64 = r.try_get("received_at")?;
        let decoded = pdu::decode_hex(&hex, true);
        let single = matches!(&decoded, Ok(Pdu::Deliver(d))
            if d.encoding != Encoding::EightBit && d.concat.is_none_or(|c| c.total <= 1));
        if !single {
            // Everything else writes through its own connection: the batch (holding SQLite's
            // one writer) goes first.
            if let Some(tx) = batch.take() {
                tx.commit().await?;
                in_batch = 0;
            }
        }
        match decoded {
            Err(e) => {
                tracing::warn!(inbox = id, %modem, error = %e, "undecodable PDU kept as bad");
                mark_bad(store, id, &format!("undecodable PDU: {e}")).await?;
                out.bad += 1;
            }
            Ok(Pdu::StatusReport(sr)) => {
                crate::outbox::delivery_report(
                    store,
                    &modem,
                    sr.message_ref,
                    Some(&sr.recipient),
                    sr.status,
                    now,
                )
                .await?;
                set_state(store, id, "done").await?;
                out.reports += 1;
            }
            Ok(Pdu::Submit(_)) => {
                mark_bad(
                    store,
                    id,
                    "an SMS-SUBMIT on the SIM is not an inbound message",
                )
                .await?;
                out.bad += 1;
            }
            Ok(Pdu::Deliver(d)) if d.encoding == Encoding::EightBit => {
                // Binary data (WAP push, OTA) is not a villager's text.
                mark_bad(store, id, "8-bit data message, not text").await?;
                out.bad += 1;
            }
            Ok(Pdu::Deliver(d)) => match d.concat.filter(|c| c.total > 1) {
                None => {
                    let village = villages.get(modem.as_str()).copied().flatten();
                    let text = normalize(&d.text);
                    // Texts share a transaction (one disk sync for many appeals); each one's
                    // effects and its inbox row still commit together. A savepoint per text
                    // sets aside one whose data the database refuses without undoing the
                    // others (PostgreSQL refuses every statement after an error until the
                    // savepoint is rolled back).
                    let mut tx = match batch.take() {
                        Some(tx) => tx,
                        None => begin_intake(store).await?,
                    };
                    run(&mut tx, "SAVEPOINT intake_text").await?;
                    let handled = handle_text(
                        store,
                        &mut tx,
                        ctx,
                        &[id],
                        Incoming {
                            group_key: format!("inbox:{id}"),
                            modem: &modem,
                            village,
                            sender: &d.sender,
                            sender_ton: d.sender_ton,
                            text: &text,
                            has_gap: false,
                            received_at: from_millis(received_at),
                        },
                        now,
                    )
                    .await;
                    match handled {
                        Ok(handled) => {
                            run(&mut tx, "RELEASE SAVEPOINT intake_text").await?;
                            out.count(handled);
                        }
                        Err(e) => {
                            let Some(reason) = poison_reason(&e, store.backend()) else {
                                return Err(e);
                            };
                            run(&mut tx, "ROLLBACK TO SAVEPOINT intake_text").await?;
                            run(&mut tx, "RELEASE SAVEPOINT intake_text").await?;
                            tracing::warn!(inbox = id, %modem, error = %reason, "text the database refuses kept as bad");
                            mark_bad_rows(&mut *tx, store, &[id], &reason).await?;
                            out.bad += 1;
                        }
                    }
                    in_batch += 1;
                    if in_batch >= BATCH {
                        tx.commit().await?;
                        in_batch = 0;
                    } else {
                        batch = Some(tx);
                    }
                }
                Some(c) => {
                    let key = format!(
                        "{modem}|{}|{}|{}|{}",
                        d.sender, c.ref_bits, c.reference, c.total
                    );
                    // For people only (the text is joined from the PDUs): normalised, so the
                    // database never sees a NUL, and with any PIN hidden.
                    let shown = redact_pin(&normalize(&d.text)).into_owned();
                    let parked = sqlx::query(&store.sql(
                        "UPDATE inbox SET state = 'part', sender = ?, text = ?, concat_key = ?, concat_total = ?, \
                         concat_seq = ? WHERE id = ? AND state = 'new'",
                    ))
                    .bind(&d.sender)
                    .bind(&shown)
                    .bind(&key)
                    .bind(c.total as i64)
                    .bind(c.seq as i64)
                    .bind(id)
                    .execute(store.pool())
                    .await;
                    match parked.map_err(StoreError::from) {
                        Ok(_) => out.parked_parts += 1,
                        Err(e) => {
                            let Some(reason) = poison_reason(&e, store.backend()) else {
                                return Err(e);
                            };
                            tracing::warn!(inbox = id, %modem, error = %reason, "part the database refuses kept as bad");
                            mark_bad(store, id, &reason).await?;
                            out.bad += 1;
                        }
                    }
                }
            },
        }
    }

    if let Some(tx) = batch.take() {
        tx.commit().await?;
    }

    // Groups of parts: file the complete ones and those whose wait is over.
    let keys = of_our_modems(
        store,
        settings,
        "SELECT DISTINCT concat_key FROM inbox WHERE state = 'part' AND modem IN ({modems})",
    )
    .await?;
    let deadline = now.timestamp_millis() - settings.concat_timeout.as_millis() as i64;
    for k in keys {
        let key: String = k.try_get("concat_key")?;
        process_group(store, ctx, &villages, &key, deadline, now, &mut out).await?;
    }
    Ok(out)
}

/// Inbox rows of the modems this daemon runs (two daemons on one database each take their own
/// modems' rows): `sql` names the list as `{modems}`.
async fn of_our_modems(
    store: &Store,
    settings: &ProcessSettings,
    sql: &str,
) -> Result<Vec<sqlx::any::AnyRow>> {
    let marks = vec!["?"; settings.modems.len()].join(", ");
    let sql = sql.replace("{modems}", &marks);
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql);
    for (m, _) in &settings.modems {
        q = q.bind(m);
    }
    Ok(q.fetch_all(store.pool()).await?)
}

/// A parked part, decoded again from its PDU: the stored text is for people, the PDU keeps
/// the UTF-16 halves of a character split between parts.
struct Parked {
    id: i64,
    received_at: i64,
    /// The service centre's time stamp (TP-SCTS).
    sent_at: i64,
    ton: u8,
    part: Part,
}

/// Files, records as late, or leaves waiting the texts parked under one concatenation key
/// (usually one text; several when a phone reused the reference).
async fn process_group(
    store: &Store,
    ctx: &Ctx,
    villages: &HashMap<&str, Option<&str>>,
    key: &str,
    deadline: i64,
    now: DateTime<Utc>,
    out: &mut ProcessOutcome,
) -> Result<()> {
    let rows = sqlx::query(&store.sql(
        "SELECT id, modem, sender, pdu, concat_total, concat_seq, received_at FROM inbox \
         WHERE concat_key = ? AND state = 'part' ORDER BY id",
    ))
    .bind(key)
    .fetch_all(store.pool())
    .await?;
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let total: i64 = first.try_get("concat_total")?;
    let total = total.clamp(1, 255) as u8;
    let modem: String = first.try_get("modem")?;
    let sender: String = first.try_get("sender")?;
    let village = villages.get(modem.as_str()).copied().flatten();
    let mut parked = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let hex: String = r.try_get("pdu")?;
        let seq: i64 = r.try_get("concat_seq")?;
        match pdu::decode_hex(&hex, true) {
            Ok(Pdu::Deliver(d)) => parked.push(Parked {
                id,
                received_at: r.try_get("received_at")?,
                sent_at: d.timestamp.timestamp_millis(),
                ton: d.sender_ton,
                part: Part {
                    seq: seq.clamp(0, 255) as u8,
                    text: d.text,
                    ucs2: d.data,
                },
            }),
            // It decoded as a part when it was parked: a row edited since is the admin's.
            _ => {
                mark_bad(store, id, "parked part no longer decodes").await?;
                out.bad += 1;
            }
        }
    }
    let stamps: Vec<(u8, i64)> = parked.iter().map(|p| (p.part.seq, p.sent_at)).collect();
    for gen in generations(&stamps, SAME_TEXT_WINDOW_MS) {
        let ids: Vec<i64> = gen.iter().map(|&i| parked[i].id).collect();
        let parts: Vec<Part> = gen.iter().map(|&i| parked[i].part.clone()).collect();
        let Some(first_at) = gen.iter().map(|&i| parked[i].received_at).min() else {
            continue;
        };
        let m = Incoming {
            group_key: format!("concat:{key}:{}", ids[0]),
            modem: &modem,
            village,
            sender: &sender,
            sender_ton: parked[gen[0]].ton,
            text: "",
            has_gap: false,
            received_at: from_millis(first_at),
        };
        if let Some(gapped) = filed_with_gap(store, key, &parts, now).await? {
            let text = normalize(&join_present(&parts));
            let late = Incoming {
                group_key: format!("late:{key}:{}", ids[0]),
                text: &text,
                ..m
            };
            record_late(store, &ids, late, gapped, out).await?;
            continue;
        }
        if !complete(total, &parts) && first_at > deadline {
            continue;
        }
        let (joined, has_gap) = assemble(total, &parts);
        if has_gap {
            tracing::warn!(inbox = ?ids, "filing a concatenated message with missing parts after the timeout");
        }
        let text = normalize(&joined);
        let mut tx = begin_intake(store).await?;
        let handled = handle_text(
            store,
            &mut tx,
            ctx,
            &ids,
            Incoming {
                text: &text,
                has_gap,
                ..m
            },
            now,
        )
        .await;
        match handled {
            Ok(handled) => {
                tx.commit().await?;
                out.count(handled);
            }
            Err(e) => set_aside(store, tx, e, &ids, out).await?,
        }
    }
    Ok(())
}

/// The latest text under `key` filed with a gap mark within [`LATE_PART_WINDOW_MS`], when
/// every one of `parts` is among its missing parts: `(message id, appeal id)`.
async fn filed_with_gap(
    store: &Store,
    key: &str,
    parts: &[Part],
    now: DateTime<Utc>,
) -> Result<Option<(i64, Option<i64>)>> {
    let latest = sqlx::query(&store.sql(
        "SELECT id, appeal_id FROM messages WHERE has_gap AND received_at >= ? AND id IN \
         (SELECT message_id FROM inbox WHERE concat_key = ? AND state = 'done') \
         ORDER BY id DESC LIMIT 1",
    ))
    .bind(now.timestamp_millis() - LATE_PART_WINDOW_MS)
    .bind(key)
    .fetch_optional(store.pool())
    .await?;
    let Some(m) = latest else { return Ok(None) };
    let message_id: i64 = m.try_get("id")?;
    let appeal_id: Option<i64> = m.try_get("appeal_id")?;
    let filed: Vec<i64> =
        sqlx::query_scalar(&store.sql("SELECT concat_seq FROM inbox WHERE message_id = ?"))
            .bind(message_id)
            .fetch_all(store.pool())
            .await?;
    let all_missing = parts.iter().all(|p| !filed.contains(&i64::from(p.seq)));
    Ok(all_missing.then_some((message_id, appeal_id)))
}

/// Records parts that came after their text was filed with a gap mark on that text's appeal
/// (listed with the appeal's messages), neither filing them as a new appeal of one fragment
/// nor answering them: the villager already has the number.
async fn record_late(
    store: &Store,
    ids: &[i64],
    m: Incoming<'_>,
    (gap_message, appeal_id): (i64, Option<i64>),
    out: &mut ProcessOutcome,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    let recorded = async {
        let message_id = insert_message(store, &mut tx, ids, &m).await?;
        sqlx::query(
            &store.sql("UPDATE messages SET kind = 'late-part', appeal_id = ? WHERE id = ?"),
        )
        .bind(appeal_id)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
        Ok::<_, StoreError>(())
    }
    .await;
    match recorded {
        Ok(()) => {
            tx.commit().await?;
            tracing::info!(inbox = ?ids, gap_message, ?appeal_id, "late part recorded on the text filed with a gap");
            out.handled += 1;
            Ok(())
        }
        Err(e) => set_aside(store, tx, e, ids, out).await,
    }
}

/// A whole text's own transaction failed: when the text itself is at fault its rows are kept
/// as `bad` with the reason and the pass goes on with the rows behind them; otherwise the
/// error ends the pass, to be retried from what is committed.
async fn set_aside(
    store: &Store,
    tx: Transaction<'static, Any>,
    e: StoreError,
    ids: &[i64],
    out: &mut ProcessOutcome,
) -> Result<()> {
    let Some(reason) = poison_reason(&e, store.backend()) else {
        return Err(e);
    };
    tx.rollback().await?;
    tracing::warn!(inbox = ?ids, error = %reason, "text the database refuses kept as bad");
    mark_bad_rows(store.pool(), store, ids, &reason).await?;
    out.bad += ids.len();
    Ok(())
}

/// Savepoint statements: sent as plain SQL, since sqlx's nested transactions cannot lend the
/// `'static` transaction that `dispatch` takes.
async fn run(tx: &mut Transaction<'static, Any>, sql: &str) -> Result<()> {
    (&mut **tx).execute(sql).await?;
    Ok(())
}

/// An intake transaction may file appeals (day counter) and apply commands (appeal rows)
/// for several texts: it takes the chain lock first, the lock order of appeals::events.
async fn begin_intake(store: &Store) -> Result<Transaction<'static, Any>> {
    let mut tx = store.pool().begin().await?;
    crate::appeals::events::lock_chain(store, &mut tx).await?;
    Ok(tx)
}

struct Incoming<'a> {
    group_key: String,
    modem: &'a str,
    village: Option<&'a str>,
    sender: &'a str,
    /// The sender's type of number: an alphanumeric sender is never a cadre.
    sender_ton: u8,
    text: &'a str,
    has_gap: bool,
    received_at: DateTime<Utc>,
}

impl ProcessOutcome {
    fn count(&mut self, h: Handled) {
        self.handled += 1;
        if let Handled::Text(TextOutcome::Filed(f)) = h {
            self.filed.push(f);
        }
    }
}

/// Stores one whole text (any PIN hidden) and marks its inbox rows done with it, inside the
/// caller's transaction. Rows no longer pending (another worker took them) fail the whole
/// transaction, and the next pass starts again from what is committed.
async fn insert_message(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    inbox_ids: &[i64],
    m: &Incoming<'_>,
) -> Result<i64> {
    let message_id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO messages (group_key, modem, sender, text, has_gap, received_at) VALUES (?, ?, ?, ?, ?, ?) \
         RETURNING id",
    ))
    .bind(&m.group_key)
    .bind(m.modem)
    .bind(m.sender)
    .bind(redact_pin(m.text).as_ref())
    .bind(m.has_gap)
    .bind(m.received_at.timestamp_millis())
    .fetch_one(&mut **tx)
    .await?;
    let in_list = vec!["?"; inbox_ids.len()].join(", ");
    let sql = format!(
        "UPDATE inbox SET state = 'done', message_id = ? WHERE id IN ({in_list}) AND state IN ('new', 'part')"
    );
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql).bind(message_id);
    for id in inbox_ids {
        q = q.bind(*id);
    }
    let marked = q.execute(&mut **tx).await?.rows_affected();
    if marked != inbox_ids.len() as u64 {
        return Err(StoreError::Corrupt(format!(
            "inbox rows {inbox_ids:?} were taken by another worker"
        )));
    }
    Ok(message_id)
}

/// Handles one whole text (a new appeal, a command, an answer: see [`dispatch`]) and marks its
/// inbox rows done, inside the caller's transaction: the text's effects and its rows' `done`
/// commit together or not at all. The command parser gets the text as sent, PIN included;
/// only the stored copy hides the PIN.
async fn handle_text(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    inbox_ids: &[i64],
    m: Incoming<'_>,
    now: DateTime<Utc>,
) -> Result<Handled> {
    let message_id = insert_message(store, tx, inbox_ids, &m).await?;
    // Machines and floods are recorded, never filed or answered: a reply to an auto-replier
    // or a service number could loop for ever. Registered cadres are never screened. A name
    // (alphanumeric sender), or a number of a type the sending gateway sets freely, that
    // spells a cadre's number is not that cadre: it is recorded like any machine.
    let registered = ctx.directory.cadre_by_phone(m.sender).is_some();
    if !(registered && may_be_cadre(m.sender_ton)) {
        let recent: i64 = sqlx::query_scalar(&store.sql(
            "SELECT COUNT(*) FROM messages WHERE sender = ? AND received_at >= ? AND id <> ? \
             AND kind IN ('appeal', 'followup', 'command')",
        ))
        .bind(m.sender)
        .bind(now.timestamp_millis() - 3_600_000)
        .bind(message_id)
        .fetch_one(&mut **tx)
        .await?;
        let recent = u32::try_from(recent).unwrap_or(u32::MAX);
        let screened = if registered {
            Screen::Record(Reason::ServiceSender)
        } else {
            let kind = sender_kind_typed(m.sender, m.sender_ton);
            screen_kind(kind, m.text, recent, ctx.flood_per_hour)
        };
        if let Screen::Record(reason) = screened {
            // One warning per phone and hour for a flood, not one per message.
            if reason != Reason::Flood || recent == ctx.flood_per_hour {
                tracing::warn!(phone = %crate::phone::mask(m.sender), reason = reason.as_str(), "text recorded, not filed or answered");
            }
            sqlx::query(&store.sql("UPDATE messages SET kind = ? WHERE id = ?"))
                .bind(reason.as_str())
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
            return Ok(Handled::Screened);
        }
    }
    let text_in = TextIn {
        phone: m.sender,
        modem: m.modem,
        modem_village: m.village,
        text: m.text,
        received_at: m.received_at,
        channel: "sms",
    };
    // The other sections' keywords (GK, BS, ZK, DY, TD...) before the appeals see the text.
    let handled = match crate::affairs::handle::text(store, tx, ctx, &text_in, now).await? {
        Some(crate::affairs::handle::Outcome::Unsubscribed) => Handled::OptedOut,
        Some(_) => Handled::Answered,
        None => dispatch(store, tx, ctx, &text_in, now).await?,
    };
    let (kind, appeal_id) = match &handled {
        Handled::Text(TextOutcome::Filed(f)) => ("appeal", Some(f.id)),
        Handled::Text(_) => ("followup", None),
        _ => ("command", None),
    };
    sqlx::query(&store.sql("UPDATE messages SET appeal_id = ?, kind = ? WHERE id = ?"))
        .bind(appeal_id)
        .bind(kind)
        .bind(message_id)
        .execute(&mut **tx)
        .await?;
    Ok(handled)
}

async fn mark_bad(store: &Store, id: i64, error: &str) -> Result<()> {
    mark_bad_rows(store.pool(), store, &[id], error).await
}

/// Keeps rows as `bad` with the reason, for the admin; they no longer hold up the inbox.
async fn mark_bad_rows<'e, E>(ex: E, store: &Store, ids: &[i64], error: &str) -> Result<()>
where
    E: Executor<'e, Database = Any>,
{
    let in_list = vec!["?"; ids.len()].join(", ");
    let sql = format!("UPDATE inbox SET state = 'bad', error = ? WHERE id IN ({in_list})");
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql).bind(error);
    for id in ids {
        q = q.bind(*id);
    }
    q.execute(ex).await?;
    Ok(())
}

async fn set_state(store: &Store, id: i64, state: &str) -> Result<()> {
    sqlx::query(&store.sql("UPDATE inbox SET state = ? WHERE id = ?"))
        .bind(state)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}
