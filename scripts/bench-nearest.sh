#!/usr/bin/env bash
# The nearest-search benchmark with its PostGIS baseline: installs Debian's PostgreSQL 15 and
# PostGIS 3 if missing (root), builds the release binary, runs `evgrid bench nearest` and keeps
# the table in bench/results/. Extra arguments go to the bench (e.g. --seconds 10).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -e /usr/share/postgresql/15/extension/postgis.control ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >/dev/null
fi
cargo build --release -p evgrid
out="bench/results/nearest-$(nproc)core.md"
./target/release/evgrid bench nearest --out "$out" "$@"
echo "table written to $out"
