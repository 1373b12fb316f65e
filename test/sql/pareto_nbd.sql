-- Pareto/NBD on the CDNOW summary (weeks): the fit matches the published
-- maximum-likelihood estimates (BTYD R package: r 0.5534, alpha 10.5802,
-- s 0.6061, beta 11.6562, LL -9594.98; lifetimes: 0.55, 10.58, 0.61, 11.67).
CREATE TABLE s (id int, x float8, t_x float8, t_cal float8, zbar float8);
\copy s FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE m AS SELECT persona.pareto_nbd_fit(x, t_x, t_cal) AS m, persona.bgnbd_fit(x, t_x, t_cal) AS bg FROM s;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 2) AS alpha,
       round((m).s::numeric, 3) AS s, round((m).beta::numeric, 2) AS beta,
       round((m).loglik::numeric, 2) AS loglik, (m).customers, (m).converged
FROM m;
-- The same fit from distinct rows with counts.
SELECT round((persona.pareto_nbd_fit(x, t_x, t_cal, n)).loglik::numeric, 2) AS weighted_loglik
FROM (SELECT x, t_x, t_cal, count(*)::float8 AS n FROM s GROUP BY 1, 2, 3) q;
-- BG/NBD fits CDNOW a little better (-9582.43 against -9594.97).
SELECT (bg).loglik > (m).loglik AS bgnbd_better FROM m;
-- P(alive) and the next 39 weeks under both models for a few customers.
SELECT id, x, t_x, t_cal,
       round(persona.p_alive(m, x, t_x, t_cal)::numeric, 4) AS p_alive,
       round(persona.p_alive(bg, x, t_x, t_cal)::numeric, 4) AS p_alive_bg,
       round(persona.expected_purchases(m, 39, x, t_x, t_cal)::numeric, 4) AS next_39,
       round(persona.expected_purchases(bg, 39, x, t_x, t_cal)::numeric, 4) AS next_39_bg
FROM s, m WHERE id IN (1, 2, 3, 1516, 157) ORDER BY id;
-- Unconditional E[X(t)] and its value at t = 0.
SELECT round(persona.expected_purchases(m, 39)::numeric, 4) AS e39,
       persona.expected_purchases(m, 39) = persona.expected_purchases(m, 39, 0, 0, 0) AS same_as_conditional,
       persona.expected_purchases(m, 0) AS e0
FROM m;
-- s = 1 exactly: the expectation's limit (a logarithm), continuous around it.
SELECT round(persona.expected_purchases((0.55, 10.58, 1, 11.67, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd, 39, 2, 30, 39)::numeric, 6) AS at_1,
       round(persona.expected_purchases((0.55, 10.58, 1 + 1e-9, 11.67, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd, 39, 2, 30, 39)::numeric, 6) AS near_1;
-- P(alive) when t_x = T is the largest possible for that x.
SELECT persona.p_alive(m, 3, 38, 38) > persona.p_alive(m, 3, 37, 38) AS recent_more_alive FROM m;
-- An L2 penalty pulls the parameters in; loglik (unpenalised) drops.
SELECT round((f).r::numeric, 3) AS r, round((f).alpha::numeric, 3) AS alpha,
       round((f).s::numeric, 3) AS s, round((f).beta::numeric, 3) AS beta,
       (f).loglik < (SELECT (m).loglik FROM m) AS lower_loglik, (f).converged
FROM (SELECT persona.pareto_nbd_fit(x, t_x, t_cal, 1, 0.001) AS f FROM s) q;
-- Bad input.
SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM s WHERE x = 0;
SELECT persona.pareto_nbd_fit(2, 3, 2);
SELECT persona.p_alive((0.5, -1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd, 1, 1, 2);
SELECT persona.expected_purchases(m, -1) FROM m;
SELECT persona.pareto_nbd_fit(x, t_x, t_cal) IS NULL AS no_rows FROM s WHERE false;
DROP TABLE s, m;
