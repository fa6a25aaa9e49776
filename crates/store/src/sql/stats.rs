//! The regulator's statistics.

use super::*;

use std::str::FromStr;

use evgrid_model::Category;

const POWER_CLASS: &str = "CASE WHEN e.power_w <= 7000 THEN '0-7kW'
    WHEN e.power_w <= 30000 THEN '7-30kW' WHEN e.power_w <= 60000 THEN '30-60kW'
    WHEN e.power_w <= 120000 THEN '60-120kW' WHEN e.power_w <= 240000 THEN '120-240kW'
    ELSE '240kW+' END";
const CURRENT: &str = "CASE e.equipment_type WHEN 1 THEN 'dc' WHEN 2 THEN 'ac'
    WHEN 3 THEN 'ac_dc' WHEN 4 THEN 'wireless' ELSE 'other' END";
const STANDARD: &str = "(CASE c.national_standard WHEN 1 THEN '2011' WHEN 2 THEN '2015'
    ELSE 'other' END) || ':' || c.connector_type";

fn usage_key(key: UsageKey) -> &'static str {
    match key {
        UsageKey::Station => "s.operator_id || ':' || s.station_id",
        UsageKey::County => "s.county_code",
        UsageKey::Operator => "s.operator_id",
    }
}

fn category(text: &str, table: &'static str) -> Result<Category, StoreError> {
    Category::from_str(text).map_err(|e| corrupt(table, e))
}

fn merge(rows: &mut Vec<BreakdownRow>, key: Option<String>) -> &mut BreakdownRow {
    let at = match rows.iter().position(|r| r.key == key) {
        Some(i) => i,
        None => {
            rows.push(BreakdownRow {
                key,
                ..BreakdownRow::default()
            });
            rows.len() - 1
        }
    };
    &mut rows[at]
}

