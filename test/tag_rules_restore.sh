#!/bin/sh
# Tag rules and their relations across pg_dump / pg_restore: a rule whose
# relation was dropped is left out of the dump (its source would restore as
# a bare OID), the rules on a table, a view and a materialized view (still
# unpopulated when the rules load) restore by name, pass the insert check
# again, and build the same tags.
set -eu
export PGOPTIONS="-c client_min_messages=warning"
src=persona_rules_src
dst=persona_rules_dst
mkdir -p results; dump=results/tag_rules_restore.dump
trap 'rm -f "$dump"' EXIT
psql -X -q -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" -c "CREATE DATABASE $src" -c "CREATE DATABASE $dst"
psql -X -q -d $src -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION persona;
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO orders SELECT i % 50, timestamptz '2024-01-01' + (i * 7 % 300) * interval '1 day', i % 90 FROM generate_series(1, 400) i;
CREATE TABLE prof AS SELECT * FROM persona.customer_profile('orders', '2024-12-31');
CREATE VIEW "Prof View" AS SELECT customer_id, orders, revenue, rfm FROM prof;
CREATE MATERIALIZED VIEW prof_mv AS SELECT * FROM prof;
CREATE TABLE gone AS SELECT * FROM prof;
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES
  ('"Prof View"', 'regular', 'basic', 'orders >= 8'),
  ('"Prof View"', 'top', 'value', 'persona.m(rfm) >= 4'),
  ('prof', 'quiet', 'behavior', 'recency_days > 30'),
  ('prof_mv', 'mv_top', 'value', 'revenue > 350'),
  ('gone', 'lost', 'basic', 'orders > 0');
DROP TABLE gone;
SELECT FROM persona.build_tag_view('view_tags', '"Prof View"');
SQL
pg_dump -Fc -d $src -f "$dump"
status=0
pg_restore -d $dst --exit-on-error "$dump" || status=1
q="SELECT string_agg(format('%s %s %s', source, tag, enabled), '; ' ORDER BY tag) FROM persona.tag_rules"
t="SELECT string_agg(customer_id || ':' || tags::text, ' ' ORDER BY customer_id) FROM view_tags"
mv_top=$(psql -X -A -t -q -d $src -c "SELECT count(*) FROM prof_mv WHERE revenue > 350")
rules=$(psql -X -A -t -q -d $dst -c "$q")
tags_src=$(psql -X -A -t -q -d $src -c "$t")
tags_dst=$(psql -X -A -t -q -d $dst -c "$t")
# In the restored database the rules work as before: rebuilt, re-checked on update.
rebuilt=$(psql -X -A -t -q -d $dst -v ON_ERROR_STOP=1 \
  -c "UPDATE persona.tag_rules SET rule_sql = 'orders >= 9' WHERE tag = 'regular'" \
  -c "SELECT persona.build_tag_view('prof_tags', 'prof')" \
  -c "SELECT persona.build_tag_view('mv_tags', 'prof_mv')" \
  -c "SELECT count(*) FROM mv_tags WHERE tags = '{mv_top}'" 2>&1) || status=1
psql -X -q -c "DROP DATABASE $src" -c "DROP DATABASE $dst"
expected='prof_mv mv_top t; prof quiet t; "Prof View" regular t; "Prof View" top t'
if [ $status = 0 ] && [ "$mv_top" -gt 0 ] && [ "$rules" = "$expected" ] && [ -n "$tags_src" ] && [ "$tags_src" = "$tags_dst" ] && [ "$rebuilt" = "$(printf 'prof_tags\nmv_tags\n%s' "$mv_top")" ]; then
  echo "ok - tag rules survive pg_dump/pg_restore (4 rules on a table, a view and a materialized view restored by name, the dropped relation's rule left out, same tags)"
else
  echo "not ok - tag rules across pg_dump/pg_restore"
  echo "restore status: $status"; echo "rules: $rules"; echo "expected: $expected"
  echo "tags before: $tags_src"; echo "tags after: $tags_dst"; echo "rebuild: $rebuilt"
  exit 1
fi
