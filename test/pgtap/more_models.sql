-- MBG/NBD and BG/BB: recovery of known parameters from seeded simulations,
-- predictions against what the simulated customers did next, properties,
-- errors, and parallel fits.
--
-- Tolerances: with 20,000 customers (MBG/NBD over 39 periods, BG/BB over 6
-- opportunities) the sampling standard deviations of the log-estimates,
-- measured over seeds 101..130 (MBG/NBD) and 201..300 (BG/BB), are
--   MBG/NBD  r 0.064  alpha 0.040  a 0.061  b 0.134
--   BG/BB    alpha 0.045  beta 0.030  gamma 0.057  delta 0.084
-- (mean bias below 0.011 for each), and each test allows 4 of them.
-- (Over seeds 201..300 the BG/BB fits' mean se_log_* were 0.042, 0.029,
-- 0.058, 0.085.)  The
-- likelihood-ratio statistic 2 (LL(fit) - LL(truth)) must be in [0, 23.5]
-- (the 99.99% point of chi-squared with 4 d.f.).  Seeds are fixed.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(35);

CREATE TABLE mb_sim AS SELECT * FROM persona.simulate_mbgnbd(0.525, 6.183, 0.891, 1.614, 20000, 39, 7, 39);
CREATE TABLE bb_sim AS SELECT * FROM persona.simulate_bgbb(1.204, 0.750, 0.657, 2.783, 20000, 6, 8, 5);
CREATE TEMP TABLE truth AS
SELECT (0.525, 6.183, 0.891, 1.614, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.mbgnbd AS mb,
       (1.204, 0.750, 0.657, 2.783, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb AS bb;
CREATE TEMP TABLE fit AS
SELECT (SELECT persona.mbgnbd_fit(x, t_x, t_cal) FROM mb_sim) AS mb,
       (SELECT persona.bgbb_fit(x, t_x, n) FROM bb_sim) AS bb;

SELECT ok((SELECT (mb).converged AND (bb).converged FROM fit), 'both fits converge');
SELECT ok(abs(ln((f.mb).r / (t.mb).r)) < 4 * 0.064 AND abs(ln((f.mb).alpha / (t.mb).alpha)) < 4 * 0.040
          AND abs(ln((f.mb).a / (t.mb).a)) < 4 * 0.061 AND abs(ln((f.mb).b / (t.mb).b)) < 4 * 0.134,
          'MBG/NBD parameters within 4 sampling SDs: ' || (f.mb)::text) FROM fit f, truth t;
SELECT ok(abs(ln((f.bb).alpha / (t.bb).alpha)) < 4 * 0.045 AND abs(ln((f.bb).beta / (t.bb).beta)) < 4 * 0.030
          AND abs(ln((f.bb).gamma / (t.bb).gamma)) < 4 * 0.057 AND abs(ln((f.bb).delta / (t.bb).delta)) < 4 * 0.084,
          'BG/BB parameters within 4 sampling SDs: ' || (f.bb)::text) FROM fit f, truth t;
SELECT ok(lr >= 0 AND lr < 23.5, 'MBG/NBD likelihood ratio against the truth within chi2(4) sampling: ' || lr)
FROM (SELECT 2 * ((SELECT (mb).loglik FROM fit) - sum(persona.mbgnbd_loglik(t.mb, x, t_x, t_cal))) AS lr
      FROM mb_sim, truth t) q;
SELECT ok(lr >= 0 AND lr < 23.5, 'BG/BB likelihood ratio against the truth within chi2(4) sampling: ' || lr)
FROM (SELECT 2 * ((SELECT (bb).loglik FROM fit) - sum(persona.bgbb_loglik(t.bb, x, t_x, n))) AS lr
      FROM bb_sim, truth t) q;

-- The standard errors (observed information, shared fit summary) match the
-- sampling SDs measured over 30 seeds, within 30%.
SELECT ok(bool_and(se / sd BETWEEN 0.7 AND 1.3), 'MBG/NBD standard errors match the sampling SDs: ' || string_agg(round((se / sd)::numeric, 2)::text, ', '))
FROM fit f, LATERAL (VALUES ((f.mb).se_log_r, 0.064), ((f.mb).se_log_alpha, 0.040), ((f.mb).se_log_a, 0.061), ((f.mb).se_log_b, 0.134)) v(se, sd);
SELECT ok(bool_and(se / sd BETWEEN 0.7 AND 1.3), 'BG/BB standard errors match the sampling SDs: ' || string_agg(round((se / sd)::numeric, 2)::text, ', '))
FROM fit f, LATERAL (VALUES ((f.bb).se_log_alpha, 0.045), ((f.bb).se_log_beta, 0.030), ((f.bb).se_log_gamma, 0.057), ((f.bb).se_log_delta, 0.084)) v(se, sd);
SELECT ok((SELECT (mb).identified AND (bb).identified AND (mb).status = 'ok' AND (bb).status = 'ok' FROM fit), 'both fits identified, status ok');

-- Predictions against the simulated holdout (39 more periods; 5 more
-- opportunities): mean predicted vs mean actual within 4 standard errors
-- of the difference, per frequency group.
CREATE FUNCTION pg_temp.within_4se(pred float8[], actual float8[]) RETURNS boolean LANGUAGE sql AS $$
    SELECT abs(avg(p - a)) < 4 * stddev(p - a) / sqrt(count(*)) FROM unnest(pred, actual) u(p, a) $$;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.mb, 39, x, t_x, t_cal)), array_agg(holdout_purchases::float8)),
          'MBG/NBD conditional expectation matches simulated holdout purchases (' || g || ')')
