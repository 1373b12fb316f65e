-- Profiles and privileges: who may read a profile, row-level security,
-- writers of orders and incremental capture, the internal relations.
BEGIN;
SET client_min_messages = warning;
SET persona.progress = off;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(40);

CREATE ROLE persona_t_owner;
CREATE ROLE persona_t_bi;          -- may read the profile views, not the orders
CREATE ROLE persona_t_analyst;     -- may read both
CREATE ROLE persona_t_region;      -- reads orders under row-level security
CREATE ROLE persona_t_writer;      -- inserts orders only
CREATE SCHEMA bi AUTHORIZATION persona_t_owner;
GRANT USAGE ON SCHEMA bi TO PUBLIC;
GRANT INSERT, SELECT, UPDATE, DELETE ON persona.profiles TO persona_t_owner;
GRANT SELECT ON persona.profiles TO PUBLIC;

CREATE TABLE sales (customer_id int, ordered_at timestamptz, amount numeric, region text);
INSERT INTO sales
SELECT 1 + i % 40, timestamptz '2024-01-01 08:00+00' + (i * 37 % 300) * interval '1 day' + (i % 11) * interval '1 hour',
       10 + i % 90, CASE WHEN i % 40 < 20 THEN 'north' ELSE 'south' END
FROM generate_series(1, 800) i;
ALTER TABLE sales OWNER TO persona_t_owner;
GRANT SELECT ON sales TO persona_t_analyst, persona_t_region;
GRANT INSERT ON sales TO persona_t_writer;

CREATE FUNCTION pg_temp.plan_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS
$$ BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q; END $$;
SET ROLE persona_t_owner;
SELECT lives_ok($$SELECT persona.create_profile('stored', 'sales', schema => 'bi', as_of => '2024-12-31',
                                                 time_zone => 'UTC', incremental => true, parts => '{segments,customer_tags}')$$,
                'the owner of orders creates a materialized, incremental profile');
SELECT lives_ok($$SELECT persona.create_profile('live', 'sales', schema => 'bi', as_of => '2024-12-31',
                                                 time_zone => 'UTC', materialized => false, parts => '{segments}')$$,
                'and a profile computed by every read');
GRANT SELECT ON bi.stored_customers, bi.stored_segments, bi.stored_customer_tags, bi.live_customers, bi.live_segments
    TO persona_t_bi, persona_t_analyst, persona_t_region;
-- the live views run as the reader: readers need the internal views too
GRANT SELECT ON bi.live__state, bi.live__globals, bi.live__scored TO persona_t_bi, persona_t_analyst, persona_t_region;
SELECT is((SELECT count(*) FROM bi.stored_customers), 40::bigint, 'the owner reads every customer');
RESET ROLE;
SELECT persona.starter_tag_rules('bi.stored_customers') \g /dev/null
SET ROLE persona_t_owner;
SELECT persona.refresh_profile('stored') \g /dev/null
RESET ROLE;

-- internal relations are not for readers
SELECT is(has_table_privilege('persona_t_analyst', 'bi.stored__state', 'SELECT'), false,
          'readers get no privilege on the internal state table');
SELECT is((SELECT count(*)::int FROM information_schema.tables WHERE table_schema = 'bi'
             AND table_name LIKE 'stored\_\_%' AND has_table_privilege('persona_t_analyst', format('bi.%I', table_name), 'SELECT')),
          0, 'so BI tools listing tables they may read do not see them');

SET ROLE persona_t_bi;
SELECT throws_ok($$SELECT count(*) FROM bi.stored_customers$$, '42501', 'permission denied for profile "stored"',
                 'a role that may not read orders may not read the profile computed from them');
SELECT throws_ok($$SELECT count(*) FROM bi.stored_segments$$, '42501', 'permission denied for profile "stored"',
                 'nor its summaries');
SELECT throws_ok($$SELECT count(*) FROM bi.live_customers$$, '42501', NULL,
                 'nor a live profile');
SELECT throws_ok($$SELECT count(*) FROM bi.stored__state$$, '42501', NULL,
                 'nor the internal state table');
RESET ROLE;

