-- Profiles over degenerate orders are read, refreshed and reported without
-- an error: no order at all, customers who all spent the same (the
-- value-tier percentiles tie), and a spend distribution so heavy-tailed
-- that the Gamma-Gamma fit has q <= 1 (no finite expected spend: CLV is
-- NULL and the refresh warns, instead of every read of the customers
-- failing).
BEGIN;
SET client_min_messages = warning;
SET persona.progress = off;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(18);

-- no orders
CREATE TABLE none (cust int, at timestamptz, amount numeric);
SELECT isnt_empty($$SELECT persona.create_profile('none', 'none', customer_col => 'cust', time_col => 'at',
                                                  as_of => '2024-12-31', time_zone => 'UTC', incremental => true)$$,
                  'a profile of an empty orders table');
SELECT is((SELECT count(*) FROM none_customers), 0::bigint, 'no customers');
SELECT ok(position('data-key="no_customers"' IN persona.profile_report('none')) > 0,
          'its report says there are no customers instead of failing on empty charts');
SELECT ok(position('<section id="quality"' IN persona.profile_report('none')) > 0, 'and still shows the data quality checks');

-- every customer spending the same
CREATE TABLE same (cust int, at timestamptz, amount numeric);
INSERT INTO same SELECT g % 10, timestamptz '2024-01-01 00:00+00' + g * interval '1 day', 10 FROM generate_series(1, 50) g;
SELECT isnt_empty($$SELECT persona.create_profile('same', 'same', customer_col => 'cust', time_col => 'at',
                                                  as_of => '2024-12-31', time_zone => 'UTC')$$,
                  'a profile of customers who all spent the same');
SELECT results_eq($$SELECT value_tier, count(*)::int FROM same_customers GROUP BY 1$$, $$VALUES ('diamond', 10)$$,
                  'tied tier thresholds: every customer at them is diamond');
SELECT ok(length(persona.profile_report('same')) > 0, 'its report');
-- computed by every read: a fit the data do not admit is NULL, the read does not fail
SELECT isnt_empty($$SELECT persona.create_profile('same_live', 'same', customer_col => 'cust', time_col => 'at',
                                                  as_of => '2024-12-31', time_zone => 'UTC', materialized => false)$$,
                  'a profile of views over the same orders');
SELECT is((SELECT count(*) FILTER (WHERE clv_12m IS NULL) FROM (SELECT * FROM same_live_customers) c), 10::bigint,
          'its customers are read, CLV NULL (every repeat buyer alike: no spend fit)');
SELECT is((SELECT count(*) FROM same_live_models WHERE model = 'gamma_gamma'), 0::bigint, 'no spend fit in its models');

-- a heavy tail of spend
CREATE TABLE heavy (cust int, at timestamptz, amount numeric);
INSERT INTO heavy SELECT g % 20, timestamptz '2024-01-01 00:00+00' + g * interval '1 day', 1e20 * g FROM generate_series(1, 200) g;
SET client_min_messages = error;    -- the refresh warns that CLV is NULL
SELECT isnt_empty($$SELECT persona.create_profile('heavy', 'heavy', customer_col => 'cust', time_col => 'at',
                                                  as_of => '2024-12-31', time_zone => 'UTC')$$,
                  'a profile whose spend fit has q <= 1');
SELECT cmp_ok((SELECT value FROM heavy_models WHERE model = 'gamma_gamma' AND parameter = 'q'), '<=', 1::float8, 'the fit''s q is at most 1');
SELECT is((SELECT count(clv_12m) FROM heavy_customers), 0::bigint, 'CLV is NULL for every customer');
SELECT is((SELECT count(p_alive) FROM heavy_customers), 20::bigint, 'P(alive) is still given');
SELECT ok(position('<section id="models"' IN persona.profile_report('heavy')) > 0, 'its report, with the models section');

-- a holdout part whose calibration period has no repeat buyer: the rest of
-- the profile is refreshed, the holdout view is empty (the refresh warns)
CREATE TABLE late (cust int, at timestamptz, amount numeric);
INSERT INTO late SELECT i, timestamptz '2024-06-01 00:00+00' + i * interval '1 day', 10 FROM generate_series(1, 40) i;
INSERT INTO late SELECT i, timestamptz '2024-12-25 00:00+00' + i * interval '1 hour', 12 FROM generate_series(1, 20) i;
SELECT isnt_empty($$SELECT persona.create_profile('late', 'late', customer_col => 'cust', time_col => 'at', as_of => '2024-12-31',
                                                  time_zone => 'UTC', parts => '{segments,holdout}', holdout_days => 30)$$,
                  'a holdout part with no repeat buyer before the holdout period');
SELECT is((SELECT count(*) FROM late_holdout), 0::bigint, 'its holdout view is empty');
SELECT is((SELECT sum(customers) FROM late_segments), 40::numeric, 'the rest of the profile is there');

SELECT * FROM finish();
ROLLBACK;
