//! Live as the storage of the T/CEC platform side: credentials, tokens, live status and
//! pushed stations, each written durably before the adapter answers.

use evgrid_model::time::unix_now;
use evgrid_model::{
    Fen, Operator, OperatorCredentials, OperatorId, SessionUpdate, Station, WattHours,
};
use evgrid_model::{OrderCheck, StatusRecord};
use evgrid_tcec::platform::{
    Backend, Gate, OrderCheckSummary, Outcome, PushId, StatusPush, StorageError,
};

use super::Live;
use crate::AppError;

/// 32 hexadecimal characters from the system's random source.
fn random_token() -> Result<String, StorageError> {
    crate::random_hex(16)
        .map_err(|e| StorageError::Failed(format!("no randomness for a token: {e}")))
}

impl Gate for Live {
    async fn credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, StorageError> {
        if let Some(found) = self.recent_credentials.get(id) {
            return Ok(Some(found));
        }
        let found = self
            .operator_credentials(id)
            .await
            .map_err(|e| StorageError::Failed(e.to_string()))?;
        if let Some(credentials) = &found {
            self.recent_credentials.put(id.clone(), credentials.clone());
        }
        Ok(found)
    }

    async fn issue_token(
        &self,
        id: &OperatorId,
        seconds: i64,
    ) -> Result<(String, i64), StorageError> {
        let token = random_token()?;
        // Stored sealed: the stored form of the token that is answered is opened.
        let (stored, left) = self
            .store
            .issue_token(id, &self.seal(&token), seconds)
            .await
            .map_err(StorageError::from)?;
        let token = self
            .unseal(&stored)
            .map_err(|e| StorageError::Failed(e.to_string()))?;
        Ok((token, left))
    }

    async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, StorageError> {
        let token = token.to_owned();
        if let Some(owner) = self.recent_token_owners.get(&token) {
            return Ok(Some(owner));
        }
        let owner = self
            .store
            .token_owner(&self.seal(&token))
            .await
            .map_err(StorageError::from)?;
        if let Some(owner) = &owner {
            self.recent_token_owners.put(token, owner.clone());
        }
        Ok(owner)
    }

    fn record(&self, outcome: &Outcome<'_>) {
        self.count_message(outcome);
    }

    fn max_clock_skew(&self) -> Option<i64> {
        self.max_clock_skew
    }

    fn push_keys_kept_for(&self) -> Option<i64> {
        Some(self.retention.push_keys)
    }
}

impl Backend for Live {
    async fn apply_statuses(
        &self,
        push: &PushId,
        statuses: &[StatusPush],
    ) -> Result<bool, StorageError> {
        let observed_at = unix_now();
        let records: Vec<StatusRecord> = statuses
            .iter()
            .map(|s| StatusRecord {
                connector_id: s.connector_id.clone(),
                status: s.status,
                raw_status: s.raw_status,
                park_status: s.park_status,
                lock_status: s.lock_status,
                observed_at,
                source: evgrid_model::StatusSource::TcecPush,
            })
            .collect();
        let count = records.len();
        let applied = self.apply_status_push(push, records).await?;
        tracing::debug!(operator_id = %push.operator_id, statuses = count, applied, "status push");
        Ok(applied)
    }

    async fn apply_station(&self, push: &PushId, station: Station) -> Result<bool, StorageError> {
        // A name equal to the id leaves the operator's registered name as it is.
        let operator = Operator {
            id: push.operator_id.clone(),
            name: push.operator_id.to_string(),
        };
        match self
            .network
            .store_stations(&[operator], vec![station])
            .await
        {
            Ok(_) => Ok(true),
            Err(AppError::Store(e)) => Err(e.into()),
            Err(AppError::Invalid(m)) => Err(StorageError::Invalid(m)),
            Err(e @ (AppError::Secret(_) | AppError::Drawing(_) | AppError::Background(_))) => {
                Err(StorageError::Failed(e.to_string()))
            }
        }
    }

    async fn apply_session(
        &self,
        push: &PushId,
        update: SessionUpdate,
    ) -> Result<bool, StorageError> {
        let applied = self
            .store
            .apply_charging_session(push, &update)
            .await
            .map_err(StorageError::from)?;
        tracing::debug!(operator_id = %push.operator_id, session = %update.session_ref, applied, "session update");
        Ok(applied)
    }

    async fn final_orders(
        &self,
        push: &PushId,
        session_refs: &[String],
    ) -> Result<Vec<Option<(WattHours, Fen)>>, StorageError> {
        self.store
            .final_orders(&push.operator_id, session_refs)
            .await
            .map_err(StorageError::from)
    }

    async fn record_order_check(
        &self,
        push: &PushId,
        check: OrderCheckSummary,
    ) -> Result<bool, StorageError> {
        let record = OrderCheck {
            check_ref: check.check_ref,
            period_start: check.period_start,
            period_end: check.period_end,
            order_count: check.order_count,
            disputed: check.disputed,
        };
        self.store
            .record_order_check(push, &record)
            .await
            .map_err(StorageError::from)
    }
}
