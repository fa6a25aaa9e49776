//! evgrid's client against a simulated operator platform over real HTTP on loopback: token,
//! paging, status batches, statistics, and a charge from authorisation to the final order.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use evgrid_sim::tcec::{self as simulator, OperatorPlatform, SimulatorOptions};
use evgrid_tcec::client::{Client, ClientError};
use evgrid_tcec::crypto::KeySet;
use evgrid_tcec::wire::StationInfo;

const PLATFORM: &str = "EVGRID000";
const PLATFORM_SECRET: &str = "platform-secret-0001";

/// `n` stations made from the fixture, with ids S0000.., each with its three connectors.
fn stations(n: usize) -> Vec<StationInfo> {
    let base: StationInfo =
        serde_json::from_str(include_str!("../../tcec/tests/fixtures/station_info.json")).unwrap();
    (0..n)
        .map(|i| {
            let mut s = base.clone();
            s.station_id = format!("S{i:04}");
            for e in &mut s.equipment_infos {
                e.equipment_id = format!("S{i:04}{}", e.equipment_id);
                for c in &mut e.connector_infos {
                    c.connector_id = format!("S{i:04}{}", c.connector_id);
                }
            }
            s
        })
        .collect()
}

async fn operator(
    n: usize,
    token_seconds: i64,
) -> (
    tokio::sync::watch::Sender<bool>,
    String,
    std::sync::Arc<simulator::Sim>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        simulator::BASE_PATH
    );
    let op = OperatorPlatform {
        operator_id: "MA01D1QR8".into(),
        operator_secret: "operator-secret-01".into(),
        data_secret: "a1b2c3d4e5f6g7h8".into(),
        data_secret_iv: "1234567890abcdef".into(),
        sig_secret: "s1g2s3e4c5r6e7t8".into(),
        platform_operator_id: PLATFORM.into(),
        platform_secret: PLATFORM_SECRET.into(),
        stations: stations(n),
    };
    // Its pushes go to a closed port: this test is about the pull side.
    let mut options = SimulatorOptions::new("http://127.0.0.1:9/evcs/v1/");
    options.changes_per_round = 0;
    options.sample_interval = Duration::from_millis(100);
    options.speedup = 3600.0;
    options.token_seconds = token_seconds;
    options.retry_pause = Duration::from_millis(1);
    options.push_timeout = Duration::from_millis(200);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sim = simulator::start(op, listener, options, stopped)
        .await
        .unwrap();
    (stop, url, sim)
}

