//! Chargers connected directly by OCPP (not through an operator platform).

use serde::Serialize;

use crate::OperatorId;

/// A directly connected charger as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Charger {
    /// The charge point id in its URL (`/ocpp/{id}`).
    pub id: String,
    /// Whose charger it is (the platform's own OperatorID by default).
    pub operator_id: OperatorId,
    /// Its station, once placed; a charger accepted without registration has none.
    pub station_id: Option<String>,
    pub connectors: u32,
    /// Salted hash of its HTTP Basic password (security profiles 1 and 2); never the password.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Salted hash of the password being rotated in through the charger: accepted beside the
    /// old one until the charger first logs in with it.
    #[serde(skip)]
    pub next_password_hash: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    /// `1.6` or `2.0.1`, from its last connection.
    pub ocpp_version: Option<String>,
    pub last_boot_at: Option<i64>,
    /// Whether it is commissioned: what its BootNotification is answered.
    pub registration: Registration,
    /// The lowest OCPP security profile it may connect with: 1 HTTP Basic, 2 HTTP Basic over
    /// TLS, 3 a TLS client certificate signed by the platform's authority.
    pub security_profile: u8,
}

/// The platform's certificate authority as stored: it signs chargers' certificates (OCPP
/// SignCertificate) and verifies their TLS client certificates (security profile 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuthority {
    /// Its self-signed certificate, PEM.
    pub certificate_pem: String,
    /// Its private key (PKCS#8 PEM), sealed with the platform's secret key.
    pub key_sealed: String,
    /// When it was created or given (Unix seconds).
    pub created_at: i64,
}

/// Whether a charger is commissioned, as its BootNotification is answered: `Accepted` (it
/// charges), `Pending` (connected and configurable, not yet in service: it may not charge) or
/// `Rejected` (it may only boot again later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    #[default]
    Accepted,
    Pending,
    Rejected,
}

impl Registration {
    /// Every registration, in the order shown.
    pub const ALL: [Registration; 3] = [
        Registration::Accepted,
        Registration::Pending,
        Registration::Rejected,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Accepted => "accepted",
            Registration::Pending => "pending",
            Registration::Rejected => "rejected",
        }
    }

    /// The registration of a stored or typed name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(name))
    }
}

impl Charger {
    /// A charger as registered, before it has ever connected.
    pub fn new(
        id: impl Into<String>,
        operator_id: OperatorId,
        station_id: Option<String>,
        connectors: u32,
        password_hash: Option<String>,
    ) -> Self {
        Self {
            id: id.into(),
            operator_id,
            station_id,
            connectors,
            password_hash,
            next_password_hash: None,
            vendor: None,
            model: None,
            serial: None,
            firmware: None,
            ocpp_version: None,
            last_boot_at: None,
            registration: Registration::Accepted,
            security_profile: 1,
        }
    }

    /// The id of connector `n` (1-based) of this charger.
    pub fn connector_id(&self, n: u32) -> String {
        connector_id(&self.id, n)
    }
}

/// The id of connector `n` of charger `charger`: `CHARGER-N`.
pub fn connector_id(charger: &str, n: u32) -> String {
    format!("{charger}-{n}")
}

/// Where a directly connected charger's transaction is before the charger says on which
/// connector (OCPP 2.0.1 lets a transaction start, e.g. on authorization, before its EVSE is
/// known): `CHARGER-0`. The first message that names the connector binds the session to it.
pub fn unbound_connector_id(charger: &str) -> String {
    connector_id(charger, 0)
}

/// Whether `connector` is a charger's [`unbound_connector_id`].
pub fn is_unbound_connector(connector: &str) -> bool {
    connector.ends_with("-0") && charger_of_connector(connector).is_some()
}

/// The charger of a connector id made by [`connector_id`] (`CHARGER-N` → `CHARGER`); `None`
/// for an id of another shape.
pub fn charger_of_connector(connector: &str) -> Option<&str> {
    let (charger, n) = connector.rsplit_once('-')?;
    (!charger.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then_some(charger)
}

/// Checks a charge point id: 1 to 48 characters, letters, digits, `-`, `_`, `.`.
pub fn valid_charger_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 48
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Notices kept per charger.
pub const CHARGER_NOTICES_KEPT: i64 = 100;

/// Something a charger reported about itself: firmware or diagnostics progress, a log upload,
/// a security event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChargerNotice {
    /// When it arrived (Unix seconds).
    pub at: i64,
    /// What kind: the OCPP action, e.g. `FirmwareStatusNotification`.
    pub kind: String,
    /// What it said, e.g. `Installed` or a security event's type and information.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connector_id_names_its_charger() {
        assert_eq!(charger_of_connector(&connector_id("CP-7", 2)), Some("CP-7"));
        assert_eq!(charger_of_connector("CP1-12"), Some("CP1"));
        for other in ["CP1", "CP1-", "-1", "CP1-A", "AE0C1"] {
            assert_eq!(charger_of_connector(other), None, "{other}");
        }
    }
}
