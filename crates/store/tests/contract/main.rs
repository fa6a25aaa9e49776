//! The store contract suite: every method of every trait in `evgrid_store::contract`, run
//! against each engine with the same cases. An engine is correct when it passes all of them.
//!
//! Each case is an `async fn(Store)` in [`cases`]; the `engine_suite!` macro makes one test per
//! case for an engine, given how to open a fresh, empty store of it. SQLite runs always. A
//! second engine adds one `engine_suite!` line with its opener.
#![allow(clippy::unwrap_used)]

mod cases;
mod fixtures;

/// One `#[tokio::test]` per case, each on a fresh store from `$open` (an async fn returning
/// the store and whatever keeps it alive).
macro_rules! engine_suite {
    ($engine:ident, $open:path) => {
        mod $engine {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let (store, _keep) = $open().await;
                        crate::cases::$name(store).await;
                    }
                };
            }
            crate::for_each_case!(case);
        }
    };
}

/// Calls `$m!(name)` for every case of the suite.
#[macro_export]
macro_rules! for_each_case {
    ($m:ident) => {
        $m!(stations_round_trip_and_reimport_is_idempotent);
        $m!(a_conflicting_batch_writes_nothing);
        $m!(regions_and_lookups_of_the_network);
        $m!(credentials_are_stored_rotated_and_removed);
        $m!(tokens_are_reused_until_they_near_expiry);
        $m!(grouped_pushes_keep_their_own_outcomes);
        $m!(a_status_batch_keeps_the_newest_observation);
        $m!(status_counts_and_staleness);
        $m!(a_drivers_search_counts_the_connectors_asked_for);
        $m!(session_messages_grouped_keep_their_own_outcomes);
        $m!(a_session_only_moves_forward_and_keeps_its_order);
        $m!(recent_sessions_and_final_orders_in_one_read);
        $m!(order_checks_are_recorded_once);
        $m!(charges_are_idempotent_by_key_and_linked_to_transactions);
        $m!(reservations_hold_until_they_expire);
        $m!(accounts_and_logins);
        $m!(chargers_register_boot_and_number_transactions);
        $m!(a_chargers_notices_keep_the_latest_hundred);
        $m!(regulator_statistics_add_up);
        $m!(targets_and_progress);
        $m!(message_counts_add_up);
    };
}

mod sqlite_engine {
    use evgrid_store::Store;

    /// A fresh SQLite store in a temporary directory (kept alive by the returned guard).
    pub async fn open() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite:{}", dir.path().display()))
            .await
            .unwrap();
        (store, dir)
    }
}

engine_suite!(sqlite, crate::sqlite_engine::open);

/// What only SQLite does its own way: the status group commit as one request to SQLite's
/// thread, rolled back whole when a statement of it fails.
mod sqlite_only {
    use evgrid_model::{OperatorId, StatusRecord};

    use crate::fixtures::{operator, station, status};

    #[tokio::test]
    async fn a_refused_row_in_a_status_batch_leaves_nothing_and_the_writer_usable() {
        let (store, dir) = crate::sqlite_engine::open().await;
        store
            .upsert_stations(&[operator()], &[station("A", 2)])
            .await
            .unwrap();
        let op = OperatorId::new("MA01D1QR8").unwrap();
        let other = OperatorId::new("MA02D1QR8").unwrap();
        // A row the database refuses, in the batch's second statement: nothing of the batch
        // stays, and the writer's connection is left outside any transaction.
        let side = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            dir.path().join(evgrid_store::SQLITE_FILE).display()
        ))
        .await
        .unwrap();
        sqlx::query(
            "CREATE TRIGGER refuse_broken BEFORE INSERT ON connector_status
             WHEN NEW.connector_id = 'BROKEN' BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
        )
        .execute(&side)
        .await
        .unwrap();
        let mut bad: Vec<(OperatorId, StatusRecord)> = (0..450)
            .map(|i| (other.clone(), status(&format!("Y{i:03}"), 700)))
            .collect();
        bad.push((other.clone(), status("BROKEN", 700)));
        let err = store.put_statuses_of_many(&bad).await.unwrap_err();
        assert!(err.to_string().contains("refused by test"), "{err}");
        assert!(store.operator_statuses(&other).await.unwrap().is_empty());
        store
            .put_statuses_of_many(&[(op.clone(), status("AE1C1", 800))])
            .await
            .unwrap();
        store
            .put_statuses(&op, &[status("AE0C1", 900)])
            .await
            .unwrap();
        assert_eq!(store.operator_statuses(&op).await.unwrap().len(), 2);
    }
}
