-- (h) the same through the GIN index (the negated tag is checked on the rows found)
SET enable_seqscan = off;
SELECT count(*), sum(customer_id) FROM customer_tags WHERE tags OPERATOR(persona.@@) 't900 & t950 & !t0'
