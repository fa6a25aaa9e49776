#!/usr/bin/env bash
# Three evgrid nodes on one PostgreSQL database behind Debian's HAProxy, on loopback, driven by a
# charge point written on the PyPI `ocpp` package (tests/nodes/three_nodes.py): the charger
# connects through the balancer, a driver's charge is started and stopped through nodes that do
# not hold it, its status reaches every node's search, and when the node holding it is killed
# it reconnects through the balancer and nothing acknowledged is lost.
# Usage: EVGRID_DATABASE_URL=postgres://… scripts/nodes-haproxy.sh [path to the evgrid binary]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/evgrid}
db=${EVGRID_DATABASE_URL:?an empty PostgreSQL database for the three nodes}
source scripts/lib/demo.sh
ensure_venv ocpp "ocpp==2.1.0"
ensure_venv websockets "websockets==15.0.1"
command -v haproxy >/dev/null || { echo "haproxy is missing (apt-get install haproxy)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$work"
}
trap cleanup EXIT
export EVGRID_SECRET_KEY_FILE="$work/secret.key"
"$bin" charger add --data-dir "$work/data1" --database "$db" --id CP16-NODES --password nodes-password-16 \
  --station OCPP-NODES --lat 25.8306 --lng 114.9328 --name "OCPP nodes site" --connectors 2 \
  --tariff "00:00=0.80+0.40" >/dev/null
"$bin" user add --data-dir "$work/data1" --database "$db" --username nodes.admin --role admin \
  --password nodes-admin-password >/dev/null

# start_node N: `evgrid serve` on a free port; appends its URL to $work/nodes.
start_node() {
  # Each node from its own configuration file (checked first), as a deployment would run it.
  cat >"$work/node$1.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$work/data$1"
database = "$db"
secret_key_file = "$work/secret.key"
poll_interval = 0
TOML
  "$bin" config check "$work/node$1.toml" >/dev/null
  # Started from a subshell: not a job of this shell (the test kills one on purpose).
  ( env -u EVGRID_SECRET_KEY_FILE "$bin" serve --config "$work/node$1.toml" \
      >"$work/out$1" 2>"$work/err$1" & echo $! >"$work/pid$1" )
  local pid
  pid=$(cat "$work/pid$1")
  pids+=("$pid")
  for _ in $(seq 240); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$work/out$1" | head -1 || true)
    if [ -n "$url" ]; then echo "$url" >>"$work/nodes"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/err$1" >&2; return 1; }
    sleep 0.5
  done
  echo "node $1 did not start" >&2
  return 1
}
for n in 1 2 3; do start_node "$n"; done

# HAProxy in front: HTTP and the chargers' WebSockets, round robin, nodes checked every 500 ms.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
  cat <<CFG
global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
  retries 2
  option redispatch
frontend evgrid
  bind 127.0.0.1:$port
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 500ms fall 2 rise 2
CFG
  n=0
  while read -r url; do
    n=$((n + 1))
    hostport=${url#http://}; hostport=${hostport%/}
    echo "  server node$n $hostport check"
  done <"$work/nodes"
} >"$work/haproxy.cfg"
haproxy -c -f "$work/haproxy.cfg" >/dev/null
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=("$!")
for _ in $(seq 40); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.25
done

export EVGRID_API_USER=nodes.admin EVGRID_API_PASSWORD=nodes-admin-password
node_pids=$(cat "$work/pid1" "$work/pid2" "$work/pid3" | tr '\n' ',')
.venv/bin/python tests/nodes/three_nodes.py "http://127.0.0.1:$port/" "$(tr '\n' ',' <"$work/nodes")" "$node_pids" \
  CP16-NODES nodes-password-16
