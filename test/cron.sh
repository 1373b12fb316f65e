#!/bin/sh
# Scheduled refresh with pg_cron. Two materialized profiles in the database
# pg_cron runs in (cron.database_name; its jobs run there): cron_good gets new
# orders, cron_bad loses a column it is computed from (renamed). Both are
# scheduled with persona.schedule_refresh and one wait (bounded) covers both
# runs: Debian 12's pg_cron 1.4 has only minute schedules ('* * * * *'), so a
# job first runs at the next minute; pg_cron >= 1.5 runs '2 seconds' jobs.
#   - cron_good: refreshed_at moves, the customers view shows the new orders,
#     last_error stays NULL;
#   - cron_bad: persona.profiles.last_error records that the column amount
#     does not exist, refreshed_at does not move and the profile still
#     reads its previous rows; pg_cron's run details say the job failed;
#   - unschedule_refresh removes both jobs: cron.job is empty.
# Also, in a database without pg_cron, schedule_refresh fails with 55000 and a
# message naming pg_cron. Without pg_cron in shared_preload_libraries (make
# installcheck users) the scheduled part is skipped (PERSONA_REQUIRE_CLIENTS=1,
# as tools/test sets, makes that a failure).
set -u
export PGOPTIONS="-c client_min_messages=warning -c persona.progress=off"
status=0
fail() { echo "not ok - $*"; status=1; }
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

# A statement's error as SQLSTATE|message|detail|hint ("no error" if none).
try_fn="CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS \$f\$
DECLARE s text; m text; d text; h text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN concat_ws('|', s, m, d, h);
END \$f\$;"

# --- schedule_refresh where pg_cron is not installed
nocron=persona_nocron
q -c "DROP DATABASE IF EXISTS $nocron" -c "CREATE DATABASE $nocron" >/dev/null
mkdir -p results
got=$(q -d $nocron <<SQL 2>results/cron_nocron.err
CREATE EXTENSION persona;
CREATE TABLE o (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO o VALUES (1, '2024-06-01 12:00+08', 10), (1, '2024-08-01 12:00+08', 15), (2, '2024-07-01 12:00+08', 20);
SELECT count(*) FROM persona.create_profile('p', 'o', as_of => '2025-01-01') \\g /dev/null
$try_fn
SELECT pg_temp.try(\$\$SELECT persona.schedule_refresh('p', '* * * * *')\$\$);
SQL
)
q -c "DROP DATABASE $nocron" >/dev/null
rm -f results/cron_nocron.err
case "$got" in
  "55000|schedule_refresh needs the pg_cron extension|"*"pg_cron is not installed in database $nocron."*"|"*"shared_preload_libraries"*"CREATE EXTENSION pg_cron"*)
    echo "ok - schedule_refresh without pg_cron: 55000 $(echo "$got" | cut -d'|' -f2-3)" ;;
  *) fail "schedule_refresh without pg_cron gives 55000 naming pg_cron, the database and what to do; got: $got"
     cat results/cron_nocron.err ;;
esac

# --- scheduled refreshes
cron_db=$(q -c "SELECT current_setting('cron.database_name', true)" 2>/dev/null)
preload=$(q -c "SELECT current_setting('shared_preload_libraries')")
case ",$(echo "$preload" | tr -d ' ')," in
  *,pg_cron,*) ;;
  *) if [ -n "${PERSONA_REQUIRE_CLIENTS:-}" ]; then
       fail "scheduled refresh: pg_cron is not in shared_preload_libraries (PERSONA_REQUIRE_CLIENTS is set)"
     else
       echo "ok - # SKIP scheduled refresh: pg_cron is not in shared_preload_libraries (tools/test preloads it)"
     fi
     exit $status ;;
