#!/usr/bin/env bash
# Reporting upward against a superior supervision platform written from the standard and the
# supervision reference alone (tests/superior/independent_superior.py: Python, the
# `cryptography` package from PyPI, in the project-local .venv). The script runs `evgrid serve`
# itself, plays an operator platform towards it and the superior evgrid reports to.
# Usage: scripts/superior-conformance.sh [path to the evgrid binary]
# (EVGRID_DATABASE_URL, when set, names the database evgrid runs on.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/demo.sh
bin=${1:-target/debug/evgrid}
ensure_venv cryptography "cryptography>=42"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python tests/superior/independent_superior.py "$bin" "$work" crates/app/tests/fixtures/good.csv
