//! The Ganzhou reference data shipped in the repository's `data/ganzhou/` (counties with their
//! real boundaries, townships, hot spots, the Zhangjiang New District circle), embedded in the
//! binary so a fresh clone runs without any download. `data/ganzhou/SOURCES.md` says where each
//! figure comes from and which are estimates.

use std::collections::HashMap;
use std::path::Path;

use evgrid_model::{County, LatLng, Township};
use serde::Deserialize;
use serde_json::Value;

use crate::MultiPolygon;

/// The city's official land area in km², from the city's statistics (the polygons sum to 39,436).
pub const CITY_AREA_KM2: f64 = 39_379.64;

/// Why the reference data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reading {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} line {line}: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{file}: {message}")]
    Json { file: String, message: String },
}

/// A place people go to and expect to charge near: county seats, the city centre, a rail
/// station, an airport.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    pub name_zh: String,
    pub category: String,
    pub county_code: String,
    pub location: LatLng,
}

/// An area with a charging-circle promise, e.g. Zhangjiang New District's 2 km circle.
#[derive(Debug, Clone, PartialEq)]
pub struct CircleArea {
    pub name_zh: String,
    pub centre: LatLng,
    pub radius_m: f64,
    pub boundary: MultiPolygon,
}

/// Everything the platform knows about the city's geography.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    pub counties: Vec<County>,
    pub county_boundaries: HashMap<String, MultiPolygon>,
    pub townships: Vec<Township>,
    pub hotspots: Vec<Hotspot>,
    pub zhangjiang: CircleArea,
    /// The raw county boundary GeoJSON, served as the map's offline base layer.
    pub counties_geojson: String,
}

const COUNTIES_CSV: &str = include_str!("../../../data/ganzhou/counties.csv");
const TOWNSHIPS_CSV: &str = include_str!("../../../data/ganzhou/townships.csv");
const HOTSPOTS_CSV: &str = include_str!("../../../data/ganzhou/hotspots.csv");
const COUNTIES_GEOJSON: &str = include_str!("../../../data/ganzhou/ganzhou_counties.geojson");
const ZHANGJIANG_GEOJSON: &str =
    include_str!("../../../data/ganzhou/zhangjiang_new_district.geojson");

#[derive(Deserialize)]
struct CountyRow {
    code: String,
    name_zh: String,
    name_pinyin: String,
    kind: String,
    seat_lon: f64,
    seat_lat: f64,
    area_km2: f64,
    population_2020: Option<u64>,
    population_estimated: Option<u8>,
}

#[derive(Deserialize)]
struct TownshipRow {
    code9: String,
    name_zh: String,
    county_code: String,
    kind: String,
    lon: f64,
    lat: f64,
    coord_method: String,
    population: Option<u64>,
}

#[derive(Deserialize)]
struct HotspotRow {
    name_zh: String,
    category: String,
    county_code: String,
    lon: f64,
    lat: f64,
}

fn read_csv<T: for<'de> Deserialize<'de>>(
    file: &str,
    text: &str,
) -> Result<Vec<T>, ReferenceError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .deserialize()
        .map(|row| {
            row.map_err(|e| ReferenceError::Csv {
                file: file.to_owned(),
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })
        })
        .collect()
}

fn json_err(file: &str, message: impl Into<String>) -> ReferenceError {
    ReferenceError::Json {
        file: file.to_owned(),
        message: message.into(),
    }
}

impl ReferenceData {
    /// The data compiled into the binary from `data/ganzhou/`.
    pub fn embedded() -> Result<Self, ReferenceError> {
        Self::parse(
            COUNTIES_CSV,
            TOWNSHIPS_CSV,
            HOTSPOTS_CSV,
            COUNTIES_GEOJSON,
            ZHANGJIANG_GEOJSON,
        )
    }

