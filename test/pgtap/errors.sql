-- Every documented bad input gets its SQLSTATE and message.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(99);

CREATE TEMP TABLE o (c int, t timestamptz, a numeric);
INSERT INTO o VALUES (1, '2024-01-01', 10), (1, '2024-01-05', 20);

-- order_stats
SELECT throws_ok($$SELECT persona.order_stats(t, 'NaN', '2024-02-01') FROM o$$,
                 '22023', 'amount must be a finite number', 'NaN amount');
SELECT throws_ok($$SELECT persona.order_stats(t, '-Infinity', '2024-02-01') FROM o$$,
                 '22023', 'amount must be a finite number', 'infinite amount');
SELECT throws_ok($$SELECT persona.order_stats('-infinity', a, '2024-02-01') FROM o$$,
                 '22008', 'ordered_at must be a finite timestamp', 'infinite timestamp');
SELECT throws_ok($$SELECT persona.order_stats(t, a, 'infinity') FROM o$$,
                 '22008', 'as_of must be a finite timestamp', 'infinite as_of');
SELECT throws_ok($$SELECT persona.order_stats(t, a, NULL) FROM o$$,
                 '22004', 'as_of must not be NULL', 'NULL as_of');
SELECT throws_ok($$SELECT persona.order_stats(t, a, t) FROM o$$,
                 '22023', 'as_of must be the same for every row of a group', 'varying as_of');
SELECT throws_ok($$SELECT persona.btyd(persona.order_stats(t, a, '2024-02-01'), 'fortnights') FROM o$$,
                 '22023', 'unknown time unit "fortnights"', 'unknown time unit');

-- rfm literals and constructor
SELECT throws_ok($$SELECT '54'::persona.rfm$$, '22P02', NULL, 'too few digits');
SELECT throws_ok($$SELECT '5x5'::persona.rfm$$, '22P02', NULL, 'not a digit');
SELECT throws_ok($$SELECT '645'::persona.rfm$$, '22P02', NULL, 'score above the scale');
SELECT throws_ok($$SELECT '545/1'::persona.rfm$$, '22P02', NULL, 'scale below 2');
SELECT throws_ok($$SELECT persona.rfm(0, 1, 1)$$, '22003', 'rfm scores must be between 1 and 5', 'score 0');
SELECT throws_ok($$SELECT persona.rfm(1, 1, 1, 1)$$, '22023', 'number of bins must be between 2 and 10', 'one bin');

-- rfm_breaks and scoring
SELECT throws_ok($$SELECT persona.rfm_breaks(1, 1, 1, 11)$$, '22023', 'number of bins must be between 2 and 10', 'eleven bins');
SELECT throws_ok($$SELECT persona.rfm_breaks(1, 1, 1, 5, 'median')$$, '22023', 'unknown rfm_breaks method "median"', 'unknown method');
SELECT throws_ok($$SELECT persona.rfm_breaks(1, 1, 1, 3, 'mean')$$, '22023', 'method "mean" needs exactly 2 bins', 'mean with 3 bins');
SELECT throws_ok($$SELECT persona.rfm_breaks(1, 1, 1, 2, 'thresholds')$$, '22023', 'method "thresholds" is not computed from data', 'thresholds as aggregate method');
SELECT throws_ok($$SELECT persona.rfm_breaks(1, 'NaN', 1)$$, '22023', 'frequency must be a finite number', 'NaN frequency');
SELECT throws_ok($$SELECT persona.rfm_score(1, 1, 'Infinity', '{1}', '{1}', '{1}')$$, '22023', 'monetary must be a finite number', 'infinite monetary');
SELECT throws_ok($$SELECT persona.rfm_thresholds('{3,3}', '{1,2}', '{1,2}')$$, '22023', 'r_days must be strictly ascending', 'repeated threshold');
SELECT throws_ok($$SELECT persona.rfm_thresholds('{1}', '{1,2}', '{1,2}')$$, '22023', NULL, 'threshold counts differ');
SELECT throws_ok($$SELECT persona.rfm_thresholds('{{1},{2}}', '{1,2}', '{1,2}')$$, '2202E', 'r_days must be a one-dimensional array', '2-D thresholds');
SELECT throws_ok($$SELECT '{"bins": 2, "method": "quantile", "n": 1, "r": [1], "f": ["x"], "m": [1]}'::persona.rfm_breaks$$,
                 '22P02', NULL, 'malformed breaks');

