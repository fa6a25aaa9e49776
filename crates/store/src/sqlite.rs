//! The SQLite engine: one file in the data directory, WAL, full synchronous commits so that
//! "stored" means on disk, foreign keys on.

use evgrid_model::time::unix_now;
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use evgrid_model::{
    Category, Connector, ConnectorType, County, Equipment, EquipmentType, LatLng, Operator,
    OperatorCredentials, OperatorId, Power, PricePerKwh, Station, StationKey, StationType, Tariff,
    TariffPeriod, Township,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use crate::{
    Counts, IndexRow, PlacedStation, PushKey, RegionCounts, StationListFilter, StationRecord,
    StationSummary, StatusRecord, StoreError,
};

mod accounts;
mod chargers;
mod driver_sessions;
mod reservations;
mod sessions;
mod stats;

/// Records a protocol message in the transaction; `false` when it was recorded before.
async fn record_push(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    push: &PushKey<'_>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO protocol_pushes (operator_id, interface, time_stamp, seq, received_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(push.operator_id)
    .bind(push.interface)
    .bind(push.time_stamp)
    .bind(push.seq)
    .bind(unix_now())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Records a push and applies its statuses inside `tx`: `false` for a duplicate push (nothing
/// applied), [`StoreError::Unknown`] for a connector the operator does not have.
async fn push_statuses(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    push: &PushKey<'_>,
    statuses: &[StatusRecord],
) -> Result<bool, StoreError> {
    if !record_push(tx, push).await? {
        return Ok(false);
    }
    for st in statuses {
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM connectors WHERE operator_id = $1 AND connector_id = $2",
        )
        .bind(push.operator_id)
        .bind(&st.connector_id)
        .fetch_optional(&mut **tx)
        .await?;
        if known.is_none() {
            return Err(StoreError::Unknown(format!(
                "unknown ConnectorID {} for operator {}; push its station first",
                st.connector_id, push.operator_id
            )));
        }
        upsert_status(tx, push.operator_id, st).await?;
    }
    Ok(true)
}

/// A stored status row.
fn status_record(r: &SqliteRow) -> Result<StatusRecord, sqlx::Error> {
    let status: String = r.try_get("status")?;
    Ok(StatusRecord {
        connector_id: r.try_get("connector_id")?,
        status: evgrid_model::ConnectorStatus::from_name(&status),
        raw_status: r.try_get("raw_status")?,
        park_status: r.try_get("park_status")?,
        lock_status: r.try_get("lock_status")?,
        observed_at: r.try_get("observed_at")?,
        source: r.try_get("source")?,
    })
}

/// Writes a connector's latest status as pushed (the push is the newest word on it).
async fn upsert_status(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    operator_id: &str,
    st: &StatusRecord,
) -> Result<(), StoreError> {
    let row = [(operator_id, st)];
    bind_statuses(
        sqlx::query(
            "INSERT INTO connector_status (operator_id, connector_id, status, raw_status, park_status,
               lock_status, observed_at, source)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (operator_id, connector_id) DO UPDATE SET status = excluded.status,
               raw_status = excluded.raw_status, park_status = excluded.park_status,
               lock_status = excluded.lock_status, observed_at = excluded.observed_at,
               source = excluded.source",
        ),
        &row,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Most rows in one statement of [`status_upsert_sql`] (8 parameters each, SQLite allows 32,766).
const STATUS_ROWS_PER_STATEMENT: usize = 400;

/// The statements that write `rows` statuses, [`STATUS_ROWS_PER_STATEMENT`] rows per `INSERT`,
/// skipping any connector whose stored status was observed later. Parameters are anonymous
/// (`?`): sqlx looks up a named parameter (`$n`) by scanning SQLite's list of names, which
/// made binding a 400-row statement quadratic (7% of the server's CPU under `evgrid bench ocpp`).
fn status_upsert_sql(rows: usize) -> String {
    let mut sql = String::new();
    let mut left = rows;
    while left > 0 {
        let n = left.min(STATUS_ROWS_PER_STATEMENT);
        left -= n;
        sql.push_str(
            "INSERT INTO connector_status (operator_id, connector_id, status, raw_status, park_status,
               lock_status, observed_at, source) VALUES ",
        );
        for i in 0..n {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?)");
        }
        // A later row for the same connector in one statement would be a conflict within the
        // statement; the WHERE keeps the newest observation either way.
        sql.push_str(
            " ON CONFLICT (operator_id, connector_id) DO UPDATE SET status = excluded.status,
               raw_status = excluded.raw_status, park_status = excluded.park_status,
               lock_status = excluded.lock_status, observed_at = excluded.observed_at,
               source = excluded.source
             WHERE connector_status.observed_at <= excluded.observed_at;",
        );
    }
    sql
}

/// Binds (operator, record) rows in the order of [`status_upsert_sql`]'s parameters.
fn bind_statuses<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    rows: &'q [(&'q str, &'q StatusRecord)],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    for (id, st) in rows {
        q = q
            .bind(*id)
            .bind(&st.connector_id)
            .bind(st.status.as_str())
            .bind(st.raw_status)
            .bind(st.park_status)
            .bind(st.lock_status)
            .bind(st.observed_at)
            .bind(&st.source);
    }
    q
}

