-- CDNOW: persona's BTYD summary matches the published one exactly.
\set ECHO none
\i demo/load_cdnow.sql
CREATE TABLE cdnow_summary (sample_id int, x int, t_x numeric, t_cal numeric, zbar numeric);
\copy cdnow_summary FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
\set ECHO all
SELECT count(*) AS orders, count(DISTINCT sample_id) AS customers FROM cdnow;

-- Calibration period ends 1997-09-30; t_x and T in weeks, rounded to 2
-- decimals like the published file; zbar is 0 there for x = 0 (NULL here).
CREATE TABLE persona_summary AS
SELECT sample_id, (persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks')).*
FROM cdnow GROUP BY sample_id;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE p.x = s.x) AS x_equal,
       count(*) FILTER (WHERE round(p.t_x::numeric, 2) = s.t_x) AS t_x_equal,
       count(*) FILTER (WHERE round(p.t_cal::numeric, 2) = s.t_cal) AS t_equal,
       count(*) FILTER (WHERE round(coalesce(p.mean_repeat_spend, 0)::numeric, 2) = s.zbar) AS zbar_equal,
       count(*) FILTER (WHERE p.x > 0) AS repeat_buyers
FROM persona_summary p JOIN cdnow_summary s USING (sample_id);
SELECT * FROM persona_summary ORDER BY sample_id LIMIT 5;

-- Order statistics over the whole period agree with plain SQL.
CREATE TABLE st AS
SELECT sample_id, (persona.order_stats(ordered_on, amount, '1998-06-30')).* FROM cdnow GROUP BY sample_id;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE st.orders = q.orders AND st.revenue = q.revenue
                          AND st.purchase_days = q.days AND st.recency_days = q.recency
                          AND st.first_at = q.first_on AND st.last_at = q.last_on
                          AND (st.mean_gap_days IS NULL OR abs(st.mean_gap_days - q.mean_gap) < 1e-9)) AS agree
FROM st JOIN (SELECT sample_id, count(*) AS orders, sum(amount) AS revenue,
                     count(DISTINCT ordered_on) AS days, '1998-06-30'::date - max(ordered_on) AS recency,
                     min(ordered_on)::timestamptz AS first_on, max(ordered_on)::timestamptz AS last_on,
                     (max(ordered_on) - min(ordered_on))::float8 / nullif(count(DISTINCT ordered_on) - 1, 0) AS mean_gap
              FROM cdnow GROUP BY sample_id) q USING (sample_id);

-- RFM over CDNOW: cut points, score distribution and segment table.
SELECT persona.rfm_breaks(recency_days, orders, revenue) FROM st;
WITH b AS (SELECT persona.rfm_breaks(recency_days, orders, revenue) AS b FROM st),
s AS (SELECT persona.rfm_segment(persona.rfm_score(recency_days, orders, revenue, b)) AS segment, revenue FROM st, b)
SELECT segment, count(*) AS customers, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS share_pct,
       round(100 * sum(revenue) / sum(sum(revenue)) OVER (), 1) AS revenue_pct
FROM s GROUP BY segment ORDER BY revenue_pct DESC, segment;
SELECT round((p).top_revenue_share::numeric, 4) AS top20_revenue_share,
       round((p).customer_share::numeric, 4) AS customers_for_80pct
FROM (SELECT persona.pareto(revenue) AS p FROM st) s;
DROP TABLE cdnow, cdnow_summary, persona_summary, st;
