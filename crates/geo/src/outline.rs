//! Polygons from a set of raster cells: the outline of the cells, as rings along cell edges.
//!
//! Used for the gaps of a charging circle (the cells farther than X km from any public station)
//! and anything else that is "these cells" on a map. Each cell contributes the edges it does not
//! share with another cell of the set, directed with the set on the left; linking them gives
//! counter-clockwise exterior rings and clockwise holes. Where two cells touch only at a corner
//! the rings are kept apart (they may touch at that point, as GeoJSON allows).

use std::collections::{HashMap, HashSet};

use crate::field::Raster;
use crate::{MultiPolygon, Polygon};

type Vertex = (i64, i64);

/// The outline of the cells `(row, column)` of `raster`, in lng/lat.
pub fn outline(raster: &Raster, cells: &[(i64, i64)]) -> MultiPolygon {
    let set: HashSet<(i64, i64)> = cells.iter().copied().collect();
    // Edges keyed by their start vertex (x = column corner, y = row corner).
    let mut edges: HashMap<Vertex, Vec<Vertex>> = HashMap::new();
    let mut add = |from: Vertex, to: Vertex| edges.entry(from).or_default().push(to);
    for &(r, c) in &set {
        if !set.contains(&(r - 1, c)) {
            add((c, r), (c + 1, r));
        }
        if !set.contains(&(r, c + 1)) {
            add((c + 1, r), (c + 1, r + 1));
        }
        if !set.contains(&(r + 1, c)) {
            add((c + 1, r + 1), (c, r + 1));
        }
        if !set.contains(&(r, c - 1)) {
            add((c, r + 1), (c, r));
        }
    }
    let mut starts: Vec<Vertex> = edges.keys().copied().collect();
    starts.sort_unstable();
    let mut rings: Vec<Vec<Vertex>> = Vec::new();
    for start in starts {
        while let Some(first) = edges.get_mut(&start).and_then(Vec::pop) {
            let mut ring = vec![start];
            let (mut prev, mut at) = (start, first);
            while at != start {
                ring.push(at);
                let dir = (at.0 - prev.0, at.1 - prev.1);
                let Some(options) = edges.get_mut(&at).filter(|o| !o.is_empty()) else {
                    break;
                };
                // At a corner shared by two diagonal cells, turn left first (towards the cell
                // this ring came along): rings stay apart.
                let left = (-dir.1, dir.0);
                let pick = [left, dir, (dir.1, -dir.0)]
                    .iter()
                    .find_map(|d| options.iter().position(|v| (v.0 - at.0, v.1 - at.1) == *d))
                    .unwrap_or(0);
                let next = options.swap_remove(pick);
                prev = at;
                at = next;
            }
            rings.push(simplify(ring));
        }
    }
    let to_lnglat = |ring: &[Vertex]| -> Vec<[f64; 2]> {
        let mut out: Vec<[f64; 2]> = ring
            .iter()
            .map(|(x, y)| {
                [
                    raster.lng0 + *x as f64 * raster.dlng,
                    raster.lat0 + *y as f64 * raster.dlat,
                ]
            })
            .collect();
        if let Some(first) = out.first().copied() {
            out.push(first);
        }
        out
    };
    let (mut exteriors, mut holes): (Vec<Vec<Vertex>>, Vec<Vec<Vertex>>) =
        rings.into_iter().partition(|r| signed_area(r) > 0);
    exteriors.sort_by_key(|r| signed_area(r));
    let mut polygons: Vec<Polygon> = exteriors
        .iter()
        .map(|r| Polygon {
            exterior: to_lnglat(r),
            holes: Vec::new(),
        })
        .collect();
    for hole in holes.drain(..) {
        // The smallest exterior holding the hole.
        if let Some(k) = exteriors.iter().position(|r| holds(r, &hole)) {
            polygons[k].holes.push(to_lnglat(&hole));
        }
    }
    MultiPolygon::new(polygons)
}

/// Drops the vertices where a ring goes straight on.
fn simplify(ring: Vec<Vertex>) -> Vec<Vertex> {
    let n = ring.len();
    if n < 4 {
        return ring;
    }
    (0..n)
        .filter(|&i| {
            let (a, b, c) = (ring[(i + n - 1) % n], ring[i], ring[(i + 1) % n]);
            (b.0 - a.0) * (c.1 - b.1) - (b.1 - a.1) * (c.0 - b.0) != 0
        })
        .map(|i| ring[i])
        .collect()
}

/// Twice the signed area (positive counter-clockwise).
fn signed_area(ring: &[Vertex]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// Whether the exterior ring holds the hole: a point just inside the hole next to its first
/// vertex lies inside the exterior.
fn holds(exterior: &[Vertex], hole: &[Vertex]) -> bool {
    // The midpoint of the hole's first edge, moved a quarter cell to the hole's outside
    // (the right of a clockwise edge is the exterior's inside).
    let (a, b) = (hole[0], hole[1 % hole.len()]);
    let (dx, dy) = ((b.0 - a.0).signum() as f64, (b.1 - a.1).signum() as f64);
    let mid = ((a.0 + b.0) as f64 / 2.0, (a.1 + b.1) as f64 / 2.0);
    let (x, y) = (mid.0 + dy * 0.25, mid.1 - dx * 0.25);
    let n = exterior.len();
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (xi, yi) = (exterior[i].0 as f64, exterior[i].1 as f64);
        let (xj, yj) = (exterior[j].0 as f64, exterior[j].1 as f64);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use evgrid_model::LatLng;

    fn raster() -> Raster {
        let square = MultiPolygon::new(vec![Polygon {
            exterior: vec![
                [114.0, 25.0],
                [114.1, 25.0],
                [114.1, 25.1],
                [114.0, 25.1],
                [114.0, 25.0],
            ],
            holes: vec![],
        }]);
        Raster::cover(&[&square], 1000.0)
    }

    fn centre(r: &Raster, (row, col): (i64, i64)) -> LatLng {
        LatLng::new(r.rows[row as usize].lat, r.lng(col))
    }

    #[test]
    fn the_outline_holds_exactly_the_cells() {
        let r = raster();
        // A ring of cells (with a hole), a separate block, and two cells touching at a corner.
        let mut cells = Vec::new();
        for row in 1..6 {
            for col in 1..6 {
                if !(row == 3 && col == 3) {
                    cells.push((row, col));
                }
            }
        }
        cells.extend([(8, 1), (8, 2), (9, 3)]);
        let shape = outline(&r, &cells);
        assert_eq!(shape.polygons.len(), 3);
        assert_eq!(
            shape.polygons.iter().map(|p| p.holes.len()).sum::<usize>(),
            1
        );
        for row in 0..10 {
            for col in 0..8 {
                let inside = cells.contains(&(row, col));
                assert_eq!(
                    shape.contains(centre(&r, (row, col))),
                    inside,
                    "cell {row},{col}"
                );
            }
        }
        // The 5x5 block's outline is a rectangle: 4 corners + closing point.
        assert!(shape.polygons.iter().any(|p| p.exterior.len() == 5));
        let area: f64 = shape.area_km2();
        let cell: f64 = r.cell_area_km2(r.rows[1].lat);
        assert!((area / (27.0 * cell) - 1.0).abs() < 0.01, "{area}");
    }

    #[test]
    fn no_cells_no_polygons() {
        assert!(outline(&raster(), &[]).polygons.is_empty());
    }
}
