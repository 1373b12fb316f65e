-- Time zones and languages as values: the overloads that take them give the
-- same answer whatever the session TimeZone (JDBC sets it from the JVM,
-- postgres_fdw forces GMT); the session-zone originals do not.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Customer 1 around New York's spring-forward day (2025-03-09), customer 2
-- around its fall-back day (2025-11-02: 01:30 happens twice), customer 3
-- with dates only (midnight in Shanghai), customer 4 with a refund and a
-- NULL amount.
CREATE TABLE tz_orders (customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO tz_orders VALUES
  (1, '2025-03-08 23:30-05', 10), (1, '2025-03-09 03:30-04', 20), (1, '2025-03-10 00:30-04', 30),
  (2, '2025-11-01 23:59-04', 5), (2, '2025-11-02 01:30-04', 6), (2, '2025-11-02 01:30-05', 7),
  (3, '2025-01-06 00:00+08', 1), (3, '2025-01-08 00:00+08', 2), (3, '2025-01-11 00:00+08', 3),
  (4, '2025-02-01 09:00+00', 50), (4, '2025-02-03 21:00+00', -20), (4, '2025-02-04 02:00+00', NULL);

-- What each reading gives, by session TimeZone.  Rows are compared as text
-- with their timestamps as epochs (timestamptz output follows the session).
CREATE TABLE seen (session text, what text, val text);
CREATE FUNCTION pg_temp.t(r anyelement) RETURNS text LANGUAGE sql AS $$
  SELECT (to_jsonb(r) - 'first_at' - 'last_at')::text || ' ' || coalesce(extract(epoch FROM (to_jsonb(r) ->> 'first_at')::timestamptz)::text, '-')
         || ' ' || coalesce(extract(epoch FROM (to_jsonb(r) ->> 'last_at')::timestamptz)::text, '-') $$;
CREATE FUNCTION pg_temp.observe() RETURNS void LANGUAGE sql AS $$
  INSERT INTO seen
  SELECT current_setting('TimeZone'), 'order_stats zone ' || z || ' c' || customer_id,
         pg_temp.t(persona.order_stats(ordered_at, amount, '2025-12-31'::timestamp AT TIME ZONE z, z))
  FROM tz_orders, unnest('{America/New_York,UTC,Asia/Shanghai}'::text[]) z GROUP BY z, customer_id
  UNION ALL
  SELECT current_setting('TimeZone'), 'habits zone ' || z || ' c' || customer_id, persona.habits(ordered_at, z)::text
  FROM tz_orders, unnest('{America/New_York,UTC,Asia/Shanghai}'::text[]) z GROUP BY z, customer_id
  UNION ALL
  SELECT current_setting('TimeZone'), 'daypart zone ' || z, string_agg(persona.daypart_of(ordered_at, z)::text, ',' ORDER BY customer_id, ordered_at)
  FROM tz_orders, unnest('{America/New_York,UTC,Asia/Shanghai}'::text[]) z GROUP BY z
  UNION ALL
  SELECT current_setting('TimeZone'), 'profile zone ' || z, string_agg(pg_temp.t(p), ' | ' ORDER BY customer_id)
  FROM unnest('{America/New_York,UTC,Asia/Shanghai}'::text[]) z,
       persona.customer_profile('tz_orders', '2025-12-31', bins => 2, time_zone => z, language => 'zh') p
  GROUP BY z
  UNION ALL
  SELECT current_setting('TimeZone'), 'label zh', string_agg(persona.label(d, 'zh'), ',' ORDER BY d)
  FROM unnest(enum_range(NULL::persona.daypart)) d
  UNION ALL
  SELECT current_setting('TimeZone'), 'segment zh', persona.rfm_segment('515', 'standard', 'zh')
  -- the session-zone originals
  UNION ALL
  SELECT current_setting('TimeZone'), 'session order_stats c' || customer_id,
         pg_temp.t(persona.order_stats(ordered_at, amount, '2025-12-31 12:00+00'))
  FROM tz_orders GROUP BY customer_id
  UNION ALL
  SELECT current_setting('TimeZone'), 'session habits c' || customer_id, persona.habits(ordered_at)::text
  FROM tz_orders GROUP BY customer_id
  UNION ALL
  SELECT current_setting('TimeZone'), 'session daypart', string_agg(persona.daypart_of(ordered_at)::text, ',' ORDER BY customer_id, ordered_at)
  FROM tz_orders
$$;
SET TimeZone = 'UTC';
SELECT pg_temp.observe();
SET TimeZone = 'Asia/Shanghai';
SET persona.language = 'en';
SELECT pg_temp.observe();
SET TimeZone = 'America/New_York';
SET persona.language = 'zh';
SELECT pg_temp.observe();
RESET persona.language;
-- One answer per value-zone reading; the session-zone originals differ by session.
SELECT what, count(DISTINCT val) AS answers, count(*) AS sessions
FROM seen GROUP BY what ORDER BY what LIKE 'session%', what;

-- The answers themselves (read in UTC; the same in every session, above).
SET TimeZone = 'UTC';
-- As of the end of 2025-03-31 in each zone.  c1 in New York: three local
-- days (Sat 23:30, Sun 03:30 EDT, Mon 00:30); in UTC and Shanghai the first
-- two orders fall on one day.  c2 (November) has no orders yet.
SELECT z, customer_id, (s).orders, (s).purchase_days, (s).recency_days, (s).tenure_days, (s).mean_gap_days, (s).revenue, (s).refunds
FROM (SELECT z, customer_id, persona.order_stats(ordered_at, amount, '2025-03-31'::timestamp AT TIME ZONE z, z) s
      FROM tz_orders, unnest('{America/New_York,UTC,Asia/Shanghai}'::text[]) z GROUP BY z, customer_id) q
ORDER BY customer_id, z;
-- Habits: c2's two 01:30s are both night in New York (hour 1), but 05:30 and
-- 06:30 UTC (morning); c3 has dates only in Shanghai: no hours, weekdays kept.
SELECT z, customer_id, (h).*
FROM (SELECT z, customer_id, persona.habits(ordered_at, z) h
      FROM tz_orders, unnest('{America/New_York,UTC,Asia/Shanghai}'::text[]) z GROUP BY z, customer_id) q
ORDER BY customer_id, z;
SELECT customer_id, ordered_at, persona.daypart_of(ordered_at, 'America/New_York') AS new_york,
       persona.daypart_of(ordered_at, 'UTC') AS utc, persona.daypart_of(ordered_at, 'Asia/Shanghai') AS shanghai
FROM tz_orders ORDER BY customer_id, ordered_at;

-- The span cache is per zone: rows alternating between zones, across years
-- and DST transitions, agree with AT TIME ZONE.
SELECT count(*) AS instants,
       count(*) FILTER (WHERE persona.daypart_of(t, z)::text <> CASE
           WHEN extract(hour FROM t AT TIME ZONE z) BETWEEN 5 AND 10 THEN 'morning'
           WHEN extract(hour FROM t AT TIME ZONE z) BETWEEN 11 AND 13 THEN 'lunch'
           WHEN extract(hour FROM t AT TIME ZONE z) BETWEEN 14 AND 16 THEN 'afternoon'
           WHEN extract(hour FROM t AT TIME ZONE z) BETWEEN 17 AND 20 THEN 'evening'
           ELSE 'night' END) AS wrong_daypart
FROM (SELECT t, (ARRAY['America/New_York', 'Asia/Shanghai', 'Europe/London', 'Australia/Sydney', 'UTC'])[1 + i % 5] AS z
      FROM (SELECT '2023-01-01 00:17+00'::timestamptz + i * interval '37 minutes' AS t, i
            FROM generate_series(0, 60000) i) g) x;
SELECT z, count(*) AS groups,
       count(*) FILTER (WHERE (s).purchase_days <> days OR (s).tenure_days <> tenure OR (s).recency_days <> recency) AS wrong_days
FROM (SELECT z, g, persona.order_stats(t, 1, '2026-01-01 00:00+00', z) s,
             count(DISTINCT (t AT TIME ZONE z)::date) AS days,
             ('2026-01-01 00:00+00'::timestamptz AT TIME ZONE z)::date - min((t AT TIME ZONE z)::date) AS tenure,
             ('2026-01-01 00:00+00'::timestamptz AT TIME ZONE z)::date - max((t AT TIME ZONE z)::date) AS recency
      FROM (SELECT '2023-03-01 00:00+00'::timestamptz + (i * 7919 % 20000) * interval '53 minutes' AS t, i % 50 AS g
            FROM generate_series(1, 20000) i) o,
           unnest('{America/New_York,Asia/Shanghai,Europe/London,Australia/Sydney}'::text[]) z
      GROUP BY z, g) q
GROUP BY z ORDER BY z;

-- Each value-zone overload equals its session-zone original run with the
-- session TimeZone set to that zone (generated orders over DST changes).
CREATE TABLE gen_orders AS
SELECT i % 23 AS customer_id, '2024-02-20 00:00+00'::timestamptz + ((i * 7919) % 9000) * interval '47 minutes' AS ordered_at,
       CASE WHEN i % 11 = 0 THEN -5 WHEN i % 13 = 0 THEN NULL ELSE (i % 97) + 0.25 END AS amount
FROM generate_series(1, 3000) i;
INSERT INTO gen_orders SELECT 99, d::timestamp AT TIME ZONE z, 1
FROM generate_series('2024-03-01'::date, '2024-04-30', '3 days') d, unnest('{America/New_York}'::text[]) z;
CREATE FUNCTION pg_temp.as_session(z text) RETURNS TABLE (zone text, what text, groups bigint, same bigint) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('TimeZone', z, true);
  RETURN QUERY
  SELECT z, 'order_stats', count(*), count(*) FILTER (WHERE a::text = b::text)
  FROM (SELECT customer_id, persona.order_stats(ordered_at, amount, '2024-12-31 18:00+00', z) a,
               persona.order_stats(ordered_at, amount, '2024-12-31 18:00+00') b FROM gen_orders GROUP BY customer_id) q;
  RETURN QUERY
  SELECT z, 'habits', count(*), count(*) FILTER (WHERE a::text = b::text)
  FROM (SELECT customer_id, persona.habits(ordered_at, z) a, persona.habits(ordered_at) b FROM gen_orders GROUP BY customer_id) q;
  RETURN QUERY
  SELECT z, 'daypart_of', count(*), count(*) FILTER (WHERE persona.daypart_of(ordered_at, z) = persona.daypart_of(ordered_at)) FROM gen_orders;
  RETURN QUERY
  SELECT z, 'lifecycle_stage(date)', count(*), count(*) FILTER (WHERE persona.lifecycle_stage((first_at AT TIME ZONE z)::date, (last_at AT TIME ZONE z)::date, purchase_days, '2024-12-31'::date)
                                                            = persona.lifecycle_stage(first_at, last_at, purchase_days, '2024-12-31 18:00+00'))
  FROM (SELECT (persona.order_stats(ordered_at, amount, '2024-12-31 18:00+00')).* FROM gen_orders GROUP BY customer_id) q WHERE orders > 0;
  RETURN QUERY
  SELECT z, 'customer_profile', count(*), count(*) FILTER (WHERE row(a.*)::text = row(b.*)::text)
  FROM persona.customer_profile('gen_orders', '2024-12-31 18:00+00', time_zone => z) a
  JOIN persona.customer_profile('gen_orders', '2024-12-31 18:00+00'::timestamptz) b USING (customer_id);
END $$;
SELECT (pg_temp.as_session(z)).* FROM unnest('{America/New_York,Asia/Shanghai,Australia/Lord_Howe,UTC}'::text[]) z ORDER BY 1, 2;
SELECT current_setting('TimeZone') AS restored;
DROP TABLE gen_orders;

-- Zone names: full IANA names and POSIX specs; not abbreviations (their
-- meaning depends on timezone_abbreviations) or unknown names.
SELECT persona.daypart_of('2025-03-01 12:00+00', 'utc') AS utc, persona.daypart_of('2025-03-01 12:00+00', 'GMT') AS gmt,
       persona.daypart_of('2025-03-01 12:00+00', '<+08>-8') AS posix_plus8, persona.daypart_of('2025-03-01 12:00+00', 'EST5EDT') AS est5edt;
SELECT pg_temp.err($$SELECT persona.daypart_of(now(), 'CST')$$) AS cst;
SELECT pg_temp.err($$SELECT persona.daypart_of(now(), 'EST')$$) AS est;
SELECT pg_temp.err($$SELECT persona.daypart_of(now(), 'Mars/Olympus')$$) AS unknown;
SELECT pg_temp.err($$SELECT persona.daypart_of(now(), '')$$) AS empty;
SELECT pg_temp.err($$SELECT persona.habits(ordered_at, 'Asia/Shanghai ') FROM tz_orders$$) AS trailing_space;
SELECT pg_temp.err($$SELECT persona.order_stats(ordered_at, amount, now(), 'PST') FROM tz_orders$$) AS pst;
\set VERBOSITY default
SELECT persona.order_stats(ordered_at, amount, now(), 'CST') FROM tz_orders;
-- NULLs: a NULL zone is an error for the aggregates (22004), NULL for daypart_of (STRICT).
SELECT pg_temp.err($$SELECT persona.order_stats(ordered_at, amount, now(), NULL) FROM tz_orders$$) AS null_zone;
SELECT pg_temp.err($$SELECT persona.habits(ordered_at, NULL) FROM tz_orders$$) AS null_zone_habits;
SELECT persona.daypart_of(NULL, 'UTC') IS NULL AS null_time, persona.daypart_of(now(), NULL) IS NULL AS null_zone;
-- NULL times are skipped; no rows give NULL.
SELECT (persona.order_stats(t, 1, now(), 'UTC')).orders, (persona.habits(t, 'UTC')).orders
FROM (VALUES (NULL::timestamptz), ('2025-01-01')) v(t);
SELECT persona.order_stats(t, 1, now(), 'UTC') IS NULL AS no_rows, persona.habits(t, 'UTC') IS NULL AS no_rows_habits
FROM (VALUES ('2025-01-01'::timestamptz)) v(t) WHERE false;
-- Infinite times are errors, as in the originals.
SELECT pg_temp.err($$SELECT persona.habits('infinity', 'UTC')$$) AS infinite;
SELECT pg_temp.err($$SELECT persona.daypart_of('-infinity', 'UTC')$$) AS infinite_daypart;
SELECT pg_temp.err($$SELECT persona.order_stats(now(), 1, 'infinity', 'UTC')$$) AS infinite_as_of;
-- One zone per group (like one as_of per group); different spellings of one zone are one zone.
SELECT pg_temp.err($$SELECT persona.order_stats(ordered_at, amount, now(), CASE WHEN amount > 10 THEN 'UTC' ELSE 'Asia/Shanghai' END) FROM tz_orders$$) AS mixed;
SELECT pg_temp.err($$SELECT persona.habits(ordered_at, CASE WHEN amount > 10 THEN 'UTC' ELSE 'Asia/Shanghai' END) FROM tz_orders$$) AS mixed_habits;
SELECT (persona.habits(ordered_at, CASE WHEN amount > 10 THEN 'asia/shanghai' ELSE 'Asia/Shanghai' END)).orders AS one_zone_two_spellings
FROM tz_orders;

-- Date-only customers: every order at local midnight means the hours carry
-- no information, so the hour fields are NULL (they used to say night).
SELECT (h).orders, (h).weekday_share, (h).weekend_share, (h).morning, (h).night, (h).daypart,
       (h).favourite_weekday, (h).favourite_hour
FROM (SELECT persona.habits(d::timestamp AT TIME ZONE 'Asia/Shanghai', 'Asia/Shanghai') h
      FROM (VALUES ('2025-01-04'::date), ('2025-01-05'), ('2025-01-07')) v(d)) q;
-- ... also in the session-zone aggregate and in customer_profile; one timed order brings the hours back.
SET TimeZone = 'Asia/Shanghai';
SELECT (persona.habits(ordered_at)).daypart IS NULL AS session_no_daypart FROM tz_orders WHERE customer_id = 3;
SELECT customer_id, (habits).orders, (habits).weekday_share, (habits).daypart, (habits).favourite_weekday, (habits).favourite_hour
FROM persona.customer_profile('tz_orders', '2025-12-31') WHERE customer_id IN (3, 4) ORDER BY customer_id;
SELECT (persona.habits(t, 'Asia/Shanghai')).daypart, (persona.habits(t, 'Asia/Shanghai')).favourite_hour
FROM (VALUES ('2025-01-06 00:00+08'::timestamptz), ('2025-01-07 00:00:00.000001+08')) v(t);
SET TimeZone = 'UTC';

-- Overload resolution: timestamptz values and unknown literals still pick
-- the timestamptz lifecycle_stage (days in the session zone); dates pick the
-- date overload (no zone at all).
SET TimeZone = 'America/New_York';
SELECT persona.lifecycle_stage('2025-01-01', '2025-01-20', 3, '2025-01-31') AS literals,
       persona.lifecycle_stage('2025-01-01'::timestamptz, '2025-01-20'::timestamptz, 3, '2025-01-31'::timestamptz) AS timestamptz,
       persona.lifecycle_stage('2025-01-01'::timestamp, '2025-01-20'::timestamp, 3, '2025-01-31'::timestamp) AS timestamp,
       persona.lifecycle_stage('2025-01-01'::date, '2025-01-20'::date, 3, '2025-01-31'::date) AS dates,
       persona.lifecycle_stage('2025-01-01'::date, '2025-01-20'::date, 3, '2025-02-01'::date) AS dates_day_31;
-- Which overload a call picks: what a view over it depends on.
CREATE VIEW pick_literals AS SELECT persona.lifecycle_stage('2025-01-01', '2025-01-20', 3, '2025-01-31');
CREATE VIEW pick_timestamptz AS SELECT persona.lifecycle_stage(now(), now(), 1, now());
CREATE VIEW pick_timestamp AS SELECT persona.lifecycle_stage(localtimestamp, localtimestamp, 1, localtimestamp);
CREATE VIEW pick_dates AS SELECT persona.lifecycle_stage(current_date, current_date, 1, current_date);
CREATE VIEW pick_profile_literal AS SELECT * FROM persona.customer_profile('tz_orders', '2025-06-30');
CREATE VIEW pick_profile_timestamptz AS SELECT * FROM persona.customer_profile('tz_orders', now());
CREATE VIEW pick_profile_date AS SELECT * FROM persona.customer_profile('tz_orders', '2025-06-30'::date);
CREATE VIEW pick_profile_varchar AS SELECT * FROM persona.customer_profile('tz_orders', '2025-06-30'::varchar);
CREATE VIEW pick_profile_named AS SELECT * FROM persona.customer_profile('tz_orders', '2025-06-30', habits => false);
SELECT r.ev_class::regclass AS view, regexp_replace(d.refobjid::regprocedure::text, 'timestamp with time zone', 'timestamptz', 'g') AS depends_on
FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
WHERE r.ev_class::regclass::text LIKE 'pick\_%' AND d.refclassid = 'pg_proc'::regclass
  AND d.refobjid::regproc::text IN ('persona.lifecycle_stage', 'persona.customer_profile')
ORDER BY r.ev_class::regclass::text;
DROP VIEW pick_literals, pick_timestamptz, pick_timestamp, pick_dates, pick_profile_literal, pick_profile_timestamptz,
     pick_profile_date, pick_profile_varchar, pick_profile_named;
-- (the literal call names its arguments first_at/last_at: the timestamptz overload)
SELECT pg_temp.err($$SELECT persona.lifecycle_stage('2025-01-20', '2025-01-01', 3, '2025-01-31')$$) AS literal_call;
-- The timestamptz overload counts days in the session zone (New York here):
-- 04:00 UTC on 2025-02-01 is still 2025-01-31 there (tenure 30: new), 05:00 is
-- 2025-02-01 (tenure 31: growing).
SELECT persona.lifecycle_stage('2025-01-01 00:00-05', '2025-01-20 00:00-05', 3, '2025-02-01 04:00+00') AS day_30_in_new_york,
       persona.lifecycle_stage('2025-01-01 00:00-05', '2025-01-20 00:00-05', 3, '2025-02-01 05:00+00') AS day_31_in_new_york;
-- The date overload checks its arguments like the timestamptz one, with its own names.
SELECT pg_temp.err($$SELECT persona.lifecycle_stage('2025-01-20'::date, '2025-01-01'::date, 3, '2025-01-31'::date)$$) AS last_before_first;
SELECT pg_temp.err($$SELECT persona.lifecycle_stage('2025-01-01'::date, '2025-01-20'::date, 3, '2025-01-10'::date)$$) AS as_of_before_last;
SELECT pg_temp.err($$SELECT persona.lifecycle_stage('2025-01-01'::date, '2025-01-02'::date, 5, '2025-01-10'::date)$$) AS too_many_days;
SELECT pg_temp.err($$SELECT persona.lifecycle_stage('2025-01-01'::date, 'infinity'::date, 2, '2025-01-10'::date)$$) AS infinite_date;
SELECT pg_temp.err($$SELECT persona.lifecycle_stage('2025-01-01'::date, '2025-01-02'::date, 2, NULL::date)$$) AS null_as_of;
SELECT persona.lifecycle_stage(NULL::date, NULL::date, 0, '2025-01-10'::date) AS prospect,
       persona.lifecycle_stage('2025-01-01'::date, '2025-01-01'::date, 1, '2025-04-10'::date, decline_days => 30, churn_days => 60) AS churned;
-- The date overload agrees with lifecycle_of(order_stats(..., zone)) on local dates.
SELECT customer_id, persona.lifecycle_of(s) AS from_stats,
       persona.lifecycle_stage(((s).first_at AT TIME ZONE 'Asia/Shanghai')::date, ((s).last_at AT TIME ZONE 'Asia/Shanghai')::date,
                               (s).purchase_days, '2025-12-31'::date, (s).mean_gap_days) AS from_dates
FROM (SELECT customer_id, persona.order_stats(ordered_at, amount, '2025-12-31 12:00+08', 'Asia/Shanghai') s
      FROM tz_orders GROUP BY customer_id) q ORDER BY customer_id;
SET TimeZone = 'UTC';

-- customer_profile with as_of as text: unknown literals now pick it, with
-- results identical to the timestamptz version's; timestamptz arguments
-- still pick the original; a varchar (JDBC setString) resolves.
SET TimeZone = 'Asia/Shanghai';
SELECT count(*) AS rows,
       count(*) FILTER (WHERE a::text = b::text) AS identical
FROM (SELECT p AS a FROM persona.customer_profile('tz_orders', '2025-06-30') p) x
FULL JOIN (SELECT p AS b FROM persona.customer_profile('tz_orders', '2025-06-30'::timestamptz) p) y
  ON (a).customer_id = (b).customer_id;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE a::text = b::text) AS identical
