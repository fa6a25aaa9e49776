//! Search for drivers: the stations near a point or along a route that match what a driver
//! asks for now — a free connector (fresh status only), open now, a price ceiling — sorted by
//! distance or by the price now (Asia/Shanghai time of day).

use evgrid_model::stats::StationLive;
use evgrid_model::{LatLng, PricePerKwh};

use super::{IndexedStation, Network, SearchFilter};
use crate::{AppError, DEFAULT_STALE_AFTER_SECONDS};

/// How many nearest stations a driver's search looks at before its live filters.
pub const CANDIDATES: usize = 400;

/// The order of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Distance,
    /// Cheapest now first (electricity + service); stations without a tariff last.
    Price,
}

/// What a driver asks for beyond the index's filters.
#[derive(Debug, Clone, Default)]
pub struct DriverFilter {
    pub free_now: bool,
    pub open_now: bool,
    /// Electricity + service now at most this.
    pub max_price: Option<PricePerKwh>,
    pub sort: SortBy,
}

/// One station found.
#[derive(Debug, Clone)]
pub struct DriverHit {
    pub station: IndexedStation,
    pub distance_m: f64,
    pub connectors: i64,
    pub free: i64,
    pub stale: i64,
    /// Electricity + service now; `None` without a tariff.
    pub price_now: Option<PricePerKwh>,
    /// `None` when the opening hours say nothing readable.
    pub open_now: Option<bool>,
    pub business_hours: Option<String>,
    /// Along a route: metres from its start to the nearest point of the route.
    pub along_m: Option<f64>,
}

pub use evgrid_model::time::china_second_of_day;

fn price_at(live: &StationLive, second: u32) -> Option<PricePerKwh> {
    live.tariff
        .iter()
        .rev()
        .find(|(start, _, _)| *start <= second)
        .map(|(_, e, s)| PricePerKwh(e + s))
}

impl Network {
    /// Adds live availability, price and hours to hits and applies the driver's filters.
    async fn live_hits(
        &self,
        hits: Vec<(IndexedStation, f64, Option<f64>)>,
        filter: &SearchFilter,
        driver: &DriverFilter,
        k: usize,
    ) -> Result<Vec<DriverHit>, AppError> {
        // Count (and call free) only the connectors the driver's conditions allow.
        let counted = evgrid_model::stats::ConnectorCriteria {
            connector_type: filter.connector_type.map(|t| t.0),
            dc: filter.current.map(|c| c == evgrid_model::CurrentKind::Dc),
            min_power_w: filter.min_power.map(|p| i64::from(p.0)),
        };
        let now = evgrid_model::time::unix_now();
        let second = china_second_of_day(now);
        let pks: Vec<i64> = hits.iter().map(|(s, _, _)| s.pk).collect();
        let live = self
            .store
            .station_live(&pks, now, DEFAULT_STALE_AFTER_SECONDS, &counted)
            .await?;
        let mut out: Vec<DriverHit> = hits
            .into_iter()
            .filter_map(|(station, distance_m, along_m)| {
                let l = live.iter().find(|l| l.pk == station.pk)?;
                let hit = DriverHit {
                    distance_m,
                    connectors: l.connectors,
                    free: l.free,
                    stale: l.stale,
                    price_now: price_at(l, second),
                    open_now: l
                        .business_hours
                        .as_deref()
                        .and_then(|h| evgrid_model::hours::open_at(h, second)),
                    business_hours: l.business_hours.clone(),
                    along_m,
                    station,
                };
                let keep = (!driver.free_now || hit.free > 0)
                    && (!driver.open_now || hit.open_now == Some(true))
                    && driver
                        .max_price
                        .is_none_or(|max| hit.price_now.is_some_and(|p| p <= max));
                keep.then_some(hit)
            })
            .collect();
        match driver.sort {
            SortBy::Distance if out.iter().any(|h| h.along_m.is_some()) => out.sort_by(|a, b| {
                a.along_m
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.along_m.unwrap_or(f64::INFINITY))
            }),
            SortBy::Distance => out.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m)),
            SortBy::Price => out.sort_by(|a, b| {
                let key = |h: &DriverHit| h.price_now.map_or(i64::MAX, |p| p.0);
                key(a)
                    .cmp(&key(b))
                    .then(a.distance_m.total_cmp(&b.distance_m))
            }),
        }
        out.truncate(k);
        Ok(out)
    }

    /// Stations near `center` (within `radius_m`) matching the index filter and the driver's.
    pub async fn search_for_driver(
        &self,
        center: LatLng,
        radius_m: f64,
        k: usize,
        filter: &SearchFilter,
        driver: &DriverFilter,
    ) -> Result<Vec<DriverHit>, AppError> {
        let hits = self
            .nearest(center, CANDIDATES, Some(radius_m), filter)
            .into_iter()
            .map(|h| (h.station, h.distance_m, None))
            .collect();
        self.live_hits(hits, filter, driver, k).await
    }

    /// Stations within `corridor_m` of a route (WGS-84 points in order), ordered along it (or
    /// by price), matching the filters. Distances are off the route; `along_m` is where the
    /// station's nearest point of the route lies from its start.
    pub async fn search_along_route(
        &self,
        route: &[LatLng],
        corridor_m: f64,
        k: usize,
        filter: &SearchFilter,
        driver: &DriverFilter,
    ) -> Result<Vec<DriverHit>, AppError> {
        // Probe points every `step` along the route; each probe's circle (corridor + step)
        // reaches every point within the corridor of its piece of the route. Long routes take
        // longer steps: at most about 20,000 probes.
        let length: f64 = route
            .windows(2)
            .map(|w| evgrid_model::distance_m(w[0], w[1]))
            .sum();
        let step = corridor_m.max(50.0).max(length / 20_000.0);
        let mut probes = Vec::new();
        for w in route.windows(2) {
            let len = evgrid_model::distance_m(w[0], w[1]);
            let n = (len / step).ceil().max(1.0) as usize;
            for i in 0..n {
                let t = i as f64 / n as f64;
                probes.push(LatLng::new(
                    w[0].lat + (w[1].lat - w[0].lat) * t,
                    w[0].lng + (w[1].lng - w[0].lng) * t,
                ));
            }
        }
        if let Some(last) = route.last() {
            probes.push(*last);
        }
        let reach = corridor_m + step;
        let mut seen = std::collections::HashMap::new();
        for p in &probes {
            for h in self.nearest(*p, CANDIDATES, Some(reach), filter) {
                seen.entry(h.station.pk).or_insert(h.station);
            }
        }
        let hits = seen
            .into_values()
            .filter_map(|station| {
                let (off, along) = route_position(route, station.location);
                (off <= corridor_m).then_some((station, off, Some(along)))
            })
            .collect();
        self.live_hits(hits, filter, driver, k).await
    }
}

