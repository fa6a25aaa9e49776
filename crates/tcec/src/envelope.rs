//! The T/CEC 102.4 envelopes: the request (`OperatorID`, `Data`, `TimeStamp`, `Seq`, `Sig`) and
//! the response (`Ret`, `Msg`, `Data`, `Sig`), the `Ret` codes, and sealing and opening with a
//! [`KeySet`]. Checks follow the spec's recommended order: envelope shape (4003), then the
//! signature (4001), then the data (4004); `Data` is never decrypted before its `Sig` verifies.

use serde::{Deserialize, Serialize};

use crate::crypto::{sig_matches, CryptoError, KeySet};

/// `Ret` codes (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// -1: busy, retry later.
    Busy,
    /// 0: processed (the business outcome is inside `Data`).
    Ok,
    /// 4001: signature error (or unknown operator).
    BadSig,
    /// 4002: missing, unknown, expired or foreign token.
    BadToken,
    /// 4003: envelope fields missing or malformed.
    BadRequest,
    /// 4004: business data invalid (including `Data` that does not decrypt).
    BadData,
    /// 500: system error.
    SystemError,
}

impl Ret {
    /// The wire value.
    pub fn code(self) -> i32 {
        match self {
            Ret::Busy => -1,
            Ret::Ok => 0,
            Ret::BadSig => 4001,
            Ret::BadToken => 4002,
            Ret::BadRequest => 4003,
            Ret::BadData => 4004,
            Ret::SystemError => 500,
        }
    }

    /// From a wire value.
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            -1 => Ret::Busy,
            0 => Ret::Ok,
            4001 => Ret::BadSig,
            4002 => Ret::BadToken,
            4003 => Ret::BadRequest,
            4004 => Ret::BadData,
            500 => Ret::SystemError,
            _ => return None,
        })
    }
}

/// A refusal: the `Ret` and the `Msg` that says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Ret {}: {msg}", ret.code())]
pub struct Refusal {
    pub ret: Ret,
    pub msg: String,
}

impl Refusal {
    /// A refusal with a message.
    pub fn new(ret: Ret, msg: impl Into<String>) -> Self {
        Self {
            ret,
            msg: msg.into(),
        }
    }
}

/// The request envelope, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    #[serde(rename = "OperatorID")]
    pub operator_id: String,
    #[serde(rename = "Data")]
    pub data: String,
    #[serde(rename = "TimeStamp")]
    pub time_stamp: String,
    #[serde(rename = "Seq")]
    pub seq: String,
    #[serde(rename = "Sig")]
    pub sig: String,
}

/// The response envelope, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    #[serde(rename = "Ret")]
    pub ret: i32,
    #[serde(rename = "Msg")]
    pub msg: String,
    #[serde(rename = "Data")]
    pub data: String,
    #[serde(rename = "Sig")]
    pub sig: String,
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses and checks a request body's envelope shape; every problem is a 4003.
pub fn parse_request(body: &[u8]) -> Result<RequestEnvelope, Refusal> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(Ret::BadRequest, format!("the body is not JSON: {e}")))?;
    let field = |name: &str| -> Result<String, Refusal> {
        match value.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Refusal::new(
                Ret::BadRequest,
                format!("{name} must be a string"),
            )),
            None => Err(Refusal::new(Ret::BadRequest, format!("{name} is missing"))),
        }
    };
    let env = RequestEnvelope {
        operator_id: field("OperatorID")?,
        data: field("Data")?,
        time_stamp: field("TimeStamp")?,
        seq: field("Seq")?,
        sig: field("Sig")?,
    };
    if env.operator_id.len() != 9
        || !env
            .operator_id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return Err(Refusal::new(
            Ret::BadRequest,
            "OperatorID must be 9 characters of 0-9 and A-Z",
        ));
    }
    if env.data.is_empty() {
        return Err(Refusal::new(Ret::BadRequest, "Data is empty"));
    }
    if !digits(&env.time_stamp, 14) {
        return Err(Refusal::new(
            Ret::BadRequest,
            "TimeStamp must be 14 digits, yyyyMMddHHmmss",
        ));
    }
    if !digits(&env.seq, 4) {
        return Err(Refusal::new(Ret::BadRequest, "Seq must be 4 digits"));
    }
    if env.sig.len() != 32 || !env.sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::new(
            Ret::BadRequest,
            "Sig must be 32 hexadecimal characters",
        ));
    }
    Ok(env)
}

impl RequestEnvelope {
    /// Seals a business payload into a signed request.
    pub fn seal(
        keys: &KeySet,
        operator_id: &str,
        plain: &[u8],
        time_stamp: &str,
        seq: &str,
    ) -> Self {
        let data = keys.encrypt(plain);
        let sig = keys.request_sig(operator_id, &data, time_stamp, seq);
        Self {
            operator_id: operator_id.to_owned(),
            data,
            time_stamp: time_stamp.to_owned(),
            seq: seq.to_owned(),
            sig,
        }
    }

    /// Verifies the signature (4001), then decrypts `Data` (4004 when it does not decrypt).
    pub fn open(&self, keys: &KeySet) -> Result<Vec<u8>, Refusal> {
        let expected = keys.request_sig(&self.operator_id, &self.data, &self.time_stamp, &self.seq);
        if !sig_matches(&expected, &self.sig) {
            return Err(Refusal::new(Ret::BadSig, "Sig does not verify"));
        }
        keys.decrypt(&self.data)
            .map_err(|e: CryptoError| Refusal::new(Ret::BadData, e.to_string()))
    }
}

