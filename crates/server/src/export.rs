//! Answers in the format asked for: JSON (the default), or a table as CSV, XLSX or GeoJSON.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use evgrid_report::Table;
use serde::Serialize;

use crate::params::Params;
use crate::ApiError;

/// The formats a table can be downloaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Csv,
    Xlsx,
    GeoJson,
}

/// The `format` parameter's values (documentation).
#[allow(dead_code)]
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FormatParam {
    Json,
    Csv,
    Xlsx,
    Geojson,
}

/// The `format` parameter's values for tables without places (documentation).
#[allow(dead_code)]
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TableFormatParam {
    Json,
    Csv,
    Xlsx,
}

/// Reads `format`; `places` says whether GeoJSON is offered.
pub fn format_param(p: &mut Params, places: bool) -> Format {
    match p.text(&["format"]).as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some("geojson") if places => Format::GeoJson,
        Some(other) => {
            let offered = if places {
                "json, csv, xlsx or geojson"
            } else {
                "json, csv or xlsx"
            };
            p.error("format", format!("{other:?} is not {offered}"));
            Format::Json
        }
    }
}

/// A PDF download named `file`.
pub fn pdf(file: String, body: Vec<u8>) -> Response {
    download("application/pdf", file, body)
}

fn download(mime: &'static str, file: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The file name of a table: ASCII letters, digits and dashes.
fn stem(table: &Table) -> String {
    let s: String = table
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() {
        "evgrid".into()
    } else {
        format!("evgrid-{s}")
    }
}

/// Answers `json` as JSON, or the table built by `table` in the asked format.
pub fn respond<T: Serialize>(
    format: Format,
    json: &T,
    table: impl FnOnce() -> Table,
) -> Result<Response, ApiError> {
    let fail = |e: evgrid_report::TableError| ApiError::Internal(e.to_string());
    Ok(match format {
        Format::Json => {
            let body = serde_json::to_vec(json).map_err(|e| ApiError::Internal(e.to_string()))?;
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Format::Csv => {
            let t = table();
            download(
                "text/csv; charset=utf-8",
                format!("{}.csv", stem(&t)),
                t.to_csv().map_err(fail)?,
            )
        }
        Format::Xlsx => {
            let t = table();
            download(
                XLSX,
                format!("{}.xlsx", stem(&t)),
                t.to_xlsx().map_err(fail)?,
            )
        }
        Format::GeoJson => {
            let t = table();
            let body = serde_json::to_vec(&t.to_geojson().map_err(fail)?)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response()
        }
    })
}

/// The XLSX media type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A whole workbook as a download.
pub fn workbook(name: &str, tables: &[Table]) -> Result<Response, ApiError> {
    let body = evgrid_report::workbook(tables).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(download(XLSX, format!("{name}.xlsx"), body))
}
