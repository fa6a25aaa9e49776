//! Operators' charging sessions: merged from each message, only moving forward, with the push
//! recorded in the same transaction so a duplicate is never applied twice.

use std::sync::LazyLock;

use evgrid_model::plausibility;

use super::*;

/// A session with its periods in one row (`period_rows`: one `a,b,…` text per period, `;`
/// between them), so that reading a session is one query: it is on the way of every OCPP meter
/// message.
pub(super) static SESSION_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT s.*,
                (SELECT {} FROM (
                   SELECT {} || ',' || {} || ',' || electricity_price || ',' ||
                          service_price || ',' || energy_wh || ',' || electricity_fen || ',' ||
                          service_fen AS period_row, period_no
                   FROM charging_periods p
                   WHERE p.operator_id = s.operator_id AND p.session_ref = s.session_ref) q)
                  AS period_rows
         FROM charging_sessions s",
        Db::string_agg("period_row", ";", "period_no"),
        Db::epoch("starts_at"),
        Db::epoch("ends_at")
    )
});

/// Most keys one statement looks up (two parameters each).
pub(super) const KEYS_PER_STATEMENT: usize = 1000;

/// A session row of [`SESSION_SELECT`].
pub(super) fn session_of_row(r: &DbRow) -> Result<ChargingSession, StoreError> {
    let state: String = r.try_get("state")?;
    let period_rows: Option<String> = r.try_get("period_rows")?;
    let periods = period_rows
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .filter(|row| !row.is_empty())
        .map(|row| {
            let n: Vec<i64> = row
                .split(',')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| corrupt("charging_periods", format!("row {row}")))?;
            let [starts_at, ends_at, electricity, service, wh, electricity_fen, service_fen] =
                n[..]
            else {
                return Err(corrupt("charging_periods", format!("row {row}")));
            };
            Ok(ChargePeriod {
                starts_at,
                ends_at,
                electricity_price: PricePerKwh(electricity),
                service_price: PricePerKwh(service),
                energy: WattHours(wh),
                electricity_money: Fen(electricity_fen),
                service_money: Fen(service_fen),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ChargingSession {
        operator_id: r.try_get("operator_id")?,
        session_ref: r.try_get("session_ref")?,
        connector_id: r.try_get("connector_id")?,
        state: SessionState::from_name(&state)
            .ok_or_else(|| corrupt("charging_sessions", format!("state {state}")))?,
        started_at: r.try_get::<Option<UnixTime>, _>("started_at")?.map(|t| t.0),
        ended_at: r.try_get::<Option<UnixTime>, _>("ended_at")?.map(|t| t.0),
        updated_at: r.try_get::<UnixTime, _>("updated_at")?.0,
        energy: r.try_get::<Option<i64>, _>("energy_wh")?.map(WattHours),
        soc: r.try_get("soc")?,
        electricity_money: r.try_get::<Option<i64>, _>("electricity_fen")?.map(Fen),
        service_money: r.try_get::<Option<i64>, _>("service_fen")?.map(Fen),
        total_money: r.try_get::<Option<i64>, _>("total_fen")?.map(Fen),
        stop_reason: r.try_get("stop_reason")?,
        fail_reason: r.try_get("fail_reason")?,
        order_received_at: r
            .try_get::<Option<UnixTime>, _>("order_received_at")?
            .map(|t| t.0),
        dispute: r.try_get("dispute")?,
        meter_start: r
            .try_get::<Option<i64>, _>("meter_start_wh")?
            .map(WattHours),
        periods,
    })
}

#[async_trait]
impl ChargingSessionStore for Engine {
    async fn apply_charging_session(
        &self,
        push: &PushId,
        u: &SessionUpdate,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let applied = apply_session_in(&mut tx, push, u).await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn apply_charging_sessions_many(
        &self,
        messages: &[(&PushId, &SessionUpdate)],
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let mut out = Vec::with_capacity(messages.len());
        for (push, update) in messages {
            match apply_session_in(&mut tx, push, update).await {
                Err(StoreError::Unknown(m)) => out.push(Err(StoreError::Unknown(m))),
                Err(e) => return Err(e),
                applied => out.push(applied),
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn charging_session(
        &self,
        operator_id: &OperatorId,
        session_ref: &str,
    ) -> Result<Option<ChargingSession>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "{} WHERE s.operator_id = $1 AND s.session_ref = $2",
                *SESSION_SELECT
            )
        });
        sqlx::query(&SQL)
            .bind(operator_id.as_str())
            .bind(session_ref)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(session_of_row)
            .transpose()
    }

    async fn recent_charging_sessions(
        &self,
        operator_id: &OperatorId,
        connector_prefix: &str,
        limit: i64,
    ) -> Result<Vec<ChargingSession>, StoreError> {
        let sql = format!(
            "{} WHERE s.operator_id = $1 AND substr(s.connector_id, 1, length($2)) = $2
             ORDER BY s.updated_at DESC, s.session_ref DESC LIMIT $3",
            *SESSION_SELECT
        );
        sqlx::query(&sql)
            .bind(operator_id.as_str())
            .bind(connector_prefix)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(session_of_row)
            .collect()
    }

    async fn charging_sessions(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<ChargingSession>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let sql = format!(
                "{} WHERE (s.operator_id, s.session_ref) IN (VALUES {})",
                *SESSION_SELECT,
                value_rows(chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql);
            for (operator, session_ref) in chunk {
                q = q.bind(operator).bind(session_ref);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(session_of_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn final_orders(
        &self,
        operator_id: &OperatorId,
        session_refs: &[String],
    ) -> Result<Vec<Option<(WattHours, Fen)>>, StoreError> {
        let refs = serde_json::to_string(session_refs)
            .map_err(|e| StoreError::Unknown(format!("session references: {e}")))?;
        let rows: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT session_ref, energy_wh, total_fen FROM charging_sessions
             WHERE operator_id = $1 AND order_received_at IS NOT NULL
               AND {}",
            Db::text_among_json("session_ref", 2)
        ))
        .bind(operator_id.as_str())
        .bind(refs)
        .fetch_all(&self.pool)
        .await?;
        let found: HashMap<String, (WattHours, Fen)> = rows
            .into_iter()
            .map(|(r, e, m)| (r, (WattHours(e.unwrap_or(0)), Fen(m.unwrap_or(0)))))
            .collect();
        Ok(session_refs.iter().map(|r| found.get(r).copied()).collect())
    }

    async fn record_order_check(
        &self,
        push: &PushId,
        check: &OrderCheck,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        if !record_push(&mut tx, push).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO order_checks (operator_id, check_ref, period_start, period_end,
               order_count, disputed, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (operator_id, check_ref) DO UPDATE SET order_count = excluded.order_count,
               disputed = excluded.disputed, received_at = excluded.received_at",
        )
        .bind(push.operator_id.as_str())
        .bind(&check.check_ref)
        .bind(&check.period_start)
        .bind(&check.period_end)
        .bind(check.order_count)
        .bind(check.disputed)
        .bind(UnixTime(unix_now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// What a session message needs to know of the stored session and its connector.
#[derive(sqlx::FromRow)]
struct SessionBefore {
    known: bool,
    rated_power_w: Option<i64>,
    connector_id: Option<String>,
    order_at: Option<UnixTime>,
    started_at: Option<UnixTime>,
    ended_at: Option<UnixTime>,
    energy: Option<i64>,
    dispute: Option<String>,
}

/// A figure that a live message may only move forward: a replayed or late message (lower
/// than what is stored) leaves it as it is; an operator's order sets it.
fn forward_only(column: &str) -> String {
    format!(
        "{column} = CASE WHEN excluded.{column} IS NULL THEN charging_sessions.{column}
                         WHEN excluded.order_received_at IS NOT NULL
                           OR charging_sessions.{column} IS NULL
                           OR excluded.{column} > charging_sessions.{column}
                         THEN excluded.{column} ELSE charging_sessions.{column} END"
    )
}

/// A fact the first message that tells it sets (a replay or a late message does not move it);
/// an operator's order corrects it.
fn first_unless_order(column: &str) -> String {
    format!(
        "{column} = CASE WHEN excluded.order_received_at IS NOT NULL
                         THEN COALESCE(excluded.{column}, charging_sessions.{column})
                         ELSE COALESCE(charging_sessions.{column}, excluded.{column}) END"
    )
}

/// Inserts a session or merges a message into it: the state only moves forward (`$20`: the
/// message says a state), figures only grow until the order, the first meter start stays.
static UPSERT_SESSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO charging_sessions (operator_id, session_ref, connector_id, state, state_rank,
           raw_state, started_at, ended_at, updated_at, energy_wh, soc, electricity_fen,
           service_fen, total_fen, stop_reason, fail_reason, order_received_at, dispute, source,
           meter_start_wh)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $21)
         ON CONFLICT (operator_id, session_ref) DO UPDATE SET
           connector_id = CASE WHEN charging_sessions.connector_id LIKE '%-0'
                                AND excluded.source = 'ocpp'
                               THEN excluded.connector_id ELSE charging_sessions.connector_id END,
           state = CASE WHEN $20 AND excluded.state_rank > charging_sessions.state_rank
                        THEN excluded.state ELSE charging_sessions.state END,
           state_rank = CASE WHEN $20 AND excluded.state_rank > charging_sessions.state_rank
                        THEN excluded.state_rank ELSE charging_sessions.state_rank END,
           raw_state = CASE WHEN $20 AND excluded.state_rank >= charging_sessions.state_rank
                        THEN COALESCE(excluded.raw_state, charging_sessions.raw_state)
                        ELSE charging_sessions.raw_state END,
           {}, {}, {},
           updated_at = excluded.updated_at,
           {}, {}, {}, {}, {},
           fail_reason = COALESCE(excluded.fail_reason, charging_sessions.fail_reason),
           order_received_at = COALESCE(excluded.order_received_at, charging_sessions.order_received_at),
           meter_start_wh = COALESCE(charging_sessions.meter_start_wh, excluded.meter_start_wh),
           dispute = excluded.dispute",
        first_unless_order("started_at"),
        first_unless_order("ended_at"),
        first_unless_order("stop_reason"),
        forward_only("energy_wh"),
        forward_only("soc"),
        forward_only("electricity_fen"),
        forward_only("service_fen"),
        forward_only("total_fen"),
    )
});

/// Records the push and merges one session message inside `tx` (see
/// [`ChargingSessionStore::apply_charging_session`]); the caller commits.
async fn apply_session_in(
    tx: &mut Tx<'_>,
    push: &PushId,
    u: &SessionUpdate,
) -> Result<bool, StoreError> {
    // Everything that can refuse the message is checked before anything is written, so a
    // refused message leaves no trace without a savepoint of its own. In one query: whether
    // the connector is known (a station's, or a directly connected charger's not yet placed,
    // found by its key) and its rated power, and what the session already holds.
    let before: SessionBefore = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM connectors WHERE operator_id = $1 AND connector_id = $2
                        UNION ALL
                        SELECT 1 FROM chargers WHERE charger_id = $3 AND operator_id = $1) AS known,
                (SELECT power_w FROM connectors WHERE operator_id = $1 AND connector_id = $2)
                  AS rated_power_w,
                s.connector_id, s.order_received_at AS order_at, s.started_at, s.ended_at,
                s.energy_wh AS energy, s.dispute
         FROM (SELECT 1 AS one) o
         LEFT JOIN charging_sessions s ON s.operator_id = $1 AND s.session_ref = $4",
    )
    .bind(push.operator_id.as_str())
    .bind(&u.connector_id)
    .bind(evgrid_model::charger::charger_of_connector(&u.connector_id))
    .bind(&u.session_ref)
    .fetch_one(&mut **tx)
    .await?;
    if !before.known {
        return Err(StoreError::Unknown(format!(
            "unknown ConnectorID {} for operator {}",
            u.connector_id, push.operator_id
        )));
    }
    if let Some(connector) = &before.connector_id {
        // A charger's transaction started before its connector was known is bound by the first
        // message that names one of the same charger.
        let binding = u.source == Channel::Ocpp
            && evgrid_model::charger::is_unbound_connector(connector)
            && evgrid_model::charger::charger_of_connector(connector)
                == evgrid_model::charger::charger_of_connector(&u.connector_id);
        if *connector != u.connector_id && !binding {
            return Err(StoreError::Unknown(format!(
                "session {} is on connector {connector}, not {}",
                u.session_ref, u.connector_id
            )));
        }
    }
    if !record_push(tx, push).await? {
        return Ok(false);
    }
    // After the final order, only a corrected order changes the figures.
    if before.order_at.is_some() && !u.is_order {
        return Ok(true);
    }
    let now = unix_now();
    // The update is not copied for this: only its two times may change.
    let times = u.checked_times(now);
    let replaced_times = times.replaced;
    let finding = plausibility::implausibility(&plausibility::SessionEvidence {
        started_at: times.started_at.or(before.started_at.map(|t| t.0)),
        ended_at: times.ended_at.or(before.ended_at.map(|t| t.0)),
        // A live reading below the stored one is a late or replayed message (ignored by the
        // statement below, not a finding); an order below the live readings is one. OCPP's
        // register running back is found where the register is read (the charger's billing).
        energy_before: before.energy.map(WattHours).filter(|_| u.is_order),
        energy_now: u.energy,
        rated_power_w: before.rated_power_w,
        now,
    });
    // What this message was found to be. A session keeps the first finding of its live
    // messages (later ones are logged, so the text stays bounded); an order's dispute replaces
    // the one of an earlier order but keeps what the live messages were found to be.
    let found = plausibility::join_disputes(
        u.dispute.as_deref(),
        plausibility::join_disputes(replaced_times.as_deref(), finding.as_deref()).as_deref(),
    );
    let dispute = match (u.is_order, before.order_at.is_some()) {
        (true, true) => found,
        (true, false) => plausibility::join_disputes(before.dispute.as_deref(), found.as_deref()),
        (false, _) => before.dispute.clone().or(found),
    };
    if let Some(why) = finding.as_deref().or(replaced_times.as_deref()) {
        tracing::warn!(operator_id = %push.operator_id, session = %u.session_ref, %why, "implausible session message");
    }
    let state = u.state.unwrap_or(SessionState::Starting);
    sqlx::query(&UPSERT_SESSION)
        .bind(push.operator_id.as_str())
        .bind(&u.session_ref)
        .bind(&u.connector_id)
        .bind(state.as_str())
        .bind(state.rank())
        .bind(u.raw_state)
        .bind(times.started_at.map(UnixTime))
        .bind(times.ended_at.map(UnixTime))
        .bind(UnixTime(now))
        .bind(u.energy.map(|e| e.0))
        .bind(u.soc)
        .bind(u.electricity_money.map(|m| m.0))
        .bind(u.service_money.map(|m| m.0))
        .bind(u.total_money.map(|m| m.0))
        .bind(u.stop_reason)
        .bind(u.fail_reason)
        .bind(u.is_order.then_some(UnixTime(now)))
        .bind(&dispute)
        .bind(u.source.as_str())
        .bind(u.state.is_some())
        .bind(u.meter_start.map(|m| m.0))
        .execute(&mut **tx)
        .await?;
    // A live message older than what is stored (its energy below the stored energy) does not
    // replace the periods either.
    let newest = u.is_order
        || u.energy
            .is_none_or(|e| before.energy.is_none_or(|b| e.0 >= b));
    if let (Some(periods), true) = (&u.periods, newest) {
        sqlx::query("DELETE FROM charging_periods WHERE operator_id = $1 AND session_ref = $2")
            .bind(push.operator_id.as_str())
            .bind(&u.session_ref)
            .execute(&mut **tx)
            .await?;
        if !periods.is_empty() {
            // All periods in one statement.
            let sql = format!(
                "INSERT INTO charging_periods (operator_id, session_ref, period_no, starts_at,
                   ends_at, electricity_price, service_price, energy_wh, electricity_fen, service_fen)
                 VALUES {}",
                value_rows(periods.len(), 10)
            );
            let mut q = sqlx::query(&sql);
            for (i, p) in periods.iter().enumerate() {
                q = q
                    .bind(push.operator_id.as_str())
                    .bind(&u.session_ref)
                    .bind(i64::try_from(i).unwrap_or(i64::MAX))
                    .bind(UnixTime(p.starts_at))
                    .bind(UnixTime(p.ends_at))
                    .bind(p.electricity_price.0)
                    .bind(p.service_price.0)
                    .bind(p.energy.0)
                    .bind(p.electricity_money.0)
                    .bind(p.service_money.0);
            }
            q.execute(&mut **tx).await?;
        }
    }
    Ok(true)
}
