"""The MCLP baseline of `evgrid bench mclp`: spopt's MCLP (dense cost matrix, PuLP's CBC) on one
instance directory of the benchmark. Prints one JSON object: the chosen site ids, their covered
weight (recomputed here from the coordinates), and the seconds from the arrays to the answer
(cost matrix, model build, solve; reading the CSV files not counted).

Usage: python mclp_spopt.py INSTANCE_DIR
"""
import csv
import json
import sys
import time

import numpy as np
import pulp
from scipy.spatial.distance import cdist
from spopt.locate import MCLP


def read(path, columns):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[c]) for c in columns] for r in rows])


def main(directory):
    demand = read(f"{directory}/demand.csv", ["id", "x", "y", "weight"])
    sites = read(f"{directory}/sites.csv", ["id", "x", "y"])
    with open(f"{directory}/params.csv", newline="") as f:
        params = {r["name"]: r["value"] for r in csv.DictReader(f)}
    p, radius = int(params["p"]), float(params["radius_km"])
    started = time.perf_counter()
    cost = cdist(demand[:, 1:3], sites[:, 1:3])
    model = MCLP.from_cost_matrix(cost, demand[:, 3], service_radius=radius, p_facilities=p)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    seconds = time.perf_counter() - started
    chosen = [j for j in range(len(sites)) if (model.fac_vars[j].value() or 0) > 0.5]
    covered = (cost[:, chosen] <= radius).any(axis=1)
    print(json.dumps({
        "sites": [int(sites[j, 0]) for j in chosen],
        "objective": float(demand[covered, 3].sum()),
        "seconds": seconds,
        "status": pulp.LpStatus[model.problem.status],
    }))


if __name__ == "__main__":
    main(sys.argv[1])
