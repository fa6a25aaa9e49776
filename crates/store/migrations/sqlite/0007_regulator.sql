-- The regulator's view: every change of a connector's status (for faults and online rate),
-- a daily snapshot of the registry (growth), and the city's targets with their progress.

-- Written by triggers on connector_status, so every writer (pushes, pulls, OCPP) records them
-- in the same transaction as the status itself. Only changes into or out of `faulted` and
-- `offline` are kept: a fault or outage runs from its event to the connector's next event,
-- and the everyday available/charging traffic costs no extra row.
CREATE TABLE status_events (
    operator_id   TEXT NOT NULL,
    connector_id  TEXT NOT NULL,
    status        TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX status_events_connector ON status_events (operator_id, connector_id, at);
CREATE INDEX status_events_at ON status_events (at);

CREATE TRIGGER status_events_insert AFTER INSERT ON connector_status
WHEN new.status IN ('faulted', 'offline')
BEGIN
    INSERT INTO status_events (operator_id, connector_id, status, at)
    VALUES (new.operator_id, new.connector_id, new.status, new.observed_at);
END;

CREATE TRIGGER status_events_update AFTER UPDATE OF status ON connector_status
WHEN old.status <> new.status
 AND (old.status IN ('faulted', 'offline') OR new.status IN ('faulted', 'offline'))
BEGIN
    INSERT INTO status_events (operator_id, connector_id, status, at)
    VALUES (new.operator_id, new.connector_id, new.status, new.observed_at);
END;

-- One row per day (UTC+8) and category: the registry's size that day, replaced during the day.
CREATE TABLE daily_snapshots (
    day          TEXT NOT NULL,
    category     TEXT NOT NULL,
    stations     BIGINT NOT NULL,
    piles        BIGINT NOT NULL,
    connectors   BIGINT NOT NULL,
    taken_at     BIGINT NOT NULL,
    PRIMARY KEY (day, category)
);

-- Targets are data: what is promised, by when, and how progress is measured:
-- 'registry_piles' (piles in the registry, optionally of one category) or 'imported'
-- (figures imported from CSV, e.g. fleet vehicles by sector, dedicated parking spaces).
CREATE TABLE targets (
    id           TEXT PRIMARY KEY,
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    unit         TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    baseline     DOUBLE PRECISION NOT NULL,
    start_day    TEXT NOT NULL,
    deadline     TEXT NOT NULL,
    measure      TEXT NOT NULL CHECK (measure IN ('registry_piles', 'imported')),
    source       TEXT NOT NULL,
    parent_id    TEXT REFERENCES targets (id)
);

CREATE TABLE target_progress (
    target_id    TEXT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    day          TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    source       TEXT NOT NULL,
    PRIMARY KEY (target_id, day)
);

-- The city's 2022 targets (赣州市, as reported by the city's industry bureau): 20,000+
-- new-energy vehicles in public-sector fleets (by sector), 19,000 charging piles, 10,000
-- dedicated parking spaces. The report gives no deadline; 2025-12-31 (end of the 14th
-- five-year plan) is assumed and editable. Sector splits of the fleet target are not published:
-- the sectors are children without their own value (0: progress shown, no percentage).
INSERT INTO targets VALUES
 ('fleet_nev', '公共领域新能源汽车', 'New-energy vehicles in public-sector fleets', 'vehicles', 20000, 0, '2022-01-01', '2025-12-31', 'imported', '赣州市工信局 2022', NULL),
 ('fleet_government', '党政机关公务用车', 'Government fleet', 'vehicles', 0, 0, '2022-01-01', '2025-12-31', 'imported', '赣州市工信局 2022', 'fleet_nev'),
 ('fleet_bus', '公交车', 'Buses', 'vehicles', 0, 0, '2022-01-01', '2025-12-31', 'imported', '赣州市工信局 2022', 'fleet_nev'),
 ('fleet_taxi', '出租车和网约车', 'Taxis and ride-hailing', 'vehicles', 0, 0, '2022-01-01', '2025-12-31', 'imported', '赣州市工信局 2022', 'fleet_nev'),
 ('fleet_logistics', '物流车', 'Logistics vehicles', 'vehicles', 0, 0, '2022-01-01', '2025-12-31', 'imported', '赣州市工信局 2022', 'fleet_nev'),
 ('charging_piles', '充电桩', 'Charging piles', 'piles', 19000, 0, '2022-01-01', '2025-12-31', 'registry_piles', '赣州市工信局 2022', NULL),
 ('dedicated_parking', '专用停车位', 'Dedicated parking spaces', 'spaces', 10000, 0, '2022-01-01', '2025-12-31', 'imported', '赣州市工信局 2022', NULL);
