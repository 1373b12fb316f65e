-- NBD (Ehrenberg 1959; BTYDplus nbd.*): purchases Poisson at a gamma(r, alpha)
-- rate, no dropout.  On the CDNOW summary (weeks, calibration to
-- 1997-09-30); the test checks independently that the fit is the maximum
-- of the likelihood written here in plain SQL.  (On BTYDplus's grocery
-- data, 52-week calibration from 2006-01-01, the fit gives BTYDplus's
-- published r 0.420, alpha 5.245, LL -16376.86; those data are GPL and
-- not in this repository, so that was checked by hand: see the README.)
CREATE TABLE s (id int, x float8, t_x float8, t_cal float8, zbar float8);
\copy s FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE m AS SELECT persona.nbd_fit(x, t_x, t_cal) AS m FROM s;
SELECT round((m).r::numeric, 4) AS r, round((m).alpha::numeric, 4) AS alpha,
       round((m).loglik::numeric, 2) AS loglik, (m).customers, (m).converged, (m).identified, (m).status,
       round((m).se_r::numeric, 4) AS se_r, round((m).se_alpha::numeric, 4) AS se_alpha, (m).unit
FROM m;
-- The NBD log-likelihood in SQL without lgamma (x is whole:
-- Gamma(r+x)/Gamma(r) = prod_{j<x} (r+j)).
CREATE FUNCTION nbd_ll(r float8, alpha float8) RETURNS float8
LANGUAGE sql STABLE AS $$
    SELECT sum((SELECT coalesce(sum(ln(r + j)), 0) FROM generate_series(0, x::int - 1) j)
               + r * ln(alpha) - (r + x) * ln(alpha + t_cal))
    FROM s $$;
-- It agrees with the fit's, and moving either parameter 0.1% either way lowers it.
SELECT abs(nbd_ll((m).r, (m).alpha) - (m).loglik) < 1e-6 AS same_loglik,
       bool_and(nbd_ll((m).r * f1, (m).alpha * f2) < (m).loglik) AS is_maximum
FROM m, (VALUES (1.001, 1), (0.999, 1), (1, 1.001), (1, 0.999), (1.001, 1.001), (0.999, 0.999)) v(f1, f2)
GROUP BY m.m;
-- The sum of per-customer log-likelihoods is the fit's; t_x does not enter it.
SELECT round(sum(persona.nbd_loglik(m, x, t_x, t_cal))::numeric, 2) AS summed,
       bool_and(persona.nbd_loglik(m, x, t_x, t_cal) = persona.nbd_loglik(m, x, CASE WHEN x > 0 THEN t_cal ELSE 0 END, t_cal)) AS t_x_ignored
FROM s, m;
-- Every dropout model is more likely on CDNOW (customers do leave): the
-- likelihood-ratio test rejects "no dropout".
SELECT round((persona.bgnbd_fit(x, t_x, t_cal)).loglik::numeric, 2) AS bgnbd_loglik,
       round(persona.aic(m)::numeric, 2) AS aic, round(persona.bic(m)::numeric, 2) AS bic,
       (persona.lr_test((m).loglik, (persona.bgnbd_fit(x, t_x, t_cal)).loglik, 2)).p_value < 1e-10 AS dropout_matters
FROM s, m GROUP BY m.m;
-- The same fit from distinct rows with counts, and from summaries (the unit recorded).
SELECT round((persona.nbd_fit(x, t_x, t_cal, n)).loglik::numeric, 2) AS weighted_loglik
FROM (SELECT x, t_x, t_cal, count(*)::float8 AS n FROM s GROUP BY 1, 2, 3) q;
SELECT round(((f).r)::numeric, 4) AS r, (f).unit
FROM (SELECT persona.nbd_fit(ROW(x::int, t_x, t_cal, NULL, 'weeks')::persona.btyd_summary) AS f FROM s) q;
-- Scoring: P(alive) is 1; the expectation is t (r + x) / (alpha + T).
SELECT id, x, t_x, t_cal, persona.p_alive(m, x, t_x, t_cal) AS p_alive,
       round(persona.expected_purchases(m, 39, x, t_x, t_cal)::numeric, 4) AS next_39_weeks
