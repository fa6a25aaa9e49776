//! Operators' station files read into the domain: T/CEC StationInfos JSON, evgrid's CSV (T/CEC
//! fields under evgrid's column names) and GeoJSON (formats documented in
//! `docs/import-formats.md`). Every record goes through [`parse_station_info`] and
//! [`station_from_wire`], so a file is held to the same rules as a push; every problem is
//! reported in the file's own terms (record or CSV line and column, field, reason).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use evgrid_model::{CoordSystem, FieldError, OperatorId, Station};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::convert::parse_station_info;
use crate::{station_from_wire, ConvertOptions};

/// Largest file an import reads (bytes).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The three formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Tcec,
    Csv,
    Geojson,
}

impl Format {
    /// The datum a format's coordinates are in unless `--coords` says otherwise: T/CEC files
    /// and CSV come from Chinese operators (GCJ-02); GeoJSON is WGS-84 by RFC 7946.
    pub fn default_coords(self) -> CoordSystem {
        match self {
            Format::Tcec | Format::Csv => CoordSystem::Gcj02,
            Format::Geojson => CoordSystem::Wgs84,
        }
    }
}

/// One rejected record (or a whole file that could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub file: String,
    /// `StationInfos[3]`, `features[3]`, `line 7`, or empty for the file itself.
    pub record: String,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if !self.record.is_empty() {
            write!(f, " {}", self.record)?;
        }
        if !self.field.is_empty() {
            write!(f, " field {}", self.field)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Per-file outcome.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub format: Format,
    pub coords: CoordSystem,
    pub records: usize,
    pub valid: usize,
    pub rejected: usize,
}

/// A file read and validated.
#[derive(Debug)]
pub struct ParsedFile {
    pub report: FileReport,
    /// The valid stations, each with its record's name in the file.
    pub stations: Vec<(String, Station)>,
    /// Operators' names the file gives (T/CEC `OperatorName`).
    pub operator_names: Vec<(OperatorId, String)>,
    pub rejected: Vec<Rejection>,
    pub warnings: Vec<Rejection>,
}

/// What a set of files holds: every file read and validated, and the same station twice
/// (in one file or two) rejected at each of its mentions.
#[derive(Debug, Default)]
pub struct StationFiles {
    pub files: Vec<ParsedFile>,
    /// Files that could not be read at all.
    pub rejected: Vec<Rejection>,
}

/// Reads every file an import path stands for (see [`expand_paths`]); `on_file(i, n, path)`
/// is told before each. `coords` overrides each format's default datum.
pub fn read_station_files(
    paths: &[PathBuf],
    coords: Option<CoordSystem>,
    on_file: &dyn Fn(usize, usize, &Path),
) -> StationFiles {
    let mut out = StationFiles::default();
    let files = match expand_paths(paths) {
        Ok(f) => f,
        Err(r) => {
            out.rejected.push(r);
            return out;
        }
    };
    for (i, path) in files.iter().enumerate() {
        on_file(i + 1, files.len(), path);
        match read_file(path, coords) {
            Ok(p) => out.files.push(p),
            Err(r) => out.rejected.push(r),
        }
    }
    // The same station twice in one import is ambiguous: reject both mentions.
    let mut seen: HashMap<(OperatorId, String), String> = HashMap::new();
    for f in &mut out.files {
        for (record, s) in &f.stations {
            let key = (s.operator_id.clone(), s.id.clone());
            if let Some(first) = seen.insert(key, format!("{} {record}", f.report.file)) {
                f.rejected.push(Rejection {
                    file: f.report.file.clone(),
                    record: record.clone(),
                    field: "StationID".into(),
                    reason: format!("station {}:{} also appears at {first}", s.operator_id, s.id),
                });
            }
        }
    }
    out
}

/// A rejection of no file or record in particular (e.g. a conflict found while storing).
pub fn import_rejection(reason: impl Into<String>) -> Rejection {
    Rejection {
        file: String::new(),
        record: String::new(),
        field: String::new(),
        reason: reason.into(),
    }
}

/// Lists the files an import path stands for: a file, or every `.json`, `.csv` and `.geojson`
/// in a directory (not `manifest.json`), sorted by name.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Rejection> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| file_rejection(p, e.to_string()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name != "manifest.json" && detect_format(f).is_some()
                })
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn file_rejection(path: &Path, reason: impl Into<String>) -> Rejection {
    Rejection {
        file: path.display().to_string(),
        record: String::new(),
        field: String::new(),
        reason: reason.into(),
    }
}

