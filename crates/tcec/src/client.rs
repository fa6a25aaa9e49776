//! Calling a counterpart's T/CEC 102 interfaces (an operator platform, or evgrid when a
//! simulated operator pushes): `query_token` first and again before the token expires or when
//! the counterpart answers 4002, then sealed, signed requests; answers are checked and opened.
//! Plain HTTP/1.1 (loopback and test setups); TLS termination is the deployment's.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::crypto::KeySet;
use crate::envelope::{RequestEnvelope, ResponseEnvelope, Ret};
pub use crate::time::{china_timestamp, parse_china_timestamp};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("base URL {0:?} must look like http://host:port/path/")]
    BadUrl(String),
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the counterpart refused: Ret {ret}: {msg}")]
    Refused { ret: i32, msg: String },
    #[error("the counterpart's answer is not a T/CEC envelope: {0}")]
    BadAnswer(String),
    #[error("query_token failed: FailReason {0}")]
    TokenRefused(i64),
}

/// A client of one counterpart, for one caller identity.
#[derive(Debug)]
pub struct Client {
    host_port: String,
    path: String,
    operator_id: String,
    operator_secret: String,
    keys: KeySet,
    check_response_sig: bool,
    timeout: Duration,
    token: Mutex<Option<(String, Instant)>>,
    seq: AtomicU32,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    #[serde(rename = "OperatorID")]
    operator_id: &'a str,
    #[serde(rename = "OperatorSecret")]
    operator_secret: &'a str,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(rename = "SuccStat")]
    succ_stat: i64,
    #[serde(rename = "AccessToken")]
    access_token: String,
    #[serde(rename = "TokenAvailableTime")]
    token_available_time: i64,
    #[serde(rename = "FailReason", default)]
    fail_reason: i64,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Client {
    /// A client calling `base_url` (e.g. `http://127.0.0.1:8080/evcs/v1/`) as `operator_id`.
    pub fn new(
        base_url: &str,
        operator_id: &str,
        operator_secret: &str,
        keys: KeySet,
    ) -> Result<Self, ClientError> {
        let rest = base_url
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::BadUrl(base_url.to_owned()))?;
        let (host_port, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host_port.is_empty() {
            return Err(ClientError::BadUrl(base_url.to_owned()));
        }
        let mut path = format!("/{path}");
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(Self {
            host_port: host_port.to_owned(),
            path,
            operator_id: operator_id.to_owned(),
            operator_secret: operator_secret.to_owned(),
            keys,
            check_response_sig: true,
            timeout: Duration::from_secs(30),
            token: Mutex::new(None),
            seq: AtomicU32::new(0),
        })
    }

    /// Skips checking the answers' `Sig`, for counterparts that sign them wrongly.
    pub fn without_response_sig_check(mut self) -> Self {
        self.check_response_sig = false;
        self
    }

    fn next_seq(&self) -> String {
        format!("{:04}", self.seq.fetch_add(1, Ordering::Relaxed) % 9999 + 1)
    }

    async fn post(
        &self,
        interface: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> Result<ResponseEnvelope, ClientError> {
        let work = async {
            let stream = tokio::net::TcpStream::connect(&self.host_port)
                .await
                .map_err(|e| ClientError::Connect(self.host_port.clone(), e))?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| ClientError::Http(e.to_string()))?;
            tokio::spawn(conn);
            let mut req = hyper::Request::post(format!("{}{interface}", self.path))
                .header("host", &self.host_port)
                .header("content-type", "application/json;charset=utf-8");
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let req = req
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| ClientError::Http(e.to_string()))?;
            let res = sender
                .send_request(req)
                .await
                .map_err(|e| ClientError::Http(e.to_string()))?;
            let status = res.status();
            let bytes = res
                .into_body()
                .collect()
                .await
                .map_err(|e| ClientError::Http(e.to_string()))?
                .to_bytes();
            serde_json::from_slice::<ResponseEnvelope>(&bytes).map_err(|e| {
                ClientError::BadAnswer(format!(
                    "HTTP {status}: {e}: {}",
                    String::from_utf8_lossy(&bytes)
                ))
            })
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }

    async fn exchange(
        &self,
        interface: &str,
        token: Option<&str>,
        plain: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let env = RequestEnvelope::seal(
            &self.keys,
            &self.operator_id,
            plain,
            &china_timestamp(unix_now()),
            &self.next_seq(),
        );
        let body = serde_json::to_vec(&env).map_err(|e| ClientError::Http(e.to_string()))?;
        let answer = self.post(interface, token, body).await?;
        answer
            .open(&self.keys, self.check_response_sig)
            .map_err(|r| ClientError::Refused {
                ret: r.ret.code(),
                msg: r.msg,
            })
    }

    /// A valid token, fetched or refreshed when missing or within 10% of its life of expiry.
    async fn token(&self, force: bool) -> Result<String, ClientError> {
        let mut guard = self.token.lock().await;
        if let Some((token, refresh_at)) = guard.as_ref() {
            if !force && Instant::now() < *refresh_at {
                return Ok(token.clone());
            }
        }
        let plain = serde_json::to_vec(&TokenRequest {
            operator_id: &self.operator_id,
            operator_secret: &self.operator_secret,
        })
        .map_err(|e| ClientError::Http(e.to_string()))?;
        let answer = self.exchange("query_token", None, &plain).await?;
        let t: TokenAnswer =
            serde_json::from_slice(&answer).map_err(|e| ClientError::BadAnswer(e.to_string()))?;
        if t.succ_stat != 0 {
            return Err(ClientError::TokenRefused(t.fail_reason));
        }
        let life = Duration::from_secs(u64::try_from(t.token_available_time.max(1)).unwrap_or(1));
        *guard = Some((t.access_token.clone(), Instant::now() + life.mul_f64(0.9)));
        Ok(t.access_token)
    }

    /// Calls an interface with a business payload and returns the answer's business JSON.
    /// A 4002 answer refreshes the token and retries once.
    pub async fn call<T: Serialize>(
        &self,
        interface: &str,
        business: &T,
    ) -> Result<Vec<u8>, ClientError> {
        let plain = serde_json::to_vec(business).map_err(|e| ClientError::Http(e.to_string()))?;
        let token = self.token(false).await?;
        match self.exchange(interface, Some(&token), &plain).await {
            Err(ClientError::Refused { ret, .. }) if ret == Ret::BadToken.code() => {
                let token = self.token(true).await?;
                self.exchange(interface, Some(&token), &plain).await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_parsed() {
        let k = KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s").unwrap();
        let c = Client::new("http://127.0.0.1:8080/evcs/v1", "MA01D1QR8", "x", k.clone()).unwrap();
        assert_eq!(
            (c.host_port.as_str(), c.path.as_str()),
            ("127.0.0.1:8080", "/evcs/v1/")
        );
        assert!(Client::new("https://x/", "MA01D1QR8", "x", k.clone()).is_err());
        assert!(Client::new("http:///evcs", "MA01D1QR8", "x", k).is_err());
    }
}
