-- BG/NBD on the CDNOW summary (weeks, calibration to 1997-09-30): the fit
-- matches the published maximum-likelihood estimates (Fader, Hardie & Lee
-- 2005; lifetimes: r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.43).
CREATE TABLE s (id int, x float8, t_x float8, t_cal float8, zbar float8);
\copy s FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE m AS SELECT persona.bgnbd_fit(x, t_x, t_cal) AS m FROM s;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 3) AS alpha,
       round((m).a::numeric, 3) AS a, round((m).b::numeric, 3) AS b,
       round((m).loglik::numeric, 2) AS loglik, (m).customers, (m).converged
FROM m;
-- The same fit from distinct rows with counts.
SELECT round((persona.bgnbd_fit(x, t_x, t_cal, n)).loglik::numeric, 2) AS weighted_loglik
FROM (SELECT x, t_x, t_cal, count(*)::float8 AS n FROM s GROUP BY 1, 2, 3) q;
-- P(alive) and expected purchases in the next 39 weeks for a few customers.
SELECT id, x, t_x, t_cal, round(persona.p_alive(m, x, t_x, t_cal)::numeric, 4) AS p_alive,
       round(persona.expected_purchases(m, 39, x, t_x, t_cal)::numeric, 4) AS next_39_weeks
FROM s, m WHERE id IN (1, 2, 3, 1516, 157) ORDER BY id;
-- Expected purchases grow with the horizon and start at 0.
SELECT persona.expected_purchases(m, 0, 2, 30.43, 38.86) AS at_zero,
       persona.expected_purchases(m, 10, 2, 30.43, 38.86) < persona.expected_purchases(m, 20, 2, 30.43, 38.86) AS grows
FROM m;
-- Bad input.
SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM s WHERE x = 0;
SELECT persona.bgnbd_fit(1.5, 1, 2);
SELECT persona.bgnbd_fit(2, 3, 2);
SELECT persona.bgnbd_fit(2, 0, 2);
SELECT persona.bgnbd_fit('NaN', 0, 2);
SELECT persona.p_alive(m, -1, 0, 1) FROM m;
SELECT persona.expected_purchases(m, -1, 0, 0, 1) FROM m;
SELECT persona.p_alive((0, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 1, 1, 2);
SELECT persona.expected_purchases((0.2, 4, 1, 2, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 10, 1, 1, 2);
SELECT persona.bgnbd_fit(x, t_x, t_cal) IS NULL AS no_rows FROM s WHERE false;
SELECT persona.bgnbd_fit(x, t_x, t_cal, -1) FROM s;
SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, penalty) FROM s, (VALUES (0.1), (0.2)) v(penalty);
SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, -0.1) FROM s;
SELECT persona.expected_purchases(m, 'Infinity') FROM m;
-- Rows with a NULL x, t_x or T are skipped; a NULL weight counts as 1
-- (so bgnbd_fit(x, t_x, T, NULL, penalty) is the unweighted penalised fit).
SELECT (persona.bgnbd_fit(x, t_x, t_cal, w)).loglik =
       (SELECT (persona.bgnbd_fit(x, t_x, t_cal)).loglik FROM (SELECT x, t_x, t_cal FROM s UNION ALL SELECT 5, 1, 2) o) AS null_weight_is_one
FROM (SELECT x, t_x, t_cal, 1::float8 AS w FROM s
      UNION ALL SELECT 5, 1, 2, NULL UNION ALL SELECT NULL, 1, 2, 1) q;
SELECT (f).customers, round((f).r::numeric, 3) AS r FROM (SELECT persona.bgnbd_fit(x, t_x, t_cal, NULL, 0.01) AS f FROM s) q;
-- Customers first seen at the end of the period (T = 0) change nothing.
SELECT (persona.bgnbd_fit(x, t_x, t_cal)).loglik = (SELECT (m).loglik FROM m) AS t0_ignored
FROM (SELECT x, t_x, t_cal FROM s UNION ALL SELECT 0, 0, 0 FROM generate_series(1, 50)) q;
-- Customers all alike do not identify the model: a warning, identified false;
-- the fit is the Poisson limit (no dropout, one rate), whose supremum it reports as converged.
SELECT (f).converged, (f).identified, (f).status FROM (SELECT persona.bgnbd_fit(2, 10, 20) AS f FROM generate_series(1, 100)) q;
-- ... and a penalty keeps the parameters finite here (lifetimes' penalizer_coef).
SELECT (f).converged, (f).identified, round((f).r::numeric, 3) AS r, round((f).a::numeric, 3) AS a
FROM (SELECT persona.bgnbd_fit(2, 10, 20, 1, 0.01) AS f FROM generate_series(1, 100)) q;
-- The penalty shrinks the CDNOW fit; loglik stays the unpenalised one and drops.
SELECT round((f).r::numeric, 3) AS r, round((f).alpha::numeric, 3) AS alpha,
       round((f).a::numeric, 3) AS a, round((f).b::numeric, 3) AS b,
       (f).loglik < (SELECT (m).loglik FROM m) AS lower_loglik
FROM (SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, 0.01) AS f FROM s) q;

