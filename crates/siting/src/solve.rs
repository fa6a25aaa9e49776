//! The solver.
//!
//! 1. **Lazy greedy (CELF)**: open the candidate with the largest marginal gain, re-evaluating a
//!    stale gain only when it reaches the top of the heap (gains only shrink as sites open).
//! 2. **Swap local search**: for each closed candidate `k`, the best open site `o` to trade for
//!    it. With `count[g]` the open sites covering group `g` and `loss[o]` the weight only `o`
//!    covers, the swap gains `gain(k) + shared(k, o) − loss(o)`, where `shared` is the weight `k`
//!    covers that only `o` covered. The one open site covering a group with `count = 1` is the sum
//!    of the open sites covering it, so one pass over `k`'s groups prices every swap for `k`.
//! 3. **Lagrangian upper bound**: relaxing `y_g ≤ Σ x_j` with multipliers `0 ≤ λ_g ≤ w_g` gives
//!    `L(λ) = Σ (w_g − λ_g) + (sum of the p largest Σ_{g∈S_j} λ_g)`, an upper bound for every λ.
//!    The start is a dual ascent (DUALOC-like: raise each `λ_g`, fewest candidates first, while
//!    every candidate's `Σ λ` stays under a threshold μ found by golden-section search), which
//!    alone is a feasible LP dual; subgradient steps (Polyak, towards the best solution known)
//!    then lower it.
//! 4. **Iterated local search**: one to three random swaps of an open site for a candidate
//!    sharing demand with it, then local search over the candidates near the change; kept when
//!    not worse (or within `tolerance`), else back. A full pass ends it. Stops when the solution
//!    meets the bound (proven optimal), after `max_stall` kicks without improvement, or at the
//!    time limit.
//!
//! Everything runs on integer weights, and randomness comes from the seed, so a run is
//! reproducible unless the time limit cuts it short.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use evgrid_model::rng::SplitMix64;
use serde::Serialize;

use crate::cover::Coverage;
use crate::instance::Problem;

/// Coverage-matrix entries the subgradient may read (the steps are capped so).
const BOUND_WORK: usize = 300_000_000;

/// How long and how hard to search.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of the random kicks.
    pub seed: u64,
    /// Wall-clock limit for the whole solve (coverage, search and bound).
    pub time_limit: Duration,
    /// Iterated local search stops after this many kicks in a row without improvement.
    pub max_stall: usize,
    /// A kick's result is accepted when it covers at most this share of the coverable weight
    /// less than the current solution.
    pub tolerance: f64,
    /// Subgradient iterations of the bound (split before and after the improvement phase).
    pub bound_iterations: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            time_limit: Duration::from_secs(60),
            max_stall: 1000,
            tolerance: 0.0,
            bound_iterations: 600,
        }
    }
}

impl Options {
    /// The defaults with a seed, a time limit in seconds and a stall limit; `None` when the time
    /// limit is not a positive number of seconds.
    pub fn with_limits(seed: u64, time_limit_seconds: f64, max_stall: usize) -> Option<Self> {
        if !(time_limit_seconds.is_finite() && time_limit_seconds > 0.0) {
            return None;
        }
        Some(Options {
            seed,
            time_limit: Duration::from_secs_f64(time_limit_seconds),
            max_stall,
            ..Options::default()
        })
    }
}

/// The phase a progress report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Building the coverage sets.
    Coverage,
    /// Lazy greedy.
    Greedy,
    /// Swap local search.
    LocalSearch,
    /// Lagrangian bound.
    Bound,
    /// Iterated local search.
    Improve,
    /// Finished.
    Done,
}

/// A progress report: the best objective and bound so far, and the share of the work done.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Best covered weight so far (input units, existing coverage included).
    pub objective: f64,
    /// Best upper bound so far.
    pub upper_bound: f64,
    /// Work done, 0..1 (by time or iterations, whichever is further).
    pub fraction: f64,
}

