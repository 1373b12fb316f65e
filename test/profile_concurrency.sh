#!/bin/sh
# Incremental refresh under concurrent writers: a refresh merges exactly the
# changes recorded before it (an open writer holds it off; its changes go
# to the next refresh), so after writers and refreshes interleave, one more
# incremental refresh equals a full rebuild - nothing lost, nothing twice.
set -eu
export PGOPTIONS="-c client_min_messages=error -c persona.progress=off"
db=persona_concurrency
fail() { echo "not ok - $1"; exit 1; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
P="psql -X -q -tA -v ON_ERROR_STOP=1 -d $db"
$P >/dev/null <<'SQL'
CREATE EXTENSION persona;
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric(10,2));
INSERT INTO orders SELECT i % 200, '2024-01-01'::timestamptz + (i * 7 % 300) * interval '1 day' + (i % 17) * interval '1 hour', 5 + i % 50
FROM generate_series(1, 5000) i;
CREATE INDEX ON orders (customer_id);
SELECT count(*) FROM persona.create_profile('c', 'orders', as_of => '2024-12-31', time_zone => 'UTC',
                                           incremental => true, parts => '{segments}');
SQL
# an open writer holds a refresh off
$P -c "BEGIN; INSERT INTO orders VALUES (1000, '2024-12-01 10:00+00', 10); SELECT pg_sleep(3); COMMIT;" >/dev/null &
sleep 1
held=$($P -c "SET lock_timeout = '300ms'" -c "SELECT persona.refresh_profile('c')" 2>&1 || true)
wait
case "$held" in
  *"lock timeout"*) ;;
  *) fail "a refresh waits for an open writer of orders (got: $held)" ;;
esac
n=$($P -c "SELECT customers FROM persona.refresh_profile('c')")
[ "$n" = 201 ] || fail "the writer's committed order is merged by the next refresh (customers $n, want 201)"
# writers (inserts, updates, deletes) and refreshes at the same time
(i=0; while [ $i -lt 30 ]; do
   i=$((i + 1))
   $P -c "INSERT INTO orders SELECT (i * $i) % 250, '2024-06-01'::timestamptz + ((i * 37 + $i) % 200) * interval '1 day', 20 + i % 9 FROM generate_series(1, 25) i"
   $P -c "UPDATE orders SET amount = amount + 1 WHERE customer_id = $i"
   $P -c "DELETE FROM orders WHERE customer_id = $i + 100 AND amount < 10"
 done) >/dev/null &
writer=$!
(i=0; while [ $i -lt 12 ]; do i=$((i + 1)); $P -c "SELECT persona.refresh_profile('c')"; done) >/dev/null &
refresher=$!
wait $writer; wait $refresher
diff=$($P <<'SQL'
SELECT refresh FROM persona.refresh_profile('c') \gset
CREATE TEMP TABLE inc AS SELECT * FROM c_customers;
SELECT count(*) FROM persona.refresh_profile('c', incremental => false) \gset
SELECT (SELECT count(*) FROM (SELECT * FROM inc EXCEPT SELECT * FROM c_customers) a)
     + (SELECT count(*) FROM (SELECT * FROM c_customers EXCEPT SELECT * FROM inc) b)
     || ' ' || (SELECT count(*) FROM inc) || ' ' || :'refresh';
SQL
)
# a TRUNCATE of orders during a refresh waits for it, and then marks the
# refreshed profile for a full refresh (the refresh replaces the globals row
# the mark is on: a mark on the old row would be lost)
$P -c "INSERT INTO orders VALUES (7, '2024-12-20 10:00+00', 5)" >/dev/null
$P -c "BEGIN" -c "SELECT refresh FROM persona.refresh_profile('c')" -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null &
sleep 1
$P -c "TRUNCATE orders" >/dev/null
wait
after=$($P -c "SELECT needs_full FROM c__globals" -c "SELECT refresh || ' ' || customers FROM persona.refresh_profile('c')")
[ "$(echo $after)" = "t full 0" ] ||
  fail "a TRUNCATE during a refresh makes the next refresh a full one of no customers (got: $(echo $after))"
psql -X -q -d postgres -c "DROP DATABASE $db"
set -- $diff
[ "$1" = 0 ] && [ "$3" = incremental ] ||
  fail "after concurrent writers and refreshes, an incremental refresh equals a full rebuild ($1 rows differ of $2; $3)"
echo "ok - incremental refresh under concurrent writers: an open writer holds a refresh off and its order is merged next; after 30 write rounds (insert, update, delete) interleaved with 12 refreshes, an incremental refresh equals a full rebuild ($2 customers); a TRUNCATE during a refresh waits for it and makes the next refresh a full one"
