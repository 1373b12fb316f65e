-- Weighted rows: weighted_rows merges changes into distinct (keys, weight)
-- rows, and the functions over rows give what their aggregates give over
-- the values expanded (the same cut points, percentiles, Pareto summary
-- and fits, bit for bit).  Data seeded: the same on every run.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(57);
SELECT setseed(0.42);

-- 4,000 customers with ties in every dimension and some without amounts
CREATE TEMP TABLE c AS
SELECT i AS id, floor(random() * 400)::float8 AS r, (1 + floor(-ln(1 - random()) * 3))::float8 AS f,
       CASE WHEN i % 37 = 0 THEN NULL ELSE round((exp(3 + random() * 2))::numeric, 2)::float8 END AS m
FROM generate_series(1, 4000) i;
CREATE TEMP TABLE rows AS
SELECT persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[r, 1]) FROM c)) AS r,
       persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[f, 1]) FROM c)) AS f,
       persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[m, 1]) FROM c WHERE m IS NOT NULL)) AS m;

-- merging
SELECT is(persona.weighted_rows('{{3,1},{1,2}}', '{{3,-1},{0,5},{1,1}}'), '{{0,5},{1,3}}'::float8[],
          'changes add weights, a key whose weight reaches 0 leaves, new keys come in, rows in key order');
SELECT is(persona.weighted_rows(NULL, '{{2,1,1},{1,1,1},{2,1,1}}'), '{{1,1,1},{2,1,2}}'::float8[],
          'equal keys combine');
SELECT is(persona.weighted_rows('{{1,2}}', NULL), '{{1,2}}'::float8[], 'no changes: the rows');
SELECT is(persona.weighted_rows(NULL, NULL), '{}'::float8[], 'nothing: no rows');
SELECT is(persona.weighted_rows('{{1,1}}', '{{1,-1}}'), '{}'::float8[], 'every row removed: no rows');
SELECT is((SELECT persona.weighted_rows(rows.m, (SELECT array_agg(ARRAY[m, -1]) FROM c WHERE id <= 1500 AND m IS NOT NULL))
           FROM rows),
          persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[m, 1]) FROM c WHERE id > 1500 AND m IS NOT NULL)),
          'removing customers from the rows equals the rows of the others');
SELECT throws_ok($$SELECT persona.weighted_rows('{{1,2}}', '{{1,-3}}')$$, '22023', 'weighted rows would get a negative weight',
                 'removing more than the rows hold is an error');
SELECT throws_ok($$SELECT persona.weighted_rows('{{1,0}}', NULL)$$, '22023', 'invalid weighted rows', 'a weight of 0 in the rows');
SELECT throws_ok($$SELECT persona.weighted_rows('{1,2}', NULL)$$, '22023', 'invalid weighted rows', 'a one-dimensional array');
SELECT throws_ok($$SELECT persona.weighted_rows('{{1,NaN}}', NULL)$$, '22023', 'invalid weighted rows', 'NaN');
SELECT throws_ok($$SELECT persona.weighted_rows('{{1,NULL}}', NULL)$$, '22023', 'invalid weighted rows', 'a NULL element');
SELECT throws_ok($$SELECT persona.weighted_rows('{{1,1}}', '{{1,2,1}}')$$, '22023', 'invalid weighted row changes',
                 'changes of another width');
SELECT throws_ok($$SELECT persona.weighted_rows('{{1,2,3,4,5,6}}', NULL)$$, '22023', 'invalid weighted rows', 'six columns');

-- the same as the aggregates
SELECT is((SELECT string_agg(persona.rfm_breaks_from_rows(rows.r, rows.f, rows.m, b)::text, ';' ORDER BY b)
           FROM rows, generate_series(2, 10) b),
          (SELECT string_agg((SELECT persona.rfm_breaks(r, f, m, b)::text FROM c), ';' ORDER BY b) FROM generate_series(2, 10) b),
          'rfm_breaks_from_rows: the cut points of rfm_breaks for 2 to 10 bins, ties and missing amounts included');