-- segments
SELECT throws_ok($$SELECT persona.rfm_segment('555', 'unknown')$$, '42704', 'segment scheme "unknown" does not exist', 'unknown scheme');
SELECT throws_ok($$INSERT INTO persona.segment_rules (scheme, priority, segment) VALUES ('cn8', 1, 'x')$$, '23514', NULL, 'built-in scheme name');

-- pareto
SELECT throws_ok($$SELECT persona.pareto(1, 1.5, 0.8)$$, '22023', 'top_share must be between 0 and 1 (exclusive)', 'share above 1');
SELECT throws_ok($$SELECT persona.pareto(1, 0.2, NULL)$$, '22004', NULL, 'NULL share');

-- customer_profile
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_col => 'c', time_col => 'missing')$$,
                 '42703', NULL, 'missing time column');
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_col => 'a', time_col => 't', amount_col => 'a')$$,
                 '42804', NULL, 'numeric customer column');
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', 'c', 't', 'a', 11)$$,
                 '22023', 'number of bins must be between 2 and 10', 'eleven bins in customer_profile');
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', NULL, 'c', 't', 'a')$$,
                 '22004', NULL, 'NULL as_of in customer_profile');
-- customer_key: the key's type
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_key => NULL::uuid, customer_col => 'c', time_col => 't', amount_col => 'a')$$,
                 '42804', 'customer column "c" is integer, not uuid', 'an integer column is no uuid key');
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_key => NULL::integer, customer_col => 'a', time_col => 't', amount_col => 'a')$$,
                 '42804', 'customer column "a" is numeric, not integer', 'a numeric column is no integer key');
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_key => NULL::point, customer_col => 'c', time_col => 't', amount_col => 'a')$$,
                 '42804', NULL, 'an integer column is no point key');
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_key => NULL::numeric, customer_col => NULL, time_col => 't', amount_col => 'a')$$,
                 '22004', 'arguments of customer_profile must not be NULL', 'NULL customer column with customer_key');
SELECT lives_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', customer_key => NULL::numeric, customer_col => 'a', time_col => 't', amount_col => 'a')$$,
                'a numeric key column with customer_key');
CREATE TEMP TABLE by_point (c point, t timestamptz, a numeric);
SELECT throws_ok($$SELECT * FROM persona.customer_profile('by_point', '2024-02-01', customer_key => NULL::point, customer_col => 'c', time_col => 't', amount_col => 'a')$$,
                 '42883', 'customer key type point has no hash function', 'a key type without a hash function');
SELECT throws_ok($$SELECT * FROM persona.customer_states('by_point', '2024-02-01', 'UTC', customer_key => NULL::point, customer_col => 'c', time_col => 't', amount_col => 'a')$$,
                 '42883', 'customer key type point has no hash function', 'customer_states: a key type without a hash function');
SELECT throws_ok($$SELECT * FROM persona.customer_states('o', '2024-02-01', 'UTC', customer_key => NULL::text, customer_col => 'c', time_col => NULL, amount_col => 'a')$$,
                 '22004', 'arguments of customer_states must not be NULL', 'customer_states: NULL time column with customer_key');
CREATE ROLE persona_tap_nobody;
SET LOCAL ROLE persona_tap_nobody;
SELECT throws_ok($$SELECT * FROM persona.customer_profile('o', '2024-02-01', 'c', 't', 'a')$$,
                 '42501', 'permission denied for table o', 'customer_profile reads with the caller''s rights');
RESET ROLE;

