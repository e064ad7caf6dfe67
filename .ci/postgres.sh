#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 on a loopback port for the test run.
#   .ci/postgres.sh start DIR PORT   prints the admin URL
#   .ci/postgres.sh stop DIR
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd=$1 dir=$2
# PostgreSQL refuses to run as root: run it as the postgres system user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  port=$3
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U plangraf --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null
  echo "postgres://plangraf@127.0.0.1:$port/postgres"
  ;;
stop)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  ;;
esac
