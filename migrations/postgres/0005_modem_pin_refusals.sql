-- PINs a modem's SIM refused. A refused PIN is never entered again (three wrong entries lock the
-- SIM behind its PUK), not on a reconnect and not after a restart, until the operator changes
-- `pin` in the config (another hash) or deletes the row. Keyed by a hash, never the PIN itself.
CREATE TABLE modem_pin_refusals (
    modem       TEXT    NOT NULL,
    pin_hash    TEXT    NOT NULL,
    refused_at  BIGINT  NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (modem, pin_hash)
);
