//! The platform side against an in-memory backend: every Ret code with a real bad request, and
//! nothing applied when refused.

use std::collections::HashMap;
use std::sync::Mutex;

use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId, Station};

use super::*;
use crate::crypto::KeySet;
use crate::envelope::{RequestEnvelope, ResponseEnvelope};

#[derive(Default)]
struct Memory {
    tokens: Mutex<HashMap<String, OperatorId>>,
    statuses: Mutex<Vec<StatusPush>>,
    sessions: Mutex<Vec<SessionUpdate>>,
    checks: Mutex<Vec<OrderCheckSummary>>,
    seen: Mutex<Vec<(String, String, String)>>,
    /// How long push keys are kept (`None`: for ever).
    kept: Option<i64>,
}

impl Memory {
    fn first_time(&self, push: &PushId) -> bool {
        let id = (
            push.operator_id.to_string(),
            push.time_stamp.clone(),
            push.seq.clone(),
        );
        let mut seen = self.seen.lock().unwrap();
        if seen.contains(&id) {
            return false;
        }
        seen.push(id);
        true
    }
}

fn creds() -> OperatorCredentials {
    OperatorCredentials {
        operator_id: OperatorId::new("MA01D1QR8").unwrap(),
        operator_secret: "e3bb15a6f95f8bb7".into(),
        data_secret: "a1b2c3d4e5f6g7h8".into(),
        data_secret_iv: "1234567890abcdef".into(),
        sig_secret: "s1g2s3e4c5r6e7t8".into(),
        base_url: None,
        coords: CoordSystem::Gcj02,
        platform_secret: None,
        stale_after_seconds: None,
    }
}

impl Gate for Memory {
    async fn credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, StorageError> {
        Ok((id.as_str() == "MA01D1QR8").then(creds))
    }
    async fn issue_token(
        &self,
        id: &OperatorId,
        seconds: i64,
    ) -> Result<(String, i64), StorageError> {
        let token = format!("token-of-{id}");
        self.tokens
            .lock()
            .unwrap()
            .insert(token.clone(), id.clone());
        Ok((token, seconds))
    }
    async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, StorageError> {
        Ok(self.tokens.lock().unwrap().get(token).cloned())
    }
    fn push_keys_kept_for(&self) -> Option<i64> {
        self.kept
    }
}

impl Backend for Memory {
    async fn apply_statuses(
        &self,
        push: &PushId,
        statuses: &[StatusPush],
    ) -> Result<bool, StorageError> {
        if statuses
            .iter()
            .any(|s| !s.connector_id.starts_with("MA01D1QR8"))
        {
            return Err(StorageError::Invalid("unknown connector".into()));
        }
        if !self.first_time(push) {
            return Ok(false);
        }
        self.statuses.lock().unwrap().extend_from_slice(statuses);
        Ok(true)
    }
    async fn apply_station(&self, _push: &PushId, _station: Station) -> Result<bool, StorageError> {
        Ok(true)
    }
    async fn apply_session(
        &self,
        push: &PushId,
        update: SessionUpdate,
    ) -> Result<bool, StorageError> {
        if !update.connector_id.starts_with("MA01D1QR8") {
            return Err(StorageError::Invalid("unknown connector".into()));
        }
        if !self.first_time(push) {
            return Ok(false);
        }
        self.sessions.lock().unwrap().push(update);
        Ok(true)
    }
    async fn final_orders(
        &self,
        _push: &PushId,
        session_refs: &[String],
    ) -> Result<Vec<Option<(WattHours, Fen)>>, StorageError> {
        let sessions = self.sessions.lock().unwrap();
        Ok(session_refs
            .iter()
            .map(|r| {
                sessions
                    .iter()
                    .find(|s| s.is_order && &s.session_ref == r)
                    .map(|s| {
                        (
                            s.energy.unwrap_or_default(),
                            s.total_money.unwrap_or_default(),
                        )
                    })
            })
            .collect())
    }
    async fn record_order_check(
        &self,
        push: &PushId,
        check: OrderCheckSummary,
    ) -> Result<bool, StorageError> {
        if !self.first_time(push) {
            return Ok(false);
        }
        self.checks.lock().unwrap().push(check);
        Ok(true)
    }
}

