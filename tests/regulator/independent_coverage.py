"""The regulator's figures of a running evgrid, recomputed independently.

Written from the method in the issue and the API document only, in plain Python (great-circle
distances by haversine, point in polygon by ray casting, brute force everywhere), over the
reference files in data/ganzhou and the stations evgrid serves. Also opens the workbook written
by `evgrid coverage --out` with openpyxl (a spreadsheet reader we did not write) and checks the
PNG map's header.

Usage: independent_coverage.py BASE_URL TOKEN WORKBOOK.xlsx MAP.png MAP_WIDTH (TOKEN: a regulator's)
"""

import csv
import json
import math
import struct
import sys
import urllib.request
from pathlib import Path

import openpyxl

R = 6_371_008.8
CITY_AREA_KM2 = 39_379.64
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "ganzhou"

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


TOKEN = ""


def get(base, path):
    request = urllib.request.Request(base.rstrip("/") + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.loads(r.read())


def haversine(lat1, lng1, lat2, lng2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(min(1.0, math.sqrt(h)))


def ring_contains(ring, x, y):
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def polygons_of(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return geometry["coordinates"]


def in_polygons(polys, lng, lat):
    for rings in polys:
        if ring_contains(rings[0], lng, lat) and not any(ring_contains(h, lng, lat) for h in rings[1:]):
            return True
    return False


def main():
    global TOKEN
    base, TOKEN, workbook, png, map_width = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

    counties = {}
    for f in json.loads((DATA / "ganzhou_counties.geojson").read_text())["features"]:
        counties[f["properties"]["code"]] = polygons_of(f["geometry"])
    townships = []
    with open(DATA / "townships.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] in ("街道", "镇", "乡"):
                townships.append(row)
    hotspots = list(csv.DictReader(open(DATA / "hotspots.csv", encoding="utf-8")))
    zhangjiang = json.loads((DATA / "zhangjiang_new_district.geojson").read_text())["features"][0]

    stations = get(base, "/api/v1/map/stations")["features"]
    public = [(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
              for f in stations if f["properties"]["category"] == "public"]
    summary = get(base, "/api/v1/coverage/summary")

    # Planning-norm radius.
    radius = math.sqrt(CITY_AREA_KM2 / (math.pi * len(public)))
    check(summary["public_stations"] == len(public), f"public stations {len(public)}")
    check(abs(summary["planning_radius_km"] - radius) < 1e-9, f"planning radius {radius:.4f} km")
    check(abs(radius - 3.0) <= 0.1, "planning radius 3.0 ± 0.1 km")

    # Townships: county by polygon, township by the nearest centre within the county.
    by_county = {}
    for t in townships:
        by_county.setdefault(t["county_code"], []).append(t)
    covered = set()
    for lat, lng in public:
        county = next((c for c, polys in counties.items() if in_polygons(polys, lng, lat)), None)
        if county is None or county not in by_county:
            continue
        nearest = min(by_county[county], key=lambda t: haversine(lat, lng, float(t["lat"]), float(t["lon"])))
        covered.add(nearest["code9"])
    check(summary["townships"]["total"] == len(townships), f"{len(townships)} townships")
    check(summary["townships"]["covered"] == len(covered),
          f"townships covered: independent {len(covered)}, evgrid {summary['townships']['covered']}")
    check(len(covered) > len(townships) / 2, "more than half of the townships covered")
    listed = get(base, "/api/v1/coverage/townships")["townships"]
    evgrid_covered = {t["code"] for t in listed if t["covered"]}
    check(evgrid_covered == covered, "the same townships are covered")
    worst = 0.0
    for t in listed[::7]:
        d = min(haversine(t["centre"]["lat"], t["centre"]["lng"], lat, lng) for lat, lng in public)
        worst = max(worst, abs(d - t["nearest_distance_m"]))
    check(worst < 0.5, f"township distances to the nearest public station agree (worst {worst:.3f} m)")

    # Hot spots within 1 km.
    near = [min(haversine(float(h["lat"]), float(h["lon"]), lat, lng) for lat, lng in public) for h in hotspots]
    n_covered = sum(1 for d in near if d <= 1000)
    check(summary["hotspots"]["total"] == len(hotspots), f"{len(hotspots)} hot spots")
    check(summary["hotspots"]["covered"] == n_covered, f"hot spots within 1 km: {n_covered}")
    check(n_covered == len(hotspots), "every hot spot covered")
    api_hot = get(base, "/api/v1/coverage/hotspots")["hotspots"]
    check(all(abs(a["distance_m"] - d) < 0.5 for a, d in zip(api_hot, near)), "hot-spot distances agree")

    # The charging circle: sample the area on a 100 m lattice.
    polys = polygons_of(zhangjiang["geometry"])
    xs = [p[0] for p in polys[0][0]]
    ys = [p[1] for p in polys[0][0]]
    step_lat = 100 / 111_195
    step_lng = step_lat / math.cos(math.radians(sum(ys) / len(ys)))
    nearby = [(lat, lng) for lat, lng in public if min(ys) - 0.1 < lat < max(ys) + 0.1 and min(xs) - 0.1 < lng < max(xs) + 0.1]
    distances = []
    lat = min(ys) + step_lat / 2
    while lat < max(ys):
        lng = min(xs) + step_lng / 2
        while lng < max(xs):
            if in_polygons(polys, lng, lat):
                distances.append(min(haversine(lat, lng, a, b) for a, b in nearby))
            lng += step_lng
        lat += step_lat
    share = sum(1 for d in distances if d <= 2000) / len(distances)
    farthest = max(distances)
    circle = summary["circle"]
    check(abs(circle["share"] - share) < 0.02, f"Zhangjiang 2 km circle: independent {share:.4f}, evgrid {circle['share']:.4f}")
    check(abs(circle["max_distance_m"] - farthest) < 120, f"circle's farthest point: independent {farthest:.0f} m, evgrid {circle['max_distance_m']:.0f} m")
    # A tighter circle leaves gaps: the share and the gap polygons must follow.
    for radius_km in (0.3, 0.5):
        share = sum(1 for d in distances if d <= radius_km * 1000) / len(distances)
        api = get(base, f"/api/v1/coverage/circle?circle_radius_km={radius_km}")
        check(abs(api["share"] - share) < 0.03, f"{radius_km} km circle: independent {share:.4f}, evgrid {api['share']:.4f}")
        gap_polys = polygons_of(api["gaps"])
        probe = [(lat, lng) for lat, lng in ((25.8306 + dy * 0.003, 114.9328 + dx * 0.003) for dy in range(-6, 7) for dx in range(-6, 7))
                 if in_polygons(polys, lng, lat)]
        agree = sum(1 for lat, lng in probe
                    if in_polygons(gap_polys, lng, lat) == (min(haversine(lat, lng, a, b) for a, b in nearby) > radius_km * 1000))
        check(agree >= 0.95 * len(probe), f"{radius_km} km circle: gap polygons hold the far points ({agree}/{len(probe)})")

    # The workbook opens in a spreadsheet reader: sheets, a frozen header, typed numbers.
    wb = openpyxl.load_workbook(workbook)
    names = wb.sheetnames
    check({"service radius", "townships", "hotspots", "charging circle", "targets"} <= set(names), f"sheets {names}")
    ws = wb["service radius"]
    check(ws.freeze_panes == "A2", "the header row is frozen")
    header = [c.value for c in ws[1]]
    col = header.index("规划服务半径 Planning radius km")
    value = ws.cell(row=2, column=col + 1).value
    check(isinstance(value, float) and abs(value - radius) < 1e-9, f"the city's planning radius is a number in the sheet ({value})")
    tw = wb["townships"]
    check(tw.max_row - 1 == len(townships), f"{tw.max_row - 1} township rows")
    pop_col = [c.value for c in tw[1]].index("人口(估) Population") + 1
    check(all(isinstance(tw.cell(row=r, column=pop_col).value, (int, float)) for r in range(2, tw.max_row + 1)),
          "township populations are numbers")

    # The map is a PNG of the asked width.
    head = Path(png).read_bytes()[:24]
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "the map is a PNG")
    width, height = struct.unpack(">II", head[16:24])
    check(width == map_width and height > width // 2, f"map {width}×{height}")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("the regulator's figures agree with an independent computation")


if __name__ == "__main__":
    main()
