//! Polygons in lon/lat degrees with point-in-polygon by ray casting.
//!
//! County boundaries are small (tens of km) and far from the poles and the antimeridian, so a
//! planar even-odd test on degrees is exact enough: the error is far below the boundary data's
//! own accuracy.

use evgrid_model::LatLng;
use serde_json::Value;

/// One polygon: an exterior ring and optional holes, each a closed list of (lng, lat).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub exterior: Vec<[f64; 2]>,
    pub holes: Vec<Vec<[f64; 2]>>,
}

/// Several polygons, as GeoJSON MultiPolygon, with a bounding box for quick rejection.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiPolygon {
    pub polygons: Vec<Polygon>,
    /// min lng, min lat, max lng, max lat.
    pub bbox: [f64; 4],
}

fn ring_contains(ring: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let [xi, yi] = ring[i];
        let [xj, yj] = ring[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

impl Polygon {
    /// Whether the point lies inside the exterior and outside every hole.
    pub fn contains(&self, p: LatLng) -> bool {
        ring_contains(&self.exterior, p.lng, p.lat)
            && !self.holes.iter().any(|h| ring_contains(h, p.lng, p.lat))
    }
}

/// The bounding box (min lng, min lat, max lng, max lat) of several areas; inverted infinities
/// for none.
pub fn bbox_of<'a>(areas: impl IntoIterator<Item = &'a MultiPolygon>) -> [f64; 4] {
    areas.into_iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, a| {
            [
                b[0].min(a.bbox[0]),
                b[1].min(a.bbox[1]),
                b[2].max(a.bbox[2]),
                b[3].max(a.bbox[3]),
            ]
        },
    )
}

impl MultiPolygon {
    /// Builds from polygons, computing the bounding box.
    pub fn new(polygons: Vec<Polygon>) -> Self {
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for [x, y] in polygons.iter().flat_map(|p| p.exterior.iter()) {
            bbox[0] = bbox[0].min(*x);
            bbox[1] = bbox[1].min(*y);
            bbox[2] = bbox[2].max(*x);
            bbox[3] = bbox[3].max(*y);
        }
        Self { polygons, bbox }
    }

    /// Whether the point lies in any of the polygons.
    pub fn contains(&self, p: LatLng) -> bool {
        p.lng >= self.bbox[0]
            && p.lng <= self.bbox[2]
            && p.lat >= self.bbox[1]
            && p.lat <= self.bbox[3]
            && self.polygons.iter().any(|poly| poly.contains(p))
    }

    /// The longitude ranges `[from, to)` of the area on the parallel `lat` (even-odd over every
    /// ring, holes included), sorted: a scan line for rasterizing.
    pub fn crossings(&self, lat: f64) -> Vec<(f64, f64)> {
        let mut xs: Vec<f64> = Vec::new();
        for ring in self
            .polygons
            .iter()
            .flat_map(|p| std::iter::once(&p.exterior).chain(p.holes.iter()))
        {
            let n = ring.len();
            if n < 3 {
                continue;
            }
            let mut j = n - 1;
            for i in 0..n {
                let [xi, yi] = ring[i];
                let [xj, yj] = ring[j];
                if (yi > lat) != (yj > lat) {
                    xs.push((xj - xi) * (lat - yi) / (yj - yi) + xi);
                }
                j = i;
            }
        }
        xs.sort_by(f64::total_cmp);
        xs.chunks_exact(2).map(|c| (c[0], c[1])).collect()
    }

    /// Points that stand for the whole area: every exterior-ring vertex, and the points of a
    /// (steps + 1) × (steps + 1) grid over the bounding box that fall inside.
    pub fn sample_points(&self, steps: u32) -> Vec<LatLng> {
        let [x0, y0, x1, y1] = self.bbox;
        let mut points: Vec<LatLng> = self
            .polygons
            .iter()
            .flat_map(|p| p.exterior.iter().map(|[x, y]| LatLng::new(*y, *x)))
            .collect();
        let steps_f = f64::from(steps.max(1));
        for i in 0..=steps {
            for j in 0..=steps {
                let p = LatLng::new(
                    y0 + (y1 - y0) * f64::from(i) / steps_f,
                    x0 + (x1 - x0) * f64::from(j) / steps_f,
                );
                if self.contains(p) {
                    points.push(p);
                }
            }
        }
        points
    }

