//! The city's siting plan: where the next piles add the most coverage.
//!
//! Demand is the population grid (each populated cell, weighted by its residents). Candidates
//! are township centres, hot spots, the population-weighted centre of each populated block of
//! [`BLOCK_M`] and the existing public stations (which can grow). The public stations already
//! there count as coverage. The MCLP picks the sites ([`evgrid_siting::solve`]); each site then
//! gets piles in proportion to the people it serves (those within the radius whose nearest new
//! site it is), at least one and at most the per-site cap. The figures before and after are the
//! regulator's own ([`evgrid_geo::coverage::measure`]) with the new sites counted as public
//! stations.
//!
//! The solver works in planar km: longitude and latitude are scaled at the city's middle
//! latitude (east–west distances are off by up to ±1.5% at the city's north and south ends;
//! the before/after figures use true distances).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use evgrid_geo::coverage::{
    measure, CoverageOptions, CoveragePlace, CoverageReport, RegionCoverage,
};
use evgrid_geo::field::M_PER_DEG;
use evgrid_model::LatLng;
use evgrid_report::{Cell, Kind, Table};
use evgrid_siting::{DemandPoint, Instance, Options, Point, PointGrid, Problem, Progress};
use serde::{Deserialize, Serialize};

use evgrid_store::{PlanLimits, PlanRecord, PlanState};

use super::Regulator;

/// Candidate blocks: one candidate per populated block of this size.
pub const BLOCK_M: f64 = 2000.0;

/// What to plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanRequest {
    /// New piles to place.
    #[serde(deserialize_with = "evgrid_model::whole::whole")]
    pub new_piles: u32,
    /// Service radius, km: a person is covered within it of a public station.
    pub radius_km: f64,
    /// One county (code, Chinese name or pinyin); the whole city when absent.
    pub region: Option<String>,
    /// Number of new sites; default one per 10 piles.
    #[serde(deserialize_with = "evgrid_model::whole::optional_whole")]
    pub sites: Option<u32>,
    /// Most piles at one site.
    #[serde(deserialize_with = "evgrid_model::whole::whole")]
    pub max_piles_per_site: u32,
    /// Population grid cell, metres (the demand points).
    pub grid_m: f64,
    /// Seed of the search.
    #[serde(deserialize_with = "evgrid_model::whole::whole")]
    pub seed: u64,
    /// Time limit of the search, seconds.
    pub time_limit_s: f64,
}

impl Default for PlanRequest {
    fn default() -> Self {
        PlanRequest {
            new_piles: 5000,
            radius_km: 3.0,
            region: None,
            sites: None,
            max_piles_per_site: 40,
            grid_m: 500.0,
            seed: 1,
            time_limit_s: 60.0,
        }
    }
}

/// Most new piles in one plan.
pub const MAX_NEW_PILES: u32 = 200_000;
/// Most piles at one site a plan may ask for.
pub const MAX_PILES_PER_SITE: u32 = 10_000;
/// Most new sites in one plan.
pub const MAX_SITES: u32 = 5_000;

/// Piles per new site when the number of sites is not given.
pub const DEFAULT_PILES_PER_SITE: u32 = 10;

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
    /// As many plans as are kept waiting are queued or running.
    #[error("{0} plans already queued or running: try again when one has finished")]
    Busy(u32),
    /// The plan could not be recorded.
    #[error("the plan could not be recorded: {0}")]
    Storage(#[from] evgrid_store::StoreError),
}

/// Where a candidate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    /// A township's centre.
    Township,
    /// A hot spot (county seat, station, airport…).
    Hotspot,
    /// The population-weighted centre of a populated block.
    Block,
    /// An existing public station that can grow.
    Station,
}

impl CandidateKind {
    /// Label for tables (Chinese / English).
    pub fn label(self) -> &'static str {
        match self {
            CandidateKind::Township => "乡镇中心 township centre",
            CandidateKind::Hotspot => "热点 hot spot",
            CandidateKind::Block => "人口网格 populated block",
            CandidateKind::Station => "现有站扩建 existing station",
        }
    }
}

/// One proposed site.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedSite {
    /// 1 = serves the most people.
    pub rank: u32,
    pub kind: CandidateKind,
    /// Township, hot spot or station name; for a block, its township's.
    pub name: String,
    pub county_code: Option<String>,
    pub county_name: Option<String>,
    pub township_name: Option<String>,
    pub location: LatLng,
    /// Piles proposed here.
    pub piles: u32,
    /// People within the radius who had no public station within it before and whose
    /// nearest new site this is.
    pub newly_covered: f64,
    /// People within the radius whose nearest new site this is.
    pub served: f64,
}