-- lifecycle, funnel, habits, trend, buckets
SELECT throws_ok($$SELECT persona.lifecycle_stage('2024-01-01'::timestamptz, '2024-01-01', 1, NULL)$$, '22004', 'as_of must not be NULL', 'lifecycle without as_of');
SELECT throws_ok($$SELECT persona.lifecycle_stage('2024-01-02'::timestamptz, '2024-01-01', 2, '2024-02-01')$$, '22023', 'last_at must not be before first_at', 'last before first');
SELECT throws_ok($$SELECT persona.lifecycle_stage('2024-01-01'::timestamptz, '2024-01-01', 1, '2024-02-01', decline_factor => 0)$$, '22023', 'lifecycle parameter decline_factor is out of range', 'zero decline factor');
SELECT throws_ok($$SELECT persona.lifecycle_stage('infinity'::timestamptz, 'infinity', 1, 'infinity')$$, '22008', NULL, 'infinite times in lifecycle');
SELECT throws_ok($$SELECT persona.funnel_stage(0, false, -1, false, 0)$$, '22023', 'orders must not be negative', 'negative orders in funnel');
SELECT throws_ok($$SELECT * FROM persona.funnel_report('{1,2}')$$, '22023', NULL, 'short funnel counts');
SELECT throws_ok($$SELECT persona.habits('-infinity'::timestamptz)$$, '22008', 'ordered_at must be a finite timestamp', 'infinite time in habits');
SELECT throws_ok($$SELECT persona.frequency_trend(now(), now(), '0 days')$$, '22023', 'window must be a positive interval', 'empty window');
SELECT throws_ok($$SELECT persona.frequency_trend(now(), now(), '1 day', 0)$$, '22023', NULL, 'zero ratio');
SELECT throws_ok($$SELECT persona.bucket(1, '{3,2}', '{a,b,c}')$$, '22023', 'breaks must be strictly ascending', 'descending breaks');
SELECT throws_ok($$SELECT persona.bucket(1, '{1}', '{a}')$$, '22023', 'need one more label than breaks', 'too few labels');
SELECT throws_ok($$SELECT persona.bucket(1, '{1,NULL}', '{a,b,c}')$$, '22004', 'breaks must not contain NULL', 'NULL break');
SELECT throws_ok($$SELECT persona.value_tier(1, 10, 9.99)$$, '22023', 'diamond_min must not be less than gold_min', 'tier thresholds out of order');

-- tags and BG/NBD
SELECT throws_ok($$SELECT 'a &'::persona.tagquery$$, '22P02', 'invalid input syntax for type tagquery: "a &"', 'malformed tagquery');
SELECT throws_ok($$SELECT repeat('x', 2000)::persona.tagquery$$, '54000', 'tag in tagquery is too long', 'tag too long');
SELECT throws_ok($$SELECT persona.tag_affinity(ARRAY(SELECT 't' || i FROM generate_series(1, 4097) i))$$,
                 '54000', 'tag_affinity supports at most 4096 distinct tags', 'too many distinct tags');