/// A solution with its bound.
#[derive(Debug, Clone, Serialize)]
pub struct Solution {
    /// Indices (into the instance's sites) of the chosen candidates, ascending.
    pub sites: Vec<usize>,
    /// Covered weight, existing coverage included.
    pub objective: f64,
    /// No solution covers more than this.
    pub upper_bound: f64,
    /// (upper_bound − objective) / upper_bound, in percent.
    pub gap_pct: f64,
    /// The bound is met: the solution is optimal.
    pub proven_optimal: bool,
    /// Covered weight after the lazy greedy.
    pub greedy_objective: f64,
    /// Weight covered by the existing sites alone.
    pub base: f64,
    /// Total demand weight.
    pub total_weight: f64,
    /// Kicks of the iterated local search.
    pub kicks: usize,
    /// The time limit cut the search short (the result then depends on the machine's speed).
    pub timed_out: bool,
    /// Wall seconds of the whole solve.
    pub seconds: f64,
}

/// Solves `problem` (checked with [`Problem::check`] first), reporting progress.
pub fn solve(problem: &Problem, options: &Options, progress: &mut dyn FnMut(Progress)) -> Solution {
    let started = Instant::now();
    let deadline = started + options.time_limit;
    let fraction = |work: f64| {
        (started.elapsed().as_secs_f64() / options.time_limit.as_secs_f64())
            .max(work)
            .min(1.0)
    };
    progress(Progress {
        phase: Phase::Coverage,
        objective: 0.0,
        upper_bound: f64::INFINITY,
        fraction: 0.0,
    });
    let cov = Coverage::build(problem);
    let value = |units: i64| cov.to_weight(cov.base + units);

    let mut state = State::new(&cov);
    state.greedy_fill(problem.p);
    let greedy = state.covered;
    progress(Progress {
        phase: Phase::Greedy,
        objective: value(greedy),
        upper_bound: f64::INFINITY,
        fraction: fraction(0.1),
    });
    let mut scratch = Scratch::new(cov.sites());
    state.local_search(deadline, &mut scratch);
    let mut best = state.chosen_sorted();
    let mut best_covered = state.covered;
    let mut bound = Lagrangian::new(&cov, problem.p);
    bound.dual_ascent();
    // Each subgradient step reads the whole coverage matrix: large instances get fewer steps
    // (a fixed amount of work, so the result stays the same for a seed).
    let bound_iterations = options
        .bound_iterations
        .min(BOUND_WORK / cov.nonzeros().max(1))
        .max(options.bound_iterations.min(50));
    let first_bound_iterations = bound_iterations / 2;
    bound.run(first_bound_iterations, best_covered, deadline);
    // Lagrangian heuristic: the relaxation's own choice of sites, improved by local search.
    if bound.best_sites.len() == problem.p {
        state.set(&bound.best_sites);
        state.local_search(deadline, &mut scratch);
        if state.covered > best_covered {
            best_covered = state.covered;
            best = state.chosen_sorted();
        } else {
            state.set(&best);
        }
    }
    progress(Progress {
        phase: Phase::Bound,
        objective: value(best_covered),
        upper_bound: value(bound.best()),
        fraction: fraction(0.3),
    });

    let mut rng = SplitMix64(options.seed);
    let mut kicks = 0;
    let mut stall = 0;
    // Accept a kick's result unless it is worse than the current solution by more than
    // `tolerance` (a sliver of the weight, so the search can cross shallow valleys); the best
    // solution is kept apart.
    let tolerance = (cov.weight.iter().sum::<i64>() as f64 * options.tolerance) as i64;
    let mut current = best.clone();
    let mut current_covered = best_covered;
    while best_covered < bound.best() && stall < options.max_stall && Instant::now() < deadline {
        kicks += 1;
        stall += 1;
        let changed = state.kick(&mut rng);
        state.local_search_around(&changed, &mut scratch);
        if state.covered > best_covered {
            best_covered = state.covered;
            best = state.chosen_sorted();
            stall = 0;
            progress(Progress {
                phase: Phase::Improve,
                objective: value(best_covered),
                upper_bound: value(bound.best()),
                fraction: fraction(0.3 + 0.6 * kicks as f64 / (kicks + options.max_stall) as f64),
            });
        }
        if state.covered + tolerance >= current_covered {
            current_covered = state.covered;
            current = state.chosen_sorted();
        } else {
            state.set(&current);
        }
    }
    // The neighbourhood searches may miss a swap with a far candidate: one full pass at the end.
    state.set(&best);
    state.local_search(deadline, &mut scratch);
    if state.covered > best_covered {
        best_covered = state.covered;
        best = state.chosen_sorted();
    }
    if best_covered < bound.best() {
        bound.run(
            bound_iterations - first_bound_iterations,
            best_covered,
            deadline,
        );
    }
    let timed_out = Instant::now() >= deadline;
    let upper = bound.best().max(best_covered);
    let solution = Solution {
        sites: best,
        objective: value(best_covered),
        upper_bound: value(upper),
        gap_pct: if upper > 0 {
            100.0 * (upper - best_covered) as f64 / (cov.base + upper) as f64
        } else {
            0.0
        },
        proven_optimal: best_covered >= upper,
        greedy_objective: value(greedy),
        base: cov.to_weight(cov.base),
        total_weight: cov.to_weight(cov.total),
        kicks,
        timed_out,
        seconds: started.elapsed().as_secs_f64(),
    };
    progress(Progress {
        phase: Phase::Done,
        objective: solution.objective,
        upper_bound: solution.upper_bound,
        fraction: 1.0,
    });
    solution
}