#[async_trait]
impl StatisticsStore for Engine {
    async fn breakdown(&self, by: Dimension) -> Result<Vec<BreakdownRow>, StoreError> {
        let mut out: Vec<BreakdownRow> = Vec::new();
        // (key, category, stations, piles, connectors); connectors may come from a second query.
        let station_level = |key: &str| {
            format!(
                "SELECT {key} AS k, category, COUNT(*), {}, {}
                 FROM stations GROUP BY 1, 2",
                Db::sum_int("pile_count"),
                Db::sum_int("connector_count")
            )
        };
        let (main, connectors) = match by {
            Dimension::Category => (station_level("category"), None),
            Dimension::County => (station_level("county_code"), None),
            Dimension::Township => (station_level("township_code"), None),
            Dimension::Operator => (station_level("operator_id"), None),
            Dimension::PowerClass | Dimension::Current => {
                let key = if by == Dimension::PowerClass {
                    POWER_CLASS
                } else {
                    CURRENT
                };
                (
                    format!(
                        "SELECT {key} AS k, s.category, COUNT(DISTINCT s.id), COUNT(*), CAST(0 AS BIGINT)
                         FROM equipment e JOIN stations s ON s.id = e.station_pk GROUP BY 1, 2"
                    ),
                    Some(format!(
                        "SELECT {key} AS k, s.category, COUNT(*) FROM connectors c
                         JOIN equipment e ON e.id = c.equipment_pk
                         JOIN stations s ON s.id = c.station_pk GROUP BY 1, 2"
                    )),
                )
            }
            Dimension::ConnectorStandard => (
                format!(
                    "SELECT {STANDARD} AS k, s.category, COUNT(DISTINCT s.id),
                            COUNT(DISTINCT c.equipment_pk), COUNT(*)
                     FROM connectors c JOIN stations s ON s.id = c.station_pk GROUP BY 1, 2"
                ),
                None,
            ),
        };
        let rows: Vec<(Option<String>, String, i64, i64, i64)> =
            sqlx::query_as(&main).fetch_all(&self.pool).await?;
        for (key, cat, stations, piles, connectors) in rows {
            let cat = category(&cat, "stations")?;
            let row = merge(&mut out, key);
            row.stations.add(cat, stations);
            row.piles.add(cat, piles);
            row.connectors.add(cat, connectors);
        }
        if let Some(sql) = connectors {
            let rows: Vec<(Option<String>, String, i64)> =
                sqlx::query_as(&sql).fetch_all(&self.pool).await?;
            for (key, cat, n) in rows {
                let cat = category(&cat, "stations")?;
                merge(&mut out, key).connectors.add(cat, n);
            }
        }
        if by == Dimension::PowerClass {
            // By power, not by the text of the class.
            let lower = |k: &Option<String>| -> u32 {
                k.as_deref()
                    .and_then(|k| k.split(['-', 'k']).next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(u32::MAX)
            };
            out.sort_by_key(|r| lower(&r.key));
        } else {
            out.sort_by(|a, b| a.key.cmp(&b.key));
        }
        Ok(out)
    }

    async fn take_snapshot(&self, now: i64) -> Result<String, StoreError> {
        let day = evgrid_model::time::china_day(now);
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM daily_snapshots WHERE day = $1")
            .bind(&day)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO daily_snapshots (day, category, stations, piles, connectors, taken_at)
             SELECT $1, category, COUNT(*), {}, {}, $2
             FROM stations GROUP BY category",
            Db::sum_int("pile_count"),
            Db::sum_int("connector_count")
        ))
        .bind(&day)
        .bind(UnixTime(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(day)
    }

    async fn snapshots(&self) -> Result<Vec<SnapshotRow>, StoreError> {
        let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT day, category, stations, piles, connectors FROM daily_snapshots
             ORDER BY day, category",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<SnapshotRow> = Vec::new();
        for (day, cat, stations, piles, connectors) in rows {
            let cat = category(&cat, "daily_snapshots")?;
            if out.last().is_none_or(|r| r.day != day) {
                out.push(SnapshotRow {
                    day: day.clone(),
                    stations: CategoryCounts::default(),
                    piles: CategoryCounts::default(),
                    connectors: CategoryCounts::default(),
                });
            }
            if let Some(r) = out.last_mut() {
                r.stations.add(cat, stations);
                r.piles.add(cat, piles);
                r.connectors.add(cat, connectors);
            }
        }
        Ok(out)
    }

    async fn usage(
        &self,
        key: UsageKey,
        bucket: Bucket,
        from: i64,
        to: i64,
        now: i64,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let charging = Db::greatest(
            "0",
            &format!(
                "{} - {}",
                Db::least(&format!("COALESCE({}, $3)", Db::epoch("cs.ended_at")), "$2"),
                Db::greatest(&Db::epoch("cs.started_at"), "$1")
            ),
        );
        let sql = format!(
            "SELECT {k} AS k, {b} AS b, COUNT(*), COALESCE({energy}, 0), COALESCE({time}, 0)
             FROM charging_sessions cs
             JOIN connectors c ON c.operator_id = cs.operator_id AND c.connector_id = cs.connector_id
             JOIN stations s ON s.id = c.station_pk
             WHERE {started} >= $1 AND {started} < $2
             GROUP BY 1, 2 ORDER BY 1, 2",
            k = usage_key(key),
            b = Db::china_bucket("cs.started_at", bucket == Bucket::Hour),
            started = Db::epoch("cs.started_at"),
            energy = Db::sum_int("cs.energy_wh"),
            time = Db::sum_int(&charging),
        );
        let rows: Vec<(Option<String>, String, i64, i64, i64)> = sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(key, bucket, sessions, energy_wh, charging_seconds)| UsageRow {
                    key,
                    bucket,
                    sessions,
                    energy_wh,
                    charging_seconds,
                },
            )
            .collect())
    }

    async fn connectors_by(&self, key: UsageKey) -> Result<Vec<(Option<String>, i64)>, StoreError> {
        let sql = format!(
            "SELECT {k}, COUNT(*) FROM connectors c JOIN stations s ON s.id = c.station_pk
             GROUP BY 1 ORDER BY 1",
            k = usage_key(key)
        );
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    async fn faults(
        &self,
        key: UsageKey,
        from: i64,
        to: i64,
        now: i64,
    ) -> Result<Vec<FaultRow>, StoreError> {
        let k = usage_key(key);
        let online = Db::sum_int(
            "CASE WHEN cs.status IS NOT NULL AND cs.status NOT IN ('offline', 'faulted')
                        THEN 1 ELSE 0 END",
        );
        let state_sql = format!(
            "SELECT {k} AS k, COUNT(*), {online}
             FROM connectors c JOIN stations s ON s.id = c.station_pk
             LEFT JOIN connector_status cs
               ON cs.operator_id = c.operator_id AND cs.connector_id = c.connector_id
             GROUP BY 1 ORDER BY 1"
        );
        let states: Vec<(Option<String>, i64, i64)> =
            sqlx::query_as(&state_sql).fetch_all(&self.pool).await?;
        let fault_sql = format!(
            "WITH ev AS (
                SELECT operator_id, connector_id, status, at,
                       LEAD({at}) OVER (PARTITION BY operator_id, connector_id ORDER BY at, {order}) AS next_at,
                       {at} AS at_s
                FROM status_events)
             SELECT {k} AS k, COUNT(*), {faulted}, {repaired}, {repair_time}
             FROM ev
             JOIN connectors c ON c.operator_id = ev.operator_id AND c.connector_id = ev.connector_id
             JOIN stations s ON s.id = c.station_pk
             WHERE ev.status = 'faulted' AND ev.at_s < $2 AND COALESCE(ev.next_at, $3) > $1
             GROUP BY 1",
            order = Db::INSERTION_ORDER,
            at = Db::epoch("at"),
            faulted = Db::sum_int(&format!(
                "{} - {}",
                Db::least("COALESCE(ev.next_at, $3)", "$2"),
                Db::greatest("ev.at_s", "$1")
            )),
            repaired = Db::sum_int("CASE WHEN ev.next_at IS NOT NULL THEN 1 ELSE 0 END"),
            repair_time = Db::sum_int(
                "CASE WHEN ev.next_at IS NOT NULL THEN ev.next_at - ev.at_s ELSE 0 END"
            ),
        );
        let faults: Vec<(Option<String>, i64, i64, i64, i64)> = sqlx::query_as(&fault_sql)
            .bind(from)
            .bind(to)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<FaultRow> = states
            .into_iter()
            .map(|(key, connectors, online)| FaultRow {
                key,
                connectors,
                online,
                ..FaultRow::default()
            })
            .collect();
        for (key, n, seconds, repaired, repair_seconds) in faults {
            if let Some(row) = out.iter_mut().find(|r| r.key == key) {
                row.faults = n;
                row.fault_seconds = seconds;
                row.repaired = repaired;
                row.repair_seconds = repair_seconds;
            }
        }
        Ok(out)
    }

    async fn targets(&self) -> Result<Vec<Target>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, name_zh, name_en, unit, value, baseline, start_day, deadline, measure,
                    source, parent_id FROM targets ORDER BY {}",
            Db::INSERTION_ORDER
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Target {
                    id: r.try_get("id")?,
                    name_zh: r.try_get("name_zh")?,
                    name_en: r.try_get("name_en")?,
                    unit: r.try_get("unit")?,
                    value: r.try_get("value")?,
                    baseline: r.try_get("baseline")?,
                    start_day: r.try_get("start_day")?,
                    deadline: r.try_get("deadline")?,
                    measure: r.try_get("measure")?,
                    source: r.try_get("source")?,
                    parent_id: r.try_get("parent_id")?,
                })
            })
            .collect()
    }

    async fn put_target(&self, t: &Target) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO targets (id, name_zh, name_en, unit, value, baseline, start_day, deadline,
                                  measure, source, parent_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
               unit = excluded.unit, value = excluded.value, baseline = excluded.baseline,
               start_day = excluded.start_day, deadline = excluded.deadline,
               measure = excluded.measure, source = excluded.source, parent_id = excluded.parent_id",
        )
        .bind(&t.id)
        .bind(&t.name_zh)
        .bind(&t.name_en)
        .bind(&t.unit)
        .bind(t.value)
        .bind(t.baseline)
        .bind(&t.start_day)
        .bind(&t.deadline)
        .bind(&t.measure)
        .bind(&t.source)
        .bind(&t.parent_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn progress(&self) -> Result<Vec<ProgressRow>, StoreError> {
        let rows: Vec<(String, String, f64, String)> = sqlx::query_as(
            "SELECT target_id, day, value, source FROM target_progress ORDER BY target_id, day",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(target_id, day, value, source)| ProgressRow {
                target_id,
                day,
                value,
                source,
            })
            .collect())
    }

    async fn put_progress(&self, rows: &[ProgressRow]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO target_progress (target_id, day, value, source) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (target_id, day) DO UPDATE SET value = excluded.value, source = excluded.source",
            )
            .bind(&r.target_id)
            .bind(&r.day)
            .bind(r.value)
            .bind(&r.source)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
