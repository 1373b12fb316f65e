-- String parameters for @@: drivers bind text (libpq, psycopg 3 with
-- prepared statements) or varchar (JDBC setString), and implicit I/O casts
-- to tagquery let tags @@ $1 resolve, through the GIN index.

-- The casts: implicit, by I/O (so the input function parses and reports).
SELECT c.castsource::regtype, c.casttarget::regtype, c.castcontext, c.castmethod
FROM pg_cast c WHERE c.casttarget = 'persona.tagquery'::regtype ORDER BY 1::text;

CREATE TABLE sp (id int, tags text[], q text, vq varchar);
INSERT INTO sp SELECT i, ARRAY['t' || (i % 7), 'u' || (i % 11)] || CASE WHEN i % 13 = 0 THEN ARRAY['vip'] ELSE '{}' END,
                      NULL, NULL
FROM generate_series(1, 2000) i;
INSERT INTO sp VALUES (0, '{育儿,绘本}', '育儿 & 绘本', '育儿 & !绘本');
CREATE INDEX sp_tags ON sp USING gin (tags persona.gin_tag_ops);
ANALYZE sp;

-- text and varchar parameters.
PREPARE pt(text) AS SELECT count(*) FROM sp WHERE tags OPERATOR(persona.@@) $1;
PREPARE pv(varchar) AS SELECT count(*) FROM sp WHERE tags OPERATOR(persona.@@) $1;
EXECUTE pt('t3 & u5');
EXECUTE pv('t3 & u5');
SELECT count(*) FROM sp WHERE tags OPERATOR(persona.@@) 't3 & u5'::persona.tagquery;  -- the same
EXECUTE pt('vip & !t0');
EXECUTE pv('vip & !t0');
EXECUTE pt(NULL);  -- NULL matches nothing

-- The GIN index answers them, in custom and generic plans alike.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) EXECUTE pt('t3 & u5');
EXPLAIN (COSTS OFF) EXECUTE pv('t3 & u5');
SET plan_cache_mode = force_generic_plan;
PREPARE gt(text) AS SELECT count(*) FROM sp WHERE tags OPERATOR(persona.@@) $1;
PREPARE gv(varchar) AS SELECT count(*) FROM sp WHERE tags OPERATOR(persona.@@) $1;
EXPLAIN (COSTS OFF) EXECUTE gt('t3 & u5');
EXPLAIN (COSTS OFF) EXECUTE gv('t3 & u5');
EXECUTE gt('t3 & u5');
EXECUTE gv('vip & !t0');
RESET plan_cache_mode;
-- Literals resolve as before: tagquery straight away, and through the index.
EXPLAIN (COSTS OFF) SELECT count(*) FROM sp WHERE tags OPERATOR(persona.@@) 't3 & u5';
RESET enable_seqscan;

-- A bad string is the tagquery input error, as a bad literal is.
EXECUTE pt('t3 &');
EXECUTE pv('(t3');
SELECT count(*) FROM sp WHERE tags OPERATOR(persona.@@) 't3 &';

-- Text and varchar columns as queries, and with the operator on the search path.
SET search_path = public, persona;
SELECT id, tags @@ q AS by_text, tags @@ vq AS by_varchar, q ~~ tags AS commuted FROM sp WHERE id = 0;
SELECT tag_match('{a,b}', 'a & b'::text) AS text_arg, tag_match('{a}', 'a & b'::varchar) AS varchar_arg;

-- Nothing else becomes ambiguous or changes meaning: core text search @@
-- and LIKE (~~) on text and varchar still resolve to the core operators.
SELECT 'fat cats'::text @@ 'cat'::text AS text_search, to_tsvector('fat cats') @@ 'cat' AS tsvector_search,
       'abc'::text ~~ 'a%' AS like_text, 'abc'::varchar ~~ 'a%' AS like_varchar, 'abc' ~~ 'a%' AS like_unknown;
-- The plan shows which operators were chosen: pg_catalog's LIKE and text
-- search for text and varchar columns against strings, persona's where the
-- other side is text[].
EXPLAIN (COSTS OFF, VERBOSE)
SELECT vq ~~ 'a%', q ~~ 'a%'::varchar, q @@ 'cat', vq @@ 'cat'::text, tags @@ q, vq ~~ tags FROM sp;
RESET search_path;