/// The open sites and, per group, how many open sites cover it and which (when one).
struct State<'a> {
    cov: &'a Coverage,
    count: Vec<u32>,
    /// Sum of the open sites covering each group: the one site when `count` is 1.
    owner_sum: Vec<u64>,
    is_open: Vec<bool>,
    /// Weight each open site alone covers.
    loss: Vec<i64>,
    chosen: Vec<usize>,
    /// Covered weight of the groups (integer units, existing coverage not included).
    covered: i64,
}

impl<'a> State<'a> {
    fn new(cov: &'a Coverage) -> Self {
        let (n, m) = (cov.weight.len(), cov.sites());
        State {
            cov,
            count: vec![0; n],
            owner_sum: vec![0; n],
            is_open: vec![false; m],
            loss: vec![0; m],
            chosen: Vec::new(),
            covered: 0,
        }
    }

    fn open(&mut self, k: usize) {
        for &g in self.cov.groups_of_site(k) {
            let g = g as usize;
            let w = self.cov.weight[g];
            match self.count[g] {
                0 => {
                    self.loss[k] += w;
                    self.covered += w;
                }
                1 => self.loss[self.owner_sum[g] as usize] -= w,
                _ => {}
            }
            self.count[g] += 1;
            self.owner_sum[g] += k as u64;
        }
        self.is_open[k] = true;
        self.chosen.push(k);
    }

    fn close(&mut self, k: usize) {
        for &g in self.cov.groups_of_site(k) {
            let g = g as usize;
            let w = self.cov.weight[g];
            self.count[g] -= 1;
            self.owner_sum[g] -= k as u64;
            match self.count[g] {
                0 => self.covered -= w,
                1 => self.loss[self.owner_sum[g] as usize] += w,
                _ => {}
            }
        }
        self.loss[k] = 0;
        self.is_open[k] = false;
        if let Some(i) = self.chosen.iter().position(|&c| c == k) {
            self.chosen.swap_remove(i);
        }
    }

    /// Weight `k` would add if opened now.
    fn gain(&self, k: usize) -> i64 {
        self.cov
            .groups_of_site(k)
            .iter()
            .filter(|&&g| self.count[g as usize] == 0)
            .map(|&g| self.cov.weight[g as usize])
            .sum()
    }

    fn chosen_sorted(&self) -> Vec<usize> {
        let mut sites = self.chosen.clone();
        sites.sort_unstable();
        sites
    }

    /// Opens sites by lazy greedy until `p` are open.
    fn greedy_fill(&mut self, p: usize) {
        let mut heap: BinaryHeap<(i64, Reverse<usize>)> = (0..self.cov.sites())
            .filter(|&k| !self.is_open[k])
            .map(|k| (self.gain(k), Reverse(k)))
            .collect();
        while self.chosen.len() < p {
            let Some((stale, Reverse(k))) = heap.pop() else {
                break;
            };
            let fresh = self.gain(k);
            let next = heap.peek().map_or(i64::MIN, |&(g, _)| g);
            if fresh >= next || fresh == stale {
                self.open(k);
            } else {
                heap.push((fresh, Reverse(k)));
            }
        }
    }

    /// Makes `sites` the open set.
    fn set(&mut self, sites: &[usize]) {
        let target: std::collections::HashSet<usize> = sites.iter().copied().collect();
        for k in self.chosen.clone() {
            if !target.contains(&k) {
                self.close(k);
            }
        }
        for &k in sites {
            if !self.is_open[k] {
                self.open(k);
            }
        }
    }

