#!/bin/sh
# Profiles as BI tools read them, over psycopg2 and JDBC (pgjdbc). Two
# deterministic orders tables (bigint and text customer keys) are profiled;
# every relation of each profile (its schema, name starting with NAME_) is
# read by psql (canonical text, per-row md5: test/drivers/canonical.sql),
# by psycopg2 in session TimeZone Asia/Shanghai and by JDBC with
# -Duser.timezone=UTC and America/New_York (pgjdbc sets the session TimeZone
# to the JVM's), psql itself in UTC:
#   - the clients see only built-in types and native values (their own checks:
#     test/drivers/profile_check.py, test/drivers/ProfileCheck.java);
#   - every client's columns, row counts and per-row digests equal psql's, so
#     no value (dates and day counts included) depends on the client's zone;
#   - string parameters bound where a BI tool binds them (psycopg2 %s, JDBC
#     setString) give the count psql gives with a literal.
# Without psycopg2 or a JDK and the pgjdbc jar the client's checks are skipped
# (PERSONA_REQUIRE_CLIENTS=1, as tools/test sets, makes that a failure).
set -u
export PGOPTIONS="-c client_min_messages=warning"
db=persona_drivers
dir=results/drivers
jar=${PERSONA_JDBC_JAR:-/usr/share/java/postgresql.jar}
# Debian's python3-psycopg2 is for /usr/bin/python3, whatever python3 PATH finds
python=${PERSONA_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=python3
rm -rf "$dir"; mkdir -p "$dir/classes"
status=0
fail() { echo "not ok - $*"; status=1; }
skip() {
  if [ -n "${PERSONA_REQUIRE_CLIENTS:-}" ]; then fail "$* (PERSONA_REQUIRE_CLIENTS is set)"; else echo "ok - # SKIP $*"; fi
}

psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || { fail "create database $db"; exit 1; }
export PGDATABASE=$db
profiles="bi.shop bi.shoptxt"

# Orders at every hour of the day (so a date taken in the wrong zone shows),
# amounts of several scales, a few customers with one order, non-ASCII keys.
if ! psql -X -q -v ON_ERROR_STOP=1 >"$dir/setup.log" 2>&1 <<'SQL'
CREATE EXTENSION persona;
CREATE TABLE orders_int (customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO orders_int
SELECT c, timestamptz '2023-01-01 00:00+08' + ((c * 37 + k * 53) % 700) * interval '1 day'
          + ((c * 11 + k * 5) % 24) * interval '1 hour' + ((c + k) % 60) * interval '1 minute',
       round(((c * 13 + k * 7) % 300 + (c % 4) * 0.25)::numeric, 1 + c % 3)
FROM generate_series(1, 240) c, generate_series(1, 1 + (c * 7) % 9) k;
CREATE TABLE orders_txt (customer_id text, ordered_at timestamptz, amount numeric);
INSERT INTO orders_txt
SELECT CASE WHEN customer_id % 10 = 0 THEN '客户-' ELSE 'C' END || lpad(customer_id::text, 4, '0'), ordered_at, amount
FROM orders_int;
SQL
then
  fail "setup"; cat "$dir/setup.log"; exit 1
fi

# The profiles. TEMPORARY: a stand-in until persona.create_profile lands.
if ! psql -X -q -v ON_ERROR_STOP=1 >"$dir/profile.log" 2>&1 <<'SQL'
\i test/drivers/standin.sql
SELECT public.standin_profile('shop', 'orders_int', 'bi', true);
SELECT public.standin_profile('shoptxt', 'orders_txt', 'bi', false);
SQL
then
  fail "create profiles"; cat "$dir/profile.log"; exit 1
fi

# String parameters: label, query with one ? for the parameter, value.
params="$dir/params"
cat > "$params" <<'EOF'
segment_eq	SELECT count(*) FROM bi.shop_customers WHERE segment = ?	Champions
tag_any	SELECT count(*) FROM bi.shoptxt_customers WHERE ? = ANY(tags)	高价值
tag_query	SELECT count(*) FROM bi.shop_customers WHERE tags OPERATOR(persona.@@) ?	高价值 & !流失风险
profile_as_of	SELECT count(*) FROM persona.customer_profile('orders_int', ?)	2025-01-01
EOF

# psql: the reference, in UTC, parameters as literals.
if ! PGTZ=UTC psql -X -q -A -t -v ON_ERROR_STOP=1 -v profiles="$profiles" -f test/drivers/canonical.sql >"$dir/psql.raw" 2>"$dir/psql.err"; then
  fail "psql reads the profiles"; cat "$dir/psql.err"; exit 1
fi
tab=$(printf '\t')
while IFS="$tab" read -r label sql value; do
  lit=$(printf '%s' "$value" | sed "s/'/''/g")
  n=$(PGTZ=UTC psql -X -q -A -t -c "${sql%%\?*}'$lit'${sql#*\?}" 2>&1) || n="ERROR $n"
  echo "param $label $n" >>"$dir/psql.raw"
done <"$params"
sort "$dir/psql.raw" >"$dir/psql.out"
rows=$(grep -c ' row ' "$dir/psql.out")
rels=$(grep -c ' columns ' "$dir/psql.out")
if [ "$rels" -ge 2 ] && [ "$rows" -gt 0 ] && ! grep -q '^param .* \(ERROR\|0$\)' "$dir/psql.out"; then
  echo "ok - psql reads $rels relations ($rows rows) of profiles $profiles; parameter queries return rows"
else
  fail "psql reads the profiles and the parameter queries return rows"; grep '^param' "$dir/psql.out"
fi

# compare CLIENT OUTFILE: relations and rows, then each parameter's count
compare() {
  who=$1; out=$2
  sort "$out" >"$out.sorted"
  if diff "$dir/psql.out" "$out.sorted" | grep -v '^[<>] param ' | grep -q '^[<>]'; then
    fail "$who: columns, row counts and per-row digests equal psql's"
    diff "$dir/psql.out" "$out.sorted" | grep '^[<>]' | grep -v '^[<>] param ' | head -10
  else
    echo "ok - $who: columns, row counts and per-row digests equal psql's ($rows rows)"
  fi
  while IFS="$tab" read -r label sql value; do
    want=$(grep "^param $label " "$dir/psql.out")
    got=$(grep "^param $label " "$out.sorted")
    if [ "$want" = "$got" ]; then
      echo "ok - $who: bound '$value' in $sql: ${got#param $label } as psql"
    else
      fail "$who: bound '$value' in $sql: ${got#param $label }, psql ${want#param $label }"
    fi
  done <"$params"
}

# psycopg2, in Asia/Shanghai
if "$python" -c "import psycopg2" 2>/dev/null; then
  set -- "$dir/psycopg2.out"
  for p in $profiles; do set -- "$@" "$p"; done
  while IFS="$tab" read -r label sql value; do
    set -- "$@" --param "$label" "$(printf '%s' "$sql" | sed -e 's/%/%%/g' -e 's/?/%s/')" "$value"
  done <"$params"
  if PGTZ=Asia/Shanghai "$python" test/drivers/profile_check.py "$@"; then :; else status=1; fi
  if [ -s "$dir/psycopg2.out" ]; then compare "psycopg2 (Asia/Shanghai)" "$dir/psycopg2.out"; else fail "psycopg2 wrote no output"; fi
else
  skip "psycopg2 checks: $python cannot import psycopg2 (Debian: python3-psycopg2)"
fi

# JDBC, compiled now, in UTC and America/New_York
if command -v javac >/dev/null && command -v java >/dev/null && [ -r "$jar" ]; then
  if javac -nowarn -d "$dir/classes" -cp "$jar" test/drivers/ProfileCheck.java 2>"$dir/javac.err"; then
    for tz in UTC America/New_York; do
      out="$dir/jdbc-$(echo $tz | tr / -).out"
      set -- "$out"
      for p in $profiles; do set -- "$@" "$p"; done
      while IFS="$tab" read -r label sql value; do set -- "$@" --param "$label" "$sql" "$value"; done <"$params"
      if java -Duser.timezone=$tz -cp "$dir/classes:$jar" ProfileCheck "$@"; then :; else status=1; fi
      if [ -s "$out" ]; then compare "JDBC ($tz)" "$out"; else fail "JDBC ($tz) wrote no output"; fi
    done
  else
    fail "javac test/drivers/ProfileCheck.java"; cat "$dir/javac.err"
  fi
else
  skip "JDBC checks: need javac, java and $jar (Debian: openjdk-17-jdk-headless, libpostgresql-jdbc-java)"
fi

export PGDATABASE=postgres
psql -X -q -c "DROP DATABASE $db" || status=1
[ $status = 0 ] && rm -rf "$dir"
exit $status
