//! Moving a deployment from SQLite to PostgreSQL: every table, one transaction per group of
//! tables that belong together, read from one consistent snapshot of the source (a running
//! node may keep writing to it).
//!
//! The target's schema is made by its own migrations; this copies rows. Ids are copied as they
//! are (stations, equipment, connectors, users, OCPP transaction ids keep their numbers, so
//! every reference between tables stays true) and the target's id sequences are moved past
//! them. Points in time (seconds on SQLite) become TIMESTAMPTZ; flags become BOOLEAN.
//!
//! Duplicates: by default the target must hold no deployment data (its migrations' seed rows —
//! counties, townships, the city's targets — are replaced by the source's). `Duplicates::Keep`
//! leaves every row whose key the target already holds as it is and adds the others: this is
//! how a migration that stopped half way is finished without doubling rows (groups that were
//! committed are skipped row by row, the group that failed was rolled back whole).
//! `Duplicates::Replace` overwrites the target's row with the source's. Both assume the target's
//! rows with a source row's key are the same rows (an earlier copy of this source); merging two
//! different deployments is not supported (their station ids would collide).

use std::fmt::Write as _;

use sqlx::{Connection, Row};

use crate::{Location, PostgresStore, SqliteStore, StoreError};

/// How rows that the target already holds are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// The target must hold no deployment data.
    Refuse,
    /// A row whose key the target holds stays as the target has it.
    Keep,
    /// A row whose key the target holds is replaced by the source's.
    Replace,
}

/// One table's row counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// The group the table was copied in (one transaction).
    pub group: &'static str,
    pub table: &'static str,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows in the target before the copy.
    pub target_rows_before: u64,
    /// Rows in the target after the copy.
    pub target_rows_after: u64,
}

/// What a transfer reports while it runs.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// The copy starts: this many rows in all.
    Started { rows: u64 },
    /// Rows of `table` were written (not yet committed: the group commits at its end).
    Copied { table: &'static str, rows: u64 },
    /// A group was committed.
    Committed { group: &'static str },
}

/// The tables of a deployment, in groups that are committed together, each after what it
/// refers to.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "regions and targets",
        &["counties", "townships", "targets", "target_progress"],
    ),
    (
        "operators",
        &[
            "operators",
            "operator_credentials",
            "platform_tokens",
            "protocol_pushes",
            "protocol_traffic",
            "order_checks",
        ],
    ),
    (
        "stations",
        &[
            "stations",
            "equipment",
            "connectors",
            "tariff_periods",
            "daily_snapshots",
        ],
    ),
    ("live status", &["connector_status", "status_events"]),
    (
        "charging sessions",
        &["charging_sessions", "charging_periods"],
    ),
    (
        "chargers",
        &[
            "chargers",
            "ocpp_transactions",
            "charger_notices",
            "certificate_authority",
        ],
    ),
    (
        "accounts and charges",
        &[
            "users",
            "user_sessions",
            "driver_sessions",
            "reservations",
            "id_tokens",
            "token_sessions",
            "audit_log",
        ],
    ),
    ("siting plans", &["plan_jobs"]),
    // Last: the stations and statuses copied above must not be queued again for them.
    (
        "superior platforms",
        &[
            "superiors",
            "superior_outbox",
            "superior_digests",
            "superior_attempts",
            "superior_disputes",
        ],
    ),
];

/// Tables of a running deployment's transient state (which node holds which charger): not
/// copied, they mean nothing to the target's nodes.
const TRANSIENT: &[&str] = &["cluster_nodes", "charger_presence", "leases"];

/// Tables the target's own triggers keep as the rows above are copied (tallies): not copied.
const DERIVED: &[&str] = &["charger_tallies"];

/// Tables the target's migrations fill: the source's rows replace them, whatever `Duplicates`.
const SEEDED: &[&str] = &["counties", "townships", "targets"];

/// Rows per INSERT statement (PostgreSQL takes at most 65,535 parameters a statement).
const ROWS_PER_STATEMENT: usize = 500;

/// How a column is carried across.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Float,
    Text,
    Boolean,
    Time,
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
    /// The PostgreSQL type, for the parameter's cast.
    pg_type: String,
}

