-- persona demo: profile the CDNOW sample (2,357 customers, 6,919 orders, 1997-01 .. 1998-06).
\pset null '-'
\pset footer off
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS persona CASCADE;
CREATE EXTENSION persona;
DROP TABLE IF EXISTS cdnow, cdnow_profile;
\i demo/load_cdnow.sql

-- One row per customer: order statistics as of the end of the data, RFM
-- scores and segment, in one call.
CREATE TABLE cdnow_profile AS
SELECT * FROM persona.customer_profile('cdnow', as_of => '1998-06-30', time_col => 'ordered_on');

\echo
\echo '== Order statistics (CDNOW, as of 1998-06-30) =='
SELECT count(*)                                   AS customers,
       sum(orders)                                AS orders,
       sum(revenue)                               AS revenue,
       round(avg(orders), 2)                      AS orders_per_customer,
       round(avg(avg_amount)::numeric, 2)         AS avg_order_value,
       round(avg(recency_days))                   AS avg_recency_days,
       round(avg(mean_gap_days)::numeric, 1)      AS avg_gap_days_repeaters,
       round(100.0 * count(*) FILTER (WHERE purchase_days = 1) / count(*), 1) AS one_time_buyers_pct
FROM cdnow_profile;

\echo '== Revenue concentration (Pareto) =='
SELECT round(100 * (p).top_revenue_share)::text || '%' AS revenue_from_top_20pct_customers,
       round(100 * (p).customer_share)::text || '%'    AS customers_making_80pct_revenue
FROM (SELECT persona.pareto(revenue::float8) AS p FROM cdnow_profile) s;

\echo '== RFM segments (standard scheme; 5 = best, tie-safe quintiles) =='
SELECT segment,
       count(*)                                                          AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1)                AS "占比 %",
       round(100 * sum(revenue) / sum(sum(revenue)) OVER (), 1)          AS "revenue %",
       round(avg(recency_days))                                          AS avg_recency,
       round(avg(orders), 1)                                             AS avg_orders,
       round(avg(revenue), 2)                                            AS avg_revenue
FROM cdnow_profile
GROUP BY segment
ORDER BY sum(revenue) DESC;

\echo '== 中国 8 类 RFM (R/F/M 高低 against the mean) =='
SET persona.language = zh;
WITH b AS (SELECT persona.rfm_breaks(recency_days, orders, revenue, 2, 'mean') AS b FROM cdnow_profile)
SELECT persona.rfm_segment(persona.rfm_score(recency_days, orders, revenue, b), 'cn8') AS "客户分群",
       count(*)                                                        AS "客户数",
       round(100.0 * count(*) / sum(count(*)) OVER (), 1)              AS "占比 %",
       round(100 * sum(revenue) / sum(sum(revenue)) OVER (), 1)        AS "收入占比 %"
FROM cdnow_profile, b
GROUP BY 1
ORDER BY sum(revenue) DESC;
RESET persona.language;

\echo '== Top 10 customers by revenue =='
SELECT customer_id, orders, purchase_days, revenue, recency_days, tenure_days,
       round(mean_gap_days::numeric, 1) AS mean_gap_days, rfm, segment
FROM cdnow_profile
ORDER BY revenue DESC, customer_id
LIMIT 10;
