//! Writing the network: one `query_stations_info`-shaped file per operator, a manifest and a
//! README, all byte-for-byte reproducible.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use evgrid_model::{Category, CoordSystem};
use evgrid_tcec::station_to_wire;
use serde::Serialize;

use crate::Network;

/// Why the output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The notice every output file carries.
pub const NOTICE: &str = "SYNTHETIC DATA / 合成数据: every operator, station, pile, price and phone number here is invented by `evgrid synth` from real Ganzhou places (boundaries, township centres, populations, hot spots) so that the totals match the city's reported figures. Not real chargers.";

/// One operator in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestOperator {
    pub operator_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub file: String,
    pub stations: usize,
    pub piles: usize,
    pub connectors: usize,
}

/// `manifest.json`: what was generated, how, and the totals.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub notice: &'static str,
    pub synthetic: bool,
    pub generator: String,
    pub seed: u64,
    pub coordinates: &'static str,
    pub format: &'static str,
    pub operators: Vec<ManifestOperator>,
    /// Piles, stations and connectors by category (`public`, `dedicated`, `private`, `total`).
    pub piles: BTreeMap<String, usize>,
    pub stations: BTreeMap<String, usize>,
    pub connectors: BTreeMap<String, usize>,
    /// The city's figures as this network reproduces them.
    pub figures: crate::Figures,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Network {
    /// Totals of the network by category, plus `total`.
    pub fn totals(&self) -> [BTreeMap<String, usize>; 3] {
        let mut piles = BTreeMap::new();
        let mut stations = BTreeMap::new();
        let mut connectors = BTreeMap::new();
        for c in Category::ALL {
            for m in [&mut piles, &mut stations, &mut connectors] {
                m.insert(c.to_string(), 0);
            }
        }
        for s in &self.stations {
            let k = s.category().to_string();
            *piles.entry(k.clone()).or_default() += s.equipment.len();
            *stations.entry(k.clone()).or_default() += 1;
            *connectors.entry(k).or_default() += s.connector_count();
        }
        for m in [&mut piles, &mut stations, &mut connectors] {
            let total = m.values().sum();
            m.insert("total".into(), total);
        }
        [piles, stations, connectors]
    }

    /// Writes the files into `dir` (created if needed) and returns the manifest.
    pub fn write(
        &self,
        dir: &Path,
        data: &evgrid_geo::ReferenceData,
    ) -> Result<Manifest, SynthError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut operators = Vec::new();
        for op in &self.operators {
            let stations: Vec<_> = self
                .stations
                .iter()
                .filter(|s| s.operator_id == op.id)
                .collect();
            let file = format!("{}.json", op.id);
            let path = dir.join(&file);
            let mut out = Vec::new();
            // One station per line: diffable, greppable, and still one JSON document.
            write!(
                out,
                "{{\"Notice\":{},\"OperatorID\":{},\"OperatorName\":{},\"PageNo\":1,\"PageCount\":1,\"ItemSize\":{},\"StationInfos\":[",
                serde_json::to_string(NOTICE)?,
                serde_json::to_string(op.id.as_str())?,
                serde_json::to_string(&op.name_zh)?,
                stations.len()
            )
            .map_err(io_err(&path))?;
            for (i, s) in stations.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
                serde_json::to_writer(&mut out, &station_to_wire(s, CoordSystem::Gcj02))?;
            }
            out.extend_from_slice(b"\n]}\n");
            std::fs::write(&path, out).map_err(io_err(&path))?;
            operators.push(ManifestOperator {
                operator_id: op.id.to_string(),
                name_zh: op.name_zh.clone(),
                name_en: op.name_en.clone(),
                file,
                stations: stations.len(),
                piles: stations.iter().map(|s| s.equipment.len()).sum(),
                connectors: stations.iter().map(|s| s.connector_count()).sum(),
            });
        }
        let [piles, stations, connectors] = self.totals();
        let manifest = Manifest {
            notice: NOTICE,
            synthetic: true,
            generator: format!("evgrid synth {}", env!("CARGO_PKG_VERSION")),
            seed: self.seed,
            coordinates: "gcj02",
            format: "T/CEC 102 query_stations_info result (PageNo, PageCount, ItemSize, StationInfos), one file per operator; extra top-level Notice, OperatorID, OperatorName; StationInfo carries the non-standard PolicyInfos tariff extension",
            operators,
            piles,
            stations,
            connectors,
            figures: self.figures(data),
        };
        let path = dir.join("manifest.json");
        let mut text = serde_json::to_string_pretty(&manifest)?;
        text.push('\n');
        std::fs::write(&path, text).map_err(io_err(&path))?;
        let path = dir.join("README.md");
        std::fs::write(&path, readme(&manifest)).map_err(io_err(&path))?;
        Ok(manifest)
    }
}

fn readme(m: &Manifest) -> String {
    let mut s = String::new();
    s.push_str("# Synthetic Ganzhou charging network (合成数据)\n\n");
    s.push_str(m.notice);
    s.push_str("\n\n");
    s.push_str(&format!(
        "Generated by `{}` with `--seed {}`; the same seed always gives byte-identical files.\n\n",
        m.generator, m.seed
    ));
    s.push_str("How it was made: 1,400 public stations (10,000 piles): a centre and a ring of six in Zhangjiang New District, one within 600 m of each hot spot, one near the centre of two thirds of the townships (county seats always, the others drawn by population), the rest drawn by population around the centres of those townships; 3,000 piles in bus, taxi, logistics and sanitation depots around the county seats and the central city; 6,000 private piles (StationType 50, one pile each) at invented residential compounds drawn by population, three times denser in towns. Township populations are spread from the county census figures (see data/ganzhou/SOURCES.md). Coordinates are GCJ-02.\n\n");
    s.push_str("| operator | file | stations | piles | connectors |\n|---|---|---:|---:|---:|\n");
    for o in &m.operators {
        s.push_str(&format!(
            "| {} {} ({}) | {} | {} | {} | {} |\n",
            o.operator_id, o.name_zh, o.name_en, o.file, o.stations, o.piles, o.connectors
        ));
    }
    s.push_str(&format!(
        "\nPiles: {} total = {} public + {} dedicated + {} private.\n",
        m.piles["total"], m.piles["public"], m.piles["dedicated"], m.piles["private"]
    ));
    let f = &m.figures;
    s.push_str(&format!(
        "Public stations: {}, planning-norm service radius {:.2} km. Townships with a public station: {} of {}. Hot spots with a public station within 1 km: {} of {}. Farthest point of Zhangjiang New District from a public station: {} m.\n",
        f.public_stations,
        f.planning_radius_km,
        f.townships_with_public_station,
        f.townships,
        f.hotspots_with_public_station_within_1km,
        f.hotspots,
        f.zhangjiang_max_distance_m
    ));
    s
}
