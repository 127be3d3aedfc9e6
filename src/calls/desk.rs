//! What the keypad menu asks of the appeals: the spoken status of a caller's appeal, whether
//! one waits for a rating, and the rating itself (the survey's own function, so a rating keyed
//! on the phone counts exactly as one texted).
//!
//! A caller's number may be spelled differently from their texts' sender (`13812345678` in
//! `+CLIP`, `+8613812345678` in an SMS), so each lookup tries the spellings in turn.

use chrono::{DateTime, Utc};

use crate::appeals::actions::Ctx;
use crate::appeals::messages as msg;
use crate::appeals::routing::own_appeal;
use crate::appeals::survey::{answer, Rated};
use crate::outbox::{enqueue, NewSms};
use crate::phone::national;
use crate::store::{Result, Store};

/// The ways a Chinese mobile number is written: as given, national, +86.
fn spellings(phone: &str) -> Vec<String> {
    let n = national(phone).to_string();
    let mut v = vec![phone.to_string(), n.clone(), format!("+86{n}")];
    v.dedup();
    v.sort();
    v.dedup();
    v
}

/// The status of `number` (if it is the caller's) or of the caller's latest appeal, as the
/// menu says it: digits one by one, no signature.
pub async fn status_text(store: &Store, phone: &str, number: Option<&str>) -> Result<String> {
    let mut tx = store.pool().begin().await?;
    let mut found = None;
    for p in spellings(phone) {
        if let Some(a) = own_appeal(store, &mut tx, &p, number).await? {
            found = Some(a);
            break;
        }
    }
    tx.commit().await?;
    Ok(match found {
        Some(a) => msg::progress(
            "",
            &msg::spoken_digits(&a.number),
            a.status.as_str(),
            a.cadre_name.as_deref(),
        ),
        None if number.is_some() => "没有找到您名下的这件诉求，请核对编号。".to_string(),
        None => "没有找到您的诉求。按1可以登记，村干部会给您回电。".to_string(),
    })
}

/// The number of the caller's appeal whose survey is pending, newest first.
pub async fn rating_due(store: &Store, phone: &str) -> Result<Option<String>> {
    for p in spellings(phone) {
        let n: Option<String> = sqlx::query_scalar(&store.sql(
            "SELECT number FROM appeals WHERE phone = ? AND survey_state = 'pending' \
             ORDER BY resolved_at DESC, id DESC LIMIT 1",
        ))
        .bind(&p)
        .fetch_optional(store.pool())
        .await?;
        if n.is_some() {
            return Ok(n);
        }
    }
    Ok(None)
}

/// Records a keyed rating and texts the villager the same answer an SMS rating gets.
pub async fn rate(
    store: &Store,
    ctx: &Ctx,
    phone: &str,
    modem: &str,
    score: u8,
    now: DateTime<Utc>,
) -> Result<String> {
    for p in spellings(phone) {
        let mut tx = store.pool().begin().await?;
        crate::appeals::events::lock_chain(store, &mut tx).await?;
        let (rated, appeal, text) = answer(store, &mut tx, ctx, &p, score, "voice", now).await?;
        if rated == Rated::NoSurvey {
            tx.rollback().await?;
            continue;
        }
        enqueue(
            store,
            &mut tx,
            NewSms {
                recipient: &p,
                text: &text,
                kind: "reply",
                appeal_id: appeal,
                modem: Some(modem),
                not_before: now,
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(match rated {
            Rated::Reopened { .. } => "谢谢您的评价，我们会重新办理。再见。".to_string(),
            _ => format!("谢谢您的评价，{score}分。再见。"),
        });
    }
    Ok("没有找到待评价的诉求。再见。".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_and_its_spellings() {
        assert_eq!(spellings("13812345678"), ["+8613812345678", "13812345678"]);
        assert_eq!(
            spellings("+8613812345678"),
            ["+8613812345678", "13812345678"]
        );
    }
}
