-- data_quality: every check on a small crafted orders table, counted by hand
-- (the comments say which rows each check counts).
SET TimeZone = 'UTC';
CREATE TABLE dq (order_no int, customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO dq VALUES
  -- customer 1: three orders, two of them the same row (a duplicate), one at midnight
  (1, 1, '2024-01-01 10:00', 20), (2, 1, '2024-01-02 00:00', 22), (2, 1, '2024-01-02 00:00', 22),
  -- customer 2: one order, at midnight: a date-only customer and a one-time buyer
  (3, 2, '2024-01-03 00:00', 24),
  -- no customer
  (4, NULL, '2024-01-04 12:00', 26),
  -- customer 3: no time (not an order), and an order without an amount: one-time buyer
  (5, 3, NULL, 28), (6, 3, '2024-01-05 09:00', NULL),
  -- customer 4: a zero amount (an order) and a refund (not an order): one-time buyer
  (7, 4, '2024-01-06 09:00', 0), (8, 4, '2024-01-07 09:00', -15),
  -- customer 5: only orders after as_of (2024-06-01): no order at all
  (9, 5, '2024-06-02 00:30', 30), (10, 5, '2030-01-01 09:00', 18),
  -- customer 6: an outlier amount, later on the day of as_of (still counted): one-time buyer
  (11, 6, '2024-06-01 23:00', 900),
  -- customer 7: an infinite time and a NaN amount (both errors for the profiles)
  (12, 7, 'infinity', 21), (13, 7, '2024-01-09 09:00', 'NaN'),
  -- customer 8: two orders, both at midnight: date-only; 19, 23 and 25 keep the amounts spread
  (14, 8, '2024-02-01 00:00', 19), (15, 8, '2024-02-02 00:00', 23), (16, 8, '2024-02-02 09:00', -1),
  (17, 9, '2024-02-03 08:00', 25), (17, 9, '2024-02-04 08:00', 25);
-- 19 rows; 9 customers, 7 of them with an order (1 2 3 4 6 8 9; 5 has only
-- future orders, 7 only bad rows).  Finite amounts >= 0 (the outlier checks,
-- whatever else the row has): 20 22 22 24 26 28 0 30 18 900 21 19 23 25 25
-- (15 values).  mean 1203/15 = 80.2, sample sd 226.9: only 900 is beyond
-- 3 sd (819.8 from the mean > 680.7).
-- median 23; deviations 3 1 1 1 3 5 23 7 5 877 2 4 0 2 2: MAD 3, 3 * 1.4826 * 3 = 13.34:
-- 0 (23 off) and 900 are beyond.
SELECT round(avg(amount), 2) AS mean, round(stddev_samp(amount), 1) AS sd,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS median
FROM dq WHERE amount >= 0 AND amount <> 'NaN';

SELECT * FROM persona.data_quality('dq', as_of => '2024-06-01 12:00', customer_col => 'customer_id');
-- Duplicates by order number: 2 and 17 are repeated (17's rows differ, so
-- only the order number finds it).
SELECT check_name, rows, share FROM persona.data_quality('dq', order_col => 'order_no', as_of => '2024-06-01 12:00')
WHERE check_name IN ('orders', 'duplicate_orders');

-- NULL order numbers are not duplicates of each other; without order_col,
-- rows equal but for NULLs in the same places are.
CREATE TABLE dq_nulls (order_no int, customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO dq_nulls VALUES (NULL, 1, '2024-01-01 10:00', NULL), (NULL, 1, '2024-01-01 10:00', NULL), (1, 2, NULL, 5);
SELECT (SELECT rows FROM persona.data_quality('dq_nulls', order_col => 'order_no') WHERE check_name = 'duplicate_orders') AS by_order_no,
       (SELECT rows FROM persona.data_quality('dq_nulls') WHERE check_name = 'duplicate_orders') AS by_row;

-- Midnight and the as_of day in the shop's zone: in Asia/Shanghai (UTC+8)
-- the UTC midnights are 08:00, 2024-02-03 16:00 UTC would be midnight, and
-- 2024-06-01 23:00 UTC is already 2024-06-02 there (after as_of).
INSERT INTO dq VALUES (18, 10, '2024-02-03 16:00', 27);
SELECT check_name, rows FROM persona.data_quality('dq', as_of => '2024-06-01 12:00', time_zone => 'Asia/Shanghai')
WHERE check_name IN ('future_time', 'date_only_orders', 'date_only_customers', 'one_time_buyers');
SET TimeZone = 'Asia/Shanghai';
SELECT check_name, rows FROM persona.data_quality('dq', as_of => '2024-06-01 12:00+00')
WHERE check_name IN ('future_time', 'date_only_orders', 'date_only_customers', 'one_time_buyers');
SET TimeZone = 'UTC';

-- Chinese labels, and persona.language as the default.
SELECT check_name, label, treatment FROM persona.data_quality('dq', language => 'zh') WHERE check_name IN ('orders', 'negative_amount', 'one_time_buyers');
SET persona.language = zh;
SELECT label FROM persona.data_quality('dq') WHERE check_name = 'duplicate_orders';
SELECT label FROM persona.data_quality('dq', language => 'en') WHERE check_name = 'duplicate_orders';
RESET persona.language;

-- Without as_of: now(), so the 2030 order is in the future.
SELECT rows FROM persona.data_quality('dq') WHERE check_name = 'future_time';

-- An empty table: zero rows, no shares.
CREATE TABLE dq_empty (customer_id bigint, ordered_at timestamptz, amount numeric);
SELECT check_name, rows, share FROM persona.data_quality('dq_empty');

-- Most amounts equal: the MAD is 0 and the MAD rule is undefined (NULL),
-- while the 3-sd rule still finds the 1000.
CREATE TABLE dq_flat (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO dq_flat SELECT i, '2024-01-01 10:00', 10 FROM generate_series(1, 20) i;
INSERT INTO dq_flat VALUES (21, '2024-01-01 10:00', 1000);
SELECT check_name, rows, share FROM persona.data_quality('dq_flat', as_of => '2024-06-01')
WHERE check_name LIKE 'amount%';
-- All amounts equal: nothing is beyond either.
DELETE FROM dq_flat WHERE amount = 1000;
SELECT check_name, rows, share FROM persona.data_quality('dq_flat', as_of => '2024-06-01')
WHERE check_name LIKE 'amount%';

-- Other column types: text customers, timestamp and date times, integer,
-- float and money amounts; column names that need quoting; a view.
-- Column names are taken as they are, not parsed as SQL identifiers:
-- '"Customer"' names a column with the quotes in its name.
CREATE TABLE "Odd Orders" ("Customer" text, "When" timestamp, day date, "Amount" float8, cents int, paid money);
INSERT INTO "Odd Orders" VALUES ('a', '2024-01-01 00:00', '2024-01-01', 'NaN', 100, 1), ('a', '2024-01-02 10:00', '2024-01-02', 5, 0, 2),
                                ('b', '2024-01-03 00:00', '2024-01-03', '-Infinity', -5, 3);
SELECT check_name, rows FROM persona.data_quality('"Odd Orders"', '"Customer"', 'When', 'Amount');
SELECT check_name, rows FROM persona.data_quality('"Odd Orders"', 'Customer', 'When', 'Amount', as_of => '2024-06-01')
WHERE rows > 0;
SELECT check_name, rows FROM persona.data_quality('"Odd Orders"', 'Customer', 'day', 'cents', as_of => '2024-06-01')
WHERE rows > 0;
SELECT check_name, rows FROM persona.data_quality('"Odd Orders"', 'Customer', 'day', 'paid', as_of => '2024-06-01')
WHERE check_name IN ('orders', 'date_only_customers');
CREATE VIEW dq_v AS SELECT * FROM dq WHERE customer_id < 3;
SELECT check_name, rows FROM persona.data_quality('dq_v', as_of => '2024-06-01') WHERE check_name IN ('orders', 'duplicate_orders');

-- The counts agree with plain SQL over the same rows.
SELECT (SELECT rows FROM persona.data_quality('dq', as_of => '2024-06-01 12:00') WHERE check_name = 'one_time_buyers')
     = (SELECT count(*) FROM (SELECT customer_id FROM dq
                              WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL AND isfinite(ordered_at)
                                AND ordered_at::date <= '2024-06-01' AND (amount IS NULL OR (amount >= 0 AND amount <> 'NaN'))
                              GROUP BY customer_id HAVING count(*) = 1) x) AS one_time_agrees,
       (SELECT rows FROM persona.data_quality('dq', as_of => '2024-06-01 12:00') WHERE check_name = 'duplicate_orders')
     = (SELECT count(*) - count(DISTINCT (customer_id, ordered_at, amount)) FROM dq) AS duplicates_agree;

-- The catalog: stable, parallel restricted (it reads a table by name).
SELECT provolatile, proparallel, proisstrict FROM pg_proc WHERE proname = 'data_quality';
