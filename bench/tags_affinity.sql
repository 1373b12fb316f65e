-- (g) pairwise tag affinity over every customer's tag set
SELECT count(*), max((p).lift) FROM unnest((SELECT persona.tag_affinity(tags) FROM customer_tags)) p
