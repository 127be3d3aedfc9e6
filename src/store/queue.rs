//! The one claim of a durable work queue (the outbox, the webhook deliveries): a table of
//! rows with `state = 'queued'` and a `next_attempt_at`, taken oldest first by whichever
//! worker, on whichever daemon, asks first.

use super::Store;

/// SQL that takes the `limit` oldest due rows of `table` in one statement: the subquery picks
/// them (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two daemons never take the same row and
/// neither waits on the other; SQLite's single writer needs no lock) and the UPDATE applies
/// `set`, the caller's lease. Binds, in order: those of `set`, then now (ms), then those of
/// `also` (an extra condition on the row, `1=1` for none). Returns the `returning` columns of
/// the rows, in no particular order: a caller that needs the queue's order sorts them.
pub fn claim_oldest_due(
    store: &Store,
    table: &str,
    set: &str,
    also: &str,
    returning: &str,
    limit: usize,
) -> String {
    let sql = format!(
        "UPDATE {table} SET {set} \
         WHERE id IN (SELECT id FROM {table} WHERE state = 'queued' AND next_attempt_at <= ? AND {also} \
                     ORDER BY next_attempt_at, id LIMIT {limit}{skip}) \
         RETURNING {returning}",
        limit = limit.max(1),
        skip = store.skip_locked()
    );
    store.sql(&sql).into_owned()
}