/// One value read from the source.
enum Value {
    Integer(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
}

/// Copies the SQLite deployment at `from` into the PostgreSQL database at `to` (both as
/// `Location::parse` reads them), migrating both schemas first. Returns every table's counts.
pub async fn transfer(
    from: &str,
    to: &str,
    duplicates: Duplicates,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Vec<TableCount>, StoreError> {
    let (Location::Sqlite(source_path), Location::Postgres(target_url)) =
        (Location::parse(from)?, Location::parse(to)?)
    else {
        return Err(StoreError::Location(
            "migrate copies a SQLite deployment (--from sqlite:DIR or a data directory) into PostgreSQL (--to postgres://…)".into(),
        ));
    };
    let source = SqliteStore::open(&source_path).await?;
    let target = PostgresStore::open(&target_url).await?;
    let mut reader = source.pool.acquire().await?;
    let mut writer = target.writer.acquire().await?;
    // One snapshot of the source for the whole copy (WAL: writers go on meanwhile).
    let mut snapshot = reader.begin().await?;
    let known: Vec<&str> = GROUPS.iter().flat_map(|(_, t)| t.iter().copied()).collect();
    let source_tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *snapshot)
    .await?;
    if let Some(unknown) = source_tables.iter().find(|t| {
        !known.contains(&t.as_str())
            && !TRANSIENT.contains(&t.as_str())
            && !DERIVED.contains(&t.as_str())
    }) {
        // A table this copy does not know would be left behind without a word.
        return Err(StoreError::Corrupt {
            table: "sqlite_master",
            message: format!("table {unknown} is not one migrate copies: the source was written by another evgrid version"),
        });
    }

    let mut counts = Vec::new();
    for (group, tables) in GROUPS {
        for table in *tables {
            let source_rows = count_source(&mut snapshot, table).await?;
            let target_rows = count_target(&mut writer, table).await?;
            counts.push(TableCount {
                group,
                table,
                source_rows,
                target_rows_before: target_rows,
                target_rows_after: target_rows,
            });
        }
    }
    if duplicates == Duplicates::Refuse {
        let held: Vec<String> = counts
            .iter()
            .filter(|c| c.target_rows_before > 0 && !SEEDED.contains(&c.table))
            .map(|c| format!("{} {}", c.table, c.target_rows_before))
            .collect();
        if !held.is_empty() {
            return Err(StoreError::Conflict(format!(
                "the target already holds data ({}); migrate into an empty database, or say how rows it holds are treated: --append keep leaves them as they are and adds the rest (this finishes a migration that stopped half way without doubling rows), --append replace overwrites them with the source's",
                held.join(", ")
            )));
        }
    }
    progress(Progress::Started {
        rows: counts.iter().map(|c| c.source_rows).sum(),
    });

    for (group, tables) in GROUPS {
        let mut tx = writer.begin().await?;
        for table in *tables {
            copy_table(&mut snapshot, &mut tx, table, duplicates, progress).await?;
        }
        tx.commit().await?;
        progress(Progress::Committed { group });
    }
    snapshot.commit().await?;
    for count in &mut counts {
        count.target_rows_after = count_target(&mut writer, count.table).await?;
    }
    Ok(counts)
}

fn count_statement(table: &str) -> String {
    format!("SELECT COUNT(*) FROM {table}")
}

async fn count_source(on: &mut sqlx::SqliteConnection, table: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(&count_statement(table))
        .fetch_one(on)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

async fn count_target(on: &mut sqlx::PgConnection, table: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(&count_statement(table))
        .fetch_one(on)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The target's columns of `table` that the source has too, with how each is carried.
async fn columns(
    source: &mut sqlx::SqliteConnection,
    target: &mut sqlx::PgConnection,
    table: &str,
) -> Result<Vec<Column>, StoreError> {
    let source_columns: Vec<String> = sqlx::query(&format!("PRAGMA table_info({table})"))
        .fetch_all(&mut *source)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("name"))
        .collect::<Result<_, _>>()?;
    let target_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *target)
    .await?;
    for name in &source_columns {
        if !target_columns.iter().any(|(c, _)| c == name) {
            return Err(StoreError::Corrupt {
                table: "information_schema.columns",
                message: format!("{table}.{name} exists in the source but not in the target: the two evgrid schemas differ"),
            });
        }
    }
    target_columns
        .into_iter()
        .filter(|(name, _)| source_columns.contains(name))
        .map(|(name, pg_type)| {
            let kind = match pg_type.as_str() {
                "bigint" | "integer" | "smallint" => Kind::Integer,
                "double precision" | "real" => Kind::Float,
                "text" | "character varying" => Kind::Text,
                "boolean" => Kind::Boolean,
                "timestamp with time zone" => Kind::Time,
                other => {
                    return Err(StoreError::Corrupt {
                        table: "information_schema.columns",
                        message: format!(
                            "{table}.{name} has type {other}, which migrate does not carry"
                        ),
                    })
                }
            };
            Ok(Column {
                name,
                kind,
                pg_type,
            })
        })
        .collect()
}

/// The target's primary-key columns of `table`.
async fn primary_key(
    target: &mut sqlx::PgConnection,
    table: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT a.attname::TEXT FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = $1::regclass AND i.indisprimary",
    )
    .bind(table)
    .fetch_all(target)
    .await?)
}

