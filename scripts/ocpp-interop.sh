#!/usr/bin/env bash
# OCPP 1.6 and 2.0.1 against charge points written on the PyPI `ocpp` package (third party),
# in the project-local .venv: registers two chargers, serves evgrid, runs tests/ocpp/interop.py.
# Usage: scripts/ocpp-interop.sh [path to the evgrid binary]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/evgrid}
source scripts/lib/demo.sh
ensure_venv ocpp "ocpp==2.1.0"
ensure_venv websockets "websockets==15.0.1"
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; wait "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" charger add --data-dir "$work/data" --id CP16-INTEROP --password interop-password-16 \
  --station OCPP-INTEROP --lat 25.8306 --lng 114.9328 --name "OCPP interop site" --connectors 2 \
  --tariff "00:00=0.80+0.40" >/dev/null
"$bin" charger add --data-dir "$work/data" --id CS201-INTEROP --password interop-password-201 \
  --station OCPP-INTEROP --connectors 1 --dc --power-kw 60 >/dev/null
# A third station for security profile 3 (its certificate signed through SignCertificate).
"$bin" charger add --data-dir "$work/data" --id CS-P3-INTEROP --password interop-password-p3 \
  --station OCPP-INTEROP --connectors 1 >/dev/null
export P3_ID=CS-P3-INTEROP P3_PASSWORD=interop-password-p3
# Id tokens the charge points present: two drivers' cards (one in a fleet) and a lost one.
"$bin" token add --data-dir "$work/data" --id DRIVER-1 --group FLEET-A >/dev/null
"$bin" token add --data-dir "$work/data" --id DRIVER-3 >/dev/null
"$bin" token add --data-dir "$work/data" --id LOST-CARD --status blocked >/dev/null
# The platform's REST calls (charger state, commands) as an admin.
"$bin" user add --data-dir "$work/data" --username interop.admin --role admin \
  --password interop-admin-password >/dev/null
export EVGRID_API_USER=interop.admin EVGRID_API_PASSWORD=interop-admin-password
# A self-signed certificate for security profile 2 (TLS + Basic).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
"$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" --poll-interval 0 \
  --tls-listen 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/out" 2>"$work/err" &
pid=$!
url=""
for _ in $(seq 120); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$work/out" | head -1 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { echo "evgrid serve did not start" >&2; exit 1; }
tls_url=$(grep -o 'https://127\.0\.0\.1:[0-9]*/' "$work/out" | head -1 || true)
.venv/bin/python tests/ocpp/interop.py "$url" CP16-INTEROP interop-password-16 CS201-INTEROP interop-password-201 \
  "$tls_url" "$work/cert.pem"
