//! Incoming voice calls: the calls table and what becomes of each call. A modem task records
//! a finished call ([`record`]); the intake worker's pass ([`process`]) then files a callback
//! appeal (来电登记) for it, or joins it to the open callback appeal of the same number within
//! the repeat window, or records it without filing (a withheld number, a service number).
//!
//! The table is the queue: a call moves out of `new` in the same transaction that files or
//! joins its appeal, so after a kill -9 anywhere each call is filed exactly once.

pub mod desk;
pub mod query;
pub mod rating;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::appeals::actions::Ctx;
use crate::appeals::events::{append_event, lock_chain, NewEvent};
use crate::appeals::routing::{file_and_route, village_of, ChosenCategory, TextIn};
use crate::appeals::{NewAppeal, Status, Step};
use crate::grade::Colour;
use crate::phone::{sender_kind, SenderKind};
use crate::store::{from_millis, Result, Store};

pub use crate::appeals::{CALLBACK_CATEGORY, CALLBACK_TEXT};

/// A finished call as a modem task hands it over.
#[derive(Debug, Clone, Copy)]
pub struct NewCall<'a> {
    pub phone: Option<&'a str>,
    pub rang_at: DateTime<Utc>,
    /// "callback" or "ivr".
    pub mode: &'a str,
    /// How it ended: "caller", "chup", "ath", "qhup", "unconfirmed".
    pub ended: &'a str,
    /// What the caller did in the keypad menu, for an answered call.
    pub menu: Option<&'a str>,
    /// Whether someone should call back.
    pub callback: bool,
}

/// Records a call; recording the same call again (a retried commit) is a no-op.
pub async fn record(store: &Store, modem: &str, c: NewCall<'_>, now: DateTime<Utc>) -> Result<()> {
    let rang = c.rang_at.timestamp_millis();
    let key = format!("{modem}|{rang}|{}", c.phone.unwrap_or(""));
    sqlx::query(&store.sql(
        "INSERT INTO calls (dedupe_key, modem, phone, rang_at, recorded_at, mode, ended, menu, callback) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
    ))
    .bind(&key)
    .bind(modem)
    .bind(c.phone)
    .bind(rang)
    .bind(now.timestamp_millis())
    .bind(c.mode)
    .bind(c.ended)
    .bind(c.menu)
    .bind(i64::from(c.callback))
    .execute(store.pool())
    .await?;
    Ok(())
}

/// What [`process`] needs besides the appeal context.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// This daemon's modems and their villages: only their calls are ours to file.
    pub modems: Vec<(String, Option<String>)>,
    /// See `[voice] repeat_window_mins`.
    pub repeat_window: Duration,
    /// See `[voice] callback_colour`.
    pub colour: Colour,
}

/// What became of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    Filed(String),
    Repeat(String),
    Withheld,
    Screened,
    /// Answered by the menu, which gave the caller what they asked (a status, a rating).
    Served,
}

/// Files every new call of our modems; returns what became of each, in order.
pub async fn process(
    store: &Store,
    settings: &CallSettings,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<Vec<CallOutcome>> {
    if settings.modems.is_empty() {
        return Ok(Vec::new());
    }
    let villages: HashMap<&str, Option<&str>> = settings
        .modems
        .iter()
        .map(|(m, v)| (m.as_str(), v.as_deref()))
        .collect();
    let marks = vec!["?"; settings.modems.len()].join(", ");
    let sql = store
        .sql(&format!(
            "SELECT id, modem, phone, rang_at, ended, menu, callback FROM calls \
             WHERE state = 'new' AND modem IN ({marks}) ORDER BY id LIMIT 100"
        ))
        .into_owned();
    let mut q = sqlx::query(&sql);
    for (m, _) in &settings.modems {
        q = q.bind(m);
    }
    let rows = q.fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let call = Pending {
            id: r.try_get("id")?,
            modem: r.try_get("modem")?,
            phone: r.try_get("phone")?,
            rang_at: from_millis(r.try_get("rang_at")?),
            ended: r.try_get("ended")?,
            menu: r.try_get("menu")?,
            callback: r.try_get::<i64, _>("callback")? != 0,
        };
        let village = villages.get(call.modem.as_str()).copied().flatten();
        if let Some(o) = file_one(store, settings, ctx, &call, village, now).await? {
            out.push(o);
        }
    }
    Ok(out)
}

struct Pending {
    id: i64,
    modem: String,
    phone: Option<String>,
    rang_at: DateTime<Utc>,
    ended: String,
    menu: Option<String>,
    callback: bool,
}

