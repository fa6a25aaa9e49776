//! Import of operators' station data from files (read and validated by
//! `evgrid_tcec::files`: T/CEC StationInfos JSON, evgrid's CSV and GeoJSON).
//!
//! Every file is read and validated whole before anything is written; if any record of any file
//! is rejected, nothing is written at all and every rejected record is reported with its file,
//! record index or line, field and reason. A valid import is written in one transaction, keyed
//! by (OperatorID, StationID), so importing the same files again changes nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use evgrid_model::{CoordSystem, Operator, OperatorId};
use evgrid_tcec::files;
pub use evgrid_tcec::files::{FileReport, Format, Rejection};
use serde::Serialize;

use super::Network;
use crate::AppError;

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
    pub rejected: Vec<Rejection>,
    pub warnings: Vec<Rejection>,
    /// Stations written (0 when anything was rejected).
    pub stations_written: usize,
    pub piles_written: usize,
    pub committed: bool,
}

/// Progress of an import, for a progress bar.
#[derive(Debug, Clone)]
pub enum ImportEvent {
    /// A file is being read (index, total files, path).
    Reading(usize, usize, String),
    /// Validation is over; this many stations are being written.
    Writing(usize),
}

impl Network {
    /// Imports files (see the module doc). `coords` overrides each format's default datum.
    pub async fn import_paths(
        &self,
        paths: &[PathBuf],
        coords: Option<CoordSystem>,
        progress: &(dyn Fn(ImportEvent) + Sync),
    ) -> Result<ImportReport, AppError> {
        let read = files::read_station_files(paths, coords, &|i, n, path| {
            progress(ImportEvent::Reading(i, n, path.display().to_string()));
        });
        let mut report = ImportReport {
            rejected: read.rejected,
            ..ImportReport::default()
        };
        let parsed = read.files;
        let mut operators: BTreeMap<OperatorId, String> = BTreeMap::new();
        let mut stations = Vec::new();
        for f in parsed {
            let mut file_report = f.report;
            file_report.rejected = f.rejected.len();
            report.rejected.extend(f.rejected);
            report.warnings.extend(f.warnings);
            report.files.push(file_report);
            for (id, name) in f.operator_names {
                operators.insert(id, name);
            }
            for (_, s) in f.stations {
                operators
                    .entry(s.operator_id.clone())
                    .or_insert_with(|| s.operator_id.to_string());
                stations.push(s);
            }
        }
        if !report.rejected.is_empty() {
            tracing::warn!(
                rejected = report.rejected.len(),
                "import refused; nothing written"
            );
            return Ok(report);
        }
        progress(ImportEvent::Writing(stations.len()));
        let operators: Vec<Operator> = operators
            .into_iter()
            .map(|(id, name)| Operator { id, name })
            .collect();
        let piles = stations.iter().map(|s| s.equipment.len()).sum();
        let count = stations.len();
        let mut per_operator: BTreeMap<&OperatorId, usize> = BTreeMap::new();
        for s in &stations {
            *per_operator.entry(&s.operator_id).or_default() += 1;
        }
        let per_operator: Vec<(String, usize)> = per_operator
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect();
        match self.store_stations(&operators, stations).await {
            Ok(_) => {
                report.stations_written = count;
                report.piles_written = piles;
                report.committed = true;
                for (operator_id, stations) in &per_operator {
                    tracing::info!(operator_id = %operator_id, stations, "stations imported");
                }
            }
            Err(AppError::Store(evgrid_store::StoreError::Conflict(reason))) => {
                report.rejected.push(files::import_rejection(reason));
            }
            Err(e) => return Err(e),
        }
        Ok(report)
    }
}