FROM (SELECT p AS a FROM persona.customer_profile('tz_orders', '2025-06-30', 'customer_id', 'ordered_at', 'amount', 3, 'cn8', false) p) x
FULL JOIN (SELECT p AS b FROM persona.customer_profile('tz_orders', '2025-06-30'::timestamptz, 'customer_id', 'ordered_at', 'amount', 3, 'cn8', false) p) y
  ON (a).customer_id = (b).customer_id;
SELECT count(*) AS varchar_rows FROM persona.customer_profile('tz_orders', '2025-06-30'::varchar);
PREPARE jdbc(varchar) AS SELECT count(*) FROM persona.customer_profile('tz_orders', $1);
EXECUTE jdbc('2025-06-30');
-- as_of is read in time_zone and names a day: as of 2025-03-09 in New York,
-- c1 has ordered on Mar 8 (23:30) and Mar 9 (03:30 EDT), two purchase days;
-- in the session zone (Shanghai) both orders fall on Mar 9, one purchase day.
-- The Mar 10 order is after as_of either way.
SELECT customer_id, orders, purchase_days, recency_days, segment
FROM persona.customer_profile('tz_orders', '2025-03-09', time_zone => 'America/New_York') WHERE customer_id = 1;
SELECT customer_id, orders, purchase_days, recency_days
FROM persona.customer_profile('tz_orders', '2025-03-09') WHERE customer_id = 1;
-- An explicit offset in as_of wins over time_zone; 'today' is today in time_zone.
SELECT count(*) FILTER (WHERE row(a.*)::text = row(b.*)::text) AS same_instant
FROM persona.customer_profile('tz_orders', '2025-06-30 00:00+02', time_zone => 'America/New_York') a
JOIN persona.customer_profile('tz_orders', '2025-06-29 22:00+00', time_zone => 'America/New_York') b USING (customer_id);
SELECT count(*) FILTER (WHERE row(a.*)::text = row(b.*)::text) AS today_in_zone
FROM persona.customer_profile('tz_orders', 'today', time_zone => 'Pacific/Kiritimati') a
JOIN persona.customer_profile('tz_orders', ((now() AT TIME ZONE 'Pacific/Kiritimati')::date)::text, time_zone => 'Pacific/Kiritimati') b USING (customer_id);
-- Segment labels in language, whatever persona.language says.
SET persona.language = 'en';
SELECT customer_id, segment, persona.rfm_segment(rfm, 'standard', 'zh') = segment AS same_as_rfm_segment
FROM persona.customer_profile('tz_orders', '2025-06-30', bins => 2, language => 'zh') ORDER BY customer_id;
SELECT pg_temp.err($$SELECT * FROM persona.customer_profile('tz_orders', '2025-06-30', language => 'de')$$) AS bad_language;
SELECT pg_temp.err($$SELECT * FROM persona.customer_profile('tz_orders', '2025-06-30', time_zone => 'EST')$$) AS bad_zone;
SELECT pg_temp.err($$SELECT * FROM persona.customer_profile('tz_orders', 'soon')$$) AS bad_as_of;
SELECT pg_temp.err($$SELECT * FROM persona.customer_profile('tz_orders', NULL::text)$$) AS null_as_of;
SELECT pg_temp.err($$SELECT * FROM persona.customer_profile('tz_orders', 'infinity')$$) AS infinite_as_of;
SELECT current_setting('TimeZone') AS session_zone_unchanged;
RESET persona.language;
SET TimeZone = 'UTC';

