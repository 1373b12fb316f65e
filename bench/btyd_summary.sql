-- The BTYD summary table the fit-alone rows read.
DROP TABLE IF EXISTS btyd_summary;
CREATE UNLOGGED TABLE btyd_summary AS
SELECT customer_id, (persona.btyd(persona.order_stats(ordered_at, amount, '2025-01-01'), 'days')).*
FROM orders GROUP BY customer_id;
VACUUM ANALYZE btyd_summary;
SELECT count(*) AS customers, count(DISTINCT (x, t_x, t_cal)) AS distinct_histories FROM btyd_summary;
-- 1M customers simulated from the CDNOW BG/NBD estimates over 78 weeks:
-- purchase times are continuous, so nearly every history is distinct (the
-- worst case for the fit's distinct-row state).
DROP TABLE IF EXISTS btyd_simulated;
CREATE UNLOGGED TABLE btyd_simulated AS
SELECT * FROM persona.simulate_bgnbd(0.243, 4.414, 0.793, 2.426, :customers, 78, 42);
VACUUM ANALYZE btyd_simulated;
SELECT count(*) AS simulated_customers, count(DISTINCT (x, t_x, t_cal)) AS distinct_histories FROM btyd_simulated;
