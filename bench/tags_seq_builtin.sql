-- (e0) built-in array operators, sequential scan: t3 and t17 but not t42
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*), sum(customer_id) FROM customer_tags WHERE tags @> '{t3,t17}' AND NOT tags && '{t42}'
