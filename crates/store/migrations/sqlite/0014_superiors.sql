-- Superior platforms (provincial supervision platforms evgrid reports to over T/CEC 102) and
-- the outbox of what is still to be reported to each. The outbox is written by triggers, so
-- every writer (operators' pushes, pulls, OCPP chargers, imports) queues its report in the
-- same transaction as the fact itself: nothing committed goes unreported.
-- Times of the outbox are milliseconds since 1970 (the delivery lag is measured in them).
CREATE TABLE superiors (
    superior_id           TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    base_url              TEXT NOT NULL,
    platform_operator_id  TEXT NOT NULL,
    operator_secret       TEXT NOT NULL,
    data_secret           TEXT NOT NULL,
    data_secret_iv        TEXT NOT NULL,
    sig_secret            TEXT NOT NULL,
    profile               TEXT NOT NULL,
    created_at            BIGINT NOT NULL
);

-- state: pending (to send at next_ms), delivered, given_up (flagged for the regulator).
-- One pending item per (superior, kind, operator, key): a fact that changes again before it
-- was sent is sent once, as it is then; `changes` counts the changes that met a pending item,
-- so that one changed while being sent stays pending (the sender marks it delivered only if
-- `changes` is what it read).
CREATE TABLE superior_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    superior_id  TEXT NOT NULL REFERENCES superiors (superior_id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    operator_id  TEXT NOT NULL,
    item_key     TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    changes      INTEGER NOT NULL DEFAULT 0,
    next_ms      BIGINT NOT NULL,
    done_ms      BIGINT
);
CREATE UNIQUE INDEX superior_outbox_pending ON superior_outbox (superior_id, kind, operator_id, item_key)
    WHERE state = 'pending';
CREATE INDEX superior_outbox_due ON superior_outbox (superior_id, state, next_ms);
CREATE INDEX superior_outbox_done ON superior_outbox (done_ms);

-- What was last delivered of an item whose repeats say nothing new (a station unchanged).
CREATE TABLE superior_digests (
    superior_id  TEXT NOT NULL REFERENCES superiors (superior_id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    operator_id  TEXT NOT NULL,
    item_key     TEXT NOT NULL,
    digest       TEXT NOT NULL,
    PRIMARY KEY (superior_id, kind, operator_id, item_key)
);

-- Attempts counted by interface and answer (ret -9999: no answer; T/CEC's -1 means busy).
CREATE TABLE superior_attempts (
    superior_id  TEXT NOT NULL REFERENCES superiors (superior_id) ON DELETE CASCADE,
    interface    TEXT NOT NULL,
    ret          INTEGER NOT NULL,
    delivered    BOOLEAN NOT NULL,
    count        BIGINT NOT NULL,
    last_ms      BIGINT NOT NULL,
    PRIMARY KEY (superior_id, interface, ret, delivered)
);

-- Orders a superior disputed in its answer to the daily check.
CREATE TABLE superior_disputes (
    superior_id   TEXT NOT NULL REFERENCES superiors (superior_id) ON DELETE CASCADE,
    day           TEXT NOT NULL,
    operator_id   TEXT NOT NULL,
    session_ref   TEXT NOT NULL,
    superior_ref  TEXT NOT NULL,
    reason        INTEGER NOT NULL,
    at_ms         BIGINT NOT NULL,
    PRIMARY KEY (superior_id, day, superior_ref)
);

CREATE TRIGGER superior_station_insert AFTER INSERT ON stations
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'station', new.operator_id, new.station_id,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;

CREATE TRIGGER superior_station_update AFTER UPDATE ON stations
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'station', new.operator_id, new.station_id,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;

CREATE TRIGGER superior_status_insert AFTER INSERT ON connector_status
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'status', new.operator_id, new.connector_id,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;

CREATE TRIGGER superior_status_update AFTER UPDATE OF status ON connector_status
WHEN old.status <> new.status
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'status', new.operator_id, new.connector_id,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;

CREATE TRIGGER superior_order_insert AFTER INSERT ON charging_sessions
WHEN new.order_received_at IS NOT NULL
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'order', new.operator_id, new.session_ref,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;

CREATE TRIGGER superior_order_update AFTER UPDATE OF order_received_at ON charging_sessions
WHEN old.order_received_at IS NULL AND new.order_received_at IS NOT NULL
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'order', new.operator_id, new.session_ref,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;