-- Languages as values.
SELECT d, persona.label(d, 'en') AS en, persona.label(d, 'zh') AS zh, persona.label(d, 'ZH') = persona.label(d, 'zh') AS case_insensitive
FROM unnest(enum_range(NULL::persona.daypart)) d ORDER BY d;
SELECT v, persona.label(v, 'zh') AS zh FROM unnest(enum_range(NULL::persona.value_tier)) v;
SELECT v, persona.label(v, 'zh') AS zh FROM unnest(enum_range(NULL::persona.lifecycle)) v;
-- enums that are not persona's give their label
CREATE TYPE mood AS ENUM ('happy');
SELECT persona.label('happy'::mood, 'zh') AS foreign_enum;
DROP TYPE mood;
SELECT s, persona.rfm_segment(s, 'standard', 'en') AS en, persona.rfm_segment(s, 'standard', 'zh') AS zh,
       persona.rfm_segment(s, 'cn8', 'zh') AS cn8_zh
FROM unnest('{555,515,151,111}'::persona.rfm[]) s;
SET persona.language = 'zh';
SELECT persona.label('night'::persona.daypart, 'en') AS en_under_zh, persona.rfm_segment('555', 'standard', 'en') AS segment_en_under_zh;
RESET persona.language;
SELECT pg_temp.err($$SELECT persona.label('night'::persona.daypart, 'fr')$$) AS bad_language;
SELECT pg_temp.err($$SELECT persona.rfm_segment('555', 'standard', '')$$) AS empty_language;
SELECT pg_temp.err($$SELECT persona.rfm_segment('555', 'nosuch', 'en')$$) AS bad_scheme;
SELECT persona.label('night'::persona.daypart, NULL) IS NULL AS null_language, persona.rfm_segment('555', 'standard', NULL) IS NULL AS null_language_segment;

