-- Deterministic tag sets for the tag benchmark: one row per customer with
-- about 20 tags out of 1,000: a few tags most customers have, a long tail of rare ones
-- (the rarest on well under 1% of customers), as real tag systems look.
\if :{?customers}
\else
  \set customers 1000000
\endif
SELECT setseed(0.3) \gset
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS customer_tags;
CREATE UNLOGGED TABLE customer_tags AS
SELECT id AS customer_id,
       ARRAY(SELECT DISTINCT 't' || floor(1000 * random() ^ 3)::int FROM generate_series(1, 16 + id % 10)) AS tags
FROM generate_series(1, :customers) id;
RESET max_parallel_workers_per_gather;
CREATE INDEX customer_tags_gin ON customer_tags USING gin (tags persona.gin_tag_ops);
VACUUM ANALYZE customer_tags;
SELECT count(*) AS customers, round(avg(cardinality(tags)), 1) AS tags_per_customer,
       pg_size_pretty(pg_relation_size('customer_tags')) AS size,
       pg_size_pretty(pg_relation_size('customer_tags_gin')) AS gin_size FROM customer_tags;
