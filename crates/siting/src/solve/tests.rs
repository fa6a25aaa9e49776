use super::*;
use crate::instance::{DemandPoint, Instance, Point};

/// A random instance: `n` demand points and `m` candidates in a 20 km box, clustered around a
/// few towns like the benchmark's.
fn random_problem(seed: u64, n: usize, m: usize, p: usize, existing: usize) -> Problem {
    let mut rng = SplitMix64(seed);
    let towns: Vec<Point> = (0..3)
        .map(|_| Point {
            x: rng.unit() * 20.0,
            y: rng.unit() * 20.0,
        })
        .collect();
    let near_town = |rng: &mut SplitMix64| {
        let t = towns[rng.below(towns.len() as u64) as usize];
        Point {
            x: t.x + (rng.unit() - 0.5) * 8.0,
            y: t.y + (rng.unit() - 0.5) * 8.0,
        }
    };
    let demand = (0..n)
        .map(|_| DemandPoint {
            at: near_town(&mut rng),
            weight: (1 + rng.below(50)) as f64,
        })
        .collect();
    let sites = (0..m).map(|_| near_town(&mut rng)).collect();
    let existing = (0..existing).map(|_| near_town(&mut rng)).collect();
    Problem {
        instance: Instance {
            demand,
            sites,
            site_ids: (0..m as i64).collect(),
        },
        p,
        radius_km: 2.0,
        existing,
    }
}

fn quiet() -> impl FnMut(Progress) {
    |_| {}
}

#[test]
fn finds_the_brute_force_optimum_on_small_instances_and_the_bound_holds() {
    let mut proven = 0;
    for seed in 0..40 {
        let problem = random_problem(
            seed,
            60,
            12,
            1 + (seed as usize % 4),
            (seed as usize % 3) * 2,
        );
        let (optimum, _) = brute_force(&problem);
        let solution = solve(&problem, &Options::default(), &mut quiet());
        assert_eq!(solution.objective, optimum, "seed {seed}");
        assert!(
            solution.upper_bound >= optimum,
            "seed {seed}: bound {} below the optimum {optimum}",
            solution.upper_bound
        );
        assert_eq!(solution.sites.len(), problem.p);
        proven += usize::from(solution.proven_optimal);
        // The reported sites really cover the reported weight.
        assert_eq!(
            covered_weight(&problem, &solution.sites),
            solution.objective,
            "seed {seed}"
        );
    }
    assert!(
        proven > 0,
        "the bound should meet the optimum on some small instance"
    );
}

#[test]
fn the_bound_is_never_below_the_objective_on_larger_instances() {
    for seed in 0..5 {
        let problem = random_problem(100 + seed, 3000, 400, 25, 5);
        let solution = solve(&problem, &Options::default(), &mut quiet());
        assert!(solution.upper_bound >= solution.objective);
        assert!(solution.objective >= solution.greedy_objective);
        assert!(solution.gap_pct >= 0.0);
        assert!(solution.objective <= solution.total_weight);
        assert!(solution.objective >= solution.base);
    }
}

#[test]
fn a_seed_gives_the_same_solution_every_time() {
    let problem = random_problem(7, 2000, 300, 20, 0);
    let options = Options {
        seed: 42,
        ..Options::default()
    };
    let first = solve(&problem, &options, &mut quiet());
    for _ in 0..2 {
        let again = solve(&problem, &options, &mut quiet());
        assert_eq!(
            (again.sites.clone(), again.objective, again.upper_bound),
            (first.sites.clone(), first.objective, first.upper_bound)
        );
    }
}

#[test]
fn progress_is_reported_through_to_done() {
    let problem = random_problem(3, 500, 80, 8, 0);
    let mut phases = Vec::new();
    let solution = solve(&problem, &Options::default(), &mut |p: Progress| {
        phases.push((p.phase, p.fraction))
    });
    assert_eq!(phases.first().map(|p| p.0), Some(Phase::Coverage));
    assert_eq!(phases.last().copied(), Some((Phase::Done, 1.0)));
    assert!(phases.windows(2).all(|w| w[0].1 <= w[1].1), "{phases:?}");
    assert!(solution.seconds > 0.0);
}

#[test]
fn existing_sites_count_as_covered() {
    let at = |x, y| Point { x, y };
    let instance = Instance {
        demand: vec![
            DemandPoint {
                at: at(0.0, 0.0),
                weight: 10.0,
            },
            DemandPoint {
                at: at(10.0, 0.0),
                weight: 3.0,
            },
        ],
        sites: vec![at(0.0, 0.5), at(10.0, 0.5)],
        site_ids: vec![5, 6],
    };
    // The heavy point is already covered: the one new site goes to the light one.
    let problem = Problem {
        instance,
        p: 1,
        radius_km: 1.0,
        existing: vec![at(0.5, 0.0)],
    };
    let solution = solve(&problem, &Options::default(), &mut quiet());
    assert_eq!(solution.sites, vec![1]);
    assert_eq!(
        (solution.objective, solution.base, solution.upper_bound),
        (13.0, 10.0, 13.0)
    );
    assert!(solution.proven_optimal);
}
