-- Queries that would run for minutes (or fail only after seconds of
-- uninterruptible work) are cancelled by a short statement_timeout with
-- SQLSTATE 57014.  No timings: each query either is cancelled or ends some
-- other way.  (pgTAP's throws_ok cannot see 57014: PL/pgSQL's WHEN OTHERS
-- does not catch query_canceled, so sqlstate_of below catches it by name.)
-- test/cancel_latency.sh measures how late the cancels arrive, at scale.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(6);

-- The SQLSTATE q ends with ('00000' when it succeeds).
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN '00000';
EXCEPTION
    WHEN query_canceled THEN
        RETURN SQLSTATE;
    WHEN OTHERS THEN
        RETURN SQLSTATE;
END $$;

-- The detail of the error q ends with.
CREATE FUNCTION pg_temp.detail_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN d;
END $$;

-- Tags that all probe the same slots of the operand table of a 4,000-operand query.
CREATE TEMP TABLE collide AS SELECT array_fill('t99999m99999t'::text, ARRAY[2000000]) AS tags;
SELECT string_agg(format('t%sm%st', lpad(i::text, 5, '0'), lpad(i::text, 5, '0')), ' | ') AS q
FROM generate_series(1, 4000) i \gset

SET statement_timeout = '100ms';

-- 2^31 - 1 transaction values: 16 minutes without interrupt checks.
SELECT is(pg_temp.sqlstate_of('SELECT persona.simulate_mean_spend(1, 1, 1, 2147483647, 1)'), '57014',
          'simulate_mean_spend with a huge x is cancelled');

-- One customer buying a million times per period who never drops out: the
-- purchase loop runs to the 10^8-purchase limit (54000) unless cancelled.
SELECT is(pg_temp.sqlstate_of('SELECT count(*) FROM persona.simulate_bgnbd(100, 1e-4, 1e-4, 1000, 1, 1000, 1)'), '57014',
          'simulate_bgnbd is cancelled inside one customer''s purchases');
SELECT is(pg_temp.sqlstate_of('SELECT count(*) FROM persona.simulate_pareto_nbd(100, 1e-4, 1e-4, 1000, 1, 1000, 1)'), '57014',
          'simulate_pareto_nbd is cancelled inside one customer''s purchases');

-- 2M tags x 4,000 probes each: about half a minute without interrupt checks.
SELECT is(pg_temp.sqlstate_of(format('SELECT count(*) FROM collide WHERE tags OPERATOR(persona.@@) %L::persona.tagquery', :'q')),
          '57014', 'matching a huge tag array is cancelled');

RESET statement_timeout;

-- 20 customers with the same 4,096 tags and min_support 0: 8.4M pairs, an
-- array over 1 GB.  It fails before building the rows (54000), not after
-- seconds and GiBs.
CREATE TEMP TABLE tags20 AS
SELECT k, (SELECT array_agg('tag' || t) FROM generate_series(1, 4096) t) AS tags FROM generate_series(1, 20) k;
SELECT is(pg_temp.sqlstate_of('SELECT persona.tag_affinity(tags, 0) FROM tags20'), '54000',
          'tag_affinity with a result over 1 GB fails with program_limit_exceeded');
SELECT matches(pg_temp.detail_of('SELECT persona.tag_affinity(tags, 0) FROM tags20'),
               '^tag_affinity would return over \d+ tag pairs with support of at least 0\.$',
               'and says so before building the pairs');

SELECT * FROM finish();
ROLLBACK;
