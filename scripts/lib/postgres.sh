# A throw-away PostgreSQL cluster for the tests (sourced, not run).
#
# pg_start: installs Debian's postgresql-15 when no server is installed (as root), creates a
# cluster in a temporary directory and starts it on a free loopback port, trusting local
# connections; exports EVGRID_TEST_POSTGRES_URL (its admin database). pg_stop stops it and
# removes the directory; call it from an EXIT trap so that a failing test leaves nothing.

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

pg_start() {
  PG_BIN=$(pg_bin)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
      PG_BIN=$(pg_bin)
    else
      echo "PostgreSQL is missing and this is not root: install Debian's postgresql-15" >&2
      return 1
    fi
  fi
  PG_DIR=$(mktemp -d /tmp/evgrid-pg-XXXXXX)
  PG_RUN=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$PG_DIR"
    PG_RUN=(runuser -u postgres --)
  fi
  "${PG_RUN[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U evgrid --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=500 -c synchronous_commit=on -c fsync=on" \
    start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
  export EVGRID_TEST_POSTGRES_URL="postgres://evgrid@127.0.0.1:$PG_PORT/postgres"
  echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $NF}') for the tests at $EVGRID_TEST_POSTGRES_URL"
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
    "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

# pg_database NAME: creates database NAME on the test cluster; prints its URL.
pg_database() {
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U evgrid "$1"
  echo "postgres://evgrid@127.0.0.1:$PG_PORT/$1"
}
