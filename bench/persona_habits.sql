-- (d) persona: stats + RFM + segment + lifecycle (customer_profile) and habits for every customer
WITH p AS (SELECT * FROM persona.customer_profile('orders', '2025-01-01')),
h AS (SELECT customer_id, persona.habits(ordered_at) AS h FROM orders GROUP BY customer_id)
SELECT count(*), max(p.last_at), sum(p.orders), sum(p.revenue), max(p.gap_sd_days),
       sum(persona.score(p.rfm)), sum(hashtext(p.segment)), sum(hashtext(p.lifecycle::text)),
       sum((h.h).weekend_share), sum((h.h).lunch + (h.h).morning + (h.h).afternoon + (h.h).evening + (h.h).night),
       sum(hashtext((h.h).daypart::text)), max((h.h).favourite_weekday), max((h.h).favourite_hour)
FROM p JOIN h USING (customer_id)
