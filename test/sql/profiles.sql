-- create_profile / refresh_profile / drop_profile: the relations, their
-- column types, values against customer_profile, time zones as values,
-- incremental refresh against a full rebuild, errors.
SET client_min_messages = warning;
SET persona.progress = off;
CREATE SCHEMA bi;

-- 60 customers with text keys; times spread over the day so that the zone
-- decides days, weekdays and dayparts.
CREATE TABLE shop_orders (
    order_id    bigint PRIMARY KEY,
    customer    text,
    placed_at   timestamptz,
    total       numeric(10,2)
);
INSERT INTO shop_orders
SELECT i, 'c' || lpad((1 + (i * 7919) % 60)::text, 3, '0'),
       timestamptz '2024-01-01 00:00+00' + ((i * 104729) % 365) * interval '1 day'
                                         + ((i * 7907) % 1440) * interval '1 minute',
       round((5 + (i * 31) % 200)::numeric + 0.99, 2)
FROM generate_series(1, 900) i;
-- messy rows: refund, zero amount, NULL amount, NULL customer, NULL time, future order
INSERT INTO shop_orders VALUES
  (901, 'c001', '2024-06-01 10:00+00', -20.00),
  (902, 'c002', '2024-06-01 10:00+00', 0),
  (903, 'c003', '2024-06-01 10:00+00', NULL),
  (904, NULL,   '2024-06-01 10:00+00', 10),
  (905, 'c004', NULL, 10),
  (906, 'c005', '2025-06-01 10:00+00', 10);

SELECT * FROM persona.create_profile('shop', 'shop_orders', customer_col => 'customer', time_col => 'placed_at',
                                     amount_col => 'total', schema => 'bi', as_of => '2024-12-31',
                                     time_zone => 'Asia/Shanghai', language => 'en');

-- the registry records values, not session settings
SELECT name, schema_name, orders, customer_col, key_type, as_of, time_zone, language, materialized, incremental,
       bins, scheme, parts, refresh_kind, refreshed_as_of, customers, last_error
FROM persona.profiles;

-- every column of every relation BI tools see has a built-in type
SELECT c.relname, count(*) AS columns,
       count(*) FILTER (WHERE a.atttypid >= 16384) AS non_builtin,
       string_agg(DISTINCT format_type(a.atttypid, NULL), ', ' ORDER BY format_type(a.atttypid, NULL)) AS types
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
WHERE c.relnamespace = 'bi'::regnamespace AND c.relname LIKE 'shop\_%' AND c.relname NOT LIKE 'shop\_\_%'
GROUP BY c.relname ORDER BY c.relname;

-- the values are customer_profile's (days in the profile's zone, as of the end of as_of)
CREATE VIEW shop_num AS
SELECT substr(customer, 2)::bigint AS customer_id, placed_at AS ordered_at, total AS amount FROM shop_orders;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (c.orders, c.purchase_days, c.revenue, c.recency_days, c.tenure_days, c.mean_gap_days,
                               c.repeat_orders, c.refunds, c.rfm, c.segment, c.lifecycle, c.daypart, c.weekday_share)
                              IS NOT DISTINCT FROM
                              (p.orders, p.purchase_days, p.revenue, p.recency_days, p.tenure_days, p.mean_gap_days,
                               p.repeat_orders, p.refunds, p.rfm::text, p.segment, p.lifecycle::text,
                               (p.habits).daypart::text, (p.habits).weekday_share)) AS equal
FROM bi.shop_customers c
FULL JOIN persona.customer_profile('shop_num', '2024-12-31 23:59:59.999999', time_zone => 'Asia/Shanghai', language => 'en') p
  ON substr(c.customer_id, 2)::bigint = p.customer_id;

-- varchar and uuid keys: the same portrait cards, the states from one scan
-- keyed by the column's type (customer_states with customer_key), not a GROUP BY
CREATE TABLE shop_orders_keys AS
SELECT order_id, customer::varchar(8) AS customer, md5(customer)::uuid AS customer_uuid, placed_at, total FROM shop_orders;
BEGIN;
SET LOCAL track_functions = 'all';
SELECT count(*) FROM persona.create_profile('shop_vc', 'shop_orders_keys', customer_col => 'customer', time_col => 'placed_at',
                                            amount_col => 'total', schema => 'bi', as_of => '2024-12-31',
                                            time_zone => 'Asia/Shanghai', language => 'en');
SELECT count(*) FROM persona.create_profile('shop_uuid', 'shop_orders_keys', customer_col => 'customer_uuid', time_col => 'placed_at',
                                            amount_col => 'total', schema => 'bi', as_of => '2024-12-31',
                                            time_zone => 'Asia/Shanghai', language => 'en');
