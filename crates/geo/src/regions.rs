//! Region assignment: which county and township a point belongs to.
//!
//! Counties come from their real boundaries (point in polygon). No public township boundaries
//! exist for Ganzhou (see data/ganzhou/SOURCES.md), so a point's township is the nearest township
//! centre within its county: a Voronoi partition of the county by township points. The two
//! non-township units in the list (a development zone and a forest farm) are not township
//! candidates.

use evgrid_model::{distance_m, LatLng};

use crate::{MultiPolygon, ReferenceData};

/// How a township was assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TownshipMethod {
    /// Inside a township polygon (used when a deployment supplies township boundaries).
    Polygon,
    /// Nearest township centre within the county.
    NearestCentre,
}

/// Where a point lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub county_code: Option<String>,
    pub township_code: Option<String>,
    pub township_method: Option<TownshipMethod>,
    /// False for points outside every county of the city; such stations are kept but flagged.
    pub inside_city: bool,
}

#[derive(Debug, Clone)]
struct CountyArea {
    code: String,
    boundary: MultiPolygon,
    /// (township code, centre)
    townships: Vec<(String, LatLng)>,
}

/// The city's regions, ready for point lookups.
#[derive(Debug, Clone)]
pub struct RegionMap {
    counties: Vec<CountyArea>,
}

impl RegionMap {
    /// Builds the lookup from the reference data.
    pub fn new(data: &ReferenceData) -> Self {
        let counties = data
            .counties
            .iter()
            .map(|c| CountyArea {
                code: c.code.clone(),
                boundary: data.county_boundaries[&c.code].clone(),
                townships: data
                    .townships
                    .iter()
                    .filter(|t| t.county_code == c.code && is_township_kind(&t.kind))
                    .map(|t| (t.code.clone(), t.centre))
                    .collect(),
            })
            .collect();
        Self { counties }
    }

    /// The county and township of a WGS-84 point.
    pub fn locate(&self, p: LatLng) -> Placement {
        let Some(county) = self.counties.iter().find(|c| c.boundary.contains(p)) else {
            return Placement {
                county_code: None,
                township_code: None,
                township_method: None,
                inside_city: false,
            };
        };
        let township = county
            .townships
            .iter()
            .map(|(code, centre)| (code, distance_m(p, *centre)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(code, _)| code.clone());
        Placement {
            county_code: Some(county.code.clone()),
            township_method: township.as_ref().map(|_| TownshipMethod::NearestCentre),
            township_code: township,
            inside_city: true,
        }
    }

    /// Whether the point is inside the city.
    pub fn contains(&self, p: LatLng) -> bool {
        self.counties.iter().any(|c| c.boundary.contains(p))
    }

    /// The city's bounding box: min lng, min lat, max lng, max lat.
    pub fn bbox(&self) -> [f64; 4] {
        crate::polygon::bbox_of(self.counties.iter().map(|c| &c.boundary))
    }
}

/// Township-level units proper: 街道, 镇, 乡 (the list also has a development zone and a forest
/// farm, which are not townships).
pub fn is_township_kind(kind: &str) -> bool {
    matches!(kind, "街道" | "镇" | "乡")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_boundaries_place_known_points() {
        let data = ReferenceData::embedded().unwrap();
        let map = RegionMap::new(&data);
        // The municipal government in Zhangjiang New District lies in Zhanggong district.
        let p = map.locate(LatLng::new(25.8306, 114.9328));
        assert_eq!(p.county_code.as_deref(), Some("360702"));
        assert!(p.inside_city);
        assert!(p.township_code.unwrap().starts_with("360702"));
        // Every county seat is placed in its own county, and its township is the seat town
        // where the reference data names one.
        for c in &data.counties {
            let placed = map.locate(c.seat);
            assert_eq!(
                placed.county_code.as_deref(),
                Some(c.code.as_str()),
                "{}",
                c.name_zh
            );
        }
        for t in data.townships.iter().filter(|t| is_township_kind(&t.kind)) {
            assert_eq!(
                map.locate(t.centre).township_code.as_deref(),
                Some(t.code.as_str()),
                "{}",
                t.name_zh
            );
        }
        // Nanchang and Guangzhou are outside the city.
        assert!(!map.locate(LatLng::new(28.68, 115.86)).inside_city);
        assert!(!map.locate(LatLng::new(23.13, 113.26)).inside_city);
    }
}
