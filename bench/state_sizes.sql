-- Partial states of the global aggregates as Citus would ship them: one per
-- shard (32, by customer), as text, against the raw values they summarise
-- (8 bytes a value: recency, frequency, monetary for rfm_breaks; monetary
-- for pareto; x, t_x, T for the fits, x and mean spend of repeat buyers for
-- Gamma-Gamma; the tag arrays for tag_affinity).  Issue 12's target: <= 5%
-- of the raw bytes.
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_rfm;
CREATE UNLOGGED TABLE bench_rfm AS
SELECT customer_id, (s).recency_days::float8 AS r, (s).orders::float8 AS f, (s).revenue::float8 AS m,
       (persona.btyd(s, 'weeks')).*
FROM (SELECT customer_id, persona.order_stats(ordered_at, amount, '2025-01-01') AS s FROM orders GROUP BY customer_id) t;
CREATE AGGREGATE pg_temp.breaks_partial(float8, float8, float8, int, text, float8) (SFUNC = persona.rfm_breaks_transfn, STYPE = float8[]);
CREATE AGGREGATE pg_temp.pareto_partial(float8, float8, float8, float8) (SFUNC = persona.pareto_transfn, STYPE = float8[]);
CREATE AGGREGATE pg_temp.fit_partial(float8, float8, float8) (SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state);
CREATE AGGREGATE pg_temp.spend_partial(float8, float8) (SFUNC = persona.gamma_gamma_transfn, STYPE = persona.fit_state);
CREATE AGGREGATE pg_temp.affinity_partial(text[]) (SFUNC = persona.affinity_transfn, STYPE = persona.affinity_state);
WITH shards AS (
  SELECT customer_id % 32 AS shard, count(*) AS customers, count(m) AS amounts,
         pg_temp.breaks_partial(r, f, m, 5, 'quantile', 0)::text AS breaks_exact,
         pg_temp.breaks_partial(r, f, m, 5, 'quantile', 0.01)::text AS breaks_approx,
         pg_temp.pareto_partial(m, 0.2, 0.8, 0)::text AS pareto_exact,
         pg_temp.pareto_partial(m, 0.2, 0.8, 0.01)::text AS pareto_approx,
         pg_temp.fit_partial(x, t_x, t_cal)::text AS fit_weeks,
         pg_temp.fit_partial(x, round(t_x * 7), round(t_cal * 7))::text AS fit_days,
         count(*) FILTER (WHERE x > 0) AS repeaters,
         pg_temp.spend_partial(x, mean_repeat_spend)::text AS spend,
         pg_temp.spend_partial(x, round(mean_repeat_spend))::text AS spend_whole
  FROM bench_rfm GROUP BY 1),
tag_shards AS (
  SELECT customer_id % 32 AS shard, sum(pg_column_size(tags)) AS raw, pg_temp.affinity_partial(tags)::text AS affinity
  FROM customer_tags GROUP BY 1),
sizes (what, raw, shipped) AS (
  SELECT 'rfm_breaks exact', sum(8 * (2 * customers + amounts)), sum(length(breaks_exact)) FROM shards UNION ALL
  SELECT 'rfm_breaks accuracy 0.01', sum(8 * (2 * customers + amounts)), sum(length(breaks_approx)) FROM shards UNION ALL
  SELECT 'pareto exact', sum(8 * amounts), sum(length(pareto_exact)) FROM shards UNION ALL
  SELECT 'pareto accuracy 0.01', sum(8 * amounts), sum(length(pareto_approx)) FROM shards UNION ALL
  SELECT 'fits, t_x and T in weeks', sum(8 * 3 * customers), sum(length(fit_weeks)) FROM shards UNION ALL
  SELECT 'fits, whole days', sum(8 * 3 * customers), sum(length(fit_days)) FROM shards UNION ALL
  SELECT 'gamma_gamma', sum(8 * 2 * repeaters), sum(length(spend)) FROM shards UNION ALL
  SELECT 'gamma_gamma, whole spend', sum(8 * 2 * repeaters), sum(length(spend_whole)) FROM shards UNION ALL
  SELECT 'tag_affinity', sum(raw), sum(length(affinity)) FROM tag_shards)
SELECT format('%-26s raw %9s bytes, 32 partial states as text %9s bytes = %s%% of raw',
              what, raw, shipped, round(100.0 * shipped / raw, 1))
FROM sizes;
SELECT format('distinct values: recency %s, frequency %s, monetary %s of %s customers',
              count(DISTINCT r), count(DISTINCT f), count(DISTINCT m), count(*)) FROM bench_rfm;
DROP TABLE bench_rfm;
