-- 1% new orders (each of rounds 0, 1, 2; deterministic): copies of existing orders a minute later
INSERT INTO orders
SELECT customer_id, ordered_at + interval '1 minute', amount FROM orders
WHERE abs(hashtext(customer_id::text || ordered_at::text)) % 100 = :round
