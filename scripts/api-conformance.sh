#!/usr/bin/env bash
# The API against its own OpenAPI document, checked by a client we did not write: schemathesis
# (PyPI, in the project-local .venv) fuzzes every documented operation of a running
# `evgrid demo` and fails on any answer the document does not allow (status, content type,
# body schema) and on any valid request refused or invalid request accepted. It calls as the
# demo's regulator (bearer token); logout is left out (it would end that session mid-run; the
# end-to-end tests cover it).
# Usage: scripts/api-conformance.sh [path to the evgrid binary]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/demo.sh
bin=${1:-target/debug/evgrid}
ensure_venv schemathesis schemathesis==4.32.5
work=$(mktemp -d)
trap 'stop_demo; rm -rf "$work"' EXIT
start_demo "$bin" "$work"
token=$(demo_token)
.venv/bin/schemathesis run "${DEMO_URL}api/openapi.json" --max-examples 50 --seed 20220701 --no-color \
  -H "Authorization: Bearer $token" --exclude-path /api/v1/auth/logout