/// The regulator's figures for one side of the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanFigures {
    pub public_stations: usize,
    /// sqrt(A / (π · N)), km.
    pub planning_radius_km: f64,
    pub population: f64,
    /// People within the radius of a public station.
    pub population_within_radius: f64,
    pub share_within_radius: f64,
    pub townships_covered: usize,
    pub townships_total: usize,
    pub hotspots_covered: usize,
    pub mean_distance_m: f64,
}

/// A county's before and after.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CountyPlan {
    pub code: String,
    pub name_zh: String,
    pub new_sites: usize,
    pub new_piles: u32,
    pub before: PlanFigures,
    pub after: PlanFigures,
}

/// A finished plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanResult {
    pub request: PlanRequest,
    /// County code the plan is for, when one.
    pub county_code: Option<String>,
    pub sites: Vec<PlannedSite>,
    pub before: PlanFigures,
    pub after: PlanFigures,
    pub counties: Vec<CountyPlan>,
    /// People newly within the radius.
    pub newly_covered: f64,
    /// The solver's covered people (planar) and its upper bound: no choice of as many sites
    /// among these candidates covers more.
    pub objective: f64,
    pub upper_bound: f64,
    pub gap_pct: f64,
    pub demand_points: usize,
    pub candidates: usize,
    pub solver_seconds: f64,
    pub seconds: f64,
    pub method: String,
    /// How the request was adjusted to run (e.g. the per-site cap raised to fit the piles).
    pub notes: Vec<String>,
    /// Townships without a public station before that get one of the new sites.
    pub townships_newly_covered: Vec<TownshipRef>,
    /// Centres of the townships still without a public station after the plan.
    pub uncovered_after: Vec<LatLng>,
}

/// A township, named.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TownshipRef {
    pub code: String,
    pub name_zh: String,
    pub county_name_zh: String,
}

struct Candidate {
    kind: CandidateKind,
    name: String,
    location: LatLng,
}

/// Planar km around a reference latitude.
struct Projection {
    lat0: f64,
    lng0: f64,
    kx: f64,
    ky: f64,
}

impl Projection {
    fn new(bbox: [f64; 4]) -> Self {
        let (lat0, lng0) = ((bbox[1] + bbox[3]) / 2.0, (bbox[0] + bbox[2]) / 2.0);
        Projection {
            lat0,
            lng0,
            kx: M_PER_DEG * lat0.to_radians().cos() / 1000.0,
            ky: M_PER_DEG / 1000.0,
        }
    }

    fn point(&self, p: LatLng) -> Point {
        Point {
            x: (p.lng - self.lng0) * self.kx,
            y: (p.lat - self.lat0) * self.ky,
        }
    }
}

/// Splits `total` piles over sites in proportion to `weights`, each between 1 and `cap`
/// (largest remainders; the cap's excess goes to the others).
pub fn split_piles(total: u32, weights: &[f64], cap: u32) -> Vec<u32> {
    let n = weights.len();
    let mut piles = vec![0u32; n];
    if n == 0 {
        return piles;
    }
    let mut open: Vec<usize> = (0..n).collect();
    let mut left = total;
    // Everyone gets one first.
    for p in piles.iter_mut() {
        if left > 0 && cap > 0 {
            *p = 1;
            left -= 1;
        }
    }
    while left > 0 {
        open.retain(|&i| piles[i] < cap);
        if open.is_empty() {
            break;
        }
        let sum: f64 = open.iter().map(|&i| weights[i].max(0.0)).sum();
        let share = |i: usize| {
            if sum > 0.0 {
                weights[i].max(0.0) / sum
            } else {
                1.0 / open.len() as f64
            }
        };
        let mut given = 0;
        let mut remainders = Vec::with_capacity(open.len());
        for &i in &open {
            let exact = f64::from(left) * share(i);
            let whole = (exact.floor() as u32).min(cap - piles[i]);
            piles[i] += whole;
            given += whole;
            remainders.push((exact - exact.floor(), i));
        }
        if given == 0 {
            remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in remainders.iter().take((left - given) as usize) {
                if piles[i] < cap {
                    piles[i] += 1;
                    given += 1;
                }
            }
            if given == 0 {
                break;
            }
        }
        left -= given;
    }
    piles
}

