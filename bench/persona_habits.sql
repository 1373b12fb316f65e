-- (d) persona: stats + RFM + segment + lifecycle + habits for every customer, one call
SELECT count(*), max(last_at), sum(orders), sum(revenue), max(gap_sd_days),
       sum(persona.score(rfm)), sum(hashtext(segment)), sum(hashtext(lifecycle::text)),
       sum((habits).weekend_share), sum((habits).lunch + (habits).morning + (habits).afternoon + (habits).evening + (habits).night),
       sum(hashtext((habits).daypart::text)), max((habits).favourite_weekday), max((habits).favourite_hour)
FROM persona.customer_profile('orders', '2025-01-01')
