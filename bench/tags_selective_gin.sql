-- (f) the same selective tagquery through the GIN index
SET enable_seqscan = off;
SELECT count(*), sum(customer_id) FROM customer_tags WHERE tags OPERATOR(persona.@@) 't900 & t950'