fn figures(region: &RegionCoverage, hotspots_covered: usize) -> PlanFigures {
    let share = region.population_within_km.first().map_or(0.0, |&(_, s)| s);
    PlanFigures {
        public_stations: region.public_stations,
        planning_radius_km: region.planning_radius_km,
        population: region.population,
        population_within_radius: share * region.population,
        share_within_radius: share,
        townships_covered: region.townships_covered,
        townships_total: region.townships_total,
        hotspots_covered,
        mean_distance_m: region.mean_distance_m,
    }
}

fn hotspots_covered(report: &CoverageReport, county: Option<&str>) -> usize {
    report
        .hotspots
        .iter()
        .filter(|h| h.covered && county.is_none_or(|c| h.county_code == c))
        .count()
}

impl Regulator {
    /// Checks a request: every parameter in range, the region a county of the city, enough
    /// room for the piles. Returns the county code and the number of sites.
    pub fn check_plan(&self, request: &PlanRequest) -> Result<(Option<String>, u32), PlanError> {
        let data = self.reference();
        if request.new_piles == 0 || request.new_piles > MAX_NEW_PILES {
            return Err(PlanError::Invalid(format!(
                "new_piles must be between 1 and {MAX_NEW_PILES}"
            )));
        }
        if !(request.radius_km > 0.0 && request.radius_km <= 50.0) {
            return Err(PlanError::Invalid(
                "radius_km must be more than 0 and at most 50".into(),
            ));
        }
        if !crate::regulator::coverage::GRID_M_RANGE.contains(&request.grid_m) {
            return Err(PlanError::Invalid(
                "grid_m must be between 100 and 5000 metres".into(),
            ));
        }
        if request.max_piles_per_site == 0 || request.max_piles_per_site > MAX_PILES_PER_SITE {
            return Err(PlanError::Invalid(
                "max_piles_per_site must be between 1 and 10000".into(),
            ));
        }
        if !(request.time_limit_s > 0.0 && request.time_limit_s <= 3600.0) {
            return Err(PlanError::Invalid(
                "time_limit_s must be more than 0 and at most 3600".into(),
            ));
        }
        let county = match &request.region {
            None => None,
            Some(r) => Some(data.find_county(r).map(|c| c.code.clone()).ok_or_else(|| {
                PlanError::Invalid(format!(
                    "region {r:?} is not a county of the city (codes: {})",
                    data.county_list()
                ))
            })?),
        };
        if request.sites == Some(0) {
            return Err(PlanError::Invalid("sites must be at least 1".into()));
        }
        let site_count = request.sites.unwrap_or(
            request
                .new_piles
                .div_ceil(DEFAULT_PILES_PER_SITE)
                .min(MAX_SITES),
        );
        if site_count > MAX_SITES {
            return Err(PlanError::Invalid(format!(
                "at most {MAX_SITES} new sites in one plan"
            )));
        }
        Ok((county, site_count))
    }

    /// The request as it will run: no more sites than candidates, more sites than piles become
    /// one pile per site, and a cap too small for the piles at the sites is raised. Says what
    /// changed.
    pub fn adjust_plan(
        request: &PlanRequest,
        site_count: u32,
        candidates: usize,
    ) -> (u32, u32, Vec<String>) {
        let mut notes = Vec::new();
        let mut sites = site_count;
        let candidates = u32::try_from(candidates).unwrap_or(u32::MAX);
        if sites > candidates {
            notes.push(format!(
                "{sites} sites but only {candidates} candidate places: {candidates} sites"
            ));
            sites = candidates;
        }
        if sites > request.new_piles {
            notes.push(format!(
                "{sites} sites for {} piles: one pile per site, {} sites",
                request.new_piles, request.new_piles
            ));
            sites = request.new_piles;
        }
        let mut cap = request.max_piles_per_site;
        if u64::from(sites) * u64::from(cap) < u64::from(request.new_piles) {
            cap = request.new_piles.div_ceil(sites);
            notes.push(format!(
                "{sites} sites of at most {} piles hold fewer than {} piles: the cap per site is raised to {cap}",
                request.max_piles_per_site, request.new_piles
            ));
        }
        (sites, cap, notes)
    }

