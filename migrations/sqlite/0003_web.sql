-- The web side: log-in sessions, the durable webhook queue, and the indexes the status page
-- and the API need to stay fast with a million appeals. migrations/postgres/0003_web.sql is the
-- same schema for PostgreSQL.

-- Log-in sessions. The cookie holds a random token; only its sha256 is stored, so a copy of
-- the database does not let anyone in. csrf is the per-session token every form carries.
CREATE TABLE web_sessions (
    token_hash    TEXT    PRIMARY KEY,
    account       TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    csrf          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- How far the webhook pump has read the event log. One row. It starts at the log's current
-- end, so configuring a webhook does not replay history.
CREATE TABLE webhook_cursor (
    id            INTEGER PRIMARY KEY,
    last_event_id BIGINT  NOT NULL
);
INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;

-- One row per (receiver, event): queued until the receiver answers 2xx; the body is fixed at
-- enqueue time so a retry sends the same bytes and the same signature.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    event_id        BIGINT  NOT NULL,
    appeal_id       BIGINT,
    body            TEXT    NOT NULL,
    -- queued -> delivered; dropped = its webhook was removed from the config
    state           TEXT    NOT NULL DEFAULT 'queued',
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    UNIQUE (url, event_id)
);
CREATE INDEX webhook_queue ON webhook_deliveries (state, next_attempt_at, id);

-- Status page and API at a million appeals.
CREATE INDEX appeals_colour ON appeals (colour, id);
CREATE INDEX appeals_village ON appeals (village, id);
CREATE INDEX appeals_category ON appeals (category, id);
CREATE INDEX appeals_status_resolve ON appeals (status, resolve_by);
CREATE INDEX appeals_status_respond ON appeals (status, respond_by);
CREATE INDEX outbox_sent ON outbox (sent_at);
CREATE INDEX outbox_appeal ON outbox (appeal_id);
CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_appeal ON messages (appeal_id);
