//! Whole numbers read from JSON, which may write them as `12.0` (JSON Schema's `integer`
//! allows it, and so do clients that only have floating point).

use std::fmt;

use serde::de::{Deserializer, Error, Visitor};

struct WholeVisitor;

impl Visitor<'_> for WholeVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            Ok(v as i64)
        } else {
            Err(E::custom(format!("{v} is not a whole number")))
        }
    }
}

/// Deserializes a whole number (`12` or `12.0`) into any integer type it fits.
pub fn whole<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let n = d.deserialize_any(WholeVisitor)?;
    T::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range")))
}

struct OptionalWhole;

impl<'de> Visitor<'de> for OptionalWhole {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(WholeVisitor).map(Some)
    }
}

/// Like [`whole`], with `null` as `None` (use with `#[serde(default)]` for an absent field).
pub fn optional_whole<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    match d.deserialize_option(OptionalWhole)? {
        None => Ok(None),
        Some(n) => T::try_from(n)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{n} is out of range"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "whole")]
        n: u32,
        #[serde(default, deserialize_with = "optional_whole")]
        m: Option<u8>,
    }

    #[test]
    fn whole_numbers_come_as_integers_or_integral_floats() {
        let read = |s: &str| serde_json::from_str::<Body>(s);
        assert_eq!(read(r#"{"n": 12}"#).unwrap(), Body { n: 12, m: None });
        assert_eq!(
            read(r#"{"n": 12.0, "m": 3.0}"#).unwrap(),
            Body { n: 12, m: Some(3) }
        );
        assert_eq!(
            read(r#"{"n": 1, "m": null}"#).unwrap(),
            Body { n: 1, m: None }
        );
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": "1"}"#,
            r#"{"n": 1, "m": 300}"#,
            r#"{"n": 1e300}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