esac
[ -n "$cron_db" ] || cron_db=postgres
export PGDATABASE="$cron_db"
# persona and pg_cron may be there already (then they stay); what the test makes goes
had_persona=$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'persona'")
had_cron=$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")
if ! q >/dev/null <<'SQL'
CREATE EXTENSION IF NOT EXISTS persona;
CREATE EXTENSION IF NOT EXISTS pg_cron;
-- what an interrupted earlier run may have left
SELECT persona.drop_profile(name) FROM persona.profiles WHERE name IN ('cron_good', 'cron_bad');
DROP SCHEMA IF EXISTS persona_cron CASCADE;
CREATE SCHEMA persona_cron;
CREATE TABLE persona_cron.orders_good (customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO persona_cron.orders_good
SELECT c, timestamptz '2024-01-01 10:00+08' + ((c * 29 + k * 41) % 360) * interval '1 day', (c * 17 + k * 5) % 90 + 0.5
FROM generate_series(1, 60) c, generate_series(1, 1 + c % 4) k;
CREATE TABLE persona_cron.orders_bad AS SELECT * FROM persona_cron.orders_good;
SELECT count(*) FROM persona.create_profile('cron_good', 'persona_cron.orders_good', schema => 'persona_cron',
    as_of => '2025-01-01', time_zone => 'Asia/Shanghai', parts => ARRAY['segments']);
SELECT count(*) FROM persona.create_profile('cron_bad', 'persona_cron.orders_bad', schema => 'persona_cron',
    as_of => '2025-01-01', time_zone => 'Asia/Shanghai', parts => ARRAY['segments']);
SQL
then
  fail "scheduled refresh: set up profiles in database $cron_db"; exit 1
fi
digest="SELECT md5(string_agg(c::text, ',' ORDER BY customer_id)) || ' ' || count(*) FROM persona_cron.cron_bad_customers c"
bad_before=$(q -c "$digest")
good_at=$(q -c "SELECT refreshed_at FROM persona.profiles WHERE name = 'cron_good'")
bad_at=$(q -c "SELECT refreshed_at FROM persona.profiles WHERE name = 'cron_bad'")
good_rows=$(q -c "SELECT count(*) FROM persona_cron.cron_good_customers")
# 5 new customers and a new order of customer 1, before the as-of day
q -c "INSERT INTO persona_cron.orders_good VALUES (1, '2024-12-30 20:00+08', 100),
        (1001, '2024-12-28 09:00+08', 10), (1002, '2024-12-29 23:30+08', 20), (1003, '2024-12-30 00:30+08', 30),
        (1004, '2024-12-31 12:00+08', 40), (1005, '2024-12-31 23:59+08', 50)" >/dev/null
q -c "ALTER TABLE persona_cron.orders_bad RENAME COLUMN amount TO amount_cny" >/dev/null
version=$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'")
schedule='* * * * *'
case "$version" in 1.[0-4]*) ;; *) schedule='2 seconds' ;; esac
jobs=$(q -c "SELECT persona.schedule_refresh('cron_good', '$schedule')" -c "SELECT persona.schedule_refresh('cron_bad', '$schedule')" | tr '\n' ' ')
n=$(q -c "SELECT count(*) FROM cron.job j JOIN persona.profiles p ON p.cron_job = j.jobid
          WHERE j.command = format('CALL persona.run_scheduled_refresh(%L)', p.name) AND j.schedule = '$schedule'
            AND j.database = current_database()")
if [ "$n" = 2 ]; then
  echo "ok - schedule_refresh: pg_cron $version jobs $jobs('$schedule') in database $cron_db, recorded in persona.profiles.cron_job"
else
  fail "schedule_refresh: 2 cron.job rows calling persona.run_scheduled_refresh, got $n (jobs $jobs)"
fi

# wait (at most 90 s) for both runs: good refreshed, bad failed
start=$(date +%s)
done_sql="SELECT count(*) FILTER (WHERE name = 'cron_good' AND refreshed_at > '$good_at')
               + count(*) FILTER (WHERE name = 'cron_bad' AND last_error IS NOT NULL)
          FROM persona.profiles"
while :; do
  k=$(q -c "$done_sql")
  [ "$k" = 2 ] && break
  [ $(( $(date +%s) - start )) -ge 90 ] && break
  sleep 1
done
waited=$(( $(date +%s) - start ))
[ "$k" = 2 ] || fail "scheduled refresh: both jobs ran within 90 s (waited $waited s; $(q -c "SELECT string_agg(status || ': ' || coalesce(return_message, ''), '; ') FROM cron.job_run_details"))"

good=$(q -c "SELECT (SELECT count(*) FROM persona_cron.cron_good_customers) || ' ' || customers || ' ' || coalesce(last_error, 'NULL') || ' '
                    || (SELECT orders || ':' || revenue FROM persona_cron.cron_good_customers WHERE customer_id = 1)
                    || ' ' || (SELECT count(*) FROM persona_cron.cron_good_customers WHERE customer_id > 1000)
             FROM persona.profiles WHERE name = 'cron_good'")
want_c1=$(q -c "SELECT count(*) || ':' || sum(amount) FROM persona_cron.orders_good WHERE customer_id = 1")
if [ "$good" = "$((good_rows + 5)) $((good_rows + 5)) NULL $want_c1 5" ]; then
  echo "ok - scheduled refresh of cron_good (waited $waited s): $((good_rows + 5)) customers, the 5 new ones and customer 1's new order ($want_c1) are in the view, last_error NULL"
else
  fail "scheduled refresh of cron_good: want '$((good_rows + 5)) $((good_rows + 5)) NULL $want_c1 5' (view rows, registry customers, last_error, customer 1 orders:revenue, new customers), got '$good'"
fi
err=$(q -c "SELECT last_error FROM persona.profiles WHERE name = 'cron_bad'")
case "$err" in
  *amount*'does not exist'*) echo "ok - failed scheduled refresh of cron_bad recorded: last_error = $err" ;;
  *) fail "failed scheduled refresh of cron_bad: last_error says the column amount does not exist; got: $err" ;;
