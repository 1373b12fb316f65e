-- (c1) (c) in one process: bench/run runs it after SET max_parallel_workers_per_gather = 0
SELECT count(*), max(last_at), sum(orders), sum(revenue), max(gap_sd_days),
       sum(persona.score(rfm)), sum(hashtext(segment)), max(customer_id)
FROM persona.customer_profile('orders', '2025-01-01', habits => false)
