-- Zero, NULL and negative spend in order_stats, the Gamma-Gamma model and CLV.
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
