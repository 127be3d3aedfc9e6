-- Rating calls (src/calls/rating.rs): a villager who left the SMS survey unanswered is called
-- by an "ivr" modem, one row per attempt. The row is written before dialling, so a daemon
-- killed mid-call counts the attempt and never calls twice in a row for it.
CREATE TABLE rating_calls (
    id          BIGSERIAL PRIMARY KEY,
    appeal_id   BIGINT  NOT NULL REFERENCES appeals (id),
    phone       TEXT    NOT NULL,
    modem       TEXT    NOT NULL,
    started_at  BIGINT  NOT NULL,
    ended_at    BIGINT,
    -- NULL while the call runs (or if the daemon died during it) | rated | no_key | hung_up |
    -- nothing_to_rate | desk_down | busy | no_answer | failed | not_capable | interrupted
    outcome     TEXT,
    score       BIGINT
);
CREATE INDEX rating_calls_appeal ON rating_calls (appeal_id);
CREATE INDEX rating_calls_modem_started ON rating_calls (modem, started_at);