fn keys() -> KeySet {
    KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s1g2s3e4c5r6e7t8").unwrap()
}

fn request(plain: &str, seq: &str) -> Vec<u8> {
    serde_json::to_vec(&RequestEnvelope::seal(
        &keys(),
        "MA01D1QR8",
        plain.as_bytes(),
        "20261125120000",
        seq,
    ))
    .unwrap()
}

async fn call(m: &Memory, interface: &str, token: Option<&str>, body: &[u8]) -> ResponseEnvelope {
    handle(m, interface, token, body).await
}

async fn token(m: &Memory) -> String {
    let res = call(
        m,
        "query_token",
        None,
        &request(
            r#"{"OperatorID":"MA01D1QR8","OperatorSecret":"e3bb15a6f95f8bb7"}"#,
            "0001",
        ),
    )
    .await;
    assert_eq!(res.ret, 0, "{}", res.msg);
    let plain: serde_json::Value =
        serde_json::from_slice(&res.open(&keys(), true).unwrap()).unwrap();
    assert_eq!(plain["SuccStat"], 0);
    assert_eq!(plain["TokenAvailableTime"], 7200);
    plain["AccessToken"].as_str().unwrap().to_owned()
}

const PUSH: &str = r#"{"ConnectorStatusInfo":{"ConnectorID":"MA01D1QR8EQ0000101","Status":3,"ParkStatus":50,"LockStatus":0}}"#;

