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

-- Customers keyed by other types: customer_key names the type (its value is
-- not read) and customer_id has it; every row equals the integer-keyed one.
CREATE TABLE cdnow_keys AS
SELECT 'C' || lpad(sample_id::text, 10, '0') AS code, ('c' || sample_id)::varchar(16) AS short_code,
       md5(sample_id::text)::uuid AS id, sample_id * 1.50 AS num, 'customer.' || sample_id || '@example.com' AS email,
       sample_id * 1e20 + 0.123456789 AS long_num, sample_id, ordered_on, amount
FROM cdnow;
CREATE TABLE by_int AS
SELECT customer_id AS sample_id, (first_at, last_at, orders, purchase_days, revenue, avg_amount, recency_days, tenure_days, mean_gap_days,
                                   gap_sd_days, repeat_orders, repeat_revenue, refunds, rfm, segment, lifecycle, habits)::text AS r
FROM persona.customer_profile('cdnow', '1998-06-30', customer_col => 'sample_id', time_col => 'ordered_on');
CREATE FUNCTION keyed(col text, key anyelement)
RETURNS TABLE (customer_id_type text, customers bigint, identical bigint) LANGUAGE plpgsql AS $f$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT pg_typeof(p.customer_id)::text, count(*),
               count(*) FILTER (WHERE b.r = (p.first_at, p.last_at, p.orders, p.purchase_days, p.revenue, p.avg_amount, p.recency_days,
                                             p.tenure_days, p.mean_gap_days, p.gap_sd_days, p.repeat_orders, p.repeat_revenue, p.refunds,
                                             p.rfm, p.segment, p.lifecycle, p.habits)::text)
        FROM persona.customer_profile('cdnow_keys', '1998-06-30', customer_key => $1, customer_col => %L, time_col => 'ordered_on') p
        JOIN (SELECT DISTINCT %I AS k, sample_id FROM cdnow_keys) m ON m.k = p.customer_id
        JOIN by_int b USING (sample_id) GROUP BY 1$q$, col, col) USING key;
