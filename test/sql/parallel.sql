-- Parallel aggregation (combine/serial/deserial) gives the serial answer.
CREATE TABLE porders AS
SELECT (i % 5000) AS customer,
       '2023-01-01'::timestamptz + ((i * 7919) % 700) * interval '1 day' + (i % 24) * interval '1 hour' AS ordered_at,
       CASE WHEN i % 97 = 0 THEN -(i % 50)::numeric
            WHEN i % 89 = 0 THEN NULL
            ELSE ((i * 31) % 100000) / 100.0 END AS amount
FROM generate_series(1, 200000) i;
ANALYZE porders;
CREATE TABLE serial_result AS
SELECT persona.order_stats(ordered_at, amount, '2024-12-31')::text AS s,
       persona.pareto(amount::float8)::text AS p
FROM porders;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT persona.order_stats(ordered_at, amount, '2024-12-31'), persona.pareto(amount::float8) FROM porders;
SELECT persona.order_stats(ordered_at, amount, '2024-12-31')::text = (SELECT s FROM serial_result) AS stats_same,
       persona.pareto(amount::float8)::text = (SELECT p FROM serial_result) AS pareto_same
FROM porders;
-- rfm_breaks in parallel: same cut points.
CREATE TABLE pcust AS
SELECT customer, persona.order_stats(ordered_at, amount, '2024-12-31') AS s FROM porders GROUP BY customer;
ANALYZE pcust;
EXPLAIN (COSTS OFF)
SELECT persona.rfm_breaks((s).recency_days, (s).orders, (s).revenue) FROM pcust;
CREATE TABLE parallel_breaks AS SELECT persona.rfm_breaks((s).recency_days, (s).orders, (s).revenue)::text AS b FROM pcust;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
SELECT persona.rfm_breaks((s).recency_days, (s).orders, (s).revenue)::text = b AS breaks_same
FROM pcust, parallel_breaks GROUP BY b;
-- Grouped order_stats, partial aggregation per group.
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT customer, persona.order_stats(ordered_at, amount, '2024-12-31') FROM porders GROUP BY customer;
CREATE TABLE grouped_parallel AS
SELECT customer, persona.order_stats(ordered_at, amount, '2024-12-31')::text AS s FROM porders GROUP BY customer;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE g.s = persona_s) AS same
FROM grouped_parallel g
JOIN (SELECT customer, persona.order_stats(ordered_at, amount, '2024-12-31')::text AS persona_s
      FROM porders GROUP BY customer) q USING (customer);
DROP TABLE porders, serial_result, pcust, parallel_breaks, grouped_parallel;
