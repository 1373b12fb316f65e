#!/bin/bash
# make cancel-latency: how late statement_timeout arrives in persona's heavy queries.
#
# Runs each heavy query with statement_timeout set to each of CANCEL_TIMEOUTS
# (ms) and prints, per query, how long after the timeout the error arrived
# ("error": the overrun, ms, the max over the timeouts at which it was
# cancelled) and when the session was ready for the next query ("ready":
# also the abort releasing the query's memory, which the kernel does at
# some 200 ms per GB).  A cancel is late when the C code runs a long
# stretch without CHECK_FOR_INTERRUPTS(); the target is <= 100 ms.  The
# control rows are plain PostgreSQL: generate_series (the noise floor of
# the machine) and a GROUP BY over the same customers as customer_profile.
#
# Runs against the server the PG* environment points at, persona installed
# (e.g. /work/pgcopy/run NAME test/cancel_latency.sh).  Not part of test/run:
# it builds ~2 GB of unlogged tables in schema cancel_latency (kept between
# runs; CANCEL_REBUILD=1 rebuilds them) and takes minutes.
# Scale: CANCEL_CUSTOMERS (customer_profile, 2 orders each; default 5000000),
# CANCEL_ROWS (rfm_breaks, pareto; default 10000000), CANCEL_HISTORIES
# (distinct fit rows; default 2000000).
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${CANCEL_CUSTOMERS:-5000000}
rows=${CANCEL_ROWS:-10000000}
histories=${CANCEL_HISTORIES:-2000000}
timeouts=${CANCEL_TIMEOUTS:-300 1000 3000}
PSQL="psql -X -q -v ON_ERROR_STOP=1"

$PSQL -c "CREATE EXTENSION IF NOT EXISTS persona" >/dev/null
if [ -n "${CANCEL_REBUILD:-}" ]; then
  $PSQL -c "DROP SCHEMA IF EXISTS cancel_latency CASCADE" >/dev/null
