-- (c2) persona composed in SQL: order_stats per customer + rfm_breaks OVER () + rfm_score + rfm_segment
WITH stats AS (
    SELECT customer_id, persona.order_stats(ordered_at, amount, '2025-01-01') AS s
    FROM orders GROUP BY customer_id
), scored AS (
    SELECT s, persona.rfm_score((s).recency_days, (s).orders, (s).revenue,
                                persona.rfm_breaks((s).recency_days, (s).orders, (s).revenue) OVER ()) AS rfm
    FROM stats
)
SELECT count(*), max((s).last_at), sum((s).orders), sum((s).revenue), max((s).gap_sd_days),
       sum(persona.score(rfm)), sum(hashtext(persona.rfm_segment(rfm)))
FROM scored
