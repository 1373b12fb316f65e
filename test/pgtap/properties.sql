-- Properties checked on random data (fixed seed) against plain SQL.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SET TimeZone = 'Asia/Shanghai';
SELECT plan(23);
SELECT setseed(0.42);

-- 20,000 orders of 2,000 customers over two years; amounts with 0..6 decimals,
-- some huge, some refunds, some NULL; timestamps at any time of day.
CREATE TEMP TABLE o AS
SELECT (random() * 2000)::int AS c,
       '2023-01-01'::timestamptz + random() * interval '730 days' AS t,
       CASE WHEN random() < 0.03 THEN NULL
            WHEN random() < 0.05 THEN -round((random() * 100)::numeric, 2)
            WHEN random() < 0.02 THEN round((random() * 1e22)::numeric, 3)
            ELSE round((random() * 500)::numeric, (random() * 6)::int) END AS a
FROM generate_series(1, 20000);

CREATE TEMP TABLE p AS
SELECT c, (persona.order_stats(t, a, '2024-12-31')).* FROM o GROUP BY c;

CREATE TEMP TABLE q AS
WITH d AS (SELECT DISTINCT c, t::date AS d FROM o WHERE a IS NULL OR a >= 0),
first_day AS (SELECT c, min(d) AS d0 FROM d GROUP BY c),
g AS (SELECT c, avg(gap) AS mean_gap, stddev_samp(gap) AS sd_gap
      FROM (SELECT c, d - lag(d) OVER (PARTITION BY c ORDER BY d) AS gap FROM d) x
      WHERE gap IS NOT NULL GROUP BY c)
SELECT o.c,
       count(*) FILTER (WHERE a IS NULL OR a >= 0) AS orders,
       count(*) FILTER (WHERE a < 0) AS refunds,
       coalesce(sum(a), 0) AS revenue,
       count(DISTINCT t::date) FILTER (WHERE a IS NULL OR a >= 0) AS days,
       min(t) FILTER (WHERE a IS NULL OR a >= 0) AS first_at,
       max(t) FILTER (WHERE a IS NULL OR a >= 0) AS last_at,
       max(g.mean_gap) AS mean_gap,
       max(g.sd_gap) AS sd_gap,
       coalesce(sum(a) FILTER (WHERE a >= 0 AND t::date > f.d0), 0) AS repeat_revenue
FROM o LEFT JOIN g USING (c) LEFT JOIN first_day f USING (c)
GROUP BY o.c;

SELECT is((SELECT count(*) FROM p), (SELECT count(*) FROM q), 'one row per customer');
SELECT is_empty($$SELECT c FROM p JOIN q USING (c) WHERE p.orders <> q.orders OR p.refunds <> q.refunds$$,
                'orders and refunds agree with count(*)');
SELECT is_empty($$SELECT c, p.revenue, q.revenue FROM p JOIN q USING (c) WHERE p.revenue <> q.revenue$$,
                'revenue is exactly sum(amount), for any scale and size');
SELECT is_empty($$SELECT c FROM p JOIN q USING (c) WHERE p.purchase_days <> q.days$$,
                'purchase days agree with count(DISTINCT local date)');
SELECT is_empty($$SELECT c FROM p JOIN q USING (c) WHERE p.first_at <> q.first_at OR p.last_at <> q.last_at$$,
                'first and last order agree with min/max');
SELECT is_empty($$SELECT c FROM p JOIN q USING (c)
                  WHERE p.recency_days <> '2024-12-31'::date - q.last_at::date
                     OR p.tenure_days <> '2024-12-31'::date - q.first_at::date$$,
                'recency and tenure are local calendar days to as_of');
SELECT is_empty($$SELECT c FROM p JOIN q USING (c)
                  WHERE p.mean_gap_days IS DISTINCT FROM q.mean_gap::float8
                        AND abs(p.mean_gap_days - q.mean_gap) > 1e-9$$,
                'mean gap agrees with avg(gap between purchase days)');
SELECT is_empty($$SELECT c FROM p JOIN q USING (c)
                  WHERE (p.gap_sd_days IS NULL) <> (q.sd_gap IS NULL) OR abs(p.gap_sd_days - q.sd_gap) > 1e-9$$,
                'gap sd agrees with stddev_samp(gap)');
SELECT is_empty($$SELECT c FROM p JOIN q USING (c) WHERE p.repeat_revenue <> q.repeat_revenue$$,
                'repeat revenue is the spend after the first purchase day');