    /// A few random swaps between an open site and a closed candidate near it (one that
    /// covers some of the same demand): the perturbation of the iterated local search.
    fn kick(&mut self, rng: &mut SplitMix64) -> Vec<usize> {
        let mut changed = Vec::new();
        let swaps = 1 + rng.below(self.chosen.len().clamp(1, 3) as u64) as usize;
        for _ in 0..swaps {
            let out = self.chosen[rng.below(self.chosen.len() as u64) as usize];
            let groups = self.cov.groups_of_site(out);
            if groups.is_empty() {
                continue;
            }
            let g = groups[rng.below(groups.len() as u64) as usize] as usize;
            let near = self.cov.sites_of_group(g);
            let incoming = near[rng.below(near.len() as u64) as usize] as usize;
            if !self.is_open[incoming] {
                self.close(out);
                self.open(incoming);
                changed.extend([out, incoming]);
            }
        }
        changed
    }

    /// The best open site to trade for closed candidate `k`, when the trade gains.
    fn best_swap(&self, k: usize, scratch: &mut Scratch) -> Option<(i64, usize)> {
        let mut gain = 0;
        for &g in self.cov.groups_of_site(k) {
            let g = g as usize;
            match self.count[g] {
                0 => gain += self.cov.weight[g],
                1 => {
                    let o = self.owner_sum[g] as usize;
                    if !scratch.touched_mark[o] {
                        scratch.touched_mark[o] = true;
                        scratch.touched.push(o);
                    }
                    scratch.shared[o] += self.cov.weight[g];
                }
                _ => {}
            }
        }
        let better = |delta: i64, o: usize, best: (i64, usize)| {
            delta > best.0 || (delta == best.0 && delta > 0 && o < best.1)
        };
        let mut best = (0i64, usize::MAX);
        for &o in &scratch.touched {
            let delta = gain + scratch.shared[o] - self.loss[o];
            if better(delta, o, best) {
                best = (delta, o);
            }
        }
        if gain - scratch.min_loss > best.0 {
            for &o in &self.chosen {
                let delta = gain - self.loss[o];
                if !scratch.touched_mark[o] && better(delta, o, best) {
                    best = (delta, o);
                }
            }
        }
        for &o in &scratch.touched {
            scratch.touched_mark[o] = false;
            scratch.shared[o] = 0;
        }
        scratch.touched.clear();
        (best.0 > 0).then_some(best)
    }

    fn swap(&mut self, out: usize, incoming: usize, scratch: &mut Scratch) {
        self.close(out);
        self.open(incoming);
        scratch.min_loss = self.chosen.iter().map(|&o| self.loss[o]).min().unwrap_or(0);
    }

    /// Best swap for each closed candidate in turn, applied when it gains; until a whole pass
    /// finds nothing (or the deadline).
    fn local_search(&mut self, deadline: Instant, scratch: &mut Scratch) {
        scratch.min_loss = self.chosen.iter().map(|&o| self.loss[o]).min().unwrap_or(0);
        loop {
            let mut improved = false;
            for k in 0..self.cov.sites() {
                if self.is_open[k] {
                    continue;
                }
                if let Some((_, o)) = self.best_swap(k, scratch) {
                    self.swap(o, k, scratch);
                    improved = true;
                }
            }
            if !improved || Instant::now() >= deadline {
                return;
            }
        }
    }

    /// Local search over the candidates near `changed` sites (sharing demand with them), and
    /// near each swap it makes: after a kick, the gains that changed are there.
    fn local_search_around(&mut self, changed: &[usize], scratch: &mut Scratch) {
        scratch.min_loss = self.chosen.iter().map(|&o| self.loss[o]).min().unwrap_or(0);
        let mut queue = std::collections::VecDeque::new();
        let cov = self.cov;
        let enqueue_near =
            |site: usize, queue: &mut std::collections::VecDeque<usize>, queued: &mut Vec<bool>| {
                for &g in cov.groups_of_site(site) {
                    for &j in cov.sites_of_group(g as usize) {
                        if !queued[j as usize] {
                            queued[j as usize] = true;
                            queue.push_back(j as usize);
                        }
                    }
                }
            };
        let mut queued = std::mem::take(&mut scratch.queued);
        for &site in changed {
            enqueue_near(site, &mut queue, &mut queued);
        }
        while let Some(k) = queue.pop_front() {
            queued[k] = false;
            if self.is_open[k] {
                continue;
            }
            if let Some((_, o)) = self.best_swap(k, scratch) {
                self.swap(o, k, scratch);
                enqueue_near(k, &mut queue, &mut queued);
                enqueue_near(o, &mut queue, &mut queued);
            }
        }
        scratch.queued = queued;
    }
}

