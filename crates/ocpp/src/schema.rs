//! Validation of OCPP payloads against the official JSON schemas (draft-04 for 1.6, draft-06 for
//! 2.0.1). The schemas use a small part of JSON Schema — `type`, `properties`, `required`,
//! `additionalProperties: false`, `enum`, `maxLength`, `format: date-time`, `minimum`,
//! `maximum`, `items`, `minItems`, `maxItems`, `$ref` to `#/definitions` — and each rule maps to
//! the CALLERROR code OCPP-J gives it.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::frame::{ErrorCode, Version};

include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

/// Which side of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// The first rule a payload breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Violation {
    pub code: ErrorCode,
    /// Where in the payload, e.g. `meterValue[0].timestamp`.
    pub path: String,
    pub message: String,
}

/// Schemas by `version/stem`, e.g. `1.6/BootNotification`.
type Table = HashMap<String, Value>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        SCHEMAS
            .iter()
            .filter_map(|(version, stem, text)| {
                let value: Value = serde_json::from_str(text).ok()?;
                Some((format!("{version}/{stem}"), value))
            })
            .collect()
    })
}

fn stem(version: Version, action: &str, direction: Direction) -> String {
    match (version, direction) {
        (Version::V16, Direction::Request) => action.to_owned(),
        (Version::V201, Direction::Request) => format!("{action}Request"),
        (_, Direction::Response) => format!("{action}Response"),
    }
}

/// The schema of an action's request or response in a version, if the version has the action.
pub fn schema(version: Version, action: &str, direction: Direction) -> Option<&'static Value> {
    table().get(&format!(
        "{}/{}",
        version.label(),
        stem(version, action, direction)
    ))
}

/// Validates a payload; the first violation found, with its path and CALLERROR code.
pub fn validate(
    version: Version,
    action: &str,
    direction: Direction,
    payload: &Value,
) -> Result<(), Violation> {
    let Some(root) = schema(version, action, direction) else {
        return Err(Violation {
            code: ErrorCode::NotImplemented,
            path: String::new(),
            message: format!("{action} is not an OCPP {} action", version.label()),
        });
    };
    check(root, root, payload, "")
}

fn violation(code: ErrorCode, path: &str, message: impl Into<String>) -> Violation {
    Violation {
        code,
        path: if path.is_empty() {
            "payload".to_owned()
        } else {
            path.to_owned()
        },
        message: message.into(),
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    }
}

