//! A table of figures, written as CSV (UTF-8 with a byte-order mark, so Excel opens Chinese
//! text right), as XLSX (typed numbers, a bold frozen header row, a sheet per table) or, when
//! its rows have places, as GeoJSON.

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde_json::{json, Map, Value};

/// What a column holds, for typing the spreadsheet cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    /// A number shown with 2 decimals.
    Number,
    /// A share 0..1 shown as a percentage.
    Share,
}

/// One column: its key (CSV header, GeoJSON property), its title for people, its kind.
#[derive(Debug, Clone)]
pub struct Column {
    pub key: String,
    pub title: String,
    pub kind: Kind,
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Integer(i64),
    Number(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Integer(n)
    }
}
impl From<usize> for Cell {
    fn from(n: usize) -> Self {
        Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Cell {
    fn from(x: f64) -> Self {
        if x.is_finite() {
            Cell::Number(x)
        } else {
            Cell::Empty
        }
    }
}
impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell::Text(if b { "yes" } else { "no" }.to_owned())
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `@`, a tab or return first, or `-`
/// before something that is not a number) gets a leading `'`: operators' names reach exports,
/// and a CSV opened in Excel must not compute them.
fn defuse(text: &str) -> String {
    let risky = match text.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => text.parse::<f64>().is_err(),
        _ => false,
    };
    if risky {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Sheet name (at most 31 characters in a spreadsheet) and file stem.
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// A GeoJSON geometry per row, when the rows are places.
    pub geometry: Option<Vec<Value>>,
}

/// Writing failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("spreadsheet: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("this table has no places, so no GeoJSON")]
    NoPlaces,
}

impl Table {
    /// A table with these columns `(key, title, kind)` and no rows yet.
    pub fn new(name: &str, columns: &[(&str, &str, Kind)]) -> Self {
        Self {
            name: name.to_owned(),
            columns: columns
                .iter()
                .map(|(key, title, kind)| Column {
                    key: (*key).to_owned(),
                    title: (*title).to_owned(),
                    kind: *kind,
                })
                .collect(),
            rows: Vec::new(),
            geometry: None,
        }
    }

    /// Adds a row (cells in column order).
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Adds a row that is a place.
    pub fn push_place(&mut self, row: Vec<Cell>, geometry: Value) {
        self.rows.push(row);
        self.geometry.get_or_insert_with(Vec::new).push(geometry);
    }

    /// CSV with a header of column keys, UTF-8 with a byte-order mark.
    pub fn to_csv(&self) -> Result<Vec<u8>, TableError> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(self.columns.iter().map(|c| c.key.as_str()))?;
            for row in &self.rows {
                w.write_record(row.iter().map(|cell| match cell {
                    Cell::Text(s) => defuse(s),
                    Cell::Integer(n) => n.to_string(),
                    Cell::Number(x) => format!("{x}"),
                    Cell::Empty => String::new(),
                }))?;
            }
            w.flush().map_err(csv::Error::from)?;
        }
        Ok(out)
    }

    /// A GeoJSON FeatureCollection: each row a feature with its cells as properties.
    pub fn to_geojson(&self) -> Result<Value, TableError> {
        // A table of places with no rows has no geometry yet: an empty collection.
        let empty = Vec::new();
        let geometry = match &self.geometry {
            Some(g) => g,
            None if self.rows.is_empty() => &empty,
            None => return Err(TableError::NoPlaces),
        };
        let features: Vec<Value> = self
            .rows
            .iter()
            .zip(geometry)
            .map(|(row, g)| {
                let mut props = Map::new();
                for (c, cell) in self.columns.iter().zip(row) {
                    props.insert(
                        c.key.clone(),
                        match cell {
                            Cell::Text(s) => json!(s),
                            Cell::Integer(n) => json!(n),
                            Cell::Number(x) => json!(x),
                            Cell::Empty => Value::Null,
                        },
                    );
                }
                json!({"type": "Feature", "geometry": g, "properties": props})
            })
            .collect();
        Ok(json!({"type": "FeatureCollection", "features": features}))
    }

    /// This table alone as a workbook.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, TableError> {
        workbook(std::slice::from_ref(self))
    }
}

