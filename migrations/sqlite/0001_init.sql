-- appeal-gateway schema, SQLite flavour. migrations/postgres holds the same schema for PostgreSQL;
-- a test fails when the two folders differ in their list of migrations.
-- Times are BIGINT milliseconds since the Unix epoch (UTC): one representation that both backends
-- compare and index the same way; the local date for numbering is computed in Rust from the zone.

-- Raw inbound PDUs, committed before the SIM copy is deleted. dedupe_key = sha256 of the PDU, so
-- re-reading a message that survived a crash before AT+CMGD is a no-op.
CREATE TABLE inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key    TEXT    NOT NULL UNIQUE,
    modem         TEXT    NOT NULL,
    pdu           TEXT    NOT NULL,
    received_at   BIGINT  NOT NULL,
    -- new -> part (waiting for siblings) -> done; bad = undecodable, kept for the admin
    state         TEXT    NOT NULL DEFAULT 'new',
    error         TEXT,
    sender        TEXT,
    text          TEXT,
    sent_at       BIGINT,
    concat_key    TEXT,
    concat_total  INTEGER,
    concat_seq    INTEGER,
    message_id    BIGINT
);
CREATE INDEX inbox_state ON inbox (state, id);
CREATE INDEX inbox_concat ON inbox (concat_key, state);

-- A whole inbound text (parts reassembled) and what became of it.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    group_key     TEXT    NOT NULL UNIQUE,
    modem         TEXT    NOT NULL,
    sender        TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    has_gap       BOOLEAN NOT NULL DEFAULT FALSE,
    received_at   BIGINT  NOT NULL,
    appeal_id     BIGINT,
    kind          TEXT    NOT NULL DEFAULT 'appeal'
);
CREATE INDEX messages_sender ON messages (sender, received_at);

-- Daily numbering: one row per local date, bumped inside the filing transaction.
CREATE TABLE day_counters (
    day           TEXT    PRIMARY KEY,
    last          BIGINT  NOT NULL
);

CREATE TABLE appeals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    number        TEXT    NOT NULL UNIQUE,
    phone         TEXT    NOT NULL,
    village       TEXT,
    modem         TEXT,
    text          TEXT    NOT NULL,
    category      TEXT    NOT NULL,
    colour        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    step          TEXT    NOT NULL,
    cadre         TEXT,
    received_at   BIGINT  NOT NULL,
    filed_at      BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    respond_by    BIGINT,
    resolve_by    BIGINT,
    accepted_at   BIGINT,
    resolved_at   BIGINT,
    rating        INTEGER
);
CREATE INDEX appeals_phone ON appeals (phone, filed_at);
CREATE INDEX appeals_status ON appeals (status, id);
CREATE INDEX appeals_filed ON appeals (filed_at);

-- Hash-chained audit log: hash = sha256(prev_hash || canonical content).
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    appeal_id     BIGINT,
    at            BIGINT  NOT NULL,
    actor         TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    step          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL
);
CREATE INDEX events_appeal ON events (appeal_id, id);

-- Outgoing SMS. queued -> sending -> sent -> delivered | failed.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    appeal_id       BIGINT,
    modem           TEXT,
    state           TEXT    NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    claimed_by      TEXT,
    claimed_at      BIGINT,
    sent_at         BIGINT,
    sent_by         TEXT,
    delivered_at    BIGINT,
    parts           INTEGER,
    parts_delivered INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX outbox_queue ON outbox (state, next_attempt_at, id);
CREATE INDEX outbox_recipient ON outbox (recipient, sent_at);

-- One row per sent part, so a status report (modem, TP-MR) finds its message.
CREATE TABLE outbox_parts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id     BIGINT  NOT NULL,
    modem         TEXT    NOT NULL,
    message_ref   INTEGER NOT NULL,
    sent_at       BIGINT  NOT NULL,
    status        INTEGER
);
CREATE INDEX outbox_parts_ref ON outbox_parts (modem, message_ref, sent_at);
