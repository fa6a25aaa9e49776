//! OCPP-J RPC frames: `[2, id, action, payload]` (CALL), `[3, id, payload]` (CALLRESULT),
//! `[4, id, code, description, details]` (CALLERROR), and the error codes of each version.

use serde_json::Value;

/// The OCPP version of a connection (its WebSocket subprotocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V16,
    V201,
}

impl Version {
    /// The WebSocket subprotocol name.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Version::V16 => "ocpp1.6",
            Version::V201 => "ocpp2.0.1",
        }
    }

    /// The version of a subprotocol name.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name.trim() {
            "ocpp1.6" => Some(Version::V16),
            "ocpp2.0.1" => Some(Version::V201),
            _ => None,
        }
    }

    /// The version as written in the schema table.
    pub fn label(self) -> &'static str {
        match self {
            Version::V16 => "1.6",
            Version::V201 => "2.0.1",
        }
    }
}

/// CALLERROR codes. The wire names differ by version where the specifications differ: 1.6 says
/// `FormationViolation`, 2.0.1 `FormatViolation`; 1.6 spells `OccurenceConstraintViolation`,
/// 2.0.1 `OccurrenceConstraintViolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The payload or frame is syntactically wrong or not the structure of the action.
    Format,
    /// The payload is incomplete (a required field is missing) or the frame lacks elements.
    Protocol,
    /// A field has a value outside what is allowed (enum, range).
    PropertyConstraint,
    /// A field occurs too often or too rarely (array sizes).
    OccurrenceConstraint,
    /// A field has the wrong data type or length.
    TypeConstraint,
    /// The action is unknown.
    NotImplemented,
    /// The action is known but not supported here.
    NotSupported,
    /// The message type number is not one of 2, 3, 4 (2.0.1; 1.6 answers `FormationViolation`).
    MessageTypeNotSupported,
    /// The receiver failed internally.
    Internal,
    /// The sender is not allowed to do this.
    Security,
    /// Anything else.
    Generic,
}

impl ErrorCode {
    /// The wire name for a version.
    pub fn wire(self, version: Version) -> &'static str {
        match (self, version) {
            (ErrorCode::Format, Version::V16) => "FormationViolation",
            (ErrorCode::Format, Version::V201) => "FormatViolation",
            (ErrorCode::Protocol, _) => "ProtocolError",
            (ErrorCode::PropertyConstraint, _) => "PropertyConstraintViolation",
            (ErrorCode::OccurrenceConstraint, Version::V16) => "OccurenceConstraintViolation",
            (ErrorCode::OccurrenceConstraint, Version::V201) => "OccurrenceConstraintViolation",
            (ErrorCode::TypeConstraint, _) => "TypeConstraintViolation",
            (ErrorCode::NotImplemented, _) => "NotImplemented",
            (ErrorCode::NotSupported, _) => "NotSupported",
            (ErrorCode::MessageTypeNotSupported, Version::V16) => "FormationViolation",
            (ErrorCode::MessageTypeNotSupported, Version::V201) => "MessageTypeNotSupported",
            (ErrorCode::Internal, _) => "InternalError",
            (ErrorCode::Security, _) => "SecurityError",
            (ErrorCode::Generic, _) => "GenericError",
        }
    }
}

/// A frame that could not be read: the error to answer, with the message id when it was
/// readable (`"-1"` otherwise, as OCPP-J 2.0.1 prescribes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {description}")]
pub struct FrameError {
    pub id: String,
    pub code: ErrorCode,
    pub description: String,
}

impl FrameError {
    /// An error for message `id`.
    pub fn new(id: impl Into<String>, code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            code,
            description: description.into(),
        }
    }

    /// The CALLERROR frame text.
    pub fn to_text(&self, version: Version) -> String {
        Frame::CallError {
            id: self.id.clone(),
            code: self.code.wire(version).to_owned(),
            description: self.description.clone(),
            details: Value::Object(serde_json::Map::new()),
        }
        .to_text()
    }
}

/// One OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call {
        id: String,
        action: String,
        payload: Value,
    },
    CallResult {
        id: String,
        payload: Value,
    },
    CallError {
        id: String,
        code: String,
        description: String,
        details: Value,
    },
}

/// Longest message id (OCPP-J: at most 36 characters).
pub const MAX_ID_LEN: usize = 36;

