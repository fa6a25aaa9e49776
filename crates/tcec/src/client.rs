//! Calling a counterpart's T/CEC 102 interfaces (an operator platform, or evgrid when a
//! simulated operator pushes): `query_token` first and again before the token expires or when
//! the counterpart answers 4002, then sealed, signed requests; answers are checked and opened.
//! Plain HTTP/1.1 (loopback and test setups); TLS termination is the deployment's.

use evgrid_model::time::unix_now;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::business::{
    BusinessPolicy, BusinessPolicyResult, ChargeStatus, ChargeStatusQuery, CheckChargeOrders,
    CheckChargeOrdersResult, EquipAuth, EquipAuthResult, QueryStationStats, QueryStationStatus,
    QueryStationsInfo, StartCharge, StartChargeResult, StationStats, StationStatsResult,
    StationStatusInfo, StationStatusResult, StopCharge, StopChargeResult,
};
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
    #[error("the counterpart's paging does not add up: {0}")]
    Paging(String),
}

/// The largest answer read from a counterpart; a longer one is refused after this many bytes
/// (a page of 50 stations with all their equipment is well under 1 MiB).
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// How much of a counterpart's unreadable answer is quoted in an error (and so in a log line).
pub const QUOTED_ANSWER_CHARS: usize = 300;

/// The start of `bytes` as text, for a message: at most [`QUOTED_ANSWER_CHARS`] characters,
/// with the length of the rest.
fn quoted(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTED_ANSWER_CHARS * 4)]);
    let shown: String = text.chars().take(QUOTED_ANSWER_CHARS).collect();
    if shown.len() < bytes.len() {
        format!("{shown}… ({} bytes in all)", bytes.len())
    } else {
        shown
    }
}

/// Most StationIDs `query_station_status` takes in one call (§5.5).
pub const STATUS_BATCH: usize = 50;
/// Most pages `all_stations` follows before giving up (a counterpart whose PageCount grows).
pub const MAX_PAGES: i32 = 10_000;

/// One page of `query_stations_info`, the stations kept as JSON so that one bad station can be
/// reported without losing the page.
#[derive(Debug, Clone, Deserialize)]
pub struct StationsPage {
    #[serde(rename = "PageNo")]
    pub page_no: i32,
    #[serde(rename = "PageCount")]
    pub page_count: i32,
    #[serde(rename = "ItemSize")]
    pub item_size: i32,
    #[serde(rename = "StationInfos")]
    pub station_infos: Vec<serde_json::Value>,
}

