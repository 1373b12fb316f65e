-- (c3) customer_profile with text keys ('C' + 10 digits, the same customers and orders as (c)), customer_key => NULL::text
SELECT count(*), max(last_at), sum(orders), sum(revenue), max(gap_sd_days),
       sum(persona.score(rfm)), sum(hashtext(segment)), max(customer_id COLLATE "C")
FROM persona.customer_profile('orders_text', '2025-01-01', customer_key => NULL::text, habits => false)
