-- Who leads the time-driven work (reminders, escalations, digests) of daemons sharing one
-- database. Leadership itself is a PostgreSQL advisory lock (src/store/leader.rs); this row makes
-- it visible: the leader writes its id and a heartbeat every few seconds, and the status page and
-- the tests read it. A heartbeat older than a minute names a leader that is gone.
CREATE TABLE leaders (
    role          TEXT    PRIMARY KEY,
    daemon_id     TEXT    NOT NULL,
    since         BIGINT  NOT NULL,
    heartbeat_at  BIGINT  NOT NULL
);
