-- Model fits in profiles.  An incremental refresh starts the BG/NBD and
-- Gamma-Gamma searches at the previous fits (a warm start) and ends where a
-- full rebuild's cold start ends, to the optimiser's tolerance (the
-- log-likelihood to 1e-9, parameters to 1e-5, relative: two cold starts
-- from different points agree no better); the warm-start aggregates on
-- their own.
\set ECHO none
\i demo/load_cdnow.sql
\set ECHO all
SET persona.progress = off;
CREATE TABLE cd_orders AS SELECT sample_id AS customer_id, ordered_on, amount FROM cdnow WHERE ordered_on < '1998-01-01';
SELECT count(*) FROM persona.create_profile('cdm', 'cd_orders', 'customer_id', 'ordered_on', 'amount',
                                            schema => 'public', as_of => '1998-06-30', time_zone => 'UTC',
                                            incremental => true);
-- the first half of 1998 arrives
INSERT INTO cd_orders SELECT sample_id, ordered_on, amount FROM cdnow WHERE ordered_on >= '1998-01-01';
SELECT refresh, customers, changed > 0 AS merged FROM persona.refresh_profile('cdm');
CREATE TEMP TABLE warm_models AS SELECT * FROM cdm_models;
CREATE TEMP TABLE warm_rows AS SELECT * FROM cdm_customers;
CREATE TEMP TABLE warm_fit AS SELECT (bgnbd).iterations AS bgnbd_it, (gamma_gamma).iterations AS gg_it FROM cdm__globals;
SELECT refresh, customers FROM persona.refresh_profile('cdm', incremental => false);
CREATE TEMP TABLE cold_fit AS SELECT (bgnbd).iterations AS bgnbd_it, (gamma_gamma).iterations AS gg_it FROM cdm__globals;
-- the warm start took fewer iterations and reached the same parameters
SELECT w.bgnbd_it < c.bgnbd_it AS bgnbd_fewer_iterations, w.gg_it < c.gg_it AS gamma_gamma_fewer_iterations
FROM warm_fit w, cold_fit c;
SELECT m.model, m.parameter, round(m.value::numeric, 4) AS value,
       abs(w.value / m.value - 1) < 1e-5 AS warm_equal, abs(w.loglik / m.loglik - 1) < 1e-9 AS loglik_equal,
       w.converged AND m.converged AS converged
FROM cdm_models m JOIN warm_models w USING (model, parameter) ORDER BY 1, 2;
-- every customer: the same rows, the model outputs to 1e-4 (relative)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (w.orders, w.revenue, w.rfm, w.segment, w.lifecycle, w.value_tier, w.daypart)
                              IS NOT DISTINCT FROM (c.orders, c.revenue, c.rfm, c.segment, c.lifecycle, c.value_tier, c.daypart)) AS same_scores,
       count(*) FILTER (WHERE abs(w.p_alive - c.p_alive) <= 1e-5
                          AND abs(w.expected_purchases_90d - c.expected_purchases_90d) <= 1e-4 * c.expected_purchases_90d
                          AND (w.clv_12m IS NULL AND c.clv_12m IS NULL OR abs(w.clv_12m - c.clv_12m) <= 1e-4 * abs(c.clv_12m))) AS same_model_outputs
FROM warm_rows w FULL JOIN cdm_customers c USING (customer_id);
SELECT persona.drop_profile('cdm');

-- The warm-start aggregates: NULL start is the default start; a start at
-- the optimum stays there; a far start reaches the same optimum.
CREATE TABLE cd_summary AS
SELECT sample_id, (persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks')).*
FROM cdnow GROUP BY sample_id;
CREATE TABLE cold AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS bg, persona.pareto_nbd_fit(x, t_x, t_cal) AS pn,
       persona.gamma_gamma_fit(x, mean_repeat_spend) FILTER (WHERE x > 0) AS gg FROM cd_summary;
SELECT (persona.bgnbd_fit(x, t_x, t_cal, 1, 0, NULL::persona.bgnbd) = (SELECT bg FROM cold)) AS bgnbd_null_start_is_default,
       (persona.pareto_nbd_fit(x, t_x, t_cal, 1, 0, NULL::persona.pareto_nbd) = (SELECT pn FROM cold)) AS pareto_null_start_is_default,
       (persona.gamma_gamma_fit(x, mean_repeat_spend, 0, NULL::persona.gamma_gamma) FILTER (WHERE x > 0) = (SELECT gg FROM cold)) AS gg_null_start_is_default
FROM cd_summary;
CREATE FUNCTION rel_diff(a float8[], b float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE
RETURN (SELECT max(abs(x / y - 1)) FROM unnest(a, b) u(x, y));
WITH warm AS (
    SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, 0, (SELECT bg FROM cold)) AS at_opt,
           persona.bgnbd_fit(x, t_x, t_cal, 1, 0, ROW(5, 50, 5, 5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd) AS far,
           persona.pareto_nbd_fit(x, t_x, t_cal, 1, 0, ROW(5, 50, 5, 50, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd) AS pfar,
           persona.gamma_gamma_fit(x, mean_repeat_spend, 0, ROW(10, 10, 100, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma)
               FILTER (WHERE x > 0) AS gfar
    FROM cd_summary)
SELECT (w.at_opt).iterations <= 2 AS stays_at_optimum,
       rel_diff(ARRAY[(w.at_opt).r, (w.at_opt).alpha, (w.at_opt).a, (w.at_opt).b], ARRAY[(c.bg).r, (c.bg).alpha, (c.bg).a, (c.bg).b]) < 1e-6 AS at_opt_same,
       rel_diff(ARRAY[(w.far).r, (w.far).alpha, (w.far).a, (w.far).b], ARRAY[(c.bg).r, (c.bg).alpha, (c.bg).a, (c.bg).b]) < 1e-4 AS bgnbd_far_same,
       rel_diff(ARRAY[(w.pfar).r, (w.pfar).alpha, (w.pfar).s, (w.pfar).beta], ARRAY[(c.pn).r, (c.pn).alpha, (c.pn).s, (c.pn).beta]) < 1e-4 AS pareto_far_same,
       rel_diff(ARRAY[(w.gfar).p, (w.gfar).q, (w.gfar).v], ARRAY[(c.gg).p, (c.gg).q, (c.gg).v]) < 1e-4 AS gg_far_same,
       abs((w.far).loglik - (c.bg).loglik) < 1e-6 AS same_loglik
FROM warm w, cold c;
-- a start row must hold a model's parameters
\set SHOW_CONTEXT never
SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, 0, ROW(-1, 1, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd) FROM cd_summary;
SELECT persona.gamma_gamma_fit(x, mean_repeat_spend, 0, ROW(1, NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma) FROM cd_summary WHERE x > 0;
\set SHOW_CONTEXT errors
DROP TABLE cdnow, cd_orders, cd_summary, cold;
DROP FUNCTION rel_diff(float8[], float8[]);
