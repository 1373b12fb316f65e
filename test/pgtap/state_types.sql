-- persona.fit_state and persona.affinity_state: text and binary forms that
-- re-read exactly, hand-made states validated like any other input, fits
-- from stored states equal to the aggregates, parallel plans unchanged.
BEGIN;
SET client_min_messages = error;  -- fits on this synthetic data warn of boundaries: not the point here
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(52);

-- a plain table: parallel workers cannot read temporary ones
CREATE TABLE st_h AS
SELECT i AS id, (i % 9)::float8 AS x,
       CASE WHEN i % 9 = 0 THEN 0 ELSE (i % 9) * 3 + (i * 7 % 5) END::float8 AS t_x,
       (40 + i * 13 % 70)::float8 AS t_cal, (8 + (i * 37 % 50) * (1 + i % 3))::float8 AS spend,
       (ARRAY['育儿', '绘本', 'toys', 'food', 'books'])[1 + i % 5 : 1 + i % 5 + i * 7 % 4] AS tags
FROM generate_series(1, 20000) i;
CREATE AGGREGATE pg_temp.fit_partial(float8, float8, float8) (SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state);
CREATE AGGREGATE pg_temp.spend_partial(float8, float8) (SFUNC = persona.gamma_gamma_transfn, STYPE = persona.fit_state);
CREATE AGGREGATE pg_temp.affinity_partial(text[]) (SFUNC = persona.affinity_transfn, STYPE = persona.affinity_state);
CREATE AGGREGATE pg_temp.affinity_combine(persona.affinity_state) (SFUNC = persona.affinity_combinefn,
    STYPE = persona.affinity_state, FINALFUNC = persona.affinity_finalfn);
CREATE TEMP TABLE parts AS
SELECT id % 8 AS shard, pg_temp.fit_partial(x, t_x, t_cal) AS fit, pg_temp.spend_partial(x, spend) AS spend,
       pg_temp.affinity_partial(tags) AS affinity
FROM st_h GROUP BY 1;

-- Round trips
SELECT ok((SELECT bool_and(fit::text::persona.fit_state::text = fit::text
                           AND spend::text::persona.fit_state::text = spend::text
                           AND affinity::text::persona.affinity_state::text = affinity::text) FROM parts),
          'text re-reads to the same state');
SELECT ok((SELECT bool_and(persona.fit_state_send(fit::text::persona.fit_state) = persona.fit_state_send(fit)
                           AND persona.affinity_state_send(affinity::text::persona.affinity_state)
                               = persona.affinity_state_send(affinity)) FROM parts),
          'binary forms of re-read states are equal');
SELECT is((SELECT persona.bgnbd_finalfn(pg_temp.fit_partial(x, t_x, t_cal))::text FROM st_h),
          (SELECT persona.bgnbd_fit(x, t_x, t_cal)::text FROM st_h), 'a fit from a state equals the aggregate');
SELECT is((SELECT persona.gamma_gamma_finalfn(pg_temp.spend_partial(x, spend))::text FROM st_h),
          (SELECT persona.gamma_gamma_fit(x, spend)::text FROM st_h), 'Gamma-Gamma from a state equals the aggregate');
SELECT is(persona.bgnbd_finalfn(NULL), NULL, 'no state, no fit');
SELECT is(persona.affinity_finalfn(NULL), NULL, 'no affinity state, no pairs');
SELECT is((SELECT count(*) FROM unnest((SELECT pg_temp.affinity_combine(affinity::text::persona.affinity_state) FROM parts)) c
           JOIN unnest((SELECT persona.tag_affinity(tags) FROM st_h)) o USING (antecedent, consequent, customers, support, confidence, lift)),
          (SELECT count(*) FROM unnest((SELECT persona.tag_affinity(tags) FROM st_h))), 'affinity combined from text: every pair equal');

-- Forced parallel plans give the serial answers.
CREATE TEMP TABLE serial AS SELECT persona.bgnbd_fit(x, t_x, t_cal)::text AS b, persona.pareto_nbd_fit(x, t_x, t_cal)::text AS p,
       persona.gamma_gamma_fit(x, spend)::text AS g, persona.bgbb_fit(least(x, 6), least(x, 6) + sign(x), 8)::text AS bb,
       persona.nbd_fit(x, t_x, t_cal)::text AS n
