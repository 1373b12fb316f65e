-- (c) persona in one call: order statistics + tie-safe RFM score + segment (and lifecycle) for every customer
SELECT count(*), max(last_at), sum(orders), sum(revenue), max(gap_sd_days),
       sum(persona.score(rfm)), sum(hashtext(segment)), max(customer_id)
FROM persona.customer_profile('orders', '2025-01-01', habits => false)
