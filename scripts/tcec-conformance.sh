#!/usr/bin/env bash
# T/CEC 102 platform side against an operator platform written from the standard alone
# (tests/tcec/independent_client.py: Python, the `cryptography` package from PyPI, in the
# project-local .venv). Registers an operator's credentials, runs `evgrid demo`, and lets the
# client get a token, push statuses and send every kind of bad request.
# Usage: scripts/tcec-conformance.sh [path to the evgrid binary]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/evgrid}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import cryptography" 2>/dev/null; then
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "cryptography>=42"
fi
work=$(mktemp -d)
secrets=(EVGSYN001 "Ganjiang FastCharge (fictional)" k3yOperatorSecr3 DataSecret123456 DataSecretIV6543 SigSecretForTest)
"$bin" operator add --data-dir "$work/data" --operator-id "${secrets[0]}" --name "${secrets[1]}" \
  --operator-secret "${secrets[2]}" --data-secret "${secrets[3]}" --data-secret-iv "${secrets[4]}" \
  --sig-secret "${secrets[5]}" >/dev/null
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
.venv/bin/python tests/tcec/independent_client.py "$url" "${secrets[0]}" "${secrets[2]}" "${secrets[3]}" "${secrets[4]}" "${secrets[5]}"
