#!/bin/sh
# customer_profile and customer_states within work_mem x hash_mem_multiplier:
# with a tiny work_mem they read the customers in several passes through
# temporary files, give exactly the rows they give in one pass, and the
# backend's peak memory stays a fraction of the one-pass peak.
set -eu
export PGOPTIONS="-c client_min_messages=warning"
db=persona_spill
fail() { echo "not ok - $1"; exit 1; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
P="psql -X -q -tA -v ON_ERROR_STOP=1 -d $db"
# refunds, amounts off the fast path, NULL amounts and times, a NULL
# customer, an order after as_of, a customer of 70,000 orders in one hour
# (its 16-bit habit counters overflow), date-only orders
$P >/dev/null <<'SQL'
CREATE EXTENSION persona;
CREATE TABLE o (customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO o
SELECT c, timestamptz '2023-01-01 00:00+00' + ((c * 37 + k * 11) % 700) * interval '1 day'
          + CASE WHEN c % 50 = 0 THEN interval '0' ELSE (k % 24) * interval '1 hour' + (c % 60) * interval '1 minute' END,
       CASE WHEN k % 17 = 0 THEN -5 WHEN k % 23 = 0 THEN 12.345678 WHEN k % 29 = 0 THEN NULL
            WHEN k % 31 = 0 THEN 1e13 + 0.5 ELSE (c * 13 + k * 7) % 200 + 0.5 END
FROM generate_series(1, 40000) c, generate_series(1, 1 + c % 9) k;
INSERT INTO o SELECT 777777, timestamptz '2024-01-01 10:00+00' + k * interval '1 second', 1 FROM generate_series(1, 70000) k;
INSERT INTO o VALUES (NULL, '2024-01-01', 1), (888888, NULL, 5), (999999, '2030-01-01', 5);
ANALYZE o;
CREATE TABLE one_pass AS SELECT * FROM persona.customer_profile('o', '2025-01-01');
CREATE TABLE one_pass_nohabits AS SELECT * FROM persona.customer_profile('o', '2025-01-01', habits => false, bins => 3, scheme => 'cn8');
CREATE TABLE one_pass_states AS
SELECT customer_id, stats_state::text AS s, habits_state::text AS h FROM persona.customer_states('o', '2025-01-01', 'Asia/Shanghai');
-- the same customers keyed by text, short (in their slots) and long (by reference), spilled with their bytes
CREATE FUNCTION text_key(id bigint) RETURNS text IMMUTABLE LANGUAGE sql
RETURN CASE WHEN id % 2 = 0 THEN 'customer-' || id ELSE 'a-customer-key-longer-than-its-slot-' || id END;
CREATE TABLE ot AS SELECT text_key(customer_id) AS customer_id, ordered_at, amount FROM o;
CREATE TABLE one_pass_text AS SELECT * FROM one_pass;
ALTER TABLE one_pass_text ALTER COLUMN customer_id TYPE text USING text_key(customer_id);
CREATE TABLE one_pass_states_text AS SELECT * FROM one_pass_states;
ALTER TABLE one_pass_states_text ALTER COLUMN customer_id TYPE text USING text_key(customer_id);
SQL
spill=$($P -c "SET work_mem = '64kB'" -c "SET client_min_messages = debug1" \
           -c "CREATE TABLE passes AS SELECT * FROM persona.customer_profile('o', '2025-01-01')" 2>&1)
case "$spill" in
  *"customer_profile read its customers in "*" passes, "*" rows through temporary files (limit 128 kB)"*) ;;
  *) fail "customer_profile with work_mem 64kB reads its customers in several passes (got: $spill)" ;;
