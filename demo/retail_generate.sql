-- A deterministic Chinese retail data set for persona's demo and tests.
--
--   psql -v customers=2000 -v seed=0.42 -f demo/retail_generate.sql
--
-- Same seed, same data (one backend, no parallel plan).  Times are local
-- Asia/Shanghai times, 2023-01-01 .. 2024-12-31; profile it as of 2025-01-01.
-- Planted patterns (retail_customers.kind is the ground truth tests check):
--   prospect  15%  visited (and maybe signed up) but never bought
--   lunch     13%  weekday lunch (11:30-13:30), 轻食沙拉, mini program, WeChat Pay
--   family    13%  weekend evening (17:00-20:00), 家庭套餐, in store, card or cash
--   coupon    10%  almost every order with a coupon and a discount
--   parent    14%  育儿 buyers; 65% of them also buy 绘本
--   fitness   10%  morning 健身套餐 buyers
--   newcomer   4%  first order in December 2024 (新手期)
--   growing    3%  started in autumn 2024, 2-3 orders so far (成长期)
--   falling   10%  bought often until mid 2024, then rarely (消费频率下降)
--   (orders elsewhere are spread evenly over the two years)
--   churned    8%  bought only in January-April 2023 (流失)
--
-- Tables:
--   retail_customers(customer_id, name, phone, gender, birth_year, city,
--                    signed_up_at, is_member, referrals, visits, sessions, kind)
--   retail_orders(order_id, customer_id, ordered_at, amount, channel, payment,
--                 coupon_used, discount, category)
--   retail_coupons(customer_id, issued_at, used)   coupons sent in Dec 2024
\if :{?customers}
\else
  \set customers 2000
\endif
\if :{?seed}
\else
  \set seed 0.42
\endif
SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;
SELECT setseed(:seed) \gset

DROP TABLE IF EXISTS retail_coupons, retail_orders, retail_customers;

CREATE TABLE retail_customers AS
WITH c AS (
    SELECT id, random() AS k, random() AS r1, random() AS r2, random() AS r3, random() AS r4
    FROM generate_series(1, :customers) id
)
SELECT id AS customer_id,
       (ARRAY['王','李','张','刘','陈','杨','黄','赵','周','吴','徐','孙','马','朱','胡','郭'])[1 + floor(r1 * 16)::int] ||
       (ARRAY['伟','芳','娜','敏','静','丽','强','磊','洋','艳','勇','军','杰','娟','涛','明'])[1 + floor(r2 * 16)::int] AS name,
       '1' || (ARRAY['38','39','58','59','86','87','35','36'])[1 + floor(r3 * 8)::int] ||
           lpad((floor(r4 * 100000000))::bigint::text, 8, '0') AS phone,
       CASE WHEN r2 < 0.55 THEN '女' ELSE '男' END AS gender,
       1965 + floor(r3 * 40)::int AS birth_year,
       (ARRAY['北京','上海','广州','深圳','杭州','成都','武汉','南京'])[1 + floor(r4 * 8)::int] AS city,
       kind,
       -- the funnel: who signed up, who is a member, who refers others
       CASE WHEN kind <> 'prospect' OR r1 < 0.5
            THEN timestamptz '2022-06-01 00:00+08' + r2 * interval '500 days' END AS signed_up_at,
       kind <> 'prospect' AND r3 < 0.45 AS is_member,
       CASE WHEN kind <> 'prospect' AND r4 < 0.15 THEN 1 + floor(r1 * 4)::int ELSE 0 END AS referrals,
       CASE WHEN kind = 'prospect' AND r2 < 0.3 THEN 0 ELSE 1 + floor(r3 * 60)::int END AS visits,
       0 AS sessions
FROM (SELECT *, CASE WHEN k < 0.15 THEN 'prospect' WHEN k < 0.28 THEN 'lunch' WHEN k < 0.41 THEN 'family'
                     WHEN k < 0.51 THEN 'coupon' WHEN k < 0.65 THEN 'parent' WHEN k < 0.75 THEN 'fitness'
                     WHEN k < 0.79 THEN 'newcomer' WHEN k < 0.82 THEN 'growing'
                     WHEN k < 0.92 THEN 'falling' ELSE 'churned' END AS kind
      FROM c) c2;
-- A prospect who never visited has not signed up either (a stranger).
UPDATE retail_customers SET signed_up_at = NULL WHERE visits = 0;
UPDATE retail_customers SET sessions = visits + visits / 3;
ALTER TABLE retail_customers ADD PRIMARY KEY (customer_id);