async fn copy_table(
    source: &mut sqlx::SqliteConnection,
    target: &mut sqlx::PgConnection,
    table: &'static str,
    duplicates: Duplicates,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), StoreError> {
    let columns = columns(source, target, table).await?;
    let key = primary_key(target, table).await?;
    let keyed = !key.is_empty() && key.iter().all(|k| columns.iter().any(|c| &c.name == k));
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let list = names.join(", ");

    // What happens to a row whose key the target holds.
    let on_conflict = match (duplicates, SEEDED.contains(&table), keyed) {
        (_, true, true) | (Duplicates::Replace, _, true) => {
            let updates: Vec<String> = names
                .iter()
                .filter(|n| !key.iter().any(|k| k == *n))
                .map(|n| format!("{n} = EXCLUDED.{n}"))
                .collect();
            if updates.is_empty() {
                " ON CONFLICT DO NOTHING".to_owned()
            } else {
                format!(
                    " ON CONFLICT ({}) DO UPDATE SET {}",
                    key.join(", "),
                    updates.join(", ")
                )
            }
        }
        (Duplicates::Keep, _, true) => " ON CONFLICT DO NOTHING".to_owned(),
        _ => String::new(),
    };
    // A table without a key among the copied columns (status history: its key is made by the
    // target) is matched on every column when the target may hold some of its rows.
    let match_all = !keyed && duplicates != Duplicates::Refuse;

    // Status history is copied as it is: the trigger that writes it must not add to it.
    if table == "connector_status" {
        sqlx::query("ALTER TABLE connector_status DISABLE TRIGGER USER")
            .execute(&mut *target)
            .await?;
    }

    let select = {
        let casts: Vec<String> = columns
            .iter()
            .map(|c| match c.kind {
                Kind::Integer | Kind::Boolean | Kind::Time => {
                    format!("CAST({0} AS INTEGER)", c.name)
                }
                Kind::Float => format!("CAST({0} AS REAL)", c.name),
                Kind::Text => c.name.clone(),
            })
            .collect();
        format!(
            "SELECT rowid, {} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT {ROWS_PER_STATEMENT}",
            casts.join(", ")
        )
    };
    let mut after_rowid = i64::MIN;
    loop {
        let rows = sqlx::query(&select)
            .bind(after_rowid)
            .fetch_all(&mut *source)
            .await?;
        let Some(last) = rows.last() else { break };
        after_rowid = last.try_get(0)?;
        let mut values = Vec::with_capacity(rows.len() * columns.len());
        for row in &rows {
            for (i, column) in columns.iter().enumerate() {
                values.push(match column.kind {
                    Kind::Float => Value::Float(row.try_get(i + 1)?),
                    Kind::Text => Value::Text(row.try_get(i + 1)?),
                    _ => Value::Integer(row.try_get(i + 1)?),
                });
            }
        }
        let sql = insert_statement(table, &columns, &list, rows.len(), match_all, &on_conflict);
        let mut query = sqlx::query(&sql);
        for value in values {
            query = match value {
                Value::Integer(v) => query.bind(v),
                Value::Float(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
            };
        }
        query.execute(&mut *target).await?;
        progress(Progress::Copied {
            table,
            rows: rows.len() as u64,
        });
    }

    if table == "connector_status" {
        sqlx::query("ALTER TABLE connector_status ENABLE TRIGGER USER")
            .execute(&mut *target)
            .await?;
    }
    // Ids made from now on follow the copied ones.
    let identities: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::TEXT FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
    )
    .bind(table)
    .fetch_all(&mut *target)
    .await?;
    for column in identities.iter().filter(|c| names.contains(&c.as_str())) {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        ))
        .execute(&mut *target)
        .await?;
    }
    Ok(())
}

