-- Calibration/holdout on the CDNOW orders: fit up to 1997-09-30, predict the
-- next 39 weeks, compare by calibration frequency (as in FHL 2005).
\set ECHO none
\i demo/load_cdnow.sql
\set ECHO all
SELECT frequency, customers, round(predicted::numeric, 2) AS predicted, round(actual::numeric, 2) AS actual,
       round(mae::numeric, 2) AS mae, round(rmse::numeric, 2) AS rmse
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30',
                                  customer_col => 'sample_id', time_col => 'ordered_on');
SELECT frequency, customers, round(predicted::numeric, 2) AS predicted, round(actual::numeric, 2) AS actual
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30', 'pareto_nbd',
                                  customer_col => 'sample_id', time_col => 'ordered_on');
-- Per customer: the calibration summary is persona.btyd's, the actual count
-- is purchase days in the holdout.
SELECT customer_id, x, round(t_x::numeric, 2) AS t_x, round(t_cal::numeric, 2) AS t_cal,
       round(predicted::numeric, 4) AS predicted, actual
FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', customer_col => 'sample_id', time_col => 'ordered_on')
WHERE customer_id IN (1, 2, 3, 157, 1516) ORDER BY customer_id;
SELECT sum(actual) AS holdout_repeat_days,
       (SELECT count(DISTINCT (sample_id, ordered_on)) FROM cdnow WHERE ordered_on > '1997-09-30') AS direct_count
FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', customer_col => 'sample_id', time_col => 'ordered_on');
-- Bad input.
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1997-09-30', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', 'lifetimes', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', customer_col => 'nope', time_col => 'ordered_on');
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', unit => 'months', customer_col => 'sample_id', time_col => 'ordered_on');

-- The calibration data holdout() fits on, per customer: fit your own model on it.
SELECT customer_id, first_on, x, round(t_x::numeric, 2) AS t_x, round(t_cal::numeric, 2) AS t_cal, actual
FROM persona.holdout_calibration('cdnow', '1997-09-30', '1998-06-30', customer_col => 'sample_id', time_col => 'ordered_on')
WHERE customer_id IN (1, 2, 3, 157, 1516) ORDER BY customer_id;
-- x is purchase days after the first, actual purchase days in the holdout (plain SQL).
SELECT sum(c.x) = (SELECT count(DISTINCT (sample_id, ordered_on)) - count(DISTINCT sample_id) FROM cdnow WHERE ordered_on <= '1997-09-30') AS x_agrees,
       sum(c.actual) = (SELECT count(DISTINCT (sample_id, ordered_on)) FROM cdnow WHERE ordered_on > '1997-09-30') AS actual_agrees,
       bool_and(c.first_on = (SELECT min(ordered_on) FROM cdnow o WHERE o.sample_id = c.customer_id)) AS first_on_agrees
FROM persona.holdout_calibration('cdnow', '1997-09-30', '1998-06-30', customer_col => 'sample_id', time_col => 'ordered_on') c;
-- The parameters holdout() uses (the published CDNOW estimates, FHL 2005).
SELECT model, parameter, round(estimate::numeric, 3) AS estimate, round(loglik::numeric, 2) AS loglik, customers, converged
FROM persona.holdout_fit('cdnow', '1997-09-30', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT model, parameter, round(estimate::numeric, 3) AS estimate, round(loglik::numeric, 2) AS loglik
FROM persona.holdout_fit('cdnow', '1997-09-30', 'pareto_nbd', customer_col => 'sample_id', time_col => 'ordered_on');
-- Models fitted by the user on the calibration data: as holdout() fits
-- them, and with an L2 penalty (weights or a WHERE filter work the same way).
CREATE TABLE cal AS SELECT * FROM persona.holdout_calibration('cdnow', '1997-09-30', '1998-06-30',
                                                              customer_col => 'sample_id', time_col => 'ordered_on');
CREATE TABLE fits AS
SELECT (SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM cal) AS bg,
       (SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, 0.05) FROM cal) AS bg_penalised,
       (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM cal) AS pn;
-- holdout() with the model it would fit itself gives its results exactly.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE a.x = b.x AND a.t_x = b.t_x AND a.t_cal = b.t_cal
                          AND a.predicted = b.predicted AND a.actual = b.actual) AS identical
FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', customer_col => 'sample_id', time_col => 'ordered_on') a
JOIN persona.holdout('cdnow', '1997-09-30', '1998-06-30', (SELECT bg FROM fits),
                     customer_col => 'sample_id', time_col => 'ordered_on') b USING (customer_id);
-- ... and predicted is expected_purchases over the 39 holdout weeks.
SELECT bool_and(h.predicted = persona.expected_purchases(f.bg_penalised, 39, h.x, h.t_x, h.t_cal)) AS is_expected_purchases
FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', (SELECT bg_penalised FROM fits),
                     customer_col => 'sample_id', time_col => 'ordered_on') h, fits f;
SELECT parameter, round(estimate::numeric, 3) AS estimate, converged
FROM fits, persona.model_parameters(bg_penalised);
SELECT frequency, customers, round(predicted::numeric, 2) AS predicted, round(actual::numeric, 2) AS actual,
       round(mae::numeric, 2) AS mae, round(rmse::numeric, 2) AS rmse
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30', (SELECT bg_penalised FROM fits),
                                  customer_col => 'sample_id', time_col => 'ordered_on');
-- Period transactions (lifetimes' plot_period_transactions): customers by
-- calibration repeat purchases, actual and expected from each customer's T.
SELECT frequency, actual, round(expected::numeric, 1) AS expected
FROM persona.period_transactions('cdnow', '1997-09-30', (SELECT bg FROM fits),
                                 customer_col => 'sample_id', time_col => 'ordered_on');
SELECT frequency, actual, round(expected::numeric, 1) AS expected
FROM persona.period_transactions('cdnow', '1997-09-30', (SELECT pn FROM fits),
                                 customer_col => 'sample_id', time_col => 'ordered_on', max_frequency => 4);
-- Weekly tracking (BTYD's tracking plots): the first weeks, the weeks
-- around the end of calibration and the last one.
CREATE TABLE tr AS
SELECT * FROM persona.tracking('cdnow', '1997-09-30', '1998-06-30', (SELECT bg FROM fits),
                               customer_col => 'sample_id', time_col => 'ordered_on');
SELECT period, period_start, period_end, holdout, actual, round(expected::numeric, 2) AS expected,
       cumulative_actual, round(cumulative_expected::numeric, 2) AS cumulative_expected
FROM tr WHERE period IN (0, 1, 2, 37, 38, 39, 40, 77) ORDER BY period;
-- Independent totals: cumulative actual is the calibration x plus the
-- holdout purchase days; cumulative expected is each customer's own E[X]
-- over their T (end of calibration) and over T + 39 weeks (end of holdout).
SELECT (SELECT cumulative_actual FROM tr WHERE period = 38) = (SELECT sum(x) FROM cal) AS calibration_actual,
       (SELECT cumulative_actual FROM tr WHERE period = 77) = (SELECT sum(x) + sum(actual) FROM cal) AS holdout_actual,
       abs((SELECT cumulative_expected FROM tr WHERE period = 38)
           - (SELECT sum(persona.expected_purchases(f.bg, c.t_cal)) FROM cal c, fits f)) < 1e-6 AS calibration_expected,
       abs((SELECT cumulative_expected FROM tr WHERE period = 77)
           - (SELECT sum(persona.expected_purchases(f.bg, c.t_cal + 39)) FROM cal c, fits f)) < 1e-6 AS holdout_expected;
-- Four-week periods: the same totals.
SELECT count(*) AS periods, max(cumulative_actual) AS cumulative_actual,
       round(max(cumulative_expected)::numeric, 2) AS cumulative_expected
FROM persona.tracking('cdnow', '1997-09-30', '1998-06-30', (SELECT pn FROM fits),
                      customer_col => 'sample_id', time_col => 'ordered_on', period_days => 28);
-- Frequency x recency matrix (lifetimes' plot_frequency_recency_matrix) for T = 39 weeks.
SELECT frequency, recency, t_cal, round(expected::numeric, 4) AS expected, round(p_alive::numeric, 4) AS p_alive
FROM persona.frequency_recency_matrix((SELECT bg FROM fits), 39, max_frequency => 2, recency_step => 13);
SELECT count(*) AS cells, max(recency) AS max_recency
FROM persona.frequency_recency_matrix((SELECT pn FROM fits), 39.5, 4, max_frequency => 10);
-- Calendar days in a time zone given as a value: an order at 23:30 UTC on
-- the last calibration day is on the next day in Shanghai, so in the holdout.
CREATE TABLE tz_orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO tz_orders VALUES (1, '2024-01-01 10:00+00', 10), (1, '2024-01-15 10:00+00', 10),
                             (1, '2024-01-31 23:30+00', 10), (1, '2024-02-10 10:00+00', 10),
                             (2, '2024-01-20 10:00+00', 5);
SET TimeZone = 'UTC';
SELECT customer_id, first_on, x, t_x, t_cal, actual
FROM persona.holdout_calibration('tz_orders', '2024-01-31 12:00+00', '2024-02-29 12:00+00', 'days') ORDER BY 1;
SELECT customer_id, first_on, x, t_x, t_cal, actual
FROM persona.holdout_calibration('tz_orders', '2024-01-31 12:00+00', '2024-02-29 12:00+00', 'days', time_zone => 'Asia/Shanghai') ORDER BY 1;
-- NULL is the session's zone.
SET TimeZone = 'Asia/Shanghai';
SELECT count(*) AS same FROM persona.holdout_calibration('tz_orders', '2024-01-31 12:00+00', '2024-02-29 12:00+00', 'days') a
JOIN persona.holdout_calibration('tz_orders', '2024-01-31 12:00+00', '2024-02-29 12:00+00', 'days', time_zone => 'Asia/Shanghai') b
  USING (customer_id, first_on, x, t_x, t_cal, actual);
RESET TimeZone;
-- Bad input for the new forms.
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', NULL::persona.bgnbd, customer_col => 'sample_id', time_col => 'ordered_on');
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', 42, customer_col => 'sample_id', time_col => 'ordered_on');
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1997-09-30', (SELECT bg FROM fits), customer_col => 'sample_id', time_col => 'ordered_on');
SELECT * FROM persona.holdout_calibration('cdnow', NULL, customer_col => 'sample_id', time_col => 'ordered_on');
SELECT * FROM persona.holdout_calibration('cdnow', '1997-09-30', customer_col => 'sample_id', time_col => 'ordered_on', time_zone => 'Mars/Olympus');
SELECT * FROM persona.holdout_calibration('cdnow', '1997-09-30', customer_col => 'sample_id', time_col => 'cds');
SELECT * FROM persona.holdout_fit('cdnow', '1997-09-30', 'lifetimes', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT * FROM persona.period_transactions('cdnow', '1997-09-30', (SELECT bg FROM fits), customer_col => 'sample_id', time_col => 'ordered_on', max_frequency => 0);
SELECT * FROM persona.tracking('cdnow', '1997-09-30', '1998-06-30', (SELECT bg FROM fits), customer_col => 'sample_id', time_col => 'ordered_on', period_days => 0);
SELECT * FROM persona.frequency_recency_matrix((SELECT bg FROM fits), 0);
SELECT * FROM persona.frequency_recency_matrix((SELECT bg FROM fits), 39, -1);
SELECT * FROM persona.frequency_recency_matrix((SELECT bg FROM fits), 39, max_frequency => 10001);
SELECT * FROM persona.frequency_recency_matrix((SELECT bg FROM fits), 39, recency_step => 0);
SELECT * FROM persona.frequency_recency_matrix((SELECT bg FROM fits), 1e6, recency_step => 1e-3);
SELECT persona.purchase_count_probability((SELECT bg FROM fits), 39, -1);
SELECT persona.purchase_count_probability((SELECT bg FROM fits), -1, 1);
-- Overloads: a string literal (or text, varchar, NULL) in the model position is
-- still the model name, never ambiguous with the model-value form.
SELECT count(*) AS by_name FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', model => 'pareto_nbd', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT count(*) AS by_varchar FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30', 'bgnbd'::varchar, customer_col => 'sample_id', time_col => 'ordered_on');
SELECT count(*) FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', NULL, customer_col => 'sample_id', time_col => 'ordered_on');
-- No calibration customers: empty results.
SELECT count(*) AS period_rows FROM persona.period_transactions('cdnow', '1990-01-01', (SELECT bg FROM fits), customer_col => 'sample_id', time_col => 'ordered_on');
SELECT count(*) AS tracking_rows FROM persona.tracking('cdnow', '1990-01-01', '1990-06-01', (SELECT bg FROM fits), customer_col => 'sample_id', time_col => 'ordered_on');
DROP TABLE cal, fits, tr, tz_orders;
DROP TABLE cdnow;
