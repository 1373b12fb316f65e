-- Incremental refresh equals a full rebuild, round after round: one
-- incremental profile and one refreshed fully, on the same orders (text
-- customer keys, some orders without an amount, a user segment scheme),
-- through seeded rounds of inserted, late, updated and deleted orders and
-- deleted customers that move the cut points.  After each round every
-- relation a reader sees, and the weighted rows and tallies behind them,
-- are the same in both.  Then the scheme's rules change: the tallies are
-- recomputed, not corrected.
BEGIN;
SET client_min_messages = warning;
SET persona.progress = off;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(45);
SELECT setseed(0.7);

CREATE TABLE o (id serial PRIMARY KEY, cust text, at timestamptz, amount numeric(10,2));
INSERT INTO o (cust, at, amount)
SELECT 'u' || (1 + floor(random() * 400))::int, timestamptz '2024-01-01 00:00+08' + random() * interval '360 days',
       CASE WHEN random() < 0.03 THEN NULL ELSE round((5 + random() * 200)::numeric, 2) END
FROM generate_series(1, 4000);
CREATE INDEX ON o (cust);
INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, f_min, m_min, m_max) VALUES
  ('shop', 1, 'VIP', '贵宾', 4, 4, 4, 10), ('shop', 2, 'Active', '活跃', 3, 1, 1, 10),
  ('shop', 3, 'Big spender', '大额', 1, 1, 5, 10), ('shop', 4, 'Other', '其他', 1, 1, 1, 10);

SELECT isnt_empty($$SELECT persona.create_profile('inc', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'Asia/Shanghai', scheme => 'shop',
                                                  incremental => true, parts => '{segments,lifecycle,pareto}')$$,
                  'the incremental profile is created');
SELECT isnt_empty($$SELECT persona.create_profile('ref', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'Asia/Shanghai', scheme => 'shop',
                                                  parts => '{segments,lifecycle,pareto}')$$,
                  'the reference profile is created');

-- One round of changes, then both refreshed; returns the differing rows of
-- every relation (0 when equal) and how the incremental profile refreshed.
CREATE FUNCTION pg_temp.round(k int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d bigint := 0;
    n bigint;
    kind text;
    rel text;
BEGIN
    INSERT INTO o (cust, at, amount)
    SELECT 'u' || (1 + floor(random() * 460))::int,          -- new customers too
           CASE WHEN random() < 0.2 THEN timestamptz '2024-01-01 00:00+08' + random() * interval '200 days'   -- late
                ELSE timestamptz '2024-12-20 00:00+08' + random() * interval '12 days' END,                  -- some after as_of
           CASE WHEN random() < 0.05 THEN NULL ELSE round((5 + random() * 400 * k)::numeric, 2) END          -- bigger each round: M cuts move
    FROM generate_series(1, 150);
    UPDATE o SET amount = amount + 7 WHERE id IN (SELECT id FROM o ORDER BY random() LIMIT 30);
    DELETE FROM o WHERE id IN (SELECT id FROM o ORDER BY random() LIMIT 30);
    DELETE FROM o WHERE cust = (SELECT cust FROM o GROUP BY cust ORDER BY random() LIMIT 1);   -- a customer leaves
    SELECT refresh INTO kind FROM persona.refresh_profile('inc');
    PERFORM persona.refresh_profile('ref');
    FOREACH rel IN ARRAY ARRAY['customers', 'segments', 'lifecycle'] LOOP
        EXECUTE format('SELECT count(*) FROM ((SELECT * FROM inc_%1$s EXCEPT SELECT * FROM ref_%1$s)
                                              UNION ALL (SELECT * FROM ref_%1$s EXCEPT SELECT * FROM inc_%1$s)) x', rel)
            INTO STRICT n;
        d := d + n;
    END LOOP;
    d := d + (SELECT count(*) FROM (SELECT customers, revenue, top_share, top_revenue_share, revenue_share, customer_share FROM inc_pareto
                                    EXCEPT SELECT customers, revenue, top_share, top_revenue_share, revenue_share, customer_share FROM ref_pareto) x);
    d := d + (SELECT count(*) FROM inc__globals i, ref__globals r
              WHERE i.breaks::text IS DISTINCT FROM r.breaks::text OR i.gold_min IS DISTINCT FROM r.gold_min
                 OR i.diamond_min IS DISTINCT FROM r.diamond_min OR i.r_rows IS DISTINCT FROM r.r_rows
                 OR i.f_rows IS DISTINCT FROM r.f_rows OR i.m_rows IS DISTINCT FROM r.m_rows);
    RETURN d || ' ' || kind;
END $$;

SELECT is(pg_temp.round(1), '0 incremental', 'round 1: the incremental profile equals the full rebuild');
SELECT is(pg_temp.round(2), '0 incremental', 'round 2');
SELECT is(pg_temp.round(3), '0 incremental', 'round 3');
SELECT is(pg_temp.round(4), '0 incremental', 'round 4');
SELECT is(pg_temp.round(5), '0 incremental', 'round 5');
SELECT isnt((SELECT g.breaks::text FROM inc__globals g), NULL, 'the cut points are computed');
SELECT cmp_ok((SELECT count(DISTINCT segment)::int FROM inc_segments), '>=', 3, 'the user scheme yields its segments');

-- tallies are corrected, not recomputed, on the same day: a corrupted tally stays corrupted
-- until a full refresh (which is how this test knows the correction path ran)
UPDATE inc__lifecycle SET customers = customers + 1000 WHERE lifecycle = (SELECT lifecycle FROM inc__lifecycle LIMIT 1);
INSERT INTO o (cust, at, amount) VALUES ('u1', '2024-12-30 10:00+08', 10);
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'an incremental refresh');
SELECT is((SELECT sum(customers)::bigint FROM inc_lifecycle) - (SELECT sum(customers)::bigint FROM ref_lifecycle), 1000::bigint,
          'it corrected the stored tallies (the planted 1,000 is still there)');
