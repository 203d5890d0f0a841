#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on loopback and
# BACKSTAGE_TEST_DATABASE_POSTGRES<major>_CONNECTION_STRING exported for Backstage's TestDatabases.
# Uses Debian's postgresql binaries; installs the package with apt-get when root and missing.
set -euo pipefail

find_pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

pg_bin=$(find_pg_bin || true)
if [ -z "$pg_bin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "with-postgres.sh: installing Debian's postgresql" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    pg_bin=$(find_pg_bin)
  else
    echo "with-postgres.sh: PostgreSQL server binaries not found (install Debian's 'postgresql')" >&2
    exit 1
  fi
fi
major=$(basename "$(dirname "$pg_bin")")

data_dir=$(mktemp -d /tmp/storeplane-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
password=storeplane-test

# initdb refuses to run as root: run the server as the `postgres` system user then.
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$data_dir" postgres
    chown -R postgres "$data_dir"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_server() {
  as_pg_user "$pg_bin/pg_ctl" -D "$data_dir/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data_dir"
}
trap stop_server EXIT

printf '%s\n' "$password" > "$data_dir/pwfile"
as_pg_user "$pg_bin/initdb" -D "$data_dir/db" -U storeplane --pwfile="$data_dir/pwfile" \
  --auth=scram-sha-256 -E UTF8 >/dev/null
as_pg_user "$pg_bin/pg_ctl" -D "$data_dir/db" -l "$data_dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data_dir -c fsync=off -c max_connections=300" \
  start >/dev/null
echo "with-postgres.sh: PostgreSQL $major on 127.0.0.1:$port (superuser role storeplane, CREATEDB)" >&2

export "BACKSTAGE_TEST_DATABASE_POSTGRES${major}_CONNECTION_STRING=postgresql://storeplane:$password@127.0.0.1:$port"
"$@"