-- persona.time_zone: the zone as a value of its own type (not collatable,
-- so postgres_fdw ships the aggregates taking it: test/fdw_shards.sh).
-- Input checks the name as the text arguments do; the aggregates give what
-- the text overloads give; an unknown literal still picks the text ones.
SELECT 'Asia/Shanghai'::persona.time_zone AS zone, 'UTC'::text::persona.time_zone AS from_text,
       ('America/New_York'::persona.time_zone)::text AS to_text,
       (SELECT typcollation FROM pg_type WHERE oid = 'persona.time_zone'::regtype) = 0 AS not_collatable;
SELECT pg_temp.err($$SELECT 'EST'::persona.time_zone$$) AS abbreviation,
       pg_temp.err($$SELECT 'Mars/Olympus'::persona.time_zone$$) AS unknown,
       pg_temp.err($$SELECT ''::persona.time_zone$$) AS empty,
       pg_temp.err($$SELECT 'right/UTC'::text::persona.time_zone$$) AS leap_seconds;
SELECT bool_and(a1::text = a2::text) AS same_stats, bool_and(h1::text = h2::text) AS same_habits,
       bool_and(s1 = s2) AS same_state, bool_and(hs1 = hs2) AS same_habits_state, count(*) AS customers
FROM (SELECT customer_id,
             persona.order_stats(ordered_at, amount, '2025-06-30 16:00+00', 'Asia/Shanghai'::persona.time_zone) AS a1,
             persona.order_stats(ordered_at, amount, '2025-06-30 16:00+00', 'Asia/Shanghai') AS a2,
             persona.habits(ordered_at, 'Asia/Shanghai'::persona.time_zone) AS h1, persona.habits(ordered_at, 'Asia/Shanghai') AS h2,
             persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai'::persona.time_zone) AS s1,
             persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai') AS s2,
             persona.habits_state(ordered_at, 'Asia/Shanghai'::persona.time_zone) AS hs1, persona.habits_state(ordered_at, 'Asia/Shanghai') AS hs2
      FROM tz_orders GROUP BY 1) q;
