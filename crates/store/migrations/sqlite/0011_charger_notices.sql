-- What directly connected chargers report about themselves besides status and charging:
-- firmware and diagnostics progress, log uploads, security events (OCPP FirmwareStatusNotification,
-- DiagnosticsStatusNotification, LogStatusNotification, SecurityEventNotification). The latest
-- 100 per charger are kept.
CREATE TABLE charger_notices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id  TEXT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX charger_notices_charger ON charger_notices (charger_id, id);
