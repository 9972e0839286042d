#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, never the system service:
#
#   scripts/postgres.sh install     installs Debian's postgresql when initdb/pg_ctl are missing
#   scripts/postgres.sh start DIR   creates (once) and starts a cluster in DIR on a free
#                                   127.0.0.1 port, socket in DIR, database `secobot`;
#                                   prints its URL (postgres://secobot@127.0.0.1:PORT/secobot)
#   scripts/postgres.sh url DIR     prints the URL of the cluster in DIR
#   scripts/postgres.sh createdb DIR NAME
#                                   creates database NAME in the running cluster in DIR
#                                   (if missing) and prints its URL
#   scripts/postgres.sh stop DIR    stops it (nothing to do if it is not running)
#
# `start` installs first if needed and is idempotent: a running cluster only has
# its URL printed. The cluster trusts every local connection and runs with
# fsync off: it holds test data only, and is gone with DIR. POSTGRES_FSYNC=on
# keeps fsync (and full-page writes) on, for load figures that pay for
# durable commits as production does.
#
# initdb refuses to run as root: as root, the server runs as the `postgres`
# user (created by the package), which must be able to reach DIR.
set -euo pipefail

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

# The directory of initdb/pg_ctl: from PATH, else Debian's newest version.
bin_dir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$found" ] && [ -x "$found/initdb" ] && [ -x "$found/pg_ctl" ]; then
    echo "$found"
  fi
}

install() {
  if [ -n "$(bin_dir)" ]; then
    return
  fi
  echo "==> installing postgresql (throwaway clusters for the tests)" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq postgresql >/dev/null
  [ -n "$(bin_dir)" ] || die "postgresql was installed but initdb/pg_ctl are still missing"
}

# Runs a server-side command as the cluster's owner (postgres when we are root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url_of() {
  local dir=$1
  [ -f "$dir/port" ] || die "no cluster in $dir (run: scripts/postgres.sh start $dir)"
  echo "postgres://secobot@127.0.0.1:$(cat "$dir/port")/secobot"
}

running() {
  local bin=$1 dir=$2
  [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start() {
  local dir=$1
  install
  local bin
  bin=$(bin_dir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "as root the cluster runs as user postgres, which does not exist (reinstall postgresql)"
    chown postgres: "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "user postgres cannot write $dir: a parent folder is closed to it (chmod a+x the parents)"
  fi
  if running "$bin" "$dir"; then
    url_of "$dir"
    return
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    as_owner "$bin/initdb" -D "$dir/data" -U secobot --auth=trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      die "initdb failed in $dir/data"
    }
  fi
  local fsync=off
  [ "${POSTGRES_FSYNC:-off}" = on ] && fsync=on
  # A free port can be taken between the probe and the bind: try a few.
  local port tries=0
  while :; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c full_page_writes=$fsync -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then
      tail -n 20 "$dir/server.log" >&2 || true
      die "the server in $dir did not start"
    fi
  done
  echo "$port" >"$dir/port"
  if ! "$bin/psql" -h "$dir" -p "$port" -U secobot -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'secobot'" | grep -q 1; then
    "$bin/createdb" -h "$dir" -p "$port" -U secobot secobot
  fi
  url_of "$dir"
}

createdb() {
  local dir=$1 name=$2
  [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || die "not a plain database name: $name"
  local bin port
  bin=$(bin_dir)
  [ -f "$dir/port" ] || die "no cluster in $dir (run: scripts/postgres.sh start $dir)"
  port=$(cat "$dir/port")
  if ! "$bin/psql" -h "$dir" -p "$port" -U secobot -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    "$bin/createdb" -h "$dir" -p "$port" -U secobot "$name"
  fi
  echo "postgres://secobot@127.0.0.1:$port/$name"
}

stop() {
  local dir=$1
  local bin
  bin=$(bin_dir)
  [ -n "$bin" ] || return 0
  if running "$bin" "$dir"; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  fi
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
  url) [ $# -eq 2 ] || die "usage: $0 url DIR"; url_of "$2" ;;
  createdb) [ $# -eq 3 ] || die "usage: $0 createdb DIR NAME"; createdb "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 install | start DIR | url DIR | createdb DIR NAME | stop DIR" ;;
esac
