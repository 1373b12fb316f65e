#!/bin/sh
# pg_dump / restore round trip: persona objects, user segment rules and
# columns of persona's types survive, and give the same answers afterwards.
set -eu
export PGOPTIONS="-c client_min_messages=warning"
src=persona_dump_src
dst=persona_dump_dst
mkdir -p results; dump=results/dump_restore.dump
trap 'rm -f "$dump"' EXIT
psql -X -q -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" -c "CREATE DATABASE $src" -c "CREATE DATABASE $dst"
psql -X -q -d $src -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION persona;
INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, f_min, m_min)
VALUES ('shop', 1, 'VIP', '贵宾', 4, 4, 4), ('shop', 2, 'Active', NULL, 4, 1, 1);
CREATE TABLE scored (id int, score persona.rfm, breaks persona.rfm_breaks, stage persona.lifecycle, tier persona.value_tier);
INSERT INTO scored VALUES (1, '545', persona.rfm_thresholds('{30}', '{3}', '{90.5}'), 'mature', 'gold'),
                          (2, '10-3-5/10', '{"bins": 2, "method": "mean", "n": 3, "r": [null], "f": [2], "m": [1e3]}', 'new', 'diamond');
CREATE INDEX ON scored (score);
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES ('scored', '高价值', 'value', 'persona.m(score) >= 4');
SELECT FROM persona.build_tag_view('scored_tags', 'scored', key_col => 'id');
CREATE TABLE tagged (id int, tags text[]);
INSERT INTO tagged VALUES (1, '{育儿,vip}'), (2, '{绘本}');
CREATE INDEX ON tagged USING gin (tags persona.gin_tag_ops);
CREATE VIEW labelled AS SELECT id, persona.rfm_segment(score, 'shop') AS shop, persona.rfm_segment(score) AS std FROM scored;
SQL
pg_dump -Fc -d $src -f "$dump"
pg_restore -d $dst --exit-on-error "$dump"
q="SELECT id, score::text, breaks::text, shop, std, stage, persona.label(stage), tier, s.tags, t.tags OPERATOR(persona.@@) '育儿 & !绘本'::persona.tagquery FROM scored JOIN labelled USING (id) JOIN scored_tags s USING (id) JOIN tagged t USING (id) ORDER BY id"
a=$(psql -X -A -t -q -d $src -c "SET enable_seqscan = off" -c "$q")
b=$(psql -X -A -t -q -d $dst -c "SET enable_seqscan = off" -c "$q")
rules=$(psql -X -A -t -d $dst -c "SELECT (SELECT count(*) FROM persona.segment_rules) + (SELECT count(*) FROM persona.tag_rules)")
psql -X -q -c "DROP DATABASE $src" -c "DROP DATABASE $dst"
if [ "$a" = "$b" ] && [ "$rules" = 3 ] && [ -n "$a" ]; then
  echo "ok - pg_dump/pg_restore round trip ($rules user rules, tag view, GIN index; $(echo "$a" | wc -l) rows identical)"
else
  echo "not ok - pg_dump/pg_restore round trip"; echo "before: $a"; echo "after: $b"; echo "rules: $rules"; exit 1
fi
