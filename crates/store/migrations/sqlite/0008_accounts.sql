-- People who log in: drivers register themselves; operators, regulators and admins are added
-- by `evgrid user add`. Passwords are Argon2id PHC strings; sessions are kept by the SHA-256 of
-- their token, so the database never holds a usable token.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('driver', 'operator', 'regulator', 'admin')),
    operator_id    TEXT,
    created_at     BIGINT NOT NULL
);

CREATE TABLE user_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
