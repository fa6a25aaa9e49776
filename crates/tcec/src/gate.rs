//! The checks every T/CEC request goes through, whichever side answers it (evgrid as the
//! platform, or a simulated operator platform): envelope (4003) → operator known (4001) → `Sig`
//! (4001) → optional `TimeStamp` window (4003) → token, except for `query_token` (4002) →
//! `Data` decrypted into JSON (4004). `query_token` itself is answered here. The caller then
//! applies the business data and [`respond`] signs the answer and notes the outcome.

use evgrid_model::time::unix_now;
use std::future::Future;

use evgrid_model::{OperatorCredentials, OperatorId, PushId, StorageError};
use serde::{Deserialize, Serialize};

use crate::crypto::KeySet;
use crate::envelope::{parse_request, Refusal, ResponseEnvelope, Ret};

/// Largest request body accepted, bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Seconds a token lives (`TokenAvailableTime`).
pub const TOKEN_SECONDS: i64 = 7200;

/// What happened to one request, for the caller's data-quality report.
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

/// Who may call and with which keys: credentials and tokens of the answering side.
pub trait Gate: Send + Sync {
    /// The credentials a caller uses towards this side.
    fn credentials(
        &self,
        id: &OperatorId,
    ) -> impl Future<Output = Result<Option<OperatorCredentials>, StorageError>> + Send;
    /// The caller's unexpired token (with seconds left), or a new one valid for `seconds`.
    fn issue_token(
        &self,
        id: &OperatorId,
        seconds: i64,
    ) -> impl Future<Output = Result<(String, i64), StorageError>> + Send;
    /// The caller whose unexpired token this is.
    fn token_owner(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<OperatorId>, StorageError>> + Send;
    /// Notes the outcome of a request from a known caller. In memory; must not fail or block.
    fn record(&self, _outcome: &Outcome<'_>) {}
    /// Largest accepted difference between a request's `TimeStamp` and this side's clock,
    /// seconds; `None` accepts any (the standard sets no window).
    fn max_clock_skew(&self) -> Option<i64> {
        None
    }
    /// How long this side keeps the duplicate keys of requests, seconds: a request whose
    /// `TimeStamp` is older is refused (a replay of it could no longer be told from a new one).
    /// `None`: kept for ever.
    fn push_keys_kept_for(&self) -> Option<i64> {
        None
    }
}

/// A request that passed every check, ready for its business data to be applied.
#[derive(Debug)]
pub struct Verified {
    pub credentials: OperatorCredentials,
    pub push: PushId,
    /// The decrypted business `Data`.
    pub data: serde_json::Value,
}

/// The result of the checks.
#[derive(Debug)]
pub enum Checked {
    /// `query_token`, already answered (business JSON of the answer).
    Answered(Vec<u8>),
    /// Any other interface.
    Verified(Box<Verified>),
}

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

/// A 4004 refusal.
pub fn bad_data(msg: impl Into<String>) -> Refusal {
    Refusal::new(Ret::BadData, msg)
}

/// The refusal for a storage error: 4004 for unknown references, 500 for failures.
pub fn backend_refusal(e: StorageError) -> Refusal {
    match e {
        StorageError::Invalid(m) => bad_data(m),
        StorageError::Failed(m) => {
            tracing::error!(error = %m, "T/CEC request not stored");
            Refusal::new(
                Ret::SystemError,
                "the platform could not store the data; retry later",
            )
        }
    }
}

/// Parses business JSON into `T`, naming the field that is wrong (4004).
pub fn business<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, Refusal> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        if field == "." {
            bad_data(e.into_inner().to_string())
        } else {
            bad_data(format!("{field}: {}", e.into_inner()))
        }
    })
}