SELECT is((SELECT persona.rfm_breaks_from_rows(rows.r, rows.f, NULL)::text FROM rows),
          (SELECT persona.rfm_breaks(r, f, NULL)::text FROM c), 'rfm_breaks_from_rows without amounts');
SELECT throws_ok($$SELECT persona.rfm_breaks_from_rows('{{1,2}}', '{{1,3}}', NULL)$$, '22023',
                 'recency, frequency and monetary rows count different customers', 'dimensions counting different customers');
SELECT throws_ok($$SELECT persona.rfm_breaks_from_rows('{{1,1.5}}', '{{1,1.5}}', NULL)$$, '22023', 'invalid recency rows',
                 'a count that is not whole');
SELECT is((SELECT persona.weighted_percentile_cont(rows.m, ARRAY[0, 0.123, 0.5, 0.8, 0.95, 1, NULL]) FROM rows),
          (SELECT percentile_cont(ARRAY[0, 0.123, 0.5, 0.8, 0.95, 1, NULL]) WITHIN GROUP (ORDER BY m) FROM c),
          'weighted_percentile_cont: what percentile_cont gives');
SELECT throws_ok($$SELECT persona.weighted_percentile_cont('{{1,1}}', ARRAY[1.5])$$, '22003',
                 'percentile value 1.5 is not between 0 and 1', 'a fraction above 1');
SELECT throws_ok($$SELECT persona.weighted_percentile_cont('{{1,1}}', '{{0.5}}')$$, '2202E',
                 'fractions must be a one-dimensional array', 'a two-dimensional array of fractions');
SELECT is((SELECT persona.pareto_from_rows(rows.m)::text FROM rows), (SELECT persona.pareto(m)::text FROM c),
          'pareto_from_rows: what pareto gives');
SELECT is(persona.pareto_from_rows(NULL), NULL, 'pareto_from_rows of no rows is NULL');
SELECT throws_ok($$SELECT persona.pareto_from_rows('{{1,1}}', NULL, 0.8)$$, '22004',
                 'top_share and revenue_share must not be NULL', 'pareto_from_rows with a NULL share');
SELECT throws_ok($$SELECT persona.rfm_breaks_from_rows('{{1,1}}', '{{1,1}}', NULL, NULL)$$, '22004',
                 'number of bins must not be NULL', 'rfm_breaks_from_rows with NULL bins');
SELECT throws_ok($$SELECT persona.rfm_breaks_from_rows('{{1,1}}', '{{1,1}}', NULL, 11)$$, '22023', NULL,
                 'rfm_breaks_from_rows with 11 bins');

-- fits: customer histories with ties, in weeks
CREATE TEMP TABLE h AS
SELECT x, CASE WHEN x = 0 THEN 0 ELSE round((1 + random() * 20)::numeric, 1)::float8 END AS t_x, 30::float8 AS big_t,
       round((5 + random() * 60)::numeric, 1)::float8 AS spend
FROM (SELECT floor(-ln(1 - random()) * 1.5)::float8 AS x FROM generate_series(1, 3000)) s;
SELECT is(persona.bgnbd_fit_rows((SELECT persona.weighted_rows(NULL, array_agg(ARRAY[x, t_x, big_t, 1])) FROM h), 0.01)::text,
          (SELECT persona.bgnbd_fit(x, t_x, big_t, 1, 0.01, NULL)::text FROM h),
          'bgnbd_fit_rows: the fit bgnbd_fit makes of the same customers');
SELECT is(persona.gamma_gamma_fit_rows((SELECT persona.weighted_rows(NULL, array_agg(ARRAY[x, spend, 1])) FROM h), 0.01)::text,
          (SELECT persona.gamma_gamma_fit(x, spend, 0.01)::text FROM h),
          'gamma_gamma_fit_rows: the fit gamma_gamma_fit makes of the same customers');