SELECT throws_ok($$SELECT persona.check_tag_rule('o', 'true); SELECT (1')$$, '42601', 'a tag rule must be a single boolean expression', 'rule with a second statement');
SELECT throws_ok($$SELECT persona.bgnbd_fit(0, 0, 1)$$, '22023', 'cannot fit BG/NBD: no customer made a repeat purchase', 'no repeat buyers');
SELECT throws_ok($$SELECT persona.expected_purchases((0.2, 4, 1, 2, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 10, 1, 1, 2)$$,
                 '22023', 'BG/NBD expected purchases are undefined for a = 1 exactly', 'a = 1');
-- predictive value
SELECT throws_ok($$SELECT persona.pareto_nbd_fit(0, 0, 1)$$, '22023', 'cannot fit Pareto/NBD: no customer made a repeat purchase', 'Pareto/NBD without repeat buyers');
SELECT throws_ok($$SELECT persona.bgnbd_fit(1.5, 1, 2)$$, '22023', NULL, 'fractional x');
SELECT throws_ok($$SELECT persona.bgnbd_fit(1, 0, 2)$$, '22023', NULL, 'x > 0 with t_x = 0');
SELECT throws_ok($$SELECT persona.pareto_nbd_fit(1, 3, 2)$$, '22023', NULL, 't_x > T');
SELECT throws_ok($$SELECT persona.bgnbd_fit(1, 1, 'Infinity')$$, '22023', 'T must be a finite number', 'infinite T');
SELECT throws_ok($$SELECT persona.bgnbd_fit(x, 1, 2, 1, p) FROM (VALUES (1, 0.1), (1, 0.2)) v(x, p)$$, '22023', 'the penalty must be the same on every row', 'varying penalty');
SELECT throws_ok($$SELECT persona.gamma_gamma_fit(1, -2)$$, '22023', 'mean_spend must be >= 0, not -2', 'negative mean spend');
SELECT throws_ok($$SELECT persona.gamma_gamma_fit(0, 10)$$, '22023', 'cannot fit Gamma-Gamma: no repeat buyer (x > 0) among 1 rows', 'one-time buyers only');
SELECT throws_ok($$SELECT persona.gamma_gamma_fit(1, 'NaN')$$, '22023', 'mean_spend must be a finite number', 'NaN spend');
SELECT throws_ok($$SELECT persona.expected_spend((6, 1, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 0, NULL)$$, '22023', 'expected spend is infinite for q <= 1 (q = 1)', 'q = 1');
SELECT throws_ok($$SELECT persona.clv((0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, (6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 1, 1, 2, 10, 'fortnights')$$,
                 '22023', 'unknown time unit "fortnights"', 'CLV with an unknown unit');
SELECT throws_ok($$SELECT persona.p_alive((0.2, 'NaN', 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 1, 1, 2)$$, '22023', 'BG/NBD parameters must be positive and finite', 'NaN parameter');
SELECT throws_ok($$SELECT * FROM persona.simulate_bgnbd(0.2, 0, 0.8, 2.4, 10, 39)$$, '22023', 'alpha must be a positive finite number, not 0', 'simulation with alpha = 0');
SELECT throws_ok($$SELECT * FROM persona.simulate_bgnbd(1e6, 1e-6, 0.8, 1e9, 10, 39)$$, '54000', 'a simulated customer made over 100,000,000 purchases', 'runaway simulation');
SELECT throws_ok($$SELECT * FROM persona.holdout('pg_class', now(), now() - interval '1 day')$$, '22023', 'the holdout must end on a later day than the calibration period', 'holdout before calibration');
SELECT throws_ok($$SELECT persona.gamma_gamma_loglik((6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 0, 10)$$,
                 '22023', 'the Gamma-Gamma likelihood is defined for repeat buyers (x > 0) with a positive mean spend only', 'Gamma-Gamma likelihood of a one-time buyer');
SELECT throws_ok($$SELECT persona.bgnbd_fit(x, 1, 2, 1e308) FROM (VALUES (1), (2)) v(x)$$,
                 '22003', 'the log-likelihood is not finite at the starting point', 'weights so large the likelihood overflows');
SELECT throws_ok($$SELECT persona.expected_purchases((0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 1e12)$$,
                 '22003', 'hypergeometric series did not converge', 'a horizon far beyond the model''s time scale');
SELECT throws_ok($$SELECT * FROM persona.simulate_bgnbd(0.2, 4, 0.8, 2.4, -1, 39)$$, '22023', 'customers must be >= 0, not -1', 'negative customer count');
SELECT throws_ok($$SELECT * FROM persona.simulate_pareto_nbd(0.5, 10, 0.6, 11, 10, 39, 0, -1)$$, '22023', 'holdout must be a finite number >= 0, not -1', 'negative holdout');
SELECT throws_ok($$SELECT persona.simulate_mean_spend(6, 4, 15, -1, 0)$$, '22023', 'x must be >= 0, not -1', 'negative x in the spend simulation');
-- found by make fuzz: a tiny q draws a spend rate that underflows to 0
SELECT throws_ok($$SELECT persona.simulate_mean_spend(9007199254740993, 1e-5, 3.686, 6, -9223372036854775808)$$, '22003',
                 'simulated mean spend is out of range for these model parameters', 'spend simulation that overflows');

-- Time units (0.5.0): one wording for an unknown unit everywhere; a model
-- that records its unit rejects another; no unit at all is an error.
SELECT throws_ok($$SELECT persona.time_unit_days('fortnights')$$, '22023', 'unknown time unit "fortnights"', 'time_unit_days: unknown unit');
SELECT throws_ok($$SELECT * FROM persona.holdout('pg_class', '2024-01-01', '2024-02-01', unit => 'fortnights')$$,
                 '22023', 'unknown time unit "fortnights"', 'holdout: the same wording for an unknown unit');
SELECT throws_ok($$SELECT persona.clv((0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'weeks')::persona.bgnbd, (6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 1, 1, 2, 10, 'DAYS')$$,
                 '22023', 'time unit "days" does not match the model''s unit "weeks"', 'CLV in another unit than the model''s');
SELECT throws_ok($$SELECT persona.p_alive((0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'months')::persona.pareto_nbd, (1, 1, 2, 10, 'weeks')::persona.btyd_summary)$$,
                 '22023', 'time unit "weeks" does not match the model''s unit "months"', 'P(alive) of a summary in another unit');
SELECT throws_ok($$SELECT persona.clv((0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, (6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, (1, 1, 2, 10, NULL)::persona.btyd_summary)$$,
                 '22023', 'the time unit is not known', 'CLV with no unit on either side');
SELECT throws_ok($$SELECT persona.bgnbd_fit(s) FROM (VALUES ((1, 1, 2, 10, 'days')::persona.btyd_summary), ((1, 1, 2, 10, 'weeks')::persona.btyd_summary)) v(s)$$,
                 '22023', 'summaries in different time units in one fit', 'fit over summaries in two units');
SELECT throws_ok($$SELECT persona.clv((0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'sols')::persona.bgnbd, (6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 1, 1, 2, 10)$$,
                 '22023', 'unknown time unit "sols"', 'a hand-made model with an unknown unit');
-- Spend (0.5.0): negative mean spend is an error in scoring too; 0 is not.
SELECT throws_ok($$SELECT persona.expected_spend((6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 3, -0.5)$$,
                 '22023', 'mean_spend must be >= 0, not -0.5', 'expected spend of a negative mean');
SELECT lives_ok($$SELECT persona.clv((0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, (6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 1, 1, 2, 0, 'weeks')$$,
                'CLV of a repeat buyer with mean spend 0');
-- RFM without M (0.5.0)
SELECT throws_ok($$SELECT persona.rfm(5, 4, 0)$$, '22003', 'rfm scores must be between 1 and 5', 'rfm with m = 0');
SELECT throws_ok($$SELECT '54-3'::persona.rfm$$, '22P02', 'invalid input syntax for type rfm: "54-3"', 'rfm literal with a dash before M');
SELECT throws_ok($$SELECT persona.rfm_breaks_finalfn('{5,0,0,0,0,0,1,NaN,2}')$$, '22023', 'invalid rfm_breaks state', 'NaN frequency in an rfm_breaks state');

-- model_parameters: any purchase model; a spend model is 42804 whose hint names the purchase fits
SELECT throws_ok($$SELECT * FROM persona.model_parameters((6, 4, 15, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma)$$,
                 '42804', 'persona.gamma_gamma is not a purchase model', 'model_parameters of a Gamma-Gamma model');
SELECT is((SELECT count(*) FROM persona.model_parameters((0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'weeks')::persona.bgnbd)),
          4::bigint, 'model_parameters of a BG/NBD value: four parameters');

CREATE TABLE public.cp_orders (customer_id int, ordered_at timestamptz, amount numeric);
CREATE FUNCTION pg_temp.create_without_schema() RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    PERFORM persona.create_profile('x', 'public.cp_orders');
END $$;
CREATE TABLE public.cp_attrs (customer_id int, city text, segment text, tags text);
SELECT throws_ok($$SELECT persona.create_profile('x', 'public.cp_orders', schema => 'public', attributes_from => 'public.cp_attrs',
                                                 attributes => ARRAY[NULL::text])$$, '22023',
                 'attributes must name columns of cp_attrs', 'a NULL attribute name');
SELECT throws_ok($$SELECT persona.create_profile('x', 'public.cp_orders', schema => 'public', attributes_from => 'public.cp_attrs',
                                                 attributes => '{city,segment}')$$, '42701',
                 'attribute "segment" has the name of a column of the profile', 'an attribute named as a profile column');
SELECT throws_ok($$SELECT persona.create_profile('x', 'public.cp_orders', schema => 'public', attributes_from => 'public.cp_attrs',
                                                 attributes => '{tags}', materialized => false)$$, '42701',
                 'attribute "tags" has the name of a column of the profile', 'or as the tags');
SELECT throws_ok($$SELECT pg_temp.create_without_schema()$$, '3F000',
                 'no schema has been selected to create the profile in', 'create_profile with an empty search_path and no schema =>');
SELECT * FROM finish();
ROLLBACK;