/// A workbook with one sheet per table: a bold header row of titles (keys in a note row
/// would clutter; the CSV carries the keys), frozen; numbers typed; shares as percentages.
pub fn workbook(tables: &[Table]) -> Result<Vec<u8>, TableError> {
    let mut book = Workbook::new();
    let header = Format::new().set_bold().set_background_color("#DDEBF7");
    let number = Format::new().set_num_format("#,##0.00");
    let integer = Format::new().set_num_format("#,##0");
    let share = Format::new().set_num_format("0.0%");
    let mut used: Vec<String> = Vec::new();
    for table in tables {
        let sheet = book.add_worksheet();
        let mut name: String = table
            .name
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(28)
            .collect();
        if used.contains(&name) {
            name = format!("{name}{}", used.len() + 1);
        }
        used.push(name.clone());
        sheet.set_name(&name)?;
        for (c, col) in table.columns.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            sheet.write_string_with_format(0, c, &col.title, &header)?;
            let width = col.title.chars().count().max(8) as f64 * 1.6;
            sheet.set_column_width(c, width.min(48.0))?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, (cell, col)) in row.iter().zip(&table.columns).enumerate() {
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                match cell {
                    Cell::Text(s) => {
                        sheet.write_string(r, c, s)?;
                    }
                    Cell::Integer(n) => {
                        sheet.write_number_with_format(r, c, *n as f64, &integer)?;
                    }
                    Cell::Number(x) => {
                        let f = match col.kind {
                            Kind::Share => &share,
                            Kind::Integer => &integer,
                            _ => &number,
                        };
                        sheet.write_number_with_format(r, c, *x, f)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        if !table.rows.is_empty() && !table.columns.is_empty() {
            let last_row = u32::try_from(table.rows.len()).unwrap_or(u32::MAX);
            let last_col = u16::try_from(table.columns.len() - 1).unwrap_or(u16::MAX);
            sheet.autofilter(0, 0, last_row, last_col)?;
        }
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(
            "乡镇覆盖 townships",
            &[
                ("name", "名称 Name", Kind::Text),
                ("population", "人口 Population", Kind::Integer),
                ("share", "占比 Share", Kind::Share),
            ],
        );
        t.push_place(
            vec!["沙石镇".into(), Cell::Integer(12345), 0.5.into()],
            json!({"type": "Point", "coordinates": [114.9, 25.8]}),
        );
        t.push_place(
            vec!["a, \"b\"".into(), Cell::Empty, f64::NAN.into()],
            json!({"type": "Point", "coordinates": [115.0, 25.9]}),
        );
        t
    }

    #[test]
    fn an_empty_table_is_an_empty_feature_collection() {
        let t = Table::new("t", &[("name", "Name", Kind::Text)]);
        assert_eq!(
            t.to_geojson().unwrap(),
            json!({"type": "FeatureCollection", "features": []})
        );
        let mut rows = Table::new("t", &[("name", "Name", Kind::Text)]);
        rows.push(vec!["x".into()]);
        assert!(
            rows.to_geojson().is_err(),
            "rows without places are not GeoJSON"
        );
    }

    #[test]
    fn csv_has_a_bom_a_header_and_quoted_text() {
        let csv = sample().to_csv().unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "name,population,share");
        assert_eq!(lines[1], "沙石镇,12345,0.5");
        assert_eq!(lines[2], "\"a, \"\"b\"\"\",,");
    }

    #[test]
    fn csv_text_never_runs_as_a_formula() {
        let mut t = Table::new("t", &[("name", "Name", Kind::Text)]);
        for name in [
            "=HYPERLINK(\"x\")",
            "+1+1",
            "@SUM(A1)",
            "-2+3",
            "-5",
            "plain",
        ] {
            t.push(vec![name.into()]);
        }
        let text = String::from_utf8(t.to_csv().unwrap()).unwrap();
        let lines: Vec<&str> = text
            .trim_start_matches('\u{feff}')
            .lines()
            .skip(1)
            .collect();
        assert_eq!(
            lines,
            [
                "\"'=HYPERLINK(\"\"x\"\")\"",
                "'+1+1",
                "'@SUM(A1)",
                "'-2+3",
                "-5",
                "plain"
            ]
        );
    }

    #[test]
    fn xlsx_is_a_zip_with_the_sheet() {
        let bytes = workbook(&[sample(), sample()]).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        // The sheet names and the shared strings are inside (stored compressed; the zip's
        // directory lists the parts).
        let dir = String::from_utf8_lossy(&bytes);
        assert!(dir.contains("xl/worksheets/sheet2.xml"));
    }

    #[test]
    fn geojson_features_carry_the_cells() {
        let g = sample().to_geojson().unwrap();
        assert_eq!(g["features"][0]["properties"]["population"], 12345);
        assert_eq!(g["features"][1]["properties"]["share"], Value::Null);
        let mut plain = sample();
        plain.geometry = None;
        assert!(plain.to_geojson().is_err());
    }
}
