-- Properties of the chart-shaped diagnostics (tracking, period_transactions,
-- frequency_recency_matrix) and of BG/NBD's P(X(t) = n), on customers
-- simulated from known parameters (seeded: the same outcome on every run).
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(17);

-- Orders of 3,000 customers simulated in days (alpha 30.9 days = 4.414
-- weeks): a first purchase on one of days 0..59 of 2024, the x repeat
-- purchase days spread up to t_x after it, the holdout purchases spread over
-- the 180 days after calibration ends on day 300 (2024-10-27).
CREATE TABLE sim_orders AS
WITH c AS (SELECT s.*, (s.customer_id % 60)::integer AS start_day
           FROM persona.simulate_bgnbd(0.243, 30.9, 0.793, 2.426, 3000, 240, 11, 180) s)
SELECT customer_id, date '2024-01-01' + start_day AS ordered_on, 10::numeric AS amount FROM c
UNION ALL
SELECT customer_id, date '2024-01-01' + start_day + ceil(t_x * k / x)::integer, 10 FROM c, generate_series(1, x) k
UNION ALL
SELECT customer_id, date '2024-10-27' + ceil(180.0 * k / (holdout_purchases + 1))::integer, 10
FROM c, generate_series(1, holdout_purchases) k;
CREATE TEMP TABLE m AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS bg, persona.pareto_nbd_fit(x, t_x, t_cal) AS pn
FROM persona.holdout_calibration('sim_orders', '2024-10-27', customer_col => 'customer_id', time_col => 'ordered_on');
CREATE TEMP TABLE tr AS
SELECT * FROM persona.tracking('sim_orders', '2024-10-27 00:00+00', '2025-04-25 00:00+00', (SELECT bg FROM m),
                               customer_col => 'customer_id', time_col => 'ordered_on', time_zone => 'UTC');
CREATE TEMP TABLE tr_pn AS
SELECT * FROM persona.tracking('sim_orders', '2024-10-27 00:00+00', '2025-04-25 00:00+00', (SELECT pn FROM m),
                               customer_col => 'customer_id', time_col => 'ordered_on', period_days => 10);

SELECT ok(bool_and(abs(cumulative_expected - s_exp) < 1e-9 * greatest(1, cumulative_expected) AND cumulative_actual = s_act),
          'tracking: the running sums of incremental actual and expected are the cumulative columns (BG/NBD)')
FROM (SELECT cumulative_expected, cumulative_actual, sum(expected) OVER w AS s_exp, sum(actual) OVER w AS s_act
      FROM tr WINDOW w AS (ORDER BY period)) q;
SELECT ok(bool_and(abs(cumulative_expected - s_exp) < 1e-9 * greatest(1, cumulative_expected) AND cumulative_actual = s_act),
          'tracking: the same for Pareto/NBD with 10-day periods')
FROM (SELECT cumulative_expected, cumulative_actual, sum(expected) OVER w AS s_exp, sum(actual) OVER w AS s_act
      FROM tr_pn WINDOW w AS (ORDER BY period)) q;
SELECT ok(bool_and(expected >= 0) AND bool_and(period_end >= period_start) AND bool_and(period_end - period_start < 7)
          AND count(*) = count(DISTINCT period_start) AND max(period) = count(*) - 1,
          'tracking: periods are distinct, at most 7 days, numbered from 0, with non-negative expected purchases') FROM tr;
SELECT ok(bool_and(NOT holdout OR period_start > date '2024-10-27') AND bool_and(holdout OR period_end <= date '2024-10-27'),
          'tracking: no period straddles the end of calibration') FROM tr;
SELECT is((SELECT max(cumulative_actual) FROM tr),
          (SELECT count(DISTINCT (customer_id, ordered_on)) - count(DISTINCT customer_id) FROM sim_orders WHERE ordered_on <= '2025-04-25'),
          'tracking: cumulative actual is every repeat purchase day of the cohort');

CREATE TEMP TABLE pt AS
SELECT * FROM persona.period_transactions('sim_orders', '2024-10-27', (SELECT bg FROM m),
                                          customer_col => 'customer_id', time_col => 'ordered_on');
SELECT ok(abs(sum(expected) - 3000) < 1e-6 AND sum(actual) = 3000,
          'period_transactions: expected and actual each sum to the customer count') FROM pt;
SELECT ok(bool_and(abs(expected - actual) < 4 * sqrt(greatest(expected, 1)) + 0.1 * expected),
          'period_transactions: the fitted model reproduces the simulated frequency distribution') FROM pt;