-- Unconditional expectation E[X(t)] of a new customer (FHL 2005 eq. 9):
-- the conditional one at x = t_x = T = 0, increasing in t.
SELECT round(persona.expected_purchases(m, 39)::numeric, 4) AS e39,
       round(persona.expected_purchases(m, 78)::numeric, 4) AS e78,
       persona.expected_purchases(m, 39) = persona.expected_purchases(m, 39, 0, 0, 0) AS same_as_conditional,
       persona.expected_purchases(m, 0) AS e0
FROM m;
-- A daily buyer over ten years: the 2F1 series peaks near 10^550 on the
-- way, kept in logs; the answer is finite and grows with the horizon.
SELECT round(persona.expected_purchases(b, 365, 730, 730, 730)::numeric, 1) AS next_year,
       round(persona.expected_purchases(b, 3650, 730, 730, 730)::numeric, 1) AS next_ten_years
FROM (SELECT (0.55, 40, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd AS b) q;
-- In-sample: the repeat purchases the model expects of each customer over
-- their own T, summed, against the actual total.
SELECT round(sum(persona.expected_purchases(m, t_cal))) AS expected, sum(x) AS actual
FROM s, m;
-- How to read a fit: standard errors (natural and log scale) from the
-- observed information; lifetimes' CDNOW summary has r 0.0126, alpha
-- 0.378, a 0.186, b 0.705.
SELECT round((m).se_r::numeric, 4) AS se_r, round((m).se_alpha::numeric, 3) AS se_alpha,
       round((m).se_a::numeric, 3) AS se_a, round((m).se_b::numeric, 3) AS se_b,
       round((m).se_log_a::numeric, 3) AS se_log_a, (m).identified, (m).status
FROM m;
-- Which model fits better: AIC, BIC; BG/NBD against Pareto/NBD on CDNOW.
SELECT round(persona.aic(m)::numeric, 2) AS aic_bg, round(persona.bic(m)::numeric, 2) AS bic_bg,
       round(persona.aic(p)::numeric, 2) AS aic_pn, round(persona.bic(p)::numeric, 2) AS bic_pn
FROM m, (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) AS p FROM s) q;
-- Nested fits: one BG/NBD for everyone against one per half of the
-- customers (4 more parameters); a large p-value: the halves are alike.
SELECT round(statistic::numeric, 3) AS statistic, df, round(p_value::numeric, 3) AS p_value
FROM (SELECT sum((f).loglik) AS split FROM (SELECT persona.bgnbd_fit(x, t_x, t_cal) AS f FROM s GROUP BY id % 2) h) q, m,
     LATERAL persona.lr_test((m).loglik, split, 4);
SELECT round(statistic::numeric, 2) AS statistic, df, round(p_value::numeric, 5) AS p_value FROM persona.lr_test(-100, -98.08, 1);
SELECT * FROM persona.lr_test(-10, -20, 1);
SELECT * FROM persona.lr_test(-10, -9, 0);
-- Seeded customers who never drop out: the dropout parameters are not
-- identified; a WARNING, identified = false and a status naming them.
SELECT round((f).r::numeric, 3) AS r, (f).converged, (f).identified, (f).status, (f).se_a
FROM (SELECT persona.bgnbd_fit(x, t_x, t_cal) f FROM persona.simulate_bgnbd(0.5, 5, 0.01, 100, 2000, 39, 1)) q;
SELECT round((f).r::numeric, 3) AS r, (f).converged, (f).identified, (f).status, (f).se_log_s > 2 AS vague
FROM (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) f FROM persona.simulate_pareto_nbd(0.5, 5, 0.01, 100, 2000, 39, 1)) q;
-- A penalty does not keep s away from 0: flagged as a boundary.
SELECT (f).identified, (f).status, (f).se_s
FROM (SELECT persona.pareto_nbd_fit(x, t_x, t_cal, NULL, 0.01) f FROM persona.simulate_pareto_nbd(0.5, 5, 0.01, 100, 2000, 39, 1)) q;
DROP TABLE s, m;

