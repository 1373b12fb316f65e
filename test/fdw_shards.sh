#!/bin/sh
# persona on postgres_fdw shards (issue 12): the orders hash-partitioned by
# customer into four foreign partitions on two more servers, throwaway
# clusters started here that listen on a Unix socket only.  With
# enable_partitionwise_aggregate the per-customer aggregates must run whole
# on the shards (EXPLAIN VERBOSE: in the Remote SQL of every partition), and
# every capability must give the answer of the same query on a local copy,
# with the caller's session in another zone (America/New_York, the shards'
# remote sessions run in GMT) and Chinese labels asked for as values.
set -eu
cd "$(dirname "$0")/.."
if [ -n "${PERSONA_MEMCHECK:-}" ]; then
  # the shard servers would start from the checked copy of the installation
  # without the checker's runtime (a library built with ASan cannot load there)
  echo "ok - # SKIP postgres_fdw shards under a memory checker (tools/test runs them)"
  exit 0
fi
bindir=$(${PG_CONFIG:-pg_config} --bindir)
dir=$(mktemp -d /tmp/persona_fdw.XXXXXX)
db=persona_fdw
# initdb refuses to run as root: the shard servers run as postgres then
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; run() { su postgres -s /bin/sh -c "$1"; }; else run() { sh -c "$1"; }; fi
stop() {
  for s in 1 2; do
    [ -f "$dir/s$s/postmaster.pid" ] && run "'$bindir/pg_ctl' -D '$dir/s$s' -m immediate stop" >/dev/null 2>&1 || true
  done
  psql -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap 'rc=$?; stop; [ $rc = 0 ] || echo "not ok - postgres_fdw shards: the test stopped at an error (exit $rc)"' EXIT
for s in 1 2; do
  run "'$bindir/initdb' -D '$dir/s$s' -A trust -U postgres --no-sync" >/dev/null
  run "'$bindir/pg_ctl' -D '$dir/s$s' -w -l '$dir/s$s.log' -o \"-p 543$s -k '$dir' -c listen_addresses='' -c fsync=off\" start" >/dev/null
  psql -X -q -h "$dir" -p 543$s -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION persona;
CREATE TABLE orders_p$((s - 1)) (customer_id bigint, ordered_at timestamptz, amount numeric);
CREATE TABLE orders_p$((s + 1)) (customer_id bigint, ordered_at timestamptz, amount numeric);
SQL
done

export PGOPTIONS="-c client_min_messages=warning"
psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -d $db -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION persona;
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$dir', port '5431', dbname 'postgres', extensions 'persona');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$dir', port '5432', dbname 'postgres', extensions 'persona');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard1 OPTIONS (user 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard2 OPTIONS (user 'postgres');
-- 3,000 customers, 1-15 orders each over 2023-2024 at every hour of the day
-- (days and dayparts differ between zones), refunds and missing amounts
CREATE TABLE orders_local AS
SELECT c AS customer_id,
       timestamptz '2023-01-01 00:00+00' + ((hashint8(c * 31 + k) & 65535) * 730.0 / 65536) * interval '1 day' AS ordered_at,
       CASE WHEN (c + k) % 53 = 0 THEN NULL WHEN (c * k) % 37 = 0 THEN -12.5
            ELSE round(((hashint8(c * 7 + k) & 65535) / 200.0)::numeric, 2) END AS amount
FROM generate_series(1, 3000) c, generate_series(1, 1 + (c * 7919) % 15) k;
CREATE TABLE orders_dist (customer_id bigint, ordered_at timestamptz, amount numeric) PARTITION BY HASH (customer_id);
CREATE FOREIGN TABLE orders_dist_p0 PARTITION OF orders_dist FOR VALUES WITH (MODULUS 4, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'orders_p0');
CREATE FOREIGN TABLE orders_dist_p1 PARTITION OF orders_dist FOR VALUES WITH (MODULUS 4, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'orders_p1');
CREATE FOREIGN TABLE orders_dist_p2 PARTITION OF orders_dist FOR VALUES WITH (MODULUS 4, REMAINDER 2) SERVER shard1 OPTIONS (table_name 'orders_p2');
CREATE FOREIGN TABLE orders_dist_p3 PARTITION OF orders_dist FOR VALUES WITH (MODULUS 4, REMAINDER 3) SERVER shard2 OPTIONS (table_name 'orders_p3');
INSERT INTO orders_dist SELECT * FROM orders_local;
-- a user segment scheme: looked up where rfm_segment runs (here, not on the shards)
INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, f_min, m_min)
VALUES ('fdw_shop', 1, 'VIP', 'SVIP', 4, 4, 4), ('fdw_shop', 2, 'Other', NULL, 1, 1, 1);
SQL

