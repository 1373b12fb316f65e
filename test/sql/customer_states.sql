-- customer_states: every customer's order_stats and habits states in one
-- scan, byte for byte what the profile builder's GROUP BY gives.

-- same(): the GROUP BY of profile_states_sql against customer_states over
-- the same relation, columns, zone and bound.  grouped / scanned count the
-- customers of each; same counts customers whose two states are equal
-- bytes; refund_only those without a habits state (only refunds).
CREATE FUNCTION same(rel regclass, until timestamptz, zone text, kc text DEFAULT 'customer_id',
                     tc text DEFAULT 'ordered_at', ac text DEFAULT 'amount')
RETURNS TABLE (grouped bigint, scanned bigint, same bigint, refund_only bigint)
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    SELECT CASE WHEN atttypid IN ('timestamp'::regtype, 'date'::regtype)
                THEN format('(%I::timestamp AT TIME ZONE %L)', tc, zone) ELSE format('%I', tc) END
    INTO t FROM pg_attribute WHERE attrelid = rel AND attname = tc;
    RETURN QUERY EXECUTE format($q$
        WITH g AS (SELECT %1$I::bigint AS k, persona.order_stats_state(%2$s, %3$I::numeric, %4$L) AS st,
                          persona.habits_state(%2$s, %4$L) FILTER (WHERE %3$I IS NULL OR %3$I >= 0) AS hb
                   FROM %5$s WHERE %1$I IS NOT NULL AND %2$s < %6$L::timestamptz GROUP BY %1$I),
             c AS (SELECT * FROM persona.customer_states(%5$L, %6$L, %4$L, %1$L, %7$L, %3$L))
        SELECT count(g.k), count(c.customer_id),
               count(*) FILTER (WHERE g.st = c.stats_state AND g.hb IS NOT DISTINCT FROM c.habits_state),
               count(*) FILTER (WHERE c.customer_id IS NOT NULL AND c.habits_state IS NULL)
        FROM g FULL JOIN c ON g.k = c.customer_id$q$, kc, t, ac, zone, rel, until, tc);
END $$;

-- Messy orders, deterministic: 300 customers over 2024 at all hours,
-- refunds, NULL amounts, NULL customers and times, amounts off the integer
-- path (more than 4 decimals, beyond bigint units), orders after the bound.
CREATE TABLE m (customer_id integer, ordered_at timestamptz, amount numeric);
INSERT INTO m
SELECT i % 300,
       timestamptz '2024-01-01 00:00+00' + (i * 7919 % 366) * interval '1 day' + (i * 104729 % 86400) * interval '1 second',
       CASE WHEN i % 17 = 0 THEN -(i % 50) - 0.5
            WHEN i % 23 = 0 THEN NULL
            WHEN i % 29 = 0 THEN 0
            WHEN i % 31 = 0 THEN 0.123456
            WHEN i % 37 = 0 THEN 1e15 + i
            ELSE round((i * 37 % 10000) / 100.0, 2) END
FROM generate_series(1, 20000) i;
INSERT INTO m VALUES
  (NULL, '2024-03-01 10:00+00', 5),          -- no customer: no row
  (301, NULL, 5),                              -- only a NULL time: no row (t < until is NULL)
  (302, '2024-03-01 10:00+00', -5),            -- only a refund: no habits state
  (302, '2024-04-01 10:00+00', -7.25),
  (303, '2025-06-01 10:00+00', 5),             -- only after the bound: no row
  (304, '2024-05-05 16:00+00', 5),             -- midnight in Shanghai (dates only)
  (304, '2024-06-01 16:00+00', NULL),
  (305, '2024-03-10 06:59:59+00', 1),          -- New York DST days, around the jumps
  (305, '2024-03-10 07:00:00+00', 2),
  (305, '2024-11-03 05:30:00+00', 3),
  (305, '2024-11-03 06:30:00+00', 4),
  (306, '2024-01-01 00:00+00', 1),             -- a refund after the last order moves last_day
  (306, '2024-02-01 00:00+00', -1),
  (307, '2024-12-31 23:59:59.999999+00', 2);   -- just before the bound