/// Distance from `p` to the route and how far along the route its nearest point lies, metres
/// (equirectangular around `p`: exact enough for corridors of kilometres).
pub fn route_position(route: &[LatLng], p: LatLng) -> (f64, f64) {
    let ky = evgrid_model::coords::EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    let kx = ky * p.lat.to_radians().cos();
    let xy = |q: LatLng| ((q.lng - p.lng) * kx, (q.lat - p.lat) * ky);
    let (mut best, mut best_along, mut along) = (f64::INFINITY, 0.0, 0.0);
    if route.len() == 1 {
        let (x, y) = xy(route[0]);
        return (x.hypot(y), 0.0);
    }
    for w in route.windows(2) {
        let (ax, ay) = xy(w[0]);
        let (bx, by) = xy(w[1]);
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            ((-ax * dx - ay * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (cx, cy) = (ax + dx * t, ay + dy * t);
        let d = cx.hypot(cy);
        if d < best {
            best = d;
            best_along = along + len2.sqrt() * t;
        }
        along += len2.sqrt();
    }
    (best, best_along)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_positions() {
        let route = [
            LatLng::new(25.0, 115.0),
            LatLng::new(25.0, 115.1),
            LatLng::new(25.1, 115.1),
        ];
        // On the first leg, 500 m north of it.
        let (off, along) = route_position(&route, LatLng::new(25.0045, 115.05));
        assert!((off - 500.0).abs() < 5.0, "{off}");
        let leg = evgrid_model::distance_m(route[0], route[1]);
        assert!((along - leg / 2.0).abs() < 20.0, "{along} vs {}", leg / 2.0);
        // Beyond the end.
        let (off, along) = route_position(&route, LatLng::new(25.2, 115.1));
        let total = leg + evgrid_model::distance_m(route[1], route[2]);
        assert!((off - 11_119.0).abs() < 60.0, "{off}");
        assert!((along - total).abs() < 60.0);
    }
}
