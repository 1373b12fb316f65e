-- Time units: the summary and the fitted model carry their unit, scoring
-- uses it or rejects another.  Before 0.5.0 clv(..., 'days') on a model
-- fitted in weeks silently returned about 4 times the right value.
-- Own schema: other test files load their own cdnow.
CREATE SCHEMA units_test;
SET search_path = units_test, public;
\i demo/load_cdnow.sql
-- Units are case-insensitive, trimmed, singular or plural; a month is 365.25/12 days.
SELECT u, persona.time_unit_days(u) AS days, (persona.btyd(persona.order_stats(d, a, '2024-03-31'), u)).unit
FROM (VALUES ('day'), (' DAYS '), ('Week'), ('weeks'), ('month'), ('MONTHS')) v(u),
     (VALUES ('2024-01-01'::timestamptz, 10::numeric), ('2024-02-15', 20)) o(d, a)
GROUP BY u ORDER BY 2, 1;
SELECT persona.time_unit_days('fortnight');
SELECT persona.btyd(persona.order_stats(d, 1, '2024-01-31'), '') FROM (VALUES ('2024-01-01'::timestamptz)) o(d);
-- t_cal in months is t_cal in days / (365.25 / 12)
SELECT (s).t_cal AS months, (persona.btyd(os, 'days')).t_cal / (365.25 / 12) AS days_over_month_length
FROM (SELECT persona.btyd(os, 'months') AS s, os
      FROM (SELECT persona.order_stats(d, 1, '2024-12-31') AS os
            FROM (VALUES ('2024-01-01'::timestamptz), ('2024-06-01')) o(d)) q) q;

-- One summary per customer in days, weeks and months.
CREATE TABLE summ AS
SELECT sample_id,
       persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'days') AS d,
       persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks') AS w,
       persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'months') AS m
FROM cdnow GROUP BY sample_id;
-- Fits on summaries record the unit; fits on plain numbers record none.
CREATE TABLE models AS
SELECT persona.bgnbd_fit(d) AS bg_d, persona.bgnbd_fit(w) AS bg_w, persona.bgnbd_fit(m) AS bg_m,
       persona.pareto_nbd_fit(d) AS pn_d, persona.pareto_nbd_fit(w) AS pn_w,
       persona.bgnbd_fit((w).x, (w).t_x, (w).t_cal) AS bg_plain,
       persona.gamma_gamma_fit((w).x, (w).mean_repeat_spend) AS gg
FROM summ;
SELECT (bg_d).unit AS bg_d, (bg_w).unit AS bg_w, (bg_m).unit AS bg_m, (pn_d).unit AS pn_d,
       (pn_w).unit AS pn_w, (bg_plain).unit AS bg_plain
FROM models;
-- The summary fit is the plain fit (same likelihood, same parameters).
SELECT round((bg_w).r::numeric, 4) = round((bg_plain).r::numeric, 4) AS same_r,
       round((bg_w).loglik::numeric, 2) = round((bg_plain).loglik::numeric, 2) AS same_loglik,
       (bg_w).customers
FROM models;
-- Independent check of the units: the purchase rate scale alpha is in
-- time units, so the days fit's alpha is 7 times the weeks fit's and
-- 365.25/12 times the months fit's (Pareto/NBD: beta too); r, a, b stay.
SELECT round(((bg_d).alpha / (bg_w).alpha)::numeric, 3) AS days_over_weeks,
       round(((bg_d).alpha / (bg_m).alpha / (365.25 / 12))::numeric, 3) AS days_over_months_per_month_length,
       round(((pn_d).beta / (pn_w).beta)::numeric, 3) AS pareto_beta_days_over_weeks,
       abs((bg_d).r / (bg_w).r - 1) < 1e-4 AS same_r
FROM models;