/// The format a file name says, if any.
pub fn detect_format(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".geojson") {
        Some(Format::Geojson)
    } else if name.ends_with(".csv") {
        Some(Format::Csv)
    } else if name.ends_with(".json") {
        Some(Format::Tcec)
    } else {
        None
    }
}

fn read_file(path: &Path, coords: Option<CoordSystem>) -> Result<ParsedFile, Rejection> {
    let file = path.display().to_string();
    let format = detect_format(path).ok_or_else(|| {
        file_rejection(
            path,
            "unknown file type: expected .json (T/CEC), .csv or .geojson",
        )
    })?;
    let meta = std::fs::metadata(path).map_err(|e| file_rejection(path, e.to_string()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(file_rejection(
            path,
            format!("file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| file_rejection(path, e.to_string()))?;
    let text =
        String::from_utf8(bytes).map_err(|e| file_rejection(path, format!("not UTF-8: {e}")))?;
    parse_station_text(&file, format, &text, coords).map_err(|r| file_rejection(path, r))
}

/// Parses the text of one station file named `file` in `format` (a byte-order mark allowed);
/// `coords` overrides the format's default datum. `Err`: the whole file is unreadable, why.
pub fn parse_station_text(
    file: &str,
    format: Format,
    text: &str,
    coords: Option<CoordSystem>,
) -> Result<ParsedFile, String> {
    let file = file.to_owned();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let coords = coords.unwrap_or(format.default_coords());
    let options = ConvertOptions { coords };
    let mut parsed = ParsedFile {
        report: FileReport {
            file: file.clone(),
            format,
            coords,
            records: 0,
            valid: 0,
            rejected: 0,
        },
        stations: Vec::new(),
        operator_names: Vec::new(),
        rejected: Vec::new(),
        warnings: Vec::new(),
    };
    let records: Vec<Record> = match format {
        Format::Tcec => tcec_records(text, &mut parsed)?,
        Format::Geojson => geojson_records(text, &mut parsed)?,
        Format::Csv => csv_records(text, &mut parsed)?,
    };
    parsed.report.records = records.len();
    for rec in records {
        let reject = |field: String, reason: String, locate: &dyn Fn(&str) -> (String, String)| {
            let (record, field) = locate(&field);
            Rejection {
                file: file.clone(),
                record,
                field,
                reason,
            }
        };
        let value = match rec.value {
            Ok(v) => v,
            Err(e) => {
                parsed
                    .rejected
                    .push(reject(e.field, e.reason, &*rec.locate));
                continue;
            }
        };
        let info = match parse_station_info(&value) {
            Ok(info) => info,
            Err(e) => {
                parsed
                    .rejected
                    .push(reject(e.field, e.reason, &*rec.locate));
                continue;
            }
        };
        match station_from_wire(&info, options) {
            Ok(c) => {
                parsed.warnings.extend(
                    c.warnings
                        .into_iter()
                        .map(|w| reject(w.field, w.reason, &*rec.locate)),
                );
                parsed.stations.push(((rec.locate)("").0, c.station));
                parsed.report.valid += 1;
            }
            Err(errors) => parsed.rejected.extend(
                errors
                    .into_iter()
                    .map(|e| reject(e.field, e.reason, &*rec.locate)),
            ),
        }
    }
    Ok(parsed)
}

/// One record of a file: its StationInfo as JSON (or why it could not be built), and how to
/// name a field of it in a report: (record, field) from a StationInfo field path.
struct Record {
    value: Result<Value, FieldError>,
    locate: Locate,
}

/// Names a StationInfo field path in the file's own terms: (record, field).
type Locate = Box<dyn Fn(&str) -> (String, String)>;

/// One CSV row turned into its station, pile and connector parts (T/CEC field names).
struct CsvRow {
    station: Map<String, Value>,
    equipment: Map<String, Value>,
    connector: Value,
}

/// A pile being assembled from CSV rows.
struct CsvPile {
    id: String,
    first_line: u64,
    equipment: Map<String, Value>,
    connectors: Vec<(u64, Value)>,
}

fn simple_record(label: String, value: Result<Value, FieldError>) -> Record {
    Record {
        value,
        locate: Box::new(move |field| (label.clone(), field.to_owned())),
    }
}

fn note_operator_name(doc: &Value, parsed: &mut ParsedFile) {
    if let (Some(id), Some(name)) = (
        doc.get("OperatorID").and_then(Value::as_str),
        doc.get("OperatorName").and_then(Value::as_str),
    ) {
        if let Ok(id) = OperatorId::new(id) {
            parsed.operator_names.push((id, name.to_owned()));
        }
    }
}

/// T/CEC: a `query_stations_info` result (`StationInfos`), a `notification_stationInfo` body
/// (`StationInfo`), or a bare array of StationInfo.
fn tcec_records(text: &str, parsed: &mut ParsedFile) -> Result<Vec<Record>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let (items, label) = match &doc {
        Value::Array(items) => (items.clone(), ""),
        Value::Object(o) => {
            note_operator_name(&doc, parsed);
            if let Some(items) = o.get("StationInfos") {
                (
                    items
                        .as_array()
                        .cloned()
                        .ok_or("StationInfos must be an array")?,
                    "StationInfos",
                )
            } else if let Some(item) = o.get("StationInfo") {
                (vec![item.clone()], "StationInfo")
            } else {
                return Err("expected a StationInfos array, a StationInfo object or an array of StationInfo".into());
            }
        }
        _ => return Err("expected a JSON object or array".into()),
    };
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            simple_record(
                if label == "StationInfo" {
                    label.to_owned()
                } else {
                    format!("{label}[{i}]")
                },
                Ok(v),
            )
        })
        .collect())
}

/// GeoJSON: a FeatureCollection of Points whose properties are StationInfo fields; the point
/// gives StationLng/StationLat.
fn geojson_records(text: &str, parsed: &mut ParsedFile) -> Result<Vec<Record>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err("expected a GeoJSON FeatureCollection".into());
    }
    note_operator_name(&doc, parsed);
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .ok_or("a FeatureCollection needs a features array")?;
    Ok(features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let value = (|| {
                let coords = f
                    .pointer("/geometry/coordinates")
                    .and_then(Value::as_array)
                    .filter(|_| {
                        f.pointer("/geometry/type").and_then(Value::as_str) == Some("Point")
                    })
                    .ok_or_else(|| FieldError::new("geometry", "must be a Point"))?;
                let number = |j: usize, name: &str| {
                    coords.get(j).and_then(Value::as_f64).ok_or_else(|| {
                        FieldError::new(
                            format!("geometry.coordinates[{j}]"),
                            format!("{name} must be a number"),
                        )
                    })
                };
                let (lng, lat) = (number(0, "longitude")?, number(1, "latitude")?);
                let mut props = f
                    .get("properties")
                    .and_then(Value::as_object)
                    .cloned()
                    .ok_or_else(|| {
                        FieldError::new("properties", "must be an object of StationInfo fields")
                    })?;
                props.insert("StationLng".into(), json!(lng));
                props.insert("StationLat".into(), json!(lat));
                Ok(Value::Object(props))
            })();
            simple_record(format!("features[{i}]"), value)
        })
        .collect())
}

