//! Durable receipt: the modem task commits raw PDUs here before it deletes them from the SIM.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::{Result, Store};

/// The dedupe key of a PDU read from `modem`: the same message read twice from one SIM (a
/// crash between commit and delete, a sweep listing it again) has the same key and is stored
/// once. The same bytes on two modems are two SMS (the network delivered one to each SIM, e.g.
/// a villager who texted both village numbers), so they are two receipts.
pub fn dedupe_key(modem: &str, pdu_hex: &str) -> String {
    let mut h = Sha256::new();
    h.update(modem.as_bytes());
    // A modem name never holds a newline (config keys are single-line strings), so the
    // boundary is unambiguous.
    h.update(b"\n");
    h.update(pdu_hex.trim().to_ascii_uppercase().as_bytes());
    hex::encode(h.finalize())
}

/// The key before it included the modem (sha256 of the PDU alone). A row stored under it
/// before an upgrade, whose PDU was still on the SIM, must still stop the same PDU from the
/// same modem.
fn legacy_key(pdu_hex: &str) -> String {
    hex::encode(Sha256::digest(
        pdu_hex.trim().to_ascii_uppercase().as_bytes(),
    ))
}

const INSERT: &str = "INSERT INTO inbox (dedupe_key, modem, pdu, received_at) \
                      SELECT ?, ?, ?, CAST(? AS BIGINT) \
                      WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE dedupe_key = ? AND modem = ?) \
                      ON CONFLICT (dedupe_key) DO NOTHING";

/// Commits one raw PDU read from `modem`. Returns false when it was already stored.
pub async fn store_raw(
    store: &Store,
    modem: &str,
    pdu_hex: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(store_raw_batch(store, modem, &[pdu_hex], now).await? == 1)
}

/// Commits several raw PDUs in one transaction (one disk sync for a whole sweep or a burst of
/// +CMTI). Returns how many were new.
pub async fn store_raw_batch(
    store: &Store,
    modem: &str,
    pdus: &[&str],
    now: DateTime<Utc>,
) -> Result<usize> {
    let sql = store.sql(INSERT);
    let mut tx = store.pool().begin().await?;
    let mut new = 0;
    for pdu in pdus {
        let pdu = pdu.trim().to_ascii_uppercase();
        let r = sqlx::query(&sql)
            .bind(dedupe_key(modem, &pdu))
            .bind(modem)
            .bind(&pdu)
            .bind(now.timestamp_millis())
            .bind(legacy_key(&pdu))
            .bind(modem)
            .execute(&mut *tx)
            .await?;
        new += r.rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ignores_case_and_blanks() {
        assert_eq!(dedupe_key("m1", "00ab\r\n"), dedupe_key("m1", "00AB"));
        assert_ne!(dedupe_key("m1", "00AB"), dedupe_key("m1", "00AC"));
    }

    #[test]
    fn key_belongs_to_the_modem() {
        assert_ne!(dedupe_key("m1", "00AB"), dedupe_key("m2", "00AB"));
        assert_ne!(dedupe_key("m1", "00AB"), legacy_key("00AB"));
        // What b1f226e stored: the sha256 of the upper-case PDU alone.
        assert_eq!(legacy_key("00ab"), hex::encode(Sha256::digest(b"00AB")));
    }
}
