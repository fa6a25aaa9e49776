# Shared by the conformance scripts (sourced, not run).

# ensure_venv MODULE PIP_SPEC: the project-local .venv with MODULE importable.
ensure_venv() {
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import $1" 2>/dev/null; then
    [ -x .venv/bin/pip ] || python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "$2"
  fi
}

# The password the demos started here give their `regulator` account.
DEMO_REGULATOR_PASSWORD=${DEMO_REGULATOR_PASSWORD:-regulator-test-password}

# start_demo BIN WORK_DIR: starts `evgrid demo` on a free loopback port with its data in
# WORK_DIR/data; sets DEMO_PID and DEMO_URL (http://127.0.0.1:PORT/). Stop it with stop_demo.
start_demo() {
  EVGRID_DEMO_REGULATOR_PASSWORD="$DEMO_REGULATOR_PASSWORD" \
    "$1" demo --listen 127.0.0.1:0 --data-dir "$2/data" >"$2/out" 2>"$2/err" &
  DEMO_PID=$!
  DEMO_URL=""
  for _ in $(seq 300); do
    DEMO_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$2/out" | head -1 || true)
    [ -n "$DEMO_URL" ] && return 0
    kill -0 "$DEMO_PID" 2>/dev/null || { cat "$2/err" >&2; return 1; }
    sleep 0.5
  done
  echo "evgrid demo did not start within 150 s" >&2
  return 1
}

# stop_demo: stops the demo started by start_demo, if any.
stop_demo() {
  if [ -n "${DEMO_PID:-}" ]; then
    kill "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
}

# demo_token: logs in to the demo started by start_demo as its regulator; prints the token.
demo_token() {
  curl -sf -X POST "${DEMO_URL}api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"regulator\",\"password\":\"$DEMO_REGULATOR_PASSWORD\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
