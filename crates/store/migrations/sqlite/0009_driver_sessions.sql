-- Charges drivers start through evgrid (one-stop charging). The live figures and the order are
-- the operator's and stay in charging_sessions (same operator_id and session_ref); this table
-- says whose charge it is and makes a repeated start with the same Idempotency-Key the same
-- charge.
CREATE TABLE driver_sessions (
    id               TEXT PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    operator_id      TEXT NOT NULL,
    connector_id     TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('tcec', 'ocpp')),
    session_ref      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('requested', 'started', 'refused', 'stop_requested')),
    message          TEXT,
    created_at       BIGINT NOT NULL,
    UNIQUE (user_id, idempotency_key),
    UNIQUE (operator_id, session_ref)
);
CREATE INDEX driver_sessions_user ON driver_sessions (user_id, created_at);