SELECT string_agg(persona.daypart_of(ordered_at, 'Asia/Shanghai'::persona.time_zone)::text, ',' ORDER BY customer_id, ordered_at)
       = string_agg(persona.daypart_of(ordered_at, 'Asia/Shanghai')::text, ',' ORDER BY customer_id, ordered_at) AS same_dayparts
FROM tz_orders;
-- an unknown literal resolves to the text overload (as before the type existed)
EXPLAIN (VERBOSE, COSTS OFF) SELECT persona.habits(ordered_at, 'UTC') FROM tz_orders;
-- Rows of one group in two spellings of one zone are one zone; two zones are an error.
SELECT count(*) FROM (SELECT persona.habits(ordered_at, z::persona.time_zone) FROM tz_orders,
                      (VALUES ('Asia/Shanghai'), ('asia/shanghai')) v(z) GROUP BY customer_id) q;
SELECT pg_temp.err($$SELECT persona.habits(ordered_at, z::persona.time_zone) FROM tz_orders, (VALUES ('UTC'), ('Asia/Shanghai')) v(z) GROUP BY customer_id$$) AS two_zones;

-- The aggregates that read the session TimeZone refuse to run in a session
-- set up as postgres_fdw sets up its remote ones (search_path pg_catalog,
-- TimeZone UTC): there they would count UTC's days, not the caller's.
BEGIN;
SET LOCAL search_path = pg_catalog;
SET LOCAL TimeZone = 'UTC';
SELECT pg_temp.err($$SELECT persona.order_stats(ordered_at, amount, '2025-06-30') FROM public.tz_orders GROUP BY customer_id$$) AS fdw_like_stats;
SELECT pg_temp.err($$SELECT persona.habits(ordered_at) FROM public.tz_orders GROUP BY customer_id$$) AS fdw_like_habits;
SELECT pg_temp.err($$SELECT persona.frequency_trend(ordered_at, '2025-06-30', '30 days') FROM public.tz_orders GROUP BY customer_id$$) AS fdw_like_trend;
SELECT count(t::text) AS hours_window_runs, count(s::text) AS zone_value_runs
FROM (SELECT customer_id, persona.frequency_trend(ordered_at, '2025-06-30', '720 hours') AS t,
             persona.order_stats(ordered_at, amount, '2025-06-30', 'UTC'::persona.time_zone) AS s
      FROM public.tz_orders GROUP BY customer_id) q;
ROLLBACK;
-- and in a Citus worker task (application_name citus_internal ...), which runs
-- in the worker's own TimeZone; a user segment scheme is not there either
BEGIN;
SET LOCAL application_name = 'citus_internal gpid=10000000001';
SELECT pg_temp.err($$SELECT persona.order_stats(ordered_at, amount, '2025-06-30') FROM tz_orders GROUP BY customer_id$$) AS citus_like_stats;
SELECT pg_temp.err($$SELECT persona.rfm_segment('555', 'no_such_scheme')$$) AS citus_like_scheme;
SELECT count(s::text) AS zone_value_runs
FROM (SELECT customer_id, persona.order_stats(ordered_at, amount, '2025-06-30', 'UTC'::persona.time_zone) AS s FROM tz_orders GROUP BY customer_id) q;
ROLLBACK;

DROP TABLE tz_orders, seen;
