-- (a) the floor: built-in aggregates, one row per customer, every output consumed
SELECT count(*), max(last_at), sum(n), sum(revenue)
FROM (SELECT customer_id, max(ordered_at) AS last_at, count(*) AS n, sum(amount) AS revenue
      FROM orders GROUP BY customer_id) s
