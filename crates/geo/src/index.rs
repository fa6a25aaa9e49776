//! The in-memory spatial index: k-nearest and within-radius queries by great-circle distance,
//! with the filters drivers and regulators use.
//!
//! Points live on the unit sphere as 3-D vectors; the straight-line (chord) distance between two
//! such vectors grows monotonically with the great-circle distance, so a k-d tree over the
//! vectors answers great-circle queries exactly, with no projection error anywhere on Earth.
//! Every node keeps a bounding box, a bit mask of what its entries offer (category, AC/DC,
//! connector types) and their maximum power, so filtered queries skip whole subtrees.
//!
//! Updates never block on a rebuild of the whole tree: a changed or new entry goes to a small
//! side list scanned linearly, an old one is marked dead, and the tree is rebuilt once the side
//! list and the dead entries exceed an eighth of the index.

use std::collections::HashMap;
use std::hash::Hash;

use evgrid_model::{Category, ConnectorType, CurrentKind, LatLng, Power, EARTH_RADIUS_M};

/// What one connector of an entry offers, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectorProfile {
    pub connector_type: ConnectorType,
    pub power: Power,
}

/// What an entry offers: its category, its operator (a number the caller assigns) and its
/// connectors (deduplicated profiles are enough).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryAttrs {
    pub category: Category,
    pub operator: u32,
    pub connectors: Vec<ConnectorProfile>,
}

/// A query filter; `None` fields match everything. Connector-level conditions (type, current,
/// minimum power) must all hold for the same connector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub categories: Option<Vec<Category>>,
    pub operator: Option<u32>,
    pub min_power: Option<Power>,
    pub connector_type: Option<ConnectorType>,
    pub current: Option<CurrentKind>,
}

const CAT_BITS: u32 = 0; // 3 bits
const DC_BIT: u32 = 1 << 3;
const AC_BIT: u32 = 1 << 4;
const TYPE_SHIFT: u32 = 5; // 6 bits for connector types 1..=6

fn category_bit(c: Category) -> u32 {
    1 << (CAT_BITS
        + match c {
            Category::Public => 0,
            Category::Dedicated => 1,
            Category::Private => 2,
        })
}

fn type_bit(t: ConnectorType) -> u32 {
    let n = if (1..=6).contains(&t.0) { t.0 } else { 6 };
    1 << (TYPE_SHIFT + (n as u32 - 1))
}

fn current_bit(c: CurrentKind) -> u32 {
    match c {
        CurrentKind::Dc => DC_BIT,
        CurrentKind::Ac => AC_BIT,
    }
}

impl EntryAttrs {
    fn summary(&self) -> (u32, u32) {
        let mut mask = category_bit(self.category);
        let mut max_power = 0;
        for p in &self.connectors {
            mask |= type_bit(p.connector_type) | current_bit(p.connector_type.current());
            max_power = max_power.max(p.power.0);
        }
        (mask, max_power)
    }
}

impl Filter {
    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    fn needs_connector(&self) -> bool {
        self.min_power.is_some() || self.connector_type.is_some() || self.current.is_some()
    }

    /// Whether a subtree whose summary is (mask, max_power) may hold a match.
    fn may_match(&self, mask: u32, max_power: u32) -> bool {
        if let Some(cats) = &self.categories {
            if !cats.iter().any(|c| mask & category_bit(*c) != 0) {
                return false;
            }
        }
        if let Some(t) = self.connector_type {
            if mask & type_bit(t) == 0 {
                return false;
            }
        }
        if let Some(c) = self.current {
            if mask & current_bit(c) == 0 {
                return false;
            }
        }
        self.min_power.is_none_or(|p| max_power >= p.0)
    }

