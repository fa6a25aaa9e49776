//! T/CEC 102.4 message security: `Data` is AES-128-CBC with PKCS#7 padding, Base64-encoded;
//! `Sig` is the uppercase hex HMAC-MD5 of the envelope fields (request: OperatorID + Data +
//! TimeStamp + Seq; response: Ret + Msg + Data). Secrets are ASCII strings used as their bytes.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use hmac::{Hmac, Mac};

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;
type HmacMd5 = Hmac<md5::Md5>;

/// Why `Data` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("Data is not valid Base64")]
    Base64,
    #[error("Data does not decrypt (wrong length or padding: wrong DataSecret or DataSecretIV?)")]
    Decrypt,
    #[error("{0} must be exactly 16 bytes")]
    KeyLength(&'static str),
}

/// One direction's key set, as the receiver issued it.
#[derive(Clone)]
pub struct KeySet {
    pub data_secret: [u8; 16],
    pub data_secret_iv: [u8; 16],
    pub sig_secret: Vec<u8>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach a log.
        f.write_str("KeySet { .. }")
    }
}

impl KeySet {
    /// From the three secrets as configured (DataSecret and DataSecretIV must be 16 bytes).
    pub fn new(
        data_secret: &str,
        data_secret_iv: &str,
        sig_secret: &str,
    ) -> Result<Self, CryptoError> {
        let key: [u8; 16] = data_secret
            .as_bytes()
            .try_into()
            .map_err(|_| CryptoError::KeyLength("DataSecret"))?;
        let iv: [u8; 16] = data_secret_iv
            .as_bytes()
            .try_into()
            .map_err(|_| CryptoError::KeyLength("DataSecretIV"))?;
        Ok(Self {
            data_secret: key,
            data_secret_iv: iv,
            sig_secret: sig_secret.as_bytes().to_vec(),
        })
    }

    /// Encrypts and Base64-encodes a plaintext (the business JSON) into `Data`.
    pub fn encrypt(&self, plain: &[u8]) -> String {
        let cipher = Aes128CbcEnc::new(&self.data_secret.into(), &self.data_secret_iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plain);
        base64::engine::general_purpose::STANDARD.encode(cipher)
    }

    /// Decodes and decrypts `Data`. Line breaks inside the Base64 (old Java senders) are ignored.
    pub fn decrypt(&self, data: &str) -> Result<Vec<u8>, CryptoError> {
        let compact: String = data.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        let cipher = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| CryptoError::Base64)?;
        Aes128CbcDec::new(&self.data_secret.into(), &self.data_secret_iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&cipher)
            .map_err(|_| CryptoError::Decrypt)
    }

    fn hmac_hex(&self, parts: &[&str]) -> String {
        let mut mac = HmacMd5::new_from_slice(&self.sig_secret).unwrap_or_else(|_| {
            // HMAC takes keys of any length; this branch cannot be reached.
            HmacMd5::new_from_slice(b"").unwrap_or_else(|_| unreachable!())
        });
        for p in parts {
            mac.update(p.as_bytes());
        }
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// `Sig` of a request: HMAC-MD5 over OperatorID + Data + TimeStamp + Seq.
    pub fn request_sig(&self, operator_id: &str, data: &str, timestamp: &str, seq: &str) -> String {
        self.hmac_hex(&[operator_id, data, timestamp, seq])
    }

    /// `Sig` of a response: HMAC-MD5 over decimal(Ret) + Msg + Data.
    pub fn response_sig(&self, ret: i32, msg: &str, data: &str) -> String {
        self.hmac_hex(&[&ret.to_string(), msg, data])
    }
}

