#!/bin/sh
# Upgrade paths with user objects.  A database at an earlier version holds
# views, a materialized view, a SQL function, indexes (rfm btree opclass,
# gin_tag_ops) and a table with persona-typed columns and defaults calling
# persona functions; it is brought up to date with ALTER EXTENSION UPDATE
# along every path (0.1.0 -> 0.2.0 -> 0.3.0 -> 0.4.0 -> 0.5.0 -> 0.6.0 step by step, and
# straight from each earlier version to the latest).  After each step the user objects must give the same
# answers as before the update (computed on the new library, so the old
# SQL definitions run on it), and the whole database must equal a fresh
# install of that version with the same user objects, compared through
# pg_dump --binary-upgrade (which prints every member of the extension), so
# whatever an upgrade script changes is compared without listing it here.
set -eu
export PGOPTIONS="-c client_min_messages=error"
mkdir -p results
dir=results/upgrade
rm -rf "$dir"; mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
latest=$(psql -X -A -t -q -c "SELECT default_version FROM pg_available_extensions WHERE name = 'persona'")
dbs=""

# User objects over persona, using only what 0.1.0 already had.
cat > "$dir/objects.sql" <<'SQL'
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO orders
SELECT c, timestamptz '2023-01-01 00:00+00' + ((c * 37 + k * 11) % 360) * interval '1 day' + (k % 24) * interval '1 hour',
       (c * 13 + k * 7) % 200 + 0.5
FROM generate_series(1, 40) c, generate_series(1, 1 + c % 6) k;
CREATE TABLE summary (id int, x float8, t_x float8, t_cal float8);
INSERT INTO summary VALUES (1, 2, 30.43, 38.86), (2, 1, 1.71, 38.86), (3, 0, 0, 38.86), (4, 0, 0, 38.86), (5, 5, 30, 35);
CREATE VIEW fit_v AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS m, persona.bgnbd_fit(x, t_x, t_cal, 2.0::float8) AS mw FROM summary;
CREATE VIEW affinity_v AS
SELECT persona.tag_affinity(tags, 0.05) AS pairs
FROM (SELECT CASE WHEN id % 2 = 0 THEN '{a,b}'::text[] ELSE '{a,c}' END AS tags FROM summary) s;
CREATE VIEW alive_v AS
SELECT s.id, persona.p_alive(f.m, s.x, s.t_x, s.t_cal) AS p_alive,
       persona.expected_purchases(f.m, 10, s.x, s.t_x, s.t_cal) AS expected
FROM summary s, fit_v f;
CREATE MATERIALIZED VIEW stats_mv AS
SELECT customer_id, persona.order_stats(ordered_at, amount, timestamptz '2024-01-01 00:00+00') AS st,
       persona.habits(ordered_at) AS h
FROM orders GROUP BY customer_id;
CREATE VIEW breaks_v AS
SELECT persona.rfm_breaks((st).recency_days, (st).orders, (st).revenue) AS b,
       persona.pareto((st).revenue::float8) AS p
FROM stats_mv;
CREATE VIEW scores_v AS
SELECT m.customer_id, persona.rfm_score((m.st).recency_days, (m.st).orders, (m.st).revenue, b.b) AS score,
       persona.daypart_of(timestamptz '2024-01-01 12:30+00') AS lunch
FROM stats_mv m, breaks_v b;
CREATE VIEW profile_v AS
SELECT * FROM persona.customer_profile('orders', timestamptz '2024-01-01 00:00+00', scheme => 'cn8');
CREATE TABLE scored (
    id     int PRIMARY KEY,
    score  persona.rfm NOT NULL,
    stage  persona.lifecycle DEFAULT 'new',
    tier   persona.value_tier DEFAULT persona.value_tier(1500, 1000, 5000),
    tags   text[],
    q      persona.tagquery DEFAULT '育儿 & !churn',
    shown  text DEFAULT persona.label('mature'::persona.lifecycle),
    made   persona.rfm DEFAULT persona.rfm(3, 4, 5)
);
INSERT INTO scored (id, score, stage, tags)
SELECT i, persona.rfm(1 + i % 5, 1 + (i / 5) % 5, 1 + (i / 25) % 5),
       (enum_range(NULL::persona.lifecycle))[1 + i % 6],
       CASE WHEN i % 3 = 0 THEN '{育儿,vip}'::text[] WHEN i % 3 = 1 THEN '{绘本,churn}' ELSE '{育儿}' END
