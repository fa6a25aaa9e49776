//! Live connector status.

use super::*;

/// Records a push and applies its statuses inside `tx`: `false` for a duplicate push (nothing
/// applied), [`StoreError::Unknown`] for a connector the operator does not have.
async fn push_statuses(
    tx: &mut Tx<'_>,
    push: &PushId,
    statuses: &[StatusRecord],
) -> Result<bool, StoreError> {
    if !record_push(tx, push).await? {
        return Ok(false);
    }
    // Every connector is checked in one query before anything is written.
    let ids: Vec<&str> = statuses.iter().map(|s| s.connector_id.as_str()).collect();
    let ids = serde_json::to_string(&ids)
        .map_err(|e| StoreError::Unknown(format!("connector ids: {e}")))?;
    let known: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT connector_id FROM connectors WHERE operator_id = $1 AND {}",
        Db::text_among_json("connector_id", 2)
    ))
    .bind(push.operator_id.as_str())
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    if let Some(st) = statuses.iter().find(|s| !known.contains(&s.connector_id)) {
        return Err(StoreError::Unknown(format!(
            "unknown ConnectorID {} for operator {}; push its station first",
            st.connector_id, push.operator_id
        )));
    }
    for st in statuses {
        upsert_status(tx, push.operator_id.as_str(), st).await?;
    }
    Ok(true)
}

/// A stored status row.
fn status_record(r: &DbRow) -> Result<StatusRecord, StoreError> {
    let status: String = r.try_get("status")?;
    let source: String = r.try_get("source")?;
    Ok(StatusRecord {
        connector_id: r.try_get("connector_id")?,
        status: evgrid_model::ConnectorStatus::from_name(&status),
        raw_status: r.try_get("raw_status")?,
        park_status: r.try_get("park_status")?,
        lock_status: r.try_get("lock_status")?,
        observed_at: r.try_get::<UnixTime, _>("observed_at")?.0,
        source: StatusSource::from_name(&source)
            .ok_or_else(|| corrupt("connector_status", format!("source {source}")))?,
    })
}

/// Writes a connector's latest status as pushed (the push is the newest word on it).
async fn upsert_status(
    tx: &mut Tx<'_>,
    operator_id: &str,
    st: &StatusRecord,
) -> Result<(), StoreError> {
    let row = [(operator_id, st)];
    bind_statuses(
        sqlx::query(
            "INSERT INTO connector_status (operator_id, connector_id, status, raw_status, park_status,
               lock_status, observed_at, source)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
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

/// Most rows in one statement of [`status_upsert_sql`] (8 parameters each; SQLite allows
/// 32,766 parameters, PostgreSQL 65,535).
pub(crate) const STATUS_ROWS_PER_STATEMENT: usize = 400;

/// The statements that write `rows` statuses, [`STATUS_ROWS_PER_STATEMENT`] rows per `INSERT`,
/// skipping any connector whose stored status was observed later. Parameters are spelled by
/// the dialect's `batch_param` (each statement numbers its own).
pub(crate) fn status_upsert_sql(rows: usize) -> String {
    let mut sql = String::new();
    let mut left = rows;
    while left > 0 {
        let n = left.min(STATUS_ROWS_PER_STATEMENT);
        left -= n;
        sql.push_str(
            "INSERT INTO connector_status (operator_id, connector_id, status, raw_status, park_status,
               lock_status, observed_at, source) VALUES ",
        );
        sql.push_str(&value_rows(n, 8));
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
pub(crate) fn bind_statuses<'q>(
    mut q: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    rows: &'q [(&'q str, &'q StatusRecord)],
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
    for (id, st) in rows {
        q = q
            .bind(*id)
            .bind(&st.connector_id)
            .bind(st.status.as_str())
            .bind(st.raw_status)
            .bind(st.park_status)
            .bind(st.lock_status)
            .bind(UnixTime(st.observed_at))
            .bind(st.source.as_str());
    }
    q
}

/// Writes statuses of (operator, record) inside `tx`, skipping any connector whose stored
/// status was observed later. Returns the rows written.
async fn upsert_newer_statuses(
    tx: &mut Tx<'_>,
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

/// Rows split so that no connector appears twice in one part, each connector's rows in order
/// across the parts (usually one part), each part in connector order (so that transactions
/// side by side take their row locks in the same order).
fn layers<'a>(rows: &[(&'a str, &'a StatusRecord)]) -> Vec<Vec<(&'a str, &'a StatusRecord)>> {
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    let mut out: Vec<Vec<(&str, &StatusRecord)>> = Vec::new();
    for &(operator, st) in rows {
        let n = seen
            .entry((operator, st.connector_id.as_str()))
            .or_insert(0);
        if out.len() <= *n {
            out.push(Vec::new());
        }
        out[*n].push((operator, st));
        *n += 1;
    }
    for layer in &mut out {
        layer.sort_by(|a, b| (a.0, &a.1.connector_id).cmp(&(b.0, &b.1.connector_id)));
    }
    out
}

/// Records pushes in one statement; for each, in order, whether it is new (`false`: it was
/// recorded before, or earlier in the same list).
async fn record_pushes<'p>(
    tx: &mut Tx<'_>,
    pushes: impl Iterator<Item = &'p PushId>,
) -> Result<Vec<bool>, StoreError> {
    let pushes: Vec<&PushId> = pushes.collect();
    let mut fresh = Vec::with_capacity(pushes.len());
    let now = UnixTime(unix_now());
    for chunk in pushes.chunks(STATUS_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO protocol_pushes (operator_id, interface, time_stamp, seq, received_at)
             VALUES {} ON CONFLICT DO NOTHING RETURNING operator_id, interface, time_stamp, seq",
            value_rows(chunk.len(), 5)
        );
        let mut q = sqlx::query_as::<_, (String, String, String, String)>(&sql);
        for push in chunk {
            q = q
                .bind(push.operator_id.as_str())
                .bind(push.interface)
                .bind(&push.time_stamp)
                .bind(&push.seq)
                .bind(now);
        }
        let mut inserted: std::collections::HashSet<(String, String, String, String)> =
            q.fetch_all(&mut **tx).await?.into_iter().collect();
        fresh.extend(chunk.iter().map(|push| {
            inserted.remove(&(
                push.operator_id.to_string(),
                push.interface.to_owned(),
                push.time_stamp.clone(),
                push.seq.clone(),
            ))
        }));
    }
    Ok(fresh)
}