FROM st_h;
CREATE TEMP TABLE affinity_serial AS SELECT * FROM unnest((SELECT persona.tag_affinity(tags, 0.05) FROM st_h));
ALTER TABLE st_h SET (parallel_workers = 2);
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
ANALYZE st_h;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP result := result || line || E'\n'; END LOOP;
    RETURN result;
END $$;
SELECT matches(pg_temp.plan_of('SELECT persona.bgnbd_fit(x, t_x, t_cal), persona.tag_affinity(tags, 0.05) FROM st_h'),
               'Partial Aggregate', 'fits and tag_affinity run as parallel (partial) aggregates');
SELECT is((SELECT persona.bgnbd_fit(x, t_x, t_cal)::text FROM st_h), (SELECT b FROM serial), 'parallel BG/NBD = serial');
SELECT is((SELECT persona.pareto_nbd_fit(x, t_x, t_cal)::text FROM st_h), (SELECT p FROM serial), 'parallel Pareto/NBD = serial');
SELECT is((SELECT persona.gamma_gamma_fit(x, spend)::text FROM st_h), (SELECT g FROM serial), 'parallel Gamma-Gamma = serial');
SELECT is((SELECT persona.bgbb_fit(least(x, 6), least(x, 6) + sign(x), 8)::text FROM st_h), (SELECT bb FROM serial), 'parallel BG/BB = serial');
SELECT is((SELECT persona.nbd_fit(x, t_x, t_cal)::text FROM st_h), (SELECT n FROM serial), 'parallel NBD = serial');
SELECT set_eq('SELECT * FROM unnest((SELECT persona.tag_affinity(tags, 0.05) FROM st_h))', 'SELECT * FROM affinity_serial',
              'parallel tag_affinity = serial');
RESET max_parallel_workers_per_gather;

