//! The store contract suite: every method of every trait in `evgrid_store::contract`, run
//! against each engine with the same cases. An engine is correct when it passes all of them.
//!
//! Each case is an `async fn(Store)` in [`cases`]; the `engine_suite!` macro makes one test per
//! case for an engine, given how to open a fresh, empty store of it. SQLite runs always;
//! PostgreSQL runs when asked (`--run-ignored`) with `EVGRID_TEST_POSTGRES_URL` naming a
//! server where the tests may create databases: `bash scripts/test.sh` starts a throw-away
//! cluster and runs them.
#![allow(clippy::unwrap_used)]

mod cases;
mod fixtures;

/// One `#[tokio::test]` per case, each on a fresh store from `$open` (an async fn returning
/// the store and whatever keeps it alive), with the attributes given (e.g. `#[ignore]` for an
/// engine that needs a server).
macro_rules! engine_suite {
    ($engine:ident, $open:path $(, #[$attr:meta])*) => {
        mod $engine {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test]
                    $(#[$attr])*
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
        $m!(a_replayed_or_implausible_message_never_undoes_a_newer_one);
        $m!(a_charger_session_is_bound_to_its_connector_once_known);
        $m!(recent_sessions_and_final_orders_in_one_read);
        $m!(order_checks_are_recorded_once);
        $m!(charges_are_idempotent_by_key_and_linked_to_transactions);
        $m!(reservations_hold_until_they_expire);
        $m!(accounts_and_logins);
        $m!(the_audit_log_is_appended_and_read_newest_first);
        $m!(chargers_register_boot_and_number_transactions);
        $m!(unplaced_chargers_are_registered_up_to_a_bound);
        $m!(a_chargers_notices_keep_the_latest_hundred);
        $m!(regulator_statistics_add_up);
        $m!(targets_and_progress);
        $m!(message_counts_add_up);
        $m!(retention_prunes_by_age_and_keeps_where_history_starts);
        $m!(nodes_presence_and_leases);
        $m!(the_database_is_ready);
        $m!(superiors_get_every_fact_queued_once);
        $m!(tokens_are_kept_replaced_listed_and_remember_their_sessions);
        $m!(plans_are_queued_bounded_updated_and_kept);
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

mod postgres_engine {
    use evgrid_store::Store;

    /// The test server's URL (its admin database), from `EVGRID_TEST_POSTGRES_URL`.
    pub fn server() -> String {
        std::env::var("EVGRID_TEST_POSTGRES_URL").expect(
            "EVGRID_TEST_POSTGRES_URL names a PostgreSQL server for the tests \
             (bash scripts/test.sh starts one)",
        )
    }

    /// A fresh database on the test server; its URL.
    pub async fn fresh_database() -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = server();
        let name = format!(
            "evgrid_contract_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let admin = sqlx::PgPool::connect(&server).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = server.rsplit_once('/').unwrap().0;
        format!("{base}/{name}")
    }

    /// A fresh PostgreSQL store in a database of its own.
    pub async fn open() -> (Store, ()) {
        let store = Store::open(&fresh_database().await).await.unwrap();
        assert_eq!(store.engine_name(), "postgres");
        (store, ())
    }
}

engine_suite!(
    postgres,
    crate::postgres_engine::open,
    #[ignore = "needs PostgreSQL: EVGRID_TEST_POSTGRES_URL (bash scripts/test.sh starts one)"]
);

/// What PostgreSQL does its own way: the status group commit is one transaction that a
/// refused row undoes whole, and several rows of one connector in a batch keep the newest.
mod postgres_only {
    use evgrid_model::{OperatorId, StatusRecord};

    use crate::fixtures::{operator, station, status, status_at};

    #[tokio::test]
    #[ignore = "needs PostgreSQL: EVGRID_TEST_POSTGRES_URL (bash scripts/test.sh starts one)"]
    async fn a_refused_row_in_a_status_batch_leaves_nothing_and_the_newest_of_a_connector_wins() {
        let url = crate::postgres_engine::fresh_database().await;
        let store = evgrid_store::Store::open(&url).await.unwrap();
        store
            .upsert_stations(&[operator()], &[station("A", 2)])
            .await
            .unwrap();
        let op = OperatorId::new("MA01D1QR8").unwrap();
        let other = OperatorId::new("MA02D1QR8").unwrap();
        let side = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(
            "CREATE FUNCTION refuse_broken() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.connector_id = 'BROKEN' THEN RAISE EXCEPTION 'refused by test'; END IF;
               RETURN NEW;
             END $$",
        )
        .execute(&side)
        .await
        .unwrap();
        sqlx::query(
            "CREATE TRIGGER refuse_broken BEFORE INSERT ON connector_status
             FOR EACH ROW EXECUTE FUNCTION refuse_broken()",
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
        // Three rows of one connector in one batch: the newest observation is kept.
        store
            .put_statuses_of_many(&[
                (
                    op.clone(),
                    status_at("AE0C1", evgrid_model::ConnectorStatus::Available, 10),
                ),
                (
                    op.clone(),
                    status_at("AE0C1", evgrid_model::ConnectorStatus::Faulted, 30),
                ),
                (
                    op.clone(),
                    status_at("AE0C1", evgrid_model::ConnectorStatus::Charging, 20),
                ),
            ])
            .await
            .unwrap();
        let a = store.operator_statuses(&op).await.unwrap();
        assert_eq!(
            (a[0].observed_at, a[0].status),
            (30, evgrid_model::ConnectorStatus::Faulted)
        );
    }
}

/// Signals between the nodes of one PostgreSQL database: what one sends, another listening on
/// the channel receives, in order; oversized payloads are refused. SQLite carries none.
mod signals {
    #[tokio::test]
    #[ignore = "needs PostgreSQL: EVGRID_TEST_POSTGRES_URL (bash scripts/test.sh starts one)"]
    async fn a_signal_reaches_the_node_listening_on_its_channel() {
        let url = crate::postgres_engine::fresh_database().await;
        let (one, two) = (
            evgrid_store::Store::open(&url).await.unwrap(),
            evgrid_store::Store::open(&url).await.unwrap(),
        );
        assert!(one.carries_signals());
        let mut heard = two.listen("evgrid_node_t1").await.unwrap().unwrap();
        for n in 0..3 {
            one.signal("evgrid_node_t1", &format!("hello {n}"))
                .await
                .unwrap();
        }
        for n in 0..3 {
            let got = tokio::time::timeout(std::time::Duration::from_secs(5), heard.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, format!("hello {n}"));
        }
        let long = "x".repeat(evgrid_store::contract::MAX_SIGNAL_BYTES + 1);
        assert!(one.signal("evgrid_node_t1", &long).await.is_err());
    }

    #[tokio::test]
    async fn sqlite_carries_no_signals() {
        let (store, _dir) = crate::sqlite_engine::open().await;
        assert!(!store.carries_signals());
        assert!(store.listen("evgrid_node_x").await.unwrap().is_none());
        store.signal("evgrid_node_x", "nobody").await.unwrap();
    }
}

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
