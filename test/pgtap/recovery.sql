-- The fits recover known parameters from customers simulated with them, and
-- the predictions match what the simulated customers then do.
--
-- Tolerances: with 10,000 customers over 39 periods, the sampling standard
-- deviations of the log-estimates, measured over 30 seeds, are
--   BG/NBD      r 0.019  alpha 0.025  a 0.10  b 0.13
--   Pareto/NBD  r 0.043  alpha 0.041  s 0.11  beta 0.19
--   Gamma-Gamma p 0.11   q 0.043      v 0.15  (about 4,000 repeat buyers)
-- and each test allows 4 of them.  Independently of those numbers, the
-- likelihood-ratio statistic 2 (LL(fit) - LL(truth)) is asymptotically
-- chi-squared with as many degrees of freedom as parameters; the tests
-- require it in [0, 23.5] (the 99.99% point for 4 d.f.; 21.1 for 3).
-- Seeds are fixed, so the outcome is the same on every run.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(19);

CREATE TEMP TABLE bg_sim AS SELECT * FROM persona.simulate_bgnbd(0.243, 4.414, 0.793, 2.426, 10000, 39, 1, 39);
CREATE TEMP TABLE pn_sim AS SELECT * FROM persona.simulate_pareto_nbd(0.55, 10.58, 0.61, 11.67, 10000, 39, 2, 39);
CREATE TEMP TABLE gg_sim AS
SELECT x, persona.simulate_mean_spend(6.25, 3.74, 15.44, x, 3000000 + customer_id) AS m FROM bg_sim WHERE x > 0;
CREATE TEMP TABLE truth AS
SELECT (0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd AS bg,
       (0.55, 10.58, 0.61, 11.67, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd AS pn,
       (6.25, 3.74, 15.44, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma AS gg;
CREATE TEMP TABLE fit AS
SELECT (SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM bg_sim) AS bg,
       (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM pn_sim) AS pn,
       (SELECT persona.gamma_gamma_fit(x, m) FROM gg_sim) AS gg;

SELECT ok((SELECT (bg).converged AND (pn).converged AND (gg).converged FROM fit), 'all three fits converge');
SELECT ok(abs(ln((f.bg).r / (t.bg).r)) < 4 * 0.019 AND abs(ln((f.bg).alpha / (t.bg).alpha)) < 4 * 0.025
          AND abs(ln((f.bg).a / (t.bg).a)) < 4 * 0.10 AND abs(ln((f.bg).b / (t.bg).b)) < 4 * 0.13,
          'BG/NBD parameters within 4 sampling SDs: ' || (f.bg)::text) FROM fit f, truth t;
SELECT ok(abs(ln((f.pn).r / (t.pn).r)) < 4 * 0.043 AND abs(ln((f.pn).alpha / (t.pn).alpha)) < 4 * 0.041
          AND abs(ln((f.pn).s / (t.pn).s)) < 4 * 0.11 AND abs(ln((f.pn).beta / (t.pn).beta)) < 4 * 0.19,
          'Pareto/NBD parameters within 4 sampling SDs: ' || (f.pn)::text) FROM fit f, truth t;
SELECT ok(abs(ln((f.gg).p / (t.gg).p)) < 4 * 0.11 AND abs(ln((f.gg).q / (t.gg).q)) < 4 * 0.043
          AND abs(ln((f.gg).v / (t.gg).v)) < 4 * 0.15,
          'Gamma-Gamma parameters within 4 sampling SDs: ' || (f.gg)::text) FROM fit f, truth t;

SELECT cmp_ok(2 * ((SELECT (bg).loglik FROM fit) - sum(persona.bgnbd_loglik(t.bg, x, t_x, t_cal))), '<', 23.5::float8,
              'BG/NBD likelihood ratio against the truth is within chi2(4) sampling') FROM bg_sim, truth t;
SELECT cmp_ok((SELECT (bg).loglik FROM fit) - sum(persona.bgnbd_loglik(t.bg, x, t_x, t_cal)), '>=', 0::float8,
              'BG/NBD fit is at least as likely as the truth') FROM bg_sim, truth t;
SELECT cmp_ok(2 * ((SELECT (pn).loglik FROM fit) - sum(persona.pareto_nbd_loglik(t.pn, x, t_x, t_cal))), '<', 23.5::float8,
              'Pareto/NBD likelihood ratio against the truth is within chi2(4) sampling') FROM pn_sim, truth t;
SELECT cmp_ok((SELECT (pn).loglik FROM fit) - sum(persona.pareto_nbd_loglik(t.pn, x, t_x, t_cal)), '>=', 0::float8,
              'Pareto/NBD fit is at least as likely as the truth') FROM pn_sim, truth t;
SELECT cmp_ok(2 * ((SELECT (gg).loglik FROM fit) - sum(persona.gamma_gamma_loglik(t.gg, x, m))), '<', 21.1::float8,
              'Gamma-Gamma likelihood ratio against the truth is within chi2(3) sampling') FROM gg_sim, truth t;

-- Predictions against what the simulated customers did next (the holdout
-- period of the simulation): mean predicted vs mean actual, overall and
-- for three frequency groups, within 4 standard errors of the difference.
CREATE FUNCTION pg_temp.within_4se(pred float8[], actual float8[]) RETURNS boolean LANGUAGE sql AS $$
    SELECT abs(avg(p - a)) < 4 * stddev(p - a) / sqrt(count(*)) FROM unnest(pred, actual) u(p, a) $$;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.bg, 39, x, t_x, t_cal)), array_agg(holdout_purchases::float8)),
          'BG/NBD conditional expectation matches simulated holdout purchases (' || g || ')')
