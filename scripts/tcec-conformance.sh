#!/usr/bin/env bash
# T/CEC 102 platform side against an operator platform written from the standard alone
# (tests/tcec/independent_client.py: Python, the `cryptography` package from PyPI, in the
# project-local .venv). Registers an operator's credentials, runs `evgrid demo`, and lets the
# client get a token, push statuses and stations and send every kind of bad request.
# Usage: scripts/tcec-conformance.sh [path to the evgrid binary]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/demo.sh
bin=${1:-target/debug/evgrid}
ensure_venv cryptography "cryptography>=42"
work=$(mktemp -d)
trap 'stop_demo; rm -rf "$work"' EXIT
secrets=(EVGSYN001 "Ganjiang FastCharge (fictional)" k3yOperatorSecr3 DataSecret123456 DataSecretIV6543 SigSecretForTest)
"$bin" operator add --data-dir "$work/data" --operator-id "${secrets[0]}" --name "${secrets[1]}" \
  --operator-secret "${secrets[2]}" --data-secret "${secrets[3]}" --data-secret-iv "${secrets[4]}" \
  --sig-secret "${secrets[5]}" >/dev/null
start_demo "$bin" "$work"
# The data-quality report it reads at the end is a regulator's (or the operator's own user's).
EVGRID_TOKEN=$(demo_token)
export EVGRID_TOKEN
.venv/bin/python tests/tcec/independent_client.py "$DEMO_URL" "${secrets[0]}" "${secrets[2]}" "${secrets[3]}" "${secrets[4]}" "${secrets[5]}"
