//! Siting plans run in the background: queued, their progress and result.

use super::*;

type PlanRow = (
    i64,
    String,
    String,
    String,
    String,
    f64,
    String,
    Option<f64>,
    Option<String>,
    Option<String>,
    UnixTime,
    UnixTime,
);

const PLAN_COLUMNS: &str = "id, owner, node_id, request, status, progress, phase, objective, \
                            error, result, created_at, updated_at";

fn plan_of(row: PlanRow) -> PlanRecord {
    let (id, owner, node_id, request, status, progress, phase, objective, error, result, c, u) =
        row;
    PlanRecord {
        id,
        owner,
        node_id,
        request,
        state: PlanState {
            status,
            progress,
            phase,
            objective,
            error,
            result,
        },
        created_at: c.0,
        updated_at: u.0,
    }
}

#[async_trait]
impl PlanStore for Engine {
    async fn queue_plan(
        &self,
        owner: &str,
        node: &str,
        request: &str,
        now: i64,
        limits: PlanLimits,
    ) -> Result<Result<i64, u32>, StoreError> {
        const PENDING: &str = "status IN ('queued', 'running') AND updated_at >= $1";
        let mut tx = self.writer.begin().await?;
        // One statement: the count and the insert cannot be separated by another node's.
        let id: Option<i64> = sqlx::query_scalar(&format!(
            "INSERT INTO plan_jobs (owner, node_id, request, status, progress, phase, created_at, updated_at)
             SELECT $3, $4, $5, 'queued', 0, 'queued', $6, $6
             WHERE (SELECT COUNT(*) FROM plan_jobs WHERE {PENDING}) < $2
             RETURNING id"
        ))
        .bind(UnixTime(limits.alive_since))
        .bind(i64::from(limits.most_pending))
        .bind(owner)
        .bind(node)
        .bind(request)
        .bind(UnixTime(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            let pending: i64 =
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM plan_jobs WHERE {PENDING}"))
                    .bind(UnixTime(limits.alive_since))
                    .fetch_one(&mut *tx)
                    .await?;
            return Ok(Err(u32::try_from(pending).unwrap_or(u32::MAX)));
        };
        sqlx::query(
            "DELETE FROM plan_jobs WHERE NOT (status IN ('queued', 'running') AND updated_at >= $1)
               AND id NOT IN (SELECT id FROM plan_jobs ORDER BY id DESC LIMIT $2)",
        )
        .bind(UnixTime(limits.alive_since))
        .bind(i64::from(limits.keep))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    async fn update_plan(&self, id: i64, state: &PlanState, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE plan_jobs SET status = $2, progress = $3, phase = $4, objective = $5,
               error = $6, result = $7, updated_at = $8
             WHERE id = $1 AND status IN ('queued', 'running')",
        )
        .bind(id)
        .bind(&state.status)
        .bind(state.progress)
        .bind(&state.phase)
        .bind(state.objective)
        .bind(&state.error)
        .bind(&state.result)
        .bind(UnixTime(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn plan(&self, id: i64) -> Result<Option<PlanRecord>, StoreError> {
        let row: Option<PlanRow> = sqlx::query_as(&format!(
            "SELECT {PLAN_COLUMNS} FROM plan_jobs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(plan_of))
    }

    async fn latest_done_plan(&self) -> Result<Option<PlanRecord>, StoreError> {
        let row: Option<PlanRow> = sqlx::query_as(&format!(
            "SELECT {PLAN_COLUMNS} FROM plan_jobs WHERE status = 'done' ORDER BY id DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(plan_of))
    }
}