-- Orders: per customer, a count and a pattern by kind.
CREATE TABLE retail_orders AS
WITH n AS (
    SELECT customer_id, kind,
           CASE kind WHEN 'prospect' THEN 0
                     WHEN 'lunch' THEN 20 + floor(random() * 40)::int
                     WHEN 'family' THEN 8 + floor(random() * 12)::int
                     WHEN 'coupon' THEN 12 + floor(random() * 18)::int
                     WHEN 'parent' THEN 4 + floor(random() * 8)::int
                     WHEN 'fitness' THEN 10 + floor(random() * 20)::int
                     WHEN 'falling' THEN 15 + floor(random() * 15)::int
                     WHEN 'newcomer' THEN 1 + floor(random() * 2)::int
                     WHEN 'growing' THEN 2 + floor(random() * 2)::int
                     ELSE 2 + floor(random() * 6)::int END AS n,
           random() < 0.65 AS also_picture_books
    FROM retail_customers ORDER BY customer_id
), o AS (
    SELECT n.customer_id, n.kind, n.also_picture_books, g AS i, n.n,
           random() AS u1, random() AS u2, random() AS u3, random() AS u4, random() AS u5
    FROM n, generate_series(1, n.n) g
    ORDER BY n.customer_id, g
), t AS (
    SELECT o.*,
           -- the day: a week (0..103 from Monday 2023-01-02) and a weekday
           CASE kind
             WHEN 'lunch'   THEN date '2023-01-02' + floor(u1 * 104)::int * 7 + floor(u2 * 5)::int
             WHEN 'family'  THEN date '2023-01-02' + floor(u1 * 104)::int * 7 + 5 + floor(u2 * 2)::int
             -- falling: half the orders in 2023, 42% in the first half of 2024, 8% after
             WHEN 'falling' THEN CASE WHEN u3 < 0.50 THEN date '2023-01-01' + floor(u1 * 365)::int
                                      WHEN u3 < 0.92 THEN date '2024-01-01' + floor(u1 * 182)::int
                                      ELSE date '2024-07-01' + floor(u1 * 184)::int END
             WHEN 'newcomer' THEN date '2024-12-02' + floor(u1 * 29)::int
             WHEN 'growing' THEN date '2024-09-01' + floor(u1 * 120)::int
             -- churned: active in the first four months of 2023 only
             WHEN 'churned' THEN date '2023-01-01' + floor(u1 * 120)::int
             ELSE date '2023-01-01' + floor(u1 * 731)::int END AS day,
           CASE kind
             WHEN 'lunch'   THEN interval '11 hours 30 minutes' + u4 * interval '2 hours'
             WHEN 'family'  THEN interval '17 hours' + u4 * interval '3 hours'
             WHEN 'fitness' THEN interval '6 hours' + u4 * interval '3 hours'
             ELSE interval '9 hours' + u4 * interval '13 hours' END AS tod
    FROM o
)
SELECT row_number() OVER (ORDER BY customer_id, i) AS order_id,
       customer_id,
       (day + tod) AT TIME ZONE 'Asia/Shanghai' AS ordered_at,
       round((CASE kind WHEN 'lunch' THEN 28 + u5 * 20 WHEN 'family' THEN 150 + u5 * 200
                        WHEN 'fitness' THEN 60 + u5 * 40 WHEN 'parent' THEN 50 + u5 * 150
                        ELSE 20 + u5 * 180 END)::numeric, 2) AS amount,
       CASE kind WHEN 'lunch' THEN 'mini_program' WHEN 'family' THEN 'store'
                 ELSE (ARRAY['app','mini_program','store','web'])[1 + floor(u2 * 4)::int] END AS channel,
       CASE kind WHEN 'lunch' THEN 'wechat_pay' WHEN 'family' THEN CASE WHEN u3 < 0.5 THEN 'card' ELSE 'cash' END
                 ELSE (ARRAY['wechat_pay','alipay','card','cash'])[1 + floor(u3 * 4)::int] END AS payment,
       CASE kind WHEN 'coupon' THEN u4 < 0.9 ELSE u4 < 0.1 END AS coupon_used,
       CASE WHEN (kind = 'coupon' AND u4 < 0.9) OR (kind <> 'coupon' AND u4 < 0.1)
            THEN round((5 + u5 * 20)::numeric, 2) ELSE 0 END AS discount,
       CASE kind WHEN 'lunch' THEN '轻食沙拉' WHEN 'family' THEN '家庭套餐' WHEN 'fitness' THEN '健身套餐'
                 WHEN 'parent' THEN CASE WHEN also_picture_books AND i % 3 = 0 THEN '绘本' ELSE '育儿' END
                 ELSE (ARRAY['轻食沙拉','家庭套餐','日用百货','生鲜'])[1 + floor(u1 * 4)::int] END AS category
FROM t;
-- every parent's first order is 育儿, so "育儿 buyers" are exactly the parents
UPDATE retail_orders o SET category = '育儿'
FROM (SELECT min(order_id) AS order_id FROM retail_orders JOIN retail_customers USING (customer_id)
      WHERE kind = 'parent' GROUP BY customer_id) f
WHERE o.order_id = f.order_id;
ALTER TABLE retail_orders ADD PRIMARY KEY (order_id);
CREATE INDEX ON retail_orders (customer_id);

-- Coupons sent in December 2024: used by coupon lovers, mostly ignored by others.
CREATE TABLE retail_coupons AS
SELECT customer_id,
       timestamptz '2024-12-01 10:00+08' + random() * interval '20 days' AS issued_at,
       CASE kind WHEN 'coupon' THEN random() < 0.8 ELSE random() < 0.15 END AS used
FROM retail_customers
WHERE kind <> 'prospect' AND random() < 0.6
ORDER BY customer_id;

RESET max_parallel_workers_per_gather;
RESET client_min_messages;
ANALYZE retail_customers;
ANALYZE retail_orders;
ANALYZE retail_coupons;
