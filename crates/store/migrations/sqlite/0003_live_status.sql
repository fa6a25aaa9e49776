-- Live connector status (one row per connector: the latest observation), the tokens issued to
-- operator platforms, and the protocol pushes already applied (duplicate detection).
CREATE TABLE connector_status (
    operator_id   TEXT NOT NULL,
    connector_id  TEXT NOT NULL,
    status        TEXT NOT NULL,
    raw_status    INTEGER NOT NULL,
    park_status   INTEGER,
    lock_status   INTEGER,
    observed_at   BIGINT NOT NULL,
    source        TEXT NOT NULL,
    PRIMARY KEY (operator_id, connector_id)
);

CREATE TABLE platform_tokens (
    token        TEXT PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators (operator_id) ON DELETE CASCADE,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX platform_tokens_operator ON platform_tokens (operator_id);

CREATE TABLE protocol_pushes (
    operator_id  TEXT NOT NULL,
    interface    TEXT NOT NULL,
    time_stamp   TEXT NOT NULL,
    seq          TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (operator_id, interface, time_stamp, seq)
);
