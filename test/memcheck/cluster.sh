# Sourced by valgrind.sh and asan.sh: a private copy of the PostgreSQL
# installation under results/memcheck/<name>/pg (the server finds its lib and
# share directories relative to its binary, so the copy is self-contained and
# the system installation is never touched), a throwaway cluster that listens
# on a socket in results/ and on localhost at a free port, and the server
# started under a wrapper.
#   mc_copy NAME        copy the installation; sets W, P, B, PG_CONFIG
#   mc_start CMD...     initdb, start "CMD... postgres" and wait until it accepts
#   mc_stop             fast shutdown, wait until every process has exited
#   mc_run CMD...       CMD with PG* and PATH set for the cluster
set -eu
# The sub-makes below get their variables from us, not from a calling make.
unset MAKEFLAGS MFLAGS MAKELEVEL
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
SYSTEM_PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
MC_START_TIMEOUT=${MC_START_TIMEOUT:-600}

# Run as the cluster owner: postgres when we are root, else ourselves.
mc_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mc_copy() {
  W=$ROOT/results/memcheck/$1
  sysbin=$("$SYSTEM_PG_CONFIG" --bindir)
  sysshare=$("$SYSTEM_PG_CONFIG" --sharedir)
  sysinc=$("$SYSTEM_PG_CONFIG" --includedir)
  P=$W/pg
  B=$P$sysbin
  if [ ! -x "$B/postgres" ]; then
    rm -rf "$P"
    mkdir -p "$P$(dirname "$(dirname "$sysbin")")" "$P$(dirname "$sysshare")" "$P$(dirname "$sysinc")"
    cp -a "$(dirname "$sysbin")" "$P$(dirname "$(dirname "$sysbin")")/"
    cp -a "$sysshare" "$P$(dirname "$sysshare")/"
    ln -sfn "$sysinc" "$P$sysinc"
  fi
  PG_CONFIG=$B/pg_config
  export PG_CONFIG
  [ "$("$PG_CONFIG" --pkglibdir)" = "$P$("$SYSTEM_PG_CONFIG" --pkglibdir)" ] ||
    { echo "memcheck: the copy of PostgreSQL in $P is not relocatable" >&2; exit 1; }
}

mc_start() {
  D=$W/cluster
  rm -rf "$D"
  mkdir -p "$D"
  # The socket path must fit in sun_path (107 bytes).
  S=$D
  if [ ${#S} -gt 90 ]; then S=$(mktemp -d); fi
  [ "$(id -u)" = 0 ] && chown -R postgres "$W"
  [ "$(id -u)" = 0 ] && [ "$S" != "$D" ] && chown postgres "$S"
  mc_as "$B/initdb" -D "$D/data" -A trust -U postgres --no-sync >"$D/initdb.log" 2>&1 ||
    { cat "$D/initdb.log"; exit 1; }
  # The socket, and localhost on a port free now (the JDBC check connects
  # over TCP: Java has no Unix sockets), small and quiet.
  MC_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mc_as "$@" "$B/postgres" -D "$D/data" -k "$S" -p "$MC_PORT" -c listen_addresses=localhost -c fsync=off \
    -c max_worker_processes=16 -c shared_buffers=32MB -c autovacuum=off \
    -c log_line_prefix='%m [%p] ' ${MC_SERVER_OPTS:-} >"$D/server.log" 2>&1 &
  MC_PID=$!
  i=0
  until mc_as "$B/pg_isready" -q -h "$S" -p "$MC_PORT" -U postgres -d postgres; do
    i=$((i + 1))
    if [ $i -gt "$MC_START_TIMEOUT" ] || ! kill -0 $MC_PID 2>/dev/null; then
      echo "memcheck: the server did not start; log:"; tail -30 "$D/server.log"; exit 1
    fi
    sleep 1
  done
}

mc_run() {
  env PGHOST="$S" PGPORT="$MC_PORT" PGUSER=postgres PGDATABASE=postgres PATH="$B:$PATH" \
      PG_CONFIG="$PG_CONFIG" "$@"
}

mc_stop() {
  [ -n "${MC_PID:-}" ] || return 0
  mc_as "$B/pg_ctl" -D "$D/data" -m fast -t "$MC_START_TIMEOUT" stop >/dev/null 2>&1 ||
    mc_as "$B/pg_ctl" -D "$D/data" -m immediate stop >/dev/null 2>&1 || true
  wait $MC_PID 2>/dev/null || true
  MC_PID=
  [ "$S" = "$D" ] || rm -rf "$S"
}