FROM generate_series(1, 300) i;
CREATE INDEX scored_score ON scored (score);
CREATE INDEX scored_tags ON scored USING gin (tags persona.gin_tag_ops);
CREATE FUNCTION cn8(s persona.rfm) RETURNS text LANGUAGE sql STABLE RETURN persona.rfm_segment(s, 'cn8');
CREATE VIEW labels_v AS
SELECT id, persona.rfm_segment(score) AS standard, cn8(score), persona.r(score) + persona.f(score) + persona.m(score) AS rfm_sum,
       persona.score(score), persona.label(stage) AS stage, persona.label(tier) AS tier,
       persona.purchase_count_bucket(id % 8), persona.price_sensitivity(id % 7), persona.ltv_bucket(id * 10),
       persona.bucket(id, '{100,200}', '{a,b,c}'), tags OPERATOR(persona.@@) q AS hit
FROM scored;
SQL

# The answers the user objects give.
cat > "$dir/answers.sql" <<'SQL'
SELECT 'fit', round((m).loglik::numeric, 2), round((mw).loglik::numeric, 2), (m).customers FROM fit_v;
SELECT 'affinity', (SELECT array_agg(p ORDER BY p.antecedent, p.consequent) FROM unnest(pairs) p) FROM affinity_v;
SELECT 'alive', id, round(p_alive::numeric, 2), round(expected::numeric, 1) FROM alive_v ORDER BY id;
SELECT 'stats', customer_id, st, h FROM stats_mv ORDER BY customer_id;
SELECT 'breaks', b, p FROM breaks_v;
SELECT 'scores', customer_id, score, lunch FROM scores_v ORDER BY customer_id;
SELECT 'labels', * FROM labels_v ORDER BY id;
SELECT 'profile', * FROM profile_v ORDER BY customer_id;
SET persona.language = zh;
SELECT 'zh', id, standard, cn8, stage, tier, purchase_count_bucket FROM labels_v WHERE id % 37 = 0 ORDER BY id;
RESET persona.language;
SET enable_seqscan = off;
SELECT 'rfm index', id, score FROM scored WHERE score OPERATOR(persona.>=) '333' AND score OPERATOR(persona.<) '335' ORDER BY score USING OPERATOR(persona.<), id;
SELECT 'gin index', count(*) FROM scored WHERE tags OPERATOR(persona.@@) '育儿 & !vip';
SELECT 'gin index', count(*) FROM scored WHERE tags @> '{绘本}';
RESET enable_seqscan;
BEGIN;
INSERT INTO scored (id, score) VALUES (1000, '512') RETURNING 'defaults', *;
ROLLBACK;
REFRESH MATERIALIZED VIEW stats_mv;
SELECT 'refreshed', count(*), sum((st).orders) FROM stats_mv;
SQL

psql_db() { db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
answers() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -f "$dir/answers.sql"; }

# Objects may differ only in OIDs, transaction ids and the order of creation.
normalise() {
  pg_dump --schema-only --binary-upgrade -d "$1" |
    grep -v -e 'binary_upgrade_set' -e '^--' -e '^$' -e 'pg_catalog.set_config' \
            -e 'relfrozenxid' -e 'relminmxid' -e '^\\restrict' -e '^\\unrestrict' |
    sed -E "s/'[0-9]{4,}'/'<oid>'/g; s/\{[0-9]{4,}(,[0-9]{4,})*\}/{<oids>}/g" | sort
}

newdb() {
  dbs="$dbs $1"
  psql -X -q -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  psql_db $1 -c "CREATE EXTENSION persona VERSION '$2'"
  psql_db $1 -f "$dir/objects.sql"
}

# The user indexes are still used (rfm btree opclass, gin_tag_ops).
indexes_used() {
  plan=$(psql -X -A -t -q -d "$1" -c "SET enable_seqscan = off" \
    -c "EXPLAIN (COSTS OFF) SELECT id FROM scored WHERE score OPERATOR(persona.>=) '333'" \
    -c "EXPLAIN (COSTS OFF) SELECT id FROM scored WHERE tags OPERATOR(persona.@@) '育儿 & !vip'")
  echo "$plan" | grep -q 'Index Cond: (score OPERATOR(persona.>=)' &&
    echo "$plan" | grep -q 'Index Cond: (tags OPERATOR(persona.@@)'
}

status=0
fail() { echo "not ok - $*"; status=1; }

# Fresh installs of every version reached, with the same user objects.
for v in 0.2.0 0.3.0 0.4.0 0.5.0 $latest; do
  newdb persona_upgrade_fresh_$(echo $v | tr . _) $v
  normalise persona_upgrade_fresh_$(echo $v | tr . _) > "$dir/fresh_$v.dump"
done
answers persona_upgrade_fresh_$(echo $latest | tr . _) > "$dir/fresh.answers"

