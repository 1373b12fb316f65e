-- Settings changed in the registry take effect at the next refresh, the
-- same as a profile created with them: a changed scheme, language, RFM
-- scale, lifecycle threshold, as-of day or time zone reaches every
-- relation, incremental or full, materialized or not, with or without
-- orders to merge.  The columns the relations are built from cannot be
-- changed, and bad settings are refused when written.  Refreshes read the
-- same whatever the session's DateStyle.
BEGIN;
SET client_min_messages = warning;
SET persona.progress = off;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(45);
SELECT setseed(0.3);

CREATE TABLE o (id serial PRIMARY KEY, cust int, at timestamp, amount numeric(10,2));
INSERT INTO o (cust, at, amount)
SELECT 1 + floor(random() * 200)::int, timestamp '2024-01-01 00:00' + random() * interval '360 days', round((5 + random() * 300)::numeric, 2)
FROM generate_series(1, 2000);
INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, f_min, m_min) VALUES
  ('shop', 1, 'Top', '头部', 4, 1, 1), ('shop', 2, 'Other', '其他', 1, 1, 1);

-- rows of inc_<rel> and <other>_<rel> that differ (0 when equal)
CREATE FUNCTION pg_temp.diff(other text, rel text, cols text DEFAULT '*') RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT %3$s FROM inc_%1$s EXCEPT SELECT %3$s FROM %2$s_%1$s)
                                          UNION ALL (SELECT %3$s FROM %2$s_%1$s EXCEPT SELECT %3$s FROM inc_%1$s)) x', rel, other, cols)
        INTO STRICT n;
    RETURN n;
END $$;
-- every published relation of inc against other's (quality only when
-- asked: incremental refreshes leave it as the last full one computed it)
CREATE FUNCTION pg_temp.diff_all(other text, quality boolean DEFAULT true) RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_temp.diff(other, 'customers') + pg_temp.diff(other, 'segments') + pg_temp.diff(other, 'lifecycle')
         + pg_temp.diff(other, 'pareto', 'customers, revenue, top_share, top_revenue_share, revenue_share, customer_share')   -- not the name
         + CASE WHEN quality THEN pg_temp.diff(other, 'quality') ELSE 0 END
$$;
-- a profile over o made now with these settings, to compare with
CREATE FUNCTION pg_temp.fresh(name text, zone text, lang text, sch text, day date, b int) RETURNS void LANGUAGE sql AS $$
    SELECT persona.drop_profile(name) FROM persona.profiles WHERE profiles.name = fresh.name;
    SELECT count(*) FROM persona.create_profile(name, 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                as_of => day, time_zone => zone, language => lang, scheme => sch, bins => b,
                                                parts => '{segments,lifecycle,pareto,quality}');
$$;

SELECT isnt_empty($$SELECT persona.create_profile('inc', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'UTC', language => 'en', scheme => 'shop',
                                                  incremental => true, parts => '{segments,lifecycle,pareto,quality}')$$,
                  'an incremental profile is created');
CREATE VIEW my_segments AS SELECT segment, customers FROM inc_segments;
SELECT throws_ok($$DELETE FROM persona.segment_rules WHERE scheme = 'shop'$$, '2BP01', 'segment scheme "shop" is used by profile "inc"',
                 'the rules of a scheme a profile uses cannot all go');
SELECT throws_ok($$TRUNCATE persona.segment_rules$$, '2BP01', 'segment scheme "shop" is used by profile "inc"', 'nor be truncated');
SELECT lives_ok($$DELETE FROM persona.segment_rules WHERE scheme = 'shop' AND priority = 2$$, 'one of its rules can go');
INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, f_min, m_min) VALUES ('shop', 2, 'Other', '其他', 1, 1, 1);
CREATE VIEW my_quality AS SELECT check_name, rows FROM inc_quality;

