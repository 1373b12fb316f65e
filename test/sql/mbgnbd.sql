-- MBG/NBD (Batislam, Denizel & Filiztekin 2007) on the CDNOW summary (weeks,
-- calibration to 1997-09-30).  lifetimes' ModifiedBetaGeoFitter gives r 0.525,
-- alpha 6.183, a 0.891, b 1.614; the test checks independently that the fit
-- is the maximum of a likelihood written here in plain SQL.
CREATE TABLE s (id int, x float8, t_x float8, t_cal float8, zbar float8);
\copy s FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE m AS SELECT persona.mbgnbd_fit(x, t_x, t_cal) AS m FROM s;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 3) AS alpha,
       round((m).a::numeric, 3) AS a, round((m).b::numeric, 3) AS b,
       round((m).loglik::numeric, 2) AS loglik, (m).customers, (m).converged
FROM m;
-- The MBG/NBD log-likelihood in SQL, without lgamma (x is whole, so every
-- gamma ratio is a finite product):
--   Γ(r+x)/Γ(r) = Π_{j<x} (r+j),  Γ(b+x+1)/Γ(b) = Π_{j<=x} (b+j),
--   Γ(a+b)/Γ(a+b+x+1) = 1/Π_{j<=x} (a+b+j).
CREATE FUNCTION mbg_ll(r float8, alpha float8, a float8, b float8) RETURNS float8
LANGUAGE sql STABLE AS $$
    SELECT sum((SELECT coalesce(sum(ln(r + j)), 0) FROM generate_series(0, x::int - 1) j)
               + r * ln(alpha)
               + (SELECT sum(ln(b + j) - ln(a + b + j)) FROM generate_series(0, x::int) j)
               + ln((alpha + t_cal) ^ -(r + x) + a / (b + x) * (alpha + t_x) ^ -(r + x)))
    FROM s $$;
-- It agrees with the fit's, and moving any parameter 1% either way lowers it.
SELECT abs(mbg_ll((m).r, (m).alpha, (m).a, (m).b) - (m).loglik) < 1e-6 AS same_loglik,
       bool_and(mbg_ll((m).r * f1, (m).alpha * f2, (m).a * f3, (m).b * f4) < (m).loglik) AS is_maximum
FROM m, (VALUES (1.01, 1, 1, 1), (0.99, 1, 1, 1), (1, 1.01, 1, 1), (1, 0.99, 1, 1),
                (1, 1, 1.01, 1), (1, 1, 0.99, 1), (1, 1, 1, 1.01), (1, 1, 1, 0.99)) v(f1, f2, f3, f4)
GROUP BY m.m;
-- The sum of per-customer log-likelihoods is the fit's.
SELECT round(sum(persona.mbgnbd_loglik(m, x, t_x, t_cal))::numeric, 2) AS summed FROM s, m;
-- MBG/NBD lets one-time buyers leave (BG/NBD's "never left" is why it is
-- slightly less likely here: -9582.43).
SELECT round((persona.bgnbd_fit(x, t_x, t_cal)).loglik::numeric, 2) AS bgnbd_loglik FROM s;
-- The same fit from distinct rows with counts.
SELECT round((persona.mbgnbd_fit(x, t_x, t_cal, n)).loglik::numeric, 2) AS weighted_loglik
FROM (SELECT x, t_x, t_cal, count(*)::float8 AS n FROM s GROUP BY 1, 2, 3) q;
-- P(alive) and expected purchases in the next 39 weeks for a few customers.
SELECT id, x, t_x, t_cal, round(persona.p_alive(m, x, t_x, t_cal)::numeric, 4) AS p_alive,
       round(persona.expected_purchases(m, 39, x, t_x, t_cal)::numeric, 4) AS next_39_weeks