/// The CSV columns, one row per connector; a station spans consecutive or scattered rows with
/// the same operator_id and station_id, a pile the rows with the same equipment_id.
pub const CSV_COLUMNS: [(&str, &str, bool); 26] = [
    ("operator_id", "OperatorID", true),
    ("operator_name", "", false),
    ("station_id", "StationID", true),
    ("station_name", "StationName", true),
    ("station_type", "StationType", true),
    ("station_status", "StationStatus", false),
    ("lng", "StationLng", true),
    ("lat", "StationLat", true),
    ("address", "Address", false),
    ("area_code", "AreaCode", false),
    ("service_tel", "ServiceTel", false),
    ("construction", "Construction", false),
    ("park_nums", "ParkNums", false),
    ("business_hours", "BusineHours", false),
    ("tariff", "PolicyInfos", false),
    ("equipment_id", "EquipmentID", true),
    ("equipment_type", "EquipmentType", true),
    ("equipment_power_kw", "Power", true),
    ("connector_id", "ConnectorID", true),
    ("connector_type", "ConnectorType", true),
    ("connector_power_kw", "Power", true),
    ("voltage_upper_v", "VoltageUpperLimits", true),
    ("voltage_lower_v", "VoltageLowerLimits", true),
    ("current_a", "Current", true),
    ("national_standard", "NationalStandard", true),
    ("equipment_owner_id", "EquipmentOwnerID", false),
];