-- The stored rows sit behind a security barrier with the guard: a
-- reader's function sees no row first, wherever the planner puts it, in
-- one process or in parallel, and the planner reads no statistics of the
-- rows for a reader's operator (its estimator would call the operator's
-- function on the stored values).
ANALYZE bi.stored__state;
CREATE SEQUENCE leaks;
GRANT USAGE ON SEQUENCE leaks TO persona_t_bi;
CREATE FUNCTION pg_temp.leak(x anyelement) RETURNS boolean LANGUAGE plpgsql VOLATILE COST 0.0001 AS
$$ BEGIN PERFORM nextval('leaks'); RETURN true; END $$;
CREATE FUNCTION pg_temp.leak_raise(x anyelement) RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 0.0001 AS
$$ BEGIN RAISE EXCEPTION 'leaked %', x; END $$;
SET ROLE persona_t_bi;
SELECT throws_ok($$SELECT count(*) FROM bi.stored_customers WHERE pg_temp.leak(revenue)$$, '42501', 'permission denied for profile "stored"',
                 'a function of the reader in WHERE: the guard first');
SELECT throws_ok($$SELECT c.customer_id FROM bi.stored_customers c JOIN generate_series(1, 3) g ON pg_temp.leak(c.customer_id + g) ORDER BY pg_temp.leak(c.revenue)$$,
                 '42501', 'permission denied for profile "stored"', 'in a join and an ORDER BY');
SELECT throws_ok($$SELECT count(*) FROM generate_series(1, 3) g LEFT JOIN bi.stored_customers c ON pg_temp.leak(c.revenue)$$,
                 '42501', 'permission denied for profile "stored"', 'in an outer join''s condition');
SELECT throws_ok($$SELECT count(*) FROM generate_series(1, 3) g WHERE EXISTS (SELECT FROM bi.stored_customers t WHERE pg_temp.leak(t.customer_id))$$,
                 '42501', 'permission denied for profile "stored"', 'in a correlated subquery');
SELECT throws_ok($$SELECT count(*) FROM generate_series(1, 3) g
                   LEFT JOIN (bi.stored_customers c JOIN LATERAL (SELECT 1 WHERE pg_temp.leak(c.as_of)) l ON true) ON true$$,
                 '42501', 'permission denied for profile "stored"', 'on the as-of day alone, beside the view under an outer join');
