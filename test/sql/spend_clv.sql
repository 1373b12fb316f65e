-- Gamma-Gamma spend model and CLV on the CDNOW summary (weeks).
CREATE TABLE s (id int, x float8, t_x float8, t_cal float8, zbar float8);
\copy s FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
-- The published file has zbar = 0 for one-time buyers: x = 0 rows are
-- skipped by the fit, so it can read the file as is.  lifetimes: p 6.25,
-- q 3.74, v 15.44 on the 946 repeat buyers.
CREATE TABLE m AS
SELECT persona.gamma_gamma_fit(x, zbar) AS gg, persona.bgnbd_fit(x, t_x, t_cal) AS bg,
       persona.pareto_nbd_fit(x, t_x, t_cal) AS pn
FROM s;
SELECT round((gg).p::numeric, 3) AS p, round((gg).q::numeric, 3) AS q, round((gg).v::numeric, 3) AS v,
       round((gg).loglik::numeric, 2) AS loglik, (gg).customers, (gg).converged
FROM m;
-- Expected mean spend: between the customer's own mean and the population
-- mean p v / (q - 1); one-time buyers (mean spend NULL) get the population mean.
SELECT id, x, zbar, round(persona.expected_spend(gg, x, zbar)::numeric, 2) AS expected_spend
FROM s, m WHERE id IN (1, 2, 3, 157, 1516) ORDER BY id;
SELECT round(persona.expected_spend(gg, 0, NULL)::numeric, 4) AS population_mean,
       round(((gg).p * (gg).v / ((gg).q - 1))::numeric, 4) AS p_v_over_q_minus_1
FROM m;
-- CLV over 12 months at 1% a month.  lifetimes' documented example passes
-- this weekly data with its default freq 'D', i.e. 30 weeks a "month", and
-- prints 140.10, 18.94, 38.18 for customers 1, 2, 3; unit => 'days' reads
-- the weeks as days the same way (30.44 per month) and lands close by.
SELECT id, round(persona.clv(bg, gg, x, t_x, t_cal, zbar, 'days')::numeric, 2) AS clv_as_lifetimes_doc,
       round(persona.clv(bg, gg, x, t_x, t_cal, zbar, 'weeks')::numeric, 2) AS clv_bgnbd,
       round(persona.clv(pn, gg, x, t_x, t_cal, zbar, 'weeks')::numeric, 2) AS clv_pareto_nbd
FROM s, m WHERE id IN (1, 2, 3) ORDER BY id;
-- No discount and a one-month step: CLV is expected spend x expected purchases.
SELECT round(persona.clv(bg, gg, x, t_x, t_cal, zbar, 'weeks', 1, 0)::numeric, 8)
       = round((persona.expected_spend(gg, x, zbar)
                * persona.expected_purchases(bg, 365.25 / 12 / 7, x, t_x, t_cal))::numeric, 8) AS one_month
FROM s, m WHERE id = 1;
-- Longer horizons are worth more; discounting lowers the value.
SELECT persona.clv(bg, gg, 2, 30, 39, 25, 'weeks', 24) > persona.clv(bg, gg, 2, 30, 39, 25, 'weeks', 12) AS longer_more,
       persona.clv(bg, gg, 2, 30, 39, 25, 'weeks', 12, 0.05) < persona.clv(bg, gg, 2, 30, 39, 25, 'weeks', 12, 0) AS discount_less,
       persona.clv(bg, gg, 2, 30, 39, 25, 'weeks', 0) AS zero_months
FROM m;
-- Value tiers from CLV: diamond from the 95th percentile, gold from the 80th.
WITH v AS (SELECT id, persona.clv(bg, gg, x, t_x, t_cal, zbar, 'weeks') AS clv FROM s, m),
     cut AS (SELECT percentile_cont(0.8) WITHIN GROUP (ORDER BY clv) AS gold,
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY clv) AS diamond FROM v)
SELECT persona.value_tier(clv, gold, diamond) AS tier, count(*) AS customers,
       round(sum(clv)::numeric / (SELECT sum(clv) FROM v)::numeric, 3) AS share_of_clv
FROM v, cut GROUP BY 1 ORDER BY 1;
-- With an L2 penalty (on the sum of squares, so mostly on v, the largest): v is pulled in, p and q adjust, loglik (unpenalised) drops.
SELECT round((f).p::numeric, 3) AS p, round((f).q::numeric, 3) AS q, round((f).v::numeric, 3) AS v,
       (f).loglik < (SELECT (gg).loglik FROM m) AS lower_loglik
FROM (SELECT persona.gamma_gamma_fit(x, zbar, 0.001) AS f FROM s) q;
-- Bad input.
SELECT persona.gamma_gamma_fit(x, zbar) FROM s WHERE x = 0;
SELECT persona.gamma_gamma_fit(2, 10) FROM generate_series(1, 10);
SELECT persona.gamma_gamma_fit(2, -5);
SELECT persona.gamma_gamma_fit(1.5, 5);
SELECT persona.expected_spend((6, 0.9, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 1, 10);
SELECT persona.clv(bg, gg, 2, 30, 39, 25, 'months') FROM m;
SELECT persona.clv(bg, gg, 2, 30, 39, 25, 'weeks', -1) FROM m;
SELECT persona.clv(bg, gg, 2, 30, 39, 25, 'weeks', 12, -1) FROM m;
SELECT persona.clv(bg, gg, 2, 30, 39, 0, 'weeks') FROM m;
SELECT persona.clv(bg, gg, 2, 30, 39, NULL, 'weeks') IS NULL AS null_spend FROM m;
SELECT persona.gamma_gamma_fit(x, zbar) IS NULL AS no_rows FROM s WHERE false;
DROP TABLE s, m;
