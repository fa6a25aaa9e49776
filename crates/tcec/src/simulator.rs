//! Simulated operator platforms for the demo and for tests: each pushes connector status
//! changes to a platform over real T/CEC (token, encryption, signature), with a jittered rhythm
//! and exponential backoff when the platform does not answer. Statuses move the way chargers
//! do: mostly available, some charging, a few occupied, offline or faulted.

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::client::Client;
use crate::crypto::KeySet;

/// One simulated operator.
#[derive(Debug, Clone)]
pub struct SimulatedOperator {
    pub operator_id: String,
    pub operator_secret: String,
    pub keys: KeySet,
    /// The connectors whose statuses it pushes.
    pub connectors: Vec<String>,
}

/// How the simulation runs.
#[derive(Debug, Clone)]
pub struct SimulatorOptions {
    /// The platform's T/CEC base URL, e.g. `http://127.0.0.1:8080/evcs/v1/`.
    pub platform_url: String,
    /// Mean pause between rounds.
    pub interval: Duration,
    /// Status changes per round.
    pub changes_per_round: usize,
    pub seed: u64,
}

/// T/CEC status codes with how often a charger is found in each (per mille): available,
/// charging, occupied, reserved, offline, faulted.
const STATUS_WEIGHTS: [(i32, u64); 6] = [(1, 600), (3, 250), (2, 80), (4, 10), (0, 35), (255, 25)];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn status(&mut self) -> i32 {
        let mut x = self.next() % 1000;
        for (code, weight) in STATUS_WEIGHTS {
            if x < weight {
                return code;
            }
            x -= weight;
        }
        1
    }
}

/// Runs one simulated operator until `stop` turns true. Returns the number of pushes the
/// platform acknowledged.
pub async fn run_operator(
    op: SimulatedOperator,
    options: SimulatorOptions,
    mut stop: watch::Receiver<bool>,
) -> u64 {
    let Ok(client) = Client::new(
        &options.platform_url,
        &op.operator_id,
        &op.operator_secret,
        op.keys.clone(),
    ) else {
        tracing::error!(operator_id = %op.operator_id, url = %options.platform_url, "simulator: bad platform URL");
        return 0;
    };
    let mut rng = Rng(options.seed
        ^ op.operator_id
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))));
    let mut acknowledged = 0;
    let mut backoff = Duration::ZERO;
    let base_ms = u64::try_from(options.interval.as_millis())
        .unwrap_or(1000)
        .max(1);
    loop {
        // Jitter: 50% to 150% of the interval, plus any backoff.
        let pause = Duration::from_millis(base_ms / 2 + rng.next() % base_ms) + backoff;
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() || op.connectors.is_empty() {
            return acknowledged;
        }
        let mut failed = false;
        for _ in 0..options.changes_per_round {
            let connector = &op.connectors[(rng.next() % op.connectors.len() as u64) as usize];
            let status = rng.status();
            let park = if status == 1 { 10 } else { 50 };
            let body = json!({"ConnectorStatusInfo": {"ConnectorID": connector, "Status": status, "ParkStatus": park, "LockStatus": 0}});
            match client.call("notification_stationStatus", &body).await {
                Ok(_) => acknowledged += 1,
                Err(e) => {
                    tracing::warn!(operator_id = %op.operator_id, error = %e, "simulator: push failed");
                    failed = true;
                    break;
                }
            }
        }
        backoff = if failed {
            (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
        } else {
            Duration::ZERO
        };
    }
}