    /// Whether an entry matches.
    pub fn matches(&self, attrs: &EntryAttrs) -> bool {
        if let Some(cats) = &self.categories {
            if !cats.contains(&attrs.category) {
                return false;
            }
        }
        if self.operator.is_some_and(|op| op != attrs.operator) {
            return false;
        }
        if !self.needs_connector() {
            return true;
        }
        attrs.connectors.iter().any(|c| {
            self.connector_type.is_none_or(|t| t == c.connector_type)
                && self.current.is_none_or(|k| k == c.connector_type.current())
                && self.min_power.is_none_or(|p| c.power >= p)
        })
    }
}

/// One result: the entry's key and how far it is (great-circle metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<K> {
    pub key: K,
    pub distance_m: f64,
}

#[derive(Debug, Clone)]
struct Slot<K> {
    key: K,
    location: LatLng,
    attrs: EntryAttrs,
    mask: u32,
    max_power: u32,
    alive: bool,
}

/// A point of the tree, with its key beside it so that an answer needs no other memory.
#[derive(Debug, Clone, Copy)]
struct TreePoint<K> {
    xyz: [f64; 3],
    key: K,
    slot: u32,
}

const NO_CHILD: u32 = u32::MAX;
const LEAF_SIZE: usize = 12;

#[derive(Debug, Clone, Copy)]
struct Node {
    min: [f64; 3],
    max: [f64; 3],
    lo: u32,
    hi: u32,
    left: u32,
    right: u32,
    mask: u32,
    max_power: u32,
}

/// The index; `K` is the caller's key (the store's station id).
#[derive(Debug, Clone)]
pub struct SpatialIndex<K> {
    slots: Vec<Slot<K>>,
    by_key: HashMap<K, u32>,
    points: Vec<TreePoint<K>>,
    nodes: Vec<Node>,
    /// Slots not in the tree, scanned linearly.
    extra: Vec<u32>,
    dead_in_tree: usize,
}

fn unit_vector(p: LatLng) -> [f64; 3] {
    let (lat, lng) = (p.lat.to_radians(), p.lng.to_radians());
    [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
}

fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

fn box_dist2(n: &Node, q: &[f64; 3]) -> f64 {
    q.iter()
        .zip(n.min.iter().zip(&n.max))
        .map(|(q, (lo, hi))| {
            let d = (lo - q).max(q - hi).max(0.0);
            d * d
        })
        .sum()
}

/// Great-circle metres for a squared chord between unit vectors.
fn chord_to_metres(d2: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (d2.sqrt() / 2.0).min(1.0).asin()
}

/// Squared chord length for a great-circle distance in metres.
fn chord2_for(distance_m: f64) -> f64 {
    let angle = (distance_m / EARTH_RADIUS_M).min(std::f64::consts::PI);
    let chord = 2.0 * (angle / 2.0).sin();
    // A hair of slack so that points exactly on the radius are not lost to rounding; the
    // final great-circle distance decides.
    chord * chord * (1.0 + 1e-9) + 1e-18
}

/// The k best candidates found so far (all of them when k is unbounded): (squared chord, key,
/// slot); the slot breaks ties so that answers are deterministic.
struct Best<K> {
    k: usize,
    items: Vec<(f64, u32, K)>,
    bound: f64,
}

impl<K: Copy> Best<K> {
    fn offer(&mut self, d2: f64, slot: u32, key: K) {
        if d2 > self.bound {
            return;
        }
        if self.k == usize::MAX {
            self.items.push((d2, slot, key));
            return;
        }
        let pos = self
            .items
            .partition_point(|(d, s, _)| (*d, *s) < (d2, slot));
        if pos >= self.k {
            return;
        }
        self.items.insert(pos, (d2, slot, key));
        if self.items.len() > self.k {
            self.items.pop();
        }
        if self.items.len() == self.k {
            self.bound = self.bound.min(self.items[self.k - 1].0);
        }
    }
}

impl<K: Copy + Eq + Hash> Default for SpatialIndex<K> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            by_key: HashMap::new(),
            points: Vec::new(),
            nodes: Vec::new(),
            extra: Vec::new(),
            dead_in_tree: 0,
        }
    }
}