impl ResponseEnvelope {
    /// A signed success answer with an encrypted payload.
    pub fn seal_ok(keys: &KeySet, plain: &[u8]) -> Self {
        let data = keys.encrypt(plain);
        let sig = keys.response_sig(0, "", &data);
        Self {
            ret: 0,
            msg: String::new(),
            data,
            sig,
        }
    }

    /// A refusal with empty `Data`, signed with `keys` when the caller is known.
    pub fn refusal(keys: Option<&KeySet>, refusal: &Refusal) -> Self {
        let code = refusal.ret.code();
        let sig = keys.map_or_else(String::new, |k| k.response_sig(code, &refusal.msg, ""));
        Self {
            ret: code,
            msg: refusal.msg.clone(),
            data: String::new(),
            sig,
        }
    }

    /// Opens an answer: checks `Sig` (unless `check_sig` is off for a sloppy operator), then
    /// returns the decrypted payload of a `Ret` 0, or the refusal.
    pub fn open(&self, keys: &KeySet, check_sig: bool) -> Result<Vec<u8>, Refusal> {
        if check_sig
            && !sig_matches(
                &keys.response_sig(self.ret, &self.msg, &self.data),
                &self.sig,
            )
        {
            return Err(Refusal::new(
                Ret::BadSig,
                "the answer's Sig does not verify",
            ));
        }
        match Ret::from_code(self.ret) {
            Some(Ret::Ok) => keys
                .decrypt(&self.data)
                .map_err(|e| Refusal::new(Ret::BadData, e.to_string())),
            Some(ret) => Err(Refusal::new(ret, self.msg.clone())),
            None => Err(Refusal::new(
                Ret::SystemError,
                format!("unknown Ret {}: {}", self.ret, self.msg),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeySet {
        KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s1g2s3e4c5r6e7t8").unwrap()
    }

    fn vectors() -> serde_json::Value {
        serde_json::from_str(include_str!("../tests/fixtures/tcec102-vectors.json")).unwrap()
    }

    #[test]
    fn the_vector_envelopes_open() {
        let v = vectors();
        let env = &v["envelopes"]["query_token"];
        let req = parse_request(env["request"].to_string().as_bytes()).unwrap();
        assert_eq!(
            req.open(&keys()).unwrap(),
            env["request_plaintext"].as_str().unwrap().as_bytes()
        );
        let res: ResponseEnvelope = serde_json::from_value(env["response"].clone()).unwrap();
        assert_eq!(
            res.open(&keys(), true).unwrap(),
            env["response_plaintext"].as_str().unwrap().as_bytes()
        );
        let err: ResponseEnvelope =
            serde_json::from_value(v["envelopes"]["error_response_bad_sig"]["response"].clone())
                .unwrap();
        let refusal = Refusal::new(Ret::BadSig, err.msg.clone());
        assert_eq!(
            ResponseEnvelope::refusal(Some(&keys()), &refusal),
            err,
            "our refusal is the vector's"
        );
        assert_eq!(err.open(&keys(), true).unwrap_err().ret, Ret::BadSig);
    }

    #[test]
    fn seal_and_open_round_trip() {
        let req =
            RequestEnvelope::seal(&keys(), "MA01D1QR8", b"{\"x\":1}", "20240105160004", "0001");
        let body = serde_json::to_vec(&req).unwrap();
        assert_eq!(
            parse_request(&body).unwrap().open(&keys()).unwrap(),
            b"{\"x\":1}"
        );
        let res = ResponseEnvelope::seal_ok(&keys(), b"{\"Status\":0}");
        assert_eq!(res.open(&keys(), true).unwrap(), b"{\"Status\":0}");
    }

    #[test]
    fn shape_errors_are_4003_and_bad_sig_4001() {
        let ok = RequestEnvelope::seal(&keys(), "MA01D1QR8", b"{}", "20240105160004", "0001");
        let mut cases: Vec<(serde_json::Value, &str)> = Vec::new();
        let base = serde_json::to_value(&ok).unwrap();
        for (field, bad, why) in [
            ("TimeStamp", serde_json::json!("2024-01-05"), "TimeStamp"),
            ("Seq", serde_json::json!("1"), "Seq"),
            ("Sig", serde_json::json!("XYZ"), "Sig"),
            ("OperatorID", serde_json::json!("ma01"), "OperatorID"),
            ("Data", serde_json::json!(""), "Data"),
            ("Seq", serde_json::json!(1), "Seq"),
        ] {
            let mut v = base.clone();
            v[field] = bad;
            cases.push((v, why));
        }
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove("Sig");
        cases.push((missing, "Sig is missing"));
        for (v, why) in cases {
            let r = parse_request(v.to_string().as_bytes()).unwrap_err();
            assert_eq!(r.ret, Ret::BadRequest);
            assert!(r.msg.contains(why), "{} vs {why}", r.msg);
        }
        assert_eq!(parse_request(b"not json").unwrap_err().ret, Ret::BadRequest);
        let mut tampered = ok.clone();
        tampered.seq = "0002".into();
        assert_eq!(tampered.open(&keys()).unwrap_err().ret, Ret::BadSig);
        let mut garbage = ok;
        garbage.data = "AAAA".into();
        garbage.sig = keys().request_sig(
            &garbage.operator_id,
            &garbage.data,
            &garbage.time_stamp,
            &garbage.seq,
        );
        assert_eq!(garbage.open(&keys()).unwrap_err().ret, Ret::BadData);
    }
}
