//! A siting problem: demand points, candidate sites, the sites already there, `p` and the radius.
//! Read from the benchmark's CSV files (`demand.csv` `id,x,y,weight`, `sites.csv` `id,x,y`, in
//! km) all or nothing: every bad line is reported with its line and field, and nothing of a file
//! with a bad line is used.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

/// A point in planar kilometres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// East, km.
    pub x: f64,
    /// North, km.
    pub y: f64,
}

impl Point {
    /// Squared distance, km².
    pub fn distance2(self, other: Point) -> f64 {
        let (dx, dy) = (self.x - other.x, self.y - other.y);
        dx * dx + dy * dy
    }
}

/// A demand point: where people are, and how many (any non-negative weight).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemandPoint {
    /// Where.
    pub at: Point,
    /// How much demand (people, or the benchmark's integer weight).
    pub weight: f64,
}

/// The demand and the candidate sites, with the ids they had in their files.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// Demand points.
    pub demand: Vec<DemandPoint>,
    /// Candidate sites.
    pub sites: Vec<Point>,
    /// The id of each candidate site, as in `sites.csv`.
    pub site_ids: Vec<i64>,
}

/// What to solve: an instance, how many sites to open, the radius, and the sites already open.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Demand and candidates.
    pub instance: Instance,
    /// Sites to open (exactly this many).
    pub p: usize,
    /// Coverage radius, km; a demand point at exactly this distance is covered.
    pub radius_km: f64,
    /// Sites already open: the demand they cover counts as covered whatever is chosen.
    pub existing: Vec<Point>,
}

/// One bad line of an input file.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// The file's name.
    pub file: String,
    /// Line number (1 = header).
    pub line: u64,
    /// The field, when one is at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why an instance could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Lines that are not valid; nothing was read.
    #[error("{} bad line(s), nothing read:\n{}", .0.len(), list(.0))]
    BadLines(Vec<BadLine>),
    /// The problem as a whole does not make sense (p larger than the candidates, radius ≤ 0…).
    #[error("{0}")]
    Invalid(String),
}

fn list(lines: &[BadLine]) -> String {
    let shown: Vec<String> = lines
        .iter()
        .take(MAX_REPORTED)
        .map(|l| format!("  {l}"))
        .collect();
    let more = lines.len().saturating_sub(MAX_REPORTED);
    if more > 0 {
        format!("{}\n  … and {more} more", shown.join("\n"))
    } else {
        shown.join("\n")
    }
}

/// How many bad lines an error lists (all are counted).
const MAX_REPORTED: usize = 20;
/// Coordinates beyond this many km are taken for a unit mistake (degrees × 1000, metres…).
const MAX_COORDINATE_KM: f64 = 1.0e6;

impl Instance {
    /// Reads `demand.csv` and `sites.csv`. Every bad line of both files is reported; on any,
    /// nothing is returned.
    pub fn read(demand: &Path, sites: &Path) -> Result<Self, InstanceError> {
        let mut bad = Vec::new();
        let demand_rows = read_rows(demand, &["id", "x", "y", "weight"], &mut bad)?;
        let site_rows = read_rows(sites, &["id", "x", "y"], &mut bad)?;
        let mut instance = Instance::default();
        for row in demand_rows {
            if let [_, x, y, weight] = row.values[..] {
                instance.demand.push(DemandPoint {
                    at: Point { x, y },
                    weight,
                });
            }
        }
        for row in site_rows {
            if let [id, x, y] = row.values[..] {
                instance.sites.push(Point { x, y });
                instance.site_ids.push(id as i64);
            }
        }
        if !bad.is_empty() {
            return Err(InstanceError::BadLines(bad));
        }
        Ok(instance)
    }

    /// The index of the site with this id.
    pub fn site_index(&self, id: i64) -> Option<usize> {
        self.site_ids.iter().position(|&s| s == id)
    }
}

impl Problem {
    /// Checks the problem as a whole: p between 1 and the number of candidates, a positive
    /// finite radius.
    pub fn check(&self) -> Result<(), InstanceError> {
        let m = self.instance.sites.len();
        if self.p == 0 || self.p > m {
            return Err(InstanceError::Invalid(format!(
                "p = {} but there are {m} candidate sites: choose between 1 and {m}",
                self.p
            )));
        }
        if !(self.radius_km.is_finite() && self.radius_km > 0.0) {
            return Err(InstanceError::Invalid(format!(
                "the radius must be a positive number of km, not {}",
                self.radius_km
            )));
        }
        Ok(())
    }
}