/// `INSERT INTO table (…) VALUES (…), …` for `rows` rows, each parameter cast to its column's
/// type (seconds become TIMESTAMPTZ, 0/1 become BOOLEAN).
fn insert_statement(
    table: &str,
    columns: &[Column],
    list: &str,
    rows: usize,
    match_all: bool,
    on_conflict: &str,
) -> String {
    let mut sql = String::with_capacity(64 + rows * columns.len() * 24);
    let _ = write!(sql, "INSERT INTO {table} ({list}) ");
    sql.push_str(if match_all {
        "SELECT * FROM (VALUES "
    } else {
        "VALUES "
    });
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            n += 1;
            let _ = match column.kind {
                Kind::Time => write!(sql, "to_timestamp(${n}::BIGINT)"),
                Kind::Boolean => write!(sql, "(${n}::BIGINT <> 0)"),
                Kind::Integer | Kind::Float | Kind::Text => write!(sql, "${n}::{}", column.pg_type),
            };
        }
        sql.push(')');
    }
    if match_all {
        let same: Vec<String> = columns
            .iter()
            .map(|c| format!("t.{0} IS NOT DISTINCT FROM v.{0}", c.name))
            .collect();
        let _ = write!(
            sql,
            ") AS v ({list}) WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {})",
            same.join(" AND ")
        );
    }
    sql.push_str(on_conflict);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, kind: Kind, pg_type: &str) -> Column {
        Column {
            name: name.into(),
            kind,
            pg_type: pg_type.into(),
        }
    }

    #[test]
    fn values_are_cast_to_their_columns_and_history_is_matched_on_every_column() {
        let columns = [
            column("connector_id", Kind::Text, "text"),
            column("at", Kind::Time, "timestamp with time zone"),
        ];
        let sql = insert_statement("status_events", &columns, "connector_id, at", 2, true, "");
        assert_eq!(
            sql,
            "INSERT INTO status_events (connector_id, at) SELECT * FROM (VALUES ($1::text, to_timestamp($2::BIGINT)), ($3::text, to_timestamp($4::BIGINT))) AS v (connector_id, at) WHERE NOT EXISTS (SELECT 1 FROM status_events t WHERE t.connector_id IS NOT DISTINCT FROM v.connector_id AND t.at IS NOT DISTINCT FROM v.at)"
        );
        let flags = [column("inside_city", Kind::Boolean, "boolean")];
        assert_eq!(
            insert_statement(
                "s",
                &flags,
                "inside_city",
                1,
                false,
                " ON CONFLICT DO NOTHING"
            ),
            "INSERT INTO s (inside_city) VALUES (($1::BIGINT <> 0)) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn every_group_comes_after_what_it_refers_to() {
        let order: Vec<&str> = GROUPS.iter().flat_map(|(_, t)| t.iter().copied()).collect();
        let before = |a: &str, b: &str| {
            order.iter().position(|t| *t == a) < order.iter().position(|t| *t == b)
        };
        assert!(before("counties", "stations"));
        assert!(before("operators", "stations"));
        assert!(before("stations", "connectors"));
        assert!(before("charging_sessions", "charging_periods"));
        assert!(before("users", "driver_sessions"));
        assert!(before("connector_status", "status_events"));
    }
}
