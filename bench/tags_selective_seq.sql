-- (f0) a selective tagquery, sequential scan
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*), sum(customer_id) FROM customer_tags WHERE tags OPERATOR(persona.@@) 't190 & t195 & !t0'