    /// Reads the same five files from a directory (to run on another city's or a newer copy).
    pub fn load_dir(dir: &Path) -> Result<Self, ReferenceError> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|source| ReferenceError::Io {
                file: dir.join(name).display().to_string(),
                source,
            })
        };
        Self::parse(
            &read("counties.csv")?,
            &read("townships.csv")?,
            &read("hotspots.csv")?,
            &read("ganzhou_counties.geojson")?,
            &read("zhangjiang_new_district.geojson")?,
        )
    }

    fn parse(
        counties_csv: &str,
        townships_csv: &str,
        hotspots_csv: &str,
        counties_geojson: &str,
        zhangjiang_geojson: &str,
    ) -> Result<Self, ReferenceError> {
        let counties = read_csv::<CountyRow>("counties.csv", counties_csv)?
            .into_iter()
            .map(|r| County {
                code: r.code,
                name_zh: r.name_zh,
                name_pinyin: r.name_pinyin,
                kind: r.kind,
                seat: LatLng::new(r.seat_lat, r.seat_lon),
                area_km2: r.area_km2,
                population: r.population_2020,
                population_estimated: r.population_estimated == Some(1),
            })
            .collect::<Vec<_>>();
        let townships = read_csv::<TownshipRow>("townships.csv", townships_csv)?
            .into_iter()
            .map(|r| Township {
                code: r.code9,
                name_zh: r.name_zh,
                county_code: r.county_code,
                kind: r.kind,
                centre: LatLng::new(r.lat, r.lon),
                centre_method: r.coord_method,
                population: r.population,
            })
            .collect::<Vec<_>>();
        let hotspots = read_csv::<HotspotRow>("hotspots.csv", hotspots_csv)?
            .into_iter()
            .map(|r| Hotspot {
                name_zh: r.name_zh,
                category: r.category,
                county_code: r.county_code,
                location: LatLng::new(r.lat, r.lon),
            })
            .collect::<Vec<_>>();

        let file = "ganzhou_counties.geojson";
        let doc: Value =
            serde_json::from_str(counties_geojson).map_err(|e| json_err(file, e.to_string()))?;
        let mut county_boundaries = HashMap::new();
        for feature in doc["features"]
            .as_array()
            .ok_or_else(|| json_err(file, "no features"))?
        {
            let code = feature["properties"]["code"]
                .as_str()
                .ok_or_else(|| json_err(file, "feature without properties.code"))?;
            let poly = MultiPolygon::from_geojson(&feature["geometry"])
                .ok_or_else(|| json_err(file, format!("county {code}: bad geometry")))?;
            county_boundaries.insert(code.to_owned(), poly);
        }
        for c in &counties {
            if !county_boundaries.contains_key(&c.code) {
                return Err(json_err(file, format!("no boundary for county {}", c.code)));
            }
        }

        let file = "zhangjiang_new_district.geojson";
        let doc: Value =
            serde_json::from_str(zhangjiang_geojson).map_err(|e| json_err(file, e.to_string()))?;
        let feature = &doc["features"][0];
        let props = &feature["properties"];
        let zhangjiang = CircleArea {
            name_zh: props["name_zh"].as_str().unwrap_or("章江新区").to_owned(),
            centre: LatLng::new(
                props["centre_lat"]
                    .as_f64()
                    .ok_or_else(|| json_err(file, "centre_lat"))?,
                props["centre_lon"]
                    .as_f64()
                    .ok_or_else(|| json_err(file, "centre_lon"))?,
            ),
            radius_m: props["radius_m"]
                .as_f64()
                .ok_or_else(|| json_err(file, "radius_m"))?,
            boundary: MultiPolygon::from_geojson(&feature["geometry"])
                .ok_or_else(|| json_err(file, "bad geometry"))?,
        };

        Ok(Self {
            counties,
            county_boundaries,
            townships,
            hotspots,
            zhangjiang,
            counties_geojson: counties_geojson.to_owned(),
        })
    }

    /// The county with this code.
    /// The county named by its code, Chinese name or pinyin (any case).
    pub fn find_county(&self, text: &str) -> Option<&County> {
        self.counties.iter().find(|c| {
            c.code == text || c.name_zh == text || c.name_pinyin.eq_ignore_ascii_case(text)
        })
    }

    /// The list of counties for a message: `360702 章贡区, …`.
    pub fn county_list(&self) -> String {
        self.counties
            .iter()
            .map(|c| format!("{} {}", c.code, c.name_zh))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn county(&self, code: &str) -> Option<&County> {
        self.counties.iter().find(|c| c.code == code)
    }

    /// Total population of the counties (census total where every county is known).
    pub fn population(&self) -> u64 {
        self.counties.iter().filter_map(|c| c.population).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_is_complete() {
        let data = ReferenceData::embedded().unwrap();
        assert_eq!(data.counties.len(), 18);
        assert_eq!(data.county_boundaries.len(), 18);
        assert_eq!(data.townships.len(), 294);
        assert_eq!(data.hotspots.len(), 21);
        assert_eq!(
            data.population(),
            8_970_014,
            "counties sum to the census total"
        );
        let area: f64 = data
            .county_boundaries
            .values()
            .map(MultiPolygon::area_km2)
            .sum();
        assert!((area - 39_436.0).abs() < 100.0, "polygon area {area}");
    }

    #[test]
    fn every_county_seat_lies_in_its_own_boundary() {
        let data = ReferenceData::embedded().unwrap();
        for c in &data.counties {
            assert!(
                data.county_boundaries[&c.code].contains(c.seat),
                "{}",
                c.name_zh
            );
            for (code, poly) in &data.county_boundaries {
                if code != &c.code {
                    assert!(!poly.contains(c.seat), "{} seat also in {code}", c.name_zh);
                }
            }
        }
    }
}