END $f$;
SELECT * FROM keyed('code', NULL::text);
SELECT * FROM keyed('short_code', NULL::varchar);
SELECT * FROM keyed('short_code', NULL::text);      -- varchar is read as text
SELECT * FROM keyed('email', NULL::text);          -- longer than a key slot: kept by reference
SELECT * FROM keyed('id', NULL::uuid);
SELECT * FROM keyed('num', NULL::numeric);
SELECT * FROM keyed('long_num', NULL::numeric);
SELECT * FROM keyed('sample_id', NULL::integer);
SELECT * FROM keyed('sample_id', 0::bigint);         -- only the type counts
-- numeric keys are equal as numbers (3.0 = 3.00), whatever their scale
UPDATE cdnow_keys SET num = num::numeric(12, 1) WHERE extract(day FROM ordered_on)::int % 2 = 0;
SELECT count(DISTINCT num::text) AS spellings, count(DISTINCT num) AS numbers FROM cdnow_keys;
SELECT * FROM keyed('num', NULL::numeric);
-- a non-deterministic collation: keys equal in it are one customer
CREATE COLLATION case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE mixed_case (customer_id text COLLATE case_blind, ordered_at timestamptz, amount numeric);
INSERT INTO mixed_case VALUES ('Ann', '2024-01-01', 10), ('ANN', '2024-01-02', 20), ('ann', '2024-01-03', 30), ('Bob', '2024-01-01', 5);
SELECT lower(customer_id) AS customer, orders, revenue
FROM persona.customer_profile('mixed_case', '2024-02-01', customer_key => NULL::text) ORDER BY 1;
-- the states, by text key, are the integer-keyed states
SELECT count(*) AS customers, count(*) FILTER (WHERE s.stats_state = i.stats_state AND s.habits_state IS NOT DISTINCT FROM i.habits_state) AS identical
FROM persona.customer_states('cdnow_keys', '1998-07-01', 'UTC', customer_key => NULL::text, customer_col => 'code', time_col => 'ordered_on') s
JOIN (SELECT DISTINCT code, sample_id FROM cdnow_keys) m ON m.code = s.customer_id
JOIN persona.customer_states('cdnow', '1998-07-01', 'UTC', 'sample_id', 'ordered_on', 'amount') i ON i.customer_id = m.sample_id;
-- keys of the wrong type, or of a type without a hash function
SELECT count(*) FROM persona.customer_profile('cdnow_keys', '1998-06-30', customer_key => NULL::integer, customer_col => 'num', time_col => 'ordered_on');
SELECT count(*) FROM persona.customer_profile('cdnow_keys', '1998-06-30', customer_key => NULL::uuid, customer_col => 'code', time_col => 'ordered_on');
SELECT count(*) FROM persona.customer_profile('cdnow_keys', '1998-06-30', customer_key => NULL, customer_col => 'code', time_col => 'ordered_on');
CREATE TABLE by_point (customer_id point, ordered_at timestamptz, amount numeric);
SELECT count(*) FROM persona.customer_profile('by_point', '1998-06-30', customer_key => NULL::point);
SELECT count(*) FROM persona.customer_states('by_point', '1998-06-30', 'UTC', customer_key => NULL::point);
-- A domain key: only from a column of that domain (customer_id has the
-- domain's type, whose check its values must pass); a domain column with
-- its base type's key gives base-typed ids.
CREATE DOMAIN short_code AS text CHECK (length(value) < 3);
CREATE TABLE by_domain (customer_id short_code, code text, ordered_at timestamptz, amount numeric);
INSERT INTO by_domain VALUES ('ab', 'abcdef', '2024-01-01', 1), ('cd', 'cd', '2024-01-02', 2);
SELECT customer_id, pg_typeof(customer_id) AS type, orders
FROM persona.customer_profile('by_domain', '2024-12-31', customer_key => NULL::short_code) ORDER BY 1;
SELECT customer_id, pg_typeof(customer_id) AS type, orders
FROM persona.customer_profile('by_domain', '2024-12-31', customer_key => NULL::text) ORDER BY 1;
SELECT customer_id FROM persona.customer_profile('by_domain', '2024-12-31', customer_key => NULL::short_code, customer_col => 'code');
-- A composite key is skipped only when NULL as a whole, by both functions
CREATE TYPE pair AS (a int, b int);
CREATE TABLE by_pair (customer_id pair, ordered_at timestamptz, amount numeric);
INSERT INTO by_pair VALUES (ROW(1, NULL), '2024-01-01', 1), (ROW(1, 2), '2024-01-01', 1), (ROW(1, 2), '2024-01-03', 1), (NULL, '2024-01-01', 1);
SELECT customer_id, orders FROM persona.customer_profile('by_pair', '2024-12-31', customer_key => NULL::pair) ORDER BY 1;
SELECT customer_id FROM persona.customer_states('by_pair', '2025-01-01', 'UTC', customer_key => NULL::pair) ORDER BY 1;
DROP TABLE by_domain, by_pair;
DROP DOMAIN short_code;
DROP TYPE pair;
-- A key type whose every value hashes alike (a hash operator class for
-- point made here): keys still compare by the type's =, and customers
-- beyond work_mem that no split of the hash can part end in a clear error.
CREATE FUNCTION point_hash_alike(point) RETURNS integer IMMUTABLE LANGUAGE sql RETURN 0;
CREATE OPERATOR CLASS point_alike_ops DEFAULT FOR TYPE point USING hash AS
    OPERATOR 1 ~= (point, point), FUNCTION 1 point_hash_alike(point);
INSERT INTO by_point SELECT point(g % 40, g % 40 * 2), '2024-01-01'::timestamptz + g * interval '1 hour', g FROM generate_series(1, 400) g;
SELECT count(*) AS customers, sum(orders) AS orders, count(DISTINCT customer_id::text) AS distinct_keys
FROM persona.customer_profile('by_point', '2024-12-31', customer_key => NULL::point);
INSERT INTO by_point SELECT point(g, 0), '2024-01-01', 1 FROM generate_series(1000, 9000) g;
SET work_mem = '64kB';
SELECT count(*) FROM persona.customer_profile('by_point', '2024-12-31', customer_key => NULL::point);
RESET work_mem;
DROP TABLE cdnow_keys, by_int, mixed_case, by_point;
DROP OPERATOR CLASS point_alike_ops USING hash;
DROP OPERATOR FAMILY point_alike_ops USING hash;
DROP FUNCTION keyed(text, anyelement), point_hash_alike(point);
DROP COLLATION case_blind;

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
