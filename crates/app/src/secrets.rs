//! Secrets at rest: operators' T/CEC secrets and the tokens evgrid issues to operators are
//! sealed (AES-256-GCM) before they reach the store, with a key that is never in the database
//! (a key file beside it, or an environment variable). A copy of the database alone gives an
//! attacker nothing to call an operator or the platform with.
//!
//! Sealing is deterministic (the nonce is a keyed hash of the text, as in SIV): the same token
//! always seals to the same text, so a token is looked up by its sealed form. Every sealed value
//! is unique anyway (secrets and random tokens), so equal ciphertexts reveal nothing.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a sealed value starts with; a stored value without it is plain text from before
/// sealing (read as is, sealed at its next write or by a key rotation).
pub const SEALED_PREFIX: &str = "sealed1:";

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error(
        "a stored secret does not open with the secret key (another key, or damaged): \
         give the key it was sealed with (--secret-key-file or EVGRID_SECRET_KEY)"
    )]
    WrongKey,
}

/// A 256-bit key.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// A key from its 64 hexadecimal characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(SecretError::BadKey);
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2).ok_or(SecretError::BadKey)?, 16)
                .map_err(|_| SecretError::BadKey)?;
        }
        Ok(Self(key))
    }

    /// A new random key.
    pub fn random() -> std::io::Result<Self> {
        let bytes = crate::random_bytes(32)?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    /// The key as 64 hexadecimal characters (for its file).
    pub fn to_hex(&self) -> String {
        crate::hex(&self.0)
    }
}

/// Seals with the current key; opens with the current key or one of the previous ones (what
/// a rotation has not sealed again yet).
#[derive(Debug, Clone)]
pub struct Sealer {
    current: SecretKey,
    previous: Vec<SecretKey>,
}

impl Sealer {
    /// A sealer with `current`, also opening what `previous` keys sealed.
    pub fn new(current: SecretKey, previous: Vec<SecretKey>) -> Self {
        Self { current, previous }
    }

    /// The key it seals with.
    pub fn current(&self) -> &SecretKey {
        &self.current
    }

    /// The keys it opens with besides the current one.
    pub fn previous(&self) -> &[SecretKey] {
        &self.previous
    }

    /// `plain` sealed: the prefix, then base64 of the nonce and the ciphertext with its tag.
    pub fn seal(&self, plain: &str) -> String {
        let nonce = nonce_of(&self.current, plain);
        let cipher = Aes256Gcm::new((&self.current.0).into());
        // Encryption with a valid key and nonce cannot fail for a text this short.
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        )
    }

    /// The plain text of a stored value: opened when sealed (with the current key, else the
    /// previous one), as it is when stored before sealing.
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(body) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| SecretError::WrongKey)?;
        if bytes.len() < 12 + 16 {
            return Err(SecretError::WrongKey);
        }
        let (nonce, sealed) = bytes.split_at(12);
        for key in std::iter::once(&self.current).chain(&self.previous) {
            let cipher = Aes256Gcm::new((&key.0).into());
            if let Ok(plain) = cipher.decrypt(Nonce::from_slice(nonce), sealed) {
                return String::from_utf8(plain).map_err(|_| SecretError::WrongKey);
            }
        }
        Err(SecretError::WrongKey)
    }
}

/// The nonce of `plain` under `key`: the first 12 bytes of HMAC-SHA-256(key, plain).
fn nonce_of(key: &SecretKey, plain: &str) -> [u8; 12] {
    // HMAC pads a short key with zeros to the hash's block: the same, without a fallible call.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&key.0);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(b"evgrid secret nonce\0");
    mac.update(plain.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&digest[..12]);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey([byte; 32])
    }

    #[test]
    fn sealed_text_opens_only_with_its_key_and_hides_the_secret() {
        let sealer = Sealer::new(key(1), Vec::new());
        let sealed = sealer.seal("EVGSYN001-demo-operator");
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("demo"));
        assert_eq!(sealer.open(&sealed).unwrap(), "EVGSYN001-demo-operator");
        // Deterministic: a token is found by its sealed form.
        assert_eq!(sealer.seal("EVGSYN001-demo-operator"), sealed);
        assert_ne!(sealer.seal("another"), sealed);
        assert!(matches!(
            Sealer::new(key(2), Vec::new()).open(&sealed),
            Err(SecretError::WrongKey)
        ));
        // Damaged text does not open.
        let mut damaged = sealed.clone();
        damaged.replace_range(20..21, if &sealed[20..21] == "A" { "B" } else { "A" });
        assert!(sealer.open(&damaged).is_err());
    }

    #[test]
    fn a_rotation_opens_what_the_previous_key_sealed_and_plain_text_passes() {
        let old = Sealer::new(key(1), Vec::new());
        let sealed = old.seal("s3cret");
        let rotating = Sealer::new(key(2), vec![key(3), key(1)]);
        assert_eq!(rotating.open(&sealed).unwrap(), "s3cret");
        assert_ne!(rotating.seal("s3cret"), sealed);
        assert_eq!(
            rotating.open("plain from before").unwrap(),
            "plain from before"
        );
    }

    #[test]
    fn keys_are_64_hex_characters() {
        let k = SecretKey::random().unwrap();
        assert_eq!(SecretKey::from_hex(&k.to_hex()).unwrap().0, k.0);
        assert!(SecretKey::from_hex("abc").is_err());
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