SELECT is((SELECT refresh FROM persona.refresh_profile('inc', incremental => false)), 'full', 'a full refresh');
SELECT persona.refresh_profile('ref') \g /dev/null
SELECT is((SELECT sum(customers)::bigint FROM inc_lifecycle), (SELECT sum(customers)::bigint FROM ref_lifecycle),
          'the full refresh recomputed them');

-- a changed rule of the scheme: the next incremental refresh recomputes the tallies
UPDATE persona.segment_rules SET segment = 'Loyal' WHERE scheme = 'shop' AND priority = 2;
UPDATE inc__segments SET customers = customers + 1000 WHERE segment = 'VIP';
INSERT INTO o (cust, at, amount) VALUES ('u2', '2024-12-30 11:00+08', 12);
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'an incremental refresh after the rule changed');
SELECT persona.refresh_profile('ref') \g /dev/null
SELECT is((SELECT count(*)::int FROM ((SELECT * FROM inc_segments EXCEPT SELECT * FROM ref_segments)
                                      UNION ALL (SELECT * FROM ref_segments EXCEPT SELECT * FROM inc_segments)) x), 0,
          'segments recomputed with the new rule (the planted error is gone)');
SELECT ok(EXISTS (SELECT FROM inc_segments WHERE segment = 'Loyal'), 'the renamed segment appears');

-- orders after the as-of day wait for their day: changes to them (amount, deletion, another
-- customer, an earlier order moved past the day) count when the day comes, not the copies
-- taken when they were inserted
UPDATE o SET amount = amount * 3 + 1 WHERE id IN (SELECT id FROM o WHERE at >= '2025-01-01 00:00+08' AND amount IS NOT NULL ORDER BY id LIMIT 20);
DELETE FROM o WHERE id IN (SELECT id FROM o WHERE at >= '2025-01-01 00:00+08' ORDER BY id DESC LIMIT 10);
UPDATE o SET cust = 'u1' WHERE id IN (SELECT id FROM o WHERE at >= '2025-01-01 00:00+08' AND cust <> 'u1' ORDER BY id LIMIT 5);
UPDATE o SET at = '2025-01-15 12:00+08' WHERE id IN (SELECT id FROM o WHERE at < '2024-12-31 00:00+08' ORDER BY id LIMIT 5);
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'an incremental refresh after changes to waiting orders');

-- a new as-of day (a profile following "now" moves every recency): rows and tallies from every customer
SELECT is((SELECT count(*)::int FROM persona.profiles WHERE name IN ('inc', 'ref')), 2, 'both profiles registered');
UPDATE persona.profiles SET as_of = '2025-01-31' WHERE name IN ('inc', 'ref');
SELECT is((SELECT refresh FROM persona.refresh_profile('inc')), 'incremental', 'an incremental refresh on a later day');
SELECT persona.refresh_profile('ref') \g /dev/null
SELECT is((SELECT count(*)::int FROM ((SELECT * FROM inc_customers EXCEPT SELECT * FROM ref_customers)
                                      UNION ALL (SELECT * FROM ref_customers EXCEPT SELECT * FROM inc_customers)) x), 0,
          'customers equal on the later day');