esac
passes=$(echo "$spill" | sed -n 's/.*customers in \([0-9]*\) passes, \([0-9]*\) rows.*/\1 passes, \2 rows/p' | head -1)
$P >/dev/null <<'SQL'
SET work_mem = '64kB';
CREATE TABLE passes_nohabits AS SELECT * FROM persona.customer_profile('o', '2025-01-01', habits => false, bins => 3, scheme => 'cn8');
CREATE TABLE passes_states AS
SELECT customer_id, stats_state::text AS s, habits_state::text AS h FROM persona.customer_states('o', '2025-01-01', 'Asia/Shanghai');
CREATE TABLE passes_text AS SELECT * FROM persona.customer_profile('ot', '2025-01-01', customer_key => NULL::text);
CREATE TABLE passes_states_text AS
SELECT customer_id, stats_state::text AS s, habits_state::text AS h
FROM persona.customer_states('ot', '2025-01-01', 'Asia/Shanghai', customer_key => NULL::text);
SQL
for pair in "one_pass passes" "one_pass_nohabits passes_nohabits" "one_pass_states passes_states" \
            "one_pass_text passes_text" "one_pass_states_text passes_states_text"; do
  set -- $pair
  r=$($P -c "SELECT (SELECT count(*) FROM $1) || ' ' || (SELECT count(*) FROM $2) || ' ' ||
                    (SELECT count(*) FROM ((TABLE $1 EXCEPT ALL TABLE $2) UNION ALL (TABLE $2 EXCEPT ALL TABLE $1)) d)")
  set -- $pair $r
  [ "$3" = "$4" ] && [ "$5" = 0 ] && [ "$3" -gt 40000 ] || fail "$1 and $2 differ: $r"
done
# peak memory of a fresh backend, no parallel workers: what grows from a
# sixteenth of the customers to all of them, in one pass and in several.
# Both read every page of o (the view filters after the scan), so shared
# buffers, the loaded library and the allocator's rounding (transparent huge
# pages) cancel out; within work_mem only the per-customer table may grow.
peak() {
  $P <<SQL | sed -n 's/^VmHWM:[^0-9]*\([0-9]*\) kB/\1/p'
SET work_mem = '$1';
SET max_parallel_workers_per_gather = 0;
SELECT pg_backend_pid() AS pid \\gset
\\setenv PID :pid
\\o /dev/null
$2;
\\o
\\! cat /proc/\$PID/status
SQL
}
if [ -n "${PERSONA_MEMCHECK:-}" ]; then
  echo "ok - customer_profile and customer_states within work_mem: with 64kB they read 40,003 customers in $passes through temporary files and return exactly the one-pass rows, with integer and text keys (peak memory not checked under a memory checker)"
  psql -X -q -d postgres -c "DROP DATABASE $db"
  exit 0
fi
$P -c "CREATE VIEW o_sixteenth AS SELECT * FROM o WHERE customer_id % 16 = 0"
q="SELECT count(*), sum(orders) FROM persona.customer_profile"
big=$(peak 1GB "$q('o', '2025-01-01')")
big16=$(peak 1GB "$q('o_sixteenth', '2025-01-01')")
small=$(peak 64kB "$q('o', '2025-01-01')")
small16=$(peak 64kB "$q('o_sixteenth', '2025-01-01')")
[ -n "$big" ] && [ -n "$big16" ] && [ -n "$small" ] && [ -n "$small16" ] ||
  fail "read the backends' peak memory (got '$big' '$big16' '$small' '$small16')"
[ $((big - big16)) -gt 8000 ] && [ $((small - small16)) -lt $(((big - big16) / 4)) ] ||
  fail "customer_profile within work_mem 64kB grows by $((small - small16)) kB from 2,500 to 40,003 customers, in one pass by $((big - big16)) kB"
echo "ok - customer_profile and customer_states within work_mem: with 64kB they read 40,003 customers in $passes through temporary files and return exactly the one-pass rows (with and without habits, 3 bins and cn8; states; text keys); peak backend memory grows by $((small - small16)) kB from 2,500 to 40,003 customers against $((big - big16)) kB in one pass"
psql -X -q -d postgres -c "DROP DATABASE $db"
