-- Pareto concentration.
-- Ten customers: one spends 50, four spend 10, five spend 2 (total 100).
CREATE TABLE rev (amount numeric);
INSERT INTO rev SELECT 50 UNION ALL SELECT 10 FROM generate_series(1, 4) UNION ALL SELECT 2 FROM generate_series(1, 5);
-- Top 20% = the 50 and one 10 -> 60%.  80% of revenue = 50 + 10 + 10 + 10 -> 4 of 10 customers.
SELECT (p).* FROM (SELECT persona.pareto(amount) AS p FROM rev) s;
-- Other shares interpolate inside a customer: top 15% = 50 + half of a 10.
SELECT (p).top_revenue_share, (p).customer_share
FROM (SELECT persona.pareto(amount, 0.15, 0.55) AS p FROM rev) s;
-- NULLs are skipped; refunds (negative net revenue) count against the total.
INSERT INTO rev VALUES (NULL), (-10);
SELECT (p).customers, (p).revenue, round((p).top_revenue_share::numeric, 4) AS top_revenue_share
FROM (SELECT persona.pareto(amount) AS p FROM rev) s;
-- No rows: NULL.  No positive revenue: shares are NULL.
SELECT persona.pareto(amount) IS NULL AS no_rows FROM rev WHERE false;
SELECT (p).* FROM (SELECT persona.pareto(x) AS p FROM (VALUES (0), (-5)) v(x)) s;
-- Bad input.
SELECT persona.pareto(amount, 0, 0.8) FROM rev;
SELECT persona.pareto(amount, 0.2, 1) FROM rev;
SELECT persona.pareto('NaN'::float8);
DROP TABLE rev;