SELECT is((SELECT count(*)::int FROM ((SELECT * FROM inc_segments EXCEPT SELECT * FROM ref_segments)
                                      UNION ALL (SELECT * FROM ref_segments EXCEPT SELECT * FROM inc_segments)) x), 0,
          'segments equal on the later day');
SELECT is((SELECT count(*)::int FROM ((SELECT * FROM inc_lifecycle EXCEPT SELECT * FROM ref_lifecycle)
                                      UNION ALL (SELECT * FROM ref_lifecycle EXCEPT SELECT * FROM inc_lifecycle)) x), 0,
          'lifecycle equal on the later day');
SELECT is((SELECT i.m_rows = r.m_rows AND i.r_rows = r.r_rows FROM inc__globals i, ref__globals r), true,
          'weighted rows equal on the later day');

-- inserted orders alone are merged from the captured rows: the refresh
-- reads no order (customers with updated or deleted orders are recomputed
-- from the orders table, so then it does)
CREATE TEMP TABLE reads AS SELECT seq_scan + coalesce(idx_scan, 0) AS n FROM pg_stat_xact_user_tables WHERE relid = 'o'::regclass;
INSERT INTO o (cust, at, amount) VALUES ('u1', '2025-01-30 10:00+08', 12.50), ('u-new', '2025-01-30 11:00+08', 8);
SELECT is((SELECT changed FROM persona.refresh_profile('inc')), 2::bigint, 'an incremental refresh merges the two customers of the inserted orders');
SELECT is((SELECT x.seq_scan + coalesce(x.idx_scan, 0) - r.n FROM pg_stat_xact_user_tables x, reads r WHERE x.relid = 'o'::regclass), 0::bigint,
          'and reads no order to do so');
UPDATE reads SET n = (SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relid = 'o'::regclass);
UPDATE o SET amount = amount + 1 WHERE id = (SELECT min(id) FROM o WHERE amount IS NOT NULL);
SELECT cmp_ok((SELECT changed FROM persona.refresh_profile('inc')), '>=', 1::bigint, 'an updated order: its customer recomputed');
SELECT cmp_ok((SELECT x.seq_scan + coalesce(x.idx_scan, 0) - r.n FROM pg_stat_xact_user_tables x, reads r WHERE x.relid = 'o'::regclass), '>', 0::bigint,
              'from the orders table');
SELECT persona.refresh_profile('ref') \g /dev/null
SELECT is((SELECT count(*)::int FROM ((SELECT * FROM inc_customers EXCEPT SELECT * FROM ref_customers)
                                      UNION ALL (SELECT * FROM ref_customers EXCEPT SELECT * FROM inc_customers)) x), 0,
          'customers equal after both');

-- With the models part on later days (a profile following "now"): the
-- weighted rows hold no day, so a later day merges the changed customers'
-- rows, as the same day does (a row planted where no fit reads it, a first
-- order after every as-of day, is still there afterwards), and equal a
-- rebuild's; the fits agree to the optimiser's tolerance (the incremental
-- one starts at the previous fit).
SELECT isnt_empty($$SELECT persona.create_profile('incm', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2025-01-31', time_zone => 'Asia/Shanghai', incremental => true,
                                                  parts => '{segments,lifecycle,models}')$$, 'an incremental profile with models');
SELECT isnt_empty($$SELECT persona.create_profile('refm', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2025-01-31', time_zone => 'Asia/Shanghai',
                                                  parts => '{segments,lifecycle,models}')$$, 'its reference');
UPDATE incm__globals SET history_rows = persona.weighted_rows(history_rows, '{{0,0,99999,1}}');
INSERT INTO o (cust, at, amount)
SELECT 'u' || (1 + floor(random() * 470))::int, timestamptz '2025-01-31 00:00+08' + random() * interval '9 days', round((5 + random() * 300)::numeric, 2)
FROM generate_series(1, 120);
UPDATE persona.profiles SET as_of = '2025-02-09' WHERE name IN ('incm', 'refm');
SELECT is((SELECT refresh FROM persona.refresh_profile('incm')), 'incremental', 'an incremental refresh on a later day');
SELECT persona.refresh_profile('refm') \g /dev/null
SELECT is((SELECT persona.weighted_rows(i.history_rows, '{{0,0,99999,-1}}') = r.history_rows FROM incm__globals i, refm__globals r), true,
          'the purchase histories were merged (the planted row is there) and equal the rebuild''s');