/// Deliberate defects for one request, used by the simulator's fault injection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Defects {
    /// Send a `TimeStamp` this many seconds in the past (a late push).
    pub backdate_seconds: i64,
    /// Send a `Sig` that does not verify.
    pub corrupt_sig: bool,
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
    business_seq: AtomicU32,
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
            business_seq: AtomicU32::new(0),
        })
    }

    /// Gives up on a call after `timeout` (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The OperatorID this client calls as.
    pub fn operator_id(&self) -> &str {
        &self.operator_id
    }

    /// A fresh 27-character business sequence (`StartChargeSeq`, `EquipAuthSeq`, ...) of this
    /// client's OperatorID.
    pub fn new_seq(&self) -> String {
        crate::business::new_seq(
            &self.operator_id,
            unix_now(),
            self.business_seq.fetch_add(1, Ordering::Relaxed),
        )
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
            // Read no further than MAX_ANSWER_BYTES, whatever the counterpart sends.
            let bytes = http_body_util::Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        ClientError::BadAnswer(format!(
                            "HTTP {status}: the answer is longer than {MAX_ANSWER_BYTES} bytes"
                        ))
                    } else {
                        ClientError::Http(e.to_string())
                    }
                })?
                .to_bytes();
            serde_json::from_slice::<ResponseEnvelope>(&bytes).map_err(|e| {
                ClientError::BadAnswer(format!("HTTP {status}: {e}: {}", quoted(&bytes)))
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
        defects: Defects,
    ) -> Result<Vec<u8>, ClientError> {
        let mut env = RequestEnvelope::seal(
            &self.keys,
            &self.operator_id,
            plain,
            &china_timestamp(unix_now() - defects.backdate_seconds),
            &self.next_seq(),
        );
        if defects.corrupt_sig {
            env.sig = env.sig.chars().rev().collect();
        }
        let body = serde_json::to_vec(&env).map_err(|e| ClientError::Http(e.to_string()))?;
        let answer = self.post(interface, token, body).await?;
        // A code outside the standard's (a superior's 4015 "already received") is kept as sent.
        let raw_ret = answer.ret;
        answer
            .open(&self.keys, self.check_response_sig)
            .map_err(|r| ClientError::Refused {
                ret: if r.ret == Ret::SystemError && Ret::from_code(raw_ret).is_none() {
                    raw_ret
                } else {
                    r.ret.code()
                },
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
        let answer = self
            .exchange("query_token", None, &plain, Defects::default())
            .await?;
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
        self.call_with_defects(interface, business, Defects::default())
            .await
    }

    /// [`Client::call`] with deliberate defects (fault injection).
    pub async fn call_with_defects<T: Serialize>(
        &self,
        interface: &str,
        business: &T,
        defects: Defects,
    ) -> Result<Vec<u8>, ClientError> {
        let plain = serde_json::to_vec(business).map_err(|e| ClientError::Http(e.to_string()))?;
        let token = self.token(false).await?;
        match self
            .exchange(interface, Some(&token), &plain, defects)
            .await
        {
            Err(ClientError::Refused { ret, .. }) if ret == Ret::BadToken.code() => {
                let token = self.token(true).await?;
                self.exchange(interface, Some(&token), &plain, defects)
                    .await
            }
            other => other,
        }
    }

    /// Calls an interface and reads the answer as `R`.
    pub async fn request<T: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        interface: &str,
        business: &T,
    ) -> Result<R, ClientError> {
        let answer = self.call(interface, business).await?;
        serde_json::from_slice(&answer)
            .map_err(|e| ClientError::BadAnswer(format!("{interface}: {e}")))
    }

    /// One page of the counterpart's station directory (`query_stations_info`), stations
    /// changed since `last_query_time` (`yyyy-MM-dd HH:mm:ss`) or all.
    pub async fn query_stations_info(
        &self,
        last_query_time: Option<&str>,
        page_no: i32,
        page_size: i32,
    ) -> Result<StationsPage, ClientError> {
        self.request(
            "query_stations_info",
            &QueryStationsInfo {
                last_query_time: last_query_time.map(str::to_owned),
                page_no: Some(page_no),
                page_size: Some(page_size),
            },
        )
        .await
    }

    /// Every page of the directory, until `PageCount`; checks that the pages add up to
    /// `ItemSize`.
    pub async fn all_stations(
        &self,
        last_query_time: Option<&str>,
        page_size: i32,
    ) -> Result<Vec<serde_json::Value>, ClientError> {
        let mut stations = Vec::new();
        let mut page_no = 1;
        loop {
            let page = self
                .query_stations_info(last_query_time, page_no, page_size)
                .await?;
            if page.page_no != page_no {
                return Err(ClientError::Paging(format!(
                    "asked for page {page_no}, got PageNo {}",
                    page.page_no
                )));
            }
            let expected = usize::try_from(page.item_size).unwrap_or(0);
            stations.extend(page.station_infos);
            if page_no >= page.page_count || page.page_count > MAX_PAGES {
                if page.page_count > MAX_PAGES {
                    return Err(ClientError::Paging(format!(
                        "PageCount {} is more than {MAX_PAGES}",
                        page.page_count
                    )));
                }
                if stations.len() != expected {
                    return Err(ClientError::Paging(format!(
                        "ItemSize {expected} but {} stations on {} pages",
                        stations.len(),
                        page.page_count
                    )));
                }
                return Ok(stations);
            }
            page_no += 1;
        }
    }

    /// Connector statuses of the given stations, asked in batches of at most 50
    /// (`query_station_status`).
    pub async fn query_station_status(
        &self,
        station_ids: &[String],
    ) -> Result<Vec<StationStatusInfo>, ClientError> {
        let mut out = Vec::with_capacity(station_ids.len());
        for batch in station_ids.chunks(STATUS_BATCH) {
            let answer: StationStatusResult = self
                .request(
                    "query_station_status",
                    &QueryStationStatus {
                        station_ids: batch.to_vec(),
                    },
                )
                .await?;
            out.extend(answer.station_status_infos);
        }
        Ok(out)
    }

    /// Energy statistics of a station between two dates `yyyy-MM-dd` (`query_station_stats`).
    pub async fn query_station_stats(
        &self,
        station_id: &str,
        start_date: &str,
        end_date: &str,
    ) -> Result<StationStats, ClientError> {
        let answer: StationStatsResult = self
            .request(
                "query_station_stats",
                &QueryStationStats {
                    station_id: station_id.to_owned(),
                    start_time: start_date.to_owned(),
                    end_time: end_date.to_owned(),
                },
            )
            .await?;
        Ok(answer.station_stats)
    }

    /// Whether a connector is ready to start (`query_equip_auth`), with a fresh `EquipAuthSeq`.
    pub async fn query_equip_auth(
        &self,
        connector_id: &str,
    ) -> Result<EquipAuthResult, ClientError> {
        self.request(
            "query_equip_auth",
            &EquipAuth {
                equip_auth_seq: self.new_seq(),
                connector_id: connector_id.to_owned(),
            },
        )
        .await
    }

    /// A connector's tariff (`query_equip_business_policy`), with a fresh `EquipBizSeq`.
    pub async fn query_equip_business_policy(
        &self,
        connector_id: &str,
    ) -> Result<BusinessPolicyResult, ClientError> {
        self.request(
            "query_equip_business_policy",
            &BusinessPolicy {
                equip_biz_seq: self.new_seq(),
                connector_id: connector_id.to_owned(),
            },
        )
        .await
    }

    /// Asks the operator to start charging (`query_start_charge`). The caller makes the
    /// `StartChargeSeq` ([`Client::new_seq`]) and keeps it: after a timeout, ask
    /// [`Client::query_equip_charge_status`] with it instead of starting again.
    pub async fn query_start_charge(
        &self,
        start_charge_seq: &str,
        connector_id: &str,
        qr_code: Option<&str>,
    ) -> Result<StartChargeResult, ClientError> {
        self.request(
            "query_start_charge",
            &StartCharge {
                start_charge_seq: start_charge_seq.to_owned(),
                connector_id: connector_id.to_owned(),
                qr_code: qr_code.map(str::to_owned),
            },
        )
        .await
    }

    /// The live data of a charge (`query_equip_charge_status`).
    pub async fn query_equip_charge_status(
        &self,
        start_charge_seq: &str,
    ) -> Result<ChargeStatus, ClientError> {
        self.request(
            "query_equip_charge_status",
            &ChargeStatusQuery {
                start_charge_seq: start_charge_seq.to_owned(),
            },
        )
        .await
    }

    /// Asks the operator to stop charging (`query_stop_charge`).
    pub async fn query_stop_charge(
        &self,
        start_charge_seq: &str,
        connector_id: &str,
    ) -> Result<StopChargeResult, ClientError> {
        self.request(
            "query_stop_charge",
            &StopCharge {
                start_charge_seq: start_charge_seq.to_owned(),
                connector_id: connector_id.to_owned(),
            },
        )
        .await
    }

    /// Sends a reconciliation of orders (`check_charge_orders`) and returns the disputes.
    pub async fn check_charge_orders(
        &self,
        check: &CheckChargeOrders,
    ) -> Result<CheckChargeOrdersResult, ClientError> {
        self.request("check_charge_orders", check).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counterpart answering `body` to every request, once per connection, on loopback.
    async fn answering(body: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let body = std::sync::Arc::new(body);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut request = vec![0u8; 64 * 1024];
                    let _ = stream.read(&mut request).await;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        format!("http://{addr}/evcs/v1/")
    }

    #[tokio::test]
    async fn huge_or_garbled_answers_are_refused_after_a_bounded_read_and_quoted_briefly() {
        let keys = KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s").unwrap();
        // Non-JSON past the bound (before: 300 MB were read whole, 600 MB of memory, and logged whole).
        let url = answering(vec![b'x'; MAX_ANSWER_BYTES + 1024 * 1024]).await;
        let client = Client::new(&url, "MA01D1QR8", "x", keys.clone()).unwrap();
        let error = client
            .post("query_token", None, b"{}".to_vec())
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("longer than"), "{text}");
        assert!(text.len() < 200, "{text}");
        // A garbled answer under the bound: refused, quoted in a few hundred characters.
        let url = answering(vec![b'y'; 100_000]).await;
        let client = Client::new(&url, "MA01D1QR8", "x", keys).unwrap();
        let text = client
            .post("query_token", None, b"{}".to_vec())
            .await
            .unwrap_err()
            .to_string();
        assert!(text.contains("100000 bytes in all"), "{text}");
        assert!(
            text.len() < QUOTED_ANSWER_CHARS + 200,
            "{} chars",
            text.len()
        );
    }

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
