//! Id tokens: the RFID cards, app tags and central tokens that authorize a charge at a charger,
//! kept as data so that a charger's question "may this token charge?" has a real answer
//! (accepted, blocked, expired, unknown…) and a group.

use serde::{Deserialize, Serialize};

use crate::OperatorId;

/// Longest token or group id: OCPP 2.0.1's `IdTokenType.idToken` (1.6 `idTag` takes 20).
pub const TOKEN_ID_MAX: usize = 36;
/// Longest label of a token.
pub const TOKEN_LABEL_MAX: usize = 100;

/// What kind of token it is (how the charger read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// An RFID card after ISO 14443 (most charging cards).
    Iso14443,
    /// An RFID card after ISO 15693.
    Iso15693,
    /// An e-mobility account id (ISO 15118 contract).
    Emaid,
    /// A token the platform made (the app's remote starts, the driver's reservations).
    Central,
    /// A code typed at the charger.
    KeyCode,
    /// A token only the charger knows.
    Local,
    /// A vehicle's MAC address (autocharge).
    MacAddress,
}

impl TokenKind {
    /// Every kind, in the order shown.
    pub const ALL: [TokenKind; 7] = [
        TokenKind::Iso14443,
        TokenKind::Iso15693,
        TokenKind::Emaid,
        TokenKind::Central,
        TokenKind::KeyCode,
        TokenKind::Local,
        TokenKind::MacAddress,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Iso14443 => "iso14443",
            TokenKind::Iso15693 => "iso15693",
            TokenKind::Emaid => "emaid",
            TokenKind::Central => "central",
            TokenKind::KeyCode => "key_code",
            TokenKind::Local => "local",
            TokenKind::MacAddress => "mac_address",
        }
    }

    /// The kind of a stored or typed name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

/// How a token stands, as kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    /// May charge (until it expires).
    Accepted,
    /// Stopped on purpose (a lost card, an unpaid account).
    Blocked,
    /// Marked expired (besides a passed expiry time, which expires it anyway).
    Expired,
    /// Not valid (e.g. a card that was never issued properly).
    Invalid,
}

impl TokenStatus {
    /// Every status, in the order shown.
    pub const ALL: [TokenStatus; 4] = [
        TokenStatus::Accepted,
        TokenStatus::Blocked,
        TokenStatus::Expired,
        TokenStatus::Invalid,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Accepted => "accepted",
            TokenStatus::Blocked => "blocked",
            TokenStatus::Expired => "expired",
            TokenStatus::Invalid => "invalid",
        }
    }

    /// The status of a stored or typed name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

/// A token as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdToken {
    /// What the charger reads (the card's UID, the tag): unique across the platform.
    pub id: String,
    pub kind: TokenKind,
    pub status: TokenStatus,
    /// When it stops being valid (seconds since 1970); none: never.
    pub expires_at: Option<i64>,
    /// Its group (OCPP `parentIdTag` / `groupIdToken`): tokens of one group may stop each
    /// other's charges (a fleet, a family, a master pass).
    pub group_id: Option<String>,
    /// The account it belongs to (a driver's card), by user name.
    pub owner: Option<String>,
    /// The operator that issued it: valid only at that operator's chargers. None: issued by the
    /// platform, valid at every charger (one-stop charging).
    pub operator_id: Option<OperatorId>,
    /// A note for people (the name printed on the card, a fleet's car).
    pub label: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Why a token or one of its fields is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("a token id has 1 to {TOKEN_ID_MAX} printable ASCII characters without spaces: {0:?}")]
    Id(String),
    #[error("a group id has 1 to {TOKEN_ID_MAX} printable ASCII characters without spaces: {0:?}")]
    Group(String),
    #[error("a label has at most {TOKEN_LABEL_MAX} characters and no control characters")]
    Label,
}