-- Hand-made fit states: every number checked.
SELECT throws_ok($$SELECT 'x'::persona.fit_state$$, '22P02', 'malformed array literal: "x"', 'not a list');
SELECT throws_ok($$SELECT '{1,NULL,0,0,0,0,0,0,0,0,0,0}'::persona.fit_state$$, '22P02', 'invalid input syntax for type persona.fit_state: "{1,NULL,0,0,0,0,0,0,0,0,0,0}"', 'a NULL number');
SELECT throws_ok($$SELECT '{{1,0,0,0,0,0},{0,0,0,0,0,0}}'::persona.fit_state$$, '22P02', 'invalid input syntax for type persona.fit_state: "{{1,0,0,0,0,0},{0,0,0,0,0,0}}"', 'two dimensions');
SELECT throws_ok($$SELECT '{1,0,0,0,0,0,0,0,0,0,0,0'::persona.fit_state$$, '22P02', NULL, 'no closing brace');
SELECT throws_ok($$SELECT '{1,0,0,0,0,0,0,0,0,0,0,0} x'::persona.fit_state$$, '22P02', NULL, 'junk after the list');
SELECT throws_ok($$SELECT '{1,0,0,0,0,0,0,0,0,0,0,}'::persona.fit_state$$, '22P02', NULL, 'empty element');
SELECT throws_ok($$SELECT '{1,0,0,0,0,0,0,0,0,0,0,abc}'::persona.fit_state$$, '22P02', NULL, 'not a number');
SELECT throws_ok($$SELECT '{1,2}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'short header');
SELECT throws_ok($$SELECT '{4,0,0,0,0,0,0,0,0,0,0,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'unknown kind');
SELECT throws_ok($$SELECT '{1,-1,0,0,0,0,0,0,0,0,0,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'negative row count');
SELECT throws_ok($$SELECT '{1,1,2,0,0,0,0,0,0,0,0,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'more skipped rows than rows');
SELECT throws_ok($$SELECT '{1,0,0,0,0,0,0,0,0,0,0,1,1,2,3,1}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'more distinct rows than rows');
SELECT throws_ok($$SELECT '{1,1,0,0,0,0,0,0,0,0,0,1,1,2,3}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'a row cut short');
SELECT throws_ok($$SELECT '{1,1,0,0,0,0,0,0,0,0,0,1,-1,0,3,1}'::persona.fit_state$$, '22023', 'invalid customer summary (x = -1, t_x = 0, T = 3)', 'a row the transition refuses');
SELECT throws_ok($$SELECT '{2,1,0,0,0,0,0,0,0,0,0,1,3,2,5,1}'::persona.fit_state$$, '22023', 'invalid BG/BB customer summary (x = 3, t_x = 2, n = 5)', 'a BG/BB row the transition refuses');
SELECT throws_ok($$SELECT '{3,1,0,0,0,0,0,0,0,0,0,1,2,0,0,1}'::persona.fit_state$$, '22023', 'invalid persona.fit_state row (2, 0, 0)', 'a spend row of mean spend 0');
SELECT throws_ok($$SELECT '{1,1,0,0,0,0,0,0,0,0,0,1,1,2,3,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'weight 0');
SELECT throws_ok($$SELECT '{1,1,0,0,0,0,0,0,0,0,0,1,1,2,3,NaN}'::persona.fit_state$$, '22023', 'weight must be a finite number', 'weight NaN');
SELECT throws_ok($$SELECT '{1,2,0,0,0,0,0,0,0,0,0,2,1,2,3,1,1,2,3,4}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'a row twice');
SELECT throws_ok($$SELECT '{1,0,0,1,-1,0,0,0,0,0,0,0}'::persona.fit_state$$, '22023', 'penalty must be >= 0, not -1', 'negative penalty');
SELECT throws_ok($$SELECT '{1,0,0,0,0.5,0,0,0,0,0,0,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'a penalty without the flag');
SELECT throws_ok($$SELECT '{1,0,0,0,0,2,0,0,0,0,0,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'a unit of 2 days');
SELECT throws_ok($$SELECT '{1,0,0,0,0,0,3,1,1,1,0,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'three start parameters for a four-parameter model');
SELECT throws_ok($$SELECT '{1,0,0,0,0,0,4,1,1,-1,1,0}'::persona.fit_state$$, '22P02', 'invalid persona.fit_state', 'a negative start parameter');
SELECT throws_ok($$SELECT persona.gamma_gamma_finalfn('{1,1,0,0,0,0,0,0,0,0,0,1,1,2,3,1}')$$, '22023',
                 'a persona.fit_state of purchase histories (x, t_x, T) cannot be used by Gamma-Gamma', 'a state of another kind');
SELECT throws_ok($$SELECT persona.fit_combinefn(NULL, NULL)$$, '0A000', NULL, 'support functions run only inside aggregates');
SELECT lives_ok($$SELECT '{1,1,0,1,0.5,7,4,1,2,3,4,1,1,2,3,1}'::persona.fit_state$$, 'a valid hand-made state');

-- Hand-made affinity states.
SELECT throws_ok($$SELECT '{0.01}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'too short');
SELECT throws_ok($$SELECT '{2,1,0,0}'::persona.affinity_state$$, '22023', 'min_support must be between 0 and 1', 'min_support 2');
SELECT throws_ok($$SELECT '{0.01,1,2,"a",1,"a",1,0}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'a tag twice');
SELECT throws_ok($$SELECT '{0.01,1,1,"a",2,0}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'more tag holders than customers');
SELECT throws_ok($$SELECT '{0.01,2,2,"a",1,"b",2,1,2,1,1}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'a pair (j, i)');
SELECT throws_ok($$SELECT '{0.01,2,2,"a",1,"b",2,1,1,2,2}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'more pair holders than tag holders');
SELECT throws_ok($$SELECT '{0.01,2,2,"a",1,"b",2,2,1,2,1,1,2,1}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'a pair twice');
SELECT throws_ok($$SELECT '{0.01,2,2,"a",1,"b",2,1,1,2}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'a pair cut short');
SELECT throws_ok($$SELECT '{0.01,2,2,"a",1,NULL,2,0}'::persona.affinity_state$$, '22P02', 'invalid persona.affinity_state', 'a NULL tag');
SELECT throws_ok($$SELECT '{0.01,2.5,0,0}'::persona.affinity_state$$, '22P02', NULL, 'a fractional count');
SELECT lives_ok($$SELECT '{0.01,2,2,"a",1,"b",2,1,1,2,1}'::persona.affinity_state$$, 'a valid hand-made affinity state');

SELECT * FROM finish();
ROLLBACK;