/// `p` and `radius_km` from a benchmark instance's `params.csv` (`name,value`; other rows are
/// the generator's facts and are ignored).
pub fn read_params(path: &Path) -> Result<(usize, f64), InstanceError> {
    let file_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| InstanceError::Io {
        path: file_name.clone(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let (mut p, mut radius, mut bad) = (None, None, Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| InstanceError::Invalid(format!("{file_name}: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let value = record.get(1).unwrap_or("");
        let mut fail = |message: String| {
            bad.push(BadLine {
                file: file_name.clone(),
                line,
                field: Some("value".into()),
                message,
            })
        };
        match record.get(0) {
            Some("p") => match value.parse::<usize>() {
                Ok(v) => p = Some(v),
                Err(_) => fail(format!("p `{value}` is not a whole number")),
            },
            Some("radius_km") => match value.parse::<f64>() {
                Ok(v) => radius = Some(v),
                Err(_) => fail(format!("radius_km `{value}` is not a number")),
            },
            _ => {}
        }
    }
    if !bad.is_empty() {
        return Err(InstanceError::BadLines(bad));
    }
    match (p, radius) {
        (Some(p), Some(r)) => Ok((p, r)),
        _ => Err(InstanceError::Invalid(format!(
            "{file_name} has no `p` or no `radius_km` row"
        ))),
    }
}

struct Row {
    values: Vec<f64>,
}

/// Reads a CSV whose header holds `columns` (in any order, others ignored), each a number;
/// `id` an integer unique in the file, `weight` non-negative. Bad lines go to `bad`.
fn read_rows(
    path: &Path,
    columns: &[&str],
    bad: &mut Vec<BadLine>,
) -> Result<Vec<Row>, InstanceError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let io = |source| InstanceError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let mut report = |line: u64, field: Option<&str>, message: String| {
        bad.push(BadLine {
            file: file_name.clone(),
            line,
            field: field.map(str::to_owned),
            message,
        })
    };
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            report(1, None, format!("not CSV: {e}"));
            return Ok(Vec::new());
        }
    };
    let mut positions = Vec::new();
    for column in columns {
        match header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == *column)
        {
            Some(i) => positions.push(i),
            None => {
                report(
                    1,
                    Some(column),
                    format!(
                        "the header has no `{column}` column (expected {})",
                        columns.join(",")
                    ),
                );
            }
        }
    }
    if positions.len() != columns.len() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    let mut ids = HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        len, expected_len, ..
                    } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
                    _ => format!("not a valid CSV line: {e}"),
                };
                report(line, None, message);
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut values = Vec::with_capacity(columns.len());
        let mut ok = true;
        for (&column, &i) in columns.iter().zip(&positions) {
            let text = record.get(i).unwrap_or("");
            let problem = match text.parse::<f64>() {
                Err(_) if text.is_empty() => Some("is empty".to_owned()),
                Err(_) => Some(format!("`{text}` is not a number")),
                Ok(v) if !v.is_finite() => Some(format!("`{text}` is not a finite number")),
                Ok(v) if column == "id" && (v.fract() != 0.0 || v.abs() > 9.0e15) => {
                    Some(format!("`{text}` is not an integer id"))
                }
                Ok(v) if column == "id" && !ids.insert(v as i64) => {
                    Some(format!("id {text} appears twice"))
                }
                Ok(v) if column == "weight" && v < 0.0 => {
                    Some(format!("weight {text} is negative"))
                }
                Ok(v) if (column == "x" || column == "y") && v.abs() > MAX_COORDINATE_KM => {
                    Some(format!("{text} km is out of range (coordinates are in km)"))
                }
                Ok(v) => {
                    values.push(v);
                    None
                }
            };
            if let Some(message) = problem {
                report(line, Some(column), message);
                ok = false;
            }
        }
        if ok {
            rows.push(Row { values });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(
        demand: &str,
        sites: &str,
    ) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (d, s) = (dir.path().join("demand.csv"), dir.path().join("sites.csv"));
        std::fs::write(&d, demand).expect("write");
        std::fs::write(&s, sites).expect("write");
        (dir, d, s)
    }

    #[test]
    fn reads_columns_in_any_order() {
        let (_dir, d, s) = files("weight,y,x,id\n5,2.0,1.0,0\n7,0,0,1\n", "id,x,y\n10,1,2\n");
        let instance = Instance::read(&d, &s).expect("valid");
        assert_eq!(
            instance.demand[0],
            DemandPoint {
                at: Point { x: 1.0, y: 2.0 },
                weight: 5.0
            }
        );
        assert_eq!(instance.demand.len(), 2);
        assert_eq!(instance.site_ids, vec![10]);
        assert_eq!(instance.site_index(10), Some(0));
    }

    #[test]
    fn every_bad_line_is_named_with_its_field_and_nothing_is_read() {
        let (_dir, d, s) = files(
            "id,x,y,weight\n0,1,1,5\n1,abc,1,5\n2,1,1,-3\n3,1,1\n0,2,2,1\n4,1,1,\n",
            "id,x,y\n0,1,1\n1.5,2,2\n",
        );
        let Err(InstanceError::BadLines(bad)) = Instance::read(&d, &s) else {
            panic!("bad lines must be refused");
        };
        let text: Vec<String> = bad.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "demand.csv line 3, field `x`: `abc` is not a number",
                "demand.csv line 4, field `weight`: weight -3 is negative",
                "demand.csv line 5: 3 fields where the header has 4",
                "demand.csv line 6, field `id`: id 0 appears twice",
                "demand.csv line 7, field `weight`: is empty",
                "sites.csv line 3, field `id`: `1.5` is not an integer id",
            ]
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let (_dir, d, s) = files("id,x,y\n0,1,1\n", "id,x,y\n0,1,1\n");
        let err = Instance::read(&d, &s).expect_err("no weight column");
        assert!(
            err.to_string()
                .contains("demand.csv line 1, field `weight`: the header has no `weight` column"),
            "{err}"
        );
    }

    #[test]
    fn p_and_radius_are_checked() {
        let instance = Instance {
            sites: vec![Point { x: 0.0, y: 0.0 }],
            site_ids: vec![0],
            ..Default::default()
        };
        let problem = |p, radius_km| Problem {
            instance: instance.clone(),
            p,
            radius_km,
            existing: vec![],
        };
        assert!(problem(1, 3.0).check().is_ok());
        assert!(problem(2, 3.0).check().is_err());
        assert!(problem(0, 3.0).check().is_err());
        assert!(problem(1, 0.0).check().is_err());
        assert!(problem(1, f64::NAN).check().is_err());
    }
}
