-- (f0) a selective tagquery (two rare tags), sequential scan
SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*), sum(customer_id) FROM customer_tags WHERE tags OPERATOR(persona.@@) 't900 & t950'