SELECT funcid::regprocedure AS function, calls FROM pg_stat_xact_user_functions WHERE funcname = 'customer_states';
COMMIT;
SELECT name, key_type FROM persona.profiles WHERE name IN ('shop_vc', 'shop_uuid') ORDER BY name;
SELECT format_type(atttypid, atttypmod) AS customer_id_type FROM pg_attribute
WHERE attrelid IN ('bi.shop_vc_customers'::regclass, 'bi.shop_uuid_customers'::regclass) AND attname = 'customer_id' ORDER BY 1;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE to_jsonb(v) - 'customer_id' = to_jsonb(c) - 'customer_id'
                          AND to_jsonb(u) - 'customer_id' = to_jsonb(c) - 'customer_id') AS equal
FROM bi.shop_customers c
FULL JOIN bi.shop_vc_customers v ON v.customer_id = c.customer_id
FULL JOIN bi.shop_uuid_customers u ON u.customer_id = md5(c.customer_id)::uuid;
SELECT persona.drop_profile('shop_vc'), persona.drop_profile('shop_uuid');
DROP TABLE shop_orders_keys;
-- a key type visible to the creating session only (a domain in its search_path):
-- refreshes from other sessions name it as they see it
CREATE SCHEMA codes;
CREATE DOMAIN codes.code AS text;
CREATE TABLE coded_orders AS SELECT customer::codes.code AS customer, placed_at, total FROM shop_orders;
SET search_path = codes, public;
SELECT count(*) FROM persona.create_profile('coded', 'public.coded_orders', customer_col => 'customer', time_col => 'placed_at',
                                            amount_col => 'total', schema => 'bi', as_of => '2024-12-31', time_zone => 'Asia/Shanghai',
                                            parts => ARRAY['segments']);
RESET search_path;
SELECT p.key_type, r.refresh, r.customers FROM persona.profiles p, persona.refresh_profile('coded') r WHERE p.name = 'coded';
-- types a binary cast reaches only by assignment have no default operator class (xml)
SELECT persona.profile_key_has_opclass('xml', 'btree') AS xml_btree, persona.profile_key_has_opclass('varchar', 'hash') AS varchar_hash;
SELECT persona.drop_profile('coded');
DROP TABLE coded_orders;
DROP SCHEMA codes CASCADE;

-- one customer in full
\x on
SELECT * FROM bi.shop_customers WHERE customer_id = 'c001';
\x off

SELECT segment, customers, round(customer_share::numeric, 4) AS share, revenue, below_5_percent
FROM bi.shop_segments ORDER BY customers DESC, segment;
SELECT lifecycle, label, customers, revenue FROM bi.shop_lifecycle ORDER BY stage_order;
SELECT profile, customers, revenue, round(top_revenue_share::numeric, 4) AS top_revenue_share FROM bi.shop_pareto;
SELECT check_name, rows FROM bi.shop_quality;
SELECT model, parameter, value > 0 AS positive, converged FROM bi.shop_models ORDER BY model, parameter;

-- The same rows whatever the session's TimeZone, DateStyle or language:
-- everything is computed from values recorded in the profile.
CREATE FUNCTION shop_digest() RETURNS text LANGUAGE sql AS $$
  SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', customer_id, extract(epoch FROM first_order_at),
                               first_order_on - date '2000-01-01', last_order_on - date '2000-01-01', recency_days,
                               purchase_days, rfm, segment, lifecycle_label, daypart, favourite_weekday, favourite_hour,
                               p_alive::numeric(20,12)), ';' ORDER BY customer_id))
  FROM bi.shop_customers $$;
CREATE TEMP TABLE digests (zone text, digest text);
SET TimeZone = 'UTC';
INSERT INTO digests SELECT current_setting('TimeZone'), shop_digest();
SET TimeZone = 'America/New_York';
SET DateStyle = 'SQL, DMY';
SET persona.language = 'zh';
INSERT INTO digests SELECT current_setting('TimeZone'), shop_digest();
SET TimeZone = 'Asia/Shanghai';
RESET DateStyle;
RESET persona.language;
INSERT INTO digests SELECT current_setting('TimeZone'), shop_digest();
SELECT count(*) AS zones, count(DISTINCT digest) AS distinct_digests FROM digests;
-- a refresh from a session in another zone changes nothing either
SET TimeZone = 'America/New_York';
SELECT refresh, as_of, customers, changed FROM persona.refresh_profile('shop');
SELECT shop_digest() = (SELECT digest FROM digests LIMIT 1) AS same_after_refresh;
SELECT current_setting('TimeZone') AS session_zone_kept;
RESET TimeZone;

-- Attributes from a customer table, masked where they are personal data;
-- tag rules on the customers view apply from the next refresh.
CREATE TABLE shop_customers (customer text PRIMARY KEY, real_name text, mobile text, city text, vip boolean);
INSERT INTO shop_customers
SELECT 'c' || lpad(i::text, 3, '0'), (ARRAY['Li Lei', 'Han Meimei', 'Zhang Wei'])[1 + i % 3],
       '1381234' || lpad((i * 37)::text, 4, '0'), (ARRAY['Beijing', 'Shanghai'])[1 + i % 2], i % 5 = 0