fn client(url: &str, secret: &str) -> Client {
    let keys = KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s1g2s3e4c5r6e7t8").unwrap();
    Client::new(url, PLATFORM, secret, keys)
        .unwrap()
        .with_timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn the_directory_is_paged_and_statuses_come_in_batches_of_50() {
    let (_stop, url, sim) = operator(123, 7200).await;
    let c = client(&url, PLATFORM_SECRET);
    let page = c.query_stations_info(None, 2, 50).await.unwrap();
    assert_eq!((page.page_no, page.page_count, page.item_size), (2, 3, 123));
    assert_eq!(page.station_infos.len(), 50);
    let all = c.all_stations(None, 50).await.unwrap();
    assert_eq!(all.len(), 123);
    let ids: Vec<String> = all
        .iter()
        .map(|s| s["StationID"].as_str().unwrap().to_owned())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 123, "no station twice across pages");
    // Nothing changed since now.
    let later = evgrid_tcec::time::china_datetime(evgrid_model::time::unix_now() + 5);
    assert!(c.all_stations(Some(&later), 50).await.unwrap().is_empty());

    let before = sim
        .counters
        .requests_answered
        .load(std::sync::atomic::Ordering::Relaxed);
    let statuses = c.query_station_status(&ids).await.unwrap();
    let calls = sim
        .counters
        .requests_answered
        .load(std::sync::atomic::Ordering::Relaxed)
        - before;
    assert_eq!(calls, 3, "123 stations are asked in 3 calls of at most 50");
    assert_eq!(statuses.len(), 123);
    assert!(statuses.iter().all(|s| s.connector_status_infos.len() == 3));
    for s in &statuses {
        for cs in &s.connector_status_infos {
            assert_eq!(sim.status_of(&cs.connector_id), Some(cs.status));
        }
    }
    let stats = c
        .query_station_stats("S0001", "2024-01-01", "2024-01-07")
        .await
        .unwrap();
    let sum: f64 = stats
        .equipment_stats_infos
        .iter()
        .map(|e| e.equipment_electricity)
        .sum();
    assert!((stats.station_electricity - sum).abs() < 1e-6);
    let err = c
        .query_station_stats("NOPE", "2024-01-01", "2024-01-07")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Refused { ret: 4004, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_an_expired_token_is_refreshed() {
    let (_stop, url, _sim) = operator(1, 1).await;
    let wrong = client(&url, "not-the-platform-secret");
    assert!(matches!(
        wrong.query_stations_info(None, 1, 10).await,
        Err(ClientError::TokenRefused(2))
    ));
    let c = client(&url, PLATFORM_SECRET);
    c.query_stations_info(None, 1, 10).await.unwrap();
    // The token lives 1 s; after it expired the client gets a new one and goes on.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.query_stations_info(None, 1, 10).await.unwrap();
}

#[tokio::test]
async fn a_charge_runs_from_authorisation_to_an_itemized_order_state() {
    let (_stop, url, sim) = operator(1, 7200).await;
    let c = client(&url, PLATFORM_SECRET);
    // A connector that is ready.
    let connector = ["S0000GZ0001E01C1", "S0000GZ0001E01C2", "S0000GZ0001E02C1"]
        .into_iter()
        .find(|id| matches!(sim.status_of(id), Some(1 | 2)));
    let Some(connector) = connector else {
        // The seed put every connector of the station in use; nothing to start here.
        panic!("no ready connector in the fixture station for this seed");
    };
    let auth = c.query_equip_auth(connector).await.unwrap();
    assert_eq!((auth.succ_stat, auth.fail_reason), (0, 0));
    assert_eq!(auth.equip_auth_seq.len(), 27);
    let policy = c.query_equip_business_policy(connector).await.unwrap();
    assert_eq!(policy.sum_period, 3);
    assert_eq!(policy.policy_infos[1].elec_price, 0.9123);
    let seq = c.new_seq();
    let started = c.query_start_charge(&seq, connector, None).await.unwrap();
    assert_eq!((started.succ_stat, started.start_charge_seq_stat), (0, 1));
    // The same StartChargeSeq again never starts a second charge.
    let again = c.query_start_charge(&seq, connector, None).await.unwrap();
    assert_eq!(again.succ_stat, 0);
    assert_eq!(
        sim.counters
            .charges_started
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // A second order on the busy connector is refused.
    let busy = c
        .query_start_charge(&c.new_seq(), connector, None)
        .await
        .unwrap();
    assert_eq!(busy.succ_stat, 1);
    let mut status = c.query_equip_charge_status(&seq).await.unwrap();
    for _ in 0..50 {
        if status.start_charge_seq_stat == 2 && status.total_power > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = c.query_equip_charge_status(&seq).await.unwrap();
    }
    assert_eq!(status.start_charge_seq_stat, 2, "{status:?}");
    assert!(status.total_power > 0.0);
    assert!(status.soc.is_some(), "a DC charge reports SoC");
    let stop = c.query_stop_charge(&seq, connector).await.unwrap();
    assert_eq!((stop.succ_stat, stop.start_charge_seq_stat), (0, 3));
    for _ in 0..50 {
        status = c.query_equip_charge_status(&seq).await.unwrap();
        if status.start_charge_seq_stat == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status.start_charge_seq_stat, 4);
    let details = status.charge_details.unwrap();
    let energy: f64 = details.iter().map(|d| d.detail_power).sum();
    assert!(
        (energy - status.total_power).abs() < 0.005,
        "periods add up to the total"
    );
    let again = c.query_stop_charge(&seq, connector).await.unwrap();
    assert_eq!(
        (again.succ_stat, again.fail_reason),
        (1, 3),
        "already stopped"
    );
}