    /// Makes a plan (CPU-bound, seconds: call it off the async threads).
    pub fn plan(
        &self,
        request: &PlanRequest,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<PlanResult, PlanError> {
        let started = std::time::Instant::now();
        let data = self.reference();
        let (county, site_count) = self.check_plan(request)?;
        let in_scope = |code: Option<&str>| county.as_deref().is_none_or(|c| code == Some(c));
        let grid = self.population_grid(request.grid_m);
        let projection = Projection::new(evgrid_geo::population::city_bbox(data));
        let township_county = |t: usize| data.townships.get(t).map(|t| t.county_code.as_str());

        let cells: Vec<&evgrid_geo::population::Cell> = grid
            .cells
            .iter()
            .filter(|c| c.population > 0.0 && in_scope(township_county(c.township)))
            .collect();
        let demand: Vec<DemandPoint> = cells
            .iter()
            .map(|c| DemandPoint {
                at: projection.point(c.centre),
                weight: c.population,
            })
            .collect();

        let (_, public) = self.network.public_places();
        let regions = self.network.regions();
        let mut candidates: Vec<Candidate> = Vec::new();
        for t in data
            .townships
            .iter()
            .filter(|t| in_scope(Some(&t.county_code)))
        {
            candidates.push(Candidate {
                kind: CandidateKind::Township,
                name: t.name_zh.clone(),
                location: t.centre,
            });
        }
        for h in data
            .hotspots
            .iter()
            .filter(|h| in_scope(Some(&h.county_code)))
        {
            candidates.push(Candidate {
                kind: CandidateKind::Hotspot,
                name: h.name_zh.clone(),
                location: h.location,
            });
        }
        let mut blocks: HashMap<(i64, i64), (f64, f64, f64)> = HashMap::new();
        let block_km = BLOCK_M / 1000.0;
        for (cell, d) in cells.iter().zip(&demand) {
            let key = (
                (d.at.x / block_km).floor() as i64,
                (d.at.y / block_km).floor() as i64,
            );
            let b = blocks.entry(key).or_insert((0.0, 0.0, 0.0));
            b.0 += cell.population;
            b.1 += cell.population * cell.centre.lat;
            b.2 += cell.population * cell.centre.lng;
        }
        let mut block_list: Vec<_> = blocks.into_iter().collect();
        block_list.sort_by_key(|(k, _)| *k);
        for (_, (people, lat, lng)) in block_list {
            // Named after the township it lies in, once placed.
            candidates.push(Candidate {
                kind: CandidateKind::Block,
                name: String::new(),
                location: LatLng {
                    lat: lat / people,
                    lng: lng / people,
                },
            });
        }
        for p in &public {
            if county.is_none() || in_scope(regions.locate(p.location).county_code.as_deref()) {
                candidates.push(Candidate {
                    kind: CandidateKind::Station,
                    name: p.name.clone(),
                    location: p.location,
                });
            }
        }
        let (site_count, max_piles_per_site, notes) =
            Self::adjust_plan(request, site_count, candidates.len());
        if site_count == 0 {
            return Err(PlanError::Invalid("no candidate places in the area".into()));
        }
        let problem = Problem {
            instance: Instance {
                demand,
                sites: candidates
                    .iter()
                    .map(|c| projection.point(c.location))
                    .collect(),
                site_ids: (0..candidates.len() as i64).collect(),
            },
            p: site_count as usize,
            radius_km: request.radius_km,
            existing: public
                .iter()
                .map(|p| projection.point(p.location))
                .collect(),
        };
        let options = Options {
            seed: request.seed,
            time_limit: Duration::from_secs_f64(request.time_limit_s),
            ..Options::default()
        };
        let solution = evgrid_siting::solve(&problem, &options, progress);

        // People served by each chosen site (nearest chosen within the radius), and newly covered.
        let r2 = request.radius_km * request.radius_km;
        let chosen_points: Vec<Point> = solution
            .sites
            .iter()
            .map(|&j| problem.instance.sites[j])
            .collect();
        let chosen_grid = PointGrid::new(chosen_points.iter().copied(), request.radius_km);
        let existing_grid = PointGrid::new(problem.existing.iter().copied(), request.radius_km);
        let mut served = vec![0.0; chosen_points.len()];
        let mut newly = vec![0.0; chosen_points.len()];
        for d in &problem.instance.demand {
            let mut nearest: Option<(f64, usize)> = None;
            chosen_grid.near(d.at, |k| {
                let dist = d.at.distance2(chosen_points[k as usize]);
                if dist <= r2 && nearest.is_none_or(|(best, _)| dist < best) {
                    nearest = Some((dist, k as usize));
                }
            });
            if let Some((_, k)) = nearest {
                served[k] += d.weight;
                let mut covered_before = false;
                existing_grid.near(d.at, |e| {
                    covered_before |= d.at.distance2(problem.existing[e as usize]) <= r2
                });
                if !covered_before {
                    newly[k] += d.weight;
                }
            }
        }
        let piles = split_piles(request.new_piles, &served, max_piles_per_site);
        let mut sites: Vec<PlannedSite> = solution
            .sites
            .iter()
            .enumerate()
            .map(|(k, &j)| {
                let c = &candidates[j];
                let placement = regions.locate(c.location);
                let county = placement
                    .county_code
                    .as_deref()
                    .and_then(|code| data.county(code));
                let township = placement
                    .township_code
                    .as_deref()
                    .and_then(|code| data.townships.iter().find(|t| t.code == code));
                let township_name = township.map(|t| t.name_zh.clone());
                PlannedSite {
                    rank: 0,
                    kind: c.kind,
                    name: match c.kind {
                        CandidateKind::Block => {
                            format!("{}网格", township_name.as_deref().unwrap_or(""))
                        }
                        _ => c.name.clone(),
                    },
                    county_code: county.map(|c| c.code.clone()),
                    county_name: county.map(|c| c.name_zh.clone()),
                    township_name,
                    location: c.location,
                    piles: piles[k],
                    newly_covered: newly[k],
                    served: served[k],
                }
            })
            .collect();
        sites.sort_by(|a, b| {
            b.newly_covered
                .total_cmp(&a.newly_covered)
                .then(b.served.total_cmp(&a.served))
        });
        for (i, s) in sites.iter_mut().enumerate() {
            s.rank = i as u32 + 1;
        }

        // The regulator's figures with the new sites as public stations.
        let options = CoverageOptions {
            county: county.clone(),
            within_km: vec![request.radius_km],
            ..CoverageOptions::default()
        };
        let before = measure(data, regions, &grid, &public, &options);
        let mut after_places = public.clone();
        after_places.extend(sites.iter().map(|s| CoveragePlace {
            id: format!("plan-{}", s.rank),
            name: s.name.clone(),
            location: s.location,
        }));
        let after = measure(data, regions, &grid, &after_places, &options);
        let counties = before
            .counties
            .iter()
            .zip(&after.counties)
            .map(|(b, a)| {
                let code = b.code.clone().unwrap_or_default();
                let here = sites
                    .iter()
                    .filter(|s| s.county_code.as_deref() == Some(&code));
                CountyPlan {
                    name_zh: b.name_zh.clone(),
                    new_sites: here.clone().count(),
                    new_piles: here.map(|s| s.piles).sum(),
                    before: figures(b, hotspots_covered(&before, Some(&code))),
                    after: figures(a, hotspots_covered(&after, Some(&code))),
                    code,
                }
            })
            .collect();
        let townships_newly_covered = before
            .townships
            .iter()
            .zip(&after.townships)
            .filter(|(b, a)| !b.covered && a.covered)
            .map(|(_, a)| TownshipRef {
                code: a.code.clone(),
                name_zh: a.name_zh.clone(),
                county_name_zh: a.county_name_zh.clone(),
            })
            .collect();
        let uncovered_after = after
            .townships
            .iter()
            .filter(|t| !t.covered)
            .map(|t| t.centre)
            .collect();
        let before_figures = figures(&before.total, hotspots_covered(&before, county.as_deref()));
        let after_figures = figures(&after.total, hotspots_covered(&after, county.as_deref()));
        Ok(PlanResult {
            request: request.clone(),
            newly_covered: after_figures.population_within_radius - before_figures.population_within_radius,
            before: before_figures,
            after: after_figures,
            counties,
            objective: solution.objective,
            upper_bound: solution.upper_bound,
            gap_pct: solution.gap_pct,
            demand_points: problem.instance.demand.len(),
            candidates: candidates.len(),
            solver_seconds: solution.seconds,
            seconds: started.elapsed().as_secs_f64(),
            method: format!(
                "Maximal covering location: demand = {} populated cells of {} m; candidates = township centres, hot spots, \
                 the population-weighted centre of each populated {} km block and the existing public stations; existing \
                 public stations count as coverage; {} sites chosen by lazy greedy + local search with a Lagrangian upper \
                 bound (gap {:.3}%); piles split by the people each site serves (nearest new site within {} km), 1 to {} per site.",
                problem.instance.demand.len(),
                grid.cell_m,
                BLOCK_M / 1000.0,
                site_count,
                solution.gap_pct,
                request.radius_km,
                max_piles_per_site
            ),
            notes,
            county_code: county,
            sites,
            townships_newly_covered,
            uncovered_after,
        })
    }
}

/// The plan as tables: the summary before and after, the proposed sites (with places, for
/// GeoJSON), and the counties before and after.
pub fn plan_tables(plan: &PlanResult) -> Vec<Table> {
    let mut summary = Table::new(
        "plan summary",
        &[
            ("figure", "指标 Figure", Kind::Text),
            ("before", "规划前 Before", Kind::Number),
            ("after", "规划后 After", Kind::Number),
        ],
    );
    let (b, a) = (&plan.before, &plan.after);
    let r = plan.request.radius_km;
    let rows: [(String, f64, f64); 9] = [
        (
            "公共充电站 Public stations".into(),
            b.public_stations as f64,
            a.public_stations as f64,
        ),
        (
            "规划服务半径 Planning radius km".into(),
            b.planning_radius_km,
            a.planning_radius_km,
        ),
        (
            format!("{r} km 内人口 People within {r} km"),
            b.population_within_radius,
            a.population_within_radius,
        ),
        (
            format!("{r} km 内人口占比 Share within {r} km"),
            b.share_within_radius,
            a.share_within_radius,
        ),
        (
            "平均距离 Mean distance km".into(),
            b.mean_distance_m / 1000.0,
            a.mean_distance_m / 1000.0,
        ),
        (
            "覆盖乡镇 Townships covered".into(),
            b.townships_covered as f64,
            a.townships_covered as f64,
        ),
        (
            "乡镇总数 Townships".into(),
            b.townships_total as f64,
            a.townships_total as f64,
        ),
        (
            "覆盖热点 Hot spots covered".into(),
            b.hotspots_covered as f64,
            a.hotspots_covered as f64,
        ),
        (
            "新增充电桩 New piles".into(),
            0.0,
            f64::from(plan.request.new_piles),
        ),
    ];
    for (name, before, after) in rows {
        summary.push(vec![name.into(), before.into(), after.into()]);
    }
    let mut sites = Table::new(
        "proposed sites",
        &[
            ("rank", "序号 Rank", Kind::Integer),
            ("kind", "候选类型 Candidate", Kind::Text),
            ("name", "名称 Name", Kind::Text),
            ("county", "县区 County", Kind::Text),
            ("township", "乡镇 Township", Kind::Text),
            ("lat", "纬度 Latitude (WGS-84)", Kind::Number),
            ("lng", "经度 Longitude (WGS-84)", Kind::Number),
            ("piles", "新增桩数 Piles", Kind::Integer),
            (
                "newly_covered",
                "新覆盖人口 People newly covered",
                Kind::Integer,
            ),
            ("served", "服务人口 People served", Kind::Integer),
        ],
    );
    for s in &plan.sites {
        sites.push_place(
            vec![
                Cell::Integer(i64::from(s.rank)),
                s.kind.label().into(),
                s.name.clone().into(),
                s.county_name.clone().unwrap_or_default().into(),
                s.township_name.clone().unwrap_or_default().into(),
                s.location.lat.into(),
                s.location.lng.into(),
                Cell::Integer(i64::from(s.piles)),
                Cell::Integer(s.newly_covered.round() as i64),
                Cell::Integer(s.served.round() as i64),
            ],
            super::statistics::point(s.location.lat, s.location.lng),
        );
    }
    let mut counties = Table::new(
        "plan by county",
        &[
            ("code", "代码 Code", Kind::Text),
            ("county", "县区 County", Kind::Text),
            ("new_sites", "新站点 New sites", Kind::Integer),
            ("new_piles", "新增桩数 New piles", Kind::Integer),
            (
                "share_before",
                "覆盖人口占比(前) Share within, before",
                Kind::Share,
            ),
            (
                "share_after",
                "覆盖人口占比(后) Share within, after",
                Kind::Share,
            ),
            (
                "townships_before",
                "覆盖乡镇(前) Townships, before",
                Kind::Integer,
            ),
            (
                "townships_after",
                "覆盖乡镇(后) Townships, after",
                Kind::Integer,
            ),
            ("townships_total", "乡镇总数 Townships", Kind::Integer),
            (
                "radius_before",
                "规划半径(前) Radius km, before",
                Kind::Number,
            ),
            (
                "radius_after",
                "规划半径(后) Radius km, after",
                Kind::Number,
            ),
        ],
    );
    for c in &plan.counties {
        counties.push(vec![
            c.code.clone().into(),
            c.name_zh.clone().into(),
            c.new_sites.into(),
            Cell::Integer(i64::from(c.new_piles)),
            c.before.share_within_radius.into(),
            c.after.share_within_radius.into(),
            c.before.townships_covered.into(),
            c.after.townships_covered.into(),
            c.after.townships_total.into(),
            c.before.planning_radius_km.into(),
            c.after.planning_radius_km.into(),
        ]);
    }
    vec![summary, sites, counties]
}

/// The state of a plan run in the background.
#[derive(Debug, Clone, Serialize)]
pub struct PlanJob {
    pub id: u64,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// 0..1.
    pub progress: f64,
    /// The solver's phase.
    pub phase: String,
    /// Best covered people so far (solver's planar figure).
    pub objective: Option<f64>,
    pub error: Option<String>,
    pub result: Option<Arc<PlanResult>>,
    #[serde(skip)]
    pub owner: String,
}

impl PlanJob {
    /// The job as stored, read at `now`: a queued or running plan whose node stopped (no
    /// heartbeat for [`PLAN_STALE_SECONDS`]) is failed.
    fn of(record: PlanRecord, now: i64) -> Self {
        let state = record.state;
        let pending = state.status == "queued" || state.status == "running";
        let (status, error) = if pending && record.updated_at < now - PLAN_STALE_SECONDS {
            (
                "failed".to_owned(),
                Some(
                    "the node running the plan stopped before it finished: start it again"
                        .to_owned(),
                ),
            )
        } else {
            (state.status, state.error)
        };
        let (result, error) = match state
            .result
            .as_deref()
            .map(serde_json::from_str::<PlanResult>)
        {
            Some(Ok(result)) => (Some(Arc::new(result)), error),
            Some(Err(e)) => (
                None,
                Some(format!("the plan's stored result could not be read: {e}")),
            ),
            None => (None, error),
        };
        PlanJob {
            id: u64::try_from(record.id).unwrap_or(0),
            status,
            progress: state.progress,
            phase: state.phase,
            objective: state.objective,
            error,
            result,
            owner: record.owner,
        }
    }
}

/// Plans run in the background. Kept in the database (the latest [`MAX_PLANS`]), so that any
/// node answers for any plan; each runs on the node that queued it, one at a time per node.
#[derive(Debug)]
pub struct PlanJobs {
    store: evgrid_store::Store,
    /// Held by the plan that runs on this node.
    runner: Arc<Mutex<()>>,
}

/// Plans queued or running at once (over every node); more are refused until one finishes.
pub const MAX_PENDING_PLANS: u32 = 4;

/// Plans kept.
pub const MAX_PLANS: u32 = 20;

/// How often a node records the state of a plan it has queued or runs (its heartbeat).
const PLAN_HEARTBEAT: Duration = Duration::from_secs(1);

/// A queued or running plan without a heartbeat for this long: its node stopped.
const PLAN_STALE_SECONDS: i64 = 30;

impl PlanJobs {
    pub(crate) fn new(store: evgrid_store::Store) -> Self {
        Self {
            store,
            runner: Arc::default(),
        }
    }

