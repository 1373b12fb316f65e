-- Partial states of the global aggregates as Citus would ship them: one per
-- shard (32, by customer), as text, against the raw values they summarise
-- (8 bytes a value: recency, frequency, monetary for rfm_breaks; monetary
-- for pareto).  Issue 12's target: <= 5% of the raw bytes.
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_rfm;
CREATE UNLOGGED TABLE bench_rfm AS
SELECT customer_id, (s).recency_days::float8 AS r, (s).orders::float8 AS f, (s).revenue::float8 AS m
FROM (SELECT customer_id, persona.order_stats(ordered_at, amount, '2025-01-01') AS s FROM orders GROUP BY customer_id) t;
CREATE AGGREGATE pg_temp.breaks_partial(float8, float8, float8, int, text, float8) (SFUNC = persona.rfm_breaks_transfn, STYPE = float8[]);
CREATE AGGREGATE pg_temp.pareto_partial(float8, float8, float8, float8) (SFUNC = persona.pareto_transfn, STYPE = float8[]);
WITH shards AS (
  SELECT customer_id % 32 AS shard, count(*) AS customers, count(m) AS amounts,
         pg_temp.breaks_partial(r, f, m, 5, 'quantile', 0)::text AS breaks_exact,
         pg_temp.breaks_partial(r, f, m, 5, 'quantile', 0.01)::text AS breaks_approx,
         pg_temp.pareto_partial(m, 0.2, 0.8, 0)::text AS pareto_exact,
         pg_temp.pareto_partial(m, 0.2, 0.8, 0.01)::text AS pareto_approx
  FROM bench_rfm GROUP BY 1),
sizes (what, raw, shipped) AS (
  SELECT 'rfm_breaks exact', sum(8 * (2 * customers + amounts)), sum(length(breaks_exact)) FROM shards UNION ALL
  SELECT 'rfm_breaks accuracy 0.01', sum(8 * (2 * customers + amounts)), sum(length(breaks_approx)) FROM shards UNION ALL
  SELECT 'pareto exact', sum(8 * amounts), sum(length(pareto_exact)) FROM shards UNION ALL
  SELECT 'pareto accuracy 0.01', sum(8 * amounts), sum(length(pareto_approx)) FROM shards)
SELECT format('%-26s raw %9s bytes, 32 partial states as text %9s bytes = %s%% of raw',
              what, raw, shipped, round(100.0 * shipped / raw, 1))
FROM sizes;
SELECT format('distinct values: recency %s, frequency %s, monetary %s of %s customers',
              count(DISTINCT r), count(DISTINCT f), count(DISTINCT m), count(*)) FROM bench_rfm;
DROP TABLE bench_rfm;
