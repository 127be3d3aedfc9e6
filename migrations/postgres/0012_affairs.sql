-- Public affairs by SMS (src/affairs): 三务公开 notices and 办事 service guides, villagers'
-- subscriptions, broadcasts and their recipients, the think tank's questions. Same schema in
-- migrations/sqlite/0012_affairs.sql.

-- A notice of one village (party, village or finance affairs) or a service guide (kind
-- 'service', found by topic and aliases; village '' = every village). A change is an event.
CREATE TABLE notices (
    id            BIGSERIAL PRIMARY KEY,
    village       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    topic         TEXT    NOT NULL DEFAULT '',
    aliases       TEXT    NOT NULL DEFAULT '',
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    valid_from    BIGINT  NOT NULL,
    valid_to      BIGINT,
    author        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    deleted_at    BIGINT
);
CREATE INDEX notices_latest ON notices (village, kind, valid_from);

-- Who gets a village's broadcasts. TD / 退订 / R deletes the row.
CREATE TABLE subscriptions (
    phone         TEXT    NOT NULL,
    village       TEXT    NOT NULL,
    since         BIGINT  NOT NULL,
    PRIMARY KEY (phone, village)
);

-- A text to a village's subscribers. key makes scheduled ones (the monthly finance summary)
-- exist once; done_at is set when every subscriber has a row in broadcast_recipients.
CREATE TABLE broadcasts (
    id            BIGSERIAL PRIMARY KEY,
    key           TEXT    UNIQUE,
    village       TEXT    NOT NULL,
    notice_id     BIGINT,
    text          TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    total         BIGINT  NOT NULL,
    done_at       BIGINT
);

-- One row per subscriber queued, written with its outbox row: a resumed broadcast skips them.
CREATE TABLE broadcast_recipients (
    broadcast_id  BIGINT  NOT NULL,
    phone         TEXT    NOT NULL,
    outbox_id     BIGINT  NOT NULL,
    queued_at     BIGINT  NOT NULL,
    PRIMARY KEY (broadcast_id, phone)
);

-- A villager's question to the think tank, routed to an expert of its category; passed to
-- the next expert when unanswered for 48 h (tried lists those asked so far).
CREATE TABLE questions (
    id            BIGSERIAL PRIMARY KEY,
    phone         TEXT    NOT NULL,
    village       TEXT,
    modem         TEXT    NOT NULL,
    category      TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    expert        TEXT,
    tried         TEXT    NOT NULL DEFAULT '',
    asked_at      BIGINT  NOT NULL,
    routed_at     BIGINT  NOT NULL,
    answered_at   BIGINT,
    answered_by   TEXT,
    answer        TEXT,
    rating        BIGINT,
    rated_at      BIGINT
);
CREATE INDEX questions_open ON questions (answered_at, routed_at);
CREATE INDEX questions_phone ON questions (phone, answered_at);
