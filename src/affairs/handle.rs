//! One inbound text that is an affairs keyword (or a rating of a think-tank answer), answered
//! in the inbox's transaction like the villagers' other commands. Returns None for a text
//! that is none of these, which then goes on to the appeals.

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use super::notices::{self, SERVICE};
use super::{replies, subscriptions, thinktank};
use crate::appeals::actions::Ctx;
use crate::appeals::commands::{opt_out, sender_village};
use crate::appeals::routing::{reply, TextIn};
use crate::directory::CadreRole;
use crate::intake::affairs::{parse, Affairs, NoticeKind};
use crate::intake::{parse_intent, Intent, SenderRole};
use crate::store::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Answered,
    Subscribed,
    Unsubscribed,
    Asked(i64),
    Relayed(i64),
    Rated(i64),
}

pub async fn text(
    store: &Store,
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    m: &TextIn<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Outcome>> {
    let dir = ctx.directory.clone();
    let cadre = dir.cadre_by_phone(m.phone).cloned();
    let a = match parse(m.text) {
        Some(a) => a,
        None => {
            // A bare 1-5 after an expert's answer rates the answer, unless an appeal resolved
            // since is waiting for its rating.
            if cadre.is_some() {
                return Ok(None);
            }
            let Intent::Rating(score) = parse_intent(m.text, SenderRole::Villager) else {
                return Ok(None);
            };
            let Some(id) = thinktank::to_rate(store, tx, m.phone, now).await? else {
                return Ok(None);
            };
            thinktank::rate(store, tx, id, score, now).await?;
            let village = sender_village(store, tx, ctx, m).await?;
            let sig = ctx.signature(village.as_deref());
            reply(store, tx, m, None, &replies::rated(&sig, id, score), now).await?;
            return Ok(Some(Outcome::Rated(id)));
        }
    };
    let village = sender_village(store, tx, ctx, m).await?;
    let sig = ctx.signature(village.as_deref());
    let ms = now.timestamp_millis();
    let (text, outcome) = match a {
        Affairs::Public(kind) => {
            let Some(v) = village.as_deref() else {
                reply(store, tx, m, None, &replies::no_village(&sig), now).await?;
                return Ok(Some(Outcome::Answered));
            };
            let kinds: Vec<NoticeKind> = match kind {
                Some(k) => vec![k],
                None => NoticeKind::ALL.to_vec(),
            };
            let mut found = Vec::new();
            for k in kinds {
                found.push((k, notices::latest(store, &mut **tx, v, k, ms).await?));
            }
            let refs: Vec<_> = found.iter().map(|(k, n)| (*k, n.as_ref())).collect();
            (replies::public(&sig, &refs), Outcome::Answered)
        }
        Affairs::Guide(topic) => {
            let guides = notices::in_force(
                store,
                &mut **tx,
                village.as_deref().unwrap_or(""),
                SERVICE,
                ms,
            )
            .await?;
            let found = topic
                .as_deref()
                .and_then(|t| notices::find_guide(&guides, village.as_deref().unwrap_or(""), t));
            let text = match found {
                Some(g) => replies::guide(&sig, g),
                None => {
                    let mut topics: Vec<String> = guides.iter().map(|g| g.topic.clone()).collect();
                    topics.sort();
                    topics.dedup();
                    replies::guide_list(&sig, topic.as_deref(), &topics)
                }
            };
            (text, Outcome::Answered)
        }
        Affairs::AskHow => (replies::ask_how(&sig), Outcome::Answered),
        Affairs::Ask(question) => {
            let (category, _) = ctx.policy.classify(&question);
            let village_name = ctx.village_name(village.as_deref());
            let (id, routed) = thinktank::ask(
                store,
                tx,
                &dir,
                &thinktank::Ask {
                    phone: m.phone,
                    village: village.as_deref(),
                    village_name: &village_name,
                    modem: m.modem,
                    category: &category,
                    text: &question,
                },
                now,
            )
            .await?;
            let text = if routed {
                replies::asked(&sig, id)
            } else {
                replies::no_expert(&sig)
            };
            (text, Outcome::Asked(id))
        }
        Affairs::Answer { question, text } => {
            // Only an expert answers; from anyone else "DA12 ..." is whatever else it is.
            let Some(expert) = cadre.filter(|c| c.role == CadreRole::Expert) else {
                return Ok(None);
            };
            let taken = thinktank::answer(
                store,
                tx,
                &expert,
                question,
                &text,
                |v| ctx.signature(v),
                now,
            )
            .await?;
            if taken {
                (replies::answer_taken(question), Outcome::Relayed(question))
            } else {
                (replies::answer_refused(question), Outcome::Answered)
            }
        }
        Affairs::Subscribe => match village.as_deref() {
            Some(v) => {
                subscriptions::subscribe(store, tx, m.phone, v, now).await?;
                let name = ctx.village_name(Some(v));
                (replies::subscribed(&sig, &name), Outcome::Subscribed)
            }
            None => (replies::no_village(&sig), Outcome::Answered),
        },
        Affairs::Unsubscribe => {
            subscriptions::unsubscribe(store, tx, m.phone).await?;
            // TD also stops the rating reminders, as it always did.
            opt_out(store, tx, m.phone, now).await?;
            (replies::unsubscribed(&sig), Outcome::Unsubscribed)
        }
    };
    reply(store, tx, m, None, &text, now).await?;
    Ok(Some(outcome))
}
