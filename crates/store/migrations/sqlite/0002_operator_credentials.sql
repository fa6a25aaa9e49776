-- Credentials of connected operator platforms (T/CEC 102.4 key sets). The data directory must
-- be readable by the platform only: secrets are stored as given.
CREATE TABLE operator_credentials (
    operator_id      TEXT PRIMARY KEY REFERENCES operators (operator_id) ON DELETE CASCADE,
    operator_secret  TEXT NOT NULL,
    data_secret      TEXT NOT NULL,
    data_secret_iv   TEXT NOT NULL,
    sig_secret       TEXT NOT NULL,
    base_url         TEXT,
    coords           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    rotated_at       BIGINT
);
