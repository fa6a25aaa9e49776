//! Sparse coverage sets. Demand points are bucketed on a grid of the radius's size, so each
//! candidate looks at 3 × 3 buckets. Demand already covered by an existing site counts as
//! covered; demand no candidate reaches cannot change the choice; the rest is merged into
//! groups of points covered by exactly the same candidates (weights summed), which is all the
//! solver needs.

use std::collections::HashMap;

use crate::instance::{Point, Problem};

/// The reduced problem: groups of demand and, for each candidate, the groups it covers.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// Weight of each group, in integer units of `1 / scale` of the input weight.
    pub weight: Vec<i64>,
    /// Input weight = integer weight / scale (1 when every input weight is an integer).
    pub scale: f64,
    /// Weight already covered by the existing sites (integer units).
    pub base: i64,
    /// Weight no candidate and no existing site reaches (integer units).
    pub unreachable: i64,
    /// Total demand weight (integer units).
    pub total: i64,
    /// Number of demand points kept in groups.
    pub grouped_points: usize,
    /// The group of each demand point, `u32::MAX` for points not in a group.
    pub group_of: Vec<u32>,
    site_start: Vec<usize>,
    site_groups: Vec<u32>,
    group_start: Vec<usize>,
    group_sites: Vec<u32>,
}

/// Fixed-point factor for weights that are not all integers (people of a population grid).
const FRACTIONAL_SCALE: f64 = 1000.0;

/// Points bucketed on a square grid whose cell is the search radius: the points within the
/// radius of any place are in the 3 × 3 cells around it.
#[derive(Debug)]
pub struct PointGrid {
    cell: f64,
    cells: HashMap<(i64, i64), Vec<u32>>,
}

impl PointGrid {
    /// Buckets `points` (indexed in order) on cells of `cell` km.
    pub fn new(points: impl Iterator<Item = Point>, cell: f64) -> Self {
        let mut cells: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
        for (i, p) in points.enumerate() {
            cells.entry(Self::key(p, cell)).or_default().push(i as u32);
        }
        PointGrid { cell, cells }
    }

    fn key(p: Point, cell: f64) -> (i64, i64) {
        ((p.x / cell).floor() as i64, (p.y / cell).floor() as i64)
    }

    /// Calls `f` with each point index in the 3 × 3 buckets around `p` (a superset of the disc).
    pub fn near(&self, p: Point, mut f: impl FnMut(u32)) {
        let (cx, cy) = Self::key(p, self.cell);
        for dx in -1..=1 {
            for dy in -1..=1 {
                if let Some(list) = self.cells.get(&(cx + dx, cy + dy)) {
                    list.iter().for_each(|&i| f(i));
                }
            }
        }
    }
}

impl Coverage {
    /// Builds the coverage sets of `problem` (which should have passed [`Problem::check`]).
    pub fn build(problem: &Problem) -> Self {
        let instance = &problem.instance;
        let r2 = problem.radius_km * problem.radius_km;
        let n = instance.demand.len();
        let scale = if instance.demand.iter().all(|d| d.weight.fract() == 0.0) {
            1.0
        } else {
            FRACTIONAL_SCALE
        };
        let weights: Vec<i64> = instance
            .demand
            .iter()
            .map(|d| (d.weight * scale).round() as i64)
            .collect();
        let buckets = PointGrid::new(instance.demand.iter().map(|d| d.at), problem.radius_km);
        let within = |site: Point, i: u32| instance.demand[i as usize].at.distance2(site) <= r2;

        let mut covered = vec![false; n];
        for &site in &problem.existing {
            buckets.near(site, |i| {
                if within(site, i) {
                    covered[i as usize] = true;
                }
            });
        }
        // Transpose: for each uncovered demand point, the candidates reaching it (ascending).
        let mut demand_sites: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (j, &site) in instance.sites.iter().enumerate() {
            buckets.near(site, |i| {
                if !covered[i as usize] && within(site, i) {
                    demand_sites[i as usize].push(j as u32);
                }
            });
        }
        let total: i64 = weights.iter().sum();
        let base: i64 = weights
            .iter()
            .zip(&covered)
            .filter(|(_, &c)| c)
            .map(|(w, _)| w)
            .sum();
        let mut unreachable = 0;
        let mut group_of = vec![u32::MAX; n];
        let mut weight = Vec::new();
        let mut group_sites: Vec<&[u32]> = Vec::new();
        let mut groups: HashMap<&[u32], u32> = HashMap::new();
        let mut grouped_points = 0;
        for (i, sites) in demand_sites.iter().enumerate() {
            if covered[i] {
                continue;
            }
            if sites.is_empty() {
                unreachable += weights[i];
                continue;
            }
            let g = *groups.entry(sites.as_slice()).or_insert_with(|| {
                weight.push(0);
                group_sites.push(sites);
                (weight.len() - 1) as u32
            });
            weight[g as usize] += weights[i];
            group_of[i] = g;
            grouped_points += 1;
        }
        let m = instance.sites.len();
        let mut site_start = vec![0usize; m + 1];
        for sites in &group_sites {
            for &j in *sites {
                site_start[j as usize + 1] += 1;
            }
        }
        for j in 0..m {
            site_start[j + 1] += site_start[j];
        }
        let mut next = site_start.clone();
        let mut site_groups = vec![0u32; site_start[m]];
        for (g, sites) in group_sites.iter().enumerate() {
            for &j in *sites {
                site_groups[next[j as usize]] = g as u32;
                next[j as usize] += 1;
            }
        }
        let mut group_start = Vec::with_capacity(group_sites.len() + 1);
        group_start.push(0);
        for sites in &group_sites {
            group_start.push(group_start[group_start.len() - 1] + sites.len());
        }
        let group_sites = group_sites.concat();
        Coverage {
            weight,
            scale,
            base,
            unreachable,
            total,
            grouped_points,
            group_of,
            site_start,
            site_groups,
            group_start,
            group_sites,
        }
    }

