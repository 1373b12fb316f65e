-- (e) persona tagquery, sequential scan: the same question as (e0)
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*), sum(customer_id) FROM customer_tags WHERE tags OPERATOR(persona.@@) 't3 & t17 & !t42'