-- nothing to merge, the same day: rules and language changed all the same
UPDATE persona.segment_rules SET segment = 'Loyal', segment_zh = '忠诚' WHERE scheme = 'shop' AND priority = 1;
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'no orders changed: an incremental refresh');
SELECT pg_temp.fresh('ref', 'UTC', 'en', 'shop', '2024-12-31', 5);
SELECT is(pg_temp.diff_all('ref'), 0::bigint, 'a changed rule reaches the segments with nothing to merge');
SELECT ok((SELECT customers FROM inc_segments WHERE segment = 'Loyal') > 0, 'the renamed segment is counted');
UPDATE persona.profiles SET language = 'zh' WHERE name = 'inc';
SELECT persona.refresh_profile('inc') \g /dev/null
SELECT pg_temp.fresh('ref', 'UTC', 'zh', 'shop', '2024-12-31', 5);
SELECT is(pg_temp.diff_all('ref'), 0::bigint, 'a changed language reaches every relation with nothing to merge');
SELECT is((SELECT label FROM inc_lifecycle WHERE lifecycle = 'churned'), '流失期', 'the lifecycle summary speaks the new language');
SELECT is((SELECT segment FROM inc_customers GROUP BY segment ORDER BY count(*) DESC LIMIT 1), (SELECT segment FROM ref_customers GROUP BY segment ORDER BY count(*) DESC LIMIT 1),
          'the customers view segments as the reference');

-- a changed scheme reaches the customers view, with and without orders to merge
UPDATE persona.profiles SET scheme = 'cn8' WHERE name = 'inc';
SELECT persona.refresh_profile('inc') \g /dev/null
SELECT pg_temp.fresh('ref', 'UTC', 'zh', 'cn8', '2024-12-31', 5);
SELECT is(pg_temp.diff_all('ref'), 0::bigint, 'a changed scheme reaches every relation');
SELECT is((SELECT count(DISTINCT segment)::int FROM inc_customers), (SELECT count(*)::int FROM inc_segments), 'the customers view has the scheme''s segments');
UPDATE persona.profiles SET scheme = 'standard', bins = 4 WHERE name = 'inc';
INSERT INTO o (cust, at, amount) VALUES (3, '2024-12-30 10:00', 99), (900, '2024-12-30 11:00', 5);
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'orders to merge: incremental');
SELECT pg_temp.fresh('ref', 'UTC', 'zh', 'standard', '2024-12-31', 4);
SELECT is(pg_temp.diff_all('ref'), 0::bigint, 'a changed scheme and RFM scale reach every relation with orders to merge');
SELECT is((SELECT max(r_score)::int FROM inc_customers), 4, 'scores on the new scale');

-- lifecycle thresholds
UPDATE persona.profiles SET lifecycle_churn_days = 60, lifecycle_decline_days = 20 WHERE name = 'inc';
SELECT persona.refresh_profile('inc') \g /dev/null
SET persona.lifecycle_churn_days = 60;
SET persona.lifecycle_decline_days = 20;
SELECT pg_temp.fresh('ref', 'UTC', 'zh', 'standard', '2024-12-31', 4);
RESET persona.lifecycle_churn_days;
RESET persona.lifecycle_decline_days;
SELECT is(pg_temp.diff_all('ref'), 0::bigint, 'changed lifecycle thresholds reach every relation');

-- a later as-of day: the quality summary is redefined too (its future orders move)
INSERT INTO o (cust, at, amount) VALUES (4, '2025-01-10 09:00', 40);
UPDATE persona.profiles SET as_of = '2025-01-05' WHERE name = 'inc';
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'a later fixed day: still incremental');
SELECT pg_temp.fresh('ref', 'UTC', 'zh', 'standard', '2025-01-05', 4);
SELECT is(pg_temp.diff_all('ref'), 0::bigint, 'a changed as_of reaches every relation');
SELECT is((SELECT rows FROM my_quality WHERE check_name = 'future_time'), 1::bigint,
          'the quality summary counts the orders after the new day (through a view of the user)');

