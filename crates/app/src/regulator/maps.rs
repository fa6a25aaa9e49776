//! The regulator's maps: the distance from every cell of the city (or a county) to the nearest
//! public station, computed once here for the dashboard's heat map overlay and for the maps of
//! `evgrid coverage`, `evgrid plan` and the monthly report (PNG, SVG or PDF, in Chinese or
//! English).

use evgrid_geo::coverage::CoverageReport;
use evgrid_geo::field::{NearestField, Raster};
use evgrid_geo::MultiPolygon;
use evgrid_model::LatLng;
use evgrid_report::map::{
    coverage_map, distance_colour, label_point, shade, CoverageMap, Lang, Projection,
};
use evgrid_report::Canvas;

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
    pub lang: Lang,
    /// Title after the place's name.
    pub title: &'a str,
    /// The day the data is of (`YYYY-MM-DD`), printed under the title.
    pub as_of: &'a str,
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
        let (cols, rows) = (cols.min(8000.0), rows.min(8000.0));
        let mut canvas = Canvas::transparent(cols, rows);
        let projection = Projection {
            bbox: extent,
            x: 0.0,
            y: 0.0,
            width: cols,
            height: rows,
        };
        shade(&mut canvas, &projection, raster, &map.distances, |d| {
            let mut c = distance_colour(d);
            c[3] = 230;
            Some(c)
        });
        let png = canvas.to_png(1.0).map_err(|e| MapError(e.to_string()))?;
        Ok((png, extent))
    }

    /// The coverage map of the city or one county: shading by distance to the nearest of the
    /// stations and proposed sites, county names, title, date, legend, scale bar and north
    /// arrow, with the figures beneath; write it as PNG, SVG or PDF.
    pub fn coverage_map(&self, m: &MapRequest<'_>) -> Canvas {
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
        let county = m.county.and_then(|code| data.county(code));
        let place = match (county, m.lang) {
            (Some(c), Lang::Zh) => format!("赣州市{}", c.name_zh),
            (Some(c), Lang::En) => format!("{}, Ganzhou", c.name_pinyin),
            (None, lang) => lang.pick("赣州市", "Ganzhou").to_owned(),
        };
        let labels = data
            .counties
            .iter()
            .filter(|c| m.county.is_none_or(|k| k == c.code))
            .map(|c| {
                let at = data
                    .county_boundaries
                    .get(&c.code)
                    .and_then(label_point)
                    .unwrap_or(c.seat);
                let name = match m.lang {
                    Lang::Zh => c.name_zh.clone(),
                    Lang::En => c.name_pinyin.clone(),
                };
                (at, name)
            })
            .collect();
        let subtitle = match m.lang {
            Lang::Zh => format!("数据截至 {}　·　evgrid 充电基础设施信息服务平台", m.as_of),
            Lang::En => format!(
                "Data as of {} · evgrid charging infrastructure platform",
                m.as_of
            ),
        };
        coverage_map(&CoverageMap {
            lang: m.lang,
            title: format!("{place} {}", m.title),
            subtitle,
            counties: map.areas,
            labels,
            raster: &map.raster,
            distances: &map.distances,
            stations: &inside,
            uncovered_townships: m.uncovered_townships,
            proposed: m.proposed,
            figures: m.figures.clone(),
            width: m.width,
        })
    }

    /// The figures printed under a coverage map: service radius both ways, the share of people
    /// within `radius_km`, townships and hot spots covered, stations.
    pub fn coverage_figures(report: &CoverageReport, radius_km: f64, lang: Lang) -> Vec<String> {
        let t = &report.total;
        let within = t
            .population_within_km
            .iter()
            .find(|(k, _)| (*k - radius_km).abs() < 1e-9)
            .map_or(0.0, |(_, s)| *s);
        let hotspots = report.hotspots.iter().filter(|h| h.covered).count();
        match lang {
            Lang::Zh => vec![
                format!(
                    "规划服务半径 {:.2} 公里　平均实际距离 {:.2} 公里　{radius_km} 公里内人口 {:.1}%",
                    t.planning_radius_km,
                    t.mean_distance_m / 1000.0,
                    within * 100.0
                ),
                format!(
                    "有公共充电站的乡镇 {} / {}　热点覆盖 {} / {}　公共充电站 {} 座　人口网格 {} 米",
                    t.townships_covered,
                    t.townships_total,
                    hotspots,
                    report.hotspots.len(),
                    t.public_stations,
                    report.grid_m
                ),
            ],
            Lang::En => vec![
                format!(
                    "Planning radius {:.2} km   mean distance {:.2} km   people within {radius_km} km: {:.1}%",
                    t.planning_radius_km,
                    t.mean_distance_m / 1000.0,
                    within * 100.0
                ),
                format!(
                    "Townships covered {} / {}   hot spots {} / {}   public stations {}   population grid {} m",
                    t.townships_covered,
                    t.townships_total,
                    hotspots,
                    report.hotspots.len(),
                    t.public_stations,
                    report.grid_m
                ),
            ],
        }
    }
}

/// The figures printed under a siting plan's map: piles and sites, people within the radius,
/// townships covered and the planning radius before and after.
pub fn plan_figures(plan: &super::plan::PlanResult, lang: Lang) -> Vec<String> {
    let (b, a) = (&plan.before, &plan.after);
    let r = plan.request.radius_km;
    match lang {
        Lang::Zh => vec![
            format!(
                "新增充电桩 {} 个，{} 个站点　{r} 公里内人口：规划前 {:.1}%，规划后 {:.1}%",
                plan.request.new_piles,
                plan.sites.len(),
                b.share_within_radius * 100.0,
                a.share_within_radius * 100.0
            ),
            format!(
                "有公共充电站的乡镇：规划前 {} / {}，规划后 {} / {}　规划服务半径：{:.2} → {:.2} 公里",
                b.townships_covered,
                b.townships_total,
                a.townships_covered,
                a.townships_total,
                b.planning_radius_km,
                a.planning_radius_km
            ),
            format!("底色：规划后到最近充电站的距离　人口网格 {} 米", plan.request.grid_m),
        ],
        Lang::En => vec![
            format!(
                "{} new piles at {} sites   people within {r} km: {:.1}% before, {:.1}% after",
                plan.request.new_piles,
                plan.sites.len(),
                b.share_within_radius * 100.0,
                a.share_within_radius * 100.0
            ),
            format!(
                "Townships covered {} / {} before, {} / {} after   planning radius {:.2} → {:.2} km",
                b.townships_covered,
                b.townships_total,
                a.townships_covered,
                a.townships_total,
                b.planning_radius_km,
                a.planning_radius_km
            ),
            format!(
                "Shading: distance after the plan   population grid {} m",
                plan.request.grid_m
            ),
        ],
    }
}
