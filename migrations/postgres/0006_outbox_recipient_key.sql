-- The outbox's recipient as a national number (+86, 0086 and 86 prefixes stripped, as
-- directory::national does), written when a row is sent. The per-recipient cap counts by it
-- across every daemon on the database, and delivery reports match by it, since TP-MR alone
-- wraps at 256. Same schema in migrations/sqlite and migrations/postgres.
ALTER TABLE outbox ADD COLUMN recipient_key TEXT;
UPDATE outbox SET recipient_key = CASE
    WHEN TRIM(recipient) LIKE '+86%' THEN SUBSTR(TRIM(recipient), 4)
    WHEN TRIM(recipient) LIKE '0086%' THEN SUBSTR(TRIM(recipient), 5)
    WHEN TRIM(recipient) LIKE '86%' AND LENGTH(TRIM(recipient)) = 13 THEN SUBSTR(TRIM(recipient), 3)
    ELSE TRIM(recipient)
END
WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_recipient_key ON outbox (recipient_key, sent_at);
