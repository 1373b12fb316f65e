-- data_quality's one-pass scan (integer customers and order ids, amounts
-- of at most 4 decimals below 1e12, within work_mem) against its general
-- query, which a view with text customers and order ids forces: the same
-- counts and shares on data made to hit the edges of every check.
SET TimeZone = 'UTC';
SELECT setseed(0.4242);
CREATE TABLE fq (order_no bigint, customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO fq
SELECT CASE WHEN random() < 0.05 THEN NULL ELSE (random() * 2500)::bigint END,
       CASE WHEN random() < 0.03 THEN NULL ELSE 1 + (random() * 400)::int END,
       CASE k % 10
         WHEN 0 THEN '2024-01-01'::timestamptz + random() * interval '200 days'        -- microseconds
         WHEN 1 THEN date_trunc('second', '2024-01-01'::timestamptz + random() * interval '200 days')
         WHEN 2 THEN date_trunc('day', '2024-01-01'::timestamptz + random() * interval '200 days')   -- UTC midnight
         WHEN 3 THEN date_trunc('day', '2024-01-01'::timestamptz + random() * interval '200 days') + interval '16 hours'  -- Shanghai midnight
         WHEN 4 THEN '2024-05-31 12:00+00'::timestamptz + random() * interval '2 days'  -- around as_of's day end
         WHEN 5 THEN date_trunc('hour', '2024-05-31 12:00+00'::timestamptz + random() * interval '2 days')
         WHEN 6 THEN CASE WHEN random() < 0.3 THEN NULL WHEN random() < 0.5 THEN 'infinity' ELSE '-infinity'::timestamptz END
         ELSE '2023-06-01'::timestamptz + random() * interval '400 days'
       END,
       CASE k % 13
         WHEN 0 THEN NULL
         WHEN 1 THEN 0
         WHEN 2 THEN -round((random() * 50)::numeric, 2)
         WHEN 3 THEN (ARRAY['NaN', 'Infinity', '-Infinity'])[1 + (random() * 2)::int]::numeric
         WHEN 4 THEN round((random() * 100)::numeric, 0)
         WHEN 5 THEN round((random() * 100)::numeric, 4)
         WHEN 6 THEN round((random() * 100)::numeric, 1)::numeric(10, 3)     -- trailing zeros
         WHEN 7 THEN round(exp(3 + 2 * random())::numeric, 2) * 100           -- outliers
         ELSE round(exp(3 + random())::numeric, 2)
       END
FROM generate_series(1, 3000) k;
-- exact duplicates of some rows, NULLs and all
INSERT INTO fq SELECT * FROM fq WHERE random() < 0.02;
CREATE VIEW fq_text AS
  SELECT order_no::text AS order_no, customer_id::text AS customer_id, ordered_at, amount FROM fq;
-- seven copies of each row: more than 64kB of amounts
CREATE TABLE fq_many AS SELECT fq.* FROM fq, generate_series(1, 7);
CREATE VIEW fq_many_text AS
  SELECT order_no::text AS order_no, customer_id::text AS customer_id, ordered_at, amount FROM fq_many;

-- Which path runs (DEBUG1): the table takes the one pass, the view the
-- general query.
SET client_min_messages = debug1;
SELECT count(*) FROM persona.data_quality('fq', as_of => '2024-06-01');
SELECT count(*) FROM persona.data_quality('fq_text', as_of => '2024-06-01');
SET work_mem = '64kB';
SELECT count(*) FROM persona.data_quality('fq_many', as_of => '2024-06-01');
RESET work_mem;
RESET client_min_messages;

-- The full answer once (every check has rows), then both paths compared
-- under every zone, as_of and duplicate rule.
SELECT check_name, rows, round(share::numeric, 6) AS share
FROM persona.data_quality('fq', as_of => '2024-06-01 12:00');

CREATE FUNCTION dq_rows(rel regclass, zone text, as_of timestamptz, ord text)
RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(check_name || '=' || coalesce(rows::text, 'NULL') || '/' || coalesce(share::text, 'NULL'), ' ' ORDER BY check_name)
  FROM persona.data_quality(rel, order_col => ord, time_zone => zone, as_of => as_of) $$;
SELECT zone, as_of, ord,
       dq_rows('fq', zone, as_of, ord) = dq_rows('fq_text', zone, as_of, ord) AS same
FROM (VALUES (NULL), ('Asia/Shanghai'), ('America/New_York'), ('<+99>-99'), ('PST')) z(zone),
     (VALUES (NULL::timestamptz), ('2024-06-01 12:00+00'), ('2024-06-01 23:30+00'), ('infinity'), ('-infinity')) a(as_of),
     (VALUES (NULL), ('order_no')) o(ord)
ORDER BY 1, 2, 3;
-- The session zone instead of time_zone.
SET TimeZone = 'Asia/Kolkata';
SELECT dq_rows('fq', NULL, '2024-06-01', NULL) = dq_rows('fq_text', NULL, '2024-06-01', NULL) AS same_in_session_zone;
SET TimeZone = 'UTC';
-- Over work_mem the one pass gives way to the general query: same answer.
SET work_mem = '64kB';
SELECT dq_rows('fq_many', 'Asia/Shanghai', '2024-06-01', NULL) = dq_rows('fq_many_text', 'Asia/Shanghai', '2024-06-01', NULL) AS same_over_work_mem,
       dq_rows('fq_many', NULL, '2024-06-01', 'order_no') = dq_rows('fq_many_text', NULL, '2024-06-01', 'order_no') AS same_over_work_mem_by_order;
RESET work_mem;
-- and within it, the one pass on the same rows
SELECT dq_rows('fq_many', 'Asia/Shanghai', '2024-06-01', NULL) = dq_rows('fq_many_text', 'Asia/Shanghai', '2024-06-01', NULL) AS same_many,
       dq_rows('fq_many', NULL, '2024-06-01', 'order_no') = dq_rows('fq_many_text', NULL, '2024-06-01', 'order_no') AS same_many_by_order;

-- Ties at the cuts (not beyond: the rules are strict).  Nine 0.00, one
-- 0.01 and one 0.10: mean 0.01, sd 0.03, and 0.10 is exactly 3 sd away.
CREATE TABLE fq_tie (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO fq_tie SELECT i, '2024-01-01 10:00', 0.00 FROM generate_series(1, 9) i;
INSERT INTO fq_tie VALUES (10, '2024-01-01 10:00', 0.01), (11, '2024-01-01 10:00', 0.10);
SELECT avg(amount), stddev_samp(amount), avg(amount) + 3 * stddev_samp(amount) AS cut FROM fq_tie;
SELECT check_name, rows FROM persona.data_quality('fq_tie', as_of => '2024-06-01') WHERE check_name = 'amount_beyond_3sd';
-- 0.1001 is beyond.
UPDATE fq_tie SET amount = 0.1001 WHERE amount = 0.10;
SELECT check_name, rows FROM persona.data_quality('fq_tie', as_of => '2024-06-01') WHERE check_name = 'amount_beyond_3sd';
-- The MAD cut: 9 9 10 10 10 11 11 and x: median 10, MAD 1, cut 4.4478;
-- x = 14.4478 and 5.5522 are on it, 14.4479 is beyond.
CREATE TABLE fq_mad (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO fq_mad VALUES (1, '2024-01-01 10:00', 9), (2, '2024-01-01 10:00', 9), (3, '2024-01-01 10:00', 10),
  (4, '2024-01-01 10:00', 10), (5, '2024-01-01 10:00', 10), (6, '2024-01-01 10:00', 11), (7, '2024-01-01 10:00', 11);
INSERT INTO fq_mad VALUES (8, '2024-01-01 10:00', 14.4478);
SELECT rows FROM persona.data_quality('fq_mad', as_of => '2024-06-01') WHERE check_name = 'amount_beyond_mad';
UPDATE fq_mad SET amount = 5.5522 WHERE customer_id = 8;
SELECT rows FROM persona.data_quality('fq_mad', as_of => '2024-06-01') WHERE check_name = 'amount_beyond_mad';
UPDATE fq_mad SET amount = 14.4479 WHERE customer_id = 8;
SELECT rows FROM persona.data_quality('fq_mad', as_of => '2024-06-01') WHERE check_name = 'amount_beyond_mad';
-- An even count: 1 2 3 10 has median 2.5 (between the middle pair).
CREATE TABLE fq_even (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO fq_even VALUES (1, '2024-01-01 10:00', 1), (2, '2024-01-01 10:00', 2), (3, '2024-01-01 10:00', 3), (4, '2024-01-01 10:00', 10);
CREATE VIEW fq_even_text AS SELECT customer_id::text AS customer_id, ordered_at, amount FROM fq_even;
SELECT dq_rows('fq_even', NULL, '2024-06-01', NULL) AS fast, dq_rows('fq_even', NULL, '2024-06-01', NULL) = dq_rows('fq_even_text', NULL, '2024-06-01', NULL) AS same;

-- Amounts beyond the integer path (five decimals; 1e12 and more): the
-- general query, same answers.  Amounts just below 1e12: the one pass.
CREATE TABLE fq_wide (order_no int, customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO fq_wide SELECT i, i % 7, '2024-01-01'::timestamptz + i * interval '1 hour', 10 + i FROM generate_series(1, 50) i;
INSERT INTO fq_wide VALUES (51, 1, '2024-02-01', 1.00001), (52, 2, '2024-02-01', 1e13);
CREATE VIEW fq_wide_text AS SELECT order_no, customer_id::text AS customer_id, ordered_at, amount FROM fq_wide;
SET client_min_messages = debug1;
SELECT count(*) FROM persona.data_quality('fq_wide', as_of => '2024-06-01');
RESET client_min_messages;
SELECT dq_rows('fq_wide', NULL, '2024-06-01', 'order_no') = dq_rows('fq_wide_text', NULL, '2024-06-01', 'order_no') AS same_wide;
DELETE FROM fq_wide WHERE order_no > 50;
INSERT INTO fq_wide SELECT 100 + i, i, '2024-03-01', 999999999999.99 FROM generate_series(1, 300) i;
SELECT dq_rows('fq_wide', NULL, '2024-06-01', NULL) = dq_rows('fq_wide_text', NULL, '2024-06-01', NULL) AS same_huge;

-- smallint and bigint customers and order ids, a timestamp column.
CREATE TABLE fq_types (order_no smallint, customer_id bigint, ordered_at timestamp, amount numeric(8, 2));
INSERT INTO fq_types SELECT (i % 40)::smallint, (i % 9) * 10000000000, '2024-01-01'::timestamp + i * interval '7 hours', i % 17 FROM generate_series(1, 100) i;
CREATE VIEW fq_types_text AS SELECT order_no::text AS order_no, customer_id::text AS customer_id, ordered_at, amount FROM fq_types;
SELECT dq_rows('fq_types', NULL, '2024-06-01', 'order_no') = dq_rows('fq_types_text', NULL, '2024-06-01', 'order_no') AS same_by_order,
       dq_rows('fq_types', 'Asia/Shanghai', '2024-06-01', NULL) = dq_rows('fq_types_text', 'Asia/Shanghai', '2024-06-01', NULL) AS same_by_row;

-- Duplicate rows counted exactly among the customers whose rows repeat:
-- customer 0, no customer, a customer with rows equal but for the
-- amount's scale (2.5 = 2.50), and customer 5 (3 and 4 differ; its two
-- rows without time and amount are equal).
CREATE TABLE fq_dup (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO fq_dup VALUES (0, '2024-01-01 10:00', 1), (0, '2024-01-01 10:00', 1), (0, '2024-01-01 10:00', 1),
  (NULL, '2024-01-02 10:00', 2), (NULL, '2024-01-02 10:00', 2), (7, '2024-01-03 10:00', 2.5), (7, '2024-01-03 10:00', 2.50),
  (5, '2024-01-03 10:00', 3), (5, '2024-01-03 10:00', 4), (5, NULL, NULL), (5, NULL, NULL);
CREATE VIEW fq_dup_text AS SELECT customer_id::text AS customer_id, ordered_at, amount FROM fq_dup;
-- 0: 2, NULL: 1, 7: 1, 5: 1 (the NULL rows) = 5
SELECT (SELECT rows FROM persona.data_quality('fq_dup') WHERE check_name = 'duplicate_orders') AS duplicates,
       (SELECT rows FROM persona.data_quality('fq_dup_text') WHERE check_name = 'duplicate_orders') AS general_query;