# session settings of the caller: another zone than the shards' GMT and than the shop's
settings="SET TimeZone = 'America/New_York'; SET enable_partitionwise_aggregate = on; SET persona.language = 'en';"
fails=0
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; fails=$((fails + 1)); }

# EXPLAIN VERBOSE: the per-customer aggregates in the Remote SQL of all four partitions
# (the zone as a persona.time_zone: postgres_fdw ships no aggregate with a
# collatable input that is not a column, such as a text constant)
for agg in "persona.order_stats(ordered_at, amount, '2024-12-31 16:00+00', 'Asia/Shanghai'::persona.time_zone)" \
           "persona.habits(ordered_at, 'Asia/Shanghai'::persona.time_zone)" \
           "persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai'::persona.time_zone)" \
           "persona.habits_state(ordered_at, 'Asia/Shanghai'::persona.time_zone)"; do
  name=$(echo "$agg" | sed 's/(.*//')
  plan=$(psql -X -A -t -d $db -c "$settings" -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT customer_id, $agg FROM orders_dist GROUP BY customer_id")
  echo "$plan" > "$dir/plan.txt"; [ -n "${PERSONA_FDW_DEBUG:-}" ] && cat "$dir/plan.txt"
  pushed=$(echo "$plan" | grep -c "Remote SQL: SELECT customer_id, $name(" || true)
  if [ "$pushed" = 4 ]; then ok "$name is pushed down whole to the 4 foreign partitions"
  else bad "$name is pushed down whole to the 4 foreign partitions (pushed to $pushed)"; fi
done

# Each capability over the local table and over the shards: the same rows.
# T is replaced by the table; each query's rows are compared as text.
compare() {
  what=$1; q=$2
  local_rows=$(psql -X -A -t -q -d $db -v ON_ERROR_STOP=1 -c "$settings" -c "$(echo "$q" | sed 's/\bT\b/orders_local/g')" 2>"$dir/err") ||
    { bad "$what (local: $(cat "$dir/err"))"; return; }
  dist_rows=$(psql -X -A -t -q -d $db -v ON_ERROR_STOP=1 -c "$settings" -c "$(echo "$q" | sed 's/\bT\b/orders_dist/g')" 2>"$dir/err") ||
    { bad "$what (shards: $(cat "$dir/err"))"; return; }
  if [ -n "$local_rows" ] && [ "$local_rows" = "$dist_rows" ]; then
    ok "$what: $(echo "$local_rows" | wc -l) rows equal on the shards"
  else
    bad "$what differs on the shards"
    printf '%s\n' "$local_rows" > "$dir/local.txt"; printf '%s\n' "$dist_rows" > "$dir/dist.txt"
    diff "$dir/local.txt" "$dir/dist.txt" | head -6
  fi
}
zone="'Asia/Shanghai'::persona.time_zone"
stats="persona.order_stats(ordered_at, amount, '2024-12-31 16:00+00', $zone)"
compare "order_stats with the zone as a persona.time_zone (pushed down)" \
  "SELECT customer_id, $stats FROM T GROUP BY 1 ORDER BY 1"
compare "order_stats with the zone as text (on the coordinator)" \
  "SELECT customer_id, persona.order_stats(ordered_at, amount, '2024-12-31 16:00+00', 'Asia/Shanghai') FROM T GROUP BY 1 ORDER BY 1"
# The forms that read the session TimeZone would run on the shards in UTC:
# an error there that names the fix, not other days than the caller's.
for q in "persona.order_stats(ordered_at, amount, '2024-12-31 16:00+00')" "persona.habits(ordered_at)" \
         "persona.frequency_trend(ordered_at, '2024-12-31 16:00+00', '30 days')"; do
  # (count(v::text): an output the query does not read would not be computed)
  out=$(psql -X -A -t -q -d $db -c "$settings" -c "SELECT count(v::text) FROM (SELECT customer_id, $q AS v FROM orders_dist GROUP BY 1) s" 2>&1 || true)
  here=$(psql -X -A -t -q -d $db -c "$settings" -c "SELECT count(v::text) FROM (SELECT customer_id, $q AS v FROM orders_local GROUP BY 1) s" 2>&1 || true)
  if echo "$out" | grep -q "ERROR:  .* without a time zone cannot run in a postgres_fdw remote session" &&
     echo "$out" | grep -q "HINT:  \(Pass the zone as a value\|Give the window in hours\)" && [ "$here" = 3000 ]; then
    ok "$(echo "$q" | sed 's/(.*//') in the session zone: on the shards an error naming the fix (locally 3000 rows)"
  else
    bad "$(echo "$q" | sed 's/(.*//') in the session zone on the shards: $out / $here"
  fi
done
compare "frequency_trend with a window in hours (no zone changes it)" \
  "SELECT customer_id, persona.frequency_trend(ordered_at, '2024-12-31 16:00+00', '720 hours') FROM T GROUP BY 1 ORDER BY 1"
compare "habits with the zone as a value" \
  "SELECT customer_id, persona.habits(ordered_at, $zone), persona.habits(ordered_at, 'Asia/Shanghai') FROM T GROUP BY 1 ORDER BY 1"
compare "per-customer states (order_stats_state, habits_state) and their decoding" \
  "SELECT customer_id, persona.order_stats_of(persona.order_stats_state(ordered_at, amount, $zone), '2024-12-31'),
          persona.habits_of(persona.habits_state(ordered_at, $zone)) FROM T GROUP BY 1 ORDER BY 1"
compare "BTYD summaries" \
  "SELECT customer_id, persona.btyd($stats, 'weeks') FROM T GROUP BY 1 ORDER BY 1"
compare "RFM scores, standard/cn8/user-scheme segments in Chinese, value tiers" \
  "WITH s AS (SELECT customer_id, $stats AS st FROM T GROUP BY 1),
        v AS (SELECT customer_id, ((st).last_at AT TIME ZONE 'Asia/Shanghai')::date AS last_on, (st).orders, (st).revenue FROM s),
        b AS (SELECT persona.rfm_breaks(('2024-12-31'::date - last_on)::float8, orders::float8, revenue::float8) AS br FROM v WHERE orders > 0),
        t AS (SELECT percentile_cont(ARRAY[0.80, 0.95]) WITHIN GROUP (ORDER BY revenue::float8) AS tiers FROM v),
        sc AS (SELECT v.*, persona.rfm_score(('2024-12-31'::date - last_on)::float8, orders::float8, revenue::float8, b.br) AS score FROM v, b)
   SELECT customer_id, score, persona.rfm_segment(score, 'standard', 'zh'), persona.rfm_segment(score, 'cn8', 'zh'),
          persona.rfm_segment(score, 'fdw_shop', 'zh'),
          persona.label(persona.value_tier(revenue::float8, t.tiers[1], t.tiers[2]), 'zh')
   FROM sc, t ORDER BY 1"
compare "Pareto summary and Lorenz curve over per-customer revenue" \
  "WITH s AS (SELECT customer_id, (($stats).revenue)::float8 AS revenue FROM T GROUP BY 1)
   SELECT persona.pareto(revenue)::text, persona.lorenz_curve(revenue)::text FROM s"
compare "lifecycle stages from local dates, labelled in Chinese" \
  "WITH s AS (SELECT customer_id, $stats AS st FROM T GROUP BY 1)
   SELECT customer_id, persona.label(persona.lifecycle_stage(((st).first_at AT TIME ZONE 'Asia/Shanghai')::date,
            ((st).last_at AT TIME ZONE 'Asia/Shanghai')::date, (st).purchase_days, '2024-12-31'::date, (st).mean_gap_days,
            30, 3, 1.5, 3, 30, 90, 365), 'zh')
   FROM s ORDER BY 1"
compare "daypart labels of single orders" \
  "SELECT customer_id, ordered_at, persona.label(persona.daypart_of(ordered_at, $zone), 'zh') FROM T ORDER BY 1, 2, 3"
compare "BG/NBD, Pareto/NBD, NBD and Gamma-Gamma fits over the shards' summaries" \
  "WITH s AS (SELECT customer_id, persona.btyd($stats, 'weeks') AS b FROM T GROUP BY 1)
   SELECT persona.bgnbd_fit(b), persona.pareto_nbd_fit(b), persona.nbd_fit(b),
          persona.gamma_gamma_fit((b).x, (b).mean_repeat_spend) FILTER (WHERE (b).x > 0 AND (b).mean_repeat_spend > 0) FROM s"
compare "P(alive), expected purchases and CLV from those fits" \
  "WITH s AS (SELECT customer_id, persona.btyd($stats, 'weeks') AS b FROM T GROUP BY 1),
        f AS (SELECT persona.bgnbd_fit(b) AS bg,
                     persona.gamma_gamma_fit((b).x, (b).mean_repeat_spend) FILTER (WHERE (b).x > 0 AND (b).mean_repeat_spend > 0) AS gg FROM s)
   SELECT customer_id, persona.p_alive(bg, b), persona.expected_purchases(bg, 26, b), persona.clv(bg, gg, b)
   FROM s, f ORDER BY 1"
compare "tag affinity over per-customer tag sets" \
  "WITH s AS (SELECT customer_id, $stats AS st FROM T GROUP BY 1),
        t AS (SELECT array_remove(ARRAY[CASE WHEN (st).orders >= 5 THEN 'loyal' END, CASE WHEN (st).revenue > 500 THEN 'big' END,
                                      CASE WHEN (st).refunds > 0 THEN 'refunder' END, CASE WHEN (st).purchase_days = 1 THEN 'one-time' END], NULL) AS tags FROM s)
   SELECT p.* FROM (SELECT persona.tag_affinity(tags, 0.01) AS a FROM t) x, unnest(x.a) p ORDER BY 1, 2"
compare "customer_profile (reads the orders by name) with zone and language as values" \
  "SELECT * FROM persona.customer_profile('T', '2024-12-31', time_zone => 'Asia/Shanghai', language => 'zh') ORDER BY 1"
compare "data_quality (reads the orders by name)" \
  "SELECT * FROM persona.data_quality('T', time_zone => 'Asia/Shanghai', as_of => '2024-12-31 16:00+00', language => 'zh')"
compare "holdout of a BG/NBD fit by frequency (reads the orders by name)" \
  "SELECT * FROM persona.holdout_by_frequency('T', '2024-06-30 16:00+00', '2024-12-31 16:00+00', 'bgnbd')"

# A profile built on the shards equals the one built on the local copy.
psql -X -q -d $db -v ON_ERROR_STOP=1 <<SQL >/dev/null || bad "create_profile on the local copy and on the shards"
$settings
SET client_min_messages = error;  -- the fits' boundary warnings, the same for both
SELECT persona.create_profile('fdw_local', 'orders_local', 'customer_id', 'ordered_at', 'amount', schema => 'public',
                              as_of => '2024-12-31', time_zone => 'Asia/Shanghai', language => 'zh');
SELECT persona.create_profile('fdw_dist', 'orders_dist', 'customer_id', 'ordered_at', 'amount', schema => 'public',
                              as_of => '2024-12-31', time_zone => 'Asia/Shanghai', language => 'zh');
SQL
remote=$(psql -X -A -t -d $db -c "SELECT persona.relation_is_remote('orders_local'), persona.relation_is_remote('orders_dist'), persona.relation_is_remote('orders_dist_p1')")
[ "$remote" = "f|t|t" ] && ok "relation_is_remote: the local table no, the partitioned table and a foreign partition yes" ||
  bad "relation_is_remote: $remote"
# its per-customer states are computed on the shards (the GROUP BY with the zone as a persona.time_zone)
states=$(psql -X -A -t -d $db -c "SELECT persona.profile_states_sql(persona.profile_get('fdw_dist'), '''2024-12-31''::date', NULL)")
pushed=$(psql -X -A -t -d $db -c "$settings" -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM $states s" | grep -c "Remote SQL: SELECT customer_id, persona.order_stats_state(" || true)
[ "$pushed" = 4 ] && ok "the profile's per-customer states are computed on the 4 shards" ||
  bad "the profile's per-customer states are computed on the 4 shards (on $pushed)"
for part in customers segments lifecycle pareto models quality; do
  # every column but the profile's name and the time a check ran
  l="SELECT to_jsonb(v) - 'profile' - 'checked_at' FROM fdw_local_$part v"
  r="SELECT to_jsonb(v) - 'profile' - 'checked_at' FROM fdw_dist_$part v"
  q="($l EXCEPT ALL $r) UNION ALL ($r EXCEPT ALL $l)"
  n=$(psql -X -A -t -d $db -c "$settings" -c "SELECT count(*) FROM ($q) d" 2>&1 | tail -1)
  rows=$(psql -X -A -t -d $db -c "SELECT count(*) FROM fdw_dist_$part" 2>&1 | tail -1)
  if [ "$n" = 0 ] && [ "$rows" != 0 ]; then ok "profile on the shards: ${part} ($rows rows) equal the local profile's"
  else bad "profile on the shards: ${part} differ from the local profile's ($n rows differ, $rows rows)"; fi
done

[ $fails = 0 ]