-- a time zone: the states hold calendar days of the old one, so the
-- refresh is a full one; the capture trigger reads local times in the new one
UPDATE persona.profiles SET time_zone = 'Asia/Shanghai' WHERE name = 'inc';
INSERT INTO o (cust, at, amount) VALUES (5, '2025-01-04 23:30', 12), (6, '2025-01-05 23:30', 13);
SELECT is((SELECT refresh FROM persona.refresh_profile('inc', incremental => true)), 'full', 'a changed time zone: a full refresh');
SELECT pg_temp.fresh('ref', 'Asia/Shanghai', 'zh', 'standard', '2025-01-05', 4);
SELECT is(pg_temp.diff_all('ref'), 0::bigint, 'a changed time zone reaches every relation');
INSERT INTO o (cust, at, amount) VALUES (7, '2025-01-05 23:50', 30), (8, '2025-01-06 00:10', 31);
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'then incremental again');
SELECT pg_temp.fresh('ref', 'Asia/Shanghai', 'zh', 'standard', '2025-01-05', 4);
SELECT is(pg_temp.diff_all('ref', false), 0::bigint, 'orders captured after the change are read in the new zone');
SELECT is((SELECT count(*)::int FROM my_segments), (SELECT count(*)::int FROM ref_segments), 'a view of the user over the segments survives');

-- a profile computed by every read follows its settings after refresh_profile
SELECT isnt_empty($$SELECT persona.create_profile('live', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'UTC', materialized => false, parts => '{segments,lifecycle}')$$,
                  'a profile of views is created');
UPDATE persona.profiles SET time_zone = 'Asia/Shanghai', as_of = '2025-01-05', bins = 4, language = 'zh' WHERE name = 'live';
SELECT is((SELECT refresh FROM persona.refresh_profile('live')), 'views', 'refreshing a profile of views redefines them');
SELECT is((SELECT count(*) FROM ((SELECT * FROM live_customers EXCEPT SELECT * FROM ref_customers)
                                 UNION ALL (SELECT * FROM ref_customers EXCEPT SELECT * FROM live_customers)) x), 0::bigint,
          'its customers equal a stored profile''s with the same settings');

-- refused when written
SELECT throws_ok($$UPDATE persona.profiles SET time_col = 'id' WHERE name = 'inc'$$, '0A000',
                 'column "time_col" of profile "inc" cannot be changed', 'a column the relations are built from cannot change');
SELECT throws_ok($$UPDATE persona.profiles SET incremental = false WHERE name = 'inc'$$, '0A000',
                 'column "incremental" of profile "inc" cannot be changed', 'nor can incremental');
SELECT throws_ok($$UPDATE persona.profiles SET mask_pii = false WHERE name = 'inc'$$, '0A000',
                 'column "mask_pii" of profile "inc" cannot be changed', 'nor the masking (the customers view''s columns)');
SELECT throws_ok($$UPDATE persona.profiles SET time_zone = 'Mars/Olympus' WHERE name = 'inc'$$, '22023', NULL, 'an unknown time zone is refused');
SELECT throws_ok($$UPDATE persona.profiles SET bins = 11 WHERE name = 'inc'$$, '22023', 'bins must be between 2 and 10', 'bins out of range are refused');
SELECT throws_ok($$UPDATE persona.profiles SET scheme = 'nosuch' WHERE name = 'inc'$$, '42704', 'segment scheme "nosuch" does not exist',
                 'an unknown scheme is refused');
SELECT throws_ok($$UPDATE persona.profiles SET lifecycle_churn_factor = 0.5 WHERE name = 'inc'$$, '22023',
                 'lifecycle parameter churn_factor is out of range', 'a churn factor below the decline factor is refused');
SELECT throws_ok($$UPDATE persona.profiles SET lifecycle_new_days = 40000 WHERE name = 'inc'$$, '22023',
                 'lifecycle thresholds out of range', 'thresholds beyond the ranges of the settings are refused');

