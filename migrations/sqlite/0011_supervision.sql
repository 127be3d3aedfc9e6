-- Supervision (src/supervision): monthly evaluation snapshots and early warnings. Same schema
-- in migrations/postgres/0011_supervision.sql.

-- One row per evaluated month, written once with the texts it causes. inputs_hash is the
-- sha256 of the facts it was computed from, so a recomputation shows whether the record has
-- changed since. Rows are never updated or deleted (the triggers refuse it).
CREATE TABLE evaluations (
    period        TEXT    PRIMARY KEY,
    created_at    BIGINT  NOT NULL,
    as_of         BIGINT  NOT NULL,
    appeals       BIGINT  NOT NULL,
    inputs_hash   TEXT    NOT NULL,
    report        TEXT    NOT NULL
);
CREATE TRIGGER evaluations_no_update BEFORE UPDATE ON evaluations
BEGIN SELECT RAISE(ABORT, 'evaluation snapshots are immutable'); END;
CREATE TRIGGER evaluations_no_delete BEFORE DELETE ON evaluations
BEGIN SELECT RAISE(ABORT, 'evaluation snapshots are immutable'); END;

-- Early warnings. key makes a finding recorded (and its inspector alerted) once; it stays
-- open until an inspector marks it handled with a note.
CREATE TABLE warnings (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT    NOT NULL UNIQUE,
    rule          TEXT    NOT NULL,
    cadre         TEXT,
    village       TEXT,
    appeals       TEXT    NOT NULL,
    events        TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    detected_at   BIGINT  NOT NULL,
    handled_at    BIGINT,
    handled_by    TEXT,
    note          TEXT
);
CREATE INDEX warnings_open ON warnings (handled_at, id);

-- Warning scans read the appeals changed lately.
CREATE INDEX appeals_updated ON appeals (updated_at);
