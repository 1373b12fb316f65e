-- The tagquery type: parsing, canonical output, matching.
SET search_path = public, persona;
SELECT q::persona.tagquery AS canonical
FROM (VALUES ('a'), ('a&b'), ('a | b & c'), ('(a | b) & c'), ('a & (b & c)'), ('(a & b) & c'),
             ('!a'), ('!!a'), ('!(a | b)'), ('! a & b'), ('a | (b | c)'),
             ('育儿 & (vip | !churn_risk)'), ('"new york" & !"a&b"'), ('"say \"hi\"" | "back\\slash"'),
             ('""'), ('  spaced   &   out  '), ('都市宝妈&高价值&!流失风险')) v(q);
-- Output re-parses to the same query.
SELECT q::persona.tagquery::text::persona.tagquery::text = q::persona.tagquery::text AS round_trip
FROM (VALUES ('a & (b | !c) | d & e'), ('!(!(a))'), ('"x y" & (z | "(")')) v(q);

-- Matching: NULL elements are not tags; a NULL array gives NULL.
SELECT tags, q, tags @@ q::persona.tagquery AS match, q::persona.tagquery ~~ tags AS commuted
FROM (VALUES ('{育儿,绘本,vip}'::text[], '育儿 & 绘本'), ('{育儿}', '育儿 & 绘本'), ('{育儿}', '育儿 & !绘本'),
             ('{}', '!churn'), ('{churn}', '!churn'), ('{a,NULL,b}', 'a & b'), ('{NULL}', '!a'),
             ('{"new york"}', '"new york"'), ('{x,x,y}', 'x & y & !z'), ('{A}', 'a')) v(tags, q);
SELECT persona.tag_match(NULL, 'a') IS NULL AS null_tags;

-- Binary send/recv round trip.
CREATE TEMP TABLE tq (q persona.tagquery);
INSERT INTO tq VALUES ('育儿 & (vip | !churn_risk)'), ('"a b" | c');
\copy tq TO 'results/persona_tq.bin' WITH (FORMAT binary)
CREATE TEMP TABLE tq2 (q persona.tagquery);
\copy tq2 FROM 'results/persona_tq.bin' WITH (FORMAT binary)
SELECT q FROM tq2;

-- Malformed queries say where.
SELECT ''::persona.tagquery;
SELECT 'a &'::persona.tagquery;
SELECT 'a b'::persona.tagquery;
SELECT '(a | b'::persona.tagquery;
SELECT 'a | b)'::persona.tagquery;
SELECT '& a'::persona.tagquery;
SELECT '"open'::persona.tagquery;
SELECT 'a & 育儿 育儿'::persona.tagquery;
SELECT 'back\slash'::persona.tagquery;
SELECT '!'::persona.tagquery;
-- Limits.
SELECT repeat('(', 300) || 'a' || repeat(')', 300)::text AS deep \gset
SELECT :'deep'::persona.tagquery;
SELECT repeat('x', 1025)::persona.tagquery;
SELECT string_agg('t' || i, ' | ')::persona.tagquery FROM generate_series(1, 5000) i;
