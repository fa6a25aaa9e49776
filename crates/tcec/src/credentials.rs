//! Operator platforms' credentials as T/CEC 102.4 needs them (the key set of part 4).

use evgrid_model::OperatorCredentials;

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

fn printable(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

/// Checks an operator's credentials as T/CEC 102.4 uses them: DataSecret and DataSecretIV 16
/// ASCII characters (AES-128 key and IV), OperatorSecret and SigSecret 16 to 64 printable ASCII
/// characters, a base URL over HTTP(S), a positive stale interval.
pub fn check(c: &OperatorCredentials) -> Result<(), CredentialsError> {
    for (name, s) in [
        ("DataSecret", &c.data_secret),
        ("DataSecretIV", &c.data_secret_iv),
    ] {
        if s.len() != 16 || !printable(s) {
            return Err(CredentialsError::Not16(name));
        }
    }
    for (name, s) in [
        ("OperatorSecret", &c.operator_secret),
        ("SigSecret", &c.sig_secret),
    ] {
        if !(16..=64).contains(&s.len()) || !printable(s) {
            return Err(CredentialsError::BadSecret(name));
        }
    }
    if let Some(s) = &c.platform_secret {
        if !(16..=64).contains(&s.len()) || !printable(s) {
            return Err(CredentialsError::BadSecret("platform OperatorSecret"));
        }
    }
    if matches!(c.stale_after_seconds, Some(s) if s <= 0) {
        return Err(CredentialsError::BadStaleAfter);
    }
    if let Some(url) = &c.base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CredentialsError::BadUrl);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use evgrid_model::{CoordSystem, OperatorId};

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
    fn secrets_are_checked() {
        assert!(check(&creds()).is_ok());
        let mut c = creds();
        c.data_secret = "short".into();
        assert_eq!(check(&c), Err(CredentialsError::Not16("DataSecret")));
        let mut c = creds();
        c.sig_secret = "x".into();
        assert_eq!(check(&c), Err(CredentialsError::BadSecret("SigSecret")));
        let mut c = creds();
        c.base_url = Some("ftp://x".into());
        assert_eq!(check(&c), Err(CredentialsError::BadUrl));
    }
}