-- Scores equal 1 + floor(bins * share of customers strictly worse), for every
-- bins, on data with heavy ties; so equal values always get equal scores.
CREATE TEMP TABLE v AS
SELECT i, (random() * 30)::int AS r, floor(-ln(random()) * 1.5)::int + 1 AS f,
       round((random() * 100)::numeric, 0) AS m
FROM generate_series(1, 3000) i;
SELECT is_empty($$
  WITH b AS (SELECT bins, persona.rfm_breaks(r, f, m, bins) AS br FROM v, generate_series(2, 10) bins GROUP BY bins),
  s AS (SELECT bins, i, persona.rfm_score(r, f, m, br) AS x,
               least(bins, 1 + floor(bins * (rank() OVER (PARTITION BY bins ORDER BY r DESC) - 1) / 3000.0)) AS r_exp,
               least(bins, 1 + floor(bins * (rank() OVER (PARTITION BY bins ORDER BY f) - 1) / 3000.0)) AS f_exp,
               least(bins, 1 + floor(bins * (rank() OVER (PARTITION BY bins ORDER BY m) - 1) / 3000.0)) AS m_exp
        FROM v JOIN b ON true)
  SELECT * FROM s WHERE persona.r(x) <> r_exp OR persona.f(x) <> f_exp OR persona.m(x) <> m_exp$$,
  'quantile scores follow the documented formula for 2..10 bins');
SELECT is_empty($$
  WITH b AS (SELECT persona.rfm_breaks(r, f, m) AS br FROM v)
  SELECT f FROM v, b GROUP BY f HAVING count(DISTINCT persona.f(persona.rfm_score(r, f, m, br))) > 1$$,
  'ties share a score');
SELECT ok((WITH b AS (SELECT persona.rfm_breaks(r, f, m) AS br FROM v)
           SELECT bool_and(persona.f(persona.rfm_score(r, f, m, br)) = 1) FROM v, b WHERE f = 1),
          'the worst value always scores 1 (no arbitrary split of one-time buyers)');

-- Pareto agrees with a plain-SQL Lorenz computation at whole customers.
SELECT is((SELECT round((persona.pareto(m::float8, 0.1, 0.5)).top_revenue_share::numeric, 9) FROM v),
          (SELECT round(sum(m) FILTER (WHERE rn <= 300) / sum(m), 9)
           FROM (SELECT m, row_number() OVER (ORDER BY m DESC) rn FROM v) s),
          'top 10% revenue share equals the sum of the 300 largest');

-- rfm text round trip on random values.
SELECT is_empty($$
  SELECT x FROM (SELECT persona.rfm(1 + (random() * (b - 1))::int, 1 + (random() * (b - 1))::int,
                                    1 + (random() * (b - 1))::int, b) AS x
                 FROM generate_series(1, 1000), LATERAL (SELECT 2 + (random() * 8)::int AS b) bb) s
  WHERE persona.rfm_cmp(x::text::persona.rfm, x) <> 0$$, 'rfm text output re-parses to the same value');

-- habits agree with extract() in the session time zone.
SELECT is_empty($$
  WITH h AS (SELECT c, persona.habits(t) AS h FROM o GROUP BY c),
  q AS (SELECT c, count(*) AS n,
               avg((extract(isodow FROM t) >= 6)::int) AS weekend,
               avg((extract(hour FROM t) BETWEEN 11 AND 13)::int) AS lunch,
               mode() WITHIN GROUP (ORDER BY extract(hour FROM t)) AS top_hour
        FROM o GROUP BY c)
  SELECT c FROM h JOIN q USING (c)
  WHERE (h).orders <> n OR abs((h).weekend_share - weekend) > 1e-12 OR abs((h).lunch - lunch) > 1e-12
     OR (h).favourite_hour <> top_hour$$,
  'habits: weekend and lunch shares and favourite hour agree with extract() (Asia/Shanghai)');
-- Days arriving as a sorted run then a few late ones (a merge's new orders,
-- backfilled orders), or a run then many: the same statistics as any order.
CREATE TEMP TABLE late AS
SELECT c, t, a, row_number() OVER (PARTITION BY c ORDER BY t) % 7 = 0 AS is_late FROM o;
SELECT is_empty($$
  SELECT c FROM (SELECT c, persona.order_stats(t, a, '2024-12-31' ORDER BY is_late, t) AS s,
                        persona.order_stats(t, a, '2024-12-31') AS u FROM late GROUP BY c) x
  WHERE (s).purchase_days <> (u).purchase_days OR (s).mean_gap_days IS DISTINCT FROM (u).mean_gap_days
     OR (s).gap_sd_days IS DISTINCT FROM (u).gap_sd_days OR (s).first_at <> (u).first_at$$,
  'order_stats: a sorted run of days then late days (out of order) give the same purchase days and gaps');
