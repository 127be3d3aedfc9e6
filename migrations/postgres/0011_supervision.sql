-- Supervision (src/supervision): monthly evaluation snapshots and early warnings. Same schema
-- in migrations/sqlite/0011_supervision.sql.

-- One row per evaluated month, written once with the texts it causes. inputs_hash is the
-- sha256 of the facts it was computed from, so a recomputation shows whether the record has
-- changed since. Rows are never updated or deleted (the trigger refuses it).
CREATE TABLE evaluations (
    period        TEXT    PRIMARY KEY,
    created_at    BIGINT  NOT NULL,
    as_of         BIGINT  NOT NULL,
    appeals       BIGINT  NOT NULL,
    inputs_hash   TEXT    NOT NULL,
    report        TEXT    NOT NULL
);
CREATE FUNCTION evaluations_immutable() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'evaluation snapshots are immutable'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER evaluations_no_change BEFORE UPDATE OR DELETE ON evaluations
FOR EACH ROW EXECUTE FUNCTION evaluations_immutable();

-- Early warnings. key makes a finding recorded (and its inspector alerted) once; it stays
-- open until an inspector marks it handled with a note.
CREATE TABLE warnings (
    id            BIGSERIAL PRIMARY KEY,
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