lines=$(wc -l < "$dir/fresh_$latest.dump")
checked=0
for path in "0.1.0 0.2.0 0.3.0 0.4.0 0.5.0 $latest" "0.1.0 $latest" "0.2.0 $latest" "0.3.0 $latest" "0.4.0 $latest" "0.5.0 $latest"; do
  set -- $path
  from=$1; shift
  db=persona_upgrade_from_$(echo $from | tr . _)_$#
  newdb $db $from
  answers $db > "$dir/before.answers"
  cmp -s "$dir/before.answers" "$dir/fresh.answers" ||
    { fail "$from with user objects answers differently from a fresh $latest:"; diff "$dir/fresh.answers" "$dir/before.answers" | head -20; }
  at=$from
  for to in "$@"; do
    if ! out=$(psql_db $db -c "ALTER EXTENSION persona UPDATE TO '$to'" 2>&1); then
      fail "ALTER EXTENSION persona UPDATE from $at to $to with user objects: $out"; break
    fi
    answers $db > "$dir/after.answers" ||
      { fail "user objects fail after $at -> $to"; break; }
    if ! cmp -s "$dir/before.answers" "$dir/after.answers"; then
      fail "user objects answer differently after $at -> $to (path $from $*):"
      diff "$dir/before.answers" "$dir/after.answers" | head -20
    fi
    indexes_used $db || fail "the rfm or gin_tag_ops index is not used after $at -> $to"
    normalise $db > "$dir/updated.dump"
    if ! cmp -s "$dir/fresh_$to.dump" "$dir/updated.dump"; then
      fail "$from updated to $to (path $from $*) differs from a fresh $to install with the same user objects:"
      diff -u "$dir/fresh_$to.dump" "$dir/updated.dump" | head -40
    fi
    checked=$((checked + 1))
    at=$to
  done
done
[ $status = 0 ] &&
  echo "ok - upgrades with user objects (7 views and a SQL function over persona, a materialized view, rfm btree and gin_tag_ops indexes, persona-typed columns with defaults): 0.1.0 -> 0.2.0 -> 0.3.0 -> 0.4.0 -> 0.5.0 -> $latest, 0.1.0 -> $latest, 0.2.0 -> $latest, 0.3.0 -> $latest, 0.4.0 -> $latest, 0.5.0 -> $latest; after each of $checked updates the objects give the same $(wc -l < "$dir/before.answers") rows of answers, the indexes are used and the database equals a fresh install with them ($lines lines of pg_dump --binary-upgrade)"

# A 0.5.0 database that runs this library before its update: its fit and
# tag_affinity aggregates still declare internal states, whose serial and
# deserial functions now carry the new states between parallel workers.
db=persona_upgrade_parallel
dbs="$dbs $db"
psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql_db $db -c "CREATE EXTENSION persona VERSION '0.5.0'"
psql_db $db >/dev/null <<'SQL'
CREATE TABLE h AS
SELECT i, (i % 7)::float8 AS x, CASE WHEN i % 7 = 0 THEN 0 ELSE (i % 7) * 3 + i % 5 END::float8 AS t_x,
       (40 + i % 30)::float8 AS t_cal, CASE WHEN i % 3 = 0 THEN '{a,b}'::text[] ELSE '{a,c,d}' END AS tags
FROM generate_series(1, 100000) i;
ANALYZE h;
SQL
q="SELECT fit, (SELECT array_agg(p ORDER BY p.antecedent, p.consequent) FROM unnest(pairs) p)
   FROM (SELECT persona.bgnbd_fit(x, t_x, t_cal)::text AS fit, persona.tag_affinity(tags) AS pairs FROM h) s"
par="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
for stage in 0.5.0 updated; do
  serial=$(psql_db $db -A -t -c "SET client_min_messages = error; $q")
  parallel=$(psql_db $db -A -t -c "SET client_min_messages = error; $par $q")
  plan=$(psql_db $db -A -t -c "$par EXPLAIN (COSTS OFF) $q")
  echo "$plan" | grep -q 'Partial Aggregate' || fail "$stage: the fits do not run as parallel aggregates: $plan"
  [ -n "$serial" ] && [ "$serial" = "$parallel" ] || fail "$stage: parallel bgnbd_fit and tag_affinity differ from serial"
  [ $stage = updated ] || psql_db $db -c "ALTER EXTENSION persona UPDATE" >/dev/null 2>&1 || fail "ALTER EXTENSION persona UPDATE of $db"
done
[ $status = 0 ] &&
  echo "ok - a 0.5.0 database with this library runs its internal-state bgnbd_fit and tag_affinity in parallel plans as serially, and again after ALTER EXTENSION UPDATE"
for d in $dbs; do psql -X -q -c "DROP DATABASE IF EXISTS $d"; done
exit $status