SELECT is_empty($$
  SELECT c FROM (SELECT c, persona.order_stats(t, a, '2024-12-31' ORDER BY NOT is_late, t DESC) AS s,
                        persona.order_stats(t, a, '2024-12-31') AS u FROM late GROUP BY c) x
  WHERE (s).purchase_days <> (u).purchase_days OR (s).mean_gap_days IS DISTINCT FROM (u).mean_gap_days
     OR (s).gap_sd_days IS DISTINCT FROM (u).gap_sd_days$$,
  'order_stats: a short sorted run then many days out of order give the same purchase days and gaps');
-- rfm_score_moves is rfm_score(old) IS DISTINCT FROM rfm_score(new), in one call
CREATE TEMP TABLE mv AS
SELECT CASE WHEN random() < 0.02 THEN NULL ELSE floor(random() * 400) END::float8 AS r,
       CASE WHEN random() < 0.02 THEN NULL ELSE floor(1 + random() * 20) END::float8 AS f,
       CASE WHEN random() < 0.05 THEN NULL ELSE round((random() * 1000)::numeric, 2) END::float8 AS m
FROM generate_series(1, 5000);
CREATE TEMP TABLE bk AS
SELECT 1 AS k, persona.rfm_breaks(r, f, m) AS b FROM mv WHERE r IS NOT NULL AND f IS NOT NULL
UNION ALL SELECT 2, persona.rfm_breaks(r, f, m) FROM mv WHERE r IS NOT NULL AND f IS NOT NULL AND m > 20
UNION ALL SELECT 3, persona.rfm_breaks(r, f, m, 4) FROM mv WHERE r IS NOT NULL AND f IS NOT NULL
UNION ALL SELECT 4, NULL::persona.rfm_breaks
UNION ALL SELECT 5, persona.rfm_thresholds('{30}', '{3}', '{100}');
SELECT is_empty($$
  SELECT a.k, b.k, x.r, x.f, x.m FROM mv x, bk a, bk b
  WHERE persona.rfm_score_moves(x.r, x.f, x.m, a.b, b.b)
        IS DISTINCT FROM (persona.rfm_score(x.r, x.f, x.m, a.b)::text IS DISTINCT FROM persona.rfm_score(x.r, x.f, x.m, b.b)::text)$$,
  'rfm_score_moves agrees with two rfm_score calls (moved cuts, other bins, NULL breaks and values)');
SELECT cmp_ok((SELECT count(*) FILTER (WHERE persona.rfm_score_moves(x.r, x.f, x.m, a.b, b.b))::int
               FROM mv x, bk a, bk b WHERE a.k = 1 AND b.k = 2), '>', 0, 'moved cut points move some scores');
SELECT throws_ok($$SELECT persona.rfm_score_moves('Infinity', 1, 1, persona.rfm_thresholds('{30}', '{3}', '{100}'), NULL)$$,
                 '22023', 'recency must be a finite number', 'rfm_score_moves checks its values as rfm_score does');
SELECT is(persona.rfm_score_moves('Infinity', 1, 'NaN', NULL, NULL), false,
          'no breaks on either side: no score either way, as rfm_score gives NULL without looking at the values');
SET TimeZone = 'America/New_York';
SELECT is_empty($$
  SELECT c FROM (SELECT c, persona.habits(t) AS h, count(*) FILTER (WHERE extract(isodow FROM t) >= 6) AS we,
                        count(*) AS n FROM o GROUP BY c) x
  WHERE abs((h).weekend_share - we::float8 / n) > 1e-12$$,
  'habits follow the session time zone, across daylight saving changes');
SELECT is_empty($$
  SELECT c FROM (SELECT c, persona.order_stats(t, a, '2024-12-31') s, count(DISTINCT t::date) FILTER (WHERE a IS NULL OR a >= 0) AS days
                 FROM o GROUP BY c) x
  WHERE (s).purchase_days <> days$$,
  'purchase days follow the session time zone, across daylight saving changes');
RESET TimeZone;

SELECT * FROM finish();
ROLLBACK;