/// Writes statuses of (operator, record) inside `tx`, skipping any connector whose stored
/// status was observed later. Returns the rows written.
async fn upsert_newer_statuses(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    rows: &[(&str, &StatusRecord)],
) -> Result<u64, StoreError> {
    let mut applied = 0;
    // One statement per execute, so that the count is each statement's own.
    for chunk in rows.chunks(STATUS_ROWS_PER_STATEMENT) {
        let sql = status_upsert_sql(chunk.len());
        applied += bind_statuses(sqlx::query(&sql), chunk)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    }
    Ok(applied)
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reads.
    pool: SqlitePool,
    /// Writes: one connection.
    writer: SqlitePool,
}

fn corrupt(table: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        message: message.into(),
    }
}

fn conflict_or(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            let what = if db.message().contains("connectors") {
                "a ConnectorID"
            } else if db.message().contains("equipment") {
                "an EquipmentID"
            } else {
                "an id"
            };
            return StoreError::Conflict(format!(
                "{what} in this import already belongs to another station of the same operator ({})",
                db.message()
            ));
        }
    }
    StoreError::Database(e)
}

const SUMMARY_COLUMNS: &str = "id, operator_id, station_id, name, station_type, category, lat, lng, county_code, township_code, inside_city, pile_count, connector_count";

fn summary_from_row(row: &SqliteRow) -> Result<StationSummary, StoreError> {
    let operator: String = row.try_get("operator_id")?;
    let station_id: String = row.try_get("station_id")?;
    let operator_id = OperatorId::new(&operator).map_err(|e| corrupt("stations", e.to_string()))?;
    let key = StationKey::new(operator_id, &station_id)
        .map_err(|e| corrupt("stations", e.to_string()))?;
    let category: String = row.try_get("category")?;
    Ok(StationSummary {
        pk: row.try_get("id")?,
        key,
        name: row.try_get("name")?,
        station_type: row.try_get("station_type")?,
        category: Category::from_str(&category).map_err(|e| corrupt("stations", e))?,
        lat: row.try_get("lat")?,
        lng: row.try_get("lng")?,
        county_code: row.try_get("county_code")?,
        township_code: row.try_get("township_code")?,
        inside_city: row.try_get("inside_city")?,
        piles: row.try_get("pile_count")?,
        connectors: row.try_get("connector_count")?,
    })
}

