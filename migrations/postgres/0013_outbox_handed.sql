-- When a row of an at-most-once kind (broadcasts, outbox::policy::at_most_once) was handed to
-- the modem, committed before the modem has it. A daemon that dies before the result is
-- recorded leaves the row `sending` with this set: recovery cannot know whether the SMS went,
-- so it marks the row `unconfirmed` (final) instead of sending it again. Cleared with every
-- result but `sent`. Same schema in migrations/sqlite and migrations/postgres.
ALTER TABLE outbox ADD COLUMN handed_at BIGINT;
