#!/usr/bin/env bash
# The regulator's figures against an independent computation (tests/regulator/
# independent_coverage.py: plain Python, haversine and ray casting over data/ganzhou and the
# stations evgrid serves; openpyxl opens the workbook). Runs `evgrid demo`, then
# `evgrid coverage --out --map` on the same data directory.
# Usage: scripts/regulator-check.sh [path to the evgrid binary]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/demo.sh
bin=${1:-target/debug/evgrid}
ensure_venv openpyxl "openpyxl==3.1.5"
work=$(mktemp -d)
trap 'stop_demo; rm -rf "$work"' EXIT
start_demo "$bin" "$work"
"$bin" coverage --data-dir "$work/data" --out "$work/report.xlsx" --map "$work/map.png" --map-width 1200
token=$(demo_token)
.venv/bin/python tests/regulator/independent_coverage.py "$DEMO_URL" "$token" "$work/report.xlsx" "$work/map.png" 1200