impl<K: Copy + Eq + Hash> SpatialIndex<K> {
    /// Builds an index from entries; a repeated key keeps its last entry.
    pub fn build(entries: impl IntoIterator<Item = (K, LatLng, EntryAttrs)>) -> Self {
        let mut index = Self::default();
        for (key, location, attrs) in entries {
            index.put_slot(key, location, attrs);
        }
        index.rebuild();
        index
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    fn put_slot(&mut self, key: K, location: LatLng, attrs: EntryAttrs) -> u32 {
        if let Some(old) = self.by_key.get(&key).copied() {
            self.kill(old);
        }
        let (mask, max_power) = attrs.summary();
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(Slot {
            key,
            location,
            attrs,
            mask,
            max_power,
            alive: true,
        });
        self.by_key.insert(key, slot);
        slot
    }

    fn kill(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        s.alive = false;
        if let Some(pos) = self.extra.iter().position(|x| *x == slot) {
            self.extra.swap_remove(pos);
        } else {
            self.dead_in_tree += 1;
        }
    }

    /// Adds or replaces an entry; the index stays queryable at once.
    pub fn upsert(&mut self, key: K, location: LatLng, attrs: EntryAttrs) {
        let slot = self.put_slot(key, location, attrs);
        self.extra.push(slot);
        self.maybe_rebuild();
    }

    /// Removes an entry; returns whether it was there.
    pub fn remove(&mut self, key: K) -> bool {
        match self.by_key.remove(&key) {
            Some(slot) => {
                self.kill(slot);
                self.maybe_rebuild();
                true
            }
            None => false,
        }
    }

    fn maybe_rebuild(&mut self) {
        if self.extra.len() + self.dead_in_tree > (self.len() / 8).max(64) {
            self.rebuild();
        }
    }

    /// Compacts the slots and rebuilds the tree over every live entry.
    fn rebuild(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.by_key.clear();
        for s in old.into_iter().filter(|s| s.alive) {
            let slot = self.slots.len() as u32;
            self.by_key.insert(s.key, slot);
            self.slots.push(s);
        }
        self.points = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| TreePoint {
                xyz: unit_vector(s.location),
                key: s.key,
                slot: i as u32,
            })
            .collect();
        self.nodes.clear();
        self.extra.clear();
        self.dead_in_tree = 0;
        if !self.points.is_empty() {
            let n = self.points.len();
            self.build_node(0, n);
        }
    }

