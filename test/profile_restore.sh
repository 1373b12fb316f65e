#!/bin/sh
# A profile survives pg_dump / pg_restore: registry, relations, stored rows,
# tag rules, the incremental triggers (which keep working), and drop_profile.
set -eu
export PGOPTIONS="-c client_min_messages=error -c persona.progress=off"
src=persona_prof_src
dst=persona_prof_dst
mkdir -p results; dump=results/profile_restore.dump
trap 'rm -f "$dump"' EXIT
psql -X -q -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" -c "CREATE DATABASE $src" -c "CREATE DATABASE $dst"
psql -X -q -d $src -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE EXTENSION persona;
CREATE TABLE orders (customer_id text, ordered_at timestamptz, amount numeric(10,2));
INSERT INTO orders SELECT 'u' || (i % 30), timestamptz '2024-01-01 09:00+08' + (i * 7 % 360) * interval '1 day' + (i % 13) * interval '1 hour', 10 + i % 70
FROM generate_series(1, 600) i;
CREATE TABLE people (customer_id text PRIMARY KEY, mobile text);
INSERT INTO people SELECT 'u' || i, '1390000' || lpad(i::text, 4, '0') FROM generate_series(0, 29) i;
CREATE SCHEMA bi;
SELECT persona.create_profile('shop', 'orders', schema => 'bi', as_of => '2024-12-31', time_zone => 'Asia/Shanghai',
                              incremental => true, attributes_from => 'people', pii => '{"mobile": "phone"}');
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES ('bi.shop_customers', 'big', 'value', 'm_score >= 4');
SELECT persona.refresh_profile('shop');
CREATE VIEW my_report AS SELECT segment, customers FROM bi.shop_segments;
SQL
pg_dump -Fc -d $src -f "$dump"
pg_restore -d $dst --exit-on-error "$dump"
q="SELECT (SELECT md5(string_agg(c::text, ';' ORDER BY customer_id)) FROM bi.shop_customers c),
          (SELECT md5(string_agg(s::text, ';' ORDER BY segment)) FROM bi.shop_segments s),
          (SELECT string_agg(name || ' ' || schema_name || ' ' || orders::text || ' ' || time_zone, ',') FROM persona.profiles),
          (SELECT count(*) FROM bi.shop_customer_tags), (SELECT count(*) FROM my_report),
          (SELECT count(*) FROM pg_depend WHERE objid = 'bi.shop__capture()'::regprocedure AND deptype = 'x')"
a=$(psql -X -A -t -q -d $src -c "$q")
b=$(psql -X -A -t -q -d $dst -c "$q")
# the restored triggers record new orders and the restored profile merges them
after=$(psql -X -A -t -q -d $dst -v ON_ERROR_STOP=1 \
  -c "INSERT INTO orders VALUES ('new', '2024-12-30 10:00+08', 99)" \
  -c "SELECT refresh FROM persona.refresh_profile('shop')" \
  -c "SELECT count(*) FROM bi.shop_customers WHERE customer_id = 'new'" \
  -c "SELECT persona.drop_profile('shop', cascade => true)" \
  -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'bi'::regnamespace" 2>results/profile_restore.err | tr '\n' ' ')
psql -X -q -c "DROP DATABASE $src" -c "DROP DATABASE $dst"
if [ "$a" = "$b" ] && [ -n "$a" ] && [ "${a##*|}" = 1 ] && [ "$after" = "incremental 1  0 " ]; then
  echo "ok - a profile survives pg_dump/pg_restore (registry, customers with masked attributes and tags, segments, a user view; restored triggers feed an incremental refresh, its capture function still depends on persona; drop_profile cleans up)"
else
  echo "not ok - profile pg_dump/pg_restore"; echo "before: $a"; echo "after:  $b"; echo "then:   $after"; cat results/profile_restore.err; exit 1
fi
