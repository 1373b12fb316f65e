#!/bin/sh
# Profiles as BI tools read them, over psycopg2, JDBC (pgjdbc), ODBC (psqlODBC)
# and SQLAlchemy. Two
# deterministic orders tables (bigint and text customer keys) are profiled;
# every relation of each profile (its schema, name starting with NAME_; not the
# internal NAME__ relations, which hold aggregate states and persona types) is
# read by psql (canonical text, per-row md5: test/drivers/canonical.sql),
# by psycopg2 in session TimeZone Asia/Shanghai and by JDBC with
# -Duser.timezone=UTC and America/New_York (pgjdbc sets the session TimeZone
# to the JVM's), by psqlODBC in America/Los_Angeles and by SQLAlchemy in
# Europe/Berlin, psql itself in UTC:
#   - the clients see only built-in types and native values (their own checks:
#     test/drivers/profile_check.py, test/drivers/ProfileCheck.java);
#   - every client's columns, row counts and per-row digests equal psql's, so
#     no value (dates and day counts included) depends on the client's zone;
#   - string parameters bound where a BI tool binds them (psycopg2 %s, JDBC
#     setString) give the count psql gives with a literal.
#   - ODBC's catalog (SQLColumns) and SQLAlchemy's reflection name a standard
#     type for every column (never psqlODBC's "unknown" or SQLAlchemy's NullType).
# Without psycopg2, a JDK and the pgjdbc jar, pyodbc and psqlODBC or SQLAlchemy the client's checks are skipped
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

# Orders at every hour of the day (so a day taken in the wrong zone shows),
# amounts of several scales, a few customers with one order, non-ASCII keys;
# attributes for the funnel and a masked phone. Profile shop (bigint keys,
# materialized, Chinese labels, every part) and shoptxt (text keys, plain
# views computed by each read, English labels), both in Asia/Shanghai, as of
# 2025-01-01, with tag rules (tags are added by the refresh after the rules).
if ! psql -X -q -v ON_ERROR_STOP=1 >"$dir/setup.log" 2>&1 <<'SQL'
SET persona.progress = off;
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
CREATE TABLE attrs (customer_id bigint PRIMARY KEY, city text, phone text, visits integer, signed_up boolean,
                    is_member boolean, referrals integer, signed_up_at timestamptz);
INSERT INTO attrs
SELECT c, (ARRAY['上海', '北京', 'Shenzhen', NULL])[1 + c % 4], '138' || lpad((c * 7919 % 100000000)::text, 8, '0'),
       1 + c % 7, c % 5 <> 0, c % 3 = 0, c % 4, timestamptz '2022-12-01 23:30+08' + c * interval '1 day'
FROM generate_series(1, 260) c;
CREATE SCHEMA bi;
SELECT count(*) FROM persona.create_profile('shop', 'orders_int', schema => 'bi', as_of => '2025-01-01',
    time_zone => 'Asia/Shanghai', language => 'zh', attributes_from => 'attrs', pii => '{"phone": "phone"}',
    funnel_columns => ARRAY['visits', 'signed_up', 'is_member', 'referrals'], holdout_days => 90);
SELECT count(*) FROM persona.create_profile('shoptxt', 'orders_txt', schema => 'bi', as_of => '2025-01-01',
    time_zone => 'Asia/Shanghai', language => 'en', materialized => false);
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES
  ('bi.shop_customers', '高价值', 'value', 'revenue > 1000'),
  ('bi.shop_customers', 'frequent buyer', 'behavior', 'orders > 6'),
  ('bi.shop_customers', '流失风险', 'predictive', 'recency_days > 180'),
  ('bi.shoptxt_customers', '高价值', 'value', 'revenue > 1000'),
  ('bi.shoptxt_customers', 'lunch', 'behavior', 'lunch_share > 0.2');
SELECT count(*) FROM persona.refresh_profile('shop');
SELECT count(*) FROM persona.refresh_profile('shoptxt');
SQL
then
  fail "setup: orders, attributes, create_profile"; cat "$dir/setup.log"; exit 1
fi

# String parameters: label, query with one ? for the parameter, value.
params="$dir/params"
cat > "$params" <<'EOF'
segment_eq	SELECT count(*) FROM bi.shoptxt_customers WHERE segment = ?	Champions
segment_eq_zh	SELECT count(*) FROM bi.shop_customers WHERE segment = ?	冠军客户
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
want_rels="bi.shop_customer_tags bi.shop_customers bi.shop_funnel bi.shop_holdout bi.shop_lifecycle bi.shop_models bi.shop_pareto bi.shop_quality bi.shop_segments bi.shoptxt_customer_tags bi.shoptxt_customers bi.shoptxt_lifecycle bi.shoptxt_models bi.shoptxt_pareto bi.shoptxt_quality bi.shoptxt_segments"
got_rels=$(sed -n 's/ columns .*//p' "$dir/psql.out" | tr '\n' ' ' | sed 's/ $//')
if [ "$got_rels" = "$want_rels" ]; then
  echo "ok - the profiles have the relations create_profile makes (customers, customer_tags, segments, lifecycle, pareto, quality, models; holdout and funnel for shop)"
else
  fail "the profiles' relations are $got_rels, not $want_rels"
fi
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

# ODBC (psqlODBC through unixODBC, driven by pyodbc), in America/Los_Angeles
if "$python" -c "import pyodbc, psycopg2" 2>/dev/null && odbcinst -q -d -n "PostgreSQL Unicode" >/dev/null 2>&1; then
  set -- "$dir/odbc.out" America/Los_Angeles
  for p in $profiles; do set -- "$@" "$p"; done
  while IFS="$tab" read -r label sql value; do set -- "$@" --param "$label" "$sql" "$value"; done <"$params"
  if "$python" test/drivers/profile_check_odbc.py "$@"; then :; else status=1; fi
  if [ -s "$dir/odbc.out" ]; then compare "ODBC (America/Los_Angeles)" "$dir/odbc.out"; else fail "ODBC wrote no output"; fi
else
  skip "ODBC checks: need pyodbc and the psqlODBC driver (Debian: python3-pyodbc, odbc-postgresql)"
fi

# SQLAlchemy 1.4 (what Superset and many notebooks use): reflected column types
if "$python" -c "import sqlalchemy, psycopg2" 2>/dev/null; then
  set --
  for p in $profiles; do set -- "$@" "$p"; done
  while IFS="$tab" read -r label sql value; do set -- "$@" --param "$label" "$sql" "$value"; done <"$params"
  if PGTZ=Europe/Berlin "$python" test/drivers/profile_check_sqlalchemy.py "$dir/sqlalchemy.out" "$@"; then :; else status=1; fi
  if [ -s "$dir/sqlalchemy.out" ]; then compare "SQLAlchemy (Europe/Berlin)" "$dir/sqlalchemy.out"; else fail "SQLAlchemy wrote no output"; fi
else
  skip "SQLAlchemy checks: need sqlalchemy and psycopg2 (Debian: python3-sqlalchemy)"
fi

export PGDATABASE=postgres
psql -X -q -c "DROP DATABASE $db" || status=1
[ $status = 0 ] && rm -rf "$dir"
exit $status
