//! Filing: one transaction numbers the appeal, stores it, writes its first event and queues the
//! acknowledgement. Callers pass their own transaction so the inbox rows that produced the text
//! are marked done in the same commit: a crash either files and marks, or does neither.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{Any, Transaction};

use super::events::{append_event, NewEvent};
use super::number::{format_number, local_day};
use super::Step;
use crate::grade::{Colour, Colours, Rule};
use crate::outbox::{enqueue, NewSms};
use crate::store::{from_millis, Result, Store};

/// The category of an appeal filed from a missed call.
pub const CALLBACK_CATEGORY: &str = "来电登记";
/// The text of such an appeal.
pub const CALLBACK_TEXT: &str = "来电登记：村民来电未留言，请回电";

/// Added to the acknowledgement of an appeal filed from a missed call.
pub const CALLBACK_PROMISE: &str = "村干部将尽快回电。";

/// What filing needs from the configuration.
#[derive(Debug, Clone)]
pub struct FilingPolicy {
    pub tz: Tz,
    pub signature: String,
    /// With {signature} and {number}.
    pub ack_template: String,
    pub colours: Colours,
    pub rules: Vec<Rule>,
}

impl FilingPolicy {
    /// The filing policy a configuration sets.
    pub fn from_config(c: &crate::config::Config) -> FilingPolicy {
        FilingPolicy {
            tz: c.time_zone,
            signature: c.signature.clone(),
            ack_template: c.templates.ack.clone(),
            colours: c.colours.clone(),
            rules: c.rules.clone(),
        }
    }

    pub fn classify(&self, text: &str) -> (String, Colour) {
        crate::grade::classify(&self.rules, text)
    }

    /// The acknowledgement with this policy's signature. Rendered by the same single-pass
    /// function `check-config` measures, so a signature containing "{number}" is kept as typed.
    pub fn render_ack(&self, number: &str) -> String {
        crate::config::Templates {
            ack: self.ack_template.clone(),
        }
        .render_ack(&self.signature, number)
    }
}

/// A whole inbound text with what the receiving side knows about it: an SMS from the inbox,
/// or a request over the API (with the API's name as its modem).
#[derive(Debug, Clone)]
pub struct TextIn<'a> {
    pub phone: &'a str,
    pub modem: &'a str,
    /// The village of the receiving modem from the config, if set.
    pub modem_village: Option<&'a str>,
    /// Normalised.
    pub text: &'a str,
    pub received_at: DateTime<Utc>,
    /// How it reached us, as the filing event records it: "sms", "api", "voice" (a missed
    /// call filed for a callback).
    pub channel: &'static str,
}

/// A text about to become an appeal.
#[derive(Debug, Clone)]
pub struct NewAppeal<'a> {
    pub input: &'a TextIn<'a>,
    /// The village it is filed under: the sender's in the directory, else the modem's.
    pub village: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    pub id: i64,
    pub number: String,
    pub colour: Colour,
    pub category: String,
}

pub async fn file_appeal(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    policy: &FilingPolicy,
    a: NewAppeal<'_>,
) -> Result<Filed> {
    let NewAppeal {
        input: m,
        village,
        now,
    } = a;
    // The chain lock before the day counter: the one lock order (see appeals::events).
    super::events::lock_chain(store, tx).await?;
    let now = now.timestamp_millis();
    // Numbered by the day it reached us, in the village's zone.
    let day = local_day(m.received_at, policy.tz);
    // One statement that both backends run atomically: the row lock (PostgreSQL) or the single
    // writer (SQLite) makes the sequence unique across daemons on one database.
    let seq: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO day_counters (day, last) VALUES (?, 1) \
         ON CONFLICT (day) DO UPDATE SET last = day_counters.last + 1 RETURNING last",
    ))
    .bind(&day)
    .fetch_one(&mut **tx)
    .await?;
    let number = format_number(&day, seq);
    let (category, colour) = policy.classify(m.text);
    let limits = policy.colours.get(colour);
    let respond_by = now + limits.respond.as_millis() as i64;
    let resolve_by = now + limits.resolve.as_millis() as i64;
    let id: i64 = sqlx::query_scalar(&store.sql(
        "INSERT INTO appeals (number, phone, village, modem, text, category, colour, status, step, \
         received_at, filed_at, updated_at, respond_by, resolve_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, 'open', 'collection', ?, ?, ?, ?, ?) RETURNING id",
    ))
    .bind(&number)
    .bind(m.phone)
    .bind(village)
    .bind(m.modem)
    .bind(m.text)
    .bind(&category)
    .bind(colour.as_str())
    .bind(m.received_at.timestamp_millis())
    .bind(now)
    .bind(now)
    .bind(respond_by)
    .bind(resolve_by)
    .fetch_one(&mut **tx)
    .await?;
    append_event(
        store,
        tx,
        NewEvent {
            appeal_id: Some(id),
            at: now,
            actor: m.phone,
            channel: m.channel,
            step: Step::Collection.as_str(),
            kind: "filed",
            text: m.text,
        },
    )
    .await?;
    let mut ack = policy.render_ack(&number);
    if m.channel == "voice" {
        // A caller expects to be called, not texted: the text says someone will.
        ack.push_str(CALLBACK_PROMISE);
    }
    enqueue(
        store,
        tx,
        NewSms {
            recipient: m.phone,
            text: &ack,
            kind: "ack",
            appeal_id: Some(id),
            modem: Some(m.modem),
            not_before: from_millis(now),
        },
    )
    .await?;
    tracing::info!(number = %number, phone = %crate::phone::mask(m.phone), %category, %colour, "appeal filed");
    Ok(Filed {
        id,
        number,
        colour,
        category,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(signature: &str) -> FilingPolicy {
        FilingPolicy {
            tz: chrono_tz::Asia::Shanghai,
            signature: signature.into(),
            ack_template: crate::config::DEFAULT_ACK.into(),
            colours: Colours::default(),
            rules: Vec::new(),
        }
    }

    #[test]
    fn ack_keeps_a_placeholder_inside_the_signature() {
        let p = policy("【{number}村】");
        assert_eq!(
            p.render_ack("20220713002"),
            crate::config::Templates {
                ack: p.ack_template.clone()
            }
            .render_ack("【{number}村】", "20220713002")
        );
        assert!(p.render_ack("20220713002").starts_with("【{number}村】"));
    }

    #[test]
    fn ack_says_received_not_accepted() {
        let ack = policy("【村委会】").render_ack("20220713002");
        assert!(ack.contains("已收到"), "{ack}");
        assert!(!ack.contains("受理"), "no cadre has accepted it yet: {ack}");
    }
}
