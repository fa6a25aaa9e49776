-- Id tokens (RFID cards, the app's tags, central tokens) that authorize charges at chargers
-- connected by OCPP, and which charging session each token started. A token issued by an
-- operator (operator_id set) is valid at that operator's chargers only; one without an operator
-- is the platform's and valid everywhere. Times are seconds since 1970.
CREATE TABLE id_tokens (
    token        TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('iso14443', 'iso15693', 'emaid', 'central', 'key_code', 'local', 'mac_address')),
    status       TEXT NOT NULL CHECK (status IN ('accepted', 'blocked', 'expired', 'invalid')),
    expires_at   BIGINT,
    group_id     TEXT,
    owner_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    operator_id  TEXT,
    label        TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX id_tokens_owner ON id_tokens (owner_id);
CREATE INDEX id_tokens_operator ON id_tokens (operator_id);

-- The charging sessions a token started (kept when the token is removed: it is history).
CREATE TABLE token_sessions (
    operator_id  TEXT NOT NULL,
    session_ref  TEXT NOT NULL,
    token        TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    PRIMARY KEY (operator_id, session_ref)
);
CREATE INDEX token_sessions_token ON token_sessions (token, started_at);

-- The tags evgrid gave to drivers' OCPP charges and reservations still open become tokens, so
-- that their chargers' questions keep being answered Accepted.
INSERT INTO id_tokens (token, kind, status, expires_at, owner_id, operator_id, label, created_at, updated_at)
SELECT session_ref, 'central', 'accepted', created_at + 172800, user_id, operator_id, 'charge ' || id, created_at, created_at
FROM driver_sessions
WHERE channel = 'ocpp' AND status IN ('requested', 'started') AND session_ref LIKE 'EVG%'
ON CONFLICT (token) DO NOTHING;
INSERT INTO id_tokens (token, kind, status, expires_at, owner_id, operator_id, label, created_at, updated_at)
SELECT id_tag, 'central', 'accepted', expires_at + 172800, user_id, operator_id, 'reservation ' || id, created_at, created_at
FROM reservations
WHERE status IN ('requested', 'reserved')
ON CONFLICT (token) DO NOTHING;
