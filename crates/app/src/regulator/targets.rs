//! The city's targets and how far along they are: progress from the registry (piles) or from
//! imported figures (fleet vehicles, parking spaces), a linear trend and the day it projects
//! the target to be reached.

use std::collections::BTreeMap;
use std::path::Path;

use evgrid_model::stats::{ProgressRow, Target};
use evgrid_model::time::{civil_from_days, days_from_civil, unix_now};
use serde::Serialize;

use super::Regulator;
use crate::AppError;

/// A target with its progress.
#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    /// The target as defined (a value of 0 is a breakdown without its own value, e.g. one
    /// fleet sector).
    #[serde(flatten)]
    pub target: Target,
    /// The latest figure and its day; `None` before any figure.
    pub current: Option<f64>,
    pub as_of: Option<String>,
    /// (current − baseline) / (value − baseline), when the target has a value.
    pub progress: Option<f64>,
    /// Figures by day, oldest first.
    pub history: Vec<(String, f64)>,
    /// Least-squares slope over the history, units per day (two days or more).
    pub trend_per_day: Option<f64>,
    /// The day the trend reaches the value (the latest day when already reached).
    pub projected_day: Option<String>,
    /// Whether the projected day is on or before the deadline.
    pub on_track: Option<bool>,
    /// Whether the latest figure meets the value.
    pub reached: bool,
}

/// Days since 1970 of `YYYY-MM-DD`, if it is a real date.
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// `YYYY-MM-DD` of days since 1970.
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Today in the city (UTC+8).
pub fn today() -> String {
    format_day((unix_now() + 8 * 3600).div_euclid(86_400))
}

/// Trend and projection of a history against a target value.
fn project(history: &[(String, f64)], value: f64) -> (Option<f64>, Option<String>) {
    let points: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|(d, v)| parse_day(d).map(|d| (d as f64, *v)))
        .collect();
    let last = points.last().copied();
    if let Some((day, v)) = last {
        if value > 0.0 && v >= value {
            let slope = slope(&points);
            return (slope, Some(format_day(day as i64)));
        }
    }
    let slope = slope(&points);
    let projected = match (slope, last) {
        (Some(s), Some((day, v))) if s > 0.0 && value > 0.0 => {
            let days = ((value - v) / s).ceil();
            (days < 365.0 * 200.0).then(|| format_day(day as i64 + days as i64))
        }
        _ => None,
    };
    (slope, projected)
}

fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Targets with their progress, from the target definitions, the imported figures and the
/// registry's pile counts by day (`piles_by_day`, the latest being today's count).
pub fn statuses(
    targets: &[Target],
    imported: &[ProgressRow],
    piles_by_day: &[(String, f64)],
) -> Vec<TargetStatus> {
    let own = |id: &str| -> Vec<(String, f64)> {
        imported
            .iter()
            .filter(|p| p.target_id == id)
            .map(|p| (p.day.clone(), p.value))
            .collect()
    };
    let history_of = |t: &Target| -> Vec<(String, f64)> {
        if t.measure == "registry_piles" {
            return piles_by_day.to_vec();
        }
        let mine = own(&t.id);
        if !mine.is_empty() {
            return mine;
        }
        // A total without its own figures: the sum of its parts, each carried forward.
        let parts: Vec<Vec<(String, f64)>> = targets
            .iter()
            .filter(|c| c.parent_id.as_deref() == Some(t.id.as_str()))
            .map(|c| own(&c.id))
            .filter(|h| !h.is_empty())
            .collect();
        let days: std::collections::BTreeSet<&String> =
            parts.iter().flatten().map(|(d, _)| d).collect();
        days.into_iter()
            .map(|day| {
                let sum = parts
                    .iter()
                    .filter_map(|h| h.iter().rev().find(|(d, _)| d <= day).map(|(_, v)| *v))
                    .sum();
                (day.clone(), sum)
            })
            .collect()
    };
    targets
        .iter()
        .map(|t| {
            let mut history = history_of(t);
            history.sort_by(|a, b| a.0.cmp(&b.0));
            let dedup: BTreeMap<String, f64> = history.into_iter().collect();
            let history: Vec<(String, f64)> = dedup.into_iter().collect();
            let (current, as_of) = history
                .last()
                .map_or((None, None), |(d, v)| (Some(*v), Some(d.clone())));
            let (trend_per_day, projected_day) = project(&history, t.value);
            let on_track = projected_day
                .as_ref()
                .map(|p| p.as_str() <= t.deadline.as_str());
            TargetStatus {
                target: t.clone(),
                progress: match current {
                    Some(c) if t.value > t.baseline => {
                        Some((c - t.baseline) / (t.value - t.baseline))
                    }
                    _ => None,
                },
                current,
                as_of,
                reached: t.value > 0.0 && current.is_some_and(|c| c >= t.value),
                history,
                trend_per_day,
                projected_day,
                on_track,
            }
        })
        .collect()
}

/// A progress file that cannot be imported: every bad line.
#[derive(Debug, thiserror::Error)]
pub enum ProgressImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("nothing imported; {} problem(s):\n{}", .0.len(), .0.join("\n"))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Registry(#[from] AppError),
}

impl Regulator {
    /// Every target with its progress.
    pub async fn target_statuses(&self) -> Result<Vec<TargetStatus>, AppError> {
        let store = &self.store;
        let targets = store.targets().await?;
        let imported = store.progress().await?;
        let mut piles: Vec<(String, f64)> = store
            .snapshots()
            .await?
            .into_iter()
            .map(|s| (s.day, s.piles.total() as f64))
            .collect();
        let now = store.region_counts().await?.city.piles.total() as f64;
        piles.retain(|(d, _)| *d != today());
        piles.push((today(), now));
        Ok(statuses(&targets, &imported, &piles))
    }

