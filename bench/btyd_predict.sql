-- (p) predictive value in one query: BTYD summary of every customer, BG/NBD
-- and Gamma-Gamma fits, then P(alive) and 12-month CLV for every customer
-- (all read by the outer aggregates, so none of it is skipped)
WITH s AS MATERIALIZED (
    SELECT customer_id, persona.btyd(persona.order_stats(ordered_at, amount, '2025-01-01'), 'days') AS b
    FROM orders GROUP BY customer_id
), m AS (
    SELECT persona.bgnbd_fit((b).x, (b).t_x, (b).t_cal) AS bg,
           persona.gamma_gamma_fit((b).x, (b).mean_repeat_spend) AS gg
    FROM s
)
SELECT count(*), sum(persona.p_alive(bg, (b).x, (b).t_x, (b).t_cal)),
       sum(persona.clv(bg, gg, (b).x, (b).t_x, (b).t_cal, (b).mean_repeat_spend, 'days'))
FROM s, m
