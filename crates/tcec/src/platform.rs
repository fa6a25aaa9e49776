//! The platform side of T/CEC 102 (operators call evgrid): one function takes an interface name,
//! the bearer token and the request body, runs the checks in the spec's order, lets a
//! [`Backend`] apply the business data durably, and returns the signed answer. HTTP is the
//! caller's business; storage is the backend's.
//!
//! Order: envelope (4003) → operator known (4001) → `Sig` (4001) → token, except for
//! `query_token` (4002) → duplicate push (answered, not applied again) → `Data` decrypted,
//! parsed and validated (4004) → applied (committed) → answered (0).

use std::future::Future;

use evgrid_model::{ConnectorStatus, OperatorCredentials, OperatorId, Station};
use serde::{Deserialize, Serialize};

use crate::convert::parse_station_info;
use crate::crypto::KeySet;
use crate::envelope::{parse_request, Refusal, ResponseEnvelope, Ret};
use crate::{station_from_wire, ConvertOptions};

/// Largest request body accepted, bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Seconds a token lives (`TokenAvailableTime`).
pub const TOKEN_SECONDS: i64 = 7200;

/// What the backend could not do.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The data refers to something the platform does not know (answered 4004 with this text).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed (answered 500; nothing acknowledged).
    #[error("{0}")]
    Storage(String),
}

/// A connector status change pushed by an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPush {
    pub connector_id: String,
    pub status: ConnectorStatus,
    /// The protocol's own code, kept for the data-quality report.
    pub raw_status: i32,
    pub park_status: Option<i32>,
    pub lock_status: Option<i32>,
}

/// Identifies one push for duplicate detection: (OperatorID, TimeStamp, Seq, interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushId {
    pub operator_id: OperatorId,
    pub time_stamp: String,
    pub seq: String,
    pub interface: &'static str,
}