SELECT is((SELECT i.r_rows = r.r_rows AND i.f_rows = r.f_rows AND i.m_rows = r.m_rows AND i.gamma_gamma_rows = r.gamma_gamma_rows
                  AND i.breaks::text = r.breaks::text AND i.as_of = r.as_of
           FROM incm__globals i, refm__globals r), true, 'the other weighted rows and the cut points equal the rebuild''s');
-- (the likelihood, not the parameters: on these few customers it is flat in a)
SELECT ok((SELECT abs((i.bgnbd).loglik - (r.bgnbd).loglik) < 1e-6 * abs((r.bgnbd).loglik) AND (i.bgnbd).customers = (r.bgnbd).customers
           FROM incm__globals i, refm__globals r), 'the BG/NBD fit of the later day reaches the rebuild''s likelihood, over the same customers');
SELECT is((SELECT count(*)::int FROM (SELECT * FROM incm_segments EXCEPT SELECT * FROM refm_segments) x)
        + (SELECT count(*)::int FROM (SELECT * FROM refm_lifecycle EXCEPT SELECT * FROM incm_lifecycle) x), 0,
          'segments and lifecycle equal on the later day');
-- the BG/NBD rows of one day, kept by an earlier build: its next refresh is a full one
ALTER TABLE incm__globals RENAME COLUMN history_rows TO bgnbd_rows;
SELECT is((SELECT refresh FROM persona.refresh_profile('incm')), 'full', 'a profile with the rows of an earlier build is refreshed fully');
SELECT is((SELECT i.history_rows = r.history_rows FROM incm__globals i, refm__globals r), true, 'which computes its purchase histories');

-- A profile following now (as_of NULL) whose last refresh was days ago: no registry change,
-- no redefinition, the later-day merge alone (the globals and registry set back by hand)
SELECT isnt_empty($$SELECT persona.create_profile('nowi', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  time_zone => 'Asia/Shanghai', incremental => true, parts => '{segments,lifecycle,models}')$$,
                  'an incremental profile following now');
SELECT isnt_empty($$SELECT persona.create_profile('nowr', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  time_zone => 'Asia/Shanghai', parts => '{segments,lifecycle,models}')$$, 'its reference');
UPDATE nowi__globals SET as_of = as_of - 5, history_rows = persona.weighted_rows(history_rows, '{{0,0,99999,1}}');
UPDATE persona.profiles SET refreshed_as_of = refreshed_as_of - 5 WHERE name = 'nowi';
INSERT INTO o (cust, at, amount)
SELECT 'u' || (1 + floor(random() * 470))::int, timestamptz '2025-03-01 00:00+08' + random() * interval '20 days', round((5 + random() * 300)::numeric, 2)
FROM generate_series(1, 80);
SELECT is((SELECT refresh FROM persona.refresh_profile('nowi')), 'incremental', 'its refresh five days later is incremental');
SELECT persona.refresh_profile('nowr') \g /dev/null
SELECT is((SELECT persona.weighted_rows(i.history_rows, '{{0,0,99999,-1}}') = r.history_rows AND i.r_rows = r.r_rows AND i.m_rows = r.m_rows
                  AND i.breaks::text = r.breaks::text AND i.as_of = r.as_of AND i.as_of = (now() AT TIME ZONE 'Asia/Shanghai')::date
           FROM nowi__globals i, nowr__globals r), true, 'it merged its rows (the planted one is there) and equals a rebuild of today');
SELECT is((SELECT count(*)::int FROM (SELECT * FROM nowi_segments EXCEPT SELECT * FROM nowr_segments) x)
        + (SELECT count(*)::int FROM (SELECT * FROM nowr_lifecycle EXCEPT SELECT * FROM nowi_lifecycle) x), 0,
          'its segments and lifecycle equal the rebuild''s');

-- DROP EXTENSION persona CASCADE takes the capture triggers with it: writes to orders go on,
-- and nothing queues them for a profile that is gone
SELECT cmp_ok((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'o'::regclass AND NOT tgisinternal), '>', 0, 'orders has capture triggers');
DROP EXTENSION persona CASCADE;
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'o'::regclass AND NOT tgisinternal), 0,
          'DROP EXTENSION persona CASCADE drops them with the capture functions');
SELECT lives_ok($$INSERT INTO o (cust, at, amount) VALUES ('u1', '2025-02-01 10:00+08', 1)$$, 'and orders takes writes');

SELECT * FROM finish();
ROLLBACK;
