//! The platform side against an in-memory backend: every Ret code with a real bad request, and
//! nothing applied when refused.

use std::collections::HashMap;
use std::sync::Mutex;

use evgrid_model::{CoordSystem, OperatorCredentials, OperatorId, Station};

use super::*;
use crate::envelope::{RequestEnvelope, ResponseEnvelope};

#[derive(Default)]
struct Memory {
    tokens: Mutex<HashMap<String, OperatorId>>,
    statuses: Mutex<Vec<StatusPush>>,
    seen: Mutex<Vec<(String, String, String)>>,
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
    }
}

impl Backend for Memory {
    async fn credentials(
        &self,
        id: &OperatorId,
    ) -> Result<Option<OperatorCredentials>, BackendError> {
        Ok((id.as_str() == "MA01D1QR8").then(creds))
    }
    async fn issue_token(
        &self,
        id: &OperatorId,
        seconds: i64,
    ) -> Result<(String, i64), BackendError> {
        let token = format!("token-of-{id}");
        self.tokens
            .lock()
            .unwrap()
            .insert(token.clone(), id.clone());
        Ok((token, seconds))
    }
    async fn token_owner(&self, token: &str) -> Result<Option<OperatorId>, BackendError> {
        Ok(self.tokens.lock().unwrap().get(token).cloned())
    }
    async fn apply_statuses(
        &self,
        push: &PushId,
        statuses: &[StatusPush],
    ) -> Result<bool, BackendError> {
        if statuses
            .iter()
            .any(|s| !s.connector_id.starts_with("MA01D1QR8"))
        {
            return Err(BackendError::Invalid("unknown connector".into()));
        }
        let id = (
            push.operator_id.to_string(),
            push.time_stamp.clone(),
            push.seq.clone(),
        );
        let mut seen = self.seen.lock().unwrap();
        if seen.contains(&id) {
            return Ok(false);
        }
        seen.push(id);
        self.statuses.lock().unwrap().extend_from_slice(statuses);
        Ok(true)
    }
    async fn apply_station(&self, _push: &PushId, _station: Station) -> Result<bool, BackendError> {
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
