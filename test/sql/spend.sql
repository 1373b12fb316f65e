-- Zero, NULL and negative spend in order_stats, the Gamma-Gamma model and CLV.
-- Own schema: other test files load their own cdnow.
CREATE SCHEMA spend_test;
SET search_path = spend_test, public;
\i demo/load_cdnow.sql
-- A repeat buyer whose repeat orders are all $0.00 (the CDNOW master file
-- has one).  Before 0.5.0 its mean spend 0 broke the fit and CLV for the
-- whole table.
INSERT INTO cdnow (customer_id, sample_id, ordered_on, cds, amount)
VALUES (0, 9001, '1997-01-05', 1, 15.00), (0, 9001, '1997-03-01', 1, 0.00), (0, 9001, '1997-05-01', 1, 0.00);
CREATE TABLE s AS
SELECT sample_id, persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks') AS w
FROM cdnow GROUP BY sample_id;
SELECT (w).* FROM s WHERE sample_id = 9001;
-- The fit skips it (a NOTICE says how many) and is the fit without it.
CREATE TABLE m AS
SELECT persona.bgnbd_fit(w) AS bg, persona.gamma_gamma_fit((w).x, (w).mean_repeat_spend) AS gg FROM s;
SELECT (m.gg).customers, (m.gg).p = (o.gg).p AND (m.gg).q = (o.gg).q AND (m.gg).v = (o.gg).v AS same_as_without_it
FROM m, (SELECT persona.gamma_gamma_fit((w).x, (w).mean_repeat_spend) AS gg FROM s WHERE sample_id <> 9001) o;
-- Its expected spend is the formula's p v / (p x + q - 1) at m = 0 (below
-- the population mean p v / (q - 1)), computed here from the parameters.
SELECT abs(persona.expected_spend(gg, 2, 0) - (gg).p * (gg).v / ((gg).p * 2 + (gg).q - 1)) < 1e-12 AS formula,
       persona.expected_spend(gg, 2, 0) < persona.expected_spend(gg, 0, NULL) AS below_population_mean
FROM m;
-- Its CLV is the formula's, not an error: the expected spend times the
-- discounted expected purchases of each month (summed here in SQL).
SELECT abs(persona.clv(bg, gg, w) -
           persona.expected_spend(gg, 2, 0) *
           (SELECT sum((persona.expected_purchases(bg, i * (365.25 / 12) / 7, w) -
                        persona.expected_purchases(bg, (i - 1) * (365.25 / 12) / 7, w)) / 1.01 ^ i)
            FROM generate_series(1, 12) i)) < 1e-9 AS clv_formula,
       persona.clv(bg, gg, w) > 0 AS positive
FROM s, m WHERE sample_id = 9001;
-- Every customer is scored.
SELECT count(*) AS customers, count(persona.clv(bg, gg, w)) AS scored FROM s, m;
-- The float forms agree.
SELECT persona.clv(bg, gg, (w).x, (w).t_x, (w).t_cal, 0, 'weeks') = persona.clv(bg, gg, w) AS same
FROM s, m WHERE sample_id = 9001;
-- Its likelihood is not defined (the fit skipped it).
SELECT persona.gamma_gamma_loglik(gg, 2, 0) FROM m;
-- Only zero spenders among the repeat buyers: no model, an error saying why.
SELECT persona.gamma_gamma_fit(x, 0) FROM (VALUES (1), (2), (0)) v(x);

-- Negative mean spend (refunds outweighing purchases in a hand-made
-- summary) stays an error, and the hint keeps the customer: x = 0 scores
-- the population mean.
SELECT persona.expected_spend(gg, 2, -5) FROM m;
SELECT persona.clv(bg, gg, 2, 10, 30, -5) FROM m;
SELECT persona.expected_spend(gg, CASE WHEN -5 < 0 THEN 0 ELSE 2 END, -5) = persona.expected_spend(gg, 0, NULL)
       AS hint_works
FROM m;

