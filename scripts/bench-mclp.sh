#!/usr/bin/env bash
# The MCLP siting benchmark with its spopt baseline: installs spopt (with PuLP's CBC) in the
# project-local .venv if missing, builds the release binary, runs `evgrid bench mclp` over
# ../shared/bench/mclp (or the directory given) and keeps the table in bench/results/.
# Extra arguments go to the bench (e.g. --baseline-time-limit 600, --no-baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/demo.sh
dir=${1:-../shared/bench/mclp}
shift || true
ensure_venv spopt "spopt==0.7.0"
.venv/bin/python -c "import pulp" 2>/dev/null || .venv/bin/pip install --quiet --disable-pip-version-check "pulp==3.3.2"
cargo build --release -p evgrid
out="bench/results/mclp-$(nproc)core.md"
./target/release/evgrid bench mclp "$dir" --out "$out" "$@"
echo "table written to $out"
