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
SELECT * FROM persona.holdout('cdnow', '1997-09-30', '1998-06-30', unit => 'fortnights', customer_col => 'sample_id', time_col => 'ordered_on');
DROP TABLE cdnow;