    /// The result of the most recent plan that finished, if one is still kept.
    pub async fn latest_result(&self) -> Result<Option<Arc<PlanResult>>, crate::AppError> {
        let now = evgrid_model::time::unix_now();
        Ok(self
            .store
            .latest_done_plan()
            .await?
            .and_then(|r| PlanJob::of(r, now).result))
    }

    /// The job, if it is still kept.
    pub async fn get(&self, id: u64) -> Result<Option<PlanJob>, crate::AppError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let now = evgrid_model::time::unix_now();
        Ok(self.store.plan(id).await?.map(|r| PlanJob::of(r, now)))
    }
}

impl Regulator {
    /// Checks and queues a plan to run in the background on this node (one at a time: plans
    /// are CPU-bound); its progress and result are at [`PlanJobs::get`] on any node.
    pub async fn start_plan(
        self: &Arc<Self>,
        request: PlanRequest,
        owner: &str,
    ) -> Result<u64, PlanError> {
        self.check_plan(&request)?;
        let store = self.plans.store.clone();
        let text = serde_json::to_string(&request)
            .map_err(|e| PlanError::Invalid(format!("the request: {e}")))?;
        let now = evgrid_model::time::unix_now();
        let limits = PlanLimits {
            most_pending: MAX_PENDING_PLANS,
            alive_since: now - PLAN_STALE_SECONDS,
            keep: MAX_PLANS,
        };
        let id = store
            .queue_plan(owner, self.network.origin(), &text, now, limits)
            .await?
            .map_err(PlanError::Busy)?;
        // The state the heartbeat writes: the solver's progress lands here.
        let state = Arc::new(Mutex::new(PlanState {
            status: "queued".into(),
            progress: 0.0,
            phase: "queued".into(),
            objective: None,
            error: None,
            result: None,
        }));
        let heartbeat = {
            let (store, state) = (store.clone(), state.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(PLAN_HEARTBEAT).await;
                    let now_state = state.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    if let Err(e) = store
                        .update_plan(id, &now_state, evgrid_model::time::unix_now())
                        .await
                    {
                        tracing::warn!(plan = id, error = %e, "recording a plan's progress");
                    }
                }
            })
        };
        let registry = self.clone();
        let runtime = tokio::runtime::Handle::current();
        let runner = self.plans.runner.clone();
        tokio::task::spawn_blocking(move || {
            // One plan at a time on a node: they are CPU-bound.
            let _turn = runner.lock().unwrap_or_else(PoisonError::into_inner);
            let set = |f: &mut dyn FnMut(&mut PlanState)| {
                f(&mut state.lock().unwrap_or_else(PoisonError::into_inner));
            };
            set(&mut |s| {
                s.status = "running".into();
                s.phase = "coverage".into();
            });
            let result = registry.plan(&request, &mut |p: Progress| {
                set(&mut |s| {
                    s.progress = p.fraction * 0.9;
                    s.phase = serde_json::to_value(p.phase)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    s.objective = Some(p.objective);
                });
            });
            heartbeat.abort();
            let mut last = state.lock().unwrap_or_else(PoisonError::into_inner).clone();
            match result.map(|r| serde_json::to_string(&r)) {
                Ok(Ok(json)) => {
                    last.status = "done".into();
                    last.progress = 1.0;
                    last.result = Some(json);
                }
                Ok(Err(e)) => {
                    last.status = "failed".into();
                    last.error = Some(format!("the result could not be recorded: {e}"));
                }
                Err(e) => {
                    last.status = "failed".into();
                    last.error = Some(e.to_string());
                }
            }
            // A heartbeat still in flight cannot overwrite this: a finished plan's state is
            // final (PlanStore::update_plan).
            if let Err(e) =
                runtime.block_on(store.update_plan(id, &last, evgrid_model::time::unix_now()))
            {
                tracing::error!(plan = id, error = %e, "a finished plan could not be recorded");
            }
        });
        Ok(u64::try_from(id).unwrap_or(0))
    }

    /// The background plans.
    pub fn plans(&self) -> &PlanJobs {
        &self.plans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_whose_node_stopped_reads_as_failed() {
        let record = |status: &str, updated_at| PlanRecord {
            id: 7,
            owner: "reg".into(),
            node_id: "gone".into(),
            request: "{}".into(),
            state: PlanState {
                status: status.into(),
                progress: 0.3,
                phase: "solve".into(),
                objective: None,
                error: None,
                result: None,
            },
            created_at: 1_000,
            updated_at,
        };
        let now = 1_000 + PLAN_STALE_SECONDS + 1;
        let fresh = PlanJob::of(record("running", now - 1), now);
        assert_eq!((fresh.status.as_str(), fresh.error), ("running", None));
        let stale = PlanJob::of(record("running", 1_000), now);
        assert_eq!(stale.status, "failed");
        assert!(stale.error.is_some_and(|e| e.contains("stopped")));
        assert_eq!(PlanJob::of(record("queued", 1_000), now).status, "failed");
        // A finished plan is what it was, however old.
        assert_eq!(PlanJob::of(record("done", 1_000), now).status, "done");
        let mut unreadable = record("done", 1_000);
        unreadable.state.result = Some("{not json".into());
        let job = PlanJob::of(unreadable, now);
        assert!(job.result.is_none() && job.error.is_some());
    }

    #[test]
    fn piles_follow_the_people_served_within_the_caps() {
        assert_eq!(split_piles(10, &[1.0, 1.0], 40), vec![5, 5]);
        assert_eq!(split_piles(100, &[3.0, 1.0, 0.0], 40), vec![40, 40, 20]);
        let piles = split_piles(5000, &(1..=500).map(f64::from).collect::<Vec<_>>(), 40);
        assert_eq!(piles.iter().sum::<u32>(), 5000);
        assert!(piles.iter().all(|&p| (1..=40).contains(&p)));
        assert!(
            piles.windows(2).all(|w| w[0] <= w[1]),
            "more people, no fewer piles"
        );
        assert_eq!(split_piles(3, &[0.0, 0.0, 0.0], 40), vec![1, 1, 1]);
        assert_eq!(
            split_piles(7, &[5.0, 1.0], 3),
            vec![3, 3],
            "caps hold even when piles are left"
        );
    }
}
