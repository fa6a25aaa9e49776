-- Connectors drivers reserve through evgrid. Only chargers connected directly by OCPP take
-- reservations (ReserveNow / CancelReservation); T/CEC 102 has no reservation interface.
-- `id_tag` is the tag the charger holds the connector for; a charge the same driver starts on
-- the connector before `expires_at` runs under it.
CREATE TABLE reservations (
    id              TEXT PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    operator_id     TEXT NOT NULL,
    connector_id    TEXT NOT NULL,
    id_tag          TEXT NOT NULL,
    ocpp_id         BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('requested', 'reserved', 'refused', 'cancelled', 'used')),
    message         TEXT,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (operator_id, id_tag)
);
CREATE INDEX reservations_user ON reservations (user_id, created_at);
CREATE INDEX reservations_connector ON reservations (operator_id, connector_id, expires_at);