FROM generate_series(1, 60) i;
SELECT * FROM persona.create_profile('crm', 'shop_orders', customer_col => 'customer', time_col => 'placed_at',
                                     amount_col => 'total', schema => 'bi', as_of => '2024-12-31',
                                     time_zone => 'Asia/Shanghai', parts => '{customer_tags}',
                                     attributes_from => 'shop_customers', pii => '{"real_name": "name", "mobile": "phone"}');
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES
  ('bi.crm_customers', 'vip', 'basic', 'vip'),
  ('bi.crm_customers', 'big spender', 'value', 'm_score >= 4'),
  ('bi.crm_customers', 'evening buyer', 'preference', 'daypart = ''evening''');
SELECT customer_id, real_name, mobile, city, tags FROM bi.crm_customers ORDER BY customer_id LIMIT 3;
SELECT refresh FROM persona.refresh_profile('crm');
SELECT customer_id, real_name, mobile, city, tags FROM bi.crm_customers ORDER BY customer_id LIMIT 6;
SELECT tag, layer, count(*) FROM bi.crm_customer_tags GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) = (SELECT count(*) FROM shop_customers WHERE vip) AS every_vip_tagged
FROM bi.crm_customer_tags WHERE tag = 'vip';
-- a profile computed by every read gives the same rows
SELECT * FROM persona.create_profile('live', 'shop_orders', customer_col => 'customer', time_col => 'placed_at',
                                     amount_col => 'total', schema => 'bi', as_of => '2024-12-31',
                                     time_zone => 'Asia/Shanghai', materialized => false);
SELECT (SELECT count(*) FROM (SELECT * FROM bi.live_customers EXCEPT SELECT * FROM bi.shop_customers) d) AS live_not_stored,
       (SELECT count(*) FROM (SELECT * FROM bi.shop_customers EXCEPT SELECT * FROM bi.live_customers) d) AS stored_not_live,
       (SELECT count(*) FROM (SELECT * FROM bi.live_segments EXCEPT SELECT * FROM bi.shop_segments) d) AS segments_differ;
SELECT refresh FROM persona.refresh_profile('live');
SELECT persona.drop_profile('live');
SELECT persona.drop_profile('crm');

-- the same orders in another zone: other days, so other rows (why the zone is recorded)
SELECT * FROM persona.create_profile('shop_ny', 'shop_orders', customer_col => 'customer', time_col => 'placed_at',
                                     amount_col => 'total', schema => 'bi', as_of => '2024-12-31',
                                     time_zone => 'America/New_York', parts => '{}');
SELECT count(*) FILTER (WHERE a.purchase_days <> b.purchase_days OR a.daypart IS DISTINCT FROM b.daypart) > 0 AS zone_matters
FROM bi.shop_customers a JOIN bi.shop_ny_customers b USING (customer_id);
SELECT persona.drop_profile('shop_ny');

-- Incremental refresh: inserts are merged, updates and deletes recompute
-- the customers they touch; the result equals a full rebuild.
SELECT * FROM persona.create_profile('inc', 'shop_orders', customer_col => 'customer', time_col => 'placed_at',
                                     amount_col => 'total', schema => 'bi', as_of => '2024-12-31',
                                     time_zone => 'Asia/Shanghai', incremental => true,
                                     parts => '{segments,lifecycle,pareto}');
INSERT INTO shop_orders VALUES
  (1001, 'c010', '2024-12-30 23:30+08', 12.50),     -- late in the as-of day
  (1002, 'c010', '2024-12-31 16:30+00', 12.50),     -- 2025-01-01 in Shanghai: after as_of, waits
  (1003, 'c999', '2024-12-31 09:00+08', 99.00),     -- a new customer
  (1004, 'c011', '2024-02-01 09:00+08', 5.00);      -- a late-arriving old order