FROM s, m WHERE id IN (1, 2, 3, 1516, 157) ORDER BY id;
SELECT count(*) FILTER (WHERE abs(persona.expected_purchases(m, 39, x, t_x, t_cal)
                                  - 39 * ((m).r + x) / ((m).alpha + t_cal)) < 1e-12) AS formula_agrees,
       count(*) AS customers
FROM s, m;
-- A new customer: r t / alpha, the mean of the negative binomial count
-- distribution, whose probabilities sum to 1.
SELECT round(persona.expected_purchases(m, 39)::numeric, 6) AS e39,
       abs(persona.expected_purchases(m, 39) - (m).r * 39 / (m).alpha) < 1e-12 AS formula,
       round(sum(persona.purchase_count_probability(m, 39, n))::numeric, 12) AS total,
       round(sum(n * persona.purchase_count_probability(m, 39, n))::numeric, 6) AS mean,
       persona.purchase_count_probability(m, 0, 0) AS p0_at_0, persona.purchase_count_probability(m, 0, 1) AS p1_at_0
FROM m, generate_series(0, 400) n GROUP BY m.m;
-- The negative binomial probability against its definition by products.
SELECT abs(persona.purchase_count_probability(m, 39, 3)
           - ((m).r * ((m).r + 1) * ((m).r + 2) / 6) * ((m).alpha / ((m).alpha + 39)) ^ (m).r
             * (39 / ((m).alpha + 39)) ^ 3) < 1e-15 AS p3
FROM m;
-- Summaries: the same values; another unit than the model's is an error.
SELECT round(persona.expected_purchases(f, 39, ROW(2, 30.43, 38.86, NULL, 'weeks')::persona.btyd_summary)::numeric, 4) AS e,
       persona.p_alive(f, ROW(2, 30.43, 38.86, NULL, 'weeks')::persona.btyd_summary) AS p_alive
FROM (SELECT persona.nbd_fit(ROW(x::int, t_x, t_cal, NULL, 'weeks')::persona.btyd_summary) AS f FROM s) q;
SELECT persona.expected_purchases(f, 39, ROW(2, 30.43, 38.86, NULL, 'days')::persona.btyd_summary)
FROM (SELECT persona.nbd_fit(ROW(x::int, t_x, t_cal, NULL, 'weeks')::persona.btyd_summary) AS f FROM s) q;
-- CLV: one month undiscounted is expected spend times the month's expected purchases.
WITH g AS (SELECT persona.gamma_gamma_fit(x, zbar) AS g FROM s WHERE x > 0)
SELECT round(persona.clv(m, g, 2, 30.43, 38.86, 22.35, 'weeks', 12, 0.01)::numeric, 2) AS clv_12m,
       abs(persona.clv(m, g, 2, 30.43, 38.86, 22.35, 'weeks', 1, 0)
           - persona.expected_spend(g, 2, 22.35) * persona.expected_purchases(m, 365.25 / 12 / 7, 2, 30.43, 38.86)) < 1e-9 AS one_month
FROM m, g;
-- Simulation recovers the parameters (seeded: 20,000 customers at r 0.8, alpha 4 per week, 52 weeks).
SELECT round((f).r::numeric, 3) AS r, round((f).alpha::numeric, 3) AS alpha,
       abs((f).r - 0.8) < 4 * (f).se_r AND abs((f).alpha - 4) < 4 * (f).se_alpha AS within_4_se, (f).status
