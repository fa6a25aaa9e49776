-- Charging sessions as the operators report them (T/CEC part 3 notifications), their
-- time-of-use periods, and the reconciliation requests (check_charge_orders) received.
-- Money in fen, energy in Wh, prices in hundredths of a fen per kWh, times in seconds since 1970.
CREATE TABLE charging_sessions (
    operator_id        TEXT NOT NULL,
    session_ref        TEXT NOT NULL,
    connector_id       TEXT NOT NULL,
    state              TEXT NOT NULL,
    state_rank         INTEGER NOT NULL,
    raw_state          INTEGER,
    started_at         BIGINT,
    ended_at           BIGINT,
    updated_at         BIGINT NOT NULL,
    energy_wh          BIGINT,
    soc                REAL,
    electricity_fen    BIGINT,
    service_fen        BIGINT,
    total_fen          BIGINT,
    stop_reason        INTEGER,
    fail_reason        INTEGER,
    order_received_at  BIGINT,
    dispute            TEXT,
    source             TEXT NOT NULL,
    PRIMARY KEY (operator_id, session_ref)
);
CREATE INDEX charging_sessions_connector ON charging_sessions (operator_id, connector_id);

CREATE TABLE charging_periods (
    operator_id          TEXT NOT NULL,
    session_ref          TEXT NOT NULL,
    period_no            INTEGER NOT NULL,
    starts_at            BIGINT NOT NULL,
    ends_at              BIGINT NOT NULL,
    electricity_price    BIGINT NOT NULL,
    service_price        BIGINT NOT NULL,
    energy_wh            BIGINT NOT NULL,
    electricity_fen      BIGINT NOT NULL,
    service_fen          BIGINT NOT NULL,
    PRIMARY KEY (operator_id, session_ref, period_no),
    FOREIGN KEY (operator_id, session_ref) REFERENCES charging_sessions (operator_id, session_ref) ON DELETE CASCADE
);

CREATE TABLE order_checks (
    operator_id     TEXT NOT NULL,
    check_ref       TEXT NOT NULL,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    order_count     INTEGER NOT NULL,
    disputed        INTEGER NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (operator_id, check_ref)
);

-- How often evgrid expects to hear from each operator: older statuses are reported stale.
ALTER TABLE operator_credentials ADD COLUMN stale_after_seconds BIGINT;
-- The OperatorSecret the operator issued to evgrid, for the calls evgrid makes to it.
ALTER TABLE operator_credentials ADD COLUMN platform_secret TEXT;