-- rows read in place when in key order, copied and put in order when not:
-- the same fit either way; rows the fit leaves out after kept ones
SELECT is(persona.bgnbd_fit_rows(ARRAY(SELECT ARRAY[x, t_x, big_t, 1] FROM h ORDER BY random()), 0.01)::text,
          persona.bgnbd_fit_rows((SELECT persona.weighted_rows(NULL, array_agg(ARRAY[x, t_x, big_t, 1])) FROM h), 0.01)::text,
          'bgnbd_fit_rows: rows out of order and repeated give the fit of the rows in order');
SELECT is(persona.gamma_gamma_fit_rows((SELECT persona.weighted_rows(NULL, array_agg(ARRAY[x, CASE WHEN x = 2 THEN 0 ELSE spend END, 1])) FROM h), 0.01)::text,
          (SELECT persona.gamma_gamma_fit(x, CASE WHEN x = 2 THEN 0 ELSE spend END, 0.01)::text FROM h),
          'gamma_gamma_fit_rows: zero spends among the rows (skipped) give what gamma_gamma_fit gives');
SELECT throws_ok($$SELECT persona.bgnbd_fit_rows('{{1,0,5,1}}')$$, '22023', 'invalid customer summary (x = 1, t_x = 0, T = 5)',
                 'fit rows are checked as the aggregate checks its input');

-- weighted_rows_agg: the rows weighted_rows makes of array_agg(ARRAY[...]), without the arrays
SELECT is((SELECT persona.weighted_rows_agg(r, 1) FROM c), rows.r, 'weighted_rows_agg(key, weight) = weighted_rows(NULL, array_agg(ARRAY[key, weight]))') FROM rows;
SELECT is((SELECT persona.weighted_rows_agg(m, 1) FROM c), rows.m, 'rows with a NULL key are skipped (customers without amounts)') FROM rows;
SELECT is(persona.weighted_rows(b.rows, (SELECT persona.weighted_rows_agg(r, f, m, CASE WHEN id % 3 = 0 THEN -1 ELSE 2 END) FROM c WHERE m IS NOT NULL)),
          persona.weighted_rows(b.rows, (SELECT array_agg(ARRAY[r, f, m, CASE WHEN id % 3 = 0 THEN -1 ELSE 2 END]) FROM c WHERE m IS NOT NULL)),
          'three keys, changes of both signs merged into rows: the same rows as from array_agg')
FROM (SELECT persona.weighted_rows_agg(r, f, m, 1) AS rows FROM c) b;
SELECT is((SELECT persona.weighted_rows_agg(f, r, 1) FROM c),
          persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[f, r, 1]) FROM c)), 'two keys: the same rows as weighted_rows');
SELECT is(persona.weighted_rows_agg(k, w), '{{1,2},{3,5}}'::float8[], 'equal keys combine, rows whose weights cancel are dropped, key order')
FROM (VALUES (3, 1), (2, 1), (1, 2), (2, -1), (3, 4), (-0.0, 1), (0, -1)) v(k, w);
SELECT is(persona.weighted_rows_agg(k, w), NULL, 'no rows: NULL') FROM (VALUES (1::float8, 1::float8)) v(k, w) WHERE false;
SELECT is(persona.weighted_rows_agg(k, w), NULL, 'every weight cancelled: NULL') FROM (VALUES (1, 1), (1, -1)) v(k, w);
SELECT throws_ok($$SELECT persona.weighted_rows_agg(k, 1) FROM (VALUES ('NaN'::float8)) v(k)$$, '22023', 'invalid weighted row changes',
                 'a NaN key is an error');
SELECT throws_ok($$SELECT persona.weighted_rows_agg(1, w) FROM (VALUES ('Infinity'::float8)) v(w)$$, '22023', 'invalid weighted row changes',
                 'an infinite weight is an error');
