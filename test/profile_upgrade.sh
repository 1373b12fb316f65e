#!/bin/sh
# A 0.4.0 database with a stored model fit and an incremental profile with
# models, updated to the latest version: the stored fit keeps its values
# (new attributes NULL), the profile refreshes incrementally and fully,
# and the full refresh fills the new attributes.
set -eu
export PGOPTIONS="-c client_min_messages=warning"
db=persona_profile_upgrade
status=0
fail() { echo "not ok - $*"; status=1; }
psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d $db 2>&1 <<'SQL'
CREATE EXTENSION persona VERSION '0.4.0';
SET persona.progress = off;
\set ECHO none
\i demo/load_cdnow.sql
CREATE TABLE o AS SELECT sample_id AS customer_id, ordered_on, amount FROM cdnow;
CREATE TABLE stored AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS m
FROM (SELECT (persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks')).* FROM cdnow GROUP BY sample_id) s;
CREATE TEMP TABLE before AS SELECT (m).r, (m).alpha, (m).a, (m).b FROM stored;
SELECT count(*) FROM persona.create_profile('up', 'o', 'customer_id', 'ordered_on', 'amount', schema => 'public',
                                            as_of => '1998-06-30', time_zone => 'UTC', incremental => true) \gset
ALTER EXTENSION persona UPDATE;
SELECT 'version ' || extversion FROM pg_extension WHERE extname = 'persona';
SELECT 'stored_same ' || (((m).r, (m).alpha, (m).a, (m).b) = (SELECT r, alpha, a, b FROM before))
       || ' new_null ' || ((m).se_r IS NULL AND (m).status IS NULL) FROM stored;
INSERT INTO o SELECT customer_id, ordered_on + 1, amount FROM o WHERE customer_id % 50 = 0;
SELECT 'incremental ' || refresh || ' ' || changed FROM persona.refresh_profile('up');
CREATE TEMP TABLE inc AS SELECT customer_id, orders, revenue, segment, clv_12m FROM up_customers;
SELECT 'full ' || refresh FROM persona.refresh_profile('up', incremental => false);
SELECT 'same_rows ' || count(*) FILTER (WHERE (i.orders, i.revenue, i.segment) = (c.orders, c.revenue, c.segment)
                                         AND abs(i.clv_12m - c.clv_12m) <= 1e-4 * abs(c.clv_12m)) || ' of ' || count(*)
FROM inc i JOIN up_customers c USING (customer_id);
SELECT 'filled ' || ((bgnbd).se_r > 0 AND (bgnbd).status IS NOT NULL) FROM up__globals;
-- the customers view of 0.4.0 had the barrier; now the stored rows behind it have it
SELECT 'barriers ' || coalesce((SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'up_customers'::regclass), 'none')
       || ' ' || (SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'up__guarded'::regclass);
-- the capture function of 0.4.0 is dropped with persona now (DROP EXTENSION ... CASCADE takes the triggers)
SELECT 'capture_depends ' || count(*) FROM pg_depend WHERE objid = 'up__capture()'::regprocedure AND deptype = 'x';
SELECT persona.drop_profile('up') \g /dev/null
SELECT 'profiles_left ' || count(*) FROM persona.profiles;
SQL
) || { fail "0.4.0 database with a stored fit and a profile updated: $out"; }
latest=$(psql -X -A -t -c "SELECT default_version FROM pg_available_extensions WHERE name = 'persona'")
want="version $latest
stored_same true new_null true
incremental incremental 47
full full
same_rows 2357 of 2357
filled true
barriers none security_barrier=true
capture_depends 1
profiles_left 0"
if [ $status = 0 ] && [ "$out" = "$want" ]; then
  echo "ok - a 0.4.0 database with a stored bgnbd fit and an incremental CDNOW profile updates to $latest: the stored fit keeps its values (new attributes NULL), the profile merges 47 changed customers, equals a full refresh for all 2357, the full refresh fills the standard errors, its customers view reads the stored rows through the barrier view, and its capture function is dropped with persona"
elif [ $status = 0 ]; then
  fail "0.4.0 database updated: got
$out"
fi
psql -X -q -c "DROP DATABASE $db" || status=1
exit $status