/// Whether `id` can be a token or group id: 1 to [`TOKEN_ID_MAX`] printable ASCII characters
/// without spaces (what a charger can send in either OCPP version's id field).
pub fn is_token_id(id: &str) -> bool {
    (1..=TOKEN_ID_MAX).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

impl IdToken {
    /// Checks the token's id, group and label.
    pub fn check(&self) -> Result<(), TokenError> {
        if !is_token_id(&self.id) {
            return Err(TokenError::Id(self.id.chars().take(60).collect()));
        }
        if let Some(g) = self.group_id.as_deref().filter(|g| !is_token_id(g)) {
            return Err(TokenError::Group(g.chars().take(60).collect()));
        }
        if self
            .label
            .as_deref()
            .is_some_and(|l| l.chars().count() > TOKEN_LABEL_MAX || l.chars().any(char::is_control))
        {
            return Err(TokenError::Label);
        }
        Ok(())
    }

    /// What a charger of `operator` is told about this token at `now`.
    pub fn authorization(&self, operator: &OperatorId, now: i64) -> Authorization {
        let verdict = match self.status {
            TokenStatus::Blocked => Verdict::Blocked,
            TokenStatus::Invalid => Verdict::Invalid,
            TokenStatus::Expired => Verdict::Expired,
            TokenStatus::Accepted if self.expires_at.is_some_and(|t| t <= now) => Verdict::Expired,
            TokenStatus::Accepted if self.operator_id.as_ref().is_some_and(|o| o != operator) => {
                Verdict::NotAtThisLocation
            }
            TokenStatus::Accepted => Verdict::Accepted,
        };
        Authorization {
            verdict,
            group_id: self.group_id.clone(),
            expires_at: self.expires_at,
        }
    }
}

/// The answer to "may this token charge here?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    Blocked,
    Expired,
    Invalid,
    /// The platform does not know the token.
    Unknown,
    /// Valid, but issued by another operator than this charger's.
    NotAtThisLocation,
}

/// A charger's answer about a token: the verdict, its group and how long the charger may keep
/// it in its cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorization {
    pub verdict: Verdict,
    pub group_id: Option<String>,
    pub expires_at: Option<i64>,
}

impl Authorization {
    /// A token the platform does not know.
    pub fn unknown() -> Self {
        Self::plain(Verdict::Unknown)
    }

    /// A verdict without group or expiry (a platform's own tag, an open charger).
    pub fn plain(verdict: Verdict) -> Self {
        Self {
            verdict,
            group_id: None,
            expires_at: None,
        }
    }
}

/// Which tokens to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFilter {
    /// Only those issued by this operator.
    pub operator_id: Option<OperatorId>,
    /// Only those of this account.
    pub owner: Option<String>,
    pub status: Option<TokenStatus>,
    /// Only those a charger of this operator may put in its local list: issued by it or by
    /// the platform, and not the platform's short-lived central tags.
    pub usable_at: Option<OperatorId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(status: TokenStatus) -> IdToken {
        IdToken {
            id: "04A2B3C4D5E6F7".into(),
            kind: TokenKind::Iso14443,
            status,
            expires_at: None,
            group_id: Some("FLEET-1".into()),
            owner: None,
            operator_id: None,
            label: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_tokens_verdict_follows_its_status_expiry_and_issuer() {
        let here = OperatorId::new("MA01H3BQ2").unwrap();
        let there = OperatorId::new("MA5DA0SP7").unwrap();
        let mut t = card(TokenStatus::Accepted);
        let a = t.authorization(&here, 100);
        assert_eq!(a.verdict, Verdict::Accepted);
        assert_eq!(a.group_id.as_deref(), Some("FLEET-1"));
        t.expires_at = Some(100);
        assert_eq!(t.authorization(&here, 100).verdict, Verdict::Expired);
        assert_eq!(t.authorization(&here, 99).verdict, Verdict::Accepted);
        t.operator_id = Some(there);
        assert_eq!(
            t.authorization(&here, 99).verdict,
            Verdict::NotAtThisLocation
        );
        for (status, verdict) in [
            (TokenStatus::Blocked, Verdict::Blocked),
            (TokenStatus::Expired, Verdict::Expired),
            (TokenStatus::Invalid, Verdict::Invalid),
        ] {
            assert_eq!(card(status).authorization(&here, 0).verdict, verdict);
        }
    }

    #[test]
    fn ids_groups_and_labels_are_checked() {
        assert!(card(TokenStatus::Accepted).check().is_ok());
        for bad in ["", "has space", &"X".repeat(37), "卡"] {
            let mut t = card(TokenStatus::Accepted);
            t.id = bad.into();
            assert!(matches!(t.check(), Err(TokenError::Id(_))), "{bad:?}");
        }
        let mut t = card(TokenStatus::Accepted);
        t.group_id = Some(String::new());
        assert!(matches!(t.check(), Err(TokenError::Group(_))));
        let mut t = card(TokenStatus::Accepted);
        t.label = Some("line\nbreak".into());
        assert_eq!(t.check(), Err(TokenError::Label));
        assert_eq!(TokenKind::from_name("ISO14443"), Some(TokenKind::Iso14443));
        assert_eq!(
            TokenStatus::from_name("Blocked"),
            Some(TokenStatus::Blocked)
        );
        assert!(TokenKind::from_name("card").is_none());
    }
}