FROM mb_sim, truth t, LATERAL (SELECT CASE WHEN x = 0 THEN 'x = 0' WHEN x <= 2 THEN 'x 1-2' ELSE 'x 3+' END) l(g)
GROUP BY g ORDER BY g;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.bb, 5, x, t_x, n)), array_agg(holdout_purchases::float8)),
          'BG/BB conditional expectation matches simulated holdout transactions (' || g || ')')
FROM bb_sim, truth t, LATERAL (SELECT CASE WHEN x = 0 THEN 'x = 0' WHEN x <= 3 THEN 'x 1-3' ELSE 'x 4+' END) l(g)
GROUP BY g ORDER BY g;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.mb, 39)), array_agg(x::float8)),
          'MBG/NBD unconditional E[X(39)] matches simulated repeat purchases') FROM mb_sim, truth t;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.bb, 6)), array_agg(x::float8)),
          'BG/BB unconditional E[X(6)] matches simulated transactions') FROM bb_sim, truth t;
-- P(alive at n+1) times the mean p of the alive: among customers with the
-- same history, the share transacting at opportunity 7 is what
-- expected_purchases(model, 1, ...) says, and that is at most P(alive).
SELECT ok(bool_and(persona.expected_purchases(t.bb, 1, x, t_x, n) <= persona.p_alive(t.bb, x, t_x, n)),
          'BG/BB: expected transactions at the next opportunity never exceed P(alive)') FROM bb_sim, truth t;

-- Properties over a grid of histories.
SELECT ok(bool_and(pa BETWEEN 0 AND 1), 'MBG/NBD P(alive) in [0, 1]')
FROM truth t, generate_series(0, 20, 4) x, generate_series(0, 52, 13) tcal, generate_series(0, 4) k,
     LATERAL (SELECT persona.p_alive(t.mb, x, CASE WHEN x = 0 THEN 0 ELSE greatest(tcal * k / 4.0, 0.5) END, greatest(tcal, 0.5)) AS pa) q
WHERE x = 0 OR tcal > 0;
SELECT ok(bool_and(persona.p_alive(t.mb, 0, 0, tc + 1) < persona.p_alive(t.mb, 0, 0, tc)),
          'MBG/NBD: a one-time buyer is less likely alive the longer ago the purchase')
FROM truth t, generate_series(0, 100, 5) tc;
SELECT ok(bool_and(persona.expected_purchases(t.mb, h + 1, 3, 20, 39) > persona.expected_purchases(t.mb, h, 3, 20, 39)),
          'MBG/NBD expected purchases grow with the horizon') FROM truth t, generate_series(0, 200, 10) h;
SELECT ok(bool_and(pa BETWEEN 0 AND 1), 'BG/BB P(alive) in [0, 1] over every history of up to 12 opportunities')
FROM truth t, generate_series(0, 12) n, generate_series(0, 12) tx, generate_series(0, 12) x,
     LATERAL (SELECT persona.p_alive(t.bb, x, tx, n) AS pa) q