CREATE FUNCTION pg_temp.peek(a int, b int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RAISE EXCEPTION 'peeked at %', a; END $$;
CREATE OPERATOR pg_temp.<<< (LEFTARG = int, RIGHTARG = int, FUNCTION = pg_temp.peek, RESTRICT = scalarltsel);
CREATE FUNCTION pg_temp.peek_numeric(a numeric, b numeric) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
$$ BEGIN RAISE EXCEPTION 'peeked at %', a; END $$;
CREATE OPERATOR pg_temp.=== (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = pg_temp.peek_numeric, RESTRICT = eqsel);
SELECT lives_ok($$EXPLAIN SELECT 1 FROM bi.stored_customers WHERE customer_id OPERATOR(pg_temp.<<<) 0$$,
                'a reader''s operator is planned without the histogram of the stored rows');
SELECT lives_ok($$EXPLAIN SELECT 1 FROM bi.stored_customers WHERE revenue OPERATOR(pg_temp.===) 0$$,
                'nor their most common values');
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT throws_ok($$SELECT segment, count(*) FROM bi.stored_customers WHERE pg_temp.leak_raise(revenue) GROUP BY segment$$,
                 '42501', 'permission denied for profile "stored"', 'in a plan with parallel workers');
SELECT throws_ok($$SELECT tag, count(*) FROM bi.stored_customer_tags WHERE pg_temp.leak_raise(tag || customer_id) GROUP BY tag$$,
                 '42501', 'permission denied for profile "stored"', 'and in the per-tag view');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET ROLE;
SELECT is((SELECT is_called FROM leaks), false, 'the reader''s function was never called');

SET ROLE persona_t_analyst;
SELECT is((SELECT count(*) FROM bi.stored_customers), 40::bigint, 'a role that may read orders reads the profile');
SELECT is((SELECT sum(customers) FROM bi.stored_segments), 40::numeric, 'and its summaries');
SELECT is((SELECT count(*) FROM bi.live_customers), 40::bigint, 'and the live profile');
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT ok((SELECT string_agg(l, E'\n') FROM pg_temp.plan_lines($$SELECT count(*), sum(revenue), max(as_of), max(segment) FROM bi.stored_customers$$) l)
          ~ 'Partial Aggregate',
          'a read of a stored profile aggregates in parallel workers (its globals are InitPlans, not a join)');
SELECT ok((SELECT string_agg(l, E'\n') FROM pg_temp.plan_lines($$SELECT count(*), max(tag), max(layer) FROM bi.stored_customer_tags$$) l)
          ~ 'Partial Aggregate', 'and so does a read of its per-tag view');
SELECT ok((SELECT count(*) FROM bi.stored_customer_tags) > 0
          AND (SELECT count(*) FROM bi.stored_customer_tags) = (SELECT count(*) FROM bi.stored_customers, unnest(tags)),
          'the per-tag view has a row for each tag of each customer');
SELECT is((SELECT array_agg(x ORDER BY x) FROM (SELECT segment || count(*) || sum(revenue) AS x FROM bi.stored_customers GROUP BY segment) q),
          (SELECT array_agg(x ORDER BY x) FROM (SELECT segment || count(*) || sum(revenue) AS x FROM bi.live_customers GROUP BY segment) q),
          'with the rows of the profile computed by the read');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT throws_ok($$SELECT persona.refresh_profile('stored')$$, '42501', NULL,
                 'but may not refresh a profile it does not own');
RESET ROLE;

-- row-level security: a stored profile cannot apply it, so it refuses
-- every reader it applies to; a live profile computes as the reader
ALTER TABLE sales ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON sales USING (true);
CREATE POLICY north_only ON sales AS RESTRICTIVE TO persona_t_region USING (region = 'north');
SET ROLE persona_t_analyst;
SELECT throws_ok($$SELECT count(*) FROM bi.stored_customers$$, '42501', 'profile "stored" cannot be read under row-level security',
                 'even when its policies happen to show every row');
RESET ROLE;
SET ROLE persona_t_region;
SELECT throws_ok($$SELECT count(*) FROM bi.stored_customers$$, '42501', 'profile "stored" cannot be read under row-level security',
                 'row-level security on orders: a stored profile refuses a reader it applies to');
SELECT is((SELECT count(*) FROM bi.live_customers), 20::bigint,
          'a live profile computes from the rows the reader may see');
SELECT is((SELECT sum(customers) FROM bi.live_segments), 20::numeric, 'and so do its summaries');
RESET ROLE;

-- writers of orders need no privilege on the profile: the capture trigger runs as its owner
SET ROLE persona_t_writer;
SELECT lives_ok($$INSERT INTO sales VALUES (41, '2024-12-30 10:00+00', 50, 'north')$$,
                'a role that may only insert orders inserts them');
RESET ROLE;
SET ROLE persona_t_owner;
SELECT is((SELECT count(*) FROM bi.stored__pending), 1::bigint, 'the insert is recorded for the next refresh');
SELECT is((SELECT refresh FROM persona.refresh_profile('stored')), 'incremental', 'which merges it');
SELECT is((SELECT count(*) FROM bi.stored_customers), 41::bigint, 'the new customer is in the profile');
RESET ROLE;

-- a role that may write the registry changes only its own profiles' rows
GRANT UPDATE, DELETE ON persona.profiles TO persona_t_analyst;
SET ROLE persona_t_analyst;
UPDATE persona.profiles SET pii = '{"x": "phone) FROM pg_class --"}';
RESET ROLE;
SELECT is((SELECT count(*) FROM persona.profiles WHERE pii IS NOT NULL), 0::bigint,
          'another role''s registry rows cannot be changed (row-level security on persona.profiles)');
SET ROLE persona_t_analyst;
RESET ROLE;


SET ROLE persona_t_owner;
SELECT persona.create_profile('today', 'sales', schema => 'bi', time_zone => 'Pacific/Kiritimati', parts => '{}');
SELECT is((SELECT (as_of IS NULL, refreshed_as_of) FROM persona.profiles WHERE name = 'today'),
          (true, (now() AT TIME ZONE 'Pacific/Kiritimati')::date),
          'without as_of a profile is as of the refresh day in its time zone (UTC+14 here)');
SELECT is((SELECT max(as_of) FROM bi.today_customers), (now() AT TIME ZONE 'Pacific/Kiritimati')::date,
          'and its rows say so');
RESET ROLE;

-- creating a profile needs CREATE on the schema
CREATE SCHEMA closed;
SET ROLE persona_t_owner;
SELECT throws_ok($$SELECT persona.create_profile('other', 'sales', schema => 'closed')$$, '42501', 'permission denied for schema closed',
                 'create_profile in a schema without CREATE privilege: 42501');
RESET ROLE;
SELECT is((SELECT count(*) FROM persona.profiles), 3::bigint, 'the failed call registered nothing');

SELECT * FROM finish();
ROLLBACK;
