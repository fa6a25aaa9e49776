//! The secrets a connected operator platform and evgrid share (T/CEC 102.4 key sets). Kept as
//! plain data here; the protocol adapter turns them into keys.

use std::fmt;

use crate::{CoordSystem, OperatorId};

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("{0} must be exactly 16 ASCII characters")]
    Not16(&'static str),
    #[error("{0} must be 16 to 64 printable ASCII characters")]
    BadSecret(&'static str),
    #[error("base URL must start with http:// or https://")]
    BadUrl,
    #[error("the stale interval must be a positive number of seconds")]
    BadStaleAfter,
}

/// An operator's platform credentials: what it presents (`OperatorSecret`) and the key set of
/// its messages (`DataSecret`, `DataSecretIV`, `SigSecret`), where its platform answers, and the
/// datum of its coordinates.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorCredentials {
    pub operator_id: OperatorId,
    pub operator_secret: String,
    pub data_secret: String,
    pub data_secret_iv: String,
    pub sig_secret: String,
    pub base_url: Option<String>,
    pub coords: CoordSystem,
    /// The `OperatorSecret` this operator issued to evgrid, for the calls evgrid makes to its
    /// platform (`query_token` on the operator's side). `None`: the same as `operator_secret`.
    pub platform_secret: Option<String>,
    /// Seconds after which a status from this operator is reported stale (`None`: the
    /// platform's default).
    pub stale_after_seconds: Option<i64>,
}

impl fmt::Debug for OperatorCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets never reach a log.
        f.debug_struct("OperatorCredentials")
            .field("operator_id", &self.operator_id)
            .field("base_url", &self.base_url)
            .field("coords", &self.coords)
            .field("stale_after_seconds", &self.stale_after_seconds)
            .finish_non_exhaustive()
    }
}

fn printable(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

impl OperatorCredentials {
    /// The secret evgrid presents when it calls this operator's platform.
    pub fn secret_for_calls(&self) -> &str {
        self.platform_secret
            .as_deref()
            .unwrap_or(&self.operator_secret)
    }

    /// Checks the secrets' forms: DataSecret and DataSecretIV 16 ASCII characters (AES-128 key
    /// and IV), OperatorSecret and SigSecret 16 to 64 printable ASCII characters.
    pub fn validate(&self) -> Result<(), CredentialsError> {
        for (name, s) in [
            ("DataSecret", &self.data_secret),
            ("DataSecretIV", &self.data_secret_iv),
        ] {
            if s.len() != 16 || !printable(s) {
                return Err(CredentialsError::Not16(name));
            }
        }
        for (name, s) in [
            ("OperatorSecret", &self.operator_secret),
            ("SigSecret", &self.sig_secret),
        ] {
            if !(16..=64).contains(&s.len()) || !printable(s) {
                return Err(CredentialsError::BadSecret(name));
            }
        }
        if let Some(s) = &self.platform_secret {
            if !(16..=64).contains(&s.len()) || !printable(s) {
                return Err(CredentialsError::BadSecret("platform OperatorSecret"));
            }
        }
        if matches!(self.stale_after_seconds, Some(s) if s <= 0) {
            return Err(CredentialsError::BadStaleAfter);
        }
        if let Some(url) = &self.base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(CredentialsError::BadUrl);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> OperatorCredentials {
        OperatorCredentials {
            operator_id: OperatorId::new("MA01D1QR8").unwrap(),
            operator_secret: "e3bb15a6f95f8bb7".into(),
            data_secret: "a1b2c3d4e5f6g7h8".into(),
            data_secret_iv: "1234567890abcdef".into(),
            sig_secret: "s1g2s3e4c5r6e7t8".into(),
            base_url: Some("http://127.0.0.1:9000/evcs/v1/".into()),
            coords: CoordSystem::Gcj02,
            platform_secret: None,
            stale_after_seconds: None,
        }
    }

    #[test]
    fn secrets_are_checked_and_never_printed() {
        assert!(creds().validate().is_ok());
        let shown = format!("{:?}", creds());
        assert!(
            !shown.contains("e3bb15a6f95f8bb7")
                && !shown.contains("a1b2c3d4e5f6g7h8")
                && !shown.contains("s1g2s3e4")
        );
        let mut c = creds();
        c.data_secret = "short".into();
        assert_eq!(c.validate(), Err(CredentialsError::Not16("DataSecret")));
        let mut c = creds();
        c.sig_secret = "x".into();
        assert_eq!(c.validate(), Err(CredentialsError::BadSecret("SigSecret")));
        let mut c = creds();
        c.base_url = Some("ftp://x".into());
        assert_eq!(c.validate(), Err(CredentialsError::BadUrl));
    }
}