    /// Reads a GeoJSON `Polygon` or `MultiPolygon` geometry object.
    pub fn from_geojson(geometry: &Value) -> Option<Self> {
        let kind = geometry.get("type")?.as_str()?;
        let coords = geometry.get("coordinates")?;
        let polygons = match kind {
            "Polygon" => vec![polygon_from_rings(coords)?],
            "MultiPolygon" => coords
                .as_array()?
                .iter()
                .map(polygon_from_rings)
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        Some(Self::new(polygons))
    }

    /// The GeoJSON geometry of this multipolygon.
    pub fn to_geojson(&self) -> Value {
        let polys: Vec<Value> = self
            .polygons
            .iter()
            .map(|p| {
                let mut rings = vec![ring_json(&p.exterior)];
                rings.extend(p.holes.iter().map(|h| ring_json(h)));
                Value::Array(rings)
            })
            .collect();
        serde_json::json!({"type": "MultiPolygon", "coordinates": polys})
    }

    /// Area on the sphere in km² (spherical excess of each ring, holes subtracted).
    pub fn area_km2(&self) -> f64 {
        self.polygons
            .iter()
            .map(|p| {
                ring_area_m2(&p.exterior) - p.holes.iter().map(|h| ring_area_m2(h)).sum::<f64>()
            })
            .sum::<f64>()
            / 1e6
    }
}

fn ring_json(ring: &[[f64; 2]]) -> Value {
    Value::Array(
        ring.iter()
            .map(|[x, y]| serde_json::json!([x, y]))
            .collect(),
    )
}

fn ring_area_m2(ring: &[[f64; 2]]) -> f64 {
    // Chamberlain & Duquette's spherical polygon area.
    let r = evgrid_model::coords::EARTH_RADIUS_M;
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let mut total = 0.0;
    for i in 0..n {
        let [x1, y1] = ring[i];
        let [x2, y2] = ring[(i + 1) % n];
        total += (x2 - x1).to_radians() * (2.0 + y1.to_radians().sin() + y2.to_radians().sin());
    }
    (total * r * r / 2.0).abs()
}

fn polygon_from_rings(rings: &Value) -> Option<Polygon> {
    let mut rings = rings.as_array()?.iter().map(|ring| {
        ring.as_array()?
            .iter()
            .map(|pt| {
                let pt = pt.as_array()?;
                Some([pt.first()?.as_f64()?, pt.get(1)?.as_f64()?])
            })
            .collect::<Option<Vec<_>>>()
    });
    let exterior = rings.next()??;
    let holes = rings.collect::<Option<Vec<_>>>()?;
    Some(Polygon { exterior, holes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> MultiPolygon {
        MultiPolygon::new(vec![Polygon {
            exterior: vec![[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]],
            holes: vec![vec![
                [0.5, 0.5],
                [1.0, 0.5],
                [1.0, 1.0],
                [0.5, 1.0],
                [0.5, 0.5],
            ]],
        }])
    }

    #[test]
    fn square_with_hole() {
        let sq = square();
        assert!(sq.contains(LatLng::new(1.5, 1.5)));
        assert!(!sq.contains(LatLng::new(0.75, 0.75)), "inside the hole");
        assert!(!sq.contains(LatLng::new(3.0, 1.0)));
        assert!(!sq.contains(LatLng::new(-0.1, 1.0)));
    }

    #[test]
    fn sample_points_cover_the_area_and_stay_inside() {
        let sq = square();
        let points = sq.sample_points(10);
        // 5 ring vertices, 121 grid points minus those in the hole or on the open edges.
        assert!(points.len() > 80, "{}", points.len());
        assert!(points[5..].iter().all(|p| sq.contains(*p)));
        assert!(points.iter().any(|p| p.lat > 1.5 && p.lng > 1.5));
    }

    #[test]
    fn geojson_round_trip() {
        let sq = square();
        let back = MultiPolygon::from_geojson(&sq.to_geojson()).unwrap();
        assert_eq!(back, sq);
        assert!(MultiPolygon::from_geojson(
            &serde_json::json!({"type": "Point", "coordinates": [0, 0]})
        )
        .is_none());
    }
}
