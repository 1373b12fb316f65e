-- (h0) two rare tags but not a common one, sequential scan
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*), sum(customer_id) FROM customer_tags WHERE tags OPERATOR(persona.@@) 't900 & t950 & !t0'