impl Frame {
    /// Reads a text frame.
    pub fn parse(text: &str) -> Result<Frame, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            FrameError::new(
                "-1",
                ErrorCode::Format,
                format!("the message is not JSON: {e}"),
            )
        })?;
        let Value::Array(items) = value else {
            return Err(FrameError::new(
                "-1",
                ErrorCode::Format,
                "an OCPP-J message is a JSON array [type, id, ...]",
            ));
        };
        let id = match items.get(1) {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_LEN => s.clone(),
            Some(Value::String(s)) => {
                return Err(FrameError::new(
                    "-1",
                    ErrorCode::Protocol,
                    format!(
                        "the message id must be 1 to {MAX_ID_LEN} characters, not {}",
                        s.len()
                    ),
                ))
            }
            Some(_) => {
                return Err(FrameError::new(
                    "-1",
                    ErrorCode::Protocol,
                    "the message id must be a string",
                ))
            }
            None => {
                return Err(FrameError::new(
                    "-1",
                    ErrorCode::Protocol,
                    "the message has no id",
                ))
            }
        };
        let type_id = items.first().and_then(Value::as_i64);
        match type_id {
            Some(2) => {
                if items.len() != 4 {
                    return Err(FrameError::new(
                        id,
                        ErrorCode::Protocol,
                        format!(
                            "a CALL has 4 elements [2, id, action, payload], not {}",
                            items.len()
                        ),
                    ));
                }
                let Some(action) = items[2].as_str().filter(|a| !a.is_empty()) else {
                    return Err(FrameError::new(
                        id,
                        ErrorCode::Format,
                        "the action must be a string",
                    ));
                };
                if !items[3].is_object() {
                    return Err(FrameError::new(
                        id,
                        ErrorCode::Format,
                        "the payload must be a JSON object",
                    ));
                }
                Ok(Frame::Call {
                    action: action.to_owned(),
                    payload: items[3].clone(),
                    id,
                })
            }
            Some(3) => {
                if items.len() != 3 || !items[2].is_object() {
                    return Err(FrameError::new(
                        id,
                        ErrorCode::Protocol,
                        "a CALLRESULT is [3, id, {payload}]",
                    ));
                }
                Ok(Frame::CallResult {
                    payload: items[2].clone(),
                    id,
                })
            }
            Some(4) => {
                if items.len() < 4 {
                    return Err(FrameError::new(
                        id,
                        ErrorCode::Protocol,
                        "a CALLERROR is [4, id, code, description, details]",
                    ));
                }
                Ok(Frame::CallError {
                    code: items[2].as_str().unwrap_or_default().to_owned(),
                    description: items[3].as_str().unwrap_or_default().to_owned(),
                    details: items.get(4).cloned().unwrap_or(Value::Null),
                    id,
                })
            }
            _ => Err(FrameError::new(
                id,
                ErrorCode::MessageTypeNotSupported,
                format!(
                    "message type {} is not 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR)",
                    items[0]
                ),
            )),
        }
    }

    /// The frame as text.
    pub fn to_text(&self) -> String {
        let v = match self {
            Frame::Call {
                id,
                action,
                payload,
            } => serde_json::json!([2, id, action, payload]),
            Frame::CallResult { id, payload } => serde_json::json!([3, id, payload]),
            Frame::CallError {
                id,
                code,
                description,
                details,
            } => serde_json::json!([4, id, code, description, details]),
        };
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let call = Frame::parse(
            r#"[2,"19223201","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#,
        )
        .unwrap();
        assert!(matches!(&call, Frame::Call { action, .. } if action == "BootNotification"));
        assert_eq!(Frame::parse(&call.to_text()).unwrap(), call);
        let result = Frame::parse(r#"[3,"1",{"status":"Accepted"}]"#).unwrap();
        assert_eq!(Frame::parse(&result.to_text()).unwrap(), result);
        let err = Frame::parse(r#"[4,"1","NotImplemented","no",{}]"#).unwrap();
        assert!(matches!(err, Frame::CallError { ref code, .. } if code == "NotImplemented"));
    }

    #[test]
    fn bad_frames_get_the_right_code() {
        let e = Frame::parse("[2, \"1\", ").unwrap_err();
        assert_eq!((e.id.as_str(), e.code), ("-1", ErrorCode::Format));
        assert_eq!(e.code.wire(Version::V16), "FormationViolation");
        assert_eq!(e.code.wire(Version::V201), "FormatViolation");
        let e = Frame::parse(r#"{"a":1}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Format);
        let e = Frame::parse(r#"[7,"abc","Heartbeat",{}]"#).unwrap_err();
        assert_eq!(
            (e.id.as_str(), e.code),
            ("abc", ErrorCode::MessageTypeNotSupported)
        );
        let e = Frame::parse(r#"[2,"abc","Heartbeat"]"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Protocol);
        let e = Frame::parse(r#"[2,"abc","Heartbeat",[]]"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Format);
        let e = Frame::parse(r#"[2,"0123456789012345678901234567890123456789","Heartbeat",{}]"#)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Protocol);
        assert!(e
            .to_text(Version::V16)
            .starts_with(r#"[4,"-1","ProtocolError""#));
    }
}
