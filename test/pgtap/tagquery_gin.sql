-- The GIN operator class answers @@ (and the array operators) exactly like a sequential scan.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(8);
SELECT setseed(0.7);

-- 3,000 customers with 0..8 of 12 tags (and a few NULL elements).
CREATE TABLE t AS
SELECT i AS id,
       ARRAY(SELECT CASE WHEN random() < 0.02 THEN NULL ELSE 't' || (1 + floor(random() * 12))::int END
             FROM generate_series(1, floor(random() * 9)::int)) AS tags
FROM generate_series(1, 3000) i;
CREATE INDEX t_tags ON t USING gin (tags persona.gin_tag_ops);
ANALYZE t;

-- Random queries: nested &, |, ! over 15 tags (three of them on nobody).
CREATE FUNCTION pg_temp.rq(depth int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r float8 := random();
BEGIN
    IF depth = 0 OR r < 0.3 THEN RETURN 't' || (1 + floor(random() * 15))::int; END IF;
    IF r < 0.45 THEN RETURN '!(' || pg_temp.rq(depth - 1) || ')'; END IF;
    IF r < 0.75 THEN RETURN '(' || pg_temp.rq(depth - 1) || ' & ' || pg_temp.rq(depth - 1) || ')'; END IF;
    RETURN '(' || pg_temp.rq(depth - 1) || ' | ' || pg_temp.rq(depth - 1) || ')';
END $$;
CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q; END $$;
CREATE TABLE queries AS SELECT g AS n, pg_temp.rq(4)::persona.tagquery AS q FROM generate_series(1, 300) g;
CREATE TABLE arrays AS
SELECT g AS n, ARRAY(SELECT 't' || (1 + floor(random() * 15))::int FROM generate_series(1, 1 + g % 3)) AS a
FROM generate_series(1, 100) g;

SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TABLE seq AS
SELECT n, (SELECT count(*) FROM t WHERE tags OPERATOR(persona.@@) q) AS c FROM queries;
CREATE TABLE seq_arrays AS
SELECT n, (SELECT count(*) FROM t WHERE tags && a) AS overlap, (SELECT count(*) FROM t WHERE tags @> a) AS contains,
       (SELECT count(*) FROM t WHERE tags <@ a) AS contained FROM arrays;
RESET enable_indexscan;
RESET enable_bitmapscan;
SET enable_seqscan = off;

SELECT diag((SELECT count(*) FROM seq WHERE c > 0)::text || ' non-empty, ' || (SELECT count(*) FROM seq WHERE c < 3000)::text || ' not full');
SELECT ok((SELECT count(*) FROM seq WHERE c > 0) > 60 AND (SELECT count(*) FROM seq WHERE c < 3000) > 60,
          'the random queries are neither all empty nor all full');
SELECT ok((SELECT count(*) FROM queries WHERE NOT persona.tag_match('{}', q)) > 50
          AND (SELECT count(*) FROM queries WHERE persona.tag_match('{}', q)) > 50,
          'some queries need an operand, some match an empty tag set (full index scan)');
SELECT is_empty($$
    SELECT n FROM seq JOIN queries USING (n)
    WHERE c <> (SELECT count(*) FROM t WHERE tags OPERATOR(persona.@@) q)$$,
    '300 random @@ queries: the GIN index finds exactly what a sequential scan finds');
SELECT is_empty($$
    SELECT n FROM seq JOIN queries USING (n)
    WHERE c <> (SELECT count(*) FROM t WHERE q OPERATOR(persona.~~) tags)$$,
    'the commutator ~~ gives the same answers through the index');
SELECT is_empty($$
    SELECT n FROM seq_arrays JOIN arrays USING (n)
    WHERE overlap <> (SELECT count(*) FROM t WHERE tags && a)
       OR contains <> (SELECT count(*) FROM t WHERE tags @> a)
       OR contained <> (SELECT count(*) FROM t WHERE tags <@ a)$$,
    'the same index answers &&, @> and <@ like a sequential scan');
SELECT ok(position('t_tags' IN (SELECT string_agg(p, ' ') FROM
          (SELECT * FROM pg_temp.plan('SELECT count(*) FROM t WHERE tags OPERATOR(persona.@@) ''t3 & !t4''')) x(p))) > 0,
          'a selective @@ query uses the GIN index');
SELECT is((SELECT count(*) FROM t WHERE tags OPERATOR(persona.@@) 't1 & t2')::int,
          (SELECT count(*) FROM t WHERE tags @> '{t1,t2}')::int, 'a & b means contains both');
SELECT is((SELECT count(*) FROM t WHERE tags OPERATOR(persona.@@) 't1 | t2')::int,
          (SELECT count(*) FROM t WHERE tags && '{t1,t2}')::int, 'a | b means overlaps');

SELECT * FROM finish();
ROLLBACK;
