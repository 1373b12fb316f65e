-- (b) RFM as usually written in plain SQL: the floor plus three ntile(5) windows
SELECT count(*), sum(100 * r + 10 * f + m)
FROM (SELECT ntile(5) OVER (ORDER BY last_at) AS r,
             ntile(5) OVER (ORDER BY n) AS f,
             ntile(5) OVER (ORDER BY revenue) AS m
      FROM (SELECT customer_id, max(ordered_at) AS last_at, count(*) AS n, sum(amount) AS revenue
            FROM orders GROUP BY customer_id) c) s
