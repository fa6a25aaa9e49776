#!/usr/bin/env bash
# The API against its own OpenAPI document, checked by a client we did not write: schemathesis
# (PyPI, in the project-local .venv) fuzzes every documented operation of a running
# `evgrid demo` and fails on any answer the document does not allow (status, content type,
# body schema) and on any valid request refused or invalid request accepted.
# Usage: scripts/api-conformance.sh [path to the evgrid binary]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/evgrid}
if [ ! -x .venv/bin/schemathesis ]; then
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check schemathesis==4.32.5
fi
work=$(mktemp -d)
"$bin" demo --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 300); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$work/out" | head -1 || true)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { echo "evgrid demo did not start" >&2; exit 1; }
.venv/bin/schemathesis run "${url}api/openapi.json" --max-examples 50 --seed 20220701 --no-color