/// Storage and tokens for the platform side. Every `apply_*` is one transaction that also
/// records the push id, and returns `false` without applying when the push id was seen before.
pub trait Backend: Send + Sync {
    /// The credentials an operator uses towards evgrid.
    fn credentials(
        &self,
        id: &OperatorId,
    ) -> impl Future<Output = Result<Option<OperatorCredentials>, BackendError>> + Send;
    /// The operator's unexpired token (with seconds left), or a new one valid for `seconds`.
    fn issue_token(
        &self,
        id: &OperatorId,
        seconds: i64,
    ) -> impl Future<Output = Result<(String, i64), BackendError>> + Send;
    /// The operator whose unexpired token this is.
    fn token_owner(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<OperatorId>, BackendError>> + Send;
    /// Applies connector statuses.
    fn apply_statuses(
        &self,
        push: &PushId,
        statuses: &[StatusPush],
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
    /// Notes the outcome of a request from a known operator (accepted or refused). In memory;
    /// must not fail or block.
    fn record(&self, _outcome: &Outcome<'_>) {}
    /// Applies a station (added or changed).
    fn apply_station(
        &self,
        push: &PushId,
        station: Station,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}

/// What happened to one request, for the operator's data-quality report.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub operator_id: &'a OperatorId,
    pub interface: &'a str,
    /// The `Ret` answered.
    pub ret: i32,
    pub msg: &'a str,
    /// The request's `TimeStamp` as seconds since 1970, when it could be read.
    pub sent_at: Option<i64>,
}

/// The platform interfaces this module answers.
pub const INTERFACES: [&str; 3] = [
    "query_token",
    "notification_stationStatus",
    "notification_stationInfo",
];

#[derive(Deserialize)]
struct QueryTokenRequest {
    #[serde(rename = "OperatorID")]
    operator_id: String,
    #[serde(rename = "OperatorSecret")]
    operator_secret: String,
}

#[derive(Serialize)]
struct QueryTokenResponse<'a> {
    #[serde(rename = "OperatorID")]
    operator_id: &'a str,
    #[serde(rename = "SuccStat")]
    succ_stat: i32,
    #[serde(rename = "AccessToken")]
    access_token: &'a str,
    #[serde(rename = "TokenAvailableTime")]
    token_available_time: i64,
    #[serde(rename = "FailReason")]
    fail_reason: i32,
}

/// `ConnectorStatusInfo` (§6.4).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectorStatusInfo {
    #[serde(rename = "ConnectorID")]
    pub connector_id: String,
    #[serde(rename = "Status")]
    pub status: i32,
    #[serde(
        rename = "ParkStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub park_status: Option<i32>,
    #[serde(
        rename = "LockStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lock_status: Option<i32>,
}

#[derive(Deserialize)]
struct StationStatusPush {
    #[serde(rename = "ConnectorStatusInfo")]
    connector_status_info: serde_json::Value,
}

/// The unified status of a T/CEC `Status` code (§7.6); `None` for a code outside the enum.
pub fn status_from_code(code: i32) -> Option<ConnectorStatus> {
    Some(match code {
        0 => ConnectorStatus::Offline,
        1 => ConnectorStatus::Available,
        2 => ConnectorStatus::Occupied,
        3 => ConnectorStatus::Charging,
        4 => ConnectorStatus::Reserved,
        255 => ConnectorStatus::Faulted,
        _ => return None,
    })
}

fn bad_data(msg: impl Into<String>) -> Refusal {
    Refusal::new(Ret::BadData, msg)
}

fn backend_refusal(e: BackendError) -> Refusal {
    match e {
        BackendError::Invalid(m) => bad_data(m),
        BackendError::Storage(m) => {
            tracing::error!(error = %m, "T/CEC request not stored");
            Refusal::new(
                Ret::SystemError,
                "the platform could not store the data; retry later",
            )
        }
    }
}

fn status_info(v: &serde_json::Value, path: &str) -> Result<StatusPush, Refusal> {
    let info: ConnectorStatusInfo = serde_path_to_error::deserialize(v).map_err(|e| {
        let field = e.path().to_string();
        let at = if field == "." {
            path.to_owned()
        } else {
            format!("{path}.{field}")
        };
        bad_data(format!("{at}: {}", e.into_inner()))
    })?;
    if info.connector_id.is_empty() || info.connector_id.chars().count() > 26 {
        return Err(bad_data(format!(
            "{path}.ConnectorID must be 1 to 26 characters"
        )));
    }
    let status = status_from_code(info.status).ok_or_else(|| {
        bad_data(format!(
            "{path}.Status {} is not a connector status (0, 1, 2, 3, 4 or 255)",
            info.status
        ))
    })?;
    for (name, value, allowed) in [
        ("ParkStatus", info.park_status, [0, 10, 50]),
        ("LockStatus", info.lock_status, [0, 10, 50]),
    ] {
        if let Some(v) = value {
            if !allowed.contains(&v) {
                return Err(bad_data(format!("{path}.{name} {v} is not 0, 10 or 50")));
            }
        }
    }
    Ok(StatusPush {
        connector_id: info.connector_id,
        status,
        raw_status: info.status,
        park_status: info.park_status,
        lock_status: info.lock_status,
    })
}

/// Answers one request to `interface`. Never panics on input; every refusal carries a `Msg`
/// that says what was wrong, and nothing of a refused request is applied.
pub async fn handle<B: Backend>(
    backend: &B,
    interface: &str,
    bearer: Option<&str>,
    body: &[u8],
) -> ResponseEnvelope {
    let mut keys = None;
    let result = answer(backend, interface, bearer, body, &mut keys).await;
    // Requests that name a known operator count in its data-quality report.
    let claimed: Option<(String, String)> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let field = |name: &str| {
                v.get(name)
                    .and_then(|x| x.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            v.get("OperatorID")?;
            Some((field("OperatorID"), field("TimeStamp")))
        });
    if let Some((id, time_stamp)) = claimed {
        if let Ok(operator_id) = OperatorId::new(&id) {
            let known =
                keys.is_some() || matches!(backend.credentials(&operator_id).await, Ok(Some(_)));
            if known {
                let (ret, msg) = match &result {
                    Ok(_) => (0, ""),
                    Err(r) => (r.ret.code(), r.msg.as_str()),
                };
                backend.record(&Outcome {
                    operator_id: &operator_id,
                    interface,
                    ret,
                    msg,
                    sent_at: crate::client::parse_china_timestamp(&time_stamp),
                });
            }
        }
    }
    match result {
        Ok(plain) => match &keys {
            Some(k) => ResponseEnvelope::seal_ok(k, &plain),
            None => ResponseEnvelope::refusal(None, &Refusal::new(Ret::SystemError, "no keys")),
        },
        Err(refusal) => {
            tracing::info!(interface, ret = refusal.ret.code(), msg = %refusal.msg, "T/CEC request refused");
            ResponseEnvelope::refusal(keys.as_ref(), &refusal)
        }
    }
}

async fn answer<B: Backend>(
    backend: &B,
    interface: &str,
    bearer: Option<&str>,
    body: &[u8],
    keys_out: &mut Option<KeySet>,
) -> Result<Vec<u8>, Refusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::new(
            Ret::BadRequest,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    if !INTERFACES.contains(&interface) {
        return Err(Refusal::new(
            Ret::BadRequest,
            format!("unknown interface {interface}"),
        ));
    }
    let env = parse_request(body)?;
    let operator_id = OperatorId::new(&env.operator_id)
        .map_err(|e| Refusal::new(Ret::BadRequest, e.to_string()))?;
    let credentials = backend
        .credentials(&operator_id)
        .await
        .map_err(backend_refusal)?
        .ok_or_else(|| Refusal::new(Ret::BadSig, format!("unknown OperatorID {operator_id}")))?;
    let keys = KeySet::new(
        &credentials.data_secret,
        &credentials.data_secret_iv,
        &credentials.sig_secret,
    )
    .map_err(|e| {
        Refusal::new(
            Ret::SystemError,
            format!("the operator's key set is unusable: {e}"),
        )
    })?;
    // From here on, answers are signed with the operator's key set.
    *keys_out = Some(keys.clone());
    let sig_ok = crate::crypto::sig_matches(
        &keys.request_sig(&env.operator_id, &env.data, &env.time_stamp, &env.seq),
        &env.sig,
    );
    if !sig_ok {
        return Err(Refusal::new(Ret::BadSig, "Sig does not verify"));
    }
    if interface != "query_token" {
        let token =
            bearer.ok_or_else(|| Refusal::new(Ret::BadToken, "no Authorization: Bearer token"))?;
        match backend.token_owner(token).await.map_err(backend_refusal)? {
            Some(owner) if owner == operator_id => {}
            Some(_) => {
                return Err(Refusal::new(
                    Ret::BadToken,
                    "the token belongs to another operator",
                ))
            }
            None => {
                return Err(Refusal::new(
                    Ret::BadToken,
                    "unknown or expired token; call query_token",
                ))
            }
        }
    }
    let plain = keys
        .decrypt(&env.data)
        .map_err(|e| bad_data(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_slice(&plain)
        .map_err(|e| bad_data(format!("Data is not JSON after decryption: {e}")))?;
    let push = PushId {
        operator_id: operator_id.clone(),
        time_stamp: env.time_stamp.clone(),
        seq: env.seq.clone(),
        interface: INTERFACES
            .iter()
            .copied()
            .find(|i| *i == interface)
            .unwrap_or("unknown"),
    };
    match interface {
        "query_token" => {
            let req: QueryTokenRequest =
                serde_json::from_value(value).map_err(|e| bad_data(e.to_string()))?;
            let (token, seconds, succ, fail) = if req.operator_id != operator_id.as_str() {
                (String::new(), 0, 1, 1)
            } else if !crate::crypto::secrets_equal(
                &credentials.operator_secret,
                &req.operator_secret,
            ) {
                (String::new(), 0, 1, 2)
            } else {
                let (t, s) = backend
                    .issue_token(&operator_id, TOKEN_SECONDS)
                    .await
                    .map_err(backend_refusal)?;
                (t, s, 0, 0)
            };
            let answer = QueryTokenResponse {
                operator_id: operator_id.as_str(),
                succ_stat: succ,
                access_token: &token,
                token_available_time: seconds,
                fail_reason: fail,
            };
            serde_json::to_vec(&answer).map_err(|e| Refusal::new(Ret::SystemError, e.to_string()))
        }
        "notification_stationStatus" => {
            let push_body: StationStatusPush = serde_json::from_value(value).map_err(|e| {
                bad_data(format!(
                    "expected {{\"ConnectorStatusInfo\": {{...}}}}: {e}"
                ))
            })?;
            // One object by the standard; an array is accepted too (batches of statuses).
            let statuses = match &push_body.connector_status_info {
                serde_json::Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| status_info(v, &format!("ConnectorStatusInfo[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
                v => vec![status_info(v, "ConnectorStatusInfo")?],
            };
            backend
                .apply_statuses(&push, &statuses)
                .await
                .map_err(backend_refusal)?;
            Ok(br#"{"Status":0}"#.to_vec())
        }
        _ => {
            let station_value = value
                .get("StationInfo")
                .ok_or_else(|| bad_data("StationInfo is missing"))?;
            let info = parse_station_info(station_value)
                .map_err(|e| bad_data(format!("StationInfo.{e}")))?;
            if info.operator_id != operator_id.as_str() {
                return Err(bad_data(
                    "StationInfo.OperatorID is not the caller's OperatorID",
                ));
            }
            let converted = station_from_wire(
                &info,
                ConvertOptions {
                    coords: credentials.coords,
                },
            )
            .map_err(|errors| {
                bad_data(
                    errors
                        .iter()
                        .map(|e| format!("StationInfo.{e}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            backend
                .apply_station(&push, converted.station)
                .await
                .map_err(backend_refusal)?;
            Ok(br#"{"Status":0}"#.to_vec())
        }
    }
}

#[cfg(test)]
mod tests;