/// One call, one transaction: the call leaves `new` with the appeal it filed or joined.
/// `None` when another pass took it first.
async fn file_one(
    store: &Store,
    settings: &CallSettings,
    ctx: &Ctx,
    call: &Pending,
    village: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<CallOutcome>> {
    let mut tx = store.pool().begin().await?;
    lock_chain(store, &mut tx).await?;
    let state: Option<String> =
        sqlx::query_scalar(&store.sql("SELECT state FROM calls WHERE id = ?"))
            .bind(call.id)
            .fetch_optional(&mut *tx)
            .await?;
    if state.as_deref() != Some("new") {
        return Ok(None);
    }
    let update = store
        .sql("UPDATE calls SET state = ?, appeal_id = ? WHERE id = ?")
        .into_owned();
    let set = |state: &'static str, appeal: Option<i64>| {
        sqlx::query(&update).bind(state).bind(appeal).bind(call.id)
    };
    let Some(phone) = call.phone.as_deref() else {
        set("withheld", None).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!(modem = %call.modem, "withheld caller recorded; nobody to call back");
        return Ok(Some(CallOutcome::Withheld));
    };
    if !call.callback {
        set("served", None).execute(&mut *tx).await?;
        tx.commit().await?;
        return Ok(Some(CallOutcome::Served));
    }
    if sender_kind(phone) != SenderKind::Mobile {
        // A service number or a name: a machine, never called back or texted.
        set("screened", None).execute(&mut *tx).await?;
        tx.commit().await?;
        return Ok(Some(CallOutcome::Screened));
    }
    let since = (call.rang_at
        - chrono::Duration::from_std(settings.repeat_window).unwrap_or_default())
    .timestamp_millis();
    // The open callback appeal of an earlier call from this number within the window.
    let earlier: Option<(i64, String)> = sqlx::query_as(&store.sql(&format!(
        "SELECT a.id, a.number FROM calls c JOIN appeals a ON a.id = c.appeal_id \
         WHERE c.phone = ? AND c.id <> ? AND c.rang_at >= ? AND a.status IN {open} \
         ORDER BY c.rang_at DESC LIMIT 1",
        open = Status::OPEN_SQL
    )))
    .bind(phone)
    .bind(call.id)
    .bind(since)
    .fetch_optional(&mut *tx)
    .await?;
    let note = call_note(ctx, call);
    let event = |appeal_id| NewEvent {
        appeal_id: Some(appeal_id),
        at: now.timestamp_millis(),
        actor: phone,
        channel: "voice",
        step: Step::Collection.as_str(),
        kind: "call",
        text: &note,
    };
    if let Some((appeal_id, number)) = earlier {
        append_event(store, &mut tx, event(appeal_id)).await?;
        set("repeat", Some(appeal_id)).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!(%number, "repeat call joined its callback appeal");
        return Ok(Some(CallOutcome::Repeat(number)));
    }
    let input = TextIn {
        phone,
        modem: &call.modem,
        modem_village: village,
        text: CALLBACK_TEXT,
        received_at: call.rang_at,
        channel: "voice",
    };
    let village = village_of(store, &mut tx, ctx, &input, now).await?;
    let filed = file_and_route(
        store,
        &mut tx,
        ctx,
        NewAppeal {
            input: &input,
            village: village.as_deref(),
            now,
        },
        Some(ChosenCategory {
            by: "gateway",
            channel: "voice",
            category: CALLBACK_CATEGORY,
            colour: settings.colour,
        }),
    )
    .await?;
    append_event(store, &mut tx, event(filed.id)).await?;
    set("filed", Some(filed.id)).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Some(CallOutcome::Filed(filed.number)))
}

/// The call's line on its appeal's timeline: when it rang (local time) and how it ended.
fn call_note(ctx: &Ctx, call: &Pending) -> String {
    let at = call.rang_at.with_timezone(&ctx.policy.tz).format("%H:%M");
    if let Some(menu) = &call.menu {
        let what = match menu.as_str() {
            "1" => "在语音菜单中登记诉求".to_string(),
            "0" => "在语音菜单中要求回电".to_string(),
            m if m.starts_with("hung-up") => "在语音菜单中途挂断".to_string(),
            m => format!("语音菜单（{m}）"),
        };
        return format!("{at} 来电，{what}，待回电");
    }
    let how = match call.ended.as_str() {
        "caller" => "来电人先挂断",
        "unconfirmed" => "未能挂断，响铃至结束",
        _ => "已自动挂断（未接听，不收费）",
    };
    format!("{at} 来电，{how}，待回电")
}