/// Compares two secrets exactly, in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Compares a received signature with the expected one: case-insensitive, in constant time.
pub fn sig_matches(expected: &str, received: &str) -> bool {
    let (a, b) = (expected.as_bytes(), received.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| {
        acc | (x.to_ascii_uppercase() ^ y.to_ascii_uppercase())
    }) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../tests/fixtures/tcec102-vectors.json")).unwrap()
    }

    fn keys(v: &Value, name: &str) -> KeySet {
        let c = &v["credentials"][name];
        KeySet::new(
            c["DataSecret"].as_str().unwrap(),
            c["DataSecretIV"].as_str().unwrap(),
            c["SigSecret"].as_str().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn every_case_encrypts_signs_and_decrypts_as_the_vectors_say() {
        let v = vectors();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 5);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let k = keys(&v, case["credentials"].as_str().unwrap());
            let plain = case["plaintext"].as_str().unwrap();
            let data = k.encrypt(plain.as_bytes());
            assert_eq!(data, case["expected_Data"].as_str().unwrap(), "{name}");
            let sig = k.request_sig(
                case["OperatorID"].as_str().unwrap(),
                &data,
                case["TimeStamp"].as_str().unwrap(),
                case["Seq"].as_str().unwrap(),
            );
            assert_eq!(sig, case["expected_Sig"].as_str().unwrap(), "{name}");
            assert_eq!(k.decrypt(&data).unwrap(), plain.as_bytes(), "{name}");
        }
    }

    #[test]
    fn every_envelope_verifies_both_ways() {
        let v = vectors();
        for (name, env) in v["envelopes"].as_object().unwrap() {
            let k = keys(&v, env["credentials"].as_str().unwrap());
            // Error-response vectors carry no request.
            if let Some(req) = env.get("request") {
                let data = req["Data"].as_str().unwrap();
                let sig = k.request_sig(
                    req["OperatorID"].as_str().unwrap(),
                    data,
                    req["TimeStamp"].as_str().unwrap(),
                    req["Seq"].as_str().unwrap(),
                );
                assert!(
                    sig_matches(&sig, req["Sig"].as_str().unwrap()),
                    "{name} request"
                );
                assert_eq!(
                    k.decrypt(data).unwrap(),
                    env["request_plaintext"].as_str().unwrap().as_bytes()
                );
            }
            let res = &env["response"];
            let rdata = res["Data"].as_str().unwrap();
            let rsig = k.response_sig(
                i32::try_from(res["Ret"].as_i64().unwrap()).unwrap(),
                res["Msg"].as_str().unwrap(),
                rdata,
            );
            assert!(
                sig_matches(&rsig, res["Sig"].as_str().unwrap()),
                "{name} response"
            );
            if !rdata.is_empty() {
                assert_eq!(
                    k.decrypt(rdata).unwrap(),
                    env["response_plaintext"].as_str().unwrap().as_bytes()
                );
            }
        }
    }

    #[test]
    fn negative_vectors_are_refused_for_the_right_reason() {
        let v = vectors();
        for case in v["negative_cases"].as_array().unwrap() {
            let k = keys(&v, case["credentials"].as_str().unwrap());
            match case["name"].as_str().unwrap() {
                "tampered_data_signature_mismatch" => {
                    let env = &case["envelope"];
                    let sig = k.request_sig(
                        env["OperatorID"].as_str().unwrap(),
                        env["Data"].as_str().unwrap(),
                        env["TimeStamp"].as_str().unwrap(),
                        env["Seq"].as_str().unwrap(),
                    );
                    assert_eq!(sig, case["sig_over_tampered_data"].as_str().unwrap());
                    assert!(
                        !sig_matches(&sig, env["Sig"].as_str().unwrap()),
                        "tampered Data must fail the Sig check"
                    );
                }
                "wrong_iv_garbage_first_block" => {
                    let wrong = KeySet::new(
                        case["DataSecret"].as_str().unwrap(),
                        case["wrong_DataSecretIV"].as_str().unwrap(),
                        "x",
                    )
                    .unwrap();
                    let plain = wrong.decrypt(case["Data"].as_str().unwrap()).unwrap();
                    let first: String = plain[..16].iter().map(|b| format!("{b:02x}")).collect();
                    assert_eq!(
                        first,
                        case["decrypt_outcome"]["first_block_hex"].as_str().unwrap()
                    );
                    assert!(
                        serde_json::from_slice::<Value>(&plain).is_err(),
                        "garbage must not parse"
                    );
                }
                other => {
                    // A negative vector this test does not know yet must not pass silently.
                    panic!("unhandled negative vector {other}");
                }
            }
        }
    }

    #[test]
    fn bad_data_and_keys_are_errors() {
        let k = KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s").unwrap();
        assert_eq!(k.decrypt("not base64!"), Err(CryptoError::Base64));
        assert_eq!(k.decrypt("AAAA"), Err(CryptoError::Decrypt));
        assert!(KeySet::new("short", "1234567890abcdef", "s").is_err());
        let wrapped = {
            let d = k.encrypt(b"{\"a\":1}");
            format!("{}\r\n{}", &d[..8], &d[8..])
        };
        assert_eq!(k.decrypt(&wrapped).unwrap(), b"{\"a\":1}");
        assert!(sig_matches("ABCDEF", "abcdef"));
        assert!(!sig_matches("ABCDEF", "ABCDE0"));
        assert!(!sig_matches("ABCDEF", "ABCDE"));
    }
}