-- a + b <= 1: for x = 0 the 2F1 of eq. 10 has c = a + b - 1 <= 0, where its
-- power series has negative terms (c = 0: it diverges).  Checked against an
-- independent computation: E[Y(t) | x, t_x, T] integrated numerically over
-- the dropout probability p of the model's definition (purchases Poisson
-- with gamma(r, alpha) rates, so the rate integrates out in closed form;
-- alive after x purchases with probability (1-p)^x; an alive customer makes
-- (1 - e^(-lambda p t)) / p purchases in t on average).
CREATE FUNCTION pg_temp.bg_expected_integral(r float8, alpha float8, a float8, b float8,
                                             t float8, x float8, tx float8, tt float8, n integer DEFAULT 20000)
RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
WITH nodes AS (
    -- midpoint rule; [0, 1/2]: p = v^(1/a), so p^(a-1) dp = dv / a, and
    -- [1/2, 1]: 1 - p = w^(1/b): the beta density's endpoint powers go away
    SELECT p, wt * (1 - p) ^ (b - 1) / a AS wt
    FROM (SELECT ((i - 0.5) / n * 0.5 ^ a) ^ (1 / a) AS p, 0.5 ^ a / n AS wt FROM generate_series(1, n) i) s
    UNION ALL
    SELECT 1 - q, wt * (1 - q) ^ (a - 1) / b
    FROM (SELECT ((i - 0.5) / n * 0.5 ^ b) ^ (1 / b) AS q, 0.5 ^ b / n AS wt FROM generate_series(1, n) i) s)
-- 1 - (1 - u)^k loses all digits for tiny p: its series there
SELECT sum(wt * (1 - p) ^ x / p * CASE WHEN u < 1e-4 THEN k * u * (1 - (k - 1) / 2 * u * (1 - (k - 2) / 3 * u))
                                       ELSE 1 - (1 - u) ^ k END)
     / sum(wt * ((1 - p) ^ x + CASE WHEN x > 0 THEN p * (1 - p) ^ (x - 1) * ((alpha + tt) / (alpha + tx)) ^ (r + x) ELSE 0 END))
FROM nodes, LATERAL (SELECT p * t / (alpha + tt + p * t) AS u, r + x AS k) c
$$;
SELECT r, alpha, a, b, t, x, t_x, t_cal,
       round(persona.expected_purchases((r, alpha, a, b, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, t, x, t_x, t_cal)::numeric, 6) AS persona,
       round(pg_temp.bg_expected_integral(r, alpha, a, b, t, x, t_x, t_cal)::numeric, 6) AS integral,
       abs(persona.expected_purchases((r, alpha, a, b, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, t, x, t_x, t_cal)
           / pg_temp.bg_expected_integral(r, alpha, a, b, t, x, t_x, t_cal) - 1) < 1e-7 AS agree
FROM (VALUES (0.24, 4.41, 0.3, 0.5, 10, 0, 0, 0),      -- c = -0.2, a new customer
             (0.24, 4.41, 0.3, 0.5, 10, 0, 0, 10),     -- c = -0.2, T = 10
             (0.24, 4.41, 0.3, 0.5, 10, 1, 5, 10),     -- x = 1: c = 0.8 > 0
             (2, 1, 0.2, 0.3, 10, 0, 0, 0),            -- c = -0.5
             (2, 1, 0.2, 0.3, 10, 0, 0, 10),
             (1.5, 2, 0.5, 0.5, 10, 0, 0, 0),          -- c = 0 exactly
             (1, 1, 0.4, 0.2, 52, 0, 0, 0),            -- c = -0.4, long horizon
             (1, 1, 0.4, 0.2, 52, 3, 20, 52),
             (0.243, 4.414, 0.793, 2.426, 39, 0, 0, 0),   -- CDNOW: c > 0, unchanged
             (0.243, 4.414, 0.793, 2.426, 39, 2, 30.43, 38.86),
             (0.5, 1, 1.5, 0.3, 20, 1, 2, 30)) v(r, alpha, a, b, t, x, t_x, t_cal);
-- ... and continuous through c = 0 (a + b = 1 from either side).
SELECT round(persona.expected_purchases((1.5, 2, 0.5, 0.5 - 1e-9, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 10)::numeric, 6) AS below,
       round(persona.expected_purchases((1.5, 2, 0.5, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 10)::numeric, 6) AS at,
       round(persona.expected_purchases((1.5, 2, 0.5, 0.5 + 1e-9, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 10)::numeric, 6) AS above;