    fn build_node(&mut self, lo: usize, hi: usize) -> u32 {
        let mut min = [f64::INFINITY; 3];
        let mut max = [f64::NEG_INFINITY; 3];
        let mut mask = 0;
        let mut max_power = 0;
        for p in &self.points[lo..hi] {
            for i in 0..3 {
                min[i] = min[i].min(p.xyz[i]);
                max[i] = max[i].max(p.xyz[i]);
            }
            let s = &self.slots[p.slot as usize];
            mask |= s.mask;
            max_power = max_power.max(s.max_power);
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            min,
            max,
            lo: lo as u32,
            hi: hi as u32,
            left: NO_CHILD,
            right: NO_CHILD,
            mask,
            max_power,
        });
        if hi - lo > LEAF_SIZE {
            let axis = (0..3)
                .max_by(|a, b| (max[*a] - min[*a]).total_cmp(&(max[*b] - min[*b])))
                .unwrap_or(0);
            let mid = lo + (hi - lo) / 2;
            self.points[lo..hi]
                .select_nth_unstable_by(mid - lo, |a, b| a.xyz[axis].total_cmp(&b.xyz[axis]));
            let left = self.build_node(lo, mid);
            let right = self.build_node(mid, hi);
            let node = &mut self.nodes[id as usize];
            node.left = left;
            node.right = right;
        }
        id
    }

    fn search(&self, node: u32, q: &[f64; 3], filter: Option<&Filter>, best: &mut Best<K>) {
        let n = &self.nodes[node as usize];
        if let Some(f) = filter {
            if !f.may_match(n.mask, n.max_power) {
                return;
            }
        }
        if n.left == NO_CHILD {
            let check_alive = self.dead_in_tree > 0;
            for p in &self.points[n.lo as usize..n.hi as usize] {
                let d2 = dist2(&p.xyz, q);
                if d2 > best.bound {
                    continue;
                }
                if check_alive || filter.is_some() {
                    let s = &self.slots[p.slot as usize];
                    if !s.alive || filter.is_some_and(|f| !f.matches(&s.attrs)) {
                        continue;
                    }
                }
                best.offer(d2, p.slot, p.key);
            }
            return;
        }
        let (l, r) = (&self.nodes[n.left as usize], &self.nodes[n.right as usize]);
        let (dl, dr) = (box_dist2(l, q), box_dist2(r, q));
        let (first, d_first, second, d_second) = if dl <= dr {
            (n.left, dl, n.right, dr)
        } else {
            (n.right, dr, n.left, dl)
        };
        if d_first <= best.bound {
            self.search(first, q, filter, best);
        }
        if d_second <= best.bound {
            self.search(second, q, filter, best);
        }
    }

    /// The `k` nearest entries matching `filter`, within `radius_m` if given, nearest first
    /// (ties by insertion order).
    pub fn nearest(
        &self,
        center: LatLng,
        k: usize,
        radius_m: Option<f64>,
        filter: &Filter,
    ) -> Vec<Hit<K>> {
        if k == 0 || self.is_empty() {
            return Vec::new();
        }
        let q = unit_vector(center);
        let filter = (!filter.is_empty()).then_some(filter);
        let mut best = Best {
            k,
            items: Vec::with_capacity(if k == usize::MAX { 64 } else { k + 1 }),
            bound: radius_m.map_or(f64::INFINITY, chord2_for),
        };
        if !self.nodes.is_empty() {
            self.search(0, &q, filter, &mut best);
        }
        for &slot in &self.extra {
            let s = &self.slots[slot as usize];
            if filter.is_some_and(|f| !f.matches(&s.attrs)) {
                continue;
            }
            best.offer(dist2(&unit_vector(s.location), &q), slot, s.key);
        }
        if k == usize::MAX {
            best.items
                .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        best.items
            .into_iter()
            .map(|(d2, _, key)| Hit {
                key,
                distance_m: chord_to_metres(d2),
            })
            .filter(|h| radius_m.is_none_or(|r| h.distance_m <= r))
            .collect()
    }

    /// Every entry matching `filter` within `radius_m`, nearest first.
    pub fn within(&self, center: LatLng, radius_m: f64, filter: &Filter) -> Vec<Hit<K>> {
        self.nearest(center, usize::MAX, Some(radius_m), filter)
    }

    /// The attributes of an entry.
    pub fn attrs(&self, key: K) -> Option<&EntryAttrs> {
        self.by_key
            .get(&key)
            .map(|s| &self.slots[*s as usize].attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for test points (SplitMix64).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn attrs(i: u32) -> EntryAttrs {
        let dc = i.is_multiple_of(3);
        EntryAttrs {
            category: Category::ALL[(i % 3) as usize],
            operator: i % 7,
            connectors: vec![ConnectorProfile {
                connector_type: if dc {
                    ConnectorType::DC_PLUG
                } else {
                    ConnectorType::AC_PLUG
                },
                power: Power::from_kw(if dc { 60 + (i % 5) * 30 } else { 7 }),
            }],
        }
    }

    fn random_points(n: u32, seed: u64) -> Vec<(u32, LatLng, EntryAttrs)> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|i| {
                // Clustered like a city: half around a few centres, half spread out.
                let p = if i % 2 == 0 {
                    let c = [(25.85, 114.93), (25.66, 114.75), (26.33, 115.37)][(i % 3) as usize];
                    LatLng::new(
                        c.0 + (rng.next() - 0.5) * 0.05,
                        c.1 + (rng.next() - 0.5) * 0.05,
                    )
                } else {
                    LatLng::new(24.5 + rng.next() * 2.3, 113.9 + rng.next() * 2.7)
                };
                (i, p, attrs(i))
            })
            .collect()
    }

    use evgrid_model::distance_m;

    fn brute(
        points: &[(u32, LatLng, EntryAttrs)],
        q: LatLng,
        k: usize,
        r: Option<f64>,
        f: &Filter,
    ) -> Vec<(u32, f64)> {
        let mut all: Vec<(u32, f64)> = points
            .iter()
            .filter(|(_, _, a)| f.matches(a))
            .map(|(key, p, _)| (*key, distance_m(q, *p)))
            .filter(|(_, d)| r.is_none_or(|r| *d <= r))
            .collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1));
        all.truncate(k);
        all
    }

    fn assert_same(hits: &[Hit<u32>], expected: &[(u32, f64)]) {
        assert_eq!(hits.len(), expected.len());
        for (h, (_, d)) in hits.iter().zip(expected) {
            // Distances must agree; keys may differ only between equidistant points.
            assert!((h.distance_m - d).abs() < 1e-6, "{} vs {}", h.distance_m, d);
        }
    }

    #[test]
    fn nearest_matches_brute_force_on_random_points() {
        let points = random_points(5000, 7);
        let index = SpatialIndex::build(points.clone());
        let mut rng = Rng(99);
        let filters = [
            Filter::default(),
            Filter {
                categories: Some(vec![Category::Public]),
                ..Filter::default()
            },
            Filter {
                current: Some(CurrentKind::Dc),
                min_power: Some(Power::from_kw(120)),
                ..Filter::default()
            },
            Filter {
                operator: Some(3),
                connector_type: Some(ConnectorType::AC_PLUG),
                ..Filter::default()
            },
            Filter {
                min_power: Some(Power::from_kw(1000)),
                ..Filter::default()
            },
        ];
        for i in 0..300 {
            let q = LatLng::new(24.4 + rng.next() * 2.5, 113.8 + rng.next() * 2.9);
            let f = &filters[i % filters.len()];
            let k = 1 + (i % 25);
            assert_same(
                &index.nearest(q, k, None, f),
                &brute(&points, q, k, None, f),
            );
            let r = 500.0 + rng.next() * 20_000.0;
            assert_same(
                &index.nearest(q, k, Some(r), f),
                &brute(&points, q, k, Some(r), f),
            );
            assert_same(
                &index.within(q, r, f),
                &brute(&points, q, usize::MAX, Some(r), f),
            );
        }
    }

    #[test]
    fn updates_are_visible_at_once_and_survive_rebuilds() {
        let mut points = random_points(2000, 3);
        let mut index = SpatialIndex::build(points.clone());
        let mut rng = Rng(5);
        for round in 0..600u32 {
            let i = (rng.next() * points.len() as f64) as usize;
            match round % 3 {
                0 => {
                    // move
                    let p = LatLng::new(24.5 + rng.next() * 2.3, 113.9 + rng.next() * 2.7);
                    points[i].1 = p;
                    index.upsert(points[i].0, p, points[i].2.clone());
                }
                1 => {
                    let (key, _, _) = points.swap_remove(i);
                    assert!(index.remove(key));
                    assert!(!index.remove(key));
                }
                _ => {
                    let key = 10_000 + round;
                    let p = LatLng::new(24.5 + rng.next() * 2.3, 113.9 + rng.next() * 2.7);
                    points.push((key, p, attrs(key)));
                    index.upsert(key, p, attrs(key));
                }
            }
            assert_eq!(index.len(), points.len());
            let q = LatLng::new(24.5 + rng.next() * 2.3, 113.9 + rng.next() * 2.7);
            let f = Filter::default();
            assert_same(
                &index.nearest(q, 10, None, &f),
                &brute(&points, q, 10, None, &f),
            );
        }
    }

    #[test]
    fn empty_index_answers_nothing() {
        let index: SpatialIndex<u32> = SpatialIndex::default();
        assert!(index
            .nearest(LatLng::new(25.0, 115.0), 10, None, &Filter::default())
            .is_empty());
    }
}