FROM s, m WHERE id IN (1, 2, 3, 1516, 157) ORDER BY id;
-- Against an independent computation: P(alive) from its definition
-- 1/(1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), and the expectation
--   (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)] P(alive)
-- with the 2F1 series summed here (4,000 terms, z = t/(alpha+T+t)).
CREATE FUNCTION hyp2f1(a float8, b float8, c float8, z float8) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT 1 + sum(t) FROM (
        SELECT exp(greatest(sum(ln((a + k) * (b + k) / ((c + k) * (k + 1)) * z)) OVER (ORDER BY k), -700)) AS t
        FROM generate_series(0, 3999) k) q $$;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE abs(persona.p_alive(m, x, t_x, t_cal) - pa) < 1e-12) AS p_alive_agrees,
       count(*) FILTER (WHERE abs(persona.expected_purchases(m, 39, x, t_x, t_cal) - e) < 1e-9 * greatest(1, e)) AS expected_agrees
FROM (SELECT s.*, m.m, pa,
             ((m).a + (m).b + x) / ((m).a - 1)
             * (1 - (((m).alpha + t_cal) / ((m).alpha + t_cal + 39)) ^ ((m).r + x)
                    * hyp2f1((m).r + x, (m).b + x + 1, (m).a + (m).b + x, 39 / ((m).alpha + t_cal + 39))) * pa AS e
      FROM s, m, LATERAL (SELECT 1 / (1 + (m).a / ((m).b + x) * (((m).alpha + t_cal) / ((m).alpha + t_x)) ^ ((m).r + x))) p(pa)
      WHERE id % 50 = 1 OR x >= 10) q;
-- A one-time buyer is not alive for sure (BG/NBD says 1), and less so the longer ago.
SELECT round(persona.p_alive(m, 0, 0, 10)::numeric, 4) AS after_10_weeks,
       round(persona.p_alive(m, 0, 0, 39)::numeric, 4) AS after_39_weeks,
       round(persona.p_alive(m, 0, 0, 0)::numeric, 4) AS at_once
FROM m;
-- E[X(t)] of a new customer: the conditional one at x = t_x = T = 0, and
-- b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))].
SELECT round(persona.expected_purchases(m, 39)::numeric, 4) AS e39,
       persona.expected_purchases(m, 39) = persona.expected_purchases(m, 39, 0, 0, 0) AS same_as_conditional,
       abs(persona.expected_purchases(m, 39) - (m).b / ((m).a - 1)
           * (1 - ((m).alpha / ((m).alpha + 39)) ^ (m).r * hyp2f1((m).r, (m).b + 1, (m).a + (m).b, 39 / ((m).alpha + 39)))) < 1e-12 AS formula,
       persona.expected_purchases(m, 0) AS e0
FROM m;
-- In-sample: expected repeat purchases over each customer's own T, summed,
-- against the actual total.
SELECT round(sum(persona.expected_purchases(m, t_cal))) AS expected, sum(x) AS actual FROM s, m;
-- CLV: one month undiscounted is expected spend times the month's expected purchases.
WITH g AS (SELECT persona.gamma_gamma_fit(x, zbar) AS g FROM s WHERE x > 0)
SELECT round(persona.clv(m, g, 2, 30.43, 38.86, 22.35, 'weeks', 12, 0.01)::numeric, 2) AS clv_12m,
       abs(persona.clv(m, g, 2, 30.43, 38.86, 22.35, 'weeks', 1, 0)
           - persona.expected_spend(g, 2, 22.35) * persona.expected_purchases(m, 365.25 / 12 / 7, 2, 30.43, 38.86)) < 1e-9 AS one_month