fi
# (re)build a table unless it exists with the wanted number of rows
table() {
  local name=$1 n=$2 sql=$3
  local have
  # (an unlogged table is empty after a crash: its comment stays, its rows do not)
  have=$($PSQL -A -t -c "SELECT CASE WHEN pg_relation_size(to_regclass('cancel_latency.$name')) > 0
                                THEN obj_description(to_regclass('cancel_latency.$name'), 'pg_class') END")
  have=${have:--1}
  if [ "$have" != "$n" ]; then
    echo "== building cancel_latency.$name ($n rows)"
    $PSQL -c "DROP TABLE IF EXISTS cancel_latency.$name" -c "CREATE UNLOGGED TABLE cancel_latency.$name AS $sql" \
          -c "VACUUM ANALYZE cancel_latency.$name" -c "COMMENT ON TABLE cancel_latency.$name IS '$n'" >/dev/null
  fi
}
$PSQL -c "CREATE SCHEMA IF NOT EXISTS cancel_latency" 2>/dev/null >/dev/null
table orders $((2 * customers)) "
  SELECT (i % $customers)::integer AS customer_id,
         timestamptz '2024-01-01 00:00:00+00' + (i * 7919 % 700) * interval '1 day' + (i % 86400) * interval '1 second' AS ordered_at,
         ((i * 2654435761) % 100000 / 100.0 + 1)::numeric(12,2) AS amount
  FROM generate_series(1, $((2 * customers))::bigint) i"
table rfm "$rows" "
  SELECT (i * 7919 % 730)::float8 AS r, (i % 97 + 1)::float8 AS f,
         ((i * 2654435761) % 1000003 / 100.0)::float8 AS m
  FROM generate_series(1, $rows::bigint) i"
table hist "$histories" "
  SELECT i AS id, (i % 40)::float8 AS x,
         CASE WHEN i % 40 = 0 THEN 0 ELSE (i * 7919 % 100000) / 1000.0 END::float8 AS t_x,
         (100 + i % 1000 / 1000.0)::float8 AS t_cal,
         (10 + (i * 31 % 100000) / 1000.0)::float8 AS spend
  FROM generate_series(1, $histories::bigint) i"
# the same orders keyed by text ('C' + 10 digits)
table orders_text $((2 * customers)) "
  SELECT 'C' || lpad(customer_id::text, 10, '0') AS customer_id, ordered_at, amount FROM cancel_latency.orders"
# 20 customers with the same 4,096 tags: all 8.4M pairs qualify at min_support 0
table tags20 20 "
  SELECT k, (SELECT array_agg('tag' || t) FROM generate_series(1, 4096) t) AS tags
  FROM generate_series(1, 20) k"
# 200 customers with 3,000 of 4,096 tags each: heavy counting, small result
table tags_wide 200 "
  SELECT k, (SELECT array_agg('tag' || t) FROM generate_series(1, 4096) t WHERE (t * 7919 + k * 104729) % 4096 < 3000) AS tags
  FROM generate_series(1, 200) k"
# tag arrays whose every tag probes the whole operand table of the query below
table collide 5 "
  SELECT k, array_fill('t99999m99999t'::text, ARRAY[1000000]) AS tags FROM generate_series(1, 5) k"
collide_query=$($PSQL -A -t -c "SELECT string_agg(format('t%sm%st', lpad(i::text, 5, '0'), lpad(i::text, 5, '0')), ' | ')
                                FROM generate_series(1, 4000) i")

queries=(
  "control: generate_series (plain PostgreSQL)|SELECT count(*) FROM generate_series(1, 100000000000)"
  "control: GROUP BY $customers customers (plain PostgreSQL)|SET work_mem = '4GB'; SET max_parallel_workers_per_gather = 0; SELECT count(*) FROM (SELECT customer_id, count(*) FROM cancel_latency.orders GROUP BY customer_id) s"
  "simulate_mean_spend(x = 2e8)|SELECT persona.simulate_mean_spend(1, 1, 1, 200000000, 1)"
  "simulate_bgnbd (5e7 purchases per customer)|SELECT count(*) FROM persona.simulate_bgnbd(100, 1e-4, 1e-4, 1000, 1000, 50, 1)"
  "simulate_pareto_nbd (5e7 purchases per customer)|SELECT count(*) FROM persona.simulate_pareto_nbd(100, 1e-4, 1e-4, 1000, 1000, 50, 1)"
  "customer_profile ($customers customers, $((2 * customers)) orders)|SELECT count(*) FROM persona.customer_profile('cancel_latency.orders', '2026-01-01')"
  "customer_profile, work_mem 4MB (passes through temporary files)|SET work_mem = '4MB'; SELECT count(*) FROM persona.customer_profile('cancel_latency.orders', '2026-01-01')"
  "customer_states, text keys|SELECT count(*) FROM persona.customer_states('cancel_latency.orders_text', '2026-01-01', 'UTC', customer_key => NULL::text)"
  "customer_states, text keys, work_mem 4MB|SET work_mem = '4MB'; SELECT count(*) FROM persona.customer_states('cancel_latency.orders_text', '2026-01-01', 'UTC', customer_key => NULL::text)"
  "rfm_breaks ($rows rows)|SELECT persona.rfm_breaks(r, f, m) FROM cancel_latency.rfm"
  "pareto ($rows rows)|SELECT persona.pareto(m) FROM cancel_latency.rfm"
  "tag_affinity(tags, 0), 20 x 4096 tags|SELECT cardinality(persona.tag_affinity(tags, 0)) FROM cancel_latency.tags20"
  "tag_affinity(tags, 0.6), 200 x 3000 tags|SELECT cardinality(persona.tag_affinity(tags, 0.6)) FROM cancel_latency.tags_wide"
  "tags @@ 4000 colliding operands, 5 x 1M tags|SELECT count(*) FROM cancel_latency.collide WHERE tags OPERATOR(persona.@@) '$collide_query'::persona.tagquery"
  "bgnbd_fit ($histories distinct histories)|SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM cancel_latency.hist"
  "pareto_nbd_fit (200000 distinct histories)|SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM cancel_latency.hist WHERE id <= 200000"
  "gamma_gamma_fit ($histories rows)|SELECT persona.gamma_gamma_fit(x + 1, spend) FROM cancel_latency.hist"
)

# "sqlstate error_ms ready_ms" of one run of $2 with statement_timeout $1 ms: when
# the error arrived, and when the session was ready again (after the abort
# has released the query's memory).  libpq through ctypes: psql only tells the latter.
run_one() {
  python3 - "$1" "$2" <<'PY'
import ctypes, ctypes.util, select, sys, time
pq = ctypes.CDLL(ctypes.util.find_library("pq"))
pq.PQconnectdb.restype = pq.PQgetResult.restype = pq.PQexec.restype = ctypes.c_void_p
pq.PQresultErrorField.restype = ctypes.c_char_p
for f in ("PQexec", "PQsendQuery", "PQconsumeInput", "PQisBusy", "PQgetResult", "PQclear",
          "PQresultErrorField", "PQsocket", "PQfinish", "PQstatus"):
    getattr(pq, f).argtypes = [ctypes.c_void_p] + {"PQexec": [ctypes.c_char_p], "PQsendQuery": [ctypes.c_char_p],
                                                   "PQresultErrorField": [ctypes.c_int]}.get(f, [])
conn = pq.PQconnectdb(b"")
if pq.PQstatus(conn) != 0:
    sys.exit("cannot connect")
pq.PQclear(pq.PQexec(conn, b"SET client_min_messages = error"))
pq.PQclear(pq.PQexec(conn, ("SET statement_timeout = %d" % int(sys.argv[1])).encode()))
state, err = "00000", None
t0 = time.monotonic()
pq.PQsendQuery(conn, sys.argv[2].encode())
while True:
    while pq.PQisBusy(conn):
        select.select([pq.PQsocket(conn)], [], [])
        pq.PQconsumeInput(conn)
    r = pq.PQgetResult(conn)
    if not r:
        break
    code = pq.PQresultErrorField(r, ord("C"))
    if code and err is None:
        state, err = code.decode(), time.monotonic()
    pq.PQclear(r)
ready = time.monotonic()
print(state, round(((err or ready) - t0) * 1000), round((ready - t0) * 1000))
pq.PQfinish(conn)
PY
}

printf '%-52s %9s %9s  %s\n' "query" "error" "ready" "overrun per timeout: error/ready (ms)"
worst=0
worst_ready=0
for q in "${queries[@]}"; do
  name=${q%%|*}
  sql=${q#*|}
  max=""
  max_ready=""
  detail=""
  for t in $timeouts; do
    read -r state err ready <<<"$(run_one "$t" "$sql")"
    if [ "$state" = 57014 ]; then
      over=$((err - t))
      over_ready=$((ready - t))
      detail="$detail $t:$over/$over_ready"
      if [ -z "$max" ] || [ "$over" -gt "$max" ]; then max=$over; fi
      if [ -z "$max_ready" ] || [ "$over_ready" -gt "$max_ready" ]; then max_ready=$over_ready; fi
    else
      detail="$detail $t:${state:-?}@${ready:-?}ms"
    fi
  done
  printf '%-52s %9s %9s %s\n' "$name" "${max:--}" "${max_ready:--}" "$detail"
  case $name in
    control*) ;;
    *)
      if [ -n "$max" ] && [ "$max" -gt "$worst" ]; then worst=$max; fi
      if [ -n "$max_ready" ] && [ "$max_ready" -gt "$worst_ready" ]; then worst_ready=$max_ready; fi
      ;;
  esac
done
echo "max overrun of persona queries: $worst ms to the error, $worst_ready ms to ready"
