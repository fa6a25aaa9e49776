"""The baseline of `evgrid bench coverage`: what a GIS analyst would write with scipy.

Reads cells and stations (little-endian float64 lat, lng pairs), builds a cKDTree on 3-D
points of the sphere, queries every cell in batches with every core, turns chord lengths into
great-circle metres and writes them as float32. Prints {"seconds": build+query, "peak_mib"}.

Usage: coverage_baseline.py CELLS.bin STATIONS.bin OUT.bin
"""

import json
import resource
import sys
import time

import numpy as np
from scipy.spatial import cKDTree

R = 6_371_008.8
BATCH = 500_000


def xyz(latlng):
    lat = np.radians(latlng[:, 0])
    lng = np.radians(latlng[:, 1])
    c = np.cos(lat)
    return np.column_stack((c * np.cos(lng), c * np.sin(lng), np.sin(lat)))


def main():
    cells = np.fromfile(sys.argv[1], dtype="<f8").reshape(-1, 2)
    stations = np.fromfile(sys.argv[2], dtype="<f8").reshape(-1, 2)
    t = time.perf_counter()
    tree = cKDTree(xyz(stations))
    out = np.empty(len(cells), dtype="<f4")
    for start in range(0, len(cells), BATCH):
        chord, _ = tree.query(xyz(cells[start:start + BATCH]), k=1, workers=-1)
        out[start:start + BATCH] = 2 * R * np.arcsin(np.minimum(chord / 2, 1.0))
    seconds = time.perf_counter() - t
    out.tofile(sys.argv[3])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


if __name__ == "__main__":
    main()