fn to_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl SqliteStore {
    /// Opens or creates the database file and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // One connection writes, in the order writers ask (the pool queues them fairly), so
        // concurrent writers wait for each other instead of failing with SQLITE_BUSY; reads use
        // their own connections and see committed data (WAL).
        // No ping before lending a connection (sqlx's default): a connection to a local file
        // does not go stale, and the ping is one more hand-off to SQLite's thread per use.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await
            .map_err(open_err)?;
        sqlx::migrate!("migrations/sqlite").run(&writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        Ok(Self { pool, writer })
    }

    pub(crate) async fn put_regions(
        &self,
        counties: &[County],
        townships: &[Township],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        for c in counties {
            sqlx::query(
                "INSERT INTO counties (code, name_zh, name_pinyin, kind, seat_lat, seat_lng, area_km2, population, population_estimated)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_pinyin = excluded.name_pinyin,
                   kind = excluded.kind, seat_lat = excluded.seat_lat, seat_lng = excluded.seat_lng,
                   area_km2 = excluded.area_km2, population = excluded.population,
                   population_estimated = excluded.population_estimated",
            )
            .bind(&c.code)
            .bind(&c.name_zh)
            .bind(&c.name_pinyin)
            .bind(&c.kind)
            .bind(c.seat.lat)
            .bind(c.seat.lng)
            .bind(c.area_km2)
            .bind(c.population.map(|p| i64::try_from(p).unwrap_or(i64::MAX)))
            .bind(c.population_estimated)
            .execute(&mut *tx)
            .await?;
        }
        for t in townships {
            sqlx::query(
                "INSERT INTO townships (code, county_code, name_zh, kind, lat, lng, centre_method, population)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (code) DO UPDATE SET county_code = excluded.county_code, name_zh = excluded.name_zh,
                   kind = excluded.kind, lat = excluded.lat, lng = excluded.lng,
                   centre_method = excluded.centre_method, population = excluded.population",
            )
            .bind(&t.code)
            .bind(&t.county_code)
            .bind(&t.name_zh)
            .bind(&t.kind)
            .bind(t.centre.lat)
            .bind(t.centre.lng)
            .bind(&t.centre_method)
            .bind(t.population.map(|p| i64::try_from(p).unwrap_or(i64::MAX)))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn upsert_stations(
        &self,
        operators: &[Operator],
        stations: &[PlacedStation],
    ) -> Result<Vec<i64>, StoreError> {
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        for op in operators {
            // A name equal to the id means "no name known": never overwrite a real name with it.
            sqlx::query(
                "INSERT INTO operators (operator_id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (operator_id) DO UPDATE SET name = CASE WHEN excluded.name = excluded.operator_id
                   THEN operators.name ELSE excluded.name END",
            )
            .bind(op.id.as_str())
            .bind(&op.name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut pks = Vec::with_capacity(stations.len());
        // Phase 1: the station rows, and their old children removed, so that piles may move
        // between stations of the same batch.
        for p in stations {
            let s = &p.station;
            let pk: i64 = sqlx::query_scalar(
                "INSERT INTO stations (operator_id, station_id, name, station_type, category, status, lat, lng,
                   county_code, township_code, township_method, inside_city, address, area_code, equipment_owner_id,
                   country_code, service_tel, station_tel, park_nums, construction, site_guide, business_hours,
                   electricity_fee_text, service_fee_text, park_fee, payment, support_order, remark,
                   pile_count, connector_count, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                   $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)
                 ON CONFLICT (operator_id, station_id) DO UPDATE SET name = excluded.name,
                   station_type = excluded.station_type, category = excluded.category, status = excluded.status,
                   lat = excluded.lat, lng = excluded.lng, county_code = excluded.county_code,
                   township_code = excluded.township_code, township_method = excluded.township_method,
                   inside_city = excluded.inside_city, address = excluded.address, area_code = excluded.area_code,
                   equipment_owner_id = excluded.equipment_owner_id, country_code = excluded.country_code,
                   service_tel = excluded.service_tel, station_tel = excluded.station_tel,
                   park_nums = excluded.park_nums, construction = excluded.construction,
                   site_guide = excluded.site_guide, business_hours = excluded.business_hours,
                   electricity_fee_text = excluded.electricity_fee_text, service_fee_text = excluded.service_fee_text,
                   park_fee = excluded.park_fee, payment = excluded.payment, support_order = excluded.support_order,
                   remark = excluded.remark, pile_count = excluded.pile_count,
                   connector_count = excluded.connector_count, updated_at = excluded.updated_at
                 RETURNING id",
            )
            .bind(s.operator_id.as_str())
            .bind(&s.id)
            .bind(&s.name)
            .bind(s.station_type.0)
            .bind(s.category().as_str())
            .bind(s.status)
            .bind(s.location.lat)
            .bind(s.location.lng)
            .bind(&p.county_code)
            .bind(&p.township_code)
            .bind(p.township_method)
            .bind(p.inside_city)
            .bind(&s.address)
            .bind(&s.area_code)
            .bind(&s.equipment_owner_id)
            .bind(&s.country_code)
            .bind(&s.service_tel)
            .bind(&s.station_tel)
            .bind(s.park_nums)
            .bind(s.construction)
            .bind(&s.site_guide)
            .bind(&s.business_hours)
            .bind(&s.electricity_fee_text)
            .bind(&s.service_fee_text)
            .bind(&s.park_fee)
            .bind(&s.payment)
            .bind(s.support_order)
            .bind(&s.remark)
            .bind(i64::try_from(s.equipment.len()).unwrap_or(i64::MAX))
            .bind(i64::try_from(s.connector_count()).unwrap_or(i64::MAX))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for table in ["connectors", "equipment", "tariff_periods"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE station_pk = $1"))
                    .bind(pk)
                    .execute(&mut *tx)
                    .await?;
            }
            pks.push(pk);
        }
        // Phase 2: piles, connectors and tariffs.
        for (p, &pk) in stations.iter().zip(&pks) {
            let s = &p.station;
            for (i, e) in s.equipment.iter().enumerate() {
                let epk: i64 = sqlx::query_scalar(
                    "INSERT INTO equipment (station_pk, operator_id, equipment_id, position, name, equipment_type,
                       power_w, manufacturer_name, model, production_date)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(pk)
                .bind(s.operator_id.as_str())
                .bind(&e.id)
                .bind(i64::try_from(i).unwrap_or(i64::MAX))
                .bind(&e.name)
                .bind(e.equipment_type.0)
                .bind(i64::from(e.power.0))
                .bind(&e.manufacturer_name)
                .bind(&e.model)
                .bind(&e.production_date)
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict_or)?;
                for (j, c) in e.connectors.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO connectors (equipment_pk, station_pk, operator_id, connector_id, position, name,
                           connector_type, national_standard, power_w, voltage_upper_v, voltage_lower_v, current_a, park_no)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    )
                    .bind(epk)
                    .bind(pk)
                    .bind(s.operator_id.as_str())
                    .bind(&c.id)
                    .bind(i64::try_from(j).unwrap_or(i64::MAX))
                    .bind(&c.name)
                    .bind(c.connector_type.0)
                    .bind(c.national_standard)
                    .bind(i64::from(c.power.0))
                    .bind(i64::from(c.voltage_upper_v))
                    .bind(i64::from(c.voltage_lower_v))
                    .bind(i64::from(c.current_a))
                    .bind(&c.park_no)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_or)?;
                }
            }
            for period in s.tariff.iter().flat_map(|t| &t.periods) {
                sqlx::query(
                    "INSERT INTO tariff_periods (station_pk, start_second, electricity_centifen, service_centifen)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(pk)
                .bind(i64::from(period.start_second))
                .bind(period.electricity.0)
                .bind(period.service.0)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(pks)
    }

    pub(crate) async fn index_rows(&self) -> Result<Vec<IndexRow>, StoreError> {
        let mut connectors: HashMap<i64, Vec<(i32, u32)>> = HashMap::new();
        for row in sqlx::query("SELECT station_pk, connector_type, power_w FROM connectors")
            .fetch_all(&self.pool)
            .await?
        {
            let pk: i64 = row.try_get(0)?;
            let power: i64 = row.try_get(2)?;
            connectors
                .entry(pk)
                .or_default()
                .push((row.try_get(1)?, to_u32(power)));
        }
        let rows = sqlx::query(&format!("SELECT {SUMMARY_COLUMNS} FROM stations"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let s = summary_from_row(row)?;
                Ok(IndexRow {
                    connectors: connectors.remove(&s.pk).unwrap_or_default(),
                    pk: s.pk,
                    key: s.key,
                    name: s.name,
                    category: s.category,
                    lat: s.lat,
                    lng: s.lng,
                })
            })
            .collect()
    }

    pub(crate) async fn list_stations(
        &self,
        filter: &StationListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<StationSummary>, i64), StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut add = |column: &str, value: &Option<String>| {
            if let Some(v) = value {
                binds.push(v.clone());
                conditions.push(format!("{column} = ${}", binds.len()));
            }
        };
        add("county_code", &filter.county_code);
        add("township_code", &filter.township_code);
        add("operator_id", &filter.operator_id);
        add("category", &filter.category.map(|c| c.as_str().to_owned()));
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM stations {where_clause}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b);
        }
        let total = count.fetch_one(&self.pool).await?;
        let n = binds.len();
        let list_sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM stations {where_clause} ORDER BY operator_id, station_id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut list = sqlx::query(&list_sql);
        for b in &binds {
            list = list.bind(b);
        }
        let rows = list.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    pub(crate) async fn summaries(&self, pks: &[i64]) -> Result<Vec<StationSummary>, StoreError> {
        let mut out = Vec::with_capacity(pks.len());
        for chunk in pks.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM stations WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for pk in chunk {
                q = q.bind(pk);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(summary_from_row(&row)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn station(
        &self,
        key: &StationKey,
    ) -> Result<Option<StationRecord>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT * FROM stations WHERE operator_id = $1 AND station_id = $2")
                .bind(key.operator_id.as_str())
                .bind(&key.station_id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let summary = summary_from_row(&row)?;
        let mut connectors: HashMap<i64, Vec<Connector>> = HashMap::new();
        for c in sqlx::query(
            "SELECT * FROM connectors WHERE station_pk = $1 ORDER BY equipment_pk, position",
        )
        .bind(summary.pk)
        .fetch_all(&self.pool)
        .await?
        {
            connectors
                .entry(c.try_get("equipment_pk")?)
                .or_default()
                .push(Connector {
                    id: c.try_get("connector_id")?,
                    name: c.try_get("name")?,
                    connector_type: ConnectorType(c.try_get("connector_type")?),
                    national_standard: c.try_get("national_standard")?,
                    power: Power(to_u32(c.try_get("power_w")?)),
                    voltage_upper_v: to_u32(c.try_get("voltage_upper_v")?),
                    voltage_lower_v: to_u32(c.try_get("voltage_lower_v")?),
                    current_a: to_u32(c.try_get("current_a")?),
                    park_no: c.try_get("park_no")?,
                });
        }
        let mut equipment = Vec::new();
        for e in sqlx::query("SELECT * FROM equipment WHERE station_pk = $1 ORDER BY position")
            .bind(summary.pk)
            .fetch_all(&self.pool)
            .await?
        {
            let epk: i64 = e.try_get("id")?;
            equipment.push(Equipment {
                id: e.try_get("equipment_id")?,
                name: e.try_get("name")?,
                equipment_type: EquipmentType(e.try_get("equipment_type")?),
                power: Power(to_u32(e.try_get("power_w")?)),
                manufacturer_name: e.try_get("manufacturer_name")?,
                model: e.try_get("model")?,
                production_date: e.try_get("production_date")?,
                connectors: connectors.remove(&epk).unwrap_or_default(),
            });
        }
        let periods =
            sqlx::query("SELECT * FROM tariff_periods WHERE station_pk = $1 ORDER BY start_second")
                .bind(summary.pk)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(TariffPeriod {
                        start_second: to_u32(r.try_get("start_second")?),
                        electricity: PricePerKwh(r.try_get("electricity_centifen")?),
                        service: PricePerKwh(r.try_get("service_centifen")?),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        let tariff = if periods.is_empty() {
            None
        } else {
            Some(Tariff::new(periods).map_err(|e| corrupt("tariff_periods", e.to_string()))?)
        };
        let station = Station {
            operator_id: summary.key.operator_id.clone(),
            id: summary.key.station_id.clone(),
            name: summary.name.clone(),
            station_type: StationType(summary.station_type),
            status: row.try_get("status")?,
            location: LatLng::new(summary.lat, summary.lng),
            address: row.try_get("address")?,
            area_code: row.try_get("area_code")?,
            equipment_owner_id: row.try_get("equipment_owner_id")?,
            country_code: row.try_get("country_code")?,
            service_tel: row.try_get("service_tel")?,
            station_tel: row.try_get("station_tel")?,
            park_nums: row.try_get("park_nums")?,
            construction: row.try_get("construction")?,
            site_guide: row.try_get("site_guide")?,
            business_hours: row.try_get("business_hours")?,
            electricity_fee_text: row.try_get("electricity_fee_text")?,
            service_fee_text: row.try_get("service_fee_text")?,
            park_fee: row.try_get("park_fee")?,
            payment: row.try_get("payment")?,
            support_order: row.try_get("support_order")?,
            remark: row.try_get("remark")?,
            tariff,
            equipment,
        };
        Ok(Some(StationRecord {
            township_method: row.try_get("township_method")?,
            updated_at: row.try_get("updated_at")?,
            summary,
            station,
        }))
    }

    pub(crate) async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        sqlx::query("SELECT operator_id, name FROM operators ORDER BY operator_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                Ok(Operator {
                    id: OperatorId::new(&id).map_err(|e| corrupt("operators", e.to_string()))?,
                    name: r.try_get(1)?,
                })
            })
            .collect()
    }

    pub(crate) async fn regions(&self) -> Result<(Vec<County>, Vec<Township>), StoreError> {
        let counties = sqlx::query("SELECT * FROM counties ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let population: Option<i64> = r.try_get("population")?;
                Ok(County {
                    code: r.try_get("code")?,
                    name_zh: r.try_get("name_zh")?,
                    name_pinyin: r.try_get("name_pinyin")?,
                    kind: r.try_get("kind")?,
                    seat: LatLng::new(r.try_get("seat_lat")?, r.try_get("seat_lng")?),
                    area_km2: r.try_get("area_km2")?,
                    population: population.and_then(|p| u64::try_from(p).ok()),
                    population_estimated: r.try_get("population_estimated")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let townships = sqlx::query("SELECT * FROM townships ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let population: Option<i64> = r.try_get("population")?;
                Ok(Township {
                    code: r.try_get("code")?,
                    name_zh: r.try_get("name_zh")?,
                    county_code: r.try_get("county_code")?,
                    kind: r.try_get("kind")?,
                    centre: LatLng::new(r.try_get("lat")?, r.try_get("lng")?),
                    centre_method: r.try_get("centre_method")?,
                    population: population.and_then(|p| u64::try_from(p).ok()),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((counties, townships))
    }

    pub(crate) async fn region_counts(&self) -> Result<RegionCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT county_code, township_code, category, COUNT(*) AS stations,
                    SUM(pile_count) AS piles, SUM(connector_count) AS connectors
             FROM stations GROUP BY county_code, township_code, category
             ORDER BY county_code, township_code, category",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = RegionCounts::default();
        let mut counties: Vec<(Option<String>, Counts)> = Vec::new();
        let mut townships: Vec<(Option<String>, Counts)> = Vec::new();
        for r in rows {
            let county: Option<String> = r.try_get("county_code")?;
            let township: Option<String> = r.try_get("township_code")?;
            let category: String = r.try_get("category")?;
            let category = Category::from_str(&category).map_err(|e| corrupt("stations", e))?;
            let (stations, piles, connectors): (i64, i64, i64) = (
                r.try_get("stations")?,
                r.try_get("piles")?,
                r.try_get("connectors")?,
            );
            let add = |c: &mut Counts| {
                c.stations.add(category, stations);
                c.piles.add(category, piles);
                c.connectors.add(category, connectors);
            };
            add(&mut out.city);
            for (list, code) in [(&mut counties, county), (&mut townships, township)] {
                match list.iter_mut().find(|(k, _)| *k == code) {
                    Some((_, c)) => add(c),
                    None => {
                        let mut c = Counts::default();
                        add(&mut c);
                        list.push((code, c));
                    }
                }
            }
        }
        out.by_county = counties;
        out.by_township = townships;
        Ok(out)
    }

    pub(crate) async fn put_credentials(
        &self,
        name: &str,
        c: &OperatorCredentials,
    ) -> Result<(), StoreError> {
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO operators (operator_id, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (operator_id) DO UPDATE SET name = excluded.name",
        )
        .bind(c.operator_id.as_str())
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO operator_credentials (operator_id, operator_secret, data_secret, data_secret_iv,
               sig_secret, base_url, coords, created_at, rotated_at, platform_secret, stale_after_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)
             ON CONFLICT (operator_id) DO UPDATE SET operator_secret = excluded.operator_secret,
               data_secret = excluded.data_secret, data_secret_iv = excluded.data_secret_iv,
               sig_secret = excluded.sig_secret, base_url = excluded.base_url, coords = excluded.coords,
               rotated_at = excluded.created_at, platform_secret = excluded.platform_secret,
               stale_after_seconds = excluded.stale_after_seconds",
        )
        .bind(c.operator_id.as_str())
        .bind(&c.operator_secret)
        .bind(&c.data_secret)
        .bind(&c.data_secret_iv)
        .bind(&c.sig_secret)
        .bind(&c.base_url)
        .bind(c.coords.as_str())
        .bind(now)
        .bind(&c.platform_secret)
        .bind(c.stale_after_seconds)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn credentials(
        &self,
        id: Option<&OperatorId>,
    ) -> Result<Vec<OperatorCredentials>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM operator_credentials WHERE $1 IS NULL OR operator_id = $1 ORDER BY operator_id",
        )
        .bind(id.map(OperatorId::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("operator_id")?;
                let coords: String = r.try_get("coords")?;
                Ok(OperatorCredentials {
                    operator_id: OperatorId::new(&id)
                        .map_err(|e| corrupt("operator_credentials", e.to_string()))?,
                    operator_secret: r.try_get("operator_secret")?,
                    data_secret: r.try_get("data_secret")?,
                    data_secret_iv: r.try_get("data_secret_iv")?,
                    sig_secret: r.try_get("sig_secret")?,
                    base_url: r.try_get("base_url")?,
                    coords: coords
                        .parse()
                        .map_err(|e: String| corrupt("operator_credentials", e))?,
                    platform_secret: r.try_get("platform_secret")?,
                    stale_after_seconds: r.try_get("stale_after_seconds")?,
                })
            })
            .collect()
    }

    pub(crate) async fn remove_credentials(&self, id: &OperatorId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM operator_credentials WHERE operator_id = $1")
            .bind(id.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn issue_token(
        &self,
        id: &OperatorId,
        new_token: &str,
        seconds: i64,
    ) -> Result<(String, i64), StoreError> {
        let now = unix_now();
        let mut tx = self.writer.begin().await?;
        let current: Option<(String, i64)> = sqlx::query_as(
            "SELECT token, expires_at FROM platform_tokens WHERE operator_id = $1 AND expires_at > $2
             ORDER BY expires_at DESC LIMIT 1",
        )
        .bind(id.as_str())
        .bind(now + 60)
        .fetch_optional(&mut *tx)
        .await?;
        let answer = match current {
            Some((token, expires_at)) => (token, expires_at - now),
            None => {
                sqlx::query(
                    "DELETE FROM platform_tokens WHERE operator_id = $1 AND expires_at <= $2",
                )
                .bind(id.as_str())
                .bind(now + 60)
                .execute(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO platform_tokens (token, operator_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(new_token)
                    .bind(id.as_str())
                    .bind(now + seconds)
                    .execute(&mut *tx)
                    .await?;
                (new_token.to_owned(), seconds)
            }
        };
        tx.commit().await?;
        Ok(answer)
    }

    pub(crate) async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, StoreError> {
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT operator_id FROM platform_tokens WHERE token = $1 AND expires_at > $2",
        )
        .bind(token)
        .bind(unix_now())
        .fetch_optional(&self.pool)
        .await?;
        owner
            .map(|o| OperatorId::new(&o).map_err(|e| corrupt("platform_tokens", e.to_string())))
            .transpose()
    }

    pub(crate) async fn apply_statuses(
        &self,
        push: &PushKey<'_>,
        statuses: &[StatusRecord],
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let applied = push_statuses(&mut tx, push, statuses).await?;
        if applied {
            tx.commit().await?;
        }
        Ok(applied)
    }

    pub(crate) async fn apply_statuses_many(
        &self,
        pushes: &[(PushKey<'_>, &[StatusRecord])],
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        use sqlx::Connection;
        let mut tx = self.writer.begin().await?;
        let mut out = Vec::with_capacity(pushes.len());
        for (push, statuses) in pushes {
            // Each push in its own savepoint: a refused one leaves no trace, the others stay.
            let mut savepoint = tx.begin().await?;
            match push_statuses(&mut savepoint, push, statuses).await {
                Ok(applied) => {
                    savepoint.commit().await?;
                    out.push(Ok(applied));
                }
                Err(StoreError::Unknown(m)) => {
                    savepoint.rollback().await?;
                    out.push(Err(StoreError::Unknown(m)));
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    pub(crate) async fn status_counts(
        &self,
        now: i64,
        default_stale_after: i64,
    ) -> Result<(Vec<(String, i64)>, i64), StoreError> {
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(cs.status, 'unknown') AS status, COUNT(*) FROM connectors c
             LEFT JOIN connector_status cs ON cs.operator_id = c.operator_id AND cs.connector_id = c.connector_id
             GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let stale: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM connector_status cs JOIN connectors c
               ON cs.operator_id = c.operator_id AND cs.connector_id = c.connector_id
             LEFT JOIN operator_credentials oc ON oc.operator_id = cs.operator_id
             WHERE cs.observed_at < $1 - COALESCE(oc.stale_after_seconds, $2)",
        )
        .bind(now)
        .bind(default_stale_after)
        .fetch_one(&self.pool)
        .await?;
        Ok((counts, stale))
    }

    pub(crate) async fn operator_connector_status(
        &self,
        id: &OperatorId,
        stale_before: i64,
    ) -> Result<(i64, i64, i64), StoreError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), COUNT(cs.connector_id),
                    COALESCE(SUM(CASE WHEN cs.observed_at < $2 THEN 1 ELSE 0 END), 0)
             FROM connectors c LEFT JOIN connector_status cs
               ON cs.operator_id = c.operator_id AND cs.connector_id = c.connector_id
             WHERE c.operator_id = $1",
        )
        .bind(id.as_str())
        .bind(stale_before)
        .fetch_one(&self.pool)
        .await?)
    }

    pub(crate) async fn stations_missing_fields(&self, id: &OperatorId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM stations WHERE operator_id = $1
               AND (TRIM(address) = '' OR TRIM(service_tel) = '' OR TRIM(area_code) = '')",
        )
        .bind(id.as_str())
        .fetch_one(&self.pool)
        .await?)
    }

    pub(crate) async fn connector_ids(&self, id: &OperatorId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT connector_id FROM connectors WHERE operator_id = $1 ORDER BY connector_id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    pub(crate) async fn station_statuses(
        &self,
        key: &StationKey,
    ) -> Result<Vec<StatusRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT cs.* FROM connector_status cs
             JOIN connectors c ON c.operator_id = cs.operator_id AND c.connector_id = cs.connector_id
             JOIN stations s ON s.id = c.station_pk
             WHERE s.operator_id = $1 AND s.station_id = $2",
        )
        .bind(key.operator_id.as_str())
        .bind(&key.station_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(status_record).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn operator_statuses(
        &self,
        id: &OperatorId,
    ) -> Result<Vec<StatusRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM connector_status WHERE operator_id = $1")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(status_record).collect::<Result<_, _>>()?)
    }

    pub(crate) async fn station_ids(&self, id: &OperatorId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT station_id FROM stations WHERE operator_id = $1 ORDER BY station_id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// The whole transaction (BEGIN, the inserts, COMMIT) is one request to SQLite's worker
    /// thread instead of one per statement: the hand-offs between threads, not SQLite, were most
    /// of the CPU of a small batch.
    pub(crate) async fn put_statuses_of_many(
        &self,
        statuses: &[(OperatorId, StatusRecord)],
    ) -> Result<(), StoreError> {
        if statuses.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&str, &StatusRecord)> =
            statuses.iter().map(|(id, st)| (id.as_str(), st)).collect();
        let sql = format!("BEGIN IMMEDIATE; {} COMMIT;", status_upsert_sql(rows.len()));
        let mut conn = self.writer.acquire().await?;
        if let Err(e) = bind_statuses(sqlx::query(&sql), &rows)
            .execute(&mut *conn)
            .await
        {
            // Whatever ran of the transaction is undone before the connection serves anyone
            // else; if BEGIN itself failed there is nothing to roll back.
            if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                tracing::debug!(error = %rollback, "rollback after a failed status batch");
            }
            return Err(e.into());
        }
        Ok(())
    }

    pub(crate) async fn put_statuses(
        &self,
        id: &OperatorId,
        statuses: &[StatusRecord],
    ) -> Result<u64, StoreError> {
        let rows: Vec<(&str, &StatusRecord)> =
            statuses.iter().map(|st| (id.as_str(), st)).collect();
        let mut tx = self.writer.begin().await?;
        let applied = upsert_newer_statuses(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(applied)
    }

    pub(crate) async fn fingerprint(&self) -> Result<String, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM operators), (SELECT COUNT(*) FROM stations),
                    (SELECT COUNT(*) FROM equipment), (SELECT COUNT(*) FROM connectors),
                    (SELECT COUNT(*) FROM tariff_periods) + (SELECT COUNT(*) FROM connector_status) * 1000000,
                    (SELECT COALESCE(MAX(updated_at), 0) FROM stations) + (SELECT COALESCE(SUM(observed_at), 0) FROM connector_status)
                      + (SELECT COUNT(*) * 7 + COALESCE(SUM(updated_at), 0) FROM charging_sessions)
                      + (SELECT COUNT(*) * 13 FROM charging_periods) + (SELECT COUNT(*) * 17 FROM order_checks),
                    (SELECT COALESCE(SUM(id), 0) FROM connectors), (SELECT COALESCE(SUM(lat + lng), 0) FROM stations)",
        )
        .fetch_one(&self.pool)
        .await?;
        let ints: Vec<i64> = (0..7)
            .map(|i| row.try_get::<i64, _>(i))
            .collect::<Result<_, _>>()?;
        let coords: f64 = row.try_get(7)?;
        Ok(format!("{ints:?}/{coords:.9}"))
    }
}
