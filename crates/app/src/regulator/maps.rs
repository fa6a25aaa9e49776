//! The regulator's maps: the distance from every cell of the city (or a county) to the nearest
//! public station, computed once here for the dashboard's heat map overlay and for the PNG
//! maps of `evgrid coverage` and `evgrid plan`.

use evgrid_geo::field::{NearestField, Raster};
use evgrid_geo::MultiPolygon;
use evgrid_model::LatLng;
use evgrid_report::map::{coverage_map, distance_colour, CoverageMap, MapImage};

use super::Regulator;

/// What a drawing could not do.
#[derive(Debug, thiserror::Error)]
#[error("drawing the map: {0}")]
pub struct MapError(String);

/// Distances on a raster of an area.
#[derive(Debug)]
pub struct DistanceMap<'a> {
    /// The county boundaries the raster covers.
    pub areas: Vec<&'a MultiPolygon>,
    pub raster: Raster,
    /// Metres from each cell (row by row) to the nearest site.
    pub distances: Vec<f32>,
}

/// What a coverage map shows.
#[derive(Debug)]
pub struct MapRequest<'a> {
    /// One county's code, or the whole city.
    pub county: Option<&'a str>,
    pub grid_m: f64,
    pub width: u32,
    /// Title after the place's name.
    pub title: &'a str,
    /// Stations the shading measures distances to (drawn when inside the area).
    pub stations: &'a [LatLng],
    /// Proposed sites and piles (also counted in the shading).
    pub proposed: &'a [(LatLng, u32)],
    pub uncovered_townships: &'a [LatLng],
    pub figures: Vec<String>,
}

impl Regulator {
    /// The distance from every cell of `cell_m` metres of the city (or `county`) to the nearest
    /// of `sites`. CPU-bound: call it off the async threads.
    pub fn distance_map(
        &self,
        county: Option<&str>,
        cell_m: f64,
        sites: &[LatLng],
    ) -> DistanceMap<'_> {
        let data = self.reference();
        let areas: Vec<&MultiPolygon> = data
            .counties
            .iter()
            .filter(|c| county.is_none_or(|k| k == c.code))
            .filter_map(|c| data.county_boundaries.get(&c.code))
            .collect();
        let raster = Raster::cover(&areas, cell_m);
        let distances = raster.distances(&NearestField::new(sites), 2, &|_| {});
        DistanceMap {
            areas,
            raster,
            distances,
        }
    }

    /// The public stations' locations.
    pub fn public_locations(&self) -> Vec<LatLng> {
        let (_, places) = self.network.public_places();
        places.iter().map(|p| p.location).collect()
    }

    /// The heat map overlay: the city's distance to the nearest public station on cells of
    /// `grid_m`, shaded by distance class, transparent outside the city; with the image's
    /// corners (min lng, min lat, max lng, max lat).
    pub fn heatmap_png(&self, grid_m: f64) -> Result<(Vec<u8>, [f64; 4]), MapError> {
        let map = self.distance_map(None, grid_m, &self.public_locations());
        let bbox = evgrid_geo::population::city_bbox(self.reference());
        let raster = &map.raster;
        let cols = ((bbox[2] - bbox[0]) / raster.dlng).ceil().max(1.0);
        let rows = raster.rows.len().max(1) as f64;
        let extent = [
            raster.lng0,
            raster.lat0,
            raster.lng0 + cols * raster.dlng,
            raster.lat0 + rows * raster.dlat,
        ];
        let mut img = MapImage::transparent(extent, cols as u32, rows as u32);
        img.shade(raster, &map.distances, |d| {
            let mut c = distance_colour(d);
            c[3] = 230;
            Some(c)
        });
        let png = img.to_png().map_err(|e| MapError(e.to_string()))?;
        Ok((png, extent))
    }

    /// The coverage map of the city or one county as a PNG: shading by distance to the nearest
    /// of the stations and proposed sites, with the figures beneath.
    pub fn coverage_map_png(&self, m: &MapRequest<'_>) -> Result<Vec<u8>, MapError> {
        let data = self.reference();
        let mut points: Vec<LatLng> = m.stations.to_vec();
        points.extend(m.proposed.iter().map(|(p, _)| *p));
        // Shading at the grid's cell, but no finer than the map's pixels.
        let cell = m.grid_m.max(if m.county.is_some() { 100.0 } else { 200.0 });
        let map = self.distance_map(m.county, cell, &points);
        let inside: Vec<LatLng> = m
            .stations
            .iter()
            .copied()
            .filter(|p| map.areas.iter().any(|a| a.contains(*p)))
            .collect();
        let place = match m.county {
            Some(code) => data
                .county(code)
                .map_or(code, |c| c.name_pinyin.as_str())
                .to_uppercase(),
            None => "GANZHOU".to_owned(),
        };
        let title = format!("{place} - {}", m.title);
        coverage_map(&CoverageMap {
            title: &title,
            counties: map.areas,
            raster: &map.raster,
            distances: &map.distances,
            stations: &inside,
            uncovered_townships: m.uncovered_townships,
            proposed: m.proposed,
            figures: m.figures.clone(),
            width: m.width,
        })
        .map_err(|e| MapError(e.to_string()))
    }
}