/// An RFC 3339 date-time: `2024-01-05T16:00:04Z`, with optional fraction and offset.
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let date_ok = digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10);
    let sep_ok = matches!(b[10], b'T' | b't' | b' ');
    let time_ok =
        digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19);
    if !(date_ok && sep_ok && time_ok) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    if !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        "Z" | "z" => true,
        offset => {
            let o = offset.as_bytes();
            o.len() == 6
                && matches!(o[0], b'+' | b'-')
                && o[1..3].iter().all(u8::is_ascii_digit)
                && o[3] == b':'
                && o[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

fn check(schema: &Value, root: &Value, value: &Value, path: &str) -> Result<(), Violation> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference
            .strip_prefix("#/definitions/")
            .and_then(|name| root.get("definitions")?.get(name));
        return match target {
            Some(t) => check(t, root, value, path),
            None => Err(violation(
                ErrorCode::Internal,
                path,
                format!("schema reference {reference} not found"),
            )),
        };
    }
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(name) => type_matches(name, value),
            Value::Array(names) => names
                .iter()
                .filter_map(Value::as_str)
                .any(|n| type_matches(n, value)),
            _ => true,
        };
        if !ok {
            return Err(violation(
                ErrorCode::TypeConstraint,
                path,
                format!("must be of type {t}, not {value}"),
            ));
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            return Err(violation(
                ErrorCode::PropertyConstraint,
                path,
                format!("{value} is not one of {}", list.join(", ")),
            ));
        }
    }
    match value {
        Value::String(s) => {
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                let len = s.chars().count() as u64;
                if len > max {
                    return Err(violation(
                        ErrorCode::TypeConstraint,
                        path,
                        format!("is {len} characters long; at most {max}"),
                    ));
                }
            }
            if schema.get("format").and_then(Value::as_str) == Some("date-time") && !is_date_time(s)
            {
                return Err(violation(
                    ErrorCode::TypeConstraint,
                    path,
                    format!("{s:?} is not an RFC 3339 date-time"),
                ));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                if x < min {
                    return Err(violation(
                        ErrorCode::PropertyConstraint,
                        path,
                        format!("{x} is below the minimum {min}"),
                    ));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                if x > max {
                    return Err(violation(
                        ErrorCode::PropertyConstraint,
                        path,
                        format!("{x} is above the maximum {max}"),
                    ));
                }
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if n < min {
                    return Err(violation(
                        ErrorCode::OccurrenceConstraint,
                        path,
                        format!("has {n} items; at least {min}"),
                    ));
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                if n > max {
                    return Err(violation(
                        ErrorCode::OccurrenceConstraint,
                        path,
                        format!("has {n} items; at most {max}"),
                    ));
                }
            }
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, root, item, &format!("{path}[{i}]"))?;
                }
            }
        }
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            if let Some(Value::Array(required)) = schema.get("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        return Err(violation(
                            ErrorCode::OccurrenceConstraint,
                            &join(path, name),
                            "is required and missing",
                        ));
                    }
                }
            }
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            for (name, v) in map {
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => check(s, root, v, &join(path, name))?,
                    None if closed => {
                        return Err(violation(
                            ErrorCode::Format,
                            &join(path, name),
                            "is not a field of this message",
                        ))
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_vendored_schema_parses() {
        assert_eq!(table().len(), SCHEMAS.len());
        assert!(schema(Version::V16, "BootNotification", Direction::Request).is_some());
        assert!(schema(Version::V201, "TransactionEvent", Direction::Request).is_some());
        assert!(schema(Version::V16, "TransactionEvent", Direction::Request).is_none());
    }

    #[test]
    fn good_payloads_pass() {
        let boot = json!({"chargePointVendor": "V", "chargePointModel": "M"});
        validate(Version::V16, "BootNotification", Direction::Request, &boot).unwrap();
        let meter = json!({"connectorId": 1, "transactionId": 5, "meterValue": [{"timestamp": "2024-01-05T16:00:04.123Z",
            "sampledValue": [{"value": "1234", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]});
        validate(Version::V16, "MeterValues", Direction::Request, &meter).unwrap();
        let boot201 =
            json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}});
        validate(
            Version::V201,
            "BootNotification",
            Direction::Request,
            &boot201,
        )
        .unwrap();
    }

    #[test]
    fn each_rule_has_its_code() {
        let cases = [
            (
                json!({"chargePointVendor": 7, "chargePointModel": "M"}),
                ErrorCode::TypeConstraint,
                "chargePointVendor",
            ),
            (
                json!({"chargePointModel": "M"}),
                ErrorCode::OccurrenceConstraint,
                "chargePointVendor",
            ),
            (
                json!({"chargePointVendor": "V".repeat(21), "chargePointModel": "M"}),
                ErrorCode::TypeConstraint,
                "chargePointVendor",
            ),
            (
                json!({"chargePointVendor": "V", "chargePointModel": "M", "extra": 1}),
                ErrorCode::Format,
                "extra",
            ),
        ];
        for (payload, code, path) in cases {
            let v = validate(
                Version::V16,
                "BootNotification",
                Direction::Request,
                &payload,
            )
            .unwrap_err();
            assert_eq!((v.code, v.path.as_str()), (code, path), "{payload}");
        }
        let status = json!({"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"});
        let v = validate(
            Version::V16,
            "StatusNotification",
            Direction::Request,
            &status,
        )
        .unwrap_err();
        assert_eq!(
            (v.code, v.path.as_str()),
            (ErrorCode::PropertyConstraint, "status")
        );
        let meter = json!({"connectorId": 1, "meterValue": []});
        let v = validate(Version::V16, "MeterValues", Direction::Request, &meter).unwrap_err();
        assert_eq!(v.code, ErrorCode::OccurrenceConstraint);
        let meter = json!({"connectorId": 1, "meterValue": [{"timestamp": "yesterday", "sampledValue": [{"value": "1"}]}]});
        let v = validate(Version::V16, "MeterValues", Direction::Request, &meter).unwrap_err();
        assert_eq!(
            (v.code, v.path.as_str()),
            (ErrorCode::TypeConstraint, "meterValue[0].timestamp")
        );
        let v = validate(Version::V16, "Dance", Direction::Request, &json!({})).unwrap_err();
        assert_eq!(v.code, ErrorCode::NotImplemented);
    }

    #[test]
    fn date_times() {
        for ok in [
            "2024-01-05T16:00:04Z",
            "2024-01-05T16:00:04.5+08:00",
            "2024-01-05T16:00:04.123456Z",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2024-01-05",
            "2024-13-05T16:00:04Z",
            "2024-01-05T16:00:04",
            "2024-01-05T16:00:04+0800",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }
}
