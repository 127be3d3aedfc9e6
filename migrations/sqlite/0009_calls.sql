-- Incoming voice calls (src/calls): one row per call a modem followed to its end. The first
-- call of a number within the repeat window files a callback appeal (来电登记); later calls
-- within it point at that appeal.
CREATE TABLE calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- modem, time and number: a call the modem task hands over twice is one row
    dedupe_key  TEXT    NOT NULL UNIQUE,
    modem       TEXT    NOT NULL,
    -- NULL: the network withheld the number
    phone       TEXT,
    rang_at     BIGINT  NOT NULL,
    recorded_at BIGINT  NOT NULL,
    -- callback (rejected) | ivr (answered by the keypad menu)
    mode        TEXT    NOT NULL,
    -- what the caller did in the menu (modem::ivr::MenuOutcome::code): 1, 0, 2:<number>, 3:<score>, hung-up:<menu>...
    menu        TEXT,
    -- 1 when someone should call back (every rejected call; a menu call the menu could not help)
    callback    BIGINT  NOT NULL DEFAULT 1,
    -- caller (hung up first) | chup | ath | qhup (rejected by that command) | unconfirmed
    ended       TEXT    NOT NULL,
    -- new -> filed (a callback appeal) | repeat (joined an open one) | served (the menu helped,
    -- no callback) | withheld | screened (a service number: recorded, never called back)
    state       TEXT    NOT NULL DEFAULT 'new',
    appeal_id   BIGINT  REFERENCES appeals (id)
);
CREATE INDEX calls_state_modem ON calls (state, modem);
CREATE INDEX calls_phone_rang ON calls (phone, rang_at);
CREATE INDEX calls_rang ON calls (rang_at);
