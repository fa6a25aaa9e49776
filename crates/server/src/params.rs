//! Query parameters read one by one, so every bad value is answered with its name and the reason,
//! and a misspelt parameter is refused rather than silently ignored.

use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::{ApiError, ParamError};

/// The query string of a request, being read.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    used: Vec<&'static str>,
    errors: Vec<ParamError>,
}

/// Longest query string accepted.
const MAX_QUERY_BYTES: usize = 8 * 1024;

impl Params {
    /// Parses a raw query string. A parameter given twice is an error.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let query = query.unwrap_or("");
        if query.len() > MAX_QUERY_BYTES {
            return Err(ApiError::BadRequest(format!(
                "query string longer than {MAX_QUERY_BYTES} bytes"
            )));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut errors = Vec::new();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(earlier, _)| earlier == k) {
                errors.push(ParamError {
                    parameter: k.clone(),
                    reason: "given more than once".into(),
                });
            }
        }
        Ok(Self {
            pairs,
            used: Vec::new(),
            errors,
        })
    }

    fn raw(&mut self, names: &[&'static str]) -> Option<(String, String)> {
        let mut found = None;
        for name in names {
            self.used.push(name);
            if let Some((_, v)) = self.pairs.iter().find(|(k, _)| k == name) {
                if v.is_empty() {
                    self.error(name, "is empty; leave the parameter out instead");
                } else if found.is_some() {
                    self.error(name, format!("give only one of {}", names.join(", ")));
                } else {
                    found = Some(((*name).to_owned(), v.clone()));
                }
            }
        }
        found
    }

    /// Records a problem with a parameter.
    pub fn error(&mut self, name: &str, reason: impl Into<String>) {
        self.errors.push(ParamError {
            parameter: name.to_owned(),
            reason: reason.into(),
        });
    }

    /// A text parameter (any of its aliases); an empty value is an error.
    pub fn text(&mut self, names: &[&'static str]) -> Option<String> {
        self.raw(names).map(|(_, v)| v)
    }

    /// A parameter parsed with `FromStr`, with `what` naming the expected form.
    pub fn parsed<T: FromStr>(&mut self, names: &[&'static str], what: &str) -> Option<T> {
        let (name, value) = self.raw(names)?;
        match value.trim().parse::<T>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(&name, format!("{value:?} is not {what}"));
                None
            }
        }
    }

    /// A finite number within `range`.
    pub fn number(
        &mut self,
        names: &[&'static str],
        range: std::ops::RangeInclusive<f64>,
    ) -> Option<f64> {
        let v: f64 = self.parsed(names, "a number")?;
        if !v.is_finite() || !range.contains(&v) {
            self.error(
                names[0],
                format!("{v} is outside {}..{}", range.start(), range.end()),
            );
            return None;
        }
        Some(v)
    }

    /// An integer within `range`.
    pub fn integer(
        &mut self,
        names: &[&'static str],
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let v: i64 = self.parsed(names, "an integer")?;
        if !range.contains(&v) {
            self.error(
                names[0],
                format!("{v} is outside {}..{}", range.start(), range.end()),
            );
            return None;
        }
        Some(v)
    }

    /// `page` (from 1, default 1) and `page_size` (1 to `max`, default `default_size`): the page
    /// number and size.
    pub fn page(&mut self, default_size: i64, max: i64) -> (i64, i64) {
        let page = self.integer(&["page"], 1..=1_000_000).unwrap_or(1);
        let size = self
            .integer(&["page_size"], 1..=max)
            .unwrap_or(default_size);
        (page, size)
    }

    /// A required value: records "is required" when absent.
    pub fn required<T>(&mut self, name: &str, value: Option<T>) -> Option<T> {
        if value.is_none() && !self.errors.iter().any(|e| e.parameter == name) {
            self.error(name, "is required");
        }
        value
    }

    /// Ends reading: unknown parameters and every recorded problem become one 400 answer.
    pub fn finish(mut self) -> Result<(), ApiError> {
        let unknown: Vec<String> = self
            .pairs
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| !self.used.contains(&k.as_str()))
            .collect();
        let mut known = self.used.clone();
        known.sort_unstable();
        known.dedup();
        let known = known.join(", ");
        for k in unknown {
            self.errors.push(ParamError {
                parameter: k,
                reason: format!("unknown parameter; this endpoint takes {known}"),
            });
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidParams(self.errors))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Params::parse(parts.uri.query())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_collected() {
        let mut p = Params::parse(Some("lat=abc&k=500&zzz=1&lon=114.9")).unwrap();
        assert_eq!(p.number(&["lat"], -90.0..=90.0), None);
        assert_eq!(p.integer(&["k"], 1..=100), None);
        assert_eq!(p.number(&["lng", "lon"], -180.0..=180.0), Some(114.9));
        let Err(ApiError::InvalidParams(errors)) = p.finish() else {
            panic!()
        };
        let names: Vec<&str> = errors.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(names, ["lat", "k", "zzz"]);
    }

    #[test]
    fn repeated_and_aliased_parameters_are_refused() {
        let p = Params::parse(Some("k=1&k=2")).unwrap();
        assert!(p.finish().is_err());
        let mut p = Params::parse(Some("lng=1&lon=2")).unwrap();
        p.number(&["lng", "lon"], -180.0..=180.0);
        assert!(p.finish().is_err());
    }
}