#[tokio::test]
async fn a_token_then_a_status_push_is_applied_once() {
    let m = Memory::default();
    let t = token(&m).await;
    let res = call(
        &m,
        "notification_stationStatus",
        Some(&t),
        &request(PUSH, "0002"),
    )
    .await;
    assert_eq!(res.ret, 0, "{}", res.msg);
    assert_eq!(res.open(&keys(), true).unwrap(), br#"{"Status":0}"#);
    assert_eq!(m.statuses.lock().unwrap().len(), 1);
    assert_eq!(
        m.statuses.lock().unwrap()[0].status,
        ConnectorStatus::Charging
    );
    // The same push again (same OperatorID, TimeStamp, Seq): acknowledged, not applied twice.
    let again = call(
        &m,
        "notification_stationStatus",
        Some(&t),
        &request(PUSH, "0002"),
    )
    .await;
    assert_eq!(again.ret, 0);
    assert_eq!(m.statuses.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_wrong_operator_secret_is_a_business_failure() {
    let m = Memory::default();
    let res = call(
        &m,
        "query_token",
        None,
        &request(
            r#"{"OperatorID":"MA01D1QR8","OperatorSecret":"E3BB15A6F95F8BB7"}"#,
            "0001",
        ),
    )
    .await;
    assert_eq!(res.ret, 0);
    let plain: serde_json::Value =
        serde_json::from_slice(&res.open(&keys(), true).unwrap()).unwrap();
    assert_eq!(
        (plain["SuccStat"].as_i64(), plain["FailReason"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(plain["AccessToken"], "");
}

#[tokio::test]
async fn every_bad_request_gets_its_ret_and_nothing_is_applied() {
    let m = Memory::default();
    let t = token(&m).await;
    let good = request(PUSH, "0003");
    let mut cases: Vec<(Vec<u8>, Option<&str>, Ret, &str)> = vec![
        (b"{not json".to_vec(), Some(&t), Ret::BadRequest, "not JSON"),
        (
            br#"{"OperatorID":"MA01D1QR8"}"#.to_vec(),
            Some(&t),
            Ret::BadRequest,
            "Data is missing",
        ),
        (good.clone(), None, Ret::BadToken, "Bearer"),
        (
            good.clone(),
            Some("forged"),
            Ret::BadToken,
            "unknown or expired",
        ),
        (
            request(
                r#"{"ConnectorStatusInfo":{"ConnectorID":"MA01D1QR8EQ0000101","Status":7}}"#,
                "0004",
            ),
            Some(&t),
            Ret::BadData,
            "Status 7",
        ),
        (
            request(r#"{"ConnectorStatusInfo":{"Status":1}}"#, "0005"),
            Some(&t),
            Ret::BadData,
            "ConnectorID",
        ),
        (
            request(
                r#"{"ConnectorStatusInfo":{"ConnectorID":"OTHER","Status":1}}"#,
                "0006",
            ),
            Some(&t),
            Ret::BadData,
            "unknown connector",
        ),
        (request("[1,2", "0007"), Some(&t), Ret::BadData, "not JSON"),
    ];
    let mut tampered: serde_json::Value = serde_json::from_slice(&good).unwrap();
    tampered["Seq"] = "0099".into();
    cases.push((
        tampered.to_string().into_bytes(),
        Some(&t),
        Ret::BadSig,
        "Sig",
    ));
    let mut stranger: serde_json::Value = serde_json::from_slice(&good).unwrap();
    stranger["OperatorID"] = "ZZZZZZZZZ".into();
    cases.push((
        stranger.to_string().into_bytes(),
        Some(&t),
        Ret::BadSig,
        "unknown OperatorID",
    ));
    for (body, bearer, ret, mention) in cases {
        let res = call(&m, "notification_stationStatus", bearer, &body).await;
        assert_eq!(res.ret, ret.code(), "{mention}: {}", res.msg);
        assert!(
            res.msg.contains(mention),
            "{:?} should mention {mention:?}",
            res.msg
        );
        assert_eq!(res.data, "");
    }
    assert!(m.statuses.lock().unwrap().is_empty(), "nothing applied");
    let unknown = call(&m, "query_everything", Some(&t), &good).await;
    assert_eq!(unknown.ret, Ret::BadRequest.code());
}

fn order_json() -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/fixtures/charge_order.json")).unwrap();
    v["ConnectorID"] = "MA01D1QR8EQ0000101".into();
    v
}

async fn business_call(
    m: &Memory,
    t: &str,
    interface: &str,
    body: &serde_json::Value,
    seq: &str,
) -> serde_json::Value {
    let res = call(m, interface, Some(t), &request(&body.to_string(), seq)).await;
    assert_eq!(res.ret, 0, "{interface}: {}", res.msg);
    serde_json::from_slice(&res.open(&keys(), true).unwrap()).unwrap()
}

#[tokio::test]
async fn charging_notifications_become_a_session_and_orders_reconcile() {
    let m = Memory::default();
    let t = token(&m).await;
    let seq = "EVGRID000202401051600040001";
    let start = serde_json::json!({"StartChargeSeq": seq, "StartChargeSeqStat": 2,
        "ConnectorID": "MA01D1QR8EQ0000101", "StartTime": "2024-01-05 16:00:04"});
    let a = business_call(&m, &t, "notification_start_charge_result", &start, "0010").await;
    assert_eq!(
        (a["StartChargeSeq"].as_str(), a["SuccStat"].as_i64()),
        (Some(seq), Some(0))
    );
    let order = order_json();
    let a = business_call(&m, &t, "notification_charge_order_info", &order, "0011").await;
    assert_eq!(a["ConfirmResult"], 0);
    let sessions = m.sessions.lock().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1].total_money, Some(Fen(2440)));

    // An order whose money does not add up is stored, answered "disputed".
    let mut wrong = order_json();
    wrong["StartChargeSeq"] = "EVGRID000202401051600040002".into();
    wrong["TotalMoney"] = 99.0.into();
    let a = business_call(&m, &t, "notification_charge_order_info", &wrong, "0012").await;
    assert_eq!(a["ConfirmResult"], 1);

    let check = serde_json::json!({"CheckOrderSeq": "MA01D1QR8202401060000000001",
        "StartTime": "2024-01-05 00:00:00", "EndTime": "2024-01-05 23:59:59", "OrderCount": 3,
        "TotalOrderPower": 91.5, "TotalOrderMoney": 73.2, "ChargeOrders": [
            {"StartChargeSeq": seq, "TotalPower": 30.5, "TotalMoney": 24.4},
            {"StartChargeSeq": "EVGRID000202401051600040002", "TotalPower": 30.5, "TotalMoney": 24.4},
            {"StartChargeSeq": "EVGRID000202401051600049999", "TotalPower": 30.5, "TotalMoney": 24.4}]});
    let a = business_call(&m, &t, "check_charge_orders", &check, "0013").await;
    assert_eq!(a["TotalDisputeOrder"], 2, "{a}");
    let reasons: Vec<i64> = a["DisputeOrders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["DisputeReason"].as_i64().unwrap())
        .collect();
    assert_eq!(reasons, [2, 1]);
    assert_eq!(m.checks.lock().unwrap()[0].disputed, 2);
}

#[tokio::test]
async fn bad_charging_notifications_are_refused_and_not_applied() {
    let m = Memory::default();
    let t = token(&m).await;
    let mut short_seq = order_json();
    short_seq["StartChargeSeq"] = "ABC".into();
    let mut foreign = order_json();
    foreign["ConnectorID"] = "OTHER0001".into();
    let mut no_total = order_json();
    no_total.as_object_mut().unwrap().remove("TotalMoney");
    let bad_state = serde_json::json!({"StartChargeSeq": "EVGRID000202401051600040001",
        "StartChargeSeqStat": 9, "ConnectorID": "MA01D1QR8EQ0000101", "StartTime": "2024-01-05 16:00:04"});
    let check = serde_json::json!({"CheckOrderSeq": "MA01D1QR8202401060000000001",
        "StartTime": "2024-01-05 00:00:00", "EndTime": "2024-01-05 23:59:59", "OrderCount": 2,
        "TotalOrderPower": 0, "TotalOrderMoney": 0, "ChargeOrders": []});
    for (i, (interface, body, mention)) in [
        (
            "notification_charge_order_info",
            short_seq,
            "StartChargeSeq",
        ),
        (
            "notification_charge_order_info",
            foreign,
            "unknown connector",
        ),
        ("notification_charge_order_info", no_total, "TotalMoney"),
        (
            "notification_start_charge_result",
            bad_state,
            "StartChargeSeqStat 9",
        ),
        ("check_charge_orders", check, "OrderCount 2"),
    ]
    .into_iter()
    .enumerate()
    {
        let res = call(
            &m,
            interface,
            Some(&t),
            &request(&body.to_string(), &format!("{:04}", 20 + i)),
        )
        .await;
        assert_eq!(res.ret, Ret::BadData.code(), "{interface}: {}", res.msg);
        assert!(
            res.msg.contains(mention),
            "{:?} should mention {mention:?}",
            res.msg
        );
    }
    assert!(m.sessions.lock().unwrap().is_empty());
    assert!(m.checks.lock().unwrap().is_empty());
}

/// Issue 19 item 10: where push keys are pruned after a week, a request stamped more than a
/// week ago is refused (4003) and not applied: its replay could not be told from a new push.
#[tokio::test]
async fn a_request_older_than_the_kept_push_keys_is_refused() {
    let m = Memory {
        kept: Some(7 * 86_400),
        ..Memory::default()
    };
    let t = token(&m).await;
    let now = evgrid_model::time::unix_now();
    let stamped = |at: i64, seq: &str| {
        serde_json::to_vec(&RequestEnvelope::seal(
            &keys(),
            "MA01D1QR8",
            PUSH.as_bytes(),
            &crate::time::china_timestamp(at),
            seq,
        ))
        .unwrap()
    };
    let old = call(
        &m,
        "notification_stationStatus",
        Some(&t),
        &stamped(now - 8 * 86_400, "0002"),
    )
    .await;
    assert_eq!(old.ret, 4003, "{}", old.msg);
    assert!(old.msg.contains("older than"), "{}", old.msg);
    assert!(m.statuses.lock().unwrap().is_empty());
    let recent = call(
        &m,
        "notification_stationStatus",
        Some(&t),
        &stamped(now - 6 * 86_400, "0003"),
    )
    .await;
    assert_eq!(recent.ret, 0, "{}", recent.msg);
    assert_eq!(m.statuses.lock().unwrap().len(), 1);
}