    /// Imports progress figures from CSV (`target_id,day,value[,source]`, a header line):
    /// all lines or none; figures of registry-measured targets are refused.
    pub async fn import_progress(&self, path: &Path) -> Result<usize, ProgressImportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProgressImportError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let targets = self.store.targets().await.map_err(AppError::from)?;
        let file = path.display().to_string();
        let (rows, problems) = parse_progress(&file, &text, &targets);
        if !problems.is_empty() {
            return Err(ProgressImportError::Invalid(problems));
        }
        self.store
            .put_progress(&rows)
            .await
            .map_err(AppError::from)?;
        Ok(rows.len())
    }
}

/// Reads progress CSV: the rows, and one message per bad line.
pub fn parse_progress(
    file: &str,
    text: &str,
    targets: &[Target],
) -> (Vec<ProgressRow>, Vec<String>) {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => return (rows, vec![format!("{file}: {e}")]),
    };
    if header.first().map(String::as_str) != Some("target_id")
        || header.get(1).map(String::as_str) != Some("day")
        || header.get(2).map(String::as_str) != Some("value")
    {
        problems.push(format!(
            "{file}:1: the header must be target_id,day,value[,source], found {}",
            header.join(",")
        ));
        return (rows, problems);
    }
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{file}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        let (id, day, value) = (field(0), field(1), field(2));
        match targets.iter().find(|t| t.id == id) {
            None => problems.push(format!("{file}:{line}: target_id: unknown target {id:?}")),
            Some(t) if t.measure != "imported" => problems.push(format!(
                "{file}:{line}: target_id: {id} is measured from the registry, not imported"
            )),
            Some(_) => {}
        }
        if parse_day(&day).is_none() {
            problems.push(format!(
                "{file}:{line}: day: {day:?} is not a date (YYYY-MM-DD)"
            ));
        }
        let value = match value.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => v,
            _ => {
                problems.push(format!(
                    "{file}:{line}: value: {value:?} is not a number of 0 or more"
                ));
                continue;
            }
        };
        let source = record
            .get(3)
            .filter(|s| !s.is_empty())
            .map_or_else(|| file.to_owned(), str::to_owned);
        rows.push(ProgressRow {
            target_id: id,
            day,
            value,
            source,
        });
    }
    (rows, problems)
}

impl Regulator {
    /// Takes today's snapshot of the registry's size now and every hour after (the day's row
    /// is replaced, so the last one of a day stands for it): the growth series.
    pub fn keep_daily_snapshots(self: &std::sync::Arc<Self>) {
        let registry = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = registry.store.take_snapshot(unix_now()).await {
                    tracing::warn!(error = %e, "daily snapshot not taken; trying again in an hour");
                }
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, value: f64, parent: Option<&str>, measure: &str) -> Target {
        Target {
            id: id.into(),
            name_zh: id.into(),
            name_en: id.into(),
            unit: "x".into(),
            value,
            baseline: 0.0,
            start_day: "2022-01-01".into(),
            deadline: "2025-12-31".into(),
            measure: measure.into(),
            source: "test".into(),
            parent_id: parent.map(Into::into),
        }
    }

    fn row(id: &str, day: &str, value: f64) -> ProgressRow {
        ProgressRow {
            target_id: id.into(),
            day: day.into(),
            value,
            source: "t".into(),
        }
    }

    #[test]
    fn progress_trend_and_projection() {
        let targets = vec![
            target("fleet", 20_000.0, None, "imported"),
            target("bus", 0.0, Some("fleet"), "imported"),
            target("taxi", 0.0, Some("fleet"), "imported"),
            target("piles", 19_000.0, None, "registry_piles"),
        ];
        let imported = vec![
            row("bus", "2024-01-01", 1000.0),
            row("bus", "2025-01-01", 3000.0),
            row("taxi", "2024-07-01", 2000.0),
        ];
        let piles = vec![
            ("2025-01-01".to_owned(), 17_000.0),
            ("2025-01-11".to_owned(), 18_000.0),
        ];
        let s = statuses(&targets, &imported, &piles);
        let fleet = &s[0];
        // Sum of the parts, carried forward: 1000, 3000 (bus) + 2000 (taxi from July 2024).
        assert_eq!(
            fleet.history,
            vec![
                ("2024-01-01".into(), 1000.0),
                ("2024-07-01".into(), 3000.0),
                ("2025-01-01".into(), 5000.0)
            ]
        );
        assert_eq!(fleet.progress, Some(0.25));
        assert!(fleet.trend_per_day.unwrap() > 0.0);
        assert!(fleet.projected_day.as_deref().unwrap() > "2025-01-01");
        assert_eq!(s[1].progress, None, "a part without its own value");
        let piles = &s[3];
        assert_eq!(piles.trend_per_day, Some(100.0));
        assert_eq!(piles.projected_day.as_deref(), Some("2025-01-21"));
        assert_eq!(piles.on_track, Some(true));
    }

    #[test]
    fn bad_progress_lines_are_all_reported() {
        let targets = vec![
            target("bus", 0.0, None, "imported"),
            target("piles", 1.0, None, "registry_piles"),
        ];
        let text =
            "target_id,day,value\nbus,2024-01-01,5\nnope,2024-02-30,-1\npiles,2024-01-01,3\n";
        let (rows, problems) = parse_progress("p.csv", text, &targets);
        assert_eq!(rows.len(), 2);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("p.csv:3: target_id"));
        assert!(problems.iter().any(|p| p.contains("2024-02-30")));
        assert!(problems
            .iter()
            .any(|p| p.contains("measured from the registry")));
    }
}
