# tools/pglib.sh -- private PostgreSQL 15 clusters (sourced by tools/run, tools/test and
# the e2e tests). PostgreSQL refuses to run as root, so as root the cluster belongs to the
# `postgres` system user; the socket directory is private to that user (and root).
pg_bin=/usr/lib/postgresql/15/bin

pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_init DATA_DIR SOCKET_DIR: creates the cluster once; the database superuser is named
# after the user running caseport, so libpq's default user works.
pg_init() {
  local data=$1 sock=$2
  mkdir -p "$data" "$sock"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data" "$sock"; fi
  chmod 0700 "$data" "$sock"
  if [ ! -f "$data/PG_VERSION" ]; then
    pg_as_owner "$pg_bin/initdb" -D "$data" -U "$(id -un)" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null ||
      { echo "pglib: initdb failed for $data" >&2; return 1; }
  fi
}

# pg_start DATA_DIR SOCKET_DIR PORT: Unix socket only, no TCP. The server gets a session
# of its own, so a Ctrl-C meant for caseport does not also shut PostgreSQL down under it.
pg_start() {
  local data=$1 sock=$2 port=$3
  pg_as_owner setsid -w "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-k $sock -p $port -c listen_addresses='' -c max_connections=200" start >/dev/null ||
    { echo "pglib: cannot start postgresql in $data (see $data/server.log)" >&2; tail -5 "$data/server.log" >&2; return 1; }
}

# pg_stop DATA_DIR [MODE]: fast by default; immediate simulates a crash.
pg_stop() {
  pg_as_owner "$pg_bin/pg_ctl" -D "$1" -m "${2:-fast}" -w stop >/dev/null 2>&1 || true
}

pg_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
