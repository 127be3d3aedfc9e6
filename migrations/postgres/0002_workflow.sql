-- The appeal workflow: who handles an appeal, the survey, villagers' remembered villages and
-- opt-outs, and the ledger of time-driven work. Same schema as migrations/sqlite/0002.

ALTER TABLE appeals ADD COLUMN cadre_name TEXT;
ALTER TABLE appeals ADD COLUMN escalated_at BIGINT;
-- pending from resolve until the villager rates (or never answers); NULL = no survey yet
ALTER TABLE appeals ADD COLUMN survey_state TEXT;
ALTER TABLE appeals ADD COLUMN survey_sent_at BIGINT;
CREATE INDEX appeals_cadre ON appeals (cadre, status);

-- The village a phone last wrote from (learnt from the modem or a village code in the text).
CREATE TABLE phone_villages (
    phone         TEXT    PRIMARY KEY,
    village       TEXT    NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- Villagers who texted TD/退订: no survey reminders.
CREATE TABLE opt_outs (
    phone         TEXT    PRIMARY KEY,
    at            BIGINT  NOT NULL
);

-- Scheduled work done, one row per (kind, appeal, deadline): inserted in the same transaction
-- as the reminder or escalation it records, so a restart or a second daemon never repeats it.
CREATE TABLE schedule_log (
    key           TEXT    PRIMARY KEY,
    appeal_id     BIGINT  NOT NULL,
    kind          TEXT    NOT NULL,
    due_at        BIGINT  NOT NULL,
    done_at       BIGINT  NOT NULL
);
CREATE INDEX schedule_log_appeal ON schedule_log (appeal_id);
