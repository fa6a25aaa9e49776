//! The secrets a connected operator platform and evgrid share (T/CEC 102.4 key sets). Kept as
//! plain data here; the protocol adapter turns them into keys.

use std::fmt;

use crate::{CoordSystem, OperatorId};

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

impl OperatorCredentials {
    /// The secret evgrid presents when it calls this operator's platform.
    pub fn secret_for_calls(&self) -> &str {
        self.platform_secret
            .as_deref()
            .unwrap_or(&self.operator_secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed() {
        let c = OperatorCredentials {
            operator_id: OperatorId::new("MA01D1QR8").unwrap(),
            operator_secret: "e3bb15a6f95f8bb7".into(),
            data_secret: "a1b2c3d4e5f6g7h8".into(),
            data_secret_iv: "1234567890abcdef".into(),
            sig_secret: "s1g2s3e4c5r6e7t8".into(),
            base_url: None,
            coords: CoordSystem::Gcj02,
            platform_secret: None,
            stale_after_seconds: None,
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("e3bb15a6f95f8bb7")
                && !shown.contains("a1b2c3d4e5f6g7h8")
                && !shown.contains("s1g2s3e4")
        );
    }
}
