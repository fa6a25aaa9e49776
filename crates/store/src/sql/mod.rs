//! The statements of every engine, and the Rust that binds their parameters and reads their
//! rows, written once.
//!
//! This module is compiled once per engine: each engine module mounts it with `#[path]` and
//! gives it, from `super`, the sqlx database type `Db` (which implements
//! [`Dialect`](crate::dialect::Dialect) for what engines spell differently) and the engine
//! type `Engine`, whose `pool` (reads) and `writer` (writes) fields the statements run on and
//! which provides the engine's own ways of doing a thing (`write_status_batch`). Being concrete
//! types in each compilation, sqlx's traits need no bounds here: code generic over sqlx's
//! `Database` would carry a dozen of them on every function.

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use evgrid_model::stats::{
    BreakdownRow, Bucket, Dimension, FaultRow, ProgressRow, SnapshotRow, Target, UsageKey, UsageRow,
};
use evgrid_model::time::unix_now;
use evgrid_model::{
    Category, CategoryCounts, Channel, Charge, ChargePeriod, ChargeStatus, ChargerNotice,
    ChargingSession, Connector, ConnectorType, Counts, County, Equipment, EquipmentType, Fen,
    IndexRow, LatLng, Operator, OperatorCredentials, OperatorId, OrderCheck, PlacedStation, Power,
    PricePerKwh, PushId, RegionCounts, Reservation, ReservationStatus, SessionState, SessionUpdate,
    Station, StationKey, StationListFilter, StationRecord, StationSummary, StationType,
    StatusRecord, StatusSource, Tariff, TariffPeriod, Township, WattHours,
};
use sqlx::Row;

use super::{migrator, Db, Engine};
use crate::contract::*;
use crate::dialect::Dialect;
use crate::time::UnixTime;
use crate::StoreError;

mod accounts;
mod chargers;
mod charges;
mod cluster;
mod network;
mod operators;
mod plans;
mod sessions;
mod stats;
mod status;
mod superiors;
mod tokens;
mod traffic;

// Engines write status batches their own way with these (PostgreSQL uses the row limit).
#[allow(unused_imports)]
pub(crate) use status::{bind_statuses, status_upsert_sql, STATUS_ROWS_PER_STATEMENT};

/// A row of this engine.
type DbRow = <Db as sqlx::Database>::Row;

/// A transaction of this engine.
type Tx<'a> = sqlx::Transaction<'a, Db>;

/// Records a protocol message in the transaction; `false` when it was recorded before.
async fn record_push(tx: &mut Tx<'_>, push: &PushId) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO protocol_pushes (operator_id, interface, time_stamp, seq, received_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(push.operator_id.as_str())
    .bind(push.interface)
    .bind(&push.time_stamp)
    .bind(&push.seq)
    .bind(UnixTime(unix_now()))
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
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

fn summary_from_row(row: &DbRow) -> Result<StationSummary, StoreError> {
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

/// The `VALUES` rows of a statement that writes `rows` rows of `columns` parameters each, in
/// the engine's spelling of batch parameters.
fn value_rows(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 4);
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&Db::batch_param(r * columns + c + 1));
        }
        sql.push(')');
    }
    sql
}

fn to_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