/// Runs the checks for a request to `interface`, which must be one of `interfaces`.
/// `keys_out` receives the caller's key set as soon as it is known, so that refusals after
/// that point are signed.
pub async fn verify<G: Gate>(
    gate: &G,
    interfaces: &[&'static str],
    interface: &str,
    bearer: Option<&str>,
    body: &[u8],
    keys_out: &mut Option<KeySet>,
) -> Result<Checked, Refusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::new(
            Ret::BadRequest,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    let Some(interface) = interfaces.iter().copied().find(|i| *i == interface) else {
        return Err(Refusal::new(
            Ret::BadRequest,
            format!("unknown interface {interface}"),
        ));
    };
    let env = parse_request(body)?;
    let operator_id = OperatorId::new(&env.operator_id)
        .map_err(|e| Refusal::new(Ret::BadRequest, e.to_string()))?;
    let credentials = gate
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
    // From here on, answers are signed with the caller's key set.
    *keys_out = Some(keys.clone());
    let sig_ok = crate::crypto::sig_matches(
        &keys.request_sig(&env.operator_id, &env.data, &env.time_stamp, &env.seq),
        &env.sig,
    );
    if !sig_ok {
        return Err(Refusal::new(Ret::BadSig, "Sig does not verify"));
    }
    let sent = crate::time::parse_china_timestamp(&env.time_stamp);
    if let Some(window) = gate.max_clock_skew() {
        let skew = sent.map(|t| (t - unix_now()).abs());
        if skew.is_none_or(|s| s > window) {
            return Err(Refusal::new(
                Ret::BadRequest,
                format!(
                    "TimeStamp {} is not within {window} s of the platform's clock (China time, UTC+8)",
                    env.time_stamp
                ),
            ));
        }
    }
    // query_token writes no push key: only requests that do are bounded by their keys' age.
    if let Some(kept) = gate
        .push_keys_kept_for()
        .filter(|_| interface != "query_token")
    {
        if sent.is_some_and(|t| unix_now() - t > kept) {
            return Err(Refusal::new(
                Ret::BadRequest,
                format!(
                    "TimeStamp {} is older than the {kept} s the platform keeps requests' keys: \
                     a replay could not be told from a new request",
                    env.time_stamp
                ),
            ));
        }
    }
    if interface != "query_token" {
        let token =
            bearer.ok_or_else(|| Refusal::new(Ret::BadToken, "no Authorization: Bearer token"))?;
        match gate.token_owner(token).await.map_err(backend_refusal)? {
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
    let data: serde_json::Value = serde_json::from_slice(&plain)
        .map_err(|e| bad_data(format!("Data is not JSON after decryption: {e}")))?;
    if interface == "query_token" {
        let req: QueryTokenRequest = business(&data)?;
        let (token, seconds, succ, fail) = if req.operator_id != operator_id.as_str() {
            (String::new(), 0, 1, 1)
        } else if !crate::crypto::secrets_equal(&credentials.operator_secret, &req.operator_secret)
        {
            (String::new(), 0, 1, 2)
        } else {
            let (t, s) = gate
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
        return serde_json::to_vec(&answer)
            .map(Checked::Answered)
            .map_err(|e| Refusal::new(Ret::SystemError, e.to_string()));
    }
    Ok(Checked::Verified(Box::new(Verified {
        credentials,
        push: PushId {
            operator_id,
            time_stamp: env.time_stamp,
            seq: env.seq,
            interface,
        },
        data,
    })))
}

/// Notes the outcome for a known caller and seals the answer: `Ret 0` with the business JSON
/// encrypted and signed, or the refusal (signed once the caller's keys are known).
pub async fn respond<G: Gate>(
    gate: &G,
    interface: &str,
    body: &[u8],
    keys: Option<KeySet>,
    result: Result<Vec<u8>, Refusal>,
) -> ResponseEnvelope {
    // Requests that name a known caller count in its data-quality report.
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
                keys.is_some() || matches!(gate.credentials(&operator_id).await, Ok(Some(_)));
            if known {
                let (ret, msg) = match &result {
                    Ok(_) => (0, ""),
                    Err(r) => (r.ret.code(), r.msg.as_str()),
                };
                gate.record(&Outcome {
                    operator_id: &operator_id,
                    interface,
                    ret,
                    msg,
                    sent_at: crate::time::parse_china_timestamp(&time_stamp),
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