-- extra_float_digits: a float threshold is written into generated SQL as itself
UPDATE persona.profiles SET lifecycle_decline_factor = 1.5 WHERE name = 'inc';
SET extra_float_digits = -15;
SELECT persona.refresh_profile('inc') \g /dev/null
SET persona.lifecycle_decline_factor = 1.5;
SET persona.lifecycle_churn_days = 60;
SET persona.lifecycle_decline_days = 20;
SELECT pg_temp.fresh('ref', 'Asia/Shanghai', 'zh', 'standard', '2025-01-05', 4);
RESET extra_float_digits;
SELECT pg_temp.fresh('ref2', 'Asia/Shanghai', 'zh', 'standard', '2025-01-05', 4);
RESET persona.lifecycle_decline_factor;
RESET persona.lifecycle_churn_days;
RESET persona.lifecycle_decline_days;
SELECT is(pg_temp.diff_all('ref', false), 0::bigint, 'refreshed under extra_float_digits = -15: decline factor 1.5, not 2');
SELECT is((SELECT count(*) FROM ((SELECT * FROM ref_lifecycle EXCEPT SELECT * FROM ref2_lifecycle)
                                 UNION ALL (SELECT * FROM ref2_lifecycle EXCEPT SELECT * FROM ref_lifecycle)) x), 0::bigint,
          'created under it: the same stages as created under the default');
UPDATE persona.profiles SET lifecycle_decline_factor = 2 WHERE name = 'inc';
SELECT persona.drop_profile('ref2') \g /dev/null

-- a superuser who refreshes another role's changed profile leaves it to its owner
CREATE ROLE persona_t_setowner;
GRANT CREATE ON SCHEMA public TO persona_t_setowner;
GRANT SELECT ON o TO persona_t_setowner;
GRANT INSERT, UPDATE, DELETE ON persona.profiles TO persona_t_setowner;
SET ROLE persona_t_setowner;
SELECT isnt_empty($$SELECT persona.create_profile('own', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'UTC', parts => '{segments,quality}')$$,
                  'a role creates a profile');
RESET ROLE;
UPDATE persona.profiles SET as_of = '2025-01-05' WHERE name = 'own';
SELECT persona.refresh_profile('own') \g /dev/null
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'own__quality'::regclass), 'persona_t_setowner',
          'the summary a superuser''s refresh made anew belongs to the profile''s owner');
SET ROLE persona_t_setowner;
SELECT lives_ok($$SELECT persona.refresh_profile('own')$$, 'and its owner refreshes it');
RESET ROLE;

-- DateStyle: the day written into generated SQL reads back in every style
SET DateStyle = 'SQL, YMD';
SELECT lives_ok($$SELECT persona.refresh_profile('inc', incremental => false)$$, 'a full refresh under DateStyle SQL, YMD');
SET DateStyle = 'Postgres, YMD';
INSERT INTO o (cust, at, amount) VALUES (9, '2025-01-02 10:00', 14);
SELECT lives_ok($$SELECT persona.refresh_profile('inc')$$, 'an incremental refresh under DateStyle Postgres, YMD');
SELECT pg_temp.fresh('ref', 'Asia/Shanghai', 'zh', 'standard', '2025-01-05', 4);
SET DateStyle = 'German';
CREATE TEMP TABLE report_german AS SELECT persona.profile_report('inc') AS r;
RESET DateStyle;
SELECT is((SELECT r FROM report_german), persona.profile_report('inc'), 'the report reads the same under DateStyle German');
SELECT is(pg_temp.diff_all('ref', false), 0::bigint, 'created and refreshed under other DateStyles: the same rows');

-- the settings a refresh changes for a step (the tallies' parallel costs, the quality check's
-- work_mem, the time zone) are the session's again afterwards
SET parallel_tuple_cost = 0.25;
SET work_mem = '7MB';
SET TimeZone = 'America/New_York';
SELECT persona.refresh_profile('inc', incremental => false) \g /dev/null
SELECT is(ARRAY[current_setting('parallel_tuple_cost'), current_setting('parallel_setup_cost'), current_setting('work_mem'), current_setting('TimeZone')],
          ARRAY['0.25', '1000', '7MB', 'America/New_York'], 'a refresh leaves the session''s settings as they were');

SELECT * FROM finish();
ROLLBACK;