WHERE tx <= n AND x <= tx AND (x > 0 OR tx = 0);
SELECT ok(bool_and(persona.p_alive(t.bb, 2, tx + 1, 10) > persona.p_alive(t.bb, 2, tx, 10)),
          'BG/BB: the later the last transaction, the likelier alive') FROM truth t, generate_series(2, 9) tx;
SELECT ok(bool_and(persona.expected_purchases(t.bb, h + 1, 3, 5, 6) > persona.expected_purchases(t.bb, h, 3, 5, 6)),
          'BG/BB expected transactions grow with the horizon') FROM truth t, generate_series(0, 100, 10) h;

-- At most one transaction per opportunity, for parameters far from the
-- data's too (every factor of the expectation alone over- or underflows
-- somewhere here) and long histories; horizons past 10^6 take the closed form.
SELECT ok(bool_and(e >= 0 AND e <= h.ns AND pa BETWEEN 0 AND 1),
          'BG/BB: 0 <= expected transactions <= opportunities, P(alive) in [0, 1], for extreme parameters')
FROM unnest(ARRAY[1e-6, 0.01, 1, 100, 1e6]) a, unnest(ARRAY[1e-6, 1, 1e6]) b, unnest(ARRAY[1e-6, 0.5, 1, 1e6]) g,
     unnest(ARRAY[1e-6, 1, 1e6]) dl,
     (VALUES (0, 0, 0), (0, 0, 6), (6, 6, 6), (3, 10, 1000), (500, 999, 1000)) c(x, tx, n),
     (VALUES (10), (2000000)) h(ns),
     LATERAL (SELECT persona.expected_purchases((a, b, g, dl, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, h.ns, c.x, c.tx, c.n) AS e,
                     persona.p_alive((a, b, g, dl, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, c.x, c.tx, c.n) AS pa) q;

-- Errors: one SQLSTATE and wording per condition.
SELECT throws_ok($$SELECT persona.bgbb_fit(3, 2, 6)$$, '22023', 'invalid BG/BB customer summary (x = 3, t_x = 2, n = 6)', 'BG/BB x > t_x');
SELECT throws_ok($$SELECT persona.bgbb_fit(0, 2, 6)$$, '22023', 'invalid BG/BB customer summary (x = 0, t_x = 2, n = 6)', 'BG/BB x = 0 with t_x > 0');
SELECT throws_ok($$SELECT persona.p_alive((1, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 1, 1, 2.5)$$, '22023', NULL, 'BG/BB fractional n');
SELECT throws_ok($$SELECT persona.expected_purchases((1, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 1.5)$$, '22023',
                 'the BG/BB horizon must be a whole number of opportunities, not 1.5', 'BG/BB fractional horizon');
SELECT throws_ok($$SELECT persona.bgbb_fit(0, 0, 6)$$, '22023', 'cannot fit BG/BB: no customer made a repeat purchase', 'BG/BB no repeat buyers');
SELECT throws_ok($$SELECT * FROM persona.simulate_bgbb(1, 1, 1, 1, 10, -1)$$, '22023', NULL, 'simulate_bgbb with n < 0');
SELECT throws_ok($$SELECT * FROM persona.simulate_bgbb(1, 0, 1, 1, 10, 6)$$, '22023', 'beta must be a positive finite number, not 0', 'simulate_bgbb with beta = 0');
SELECT throws_ok($$SELECT * FROM persona.simulate_mbgnbd(0.5, 'NaN', 1, 1, 10, 39)$$, '22023', 'alpha must be a positive finite number, not NaN', 'simulate_mbgnbd with alpha NaN');

-- Parallel plans (partial states combined from workers) fit the same
-- models bit for bit.
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
ANALYZE mb_sim;
ANALYZE bb_sim;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP result := result || line || E'\n'; END LOOP;
    RETURN result;
END $$;
SELECT matches(pg_temp.plan_of('SELECT persona.bgbb_fit(x, t_x, n) FROM bb_sim'), 'Partial Aggregate',
               'the BG/BB fit runs as a parallel (partial) aggregate');
SELECT is((SELECT persona.mbgnbd_fit(x, t_x, t_cal)::text FROM mb_sim), (SELECT (mb)::text FROM fit),
          'parallel MBG/NBD fit equals the serial one');
SELECT is((SELECT persona.bgbb_fit(x, t_x, n)::text FROM bb_sim), (SELECT (bb)::text FROM fit),
          'parallel BG/BB fit equals the serial one');
SELECT * FROM finish();
ROLLBACK;
