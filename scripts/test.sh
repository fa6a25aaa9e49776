#!/usr/bin/env bash
# Every test of evgrid, from a fresh clone: formatting, lints, Rust unit and end-to-end tests
# (real HTTP on loopback, the real binary) on SQLite and on a throw-away PostgreSQL cluster, the
# web build check, and the browser tests in Debian's headless chromium. Installs what it needs
# (chromium, poppler-utils, HAProxy, PostgreSQL, npm packages) idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "system packages (chromium for the browser tests, poppler-utils to render and read the PDF reports, HAProxy in front of several nodes)"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-wqy-zenhei)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "${missing[*]} missing and this is not root: install them with apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
chromium --version
pdftoppm -v 2>&1 | sed -n 1p

step "web: npm packages and build (web/dist is committed; it must match web/src)"
cd "$root/web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
node build.mjs
npx tsc -p .
cd "$root"
if ! git diff --quiet -- web/dist 2>/dev/null; then
  echo "web/dist differs from a fresh build of web/src: run 'cd web && node build.mjs' and commit web/dist" >&2
  git --no-pager diff --stat -- web/dist >&2
  exit 1
fi

step "cargo fmt"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "PostgreSQL for the tests (a throw-away cluster on a free loopback port, removed at exit)"
source scripts/lib/postgres.sh
trap pg_stop EXIT
pg_start

step "Rust tests: unit, the architecture's invariants, the store contract on SQLite and PostgreSQL, end-to-end on SQLite"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --run-ignored all
else
  cargo test --workspace --no-fail-fast -- --include-ignored
fi

step "end-to-end tests again, on PostgreSQL (every command of them with --database)"
if cargo nextest --version >/dev/null 2>&1; then
  EVGRID_TEST_ENGINE=postgres cargo nextest run -p evgrid --no-fail-fast
else
  EVGRID_TEST_ENGINE=postgres cargo test -p evgrid --no-fail-fast
fi

cargo build --quiet -p evgrid

step "fuzzing: every input that once crashed, then each target briefly from its seeds (a longer run: bash scripts/fuzz.sh 0 600)"
bash scripts/fuzz.sh

step "API conformance (schemathesis against the OpenAPI document of a running demo)"
bash scripts/api-conformance.sh "$root/target/debug/evgrid"

step "T/CEC 102 platform side against an independent client (Python, written from the standard)"
bash scripts/tcec-conformance.sh "$root/target/debug/evgrid"

step "reporting upward against a superior platform written independently (Python, from the standard and the reference)"
bash scripts/superior-conformance.sh "$root/target/debug/evgrid"

step "OCPP 1.6 and 2.0.1 against charge points on the PyPI ocpp package (third party)"
bash scripts/ocpp-interop.sh "$root/target/debug/evgrid"

step "the independent T/CEC client, the PyPI ocpp charge points and the independent superior again, on PostgreSQL"
EVGRID_DATABASE_URL=$(pg_database evgrid_tcec_conformance) \
  bash scripts/tcec-conformance.sh "$root/target/debug/evgrid"
EVGRID_DATABASE_URL=$(pg_database evgrid_ocpp_interop) \
  bash scripts/ocpp-interop.sh "$root/target/debug/evgrid"
EVGRID_DATABASE_URL=$(pg_database evgrid_superior_conformance) \
  bash scripts/superior-conformance.sh "$root/target/debug/evgrid"

step "three nodes on one PostgreSQL behind HAProxy, a PyPI ocpp charge point through the balancer"
EVGRID_DATABASE_URL=$(pg_database evgrid_three_nodes) \
  bash scripts/nodes-haproxy.sh "$root/target/debug/evgrid"

step "the regulator's figures against an independent computation (Python; openpyxl opens the workbook)"
bash scripts/regulator-check.sh "$root/target/debug/evgrid"

step "browser tests (headless chromium against evgrid demo)"
cd "$root/web"
EVGRID_BIN="$root/target/debug/evgrid" node --test --test-concurrency=1 test/