/// Buffers of the local search, kept between calls.
struct Scratch {
    shared: Vec<i64>,
    touched_mark: Vec<bool>,
    touched: Vec<usize>,
    queued: Vec<bool>,
    /// Smallest loss of an open site.
    min_loss: i64,
}

impl Scratch {
    fn new(sites: usize) -> Self {
        Scratch {
            shared: vec![0; sites],
            touched_mark: vec![false; sites],
            touched: Vec::new(),
            queued: vec![false; sites],
            min_loss: 0,
        }
    }
}

/// The Lagrangian relaxation of the coverage constraints, lowered by subgradient steps.
struct Lagrangian<'a> {
    cov: &'a Coverage,
    p: usize,
    lambda: Vec<f64>,
    /// Best (lowest) bound, integer units.
    best: i64,
    step: f64,
    since_better: usize,
    value: Vec<f64>,
    order: Vec<usize>,
    hits: Vec<u32>,
    /// The p candidates of the relaxation at the best bound: a start for the local search.
    best_sites: Vec<usize>,
}

impl<'a> Lagrangian<'a> {
    fn new(cov: &'a Coverage, p: usize) -> Self {
        let coverable: i64 = cov.weight.iter().sum();
        Lagrangian {
            cov,
            p,
            lambda: vec![0.0; cov.weight.len()],
            best: coverable,
            step: 1.0,
            since_better: 0,
            value: vec![0.0; cov.sites()],
            order: (0..cov.sites()).collect(),
            hits: vec![0; cov.weight.len()],
            best_sites: Vec::new(),
        }
    }

    fn best(&self) -> i64 {
        self.best
    }

