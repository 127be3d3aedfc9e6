//! Durable receipt and the intake worker's pass over the inbox.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::assemble::{assemble, complete, Part};
use crate::appeals::actions::Ctx;
use crate::appeals::commands::{dispatch, Handled};
use crate::appeals::routing::{TextIn, TextOutcome};
use crate::appeals::Filed;
use crate::intake::guard::{screen, Reason, Screen};
use crate::intake::normalize;
use crate::pdu::{self, Encoding, Pdu};
use crate::store::{from_millis, Result, Store, StoreError};

/// Texts filed per transaction: one disk sync for up to this many appeals.
const BATCH: usize = 64;

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
    let in_list = vec!["?"; settings.modems.len()].join(", ");

    let sql = format!(
        "SELECT id, modem, pdu, received_at FROM inbox WHERE state = 'new' AND modem IN ({in_list}) ORDER BY id LIMIT 500"
    );
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql);
    for (m, _) in &settings.modems {
        q = q.bind(m);
    }
    let rows = q.fetch_all(store.pool()).await?;
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
                    // effects and its inbox row still commit together.
                    let mut tx = match batch.take() {
                        Some(tx) => tx,
                        None => begin_intake(store).await?,
                    };
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
                            text: &text,
                            has_gap: false,
                            received_at: from_millis(received_at),
                        },
                        now,
                    )
                    .await?;
                    out.count(handled);
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
                    sqlx::query(&store.sql(
                        "UPDATE inbox SET state = 'part', sender = ?, text = ?, concat_key = ?, concat_total = ?, \
                         concat_seq = ? WHERE id = ? AND state = 'new'",
                    ))
                    .bind(&d.sender)
                    .bind(&d.text)
                    .bind(&key)
                    .bind(c.total as i64)
                    .bind(c.seq as i64)
                    .bind(id)
                    .execute(store.pool())
                    .await?;
                    out.parked_parts += 1;
                }
            },
        }
    }

    if let Some(tx) = batch.take() {
        tx.commit().await?;
    }

    // Groups of parts: file the complete ones and those whose wait is over.
    let sql = format!(
        "SELECT concat_key, MIN(received_at) AS first_at FROM inbox WHERE state = 'part' AND modem IN ({in_list}) \
         GROUP BY concat_key"
    );
    let sql = store.sql(&sql);
    let mut q = sqlx::query(&sql);
    for (m, _) in &settings.modems {
        q = q.bind(m);
    }
    let groups = q.fetch_all(store.pool()).await?;
    let deadline = now.timestamp_millis() - settings.concat_timeout.as_millis() as i64;
    for g in groups {
        let key: String = g.try_get("concat_key")?;
        let first_at: i64 = g.try_get("first_at")?;
        let parts = sqlx::query(&store.sql(
            "SELECT id, modem, sender, text, concat_total, concat_seq, received_at FROM inbox \
             WHERE concat_key = ? AND state = 'part' ORDER BY id",
        ))
        .bind(&key)
        .fetch_all(store.pool())
        .await?;
        let Some(first) = parts.first() else { continue };
        let total: i64 = first.try_get("concat_total")?;
        let total = total.clamp(1, 255) as u8;
        let modem: String = first.try_get("modem")?;
        let sender: String = first.try_get("sender")?;
        let mut ids = Vec::with_capacity(parts.len());
        let mut texts = Vec::with_capacity(parts.len());
        for p in &parts {
            ids.push(p.try_get::<i64, _>("id")?);
            let seq: i64 = p.try_get("concat_seq")?;
            texts.push(Part {
                seq: seq.clamp(0, 255) as u8,
                text: p.try_get("text")?,
            });
        }
        let whole = complete(total, &texts);
        if !whole && first_at > deadline {
            continue;
        }
        let (joined, has_gap) = assemble(total, &texts);
        if has_gap {
            tracing::warn!(%key, "filing a concatenated message with missing parts after the timeout");
        }
        let village = villages.get(modem.as_str()).copied().flatten();
        let text = normalize(&joined);
        let mut tx = begin_intake(store).await?;
        let handled = handle_text(
            store,
            &mut tx,
            ctx,
            &ids,
            Incoming {
                group_key: format!("concat:{key}:{}", ids[0]),
                modem: &modem,
                village,
                sender: &sender,
                text: &text,
                has_gap,
                received_at: from_millis(first_at),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        out.count(handled);
    }
    Ok(out)
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

/// Handles one whole text (a new appeal, a command, an answer: see [`dispatch`]) and marks its
/// inbox rows done, inside the caller's transaction: the text's effects and its rows' `done`
/// commit together or not at all. Rows no longer pending (another worker took them) fail the
/// whole transaction, and the next pass starts again from what is committed.
async fn handle_text(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    inbox_ids: &[i64],
    m: Incoming<'_>,
    now: DateTime<Utc>,
) -> Result<Handled> {
    let message_id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO messages (group_key, modem, sender, text, has_gap, received_at) VALUES (?, ?, ?, ?, ?, ?) \
         RETURNING id",
    ))
    .bind(&m.group_key)
    .bind(m.modem)
    .bind(m.sender)
    .bind(m.text)
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
    // Machines and floods are recorded, never filed or answered: a reply to an auto-replier
    // or a service number could loop for ever. Registered cadres are never screened.
    if ctx.directory.cadre_by_phone(m.sender).is_none() {
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
        if let Screen::Record(reason) = screen(m.sender, m.text, recent, ctx.flood_per_hour) {
            // One warning per phone and hour for a flood, not one per message.
            if reason != Reason::Flood || recent == ctx.flood_per_hour {
                tracing::warn!(phone = %crate::appeals::mask_phone(m.sender), reason = reason.as_str(), "text recorded, not filed or answered");
            }
            sqlx::query(&store.sql("UPDATE messages SET kind = ? WHERE id = ?"))
                .bind(reason.as_str())
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
            return Ok(Handled::Screened);
        }
    }
    let handled = dispatch(
        store,
        tx,
        ctx,
        &TextIn {
            phone: m.sender,
            modem: m.modem,
            modem_village: m.village,
            text: m.text,
            received_at: m.received_at,
        },
        now,
    )
    .await?;
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
    sqlx::query(&store.sql("UPDATE inbox SET state = 'bad', error = ? WHERE id = ?"))
        .bind(error)
        .bind(id)
        .execute(store.pool())
        .await?;
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
