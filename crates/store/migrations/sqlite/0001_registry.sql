-- The station registry: operators, regions, stations, piles (equipment), connectors, tariffs.
-- Types and constraints are kept to what PostgreSQL also has, so the same shape serves both.

CREATE TABLE operators (
    operator_id  TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE counties (
    code                  TEXT PRIMARY KEY,
    name_zh               TEXT NOT NULL,
    name_pinyin           TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    seat_lat              DOUBLE PRECISION NOT NULL,
    seat_lng              DOUBLE PRECISION NOT NULL,
    area_km2              DOUBLE PRECISION NOT NULL,
    population            BIGINT,
    population_estimated  BOOLEAN NOT NULL
);

CREATE TABLE townships (
    code           TEXT PRIMARY KEY,
    county_code    TEXT NOT NULL REFERENCES counties (code),
    name_zh        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    lat            DOUBLE PRECISION NOT NULL,
    lng            DOUBLE PRECISION NOT NULL,
    centre_method  TEXT NOT NULL,
    population     BIGINT
);

CREATE TABLE stations (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id           TEXT NOT NULL REFERENCES operators (operator_id),
    station_id            TEXT NOT NULL,
    name                  TEXT NOT NULL,
    station_type          INTEGER NOT NULL,
    category              TEXT NOT NULL CHECK (category IN ('public', 'dedicated', 'private')),
    status                INTEGER NOT NULL,
    lat                   DOUBLE PRECISION NOT NULL,
    lng                   DOUBLE PRECISION NOT NULL,
    county_code           TEXT REFERENCES counties (code),
    township_code         TEXT REFERENCES townships (code),
    township_method       TEXT,
    inside_city           BOOLEAN NOT NULL,
    address               TEXT NOT NULL,
    area_code             TEXT NOT NULL,
    equipment_owner_id    TEXT NOT NULL,
    country_code          TEXT NOT NULL,
    service_tel           TEXT NOT NULL,
    station_tel           TEXT,
    park_nums             INTEGER NOT NULL,
    construction          INTEGER NOT NULL,
    site_guide            TEXT,
    business_hours        TEXT,
    electricity_fee_text  TEXT,
    service_fee_text      TEXT,
    park_fee              TEXT,
    payment               TEXT,
    support_order         BOOLEAN NOT NULL,
    remark                TEXT,
    pile_count            INTEGER NOT NULL,
    connector_count       INTEGER NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (operator_id, station_id)
);
CREATE INDEX stations_county ON stations (county_code);
CREATE INDEX stations_township ON stations (township_code);
CREATE INDEX stations_category ON stations (category);

CREATE TABLE equipment (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    station_pk         BIGINT NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    operator_id        TEXT NOT NULL,
    equipment_id       TEXT NOT NULL,
    position           INTEGER NOT NULL,
    name               TEXT,
    equipment_type     INTEGER NOT NULL,
    power_w            BIGINT NOT NULL,
    manufacturer_name  TEXT,
    model              TEXT,
    production_date    TEXT,
    UNIQUE (operator_id, equipment_id)
);
CREATE INDEX equipment_station ON equipment (station_pk);

CREATE TABLE connectors (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    equipment_pk       BIGINT NOT NULL REFERENCES equipment (id) ON DELETE CASCADE,
    station_pk         BIGINT NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    operator_id        TEXT NOT NULL,
    connector_id       TEXT NOT NULL,
    position           INTEGER NOT NULL,
    name               TEXT,
    connector_type     INTEGER NOT NULL,
    national_standard  INTEGER NOT NULL,
    power_w            BIGINT NOT NULL,
    voltage_upper_v    BIGINT NOT NULL,
    voltage_lower_v    BIGINT NOT NULL,
    current_a          BIGINT NOT NULL,
    park_no            TEXT,
    UNIQUE (operator_id, connector_id)
);
CREATE INDEX connectors_equipment ON connectors (equipment_pk);
CREATE INDEX connectors_station ON connectors (station_pk);

-- Time-of-use tariff of a station; prices in hundredths of a fen per kWh (0.0001 yuan).
CREATE TABLE tariff_periods (
    station_pk            BIGINT NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    start_second          INTEGER NOT NULL,
    electricity_centifen  BIGINT NOT NULL,
    service_centifen      BIGINT NOT NULL,
    PRIMARY KEY (station_pk, start_second)
);