-- NULL amounts: a shop that records no amounts (the BTYDplus grocery data
-- has none).  Revenue, avg_amount, repeat_revenue and the mean repeat
-- spend are NULL, not 0: NULL in, NULL out.
CREATE TABLE g AS SELECT sample_id, ordered_on, NULL::numeric AS amount FROM cdnow;
CREATE TABLE gs AS
SELECT sample_id, persona.order_stats(ordered_on, amount, '1997-09-30') AS os FROM g GROUP BY sample_id;
SELECT sample_id, (os).orders, (os).revenue, (os).avg_amount, (os).repeat_revenue,
       (persona.btyd(os, 'weeks')).mean_repeat_spend
FROM gs WHERE sample_id IN (1, 2) ORDER BY sample_id;
SELECT count(*) AS customers, count((os).revenue) AS with_revenue, count((os).repeat_revenue) AS with_repeat_revenue
FROM gs;
-- The purchase model fits as with amounts; the spend model has nothing to
-- fit (NULL, not an error), so CLV is NULL for repeat buyers.
SELECT (persona.bgnbd_fit(persona.btyd(os, 'weeks'))).loglik = (SELECT (bg).loglik FROM m) AS same_purchase_fit_as_with_amounts
FROM gs;
SELECT persona.gamma_gamma_fit((b).x, (b).mean_repeat_spend) IS NULL AS no_spend_model
FROM (SELECT persona.btyd(os, 'weeks') AS b FROM gs) q;
SELECT persona.clv(bg, gg, persona.btyd(os, 'weeks')) IS NULL AS clv_null
FROM gs, m WHERE sample_id = 1;
-- Partial NULLs: revenue and repeat_revenue sum the known amounts,
-- avg_amount averages them (customer 3: its repeat day's amount is unknown,
-- so repeat_revenue is 0, a documented limitation); a customer whose orders
-- have no amount but who had a refund has the refund as revenue.
SELECT c, (os).orders, (os).revenue, (os).avg_amount, (os).repeat_revenue, (os).refunds
FROM (SELECT c, persona.order_stats(t, a, '2024-12-31') AS os
      FROM (VALUES (1, '2024-01-01'::timestamptz, 10::numeric), (1, '2024-02-01', NULL), (1, '2024-03-01', 30),
                   (2, '2024-01-01', NULL), (2, '2024-02-01', NULL), (2, '2024-02-05', -4),
                   (3, '2024-01-01', 10), (3, '2024-02-01', NULL)) v(c, t, a)
      GROUP BY c) q ORDER BY c;
-- A hand-made order_stats row may have NULL revenue; repeat_revenue and
-- avg_amount are NULL together or not at all.
SELECT persona.btyd(ROW('2024-01-01', '2024-02-01', 2, 2, NULL, NULL, 10, 41, 31, NULL, 1, NULL, 0)::persona.order_stats);
SELECT persona.btyd(ROW('2024-01-01', '2024-02-01', 2, 2, NULL, 5, 10, 41, 31, NULL, 1, NULL, 0)::persona.order_stats);

-- RFM without M.  Before 0.5.0 no amounts were amounts of 0: every
-- customer got M = 1 and M-based segments were noise.  Now a NULL monetary
-- gives an rfm value with R and F only, written '54-'.
SELECT v::persona.rfm AS rfm, persona.r(v::persona.rfm), persona.f(v::persona.rfm), persona.m(v::persona.rfm),
       persona.score(v::persona.rfm), persona.bins(v::persona.rfm), (v::persona.rfm)::text::persona.rfm OPERATOR(persona.=) v::persona.rfm AS round_trip
FROM (VALUES ('54-'), ('5-4-'), ('21-/3'), ('10-3-/10'), ('1-3-'), ('545')) t(v);
SELECT '10-3-'::persona.rfm;
SELECT persona.rfm(5, 4, NULL) AS no_m, persona.rfm(5, 4, NULL, 7) AS no_m_7, persona.rfm(NULL, 4, 4) IS NULL AS no_r,
       persona.rfm_send('54-') AS binary, '54-'::persona.rfm OPERATOR(persona.<) '541'::persona.rfm AS sorts_before_m1;
