-- Tag affinity: support, confidence and lift.
CREATE TABLE baskets (customer_id int, tags text[]);
-- 9 tag sets (a NULL set is not counted): 育儿 x4, of whom 3 also 绘本; 绘本 x5; a NULL element is no tag.
INSERT INTO baskets VALUES
  (1, '{育儿,绘本}'), (2, '{育儿,绘本,vip}'), (3, '{育儿,绘本,绘本}'), (4, '{育儿}'),
  (5, '{绘本}'), (6, '{绘本,vip}'), (7, '{vip}'), (8, '{}'), (9, NULL), (10, '{NULL,vip}');
SELECT (p).antecedent, (p).consequent, (p).customers, round((p).support::numeric, 3) AS support,
       round((p).confidence::numeric, 3) AS confidence, round((p).lift::numeric, 3) AS lift
FROM (SELECT unnest(persona.tag_affinity(tags)) AS p FROM baskets) x
ORDER BY 1, 2;
-- "75% of 育儿 buyers also buy 绘本" is one query:
SELECT round(100 * (p).confidence) AS pct
FROM (SELECT unnest(persona.tag_affinity(tags)) AS p FROM baskets) x
WHERE (p).antecedent = '育儿' AND (p).consequent = '绘本';
-- min_support drops rare pairs; no rows gives NULL.
SELECT count(*) FROM (SELECT unnest(persona.tag_affinity(tags, 0.25)) FROM baskets) x;
SELECT persona.tag_affinity(tags) IS NULL AS no_rows FROM baskets WHERE false;
-- Tag combinations: group by the sorted set.
SELECT persona.tag_set(tags) AS combination, count(*) FROM baskets WHERE tags IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC, 1;
-- Parallel aggregation gives the same pairs.
CREATE TABLE many AS
SELECT i AS id, ARRAY(SELECT 'c' || ((i * 7 + j * 13) % 17) FROM generate_series(1, 1 + i % 5) j) AS tags
FROM generate_series(1, 20000) i;
ANALYZE many;
CREATE TABLE serial_pairs AS SELECT persona.tag_affinity(tags)::text AS p FROM many;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT persona.tag_affinity(tags) FROM many;
SELECT (SELECT count(*) FROM unnest(persona.tag_affinity(tags))) AS pairs,
       (SELECT array_agg(x ORDER BY x::text) FROM unnest(persona.tag_affinity(tags)) x)::text
       = (SELECT array_agg(x ORDER BY x::text) FROM unnest((SELECT p::persona.tag_pair[] FROM serial_pairs)) x)::text AS same
FROM many;
RESET max_parallel_workers_per_gather;
-- Bad input.
SELECT persona.tag_affinity(tags, 1.5) FROM baskets;
SELECT persona.tag_affinity(ARRAY[ARRAY['a','b']]);
SELECT persona.tag_affinity(tags, NULL) FROM baskets;
SELECT persona.tag_affinity(ARRAY(SELECT 'tag' || i FROM generate_series(1, 4097) i));
DROP TABLE baskets, many, serial_pairs;
