//! The one claim of a durable work queue (the outbox, the webhook deliveries): a table of
//! rows with `state = 'queued'` and a `next_attempt_at`, taken oldest first by whichever
//! worker, on whichever daemon, asks first.

use super::Store;

/// SQL that takes the oldest due row of `table` in one statement: the subquery picks it
/// (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two daemons never take the same row and neither
/// waits on the other; SQLite's single writer needs no lock) and the UPDATE applies `set`, the
/// caller's lease. Binds, in order: those of `set`, then now (ms), then those of `also` (an
/// extra condition on the row, `1=1` for none). Returns the `returning` columns of the row.
pub fn claim_oldest_due(
    store: &Store,
    table: &str,
    set: &str,
    also: &str,
    returning: &str,
) -> String {
    let sql = format!(
        "UPDATE {table} SET {set} \
         WHERE id = (SELECT id FROM {table} WHERE state = 'queued' AND next_attempt_at <= ? AND {also} \
                     ORDER BY next_attempt_at, id LIMIT 1{skip}) \
         RETURNING {returning}",
        skip = store.skip_locked()
    );
    store.sql(&sql).into_owned()
}