esac
bad_after=$(q -c "$digest")
bad_at_after=$(q -c "SELECT refreshed_at FROM persona.profiles WHERE name = 'cron_bad'")
if [ "$bad_after" = "$bad_before" ] && [ "$bad_at_after" = "$bad_at" ] && [ -n "$bad_before" ]; then
  echo "ok - cron_bad still reads its previous rows (${bad_before#* } customers, same digest) and refreshed_at did not move"
else
  fail "cron_bad still reads its previous rows: before '$bad_before' at $bad_at, after '$bad_after' at $bad_at_after"
fi
run=$(q -c "SELECT d.status || ': ' || split_part(d.return_message, E'\n', 1) FROM cron.job_run_details d JOIN persona.profiles p ON p.cron_job = d.jobid
            WHERE p.name = 'cron_bad' ORDER BY d.runid LIMIT 1")
case "$run" in
  'failed: '*'scheduled refresh of profile "cron_bad" failed'*) echo "ok - pg_cron records the job as failed: $run" ;;
  *) fail "pg_cron records cron_bad's job as failed with persona's message; got: $run" ;;
esac

# unschedule: both jobs gone, cron.job empty
u=$(q -c "SELECT persona.unschedule_refresh('cron_good')" -c "SELECT persona.unschedule_refresh('cron_bad')" | tr '\n' ' ')
left=$(q -c "SELECT count(*) FROM cron.job")
reg=$(q -c "SELECT count(*) FROM persona.profiles WHERE name IN ('cron_good', 'cron_bad') AND cron_job IS NOT NULL")
if [ "$u" = "t t " ] && [ "$left" = 0 ] && [ "$reg" = 0 ]; then
  echo "ok - unschedule_refresh removed both jobs: cron.job is empty, persona.profiles.cron_job NULL"
else
  fail "unschedule_refresh: returned '$u', cron.job has $left rows, $reg profiles still have a job"
fi

q >/dev/null <<SQL || fail "clean up database $cron_db"
SELECT persona.drop_profile('cron_good');
SELECT persona.drop_profile('cron_bad');
DROP SCHEMA persona_cron CASCADE;
\\if $had_cron
\\else
DROP EXTENSION pg_cron;
\\endif
\\if $had_persona
\\else
DROP EXTENSION persona;
\\endif
SQL
exit $status
