-- order_stats: one pass per customer; every documented rule on a small table.
SET TimeZone = 'UTC';
CREATE TABLE o (customer int, ordered_at timestamptz, amount numeric);
INSERT INTO o VALUES
  -- customer 1: three purchase days, two orders on one day, exact decimals
  (1, '2024-01-01 09:00', 10.10),
  (1, '2024-01-01 18:00', 5.05),
  (1, '2024-01-11 12:00', 20),
  (1, '2024-01-31 12:00', 30.333),
  -- customer 2: one order only
  (2, '2024-01-15 08:00', 99.99),
  -- customer 3: NULL amount counts as an order, NULL timestamp is ignored
  (3, '2024-01-05 10:00', NULL),
  (3, '2024-01-06 10:00', 40),
  (3, NULL, 1000),
  -- customer 4: a refund lowers revenue but is not an order or a purchase day
  (4, '2024-01-10 10:00', 50),
  (4, '2024-01-20 10:00', -20),
  -- customer 5: an order after as_of is ignored (as_of is a calibration end)
  (5, '2024-01-02 10:00', 10),
  (5, '2024-03-01 10:00', 500),
  -- customer 6: only future orders -> orders = 0, timing fields NULL
  (6, '2024-02-15 10:00', 70),
  -- customer 7: an order on the as_of day itself counts (late in the day)
  (7, '2024-02-01 23:59:59', 1);

SELECT customer, (s).*
FROM (SELECT customer, persona.order_stats(ordered_at, amount, '2024-02-01') AS s
      FROM o GROUP BY customer) q
ORDER BY customer;

-- The revenue is exact, not float: many small amounts.
SELECT (persona.order_stats(t, 0.01, '2024-12-31')).revenue
FROM generate_series('2024-01-01'::timestamptz, '2024-01-01'::timestamptz + interval '9999 minutes', interval '1 minute') t;

-- Amounts that do not fit the integer fast path stay exact too.
SELECT (persona.order_stats(t, a, '2024-12-31')).revenue
FROM (VALUES ('2024-01-01'::timestamptz, 0.000001::numeric), ('2024-01-02', 123456789012345678901234.5),
             ('2024-01-03', -0.0000001), ('2024-01-04', 0.1)) v(t, a);

-- Empty input gives NULL; an all-NULL group gives orders = 0.
SELECT persona.order_stats(ordered_at, amount, '2024-02-01') IS NULL AS empty_is_null FROM o WHERE false;
SELECT (persona.order_stats(NULL::timestamptz, 1::numeric, '2024-02-01')).orders;

-- Days are calendar days in the session time zone.
SET TimeZone = 'Asia/Shanghai';
SELECT (s).purchase_days, (s).recency_days
FROM (SELECT persona.order_stats(t, 1, '2024-01-03 12:00+08') s
      FROM (VALUES ('2024-01-01 15:30+00'::timestamptz), ('2024-01-01 16:30+00')) v(t)) q;
SET TimeZone = 'UTC';
SELECT (s).purchase_days, (s).recency_days
FROM (SELECT persona.order_stats(t, 1, '2024-01-03 12:00+08') s
      FROM (VALUES ('2024-01-01 15:30+00'::timestamptz), ('2024-01-01 16:30+00')) v(t)) q;

-- The BTYD summary in days and weeks.
SELECT customer, (persona.btyd(s)).*, (persona.btyd(s, 'weeks')).t_cal AS t_cal_weeks
FROM (SELECT customer, persona.order_stats(ordered_at, amount, '2024-02-01') AS s
      FROM o GROUP BY customer) q
ORDER BY customer;

-- Bad input.
SELECT persona.order_stats(ordered_at, 'NaN'::numeric, '2024-02-01') FROM o;
SELECT persona.order_stats(ordered_at, 'Infinity'::numeric, '2024-02-01') FROM o;
SELECT persona.order_stats('infinity'::timestamptz, 1, '2024-02-01');
SELECT persona.order_stats(ordered_at, amount, NULL) FROM o;
SELECT persona.order_stats(ordered_at, amount, ordered_at) FROM o;
SELECT persona.btyd(persona.order_stats(ordered_at, amount, '2024-02-01'), 'months') FROM o;
DROP TABLE o;
