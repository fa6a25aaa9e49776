-- Chargers connected directly by OCPP: each is a pile (equipment) of a station of an operator,
-- its connectors named CHARGERID-N. A charger accepted without registration has no station yet.
CREATE TABLE chargers (
    charger_id     TEXT PRIMARY KEY,
    operator_id    TEXT NOT NULL,
    station_id     TEXT,
    connectors     INTEGER NOT NULL,
    password_hash  TEXT,
    vendor         TEXT,
    model          TEXT,
    serial         TEXT,
    firmware       TEXT,
    ocpp_version   TEXT,
    last_boot_at   BIGINT,
    created_at     BIGINT NOT NULL
);

-- OCPP 1.6 transaction ids, assigned by the central system.
CREATE TABLE ocpp_transactions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

ALTER TABLE charging_sessions ADD COLUMN meter_start_wh BIGINT;