UPDATE shop_orders SET total = total + 1 WHERE order_id IN (10, 20);
DELETE FROM shop_orders WHERE order_id IN (30, 40);
SELECT count(*) AS pending FROM bi.inc__pending;
SELECT count(*) AS dirty FROM bi.inc__dirty;
SELECT refresh, as_of, customers, changed FROM persona.refresh_profile('inc');
SELECT count(*) AS pending_after FROM bi.inc__pending;
-- nothing new to merge (the waiting order is after the as-of day): nothing recomputed
SELECT refresh, changed FROM persona.refresh_profile('inc');
CREATE TEMP TABLE inc_rows AS SELECT * FROM bi.inc_customers;
CREATE TEMP TABLE inc_segments AS SELECT * FROM bi.inc_segments;
CREATE TEMP TABLE inc_lifecycle AS SELECT * FROM bi.inc_lifecycle;
CREATE TEMP TABLE inc_pareto AS SELECT * FROM bi.inc_pareto;
CREATE TEMP TABLE inc_globals AS SELECT breaks::text, gold_min, diamond_min, r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows FROM bi.inc__globals;
SELECT refresh, customers, changed FROM persona.refresh_profile('inc', incremental => false);
SELECT (SELECT count(*) FROM (SELECT * FROM inc_rows EXCEPT SELECT * FROM bi.inc_customers) d) AS incremental_not_full,
       (SELECT count(*) FROM (SELECT * FROM bi.inc_customers EXCEPT SELECT * FROM inc_rows) d) AS full_not_incremental,
       (SELECT count(*) FROM (SELECT * FROM inc_segments EXCEPT SELECT * FROM bi.inc_segments) d) AS segments_differ;
-- the tallies and weighted rows the incremental refresh corrected equal those recomputed
SELECT (SELECT count(*) FROM (SELECT * FROM inc_lifecycle EXCEPT SELECT * FROM bi.inc_lifecycle) d) AS lifecycle_differ,
       (SELECT count(*) FROM (SELECT * FROM inc_pareto EXCEPT SELECT * FROM bi.inc_pareto) d) AS pareto_differ,
       (SELECT count(*) FROM (SELECT * FROM inc_globals EXCEPT SELECT breaks::text, gold_min, diamond_min, r_rows, f_rows, m_rows,
                                                               history_rows, gamma_gamma_rows FROM bi.inc__globals) d) AS globals_differ;
SELECT customer_id, orders, revenue, last_order_on FROM bi.inc_customers WHERE customer_id IN ('c010', 'c999') ORDER BY 1;
-- a customer whose every order is deleted leaves the profile, its cut points and tallies
DELETE FROM shop_orders WHERE customer = 'c999';
SELECT refresh, customers, changed FROM persona.refresh_profile('inc');
SELECT (SELECT (breaks::text::jsonb ->> 'n')::int FROM bi.inc__globals) AS ranked,
       (SELECT sum(customers) FROM bi.inc_segments) AS in_segments,
       (SELECT count(*) FROM bi.inc_customers WHERE customer_id = 'c999') AS c999_rows;
-- TRUNCATE makes the next refresh a full one
TRUNCATE shop_orders;
SELECT refresh, customers FROM persona.refresh_profile('inc');
SELECT count(*) FROM bi.inc_customers;

-- errors
\set SHOW_CONTEXT never
SELECT persona.create_profile('Bad Name', 'shop_orders');
SELECT persona.create_profile('a__b', 'shop_orders');
SELECT persona.create_profile('shop', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', schema => 'bi');
SELECT persona.create_profile('x', 'shop_orders');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'customer', amount_col => 'total');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'customer');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', time_zone => 'CST');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', language => 'fr');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', materialized => false, incremental => true);
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', parts => '{segments,charts}');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', bins => 11);
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', scheme => 'nope');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', pii => '{"phone": "phone"}');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', holdout_days => 30);
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', schema => 'persona');
SELECT persona.create_profile('x', 'shop_orders', customer_col => 'customer', time_col => 'placed_at', amount_col => 'total', schema => 'nowhere');
SELECT persona.create_profile('x', 'shop_num', customer_col => 'customer_id', incremental => true);
SELECT persona.create_profile(NULL, 'shop_orders');
SELECT persona.create_profile('x', 'no_such_table');
SELECT persona.refresh_profile('nope');
SELECT persona.refresh_profile('shop', incremental => true);
SELECT persona.drop_profile('nope');
SELECT persona.schedule_refresh('shop', '5 seconds');
ALTER TABLE shop_orders RENAME total TO amount_paid;
SELECT persona.refresh_profile('shop');
ALTER TABLE shop_orders RENAME amount_paid TO total;
-- errors from the rows are reported as they are, naming the profile
INSERT INTO shop_orders VALUES (2000, 'c001', '2024-05-01 10:00+00', 'NaN');
SELECT persona.refresh_profile('shop');
DELETE FROM shop_orders WHERE order_id = 2000;
-- a user view on a profile view blocks drop_profile unless cascade
CREATE VIEW my_report AS SELECT segment, customers FROM bi.shop_segments;
SELECT persona.drop_profile('shop');
SELECT persona.drop_profile('shop', cascade => true);
SELECT to_regclass('my_report') AS my_report_gone, count(*) AS profiles FROM persona.profiles GROUP BY 1;
-- the first statement of a new session (persona's library not loaded yet)
\c
SELECT persona.drop_profile('inc');
SELECT count(*) AS relations_left FROM pg_class WHERE relnamespace = 'bi'::regnamespace;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'shop_orders'::regclass AND NOT tgisinternal;
