//! Refused PINs, remembered across reconnects and restarts, and the SIM's remaining-attempts
//! counters. Three wrong PIN entries lock a SIM behind its PUK, which only a phone and the
//! carrier's letter can undo in a village office: so a PIN the SIM refused is never entered
//! again until the operator changes `pin` in the config (a different hash) or clears the
//! refusal (`clear_refusals`).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::{Result, Store};

/// The key a refusal is stored under; the PIN itself never reaches the database.
pub fn pin_hash(modem: &str, pin: &str) -> String {
    hex::encode(Sha256::digest(format!("{modem}\0{pin}").as_bytes()))
}

pub async fn is_refused(store: &Store, modem: &str, pin: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        &store.sql("SELECT COUNT(*) FROM modem_pin_refusals WHERE modem = ? AND pin_hash = ?"),
    )
    .bind(modem)
    .bind(pin_hash(modem, pin))
    .fetch_one(store.reader())
    .await?;
    Ok(n > 0)
}

pub async fn record_refusal(
    store: &Store,
    modem: &str,
    pin: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(&store.sql(
        "INSERT INTO modem_pin_refusals (modem, pin_hash, refused_at, reason) VALUES (?, ?, ?, ?) \
         ON CONFLICT (modem, pin_hash) DO NOTHING",
    ))
    .bind(modem)
    .bind(pin_hash(modem, pin))
    .bind(now.timestamp_millis())
    .bind(reason)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Forgets the modem's refused PINs: done when its SIM accepted a PIN (the old refusals are
/// history), and the operator's way to let a PIN be tried again.
pub async fn clear_refusals(store: &Store, modem: &str) -> Result<u64> {
    let r = sqlx::query(&store.sql("DELETE FROM modem_pin_refusals WHERE modem = ?"))
        .bind(modem)
        .execute(store.pool())
        .await?;
    Ok(r.rows_affected())
}

/// PIN attempts left, from the vendor counters: `+CPINR: SIM PIN,<left>,<max>` (3GPP),
/// `+QPINC: "SC",<pin>,<puk>` (Quectel), `^CPIN: SIM PIN,<code_left>,<puk>,<pin>,...`
/// (Huawei: the PIN counter is the fourth field).
pub fn attempts_left(line: &str) -> Option<u8> {
    let line = line.trim();
    let (name, rest) = line.split_once(':')?;
    let fields: Vec<&str> = rest
        .split(',')
        .map(|f| f.trim().trim_matches('"'))
        .collect();
    let field = match name.trim().to_ascii_uppercase().as_str() {
        "+CPINR" if fields.first()?.eq_ignore_ascii_case("SIM PIN") => fields.get(1)?,
        "+QPINC" if fields.first()?.eq_ignore_ascii_case("SC") => fields.get(1)?,
        "^CPIN" => fields.get(3)?,
        _ => return None,
    };
    field.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_of_three_vendors() {
        assert_eq!(attempts_left("+CPINR: SIM PIN,2,3"), Some(2));
        assert_eq!(attempts_left("+CPINR: SIM PUK,10,10"), None);
        assert_eq!(attempts_left("+QPINC: \"SC\",1,10"), Some(1));
        assert_eq!(attempts_left("+QPINC: \"P2\",3,10"), None);
        assert_eq!(attempts_left("^CPIN: SIM PIN,3,10,3,10,3"), Some(3));
        assert_eq!(attempts_left("+CPIN: SIM PIN"), None);
        assert_eq!(attempts_left("+CPINR: SIM PIN,,3"), None);
    }

    #[test]
    fn the_hash_depends_on_modem_and_pin() {
        assert_eq!(pin_hash("m1", "1234"), pin_hash("m1", "1234"));
        assert_ne!(pin_hash("m1", "1234"), pin_hash("m2", "1234"));
        assert_ne!(pin_hash("m1", "1234"), pin_hash("m1", "1243"));
        assert!(!pin_hash("m1", "1234").contains("1234"));
    }
}
