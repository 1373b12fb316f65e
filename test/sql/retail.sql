-- The generated retail data set: persona finds the planted patterns.
SET TimeZone = 'Asia/Shanghai';
\set ECHO none
\set customers 2000
\i demo/retail_generate.sql
\set ECHO all
SELECT kind, count(*) FROM retail_customers GROUP BY kind ORDER BY kind;
SELECT count(*) AS orders, sum(amount) AS revenue FROM retail_orders;

\set ECHO none
\i demo/retail_profile.sql
\set ECHO all

-- Lifecycle by planted kind: prospects never bought, churned ones stopped in 2023.
SELECT kind, coalesce(stage::text, 'prospect') AS stage, count(*)
FROM retail_profile GROUP BY 1, 2 ORDER BY 1, 2;
-- Habits: lunch buyers buy on weekdays at lunch, families on weekend evenings.
SELECT kind, (h).daypart, round(avg((h).weekday_share)::numeric, 2) AS weekday_share, count(*)
FROM retail_profile WHERE kind IN ('lunch', 'family', 'fitness') GROUP BY 1, 2 ORDER BY 1, 2;
-- 消费频率下降: the falling kind is flagged, steady buyers mostly are not.
SELECT kind, count(*) FILTER (WHERE (t).falling) AS falling, count(*) AS customers
FROM retail_profile WHERE kind IN ('falling', 'lunch', 'fitness') GROUP BY 1 ORDER BY 1;
-- Price sensitivity from coupon use in the last 6 months.
SELECT kind, sensitivity, count(*) FROM (
  SELECT c.kind, persona.price_sensitivity(count(*) FILTER (WHERE o.coupon_used AND o.ordered_at > '2024-07-01')) AS sensitivity
  FROM retail_customers c JOIN retail_orders o USING (customer_id)
  WHERE c.kind IN ('coupon', 'lunch') GROUP BY c.kind, c.customer_id) q
GROUP BY 1, 2 ORDER BY 1, 2;
-- The funnel.
SELECT stage, customers, reached, round(conversion::numeric, 3) AS conversion
FROM persona.funnel_report((SELECT persona.funnel_counts(funnel) FROM retail_profile));
-- Cross-category: the share of 育儿 buyers who also buy 绘本 (planted: 65%).
SELECT count(*) AS parenting_buyers,
       count(*) FILTER (WHERE books) AS also_picture_books,
       round(avg(books::int), 3) AS share
FROM (SELECT customer_id, bool_or(category = '绘本') AS books
      FROM retail_orders GROUP BY customer_id HAVING bool_or(category = '育儿')) q;
-- Coupon received in December but not used.
SELECT count(*) FILTER (WHERE NOT used) AS unused, count(*) AS sent FROM retail_coupons;
DROP TABLE retail_profile, retail_coupons, retail_orders, retail_customers;