SELECT persona.rfm(5, 4, 0);
SELECT '54'::persona.rfm;
SELECT '5-4'::persona.rfm;
SELECT '54-3'::persona.rfm;
SELECT '60-/5'::persona.rfm;
-- Cut points without amounts: R and F as with amounts, M unreachable (null).
SELECT b::text::jsonb - 'm' = a::text::jsonb - 'm' AS same_r_f, b::text::jsonb -> 'm' AS m_cuts
FROM (SELECT persona.rfm_breaks((os).recency_days, (os).orders, (os).revenue) AS b FROM gs) x,
     (SELECT persona.rfm_breaks((os).recency_days, (os).orders, (os).revenue) AS a
      FROM (SELECT persona.order_stats(ordered_on, amount, '1997-09-30') AS os FROM cdnow GROUP BY sample_id) q) y;
-- Scores: R and F as with amounts, no M.
CREATE TABLE scored AS
SELECT g.sample_id,
       persona.rfm_score((g.os).recency_days, (g.os).orders, (g.os).revenue,
                         persona.rfm_breaks((g.os).recency_days, (g.os).orders, (g.os).revenue) OVER ()) AS without_m,
       persona.rfm_score((a.os).recency_days, (a.os).orders, (a.os).revenue,
                         persona.rfm_breaks((a.os).recency_days, (a.os).orders, (a.os).revenue) OVER ()) AS with_m
FROM gs g JOIN (SELECT sample_id, persona.order_stats(ordered_on, amount, '1997-09-30') AS os FROM cdnow GROUP BY 1) a
     USING (sample_id);
SELECT count(*) AS customers, count(*) FILTER (WHERE persona.m(without_m) IS NULL) AS without_m,
       bool_and(persona.r(without_m) = persona.r(with_m) AND persona.f(without_m) = persona.f(with_m)) AS same_r_f
FROM scored;
-- Thresholds too; a NULL recency or frequency is still NULL.
SELECT persona.rfm_score(3, 5, NULL, '{30}', '{3}', '{100}') AS thresholds,
       persona.rfm_score(NULL, 5, 1, persona.rfm_thresholds('{30}', '{3}', '{100}')) IS NULL AS null_recency;
-- Some customers with amounts: M is cut among them, the others get none.
SELECT b AS breaks, persona.rfm_score(10, 2, NULL, b) AS no_m, persona.rfm_score(10, 2, 30, b) AS with_m
FROM (SELECT persona.rfm_breaks(r, f, m, 2) AS b
      FROM (VALUES (1, 1, 10), (5, 2, NULL), (9, 3, 30), (20, 1, NULL)) v(r, f, m)) q;
-- Segments: standard uses F for FM, cn8 needs M (NULL), a user rule
-- matches only if it does not restrict M.
INSERT INTO persona.segment_rules (scheme, priority, r_min, r_max, f_min, f_max, m_min, m_max, segment)
VALUES ('spend_test', 1, 4, 5, 1, 5, 4, 5, 'recent big spenders'), ('spend_test', 2, 4, 5, 1, 5, 1, 5, 'recent');
SELECT v, persona.rfm_segment(v::persona.rfm, 'standard') AS standard,
       persona.rfm_segment(v::persona.rfm, 'cn8') AS cn8, persona.rfm_segment(v::persona.rfm, 'spend_test') AS user_scheme
FROM (VALUES ('54-'), ('544'), ('514'), ('51-'), ('12-')) t(v);
DELETE FROM persona.segment_rules WHERE scheme = 'spend_test';
-- customer_profile without amounts equals the composed path (NULL
-- revenue, rfm without M, standard segment from R and F).
SELECT count(*) AS customers,
       count(*) FILTER (WHERE row(p.*)::text = row(c.*)::text) AS identical,
       count(*) FILTER (WHERE p.revenue IS NULL AND persona.m(p.rfm) IS NULL AND p.segment IS NOT NULL) AS r_f_only
FROM persona.customer_profile('g', '1997-09-30', customer_col => 'sample_id', time_col => 'ordered_on', habits => false) p
JOIN (SELECT sample_id AS customer_id, (os).*, rfm, persona.rfm_segment(rfm) AS segment, persona.lifecycle_of(os) AS lifecycle,
             NULL::persona.habits AS habits
      FROM (SELECT sample_id, os,
                   persona.rfm_score((os).recency_days, (os).orders, (os).revenue,
                                     persona.rfm_breaks((os).recency_days, (os).orders, (os).revenue) OVER ()) AS rfm
            FROM gs) x) c USING (customer_id);
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA spend_test CASCADE;
RESET client_min_messages;