    /// Number of candidate sites.
    pub fn sites(&self) -> usize {
        self.site_start.len() - 1
    }

    /// The groups candidate `site` covers.
    pub fn groups_of_site(&self, site: usize) -> &[u32] {
        &self.site_groups[self.site_start[site]..self.site_start[site + 1]]
    }

    /// The candidates covering `group`, ascending.
    pub fn sites_of_group(&self, group: usize) -> &[u32] {
        &self.group_sites[self.group_start[group]..self.group_start[group + 1]]
    }

    /// Number of (candidate, group) pairs: the size of the sparse coverage matrix.
    pub fn nonzeros(&self) -> usize {
        self.site_groups.len()
    }

    /// Integer weight units to input weight.
    pub fn to_weight(&self, units: i64) -> f64 {
        units as f64 / self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::{DemandPoint, Instance};

    #[test]
    fn groups_merge_equal_sets_and_skip_covered_and_unreachable_demand() {
        let d = |x, y, weight| DemandPoint {
            at: Point { x, y },
            weight,
        };
        let instance = Instance {
            // 0 and 1 are reached by site 0 only (one group); 2 by both sites; 3 by none;
            // 4 is inside the existing site's radius; 5 exactly on site 1's radius (inclusive).
            demand: vec![
                d(0.0, 0.0, 2.0),
                d(0.5, 0.0, 3.0),
                d(1.5, 0.0, 4.0),
                d(50.0, 0.0, 7.0),
                d(-9.0, 0.0, 5.0),
                d(5.0, 0.0, 1.0),
            ],
            sites: vec![Point { x: 0.0, y: 0.0 }, Point { x: 3.0, y: 0.0 }],
            site_ids: vec![0, 1],
        };
        let problem = Problem {
            instance,
            p: 1,
            radius_km: 2.0,
            existing: vec![Point { x: -9.5, y: 0.0 }],
        };
        let c = Coverage::build(&problem);
        assert_eq!((c.total, c.base, c.unreachable, c.scale), (22, 5, 7, 1.0));
        assert_eq!(c.weight, vec![5, 4, 1]);
        assert_eq!(c.groups_of_site(0), &[0, 1]);
        assert_eq!(c.groups_of_site(1), &[1, 2]);
        assert_eq!(c.group_of, vec![0, 0, 1, u32::MAX, u32::MAX, 2]);
        assert_eq!(c.nonzeros(), 4);
        assert_eq!(
            (
                c.sites_of_group(0),
                c.sites_of_group(1),
                c.sites_of_group(2)
            ),
            (&[0u32][..], &[0u32, 1][..], &[1u32][..])
        );
    }

    #[test]
    fn fractional_weights_are_kept_in_fixed_point() {
        let instance = Instance {
            demand: vec![DemandPoint {
                at: Point { x: 0.0, y: 0.0 },
                weight: 1.25,
            }],
            sites: vec![Point { x: 0.0, y: 0.0 }],
            site_ids: vec![0],
        };
        let c = Coverage::build(&Problem {
            instance,
            p: 1,
            radius_km: 1.0,
            existing: vec![],
        });
        assert_eq!(c.weight, vec![1250]);
        assert_eq!(c.to_weight(c.total), 1.25);
    }
}
