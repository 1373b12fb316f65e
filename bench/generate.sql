-- Deterministic benchmark data: about 1M customers and 10M orders over two years.
-- Orders per customer are log-normal (median ~3, 20% one-time buyers, a few
-- hundred for the heaviest); amounts are log-normal (median ~33); rows are
-- stored in time order, as an orders table usually is.
-- Scale with psql -v customers=N (default 1000000).
\if :{?customers}
\else
  \set customers 1000000
\endif
SELECT setseed(0.2024);
DROP TABLE IF EXISTS orders;
CREATE UNLOGGED TABLE orders (customer_id integer NOT NULL, ordered_at timestamptz NOT NULL, amount numeric(12,2) NOT NULL);
SET max_parallel_workers_per_gather = 0;   -- one backend: the random stream is reproducible
INSERT INTO orders
SELECT c.id,
       '2023-01-01 00:00:00+00'::timestamptz + random() * interval '730 days',
       round(exp(3.5 + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::numeric, 2)
FROM (SELECT id, ceil(exp(1.18 + 1.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::int AS n
      FROM generate_series(1, :customers) id) c,
     generate_series(1, c.n)
ORDER BY 2;
RESET max_parallel_workers_per_gather;
VACUUM ANALYZE orders;
SELECT count(*) AS orders, count(DISTINCT customer_id) AS customers,
       pg_size_pretty(pg_total_relation_size('orders')) AS size FROM orders;
