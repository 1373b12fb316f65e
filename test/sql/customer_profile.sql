-- customer_profile: the one-call path equals the composed SQL path.
\set ECHO none
\i demo/load_cdnow.sql
\set ECHO all
CREATE TABLE composed AS
SELECT customer_id, (s).*, rfm, persona.rfm_segment(rfm) AS segment, persona.lifecycle_of(s) AS lifecycle, h AS habits
FROM (SELECT customer_id, s, h,
             persona.rfm_score((s).recency_days, (s).orders, (s).revenue,
                               persona.rfm_breaks((s).recency_days, (s).orders, (s).revenue) OVER ()) AS rfm
      FROM (SELECT sample_id AS customer_id, persona.order_stats(ordered_on, amount, '1998-06-30') AS s,
                   persona.habits(ordered_on) AS h
            FROM cdnow GROUP BY sample_id) x) y;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE row(p.*)::text = row(c.*)::text) AS identical
FROM persona.customer_profile('cdnow', '1998-06-30', customer_col => 'sample_id', time_col => 'ordered_on') p
JOIN composed c USING (customer_id);
-- Habits with times of day: the generated retail shop, against the habits
-- aggregate over the same orders (not refunds, not after as_of).
SET TimeZone = 'Asia/Shanghai';
\set ECHO none
\set customers 500
\i demo/retail_generate.sql
\set ECHO all
SELECT count(*) AS customers,
       count(*) FILTER (WHERE p.habits::text = q.h::text OR ((p.habits).orders = 0 AND q.h IS NULL)) AS same_habits,
       count(*) FILTER (WHERE (p.habits).daypart = 'lunch') AS lunch_lovers
FROM persona.customer_profile('retail_orders', '2024-10-01') p
JOIN (SELECT customer_id, persona.habits(ordered_at) FILTER (WHERE ordered_at < '2024-10-02') AS h
      FROM retail_orders GROUP BY customer_id) q USING (customer_id);
-- A very heavy buyer: more orders per weekday and hour than 16-bit counters hold.
CREATE TABLE heavy AS
SELECT 7 AS customer_id, '2024-01-01 12:00'::timestamptz + (g % 2) * interval '1 day' + (g / 2) * interval '1 second' AS ordered_at,
       1.5 AS amount
FROM generate_series(0, 139999) g;
SELECT p.orders, (p.habits).orders AS habit_orders, p.habits::text = q.h::text AS same_habits,
       (p.habits).favourite_weekday, (p.habits).favourite_hour
FROM persona.customer_profile('heavy', '2024-12-31') p,
     (SELECT persona.habits(ordered_at) AS h FROM heavy) q;
SELECT count(*) AS rows, count(habits) AS with_habits FROM persona.customer_profile('heavy', '2024-12-31', habits => false);
DROP TABLE heavy;
RESET TimeZone;
-- Calibration end, other scales and schemes.
SELECT rfm, segment, count(*)
FROM persona.customer_profile('cdnow', '1997-09-30', 'sample_id', 'ordered_on', 'amount', bins => 2, scheme => 'cn8')
GROUP BY 1, 2 ORDER BY 1;
SET persona.language = zh;
SELECT segment, count(*)
FROM persona.customer_profile('cdnow', '1998-06-30', 'sample_id', 'ordered_on', scheme => 'cn8')
GROUP BY 1 ORDER BY 2 DESC, 1;
RESET persona.language;

-- Messy rows: NULL customer or time skipped, refunds, NULL amounts, future orders.
CREATE TABLE o (customer_id smallint, ordered_at timestamptz, amount numeric);
INSERT INTO o VALUES
  (1, '2024-01-01', 10), (1, '2024-01-05', 20), (1, '2024-01-06', -5),
  (2, '2024-01-03', NULL), (2, '2024-01-04', 7.5),
  (3, '2024-03-01', 99),                 -- only after as_of: orders = 0, no score
  (NULL, '2024-01-01', 1000), (4, NULL, 1000);
SET TimeZone = 'UTC';
SELECT customer_id, orders, revenue, recency_days, refunds, rfm, segment, lifecycle
FROM persona.customer_profile('o', '2024-02-01') ORDER BY customer_id;
-- The same rows through order_stats.
SELECT customer_id, (s).orders, (s).revenue, (s).recency_days, (s).refunds
FROM (SELECT customer_id, persona.order_stats(ordered_at, amount, '2024-02-01') s
      FROM o WHERE customer_id IS NOT NULL GROUP BY customer_id) q ORDER BY customer_id;
-- An empty table gives no rows.
SELECT count(*) FROM persona.customer_profile('o', '2024-02-01') WHERE false;
TRUNCATE o;
SELECT count(*) FROM persona.customer_profile('o', '2024-02-01');

-- Bad input.
SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_col => 'nope');
SELECT * FROM persona.customer_profile('o', '2024-02-01', time_col => 'nope');
ALTER TABLE o ADD COLUMN email text;
SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_col => 'email');
SELECT * FROM persona.customer_profile('o', '2024-02-01', bins => 1);
SELECT * FROM persona.customer_profile('o', '2024-02-01', scheme => 'nope');
SELECT * FROM persona.customer_profile('o', NULL);
SELECT * FROM persona.customer_profile('no_such_table', '2024-02-01');
-- It reads the table with the caller's rights.
CREATE ROLE persona_nobody;
SET ROLE persona_nobody;
SELECT * FROM persona.customer_profile('o', '2024-02-01');
RESET ROLE;
DROP ROLE persona_nobody;
DROP TABLE o, cdnow, composed, retail_coupons, retail_orders, retail_customers;