FROM bg_sim, truth t, LATERAL (SELECT CASE WHEN x = 0 THEN 'x = 0' WHEN x <= 2 THEN 'x 1-2' ELSE 'x 3+' END) l(g)
GROUP BY g ORDER BY g;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.pn, 39, x, t_x, t_cal)), array_agg(holdout_purchases::float8)),
          'Pareto/NBD conditional expectation matches simulated holdout purchases')
FROM pn_sim, truth t;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.bg, 39)), array_agg(x::float8)),
          'BG/NBD unconditional E[X(39)] matches simulated repeat purchases') FROM bg_sim, truth t;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases(t.pn, 39)), array_agg(x::float8)),
          'Pareto/NBD unconditional E[X(39)] matches simulated repeat purchases') FROM pn_sim, truth t;

-- a + b < 1 (the 2F1 of new customers has c < 0): the expectations match
-- customers simulated with such parameters.
CREATE TEMP TABLE small_ab AS SELECT * FROM persona.simulate_bgnbd(0.24, 4.41, 0.3, 0.5, 20000, 39, 7, 39);
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases((0.24, 4.41, 0.3, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 39)),
                             array_agg(x::float8)),
          'BG/NBD with a + b < 1: unconditional E[X(39)] matches simulated repeat purchases') FROM small_ab;
SELECT ok(pg_temp.within_4se(array_agg(persona.expected_purchases((0.24, 4.41, 0.3, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 39, x, t_x, t_cal)),
                             array_agg(holdout_purchases::float8)),
          'BG/NBD with a + b < 1: conditional expectation of x = 0 customers matches their simulated holdout purchases')
FROM small_ab WHERE x = 0;

-- A parallel plan (partial states combined from workers) fits the same
-- model bit for bit: the rows are sorted before the likelihood is summed.
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
-- (a plain table: parallel workers cannot read temporary ones)
CREATE TABLE bg_par AS SELECT * FROM bg_sim;
ANALYZE bg_par;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP result := result || line || E'\n'; END LOOP;
    RETURN result;
END $$;
SELECT matches(pg_temp.plan_of('SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM bg_par'), 'Partial Aggregate',
               'the fit runs as a parallel (partial) aggregate');
SELECT is((SELECT persona.bgnbd_fit(x, t_x, t_cal)::text FROM bg_par), (SELECT (bg)::text FROM fit),
          'parallel BG/NBD fit equals the serial one');
SELECT * FROM finish();
ROLLBACK;
