//! Durable receipt: the modem task commits raw PDUs here before it deletes them from the SIM.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::{Result, Store};

/// The dedupe key of a PDU: the same message read twice (a crash between commit and delete, a
/// sweep listing it again) has the same key and is stored once.
pub fn dedupe_key(pdu_hex: &str) -> String {
    hex::encode(Sha256::digest(
        pdu_hex.trim().to_ascii_uppercase().as_bytes(),
    ))
}

const INSERT: &str = "INSERT INTO inbox (dedupe_key, modem, pdu, received_at) VALUES (?, ?, ?, ?) \
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
            .bind(dedupe_key(&pdu))
            .bind(modem)
            .bind(&pdu)
            .bind(now.timestamp_millis())
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
        assert_eq!(dedupe_key("00ab\r\n"), dedupe_key("00AB"));
        assert_ne!(dedupe_key("00AB"), dedupe_key("00AC"));
    }
}