FROM (SELECT persona.nbd_fit(x, t_x, t_cal) AS f FROM persona.simulate_nbd(0.8, 4, 20000, 52, 7)) q;
SELECT count(*), sum(x), sum(holdout_purchases), bool_and(t_cal = 52 AND t_x <= 52 AND (x > 0) = (t_x > 0)) AS consistent
FROM persona.simulate_nbd(0.8, 4, 1000, 52, 7, 26);
-- Bad input.
SELECT persona.nbd_fit(x, t_x, t_cal) FROM s WHERE x = 0;
SELECT persona.nbd_fit(1.5, 1, 2);
SELECT persona.nbd_fit(2, 3, 2);
SELECT persona.nbd_fit(x, t_x, t_cal, -1) FROM s;
SELECT persona.p_alive(m, 1, 0, 1) FROM m;
SELECT persona.expected_purchases(m, -1, 0, 0, 1) FROM m;
SELECT persona.purchase_count_probability(m, 1, -1) FROM m;
SELECT persona.p_alive((0, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.nbd, 1, 1, 2);
SELECT persona.expected_purchases(('Infinity', 4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.nbd, 10, 1, 1, 2);
SELECT persona.expected_purchases((NULL, 4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.nbd, 10, 1, 1, 2);
SELECT * FROM persona.simulate_nbd(0.8, 0, 10, 52);
SELECT * FROM persona.simulate_nbd(0.8, 4, -1, 52);
SELECT persona.nbd_fit(x, t_x, t_cal) IS NULL AS no_rows FROM s WHERE false;
-- Customers who all buy at the same rate (every 7 weeks, observed 10-60
-- weeks) have no rate heterogeneity: the likelihood rises along the ridge
-- r, alpha -> infinity (r / alpha fixed), and the fit reports the limit, a
-- Poisson process, with that limit's likelihood: X (ln(X / T) - 1) for X
-- purchases over T customer-weeks.
CREATE TABLE regular AS
SELECT g AS id, floor(t / 7) AS x, floor(t / 7) * 7 AS t_x, t AS t_cal
FROM (SELECT g, 10 + (g % 51)::float8 AS t FROM generate_series(1, 2000) g) q;
SELECT (f).status, (f).converged, (f).identified,
       abs((f).loglik - (sum_x * (ln(sum_x / sum_t) - 1))) < 1e-9 * abs((f).loglik) AS poisson_loglik,
       abs((f).r / (f).alpha - sum_x / sum_t) < 1e-6 * sum_x / sum_t AS poisson_rate
FROM (SELECT persona.nbd_fit(x, t_x, t_cal) AS f, sum(x) AS sum_x, sum(t_cal) AS sum_t FROM regular) q;
-- Calibration/holdout on the CDNOW orders: persona.holdout fits NBD by name
-- (or takes the fitted model), and so do the diagnostics.  Without dropout
-- it predicts too much for the many one-time buyers who have left.
\set ECHO none
\i demo/load_cdnow.sql
\set ECHO all
SELECT frequency, customers, round(predicted::numeric, 3) AS predicted, round(actual::numeric, 3) AS actual
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30', 'nbd',
                                  customer_col => 'sample_id', time_col => 'ordered_on')
WHERE frequency IN ('0', '1', '2', 'all');
CREATE TABLE cal AS
SELECT * FROM persona.holdout_calibration('cdnow', '1997-09-30', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT round(predicted::numeric, 3) AS predicted, round(actual::numeric, 3) AS actual
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30', (SELECT persona.nbd_fit(x, t_x, t_cal) FROM cal),
                                  customer_col => 'sample_id', time_col => 'ordered_on')
WHERE frequency = 'all';
SELECT model, parameter, round(estimate::numeric, 4) AS estimate, round(loglik::numeric, 2) AS loglik, converged
FROM persona.holdout_fit('cdnow', '1997-09-30', 'nbd', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT period, holdout, round(cumulative_expected::numeric, 1) AS cumulative_expected, cumulative_actual
FROM persona.tracking('cdnow', '1997-09-30', '1998-06-30', (SELECT persona.nbd_fit(x, t_x, t_cal) FROM cal),
                      customer_col => 'sample_id', time_col => 'ordered_on')
WHERE period % 13 = 0 ORDER BY period;
DROP TABLE s, m, regular, cdnow, cal;
DROP FUNCTION nbd_ll;