FROM m, g;
-- Bad input.
SELECT persona.mbgnbd_fit(x, t_x, t_cal) FROM s WHERE x = 0;
SELECT persona.mbgnbd_fit(1.5, 1, 2);
SELECT persona.mbgnbd_fit(2, 3, 2);
SELECT persona.mbgnbd_fit(x, t_x, t_cal, -1) FROM s;
SELECT persona.p_alive(m, 1, 0, 1) FROM m;
SELECT persona.expected_purchases(m, -1, 0, 0, 1) FROM m;
SELECT persona.p_alive((0, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.mbgnbd, 1, 1, 2);
SELECT persona.expected_purchases((0.2, 4, 1, 2, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.mbgnbd, 10, 1, 1, 2);
SELECT persona.mbgnbd_fit(x, t_x, t_cal) IS NULL AS no_rows FROM s WHERE false;
-- Customers all alike do not identify the model: the parameters run to the
-- search bounds (e^15), a warning; the fit is the Poisson limit (no
-- dropout, one rate), whose supremum 200 ln(0.1) - 200 it reports as converged.
SELECT (f).converged, round(ln((f).b)::numeric, 3) AS ln_b, (f).status,
       abs((f).loglik - (200 * ln(0.1) - 200)) < 1e-9 AS poisson_loglik, (f).se_b IS NULL AS no_se_b
FROM (SELECT persona.mbgnbd_fit(2, 10, 20) AS f FROM generate_series(1, 100)) q;
-- Calibration/holdout on the CDNOW orders, what persona.holdout computes
-- for the other models: fit on persona's summary to 1997-09-30, predict the
-- repeat purchase days to 1998-06-30 (39 weeks), compare by frequency; and
-- the same for BG/NBD (persona.holdout's numbers).  MBG/NBD predicts less
-- for x = 0 (one-time buyers may have left): on CDNOW further from the actual.
\set ECHO none
\i demo/load_cdnow.sql
\set ECHO all
CREATE TABLE cal AS
SELECT sample_id, (persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks')).*
FROM cdnow WHERE ordered_on <= '1997-09-30' GROUP BY sample_id;
CREATE TABLE hold AS
SELECT sample_id, count(DISTINCT ordered_on) AS n FROM cdnow
WHERE ordered_on > '1997-09-30' AND ordered_on <= '1998-06-30' GROUP BY sample_id;
WITH f AS (SELECT persona.mbgnbd_fit(x, t_x, t_cal) AS mb, persona.bgnbd_fit(x, t_x, t_cal) AS bg FROM cal)
SELECT coalesce(least(c.x, 3)::text, 'all') AS x, count(*) AS customers,
       round(avg(persona.expected_purchases(f.mb, 39, c.x, c.t_x, c.t_cal))::numeric, 3) AS mbgnbd,
       round(avg(persona.expected_purchases(f.bg, 39, c.x, c.t_x, c.t_cal))::numeric, 3) AS bgnbd,
       round(avg(coalesce(h.n, 0)), 3) AS actual
FROM cal c CROSS JOIN f LEFT JOIN hold h USING (sample_id)
GROUP BY GROUPING SETS ((least(c.x, 3)), ()) ORDER BY least(c.x, 3) NULLS LAST;
-- persona.holdout takes the fitted MBG/NBD model and gives the same.
SELECT frequency, customers, round(predicted::numeric, 3) AS predicted, round(actual::numeric, 3) AS actual
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30',
       (SELECT persona.mbgnbd_fit(x, t_x, t_cal) FROM cal), customer_col => 'sample_id', time_col => 'ordered_on')
WHERE frequency IN ('0', '1', '2', 'all');
-- and by name, fitting its own MBG/NBD model on the same calibration data
SELECT frequency, customers, round(predicted::numeric, 3) AS predicted, round(actual::numeric, 3) AS actual
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30', 'mbgnbd',
                                  customer_col => 'sample_id', time_col => 'ordered_on')
WHERE frequency IN ('0', '1', '2', 'all');
-- BG/BB on the same summary in days is a model of daily opportunities (a
-- purchase day or not); in weeks t_x is fractional, which BG/BB rejects.
CREATE TABLE cal_days AS
SELECT * FROM persona.holdout_calibration('cdnow', '1997-09-30', unit => 'days', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT frequency, customers, round(predicted::numeric, 3) AS predicted, round(actual::numeric, 3) AS actual
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30', (SELECT persona.bgbb_fit(x, t_x, t_cal) FROM cal_days),
       unit => 'days', customer_col => 'sample_id', time_col => 'ordered_on')
WHERE frequency IN ('0', '1', '2', 'all');
\set VERBOSITY terse
SELECT count(*) FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', (SELECT persona.bgbb_fit(x, t_x, t_cal) FROM cal_days),
       customer_col => 'sample_id', time_col => 'ordered_on');
\set VERBOSITY default
DROP TABLE cdnow, cal, hold, cal_days;
DROP TABLE s, m;
DROP FUNCTION mbg_ll, hyp2f1;
