//! Identifiers. An operator is known by its 9-character organisation code (T/CEC `OperatorID`);
//! a station by its operator plus the operator's own station id.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("operator id must be 9 characters of 0-9 and A-Z, got {0:?}")]
    BadOperatorId(String),
    #[error("station id must be 1 to {max} characters without control characters, got {value:?}")]
    BadStationId { value: String, max: usize },
    #[error("station key must look like OPERATORID:STATIONID, got {0:?}")]
    BadStationKey(String),
}

/// A 9-character organisation code, `[0-9A-Z]{9}`, as T/CEC 102 §9 prescribes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OperatorId(String);

impl OperatorId {
    /// Validates and wraps an operator id.
    pub fn new(value: &str) -> Result<Self, IdError> {
        let ok = value.len() == 9
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(IdError::BadOperatorId(value.to_owned()))
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OperatorId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<OperatorId> for String {
    fn from(id: OperatorId) -> Self {
        id.0
    }
}

impl fmt::Display for OperatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest station id T/CEC allows (`StationID` string(20)).
pub const MAX_STATION_ID_LEN: usize = 20;

/// Checks an operator's own station id: 1..=20 characters, no control characters, no `:`.
pub fn validate_station_id(value: &str) -> Result<(), IdError> {
    let len = value.chars().count();
    if len == 0
        || len > MAX_STATION_ID_LEN
        || value
            .chars()
            .any(|c| c.is_control() || c == ':' || c == '/')
    {
        return Err(IdError::BadStationId {
            value: value.to_owned(),
            max: MAX_STATION_ID_LEN,
        });
    }
    Ok(())
}

/// The globally unique key of a station: `OPERATORID:STATIONID`. It is the `id` the API uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StationKey {
    pub operator_id: OperatorId,
    pub station_id: String,
}

impl StationKey {
    /// Builds a key from its two parts, validating both.
    pub fn new(operator_id: OperatorId, station_id: &str) -> Result<Self, IdError> {
        validate_station_id(station_id)?;
        Ok(Self {
            operator_id,
            station_id: station_id.to_owned(),
        })
    }

    /// Parses `OPERATORID:STATIONID`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let (op, st) = text
            .split_once(':')
            .ok_or_else(|| IdError::BadStationKey(text.to_owned()))?;
        let operator_id =
            OperatorId::new(op).map_err(|_| IdError::BadStationKey(text.to_owned()))?;
        Self::new(operator_id, st).map_err(|_| IdError::BadStationKey(text.to_owned()))
    }
}

impl fmt::Display for StationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.operator_id, self.station_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_ids_are_nine_upper_alphanumerics() {
        assert!(OperatorId::new("MA01D1QR8").is_ok());
        assert!(OperatorId::new("ma01d1qr8").is_err());
        assert!(OperatorId::new("MA01D1QR").is_err());
        assert!(OperatorId::new("MA01D1QR8X").is_err());
        assert!(OperatorId::new("MA01-1QR8").is_err());
    }

    #[test]
    fn station_keys_round_trip() {
        let key = StationKey::parse("MA01D1QR8:GZ-0001").unwrap();
        assert_eq!(key.station_id, "GZ-0001");
        assert_eq!(key.to_string(), "MA01D1QR8:GZ-0001");
        assert!(StationKey::parse("MA01D1QR8").is_err());
        assert!(StationKey::parse("MA01D1QR8:").is_err());
        assert!(StationKey::parse("bad:1").is_err());
        assert!(StationKey::parse("MA01D1QR8:123456789012345678901").is_err());
    }
}