fn csv_column_for(path: &str) -> String {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    let in_connector = path.contains("ConnectorInfos[");
    let in_equipment = path.contains("EquipmentInfos[") && !in_connector;
    if leaf == "Power" {
        return if in_connector {
            "connector_power_kw"
        } else if in_equipment {
            "equipment_power_kw"
        } else {
            "Power"
        }
        .into();
    }
    if leaf.starts_with("PolicyInfos") || path.starts_with("PolicyInfos") {
        return "tariff".into();
    }
    if path == "StationLat/StationLng" {
        return "lat/lng".into();
    }
    CSV_COLUMNS
        .iter()
        .find(|(_, wire, _)| *wire == leaf)
        .map_or_else(|| path.to_owned(), |(col, _, _)| (*col).to_owned())
}

/// Parses `HHmmss:elec:service;...` (yuan per kWh) into PolicyInfos.
fn csv_tariff(text: &str) -> Result<Value, String> {
    text.split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let parts: Vec<&str> = p.trim().split(':').collect();
            let [start, elec, service] = parts.as_slice() else {
                return Err(format!("period {p:?} must be HHmmss:electricity:service"));
            };
            let number = |s: &str| s.parse::<f64>().map_err(|_| format!("{s:?} is not a price in yuan"));
            Ok(json!({"StartTime": start, "ElecPrice": number(elec)?, "SevicePrice": number(service)?}))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn csv_records(text: &str, parsed: &mut ParsedFile) -> Result<Vec<Record>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .clone();
    let col: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    for (name, _, required) in CSV_COLUMNS {
        if required && !col.contains_key(name) {
            return Err(format!("missing column {name}; see docs/import-formats.md"));
        }
    }
    if let Some(unknown) = headers
        .iter()
        .find(|h| !CSV_COLUMNS.iter().any(|(c, _, _)| c == h))
    {
        return Err(format!(
            "unknown column {unknown:?}; see docs/import-formats.md"
        ));
    }
    // station key -> (first line, station JSON, equipment id -> (index, first line), lines of connectors)
    struct Group {
        first_line: u64,
        station: Map<String, Value>,
        piles: Vec<CsvPile>,
        error: Option<(u64, FieldError)>,
    }
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: HashMap<(String, String), Group> = HashMap::new();
    let mut bad_rows: Vec<Record> = Vec::new();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                bad_rows.push(simple_record(
                    format!("line {line}"),
                    Err(FieldError::new("", e.to_string())),
                ));
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        let get = |name: &str| {
            col.get(name)
                .and_then(|i| row.get(*i))
                .unwrap_or("")
                .to_owned()
        };
        let int = |name: &str, default: Option<i64>| -> Result<Value, FieldError> {
            let v = get(name);
            if v.is_empty() {
                return default
                    .map(Value::from)
                    .ok_or_else(|| FieldError::new(name, "is required"));
            }
            v.parse::<i64>()
                .map(Value::from)
                .map_err(|_| FieldError::new(name, format!("{v:?} is not an integer")))
        };
        let num = |name: &str| -> Result<Value, FieldError> {
            let v = get(name);
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Value::from)
                .ok_or_else(|| FieldError::new(name, format!("{v:?} is not a number")))
        };
        let key = (get("operator_id"), get("station_id"));
        let built = (|| -> Result<CsvRow, FieldError> {
            let mut station = Map::new();
            station.insert("OperatorID".into(), get("operator_id").into());
            station.insert("StationID".into(), get("station_id").into());
            station.insert("StationName".into(), get("station_name").into());
            station.insert(
                "EquipmentOwnerID".into(),
                {
                    let owner = get("equipment_owner_id");
                    if owner.is_empty() {
                        get("operator_id")
                    } else {
                        owner
                    }
                }
                .into(),
            );
            station.insert("CountryCode".into(), "CN".into());
            station.insert("AreaCode".into(), get("area_code").into());
            station.insert("Address".into(), get("address").into());
            station.insert("ServiceTel".into(), get("service_tel").into());
            station.insert("StationType".into(), int("station_type", None)?);
            station.insert("StationStatus".into(), int("station_status", Some(50))?);
            station.insert("ParkNums".into(), int("park_nums", Some(0))?);
            station.insert("Construction".into(), int("construction", Some(255))?);
            station.insert("StationLng".into(), num("lng")?);
            station.insert("StationLat".into(), num("lat")?);
            let hours = get("business_hours");
            if !hours.is_empty() {
                station.insert("BusineHours".into(), hours.into());
            }
            let tariff = get("tariff");
            if !tariff.is_empty() {
                station.insert(
                    "PolicyInfos".into(),
                    csv_tariff(&tariff).map_err(|e| FieldError::new("tariff", e))?,
                );
            }
            station.insert("EquipmentInfos".into(), Value::Array(Vec::new()));
            let mut equipment = Map::new();
            equipment.insert("EquipmentID".into(), get("equipment_id").into());
            equipment.insert("EquipmentType".into(), int("equipment_type", None)?);
            equipment.insert("Power".into(), num("equipment_power_kw")?);
            let connector = json!({
                "ConnectorID": get("connector_id"),
                "ConnectorType": int("connector_type", None)?,
                "VoltageUpperLimits": int("voltage_upper_v", None)?,
                "VoltageLowerLimits": int("voltage_lower_v", None)?,
                "Current": int("current_a", None)?,
                "Power": num("connector_power_kw")?,
                "NationalStandard": int("national_standard", None)?,
            });
            Ok(CsvRow {
                station,
                equipment,
                connector,
            })
        })();
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        let name = get("operator_name");
        if !name.is_empty() {
            if let Ok(id) = OperatorId::new(&key.0) {
                parsed.operator_names.push((id, name));
            }
        }
        let group = groups.entry(key).or_insert_with(|| Group {
            first_line: line,
            station: Map::new(),
            piles: Vec::new(),
            error: None,
        });
        match built {
            Err(e) => {
                group.error.get_or_insert((line, e));
            }
            Ok(CsvRow {
                station,
                equipment,
                connector,
            }) => {
                if group.station.is_empty() {
                    group.station = station;
                } else {
                    for field in ["StationName", "StationType", "StationLng", "StationLat"] {
                        if group.station.get(field) != station.get(field) {
                            group.error.get_or_insert((
                                line,
                                FieldError::new(
                                    csv_column_for(field),
                                    format!(
                                        "differs from line {} of the same station",
                                        group.first_line
                                    ),
                                ),
                            ));
                        }
                    }
                }
                let eid = get("equipment_id");
                match group.piles.iter_mut().find(|p| p.id == eid) {
                    Some(pile) => pile.connectors.push((line, connector)),
                    None => group.piles.push(CsvPile {
                        id: eid,
                        first_line: line,
                        equipment,
                        connectors: vec![(line, connector)],
                    }),
                }
            }
        }
    }
    let mut records = bad_rows;
    for key in order {
        let Some(mut g) = groups.remove(&key) else {
            continue;
        };
        let first_line = g.first_line;
        if let Some((line, e)) = g.error.take() {
            records.push(simple_record(format!("line {line}"), Err(e)));
            continue;
        }
        let mut lines: Vec<(u64, Vec<u64>)> = Vec::new();
        let equipment: Vec<Value> = g
            .piles
            .into_iter()
            .map(|pile| {
                lines.push((
                    pile.first_line,
                    pile.connectors.iter().map(|(l, _)| *l).collect(),
                ));
                let mut e = pile.equipment;
                let connectors = pile.connectors.into_iter().map(|(_, c)| c).collect();
                e.insert("ConnectorInfos".into(), Value::Array(connectors));
                Value::Object(e)
            })
            .collect();
        g.station
            .insert("EquipmentInfos".into(), Value::Array(equipment));
        records.push(Record {
            value: Ok(Value::Object(g.station)),
            locate: Box::new(move |path| {
                let line = locate_line(path, first_line, &lines);
                (
                    format!("line {line}"),
                    if path.is_empty() {
                        String::new()
                    } else {
                        csv_column_for(path)
                    },
                )
            }),
        });
    }
    Ok(records)
}

/// The CSV line a StationInfo field path came from.
fn locate_line(path: &str, first_line: u64, lines: &[(u64, Vec<u64>)]) -> u64 {
    let index_after = |marker: &str| -> Option<usize> {
        let rest = &path[path.find(marker)? + marker.len()..];
        rest[..rest.find(']')?].parse().ok()
    };
    match (
        index_after("EquipmentInfos["),
        index_after("ConnectorInfos["),
    ) {
        (Some(e), Some(c)) => lines
            .get(e)
            .and_then(|(_, cs)| cs.get(c))
            .copied()
            .unwrap_or(first_line),
        (Some(e), None) => lines.get(e).map_or(first_line, |(l, _)| *l),
        _ => first_line,
    }
}
