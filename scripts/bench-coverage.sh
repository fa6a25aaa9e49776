#!/usr/bin/env bash
# The coverage benchmark with its scipy baseline: installs numpy and scipy in the project-local
# .venv if missing, builds the release binary, runs `evgrid bench coverage` and keeps the table
# in bench/results/. Extra arguments go to the bench (e.g. --stations 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/demo.sh
ensure_venv scipy "scipy==1.17.1"
cargo build --release -p evgrid
out="bench/results/coverage-$(nproc)core.md"
./target/release/evgrid bench coverage --out "$out" "$@"
echo "table written to $out"