SELECT is(array_agg(x.rows::text ORDER BY x.g), ARRAY['{{1,1},{2,1}}', '{{2,2}}'], 'one set of rows per group')
FROM (SELECT g, persona.weighted_rows_agg(k, 1) AS rows FROM (VALUES (1, 2), (1, 1), (2, 2), (2, 2)) v(g, k) GROUP BY g) x;
-- parallel: partial states serialised, combined in the leader
CREATE TABLE wr_big AS SELECT (i % 5000)::float8 AS k, (i % 7)::float8 AS k2, 1::float8 AS w FROM generate_series(1, 300000) i;
SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP result := result || line || E'\n'; END LOOP;
    RETURN result;
END $$;
SELECT matches(pg_temp.plan_of('SELECT persona.weighted_rows_agg(k, k2, w) FROM wr_big'), 'Partial Aggregate',
               'weighted_rows_agg runs as a parallel partial aggregate');
SELECT is((SELECT persona.weighted_rows_agg(k, k2, w) FROM wr_big),
          persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[k, k2, w]) FROM wr_big)), 'parallel partial states combine to the same rows');
-- (each worker sends its rows sorted and the leader merges them: weights of one key that cancel
-- across workers, the first half of the table against the second)
CREATE TABLE wr_cancel AS SELECT (i % 5000)::float8 AS k, CASE WHEN i <= 150000 OR i % 5000 >= 2500 THEN 1 ELSE -1 END::float8 AS w
FROM generate_series(1, 300000) i;
SELECT matches(pg_temp.plan_of('SELECT persona.weighted_rows_agg(k, w) FROM wr_cancel'), 'Partial Aggregate', 'that one too');
SELECT is((SELECT persona.weighted_rows_agg(k, w) FROM wr_cancel),
          (SELECT array_agg(ARRAY[k, 60]) FROM generate_series(2500, 4999) k)::float8[],
          'partial states whose weights cancel merge to the rows left');
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather;

-- numeric_to_float8: numeric::float8 bit for bit, fast path or not
SELECT is((SELECT count(*) FROM (SELECT round((random() * 10 ^ (random() * 14))::numeric, (random() * 4)::int) * CASE WHEN random() < 0.2 THEN -1 ELSE 1 END AS v
                                 FROM generate_series(1, 20000)) x
           WHERE persona.numeric_to_float8(v) IS DISTINCT FROM v::float8 OR float8send(persona.numeric_to_float8(v)) <> float8send(v::float8)), 0::bigint,
          'numeric_to_float8 = numeric::float8 for 20,000 amounts of 0 to 4 decimals up to 1e14');
SELECT is(ARRAY(SELECT float8send(persona.numeric_to_float8(v)) FROM unnest(ARRAY[0, 0.0001, -0.0001, 900719925474.0992, 900719925474.0993, -900719925474.0993,
                                                                   0.1, 0.30000, 1e20, 123.456789012345678, 1e-30, 'NaN', 'Infinity', '-Infinity']::numeric[]) v),
          ARRAY(SELECT float8send(v::float8) FROM unnest(ARRAY[0, 0.0001, -0.0001, 900719925474.0992, 900719925474.0993, -900719925474.0993,
                                                           0.1, 0.30000, 1e20, 123.456789012345678, 1e-30, 'NaN', 'Infinity', '-Infinity']::numeric[]) v),
          'numeric_to_float8 at 2^53 units, beyond it, more decimals, tiny, huge, NaN and infinities: the same bits as numeric::float8');
SELECT is(persona.numeric_to_float8(NULL), NULL, 'numeric_to_float8(NULL) is NULL');
SELECT is(persona.numeric_to_float8(12.5::numeric(20,6)), 12.5::float8, 'a numeric of a wider scale (12.500000)');

-- purchase histories (x, t_x, first order day, count) as the BG/NBD rows of a day
CREATE TEMP TABLE hist AS
SELECT x, CASE WHEN x = 0 THEN 0 ELSE (1 + floor(random() * least(30, DATE '2024-12-30' - first_on)))::float8 / 7 END AS t_x, first_on
FROM (SELECT floor(random() * 6)::float8 AS x, DATE '2024-01-01' + floor(random() * 360)::int AS first_on
      FROM generate_series(1, 3000)) g;