#[async_trait]
impl StatusStore for Engine {
    async fn apply_statuses(
        &self,
        push: &PushId,
        statuses: &[StatusRecord],
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let applied = push_statuses(&mut tx, push, statuses).await?;
        if applied {
            tx.commit().await?;
        }
        Ok(applied)
    }

    async fn apply_statuses_many(
        &self,
        pushes: &[(&PushId, &[StatusRecord])],
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        // A few statements for the whole group, whatever its size: which connectors exist (one
        // query per operator), which pushes are new (one insert), the statuses (one upsert per
        // 400 rows). A push naming a connector its operator does not have is refused before
        // anything of it is written; the others are stored together.
        let mut tx = self.writer.begin().await?;
        let mut asked: HashMap<&str, Vec<&str>> = HashMap::new();
        for (push, statuses) in pushes {
            let ids = asked.entry(push.operator_id.as_str()).or_default();
            ids.extend(statuses.iter().map(|s| s.connector_id.as_str()));
        }
        let mut known: std::collections::HashSet<(String, String)> = Default::default();
        for (operator, ids) in &asked {
            let ids = serde_json::to_string(ids)
                .map_err(|e| StoreError::Unknown(format!("connector ids: {e}")))?;
            let found: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT connector_id FROM connectors WHERE operator_id = $1 AND {}",
                Db::text_among_json("connector_id", 2)
            ))
            .bind(*operator)
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
            known.extend(found.into_iter().map(|c| ((*operator).to_owned(), c)));
        }
        let mut out: Vec<Option<Result<bool, StoreError>>> = Vec::with_capacity(pushes.len());
        let mut valid = Vec::with_capacity(pushes.len());
        for (i, (push, statuses)) in pushes.iter().enumerate() {
            let operator = push.operator_id.as_str();
            match statuses
                .iter()
                .find(|s| !known.contains(&(operator.to_owned(), s.connector_id.clone())))
            {
                Some(st) => out.push(Some(Err(StoreError::Unknown(format!(
                    "unknown ConnectorID {} for operator {operator}; push its station first",
                    st.connector_id
                ))))),
                None => {
                    out.push(None);
                    valid.push(i);
                }
            }
        }
        let fresh = record_pushes(&mut tx, valid.iter().map(|&i| pushes[i].0)).await?;
        let mut rows: Vec<(&str, &StatusRecord)> = Vec::new();
        for (&i, is_new) in valid.iter().zip(fresh) {
            let (push, statuses) = pushes[i];
            if is_new {
                rows.extend(statuses.iter().map(|s| (push.operator_id.as_str(), s)));
            }
            out[i] = Some(Ok(is_new));
        }
        // A statement may not write one connector twice (PostgreSQL): a connector's later
        // statuses of the group go in later statements, in order, so the history sees each.
        for layer in layers(&rows) {
            upsert_newer_statuses(&mut tx, &layer).await?;
        }
        tx.commit().await?;
        Ok(out.into_iter().map(|o| o.unwrap_or(Ok(false))).collect())
    }

    async fn status_counts(
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
        let stale: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM connector_status cs JOIN connectors c
               ON cs.operator_id = c.operator_id AND cs.connector_id = c.connector_id
             LEFT JOIN operator_credentials oc ON oc.operator_id = cs.operator_id
             WHERE {} < $1 - COALESCE(oc.stale_after_seconds, $2)",
            Db::epoch("cs.observed_at")
        ))
        .bind(now)
        .bind(default_stale_after)
        .fetch_one(&self.pool)
        .await?;
        Ok((counts, stale))
    }

    async fn operator_connector_status(
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
        .bind(UnixTime(stale_before))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn station_statuses(&self, key: &StationKey) -> Result<Vec<StatusRecord>, StoreError> {
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
        rows.iter().map(status_record).collect()
    }

    async fn operator_statuses(&self, id: &OperatorId) -> Result<Vec<StatusRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM connector_status WHERE operator_id = $1")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(status_record).collect()
    }

    async fn put_statuses_of_many(
        &self,
        statuses: &[(OperatorId, StatusRecord)],
    ) -> Result<(), StoreError> {
        if statuses.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&str, &StatusRecord)> =
            statuses.iter().map(|(id, st)| (id.as_str(), st)).collect();
        self.write_status_batch(&rows).await
    }

    async fn put_statuses(
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

    async fn station_live(
        &self,
        pks: &[i64],
        now: i64,
        default_stale_after: i64,
        counted: &evgrid_model::stats::ConnectorCriteria,
    ) -> Result<Vec<evgrid_model::stats::StationLive>, StoreError> {
        let ids = format!(
            "[{}]",
            pks.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        let rows: Vec<(i64, Option<String>, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT s.id, s.business_hours, COUNT(c.id),
                    COALESCE(SUM(CASE WHEN cs.status = 'available'
                        AND {observed} >= $2 - COALESCE(oc.stale_after_seconds, $3) THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN cs.status IS NOT NULL
                        AND {observed} < $2 - COALESCE(oc.stale_after_seconds, $3) THEN 1 ELSE 0 END), 0)
             FROM stations s
             LEFT JOIN connectors c ON c.station_pk = s.id
               AND ($4 IS NULL OR c.connector_type = $4)
               AND ($5 IS NULL OR (c.connector_type = 4) = $5)
               AND ($6 IS NULL OR c.power_w >= $6)
             LEFT JOIN connector_status cs
               ON cs.operator_id = c.operator_id AND cs.connector_id = c.connector_id
             LEFT JOIN operator_credentials oc ON oc.operator_id = s.operator_id
             WHERE s.id IN ({})
             GROUP BY s.id",
            Db::ids_in_json(1),
            observed = Db::epoch("cs.observed_at")
        ))
        .bind(&ids)
        .bind(now)
        .bind(default_stale_after)
        .bind(counted.connector_type)
        .bind(counted.dc)
        .bind(counted.min_power_w)
        .fetch_all(&self.pool)
        .await?;
        let periods: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT station_pk, start_second, electricity_centifen, service_centifen
             FROM tariff_periods WHERE station_pk IN ({})
             ORDER BY station_pk, start_second",
            Db::ids_in_json(1)
        ))
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(pk, business_hours, connectors, free, stale)| evgrid_model::stats::StationLive {
                    pk,
                    connectors,
                    free,
                    stale,
                    business_hours,
                    tariff: periods
                        .iter()
                        .filter(|p| p.0 == pk)
                        .map(|p| (u32::try_from(p.1).unwrap_or(0), p.2, p.3))
                        .collect(),
                },
            )
            .collect())
    }
}