-- P(X(t) = n) against independent computations: it sums to 1, its mean is
-- E[X(t)] (a different formula, itself checked against numerical
-- integration in test/sql/bgnbd.sql), and it matches simulated frequencies.
CREATE TEMP TABLE params (bg persona.bgnbd, t float8);
INSERT INTO params VALUES ((0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 39), ((0.24, 4.41, 0.3, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 10),
                          ((2, 1, 0.2, 0.3, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 10), ((1.5, 2, 0.5, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 52);
SELECT ok(bool_and(abs(total - 1) < 1e-6 AND abs(mean - persona.expected_purchases(bg, t)) < 1e-5 * greatest(1, mean)),
          'P(X(t) = n) sums to 1 and has mean E[X(t)], a + b above and below 1')
FROM (SELECT p.bg, p.t, sum(pr) AS total, sum(n * pr) AS mean
      FROM params p, generate_series(0, 20000) n, LATERAL (SELECT persona.purchase_count_probability(p.bg, p.t, n) AS pr) q
      GROUP BY p.bg, p.t) s;
SELECT ok(bool_and(abs(share - pr) < 4 * sqrt(pr * (1 - pr) / 20000) + 1e-4),
          'P(X(t) = n) matches the share of 20,000 simulated customers with n repeat purchases, n = 0..5')
FROM (SELECT n, count(*) FILTER (WHERE s.x = n)::float8 / count(*) AS share,
             persona.purchase_count_probability((0.24, 4.41, 0.3, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 39, n) AS pr
      FROM persona.simulate_bgnbd(0.24, 4.41, 0.3, 0.5, 20000, 39, 12) s, generate_series(0, 5) n GROUP BY n) q;
-- Pareto/NBD: the same three checks (CDNOW's parameters, s < 1 and s > 1).
CREATE TEMP TABLE pn_params (pn persona.pareto_nbd, t float8);
INSERT INTO pn_params VALUES ((0.553, 10.578, 0.606, 11.669, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 39), ((2, 5, 3, 20, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 10),
                             ((0.3, 1, 0.2, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 52);
SELECT ok(bool_and(abs(total - 1) < 1e-6 AND abs(mean - persona.expected_purchases(pn, t)) < 1e-5 * greatest(1, mean)),
          'Pareto/NBD P(X(t) = n) sums to 1 and has mean E[X(t)]')
FROM (SELECT p.pn, p.t, sum(pr) AS total, sum(n * pr) AS mean
      FROM pn_params p, generate_series(0, 3000) n, LATERAL (SELECT persona.purchase_count_probability(p.pn, p.t, n) AS pr) q
      GROUP BY p.pn, p.t) s;
SELECT ok(bool_and(abs(share - pr) < 4 * sqrt(pr * (1 - pr) / 20000) + 1e-4),
          'Pareto/NBD P(X(t) = n) matches the share of 20,000 simulated customers with n repeat purchases, n = 0..5')
FROM (SELECT n, count(*) FILTER (WHERE s.x = n)::float8 / count(*) AS share,
             persona.purchase_count_probability((0.553, 10.578, 0.606, 11.669, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd, 39, n) AS pr
      FROM persona.simulate_pareto_nbd(0.553, 10.578, 0.606, 11.669, 20000, 39, 13) s, generate_series(0, 5) n GROUP BY n) q;
SELECT ok(abs(sum(expected) - 3000) < 1e-6 AND sum(actual) = 3000,
          'period_transactions with Pareto/NBD: expected and actual each sum to the customer count')
FROM persona.period_transactions('sim_orders', '2024-10-27', (SELECT pn FROM m),
                                 customer_col => 'customer_id', time_col => 'ordered_on');
SELECT cmp_ok(persona.purchase_count_probability((0.24, 4.41, 0.3, 0.5, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 39, 2147483647), '<', 1e-12::float8,
              'P(X(t) = n) for a huge n is 0 to rounding (and quick)');

-- The frequency x recency matrix: for every frequency, P(alive) and the
-- expectation grow with recency (a recent purchase means still active).
SELECT ok(bool_and(p_alive >= prev_alive - 1e-12 AND expected >= prev_exp - 1e-12),
          'frequency_recency_matrix: P(alive) and expected purchases are non-decreasing in recency (' || model || ')')
FROM (SELECT 'BG/NBD' AS model, p_alive, expected, lag(p_alive, 1, 0::float8) OVER w AS prev_alive, lag(expected, 1, 0::float8) OVER w AS prev_exp
      FROM persona.frequency_recency_matrix((SELECT bg FROM m), 30, 2, max_frequency => 30, recency_step => 0.5)
      WINDOW w AS (PARTITION BY frequency ORDER BY recency)
      UNION ALL
      SELECT 'Pareto/NBD', p_alive, expected, lag(p_alive, 1, 0::float8) OVER w, lag(expected, 1, 0::float8) OVER w
      FROM persona.frequency_recency_matrix((SELECT pn FROM m), 30, 2, max_frequency => 30, recency_step => 0.5)
      WINDOW w AS (PARTITION BY frequency ORDER BY recency)) q
GROUP BY model ORDER BY model;
SELECT ok(bool_and(f.expected = persona.expected_purchases((SELECT bg FROM m), 2, f.frequency, f.recency, 30)
                   AND f.p_alive = persona.p_alive((SELECT bg FROM m), f.frequency, f.recency, 30)),
          'frequency_recency_matrix: cells are expected_purchases and p_alive of (frequency, recency, T)')
FROM persona.frequency_recency_matrix((SELECT bg FROM m), 30, 2, max_frequency => 5, recency_step => 7) f;

-- The diagnostics over a table are STABLE and not PARALLEL SAFE.
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
  WHERE p.pronamespace = 'persona'::regnamespace
    AND p.proname IN ('holdout', 'holdout_by_frequency', 'holdout_calibration', 'holdout_fit', 'tracking', 'period_transactions')
    AND (p.provolatile <> 's' OR p.proparallel = 's')$$,
  'table-reading diagnostics are STABLE and PARALLEL RESTRICTED');

SELECT * FROM finish();
ROLLBACK;