SELECT is(persona.history_rows_at(persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[x, t_x, (first_on - DATE '2000-01-01')::float8, 1]) FROM hist)),
                                  DATE '2024-12-31'),
          persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[x, t_x, (DATE '2024-12-31' - first_on) / 7::float8, 1]) FROM hist
                                       WHERE first_on < DATE '2024-12-31')),
          'history rows at a day: T as (as_of - first_order_on) / 7::float8 gives it, bit for bit, in key order, only first orders before the day');
SELECT is((SELECT persona.bgnbd_fit_rows(persona.history_rows_at(persona.weighted_rows(NULL,
               (SELECT array_agg(ARRAY[x, t_x, (first_on - DATE '2000-01-01')::float8, 1]) FROM hist)), DATE '2025-02-01'))::text),
          (SELECT persona.bgnbd_fit(x, t_x, (DATE '2025-02-01' - first_on) / 7::float8)::text FROM hist),
          'their fit is the fit over the customers');
SELECT is(persona.history_rows_at('{{1,0,9000,2}}', DATE '2000-01-01' + 9000), NULL, 'no first order before the day: NULL');
SELECT is(persona.history_rows_at('{{1,0,9000,2},{1,0,9007,1}}', DATE '2000-01-01' + 9014), '{{1,0,1,1},{1,0,2,2}}'::float8[],
          'a later first day is a smaller T: the rows of one (x, t_x) come in reverse');
SELECT throws_ok($$SELECT persona.history_rows_at('{{1,0,9000.5,1}}', DATE '2025-01-01')$$, '22023', 'invalid purchase-history rows',
                 'a first order day that is not a whole number of days');
SELECT throws_ok($$SELECT persona.history_rows_at('{{1,0,9000,1}}', 'infinity')$$, '22023',
                 'the as-of day of purchase-history rows must be a finite date', 'an infinite as-of day');

-- the radix sort (512 rows or more): key order as the comparison has it,
-- negative and positive keys, -0 one key with 0, magnitudes from 1e-300
-- to 1e300, up to four keys; the SQL sort and sum are the reference
CREATE TEMP TABLE keyed AS
SELECT (ARRAY[-1e300, -2.5, -1e-300, '-0'::float8, 0, 1e-300, 3, 1e300])[1 + floor(random() * 8)::int] * (1 + floor(random() * 3)) AS k1,
       floor(random() * 5) - 2 AS k2, round((random() * 20 - 10)::numeric, 1)::float8 AS k3, floor(random() * 3) AS k4,
       1 + floor(random() * 3) AS w
FROM generate_series(1, 3000);
SELECT is(persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[k1, w]) FROM keyed)),
          (SELECT array_agg(ARRAY[k, w] ORDER BY k) FROM (SELECT k1 + 0.0 AS k, sum(w) AS w FROM keyed GROUP BY 1) g),
          'one key, 3,000 rows: in key order, -0 and 0 one key, equal keys summed');
SELECT is(persona.weighted_rows(NULL, (SELECT array_agg(ARRAY[k1, k2, k3, k4, w]) FROM keyed)),
          (SELECT array_agg(ARRAY[a, b, c, d, w] ORDER BY a, b, c, d)
           FROM (SELECT k1 + 0.0 AS a, k2 AS b, k3 AS c, k4 AS d, sum(w) AS w FROM keyed GROUP BY 1, 2, 3, 4) g),
          'four keys: ordered by the first, then the next');
SELECT is(persona.weighted_rows_agg(k2, k3, w), (SELECT array_agg(ARRAY[k2, k3, w] ORDER BY k2, k3) FROM (SELECT k2, k3, sum(w) AS w FROM keyed GROUP BY 1, 2) g),
          'weighted_rows_agg: the same order')
FROM keyed;

SELECT * FROM finish();
ROLLBACK;