    /// Sets the bound as `p·μ + Σ (w_g − λ_g)` with λ from dual ascent at the threshold μ:
    /// each group, fewest covering candidates first, raises `λ_g` as far as `w_g` and the
    /// slack `μ − Σ λ` of its candidates allow. Every candidate then has `Σ λ ≤ μ`, so this is
    /// a feasible point of the LP dual. μ is chosen by golden-section search; the multipliers
    /// are the subgradient's start.
    fn dual_ascent(&mut self) {
        let cov = self.cov;
        let n = cov.weight.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&g| (cov.sites_of_group(g).len(), g));
        let mut slack = vec![0.0f64; cov.sites()];
        let mut lambda = vec![0.0f64; n];
        let mut ascend = |mu: f64, lambda: &mut Vec<f64>| -> f64 {
            slack.iter_mut().for_each(|s| *s = mu);
            let mut bound = self.p as f64 * mu;
            for &g in &order {
                let sites = cov.sites_of_group(g);
                let room = sites
                    .iter()
                    .map(|&j| slack[j as usize])
                    .fold(cov.weight[g] as f64, f64::min)
                    .max(0.0);
                lambda[g] = room;
                for &j in sites {
                    slack[j as usize] -= room;
                }
                bound += cov.weight[g] as f64 - room;
            }
            bound
        };
        let top = (0..cov.sites())
            .map(|j| {
                cov.groups_of_site(j)
                    .iter()
                    .map(|&g| cov.weight[g as usize] as f64)
                    .sum::<f64>()
            })
            .fold(0.0, f64::max);
        let (mut a, mut b) = (0.0, top);
        let ratio = (5f64.sqrt() - 1.0) / 2.0;
        let mut best = (f64::INFINITY, 0.0);
        for _ in 0..32 {
            let (c, d) = (b - ratio * (b - a), a + ratio * (b - a));
            let (fc, fd) = (ascend(c, &mut lambda), ascend(d, &mut lambda));
            for (f, mu) in [(fc, c), (fd, d)] {
                if f < best.0 {
                    best = (f, mu);
                }
            }
            if fc < fd {
                b = d;
            } else {
                a = c;
            }
        }
        let bound = ascend(best.1, &mut lambda);
        self.lambda = lambda;
        let units = (bound + 1e-7 * bound.abs().max(1.0)).floor() as i64;
        self.best = self.best.min(units);
    }

    /// Up to `iterations` subgradient steps towards `lower` (the best solution's weight).
    fn run(&mut self, iterations: usize, lower: i64, deadline: Instant) {
        let cov = self.cov;
        for _ in 0..iterations {
            if self.best <= lower || self.step < 1e-6 || Instant::now() >= deadline {
                return;
            }
            for (j, v) in self.value.iter_mut().enumerate() {
                *v = cov
                    .groups_of_site(j)
                    .iter()
                    .map(|&g| self.lambda[g as usize])
                    .sum();
            }
            let p = self.p.min(self.order.len());
            let value = &self.value;
            let by_value = |a: &usize, b: &usize| value[*b].total_cmp(&value[*a]).then(a.cmp(b));
            if p < self.order.len() {
                self.order.select_nth_unstable_by(p, by_value);
            }
            let top = &self.order[..p];
            let bound: f64 = cov
                .weight
                .iter()
                .zip(&self.lambda)
                .map(|(&w, &l)| w as f64 - l)
                .sum::<f64>()
                + top.iter().map(|&j| value[j]).sum::<f64>();
            // Integer weights: the optimum is an integer no larger than the bound (rounding
            // error of the sums is far below the margin).
            let bound_units = (bound + 1e-7 * bound.abs().max(1.0)).floor() as i64;
            if bound_units < self.best {
                self.best = bound_units;
                self.since_better = 0;
                self.best_sites = top.to_vec();
            } else {
                self.since_better += 1;
                if self.since_better >= 20 {
                    self.step /= 2.0;
                    self.since_better = 0;
                }
            }
            self.hits.iter_mut().for_each(|h| *h = 0);
            for &j in top {
                for &g in cov.groups_of_site(j) {
                    self.hits[g as usize] += 1;
                }
            }
            let mut norm = 0.0;
            for (g, &h) in self.hits.iter().enumerate() {
                let s = subgradient(h, self.lambda[g], cov.weight[g]);
                norm += s * s;
            }
            if norm == 0.0 {
                return;
            }
            let t = self.step * (bound - lower as f64).max(1.0) / norm;
            for (g, &h) in self.hits.iter().enumerate() {
                let w = cov.weight[g] as f64;
                let s = subgradient(h, self.lambda[g], cov.weight[g]);
                self.lambda[g] = (self.lambda[g] - t * s).clamp(0.0, w);
            }
        }
    }
}

/// ∂L/∂λ_g = (open sites covering g) − y_g, with y_g = 1 while λ_g < w_g (and, at λ_g = w_g
/// where y_g is free, the choice that keeps the step small).
fn subgradient(hits: u32, lambda: f64, weight: i64) -> f64 {
    let y = if lambda < weight as f64 {
        1.0
    } else {
        f64::from(hits.min(1))
    };
    f64::from(hits) - y
}

/// The weight within the radius of `sites` (indices into the instance's sites) or of a site
/// already there, computed from the coordinates one pair at a time: the check of a solution
/// that does not trust the coverage sets.
pub fn covered_weight(problem: &Problem, sites: &[usize]) -> f64 {
    let instance = &problem.instance;
    let r2 = problem.radius_km * problem.radius_km;
    instance
        .demand
        .iter()
        .filter(|d| {
            problem.existing.iter().any(|&e| d.at.distance2(e) <= r2)
                || sites
                    .iter()
                    .any(|&j| d.at.distance2(instance.sites[j]) <= r2)
        })
        .map(|d| d.weight)
        .sum()
}

/// The optimum by trying every set of `p` candidates: for tests on small instances.
pub fn brute_force(problem: &Problem) -> (f64, Vec<usize>) {
    let m = problem.instance.sites.len();
    let mut best = (f64::MIN, Vec::new());
    let mut set: Vec<usize> = (0..problem.p).collect();
    loop {
        let value = covered_weight(problem, &set);
        if value > best.0 {
            best = (value, set.clone());
        }
        // Next combination in lexicographic order.
        let mut i = problem.p;
        loop {
            if i == 0 {
                return best;
            }
            i -= 1;
            if set[i] < m - problem.p + i {
                break;
            }
        }
        set[i] += 1;
        for k in i + 1..problem.p {
            set[k] = set[k - 1] + 1;
        }
    }
}

#[cfg(test)]
mod tests;
