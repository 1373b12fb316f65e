#!/bin/sh
# An incremental refresh finds the changed customers' state rows by walking
# along the primary key's entries.  Entries whose rows are dead to every
# transaction (versions left by updates that moved off a full page, rows of
# customers whose orders were all deleted; committed) are passed over and
# marked dead as the walk fetches them, entries walked past unread are not:
# after each refresh an index scan finds every row a sequential scan finds,
# and the profile equals a rebuild.  (Needs committed dead versions, so it
# runs outside a test transaction.)
set -eu
export PGOPTIONS="-c client_min_messages=error -c persona.progress=off"
db=persona_merge_walk
fail() { echo "not ok - $1"; exit 1; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
P="psql -X -q -tA -v ON_ERROR_STOP=1 -d $db"
$P >/dev/null <<'SQL'
CREATE EXTENSION persona;
CREATE TABLE orders (customer_id bigint, ordered_at timestamptz, amount numeric(10,2));
INSERT INTO orders SELECT 2 * (i % 3000) + 2, '2024-01-01'::timestamptz + i * interval '61 minutes', 5 + i % 40
FROM generate_series(1, 9000) i;
SELECT count(*) FROM persona.create_profile('w', 'orders', as_of => '2024-12-31', time_zone => 'UTC',
                                           incremental => true, parts => '{segments,lifecycle}');
-- full pages, then updates that cannot stay on them: a dead version and a new entry for every third row
ALTER TABLE w__state SET (fillfactor = 100);
SQL
$P -c "VACUUM FULL w__state" -c "UPDATE w__state SET refunds = refunds WHERE customer_id % 3 = 0" >/dev/null
sleep 1   # (the update's session has ended and reported its counts)
dead=$($P -c "SELECT n_tup_upd - n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'w__state'")
[ "$dead" -gt 900 ] || fail "the setup leaves dead versions with index entries of their own (non-HOT updates: $dead)"
index_count() {
  $P -c "SET enable_seqscan = off" -c "SET enable_bitmapscan = off" -c "SELECT count(*) FROM w__state WHERE customer_id >= 0"
}
seq_count() {
  $P -c "SET enable_indexscan = off" -c "SET enable_bitmapscan = off" -c "SELECT count(*) FROM w__state WHERE customer_id >= 0"
}
for round in 1 2; do
  if [ $round = 2 ]; then
    # customers whose every order goes: their rows are deleted (committed), and
    # this round's orders bring them back past entries whose rows are all dead
    $P -c "DELETE FROM orders WHERE customer_id BETWEEN 100 AND 140" -c "SELECT persona.refresh_profile('w')" >/dev/null
  fi
  # dense runs of customers (the walk), far-apart ones (a descent), new ones between and past the last
  $P -c "INSERT INTO orders SELECT k, '2024-12-30 10:00+00'::timestamptz + (k % 7) * interval '1 hour', 3 + k % 11
         FROM (SELECT generate_series(2, 300, 2) UNION ALL SELECT 301 + $round UNION ALL SELECT generate_series(1000, 1600, 12)
               UNION ALL SELECT 3001 + 2 * $round UNION ALL SELECT generate_series(5000, 6000, 2) UNION ALL SELECT 7001 + $round) k(k)" >/dev/null
  kind=$($P -c "SELECT refresh FROM persona.refresh_profile('w')")
  [ "$kind" = incremental ] || fail "round $round: an incremental refresh (got $kind)"
  i=$(index_count)
  s=$(seq_count)
  [ "$i" = "$s" ] || fail "round $round: an index scan finds $i state rows, a sequential scan $s (a live entry marked dead)"
done
$P >/dev/null <<'SQL'
CREATE TABLE inc AS SELECT * FROM w_customers;
SELECT count(*) FROM persona.refresh_profile('w', incremental => false);
CREATE TABLE reb AS SELECT * FROM w_customers;
SQL
diff=$($P -c "SELECT count(*) FROM ((TABLE inc EXCEPT ALL TABLE reb) UNION ALL (TABLE reb EXCEPT ALL TABLE inc)) d")
[ "$diff" = 0 ] || fail "after the walks the incremental profile equals a rebuild ($diff rows differ)"
rows=$(seq_count)
psql -X -q -d postgres -c "DROP DATABASE $db"
echo "ok - profile merge walk: $rows state rows found by index and by sequential scan after two walking refreshes (${dead} rows with a dead version), equal to a rebuild"