-- A heavy buyer: more orders on one weekday, hour and midnight than
-- 16-bit counters hold (Mondays at midnight in Shanghai: whole weeks of
-- hours, not days, which would follow the session's DST), and some Sundays.
INSERT INTO m SELECT 400, timestamptz '2024-01-07 16:00+00' + (i % 50) * interval '168 hours', 1 FROM generate_series(1, 70000) i;
INSERT INTO m SELECT 400, timestamptz '2024-01-07 03:00+00' + (i % 50) * interval '168 hours', 2 FROM generate_series(1, 70) i;
ANALYZE m;

SELECT * FROM same('m', '2025-01-01 00:00+00', 'Asia/Shanghai');
SELECT * FROM same('m', '2025-01-01 00:00+00', 'America/New_York');
SELECT * FROM same('m', '2024-07-01 00:00+00', 'Australia/Lord_Howe');
SELECT * FROM same('m', '2024-07-01 00:00+00', 'Asia/Kolkata');
SELECT * FROM same('m', 'infinity', 'UTC');
SELECT * FROM same('m', '-infinity', 'UTC');
-- A zone spelled another way gives the same states (the canonical name is stored).
SELECT count(*) AS equal FROM persona.customer_states('m', '2025-01-01', 'asia/shanghai') a
JOIN persona.customer_states('m', '2025-01-01', 'Asia/Shanghai') b USING (customer_id)
WHERE a.stats_state = b.stats_state AND a.habits_state IS NOT DISTINCT FROM b.habits_state;

-- What the states say for the special customers (400: counts past 65535).
SELECT s.customer_id, (os).orders, (os).refunds, (os).revenue, (os).purchase_days, (os).last_at,
       (h).orders AS habit_orders, (h).weekend_share, (h).favourite_weekday, (h).favourite_hour
FROM persona.customer_states('m', '2025-01-01 00:00+08', 'Asia/Shanghai') s
LEFT JOIN LATERAL persona.order_stats_of(s.stats_state, '2024-12-31') os ON true
LEFT JOIN LATERAL persona.habits_of(s.habits_state) h ON true
WHERE s.customer_id > 300 ORDER BY 1;
-- customer_profile counts habits in the same scan code: the same habits.
SELECT count(*) AS customers, count(*) FILTER (WHERE p.habits::text = persona.habits_of(s.habits_state)::text) AS same_habits
FROM persona.customer_profile('m', '2024-12-31', time_zone => 'Asia/Shanghai') p
JOIN persona.customer_states('m', '2025-01-01 00:00+08', 'Asia/Shanghai') s USING (customer_id)
WHERE s.habits_state IS NOT NULL;
-- The refund after the last order is in the state: an as_of before it is refused.
SELECT persona.order_stats_of(stats_state, '2024-01-15') FROM persona.customer_states('m', '2025-01-01', 'UTC')
WHERE customer_id = 306;

-- A zone whose clocks went back across midnight (America/Sitka in 1867,
-- a day back): the later order is on the earlier local day, and the
-- state's last day is still the latest day.
CREATE TABLE sitka (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO sitka VALUES (1, '1867-10-19 00:00+00', 1), (1, '1867-10-19 01:30+00', 2), (2, '1867-10-19 01:30+00', -1), (2, '1867-10-19 00:00+00', 1);
SELECT customer_id, ordered_at AT TIME ZONE 'UTC' AS utc, ordered_at AT TIME ZONE 'America/Sitka' AS local FROM sitka ORDER BY 1, 2;
SELECT * FROM same('sitka', 'infinity', 'America/Sitka');

-- All three integer key types, and keys beyond integer.
CREATE TABLE m2 AS SELECT (customer_id % 200)::smallint AS c, ordered_at, amount FROM m;
CREATE TABLE m8 AS SELECT customer_id * 10000000000 - 5000000000000 AS customer_id, ordered_at, amount FROM m;
SELECT * FROM same('m2', '2025-01-01', 'Asia/Shanghai', kc => 'c');
SELECT * FROM same('m8', '2025-01-01', 'Asia/Shanghai');
SELECT pg_typeof(customer_id), min(customer_id), max(customer_id) FROM persona.customer_states('m8', 'infinity', 'UTC') GROUP BY 1;

-- timestamp and date columns are local times in time_zone.
CREATE TABLE mt AS SELECT customer_id AS buyer, (ordered_at AT TIME ZONE 'America/New_York') AS placed, amount AS total FROM m;
CREATE TABLE md AS SELECT customer_id, (ordered_at AT TIME ZONE 'Asia/Shanghai')::date AS ordered_on, amount FROM m;
SELECT * FROM same('mt', '2024-11-03 12:00+00', 'America/New_York', 'buyer', 'placed', 'total');
SELECT * FROM same('mt', '2025-01-01', 'Asia/Shanghai', 'buyer', 'placed', 'total');
SELECT * FROM same('md', '2025-01-01', 'Asia/Shanghai', tc => 'ordered_on');
-- date-only customers: every order at local midnight, so the hour fields are NULL
SELECT count(*) AS customers, count(*) FILTER (WHERE (h).favourite_weekday IS NOT NULL AND (h).favourite_hour IS NULL) AS date_only
FROM persona.customer_states('md', '2025-01-01', 'Asia/Shanghai', time_col => 'ordered_on') s,
     LATERAL persona.habits_of(s.habits_state) h;

-- Views, and an empty table.
CREATE VIEW mv AS SELECT * FROM m WHERE customer_id < 100;
SELECT * FROM same('mv', '2025-01-01', 'Asia/Shanghai');
CREATE TABLE empty_orders (customer_id bigint, ordered_at timestamptz, amount numeric);
SELECT * FROM same('empty_orders', 'infinity', 'UTC');

-- The profile builder uses it for every hashable key (here text), and the
-- GROUP BY for a subset of customers; both give the same state rows.
CREATE TABLE text_orders AS SELECT 'c' || customer_id AS customer_id, ordered_at, amount FROM m;
SET persona.progress = off;
SET client_min_messages = error;   -- the fits' convergence warnings and drop_profile's notices are not tested here
SELECT count(*) AS relations FROM persona.create_profile('cs_int', 'm', as_of => '2024-12-31', time_zone => 'Asia/Shanghai', language => 'en');
SELECT count(*) AS relations FROM persona.create_profile('cs_text', 'text_orders', as_of => '2024-12-31', time_zone => 'Asia/Shanghai', language => 'en');
SELECT name, key_type, position('persona.customer_states(' IN persona.profile_states_sql(p, '''2024-12-31''::date', NULL)) > 0 AS one_scan,
       position('persona.customer_states(' IN persona.profile_states_sql(p, '''2024-12-31''::date', 'true')) > 0 AS subset_one_scan
FROM persona.profiles p WHERE name LIKE 'cs\_%' ORDER BY 1;
CREATE FUNCTION states_differ(profile text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    p persona.profiles := persona.profile_get(profile);
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) a FULL JOIN (%s) b ON a.k = b.k
                    WHERE a.k IS NULL OR b.k IS NULL OR a.st IS DISTINCT FROM b.st OR a.hb IS DISTINCT FROM b.hb',
                   persona.profile_states_sql(p, '''2024-12-31''::date', NULL),
                   persona.profile_states_sql(p, '''2024-12-31''::date', 'true')) INTO n;
    RETURN n;
END $$;
SELECT states_differ('cs_int') AS int_differ, states_differ('cs_text') AS text_differ;
-- the stored states are the builder's
SELECT count(*) AS customers, count(*) FILTER (WHERE s.stats_state = c.stats_state
                                               AND s.habits_state IS NOT DISTINCT FROM c.habits_state) AS same
FROM public.cs_int__state s
FULL JOIN persona.customer_states('m', '2025-01-01 00:00+08', 'Asia/Shanghai') c ON c.customer_id = s.customer_id;
SELECT persona.drop_profile('cs_int');
SELECT persona.drop_profile('cs_text');
RESET client_min_messages;

-- Errors.
SELECT * FROM persona.customer_states(NULL, 'infinity', 'UTC');
SELECT * FROM persona.customer_states('m', NULL, 'UTC');
SELECT * FROM persona.customer_states('m', 'infinity', NULL);
SELECT * FROM persona.customer_states('m', 'infinity', 'UTC', amount_col => NULL);
SELECT * FROM persona.customer_states('text_orders', 'infinity', 'UTC');
CREATE TABLE numeric_orders AS SELECT customer_id::numeric AS customer_id, ordered_at, amount FROM m;
SELECT * FROM persona.customer_states('numeric_orders', 'infinity', 'UTC');
SELECT * FROM persona.customer_states('m', 'infinity', 'UTC', customer_col => 'buyer');
SELECT * FROM persona.customer_states('m', 'infinity', 'UTC', time_col => 'placed');
SELECT * FROM persona.customer_states('m', 'infinity', 'UTC', amount_col => 'total');
SELECT * FROM persona.customer_states('m', 'infinity', 'Mars/Olympus');
SELECT * FROM persona.customer_states('m', 'infinity', 'EST');
SELECT * FROM persona.customer_states(999999::oid::regclass, 'infinity', 'UTC');
CREATE SEQUENCE cs_seq;
SELECT * FROM persona.customer_states('cs_seq', 'infinity', 'UTC');
-- bad rows: the aggregates' own errors
CREATE TABLE bad_orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO bad_orders VALUES (1, '2024-01-01', 'NaN');
SELECT * FROM persona.customer_states('bad_orders', 'infinity', 'UTC');
SELECT persona.order_stats_state(ordered_at, amount, 'UTC') FROM bad_orders;
UPDATE bad_orders SET ordered_at = '-infinity', amount = 1;
SELECT * FROM persona.customer_states('bad_orders', 'infinity', 'UTC');
SELECT persona.order_stats_state(ordered_at, amount, 'UTC') FROM bad_orders;
-- rights: the caller's, checked before anything is read
CREATE ROLE persona_cs_reader;
SET ROLE persona_cs_reader;
SELECT * FROM persona.customer_states('m', 'infinity', 'UTC');
RESET ROLE;
GRANT SELECT (customer_id, ordered_at) ON m TO persona_cs_reader;
SET ROLE persona_cs_reader;
SELECT * FROM persona.customer_states('m', 'infinity', 'UTC');
RESET ROLE;
REVOKE ALL ON m FROM persona_cs_reader;
DROP ROLE persona_cs_reader;

-- Catalog: STABLE, PARALLEL RESTRICTED (it reads a relation by name), not strict.
SELECT p.oid::regprocedure, p.provolatile, p.proparallel, p.proisstrict, p.proretset
FROM pg_proc p WHERE p.proname = 'customer_states' AND p.pronamespace = 'persona'::regnamespace;

DROP FUNCTION same(regclass, timestamptz, text, text, text, text), states_differ(text);
DROP VIEW mv;
DROP TABLE m, sitka, m2, m8, mt, md, empty_orders, text_orders, numeric_orders, bad_orders;
DROP SEQUENCE cs_seq;