-- The issue: the weeks model scored with 'days'.  A model that records its
-- unit rejects another one, naming both.
SELECT persona.clv(bg_w, gg, (d).x, (d).t_x, (d).t_cal, (d).mean_repeat_spend, 'days')
FROM summ, models WHERE sample_id = 1;
SELECT persona.clv(bg_w, gg, d) FROM summ, models WHERE sample_id = 1;
SELECT persona.p_alive(pn_w, d) FROM summ, models WHERE sample_id = 1;
SELECT persona.expected_purchases(bg_d, 39, w) FROM summ, models WHERE sample_id = 1;
-- The same CLV whichever unit the summary and the fit used (within 1%:
-- the three fits stop at slightly different points), and the summary form
-- equals the form with the numbers and the unit (NULL unit: the model's).
WITH v AS (
    SELECT sum(persona.clv(bg_d, gg, d)) AS clv_days, sum(persona.clv(bg_w, gg, w)) AS clv_weeks,
           sum(persona.clv(bg_m, gg, m)) AS clv_months,
           sum(persona.clv(pn_d, gg, d)) AS pareto_days, sum(persona.clv(pn_w, gg, w)) AS pareto_weeks,
           sum(persona.clv(bg_w, gg, (w).x, (w).t_x, (w).t_cal, (w).mean_repeat_spend, 'Weeks')) AS numbers_weeks,
           sum(persona.clv(bg_w, gg, (w).x, (w).t_x, (w).t_cal, (w).mean_repeat_spend)) AS numbers_model_unit
    FROM summ, models)
SELECT round(clv_weeks) AS clv_weeks,
       abs(clv_days / clv_weeks - 1) < 0.01 AS days_within_1pct,
       abs(clv_months / clv_weeks - 1) < 0.01 AS months_within_1pct,
       abs(pareto_days / pareto_weeks - 1) < 0.01 AS pareto_within_1pct,
       numbers_weeks = clv_weeks AS numbers_same, numbers_model_unit = clv_weeks AS model_unit_same
FROM v;
-- Before 0.5.0 the plain model took 'days' on week numbers: about 4 times
-- too much.  A model without a unit still uses the given one.
SELECT round((sum(persona.clv(bg_plain, gg, (w).x, (w).t_x, (w).t_cal, (w).mean_repeat_spend, 'days')) /
              sum(persona.clv(bg_plain, gg, (w).x, (w).t_x, (w).t_cal, (w).mean_repeat_spend, 'weeks')))::numeric, 1)
       AS days_over_weeks_without_unit
FROM summ, models;
-- ... and without a unit on either side it is an error, not a guess.
SELECT persona.clv(bg_plain, gg, 1, 1, 2, 10) FROM models;
SELECT persona.clv(bg_plain, gg, (w).x, (w).t_x, (w).t_cal, (w).mean_repeat_spend, NULL)
FROM summ, models WHERE sample_id = 1;
-- Summary forms of P(alive) and expected purchases equal the number forms.
SELECT bool_and(persona.p_alive(bg_w, w) = persona.p_alive(bg_w, (w).x, (w).t_x, (w).t_cal)) AS p_alive_same,
       bool_and(persona.expected_purchases(pn_d, 273, d) = persona.expected_purchases(pn_d, 273, (d).x, (d).t_x, (d).t_cal)) AS expected_same,
       bool_and(abs(persona.expected_purchases(bg_d, 273, d) - persona.expected_purchases(bg_w, 39, w))
                < 0.01 * persona.expected_purchases(bg_w, 39, w) + 1e-9) AS days_weeks_agree
FROM summ, models;
-- A stored summary of before 0.5.0 (unit NULL) is scored in the model's unit.
SELECT persona.clv(bg_w, gg, ROW((w).x, (w).t_x, (w).t_cal, (w).mean_repeat_spend, NULL)::persona.btyd_summary)
       = persona.clv(bg_w, gg, w) AS null_unit_is_the_models
FROM summ, models WHERE sample_id = 1;
-- NULL summary: NULL; summaries in different units in one fit: an error.
SELECT persona.clv(bg_w, gg, NULL::persona.btyd_summary) IS NULL AS null_summary,
       persona.p_alive(bg_w, NULL::persona.btyd_summary) IS NULL AS null_p_alive
FROM models;
SELECT persona.bgnbd_fit(s) FROM (SELECT d FROM summ UNION ALL SELECT w FROM summ) u(s);
SELECT persona.pareto_nbd_fit(s, 1, 0.01) FROM (SELECT d FROM summ UNION ALL SELECT w FROM summ) u(s);

-- MBG/NBD carries the unit the same way (BG/BB counts opportunities: no unit).
SELECT (persona.mbgnbd_fit(w)).unit AS mbgnbd_unit, (persona.mbgnbd_fit((w).x, (w).t_x, (w).t_cal)).unit IS NULL AS plain_no_unit
FROM summ;
WITH f AS (SELECT (SELECT persona.mbgnbd_fit(d) FROM summ) AS md, (SELECT persona.mbgnbd_fit(w) FROM summ) AS mw)
SELECT abs(sum(persona.clv(md, gg, d)) / sum(persona.clv(mw, gg, w)) - 1) < 0.01 AS mbgnbd_days_within_1pct,
       sum(persona.clv(mw, gg, w)) = sum(persona.clv(mw, gg, (w).x, (w).t_x, (w).t_cal, (w).mean_repeat_spend)) AS model_unit_same
FROM summ, models, f;
SELECT persona.clv((SELECT persona.mbgnbd_fit(w) FROM summ), gg, d) FROM summ, models WHERE sample_id = 1;

-- The unit survives a parallel fit (combine, serialise).
CREATE TABLE big AS SELECT w, CASE WHEN i <= 10 THEN w ELSE d END AS mixed FROM summ, generate_series(1, 20) i;
ANALYZE big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT persona.bgnbd_fit(w) FROM big;
SELECT (persona.bgnbd_fit(w)).unit, (persona.bgnbd_fit(w)).customers FROM big;
SELECT persona.bgnbd_fit(mixed) FROM big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- holdout takes the same units (any case, months too) and the same wording.
SELECT unit, round(sum(predicted)::numeric, 2) AS predicted, sum(actual) AS actual
FROM (VALUES ('weeks'), ('Days'), (' MONTHS')) u(unit),
     LATERAL persona.holdout('cdnow', '1997-09-30', '1998-06-30', unit => u.unit,
                             customer_col => 'sample_id', time_col => 'ordered_on') h
GROUP BY unit ORDER BY unit;
-- A fitted model in holdout and the diagnostics: its unit is used when
-- none is given, and another unit is rejected (the same totals either way).
SELECT round(sum(predicted)::numeric, 2) AS model_unit,
       round(sum(predicted) FILTER (WHERE true)::numeric, 2) = (
           SELECT round(sum(predicted)::numeric, 2)
           FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', (SELECT bg_w FROM models), unit => 'WEEKS',
                                customer_col => 'sample_id', time_col => 'ordered_on', time_zone => 'UTC')) AS same_as_weeks
FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', (SELECT bg_w FROM models),
                     customer_col => 'sample_id', time_col => 'ordered_on', time_zone => 'UTC');
\set SHOW_CONTEXT never
SELECT count(*) FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', (SELECT bg_w FROM models), unit => 'days',
                                     customer_col => 'sample_id', time_col => 'ordered_on', time_zone => 'UTC');
SELECT count(*) FROM persona.tracking('cdnow', '1997-09-30', '1998-06-30', (SELECT bg_d FROM models), unit => 'weeks',
                                      customer_col => 'sample_id', time_col => 'ordered_on', time_zone => 'UTC');
-- the helper itself: a value that is no model, and the unit of a model recording none
SELECT persona.btyd_model_unit(5, 'days');
SELECT persona.btyd_model_unit((SELECT bg_plain FROM models), NULL) AS plain_default,
       persona.btyd_model_unit((SELECT bg_plain FROM models), ' Days') AS plain_given,
       persona.btyd_model_unit((SELECT bg_m FROM models), NULL) AS recorded;
\set SHOW_CONTEXT errors
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA units_test CASCADE;
RESET client_min_messages;
