-- persona demo: profile the CDNOW sample (2,357 customers, 6,919 orders, 1997-01 .. 1998-06).
\pset null '-'
\pset footer off
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS persona CASCADE;
DROP SCHEMA IF EXISTS bi CASCADE;            -- the profiles of an earlier run (tools/demo --keep)
DROP VIEW IF EXISTS retail_people;
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

------------------------------------------------------------------------
-- Predictive value: BG/NBD, Pareto/NBD, Gamma-Gamma, CLV, holdout.
-- Calibration to 1997-09-30 (39 weeks), as in Fader, Hardie & Lee (2005).
------------------------------------------------------------------------
DROP TABLE IF EXISTS cdnow_summary, cdnow_model;
CREATE TABLE cdnow_summary AS
SELECT sample_id, (persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks')).*
FROM cdnow GROUP BY sample_id;
CREATE TABLE cdnow_model AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS bg, persona.pareto_nbd_fit(x, t_x, t_cal) AS pn,
       persona.gamma_gamma_fit(x, mean_repeat_spend) AS gg
FROM cdnow_summary;
\echo
\echo '== 预测 Fitted models (weeks; calibration period 1997-01-01 .. 1997-09-30) =='
SELECT 'BG/NBD' AS model, round((bg).r::numeric, 3) AS r, round((bg).alpha::numeric, 3) AS alpha,
       round((bg).a::numeric, 3) AS a_or_s, round((bg).b::numeric, 3) AS b_or_beta,
       round((bg).loglik::numeric, 2) AS loglik, (bg).converged FROM cdnow_model
UNION ALL
SELECT 'Pareto/NBD', round((pn).r::numeric, 3), round((pn).alpha::numeric, 3), round((pn).s::numeric, 3),
       round((pn).beta::numeric, 3), round((pn).loglik::numeric, 2), (pn).converged FROM cdnow_model;
SELECT 'Gamma-Gamma' AS spend_model, round((gg).p::numeric, 3) AS p, round((gg).q::numeric, 3) AS q,
       round((gg).v::numeric, 3) AS v, (gg).customers AS repeat_buyers,
       round(persona.expected_spend(gg, 0, NULL)::numeric, 2) AS population_mean_spend
FROM cdnow_model;

\echo '== P(alive), next 39 weeks, expected spend and 12-month CLV (1%/month) for a few customers =='
SELECT sample_id AS customer, x, round(t_x::numeric, 2) AS t_x, round(t_cal::numeric, 2) AS "T",
       round(persona.p_alive(bg, x, t_x, t_cal)::numeric, 3) AS p_alive_bgnbd,
       round(persona.p_alive(pn, x, t_x, t_cal)::numeric, 3) AS p_alive_pareto,
       round(persona.expected_purchases(bg, 39, x, t_x, t_cal)::numeric, 2) AS next_39_weeks,
       round(persona.expected_spend(gg, x, mean_repeat_spend)::numeric, 2) AS expected_spend,
       round(persona.clv(bg, gg, x, t_x, t_cal, mean_repeat_spend, 'weeks')::numeric, 2) AS clv_12m
FROM cdnow_summary, cdnow_model
WHERE sample_id IN (1, 2, 3, 157, 1516) ORDER BY sample_id;

\echo '== 价值分层 CLV tiers: 钻石 >= 95th percentile of CLV, 黄金 >= 80th =='
SET persona.language = 'zh';
WITH v AS (SELECT persona.clv(bg, gg, x, t_x, t_cal, mean_repeat_spend, 'weeks') AS clv
           FROM cdnow_summary, cdnow_model),
     cut AS (SELECT percentile_cont(0.8) WITHIN GROUP (ORDER BY clv) AS gold,
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY clv) AS diamond FROM v)
SELECT persona.label(persona.value_tier(clv, gold, diamond)) AS tier, count(*) AS customers,
       round(avg(clv)::numeric, 2) AS avg_clv,
       round(100 * sum(clv)::numeric / sum(sum(clv)::numeric) OVER (), 1) AS "share_of_clv_%"
FROM v, cut GROUP BY persona.value_tier(clv, gold, diamond) ORDER BY persona.value_tier(clv, gold, diamond) DESC;
RESET persona.language;

\echo '== Holdout: predicted vs actual repeat purchases in the 39 weeks after calibration (BG/NBD) =='
SELECT frequency, customers, round(predicted::numeric, 2) AS predicted, round(actual::numeric, 2) AS actual,
       round(mae::numeric, 2) AS mae, round(rmse::numeric, 2) AS rmse
FROM persona.holdout_by_frequency('cdnow', '1997-09-30', '1998-06-30',
                                  customer_col => 'sample_id', time_col => 'ordered_on');

\echo '== Diagnostics with your own model: fit on holdout_calibration, then period transactions and weekly tracking =='
CREATE TEMP TABLE cdnow_cal_model AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS bg
FROM persona.holdout_calibration('cdnow', '1997-09-30', customer_col => 'sample_id', time_col => 'ordered_on');
SELECT frequency, actual, round(expected::numeric, 1) AS expected
FROM persona.period_transactions('cdnow', '1997-09-30', (SELECT bg FROM cdnow_cal_model),
                                 customer_col => 'sample_id', time_col => 'ordered_on');
SELECT period AS week, period_start, holdout, actual, round(expected::numeric, 1) AS expected,
       cumulative_actual, round(cumulative_expected::numeric, 1) AS cumulative_expected
FROM persona.tracking('cdnow', '1997-09-30', '1998-06-30', (SELECT bg FROM cdnow_cal_model),
                      customer_col => 'sample_id', time_col => 'ordered_on')
WHERE period % 13 = 12 OR period = 38;

------------------------------------------------------------------------
-- A Chinese retail shop (generated, seeded): lifecycle, funnel, habits.
------------------------------------------------------------------------
SET TimeZone = 'Asia/Shanghai';
\set ECHO none
\set customers 5000
\i demo/retail_generate.sql
\i demo/retail_profile.sql

\echo
\echo '== 零售 demo: 5,000 customers, orders 2023-2024, as of 2025-01-01 (Asia/Shanghai) =='
\echo '== 客户生命周期 Lifecycle =='
SET persona.language = zh;
SELECT persona.label(coalesce(stage, 'prospect')) AS "阶段", count(*) AS "客户数",
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "占比 %",
       coalesce(sum((s).revenue), 0) AS "收入",
       round(100 * coalesce(sum((s).revenue), 0) / sum(sum((s).revenue)) OVER (), 1) AS "收入占比 %"
FROM retail_profile GROUP BY coalesce(stage, 'prospect') ORDER BY coalesce(stage, 'prospect');

\echo '== AARRR 漏斗 Funnel =='
SELECT label AS "阶段", customers AS "人数", reached AS "到达", round(100 * conversion)::text || '%' AS "转化率"
FROM persona.funnel_report((SELECT persona.funnel_counts(funnel) FROM retail_profile));

\echo '== 消费习惯 Habits: favourite daypart and weekend share =='
SELECT persona.label((h).daypart) AS "时段", count(*) AS "客户数",
       round(avg((h).weekend_share)::numeric, 2) AS "周末占比",
       round(avg((h).lunch)::numeric, 2) AS "午餐占比"
FROM retail_profile WHERE (h).orders > 0 GROUP BY (h).daypart ORDER BY (h).daypart;

\echo '== 偏好 Preferences: channel, payment and category (mode) of the five biggest spenders =='
SELECT r.name, r.city, (r.s).revenue AS "收入",
       mode() WITHIN GROUP (ORDER BY o.channel) AS "渠道",
       mode() WITHIN GROUP (ORDER BY o.payment) AS "支付",
       mode() WITHIN GROUP (ORDER BY o.category) AS "品类",
       persona.price_sensitivity(count(*) FILTER (WHERE o.coupon_used AND o.ordered_at > '2024-07-01')) AS "价格敏感度",
       persona.purchase_count_bucket((r.s).orders) AS "购买频次"
FROM retail_profile r JOIN retail_orders o USING (customer_id)
GROUP BY r.customer_id, r.name, r.city, r.s ORDER BY (r.s).revenue DESC LIMIT 5;

\echo '== 价值分层 Value tiers (revenue: 钻石 top 5%, 黄金 next 15%) =='
WITH cut AS (SELECT percentile_cont(0.80) WITHIN GROUP (ORDER BY (s).revenue) AS gold,
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY (s).revenue) AS diamond
             FROM retail_profile WHERE (s).orders > 0)
SELECT persona.label(persona.value_tier((s).revenue, gold, diamond)) AS "等级", count(*) AS "客户数",
       round(100 * sum((s).revenue) / sum(sum((s).revenue)) OVER (), 1) AS "收入占比 %"
FROM retail_profile, cut WHERE (s).orders > 0
GROUP BY 1 ORDER BY min((s).revenue) DESC;

\echo '== 流失预警 Churn warnings: 消费频率下降 and 优惠券未使用 (first 8) =='
SELECT r.customer_id, r.name, overlay(r.phone placing '****' from 4) AS phone, (r.t).previous_orders AS "前6个月", (r.t).recent_orders AS "近6个月",
       (r.t).falling AS "消费频率下降",
       EXISTS (SELECT FROM retail_coupons k WHERE k.customer_id = r.customer_id AND NOT k.used) AS "优惠券未使用",
       persona.label(r.stage) AS "阶段"
FROM retail_profile r
WHERE (r.t).falling
ORDER BY (r.t).previous_orders - (r.t).recent_orders DESC, r.customer_id LIMIT 8;
SELECT count(*) FILTER (WHERE (t).falling) AS "消费频率下降 客户数",
       (SELECT count(DISTINCT customer_id) FROM retail_coupons WHERE NOT used) AS "优惠券未使用 客户数"
FROM retail_profile;

\echo '== 交叉销售 Cross-sell: 育儿 buyers who also buy 绘本 =='
SELECT count(*) AS "育儿客户", count(*) FILTER (WHERE books) AS "也买绘本",
       round(100 * avg(books::int))::text || '%' AS "比例"
FROM (SELECT customer_id, bool_or(category = '绘本') AS books
      FROM retail_orders GROUP BY customer_id HAVING bool_or(category = '育儿')) q;
RESET persona.language;

------------------------------------------------------------------------
-- Tags: rules as data, a tag view, @@ queries and affinity.
------------------------------------------------------------------------
SET TimeZone = 'Asia/Shanghai';
SET client_min_messages = warning;
DROP VIEW IF EXISTS retail_tags;
DROP VIEW IF EXISTS retail_card;
DELETE FROM persona.tag_rules WHERE source::text IN ('retail_card');
RESET client_min_messages;
-- The portrait card: profile plus what the tag rules read.
CREATE VIEW retail_card AS
SELECT p.*, o.categories, o.payment, o.promotion_uses_6m, o.trend
FROM persona.customer_profile('retail_orders', '2025-01-01') p
LEFT JOIN (SELECT customer_id, array_agg(DISTINCT category) AS categories,
                  mode() WITHIN GROUP (ORDER BY payment) AS payment,
                  count(*) FILTER (WHERE coupon_used AND ordered_at > '2024-07-01') AS promotion_uses_6m,
                  persona.frequency_trend(ordered_at, '2025-01-01', '6 months') AS trend
           FROM retail_orders GROUP BY customer_id) o USING (customer_id);
SELECT persona.starter_tag_rules('retail_card') AS starter_rules \gset
SELECT persona.build_tag_view('retail_tags', 'retail_card') AS tag_view \gset
\echo '== 标签 Tags: starter rules from the articles, compiled into view' :tag_view '=='
SET persona.language = zh;
SELECT persona.label(r.layer) AS "层级", r.tag AS "标签", count(t.customer_id) AS "客户数", r.rule_sql AS "规则"
FROM persona.tag_rules r LEFT JOIN retail_tags t ON r.tag = ANY (t.tags)
WHERE r.source = 'retail_card'::regclass
GROUP BY r.layer, r.tag, r.rule_sql ORDER BY r.layer, count(t.customer_id) DESC;

\echo '== 圈人 Campaign audience: 工作日午餐 & 移动支付 & !流失风险 =='
SELECT count(*) AS "客户数" FROM retail_tags WHERE tags OPERATOR(persona.@@) '工作日午餐 & 移动支付 & !流失风险';

\echo '== 标签组合 Common tag combinations =='
SELECT array_to_string(persona.tag_set(tags), ' + ') AS "组合", count(*) AS "客户数",
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "占比 %"
FROM retail_tags WHERE cardinality(tags) >= 2 GROUP BY persona.tag_set(tags) ORDER BY 2 DESC LIMIT 6;

\echo '== 关联 Affinity between categories (support >= 5%, top lift) =='
SELECT (p).antecedent AS "品类", (p).consequent AS "也买", round(100 * (p).confidence)::text || '%' AS "置信度",
       round((p).lift::numeric, 2) AS "提升度"
FROM (SELECT unnest(persona.tag_affinity(categories, 0.05)) AS p FROM retail_card WHERE categories IS NOT NULL) x
ORDER BY (p).lift DESC LIMIT 5;
RESET persona.language;

-- Profiles for BI tools: flat views of built-in types, refreshed on a schedule.
SET client_min_messages = warning;
SET persona.progress = off;
CREATE SCHEMA bi;
SELECT count(*) AS relations FROM persona.create_profile('cdnow', 'cdnow', time_col => 'ordered_on', schema => 'bi',
                                                  as_of => '1998-06-30', time_zone => 'UTC', language => 'en') \gset
\echo
\echo '== Profiles for BI tools: persona.create_profile made' :relations 'views in schema bi for CDNOW =='
\echo '== bi.cdnow_segments (客户分群结果表; below_5_percent flags groups to merge) =='
SELECT segment, customers, round(100 * customer_share::numeric, 1) AS "占比 %", revenue,
       round(100 * revenue_share::numeric, 1) AS "revenue %", round(avg_recency_days::numeric) AS "avg R days",
       round(avg_orders::numeric, 1) AS "avg F", below_5_percent, persona.text_bar(customer_share, 20) AS customers_bar
FROM bi.cdnow_segments ORDER BY revenue DESC;

CREATE VIEW retail_people AS
SELECT customer_id, name, phone, gender, birth_year, city, visits, signed_up_at IS NOT NULL AS signed_up, is_member, referrals
FROM retail_customers;
SELECT count(*) AS relations FROM persona.create_profile('retail', 'retail_orders', schema => 'bi', as_of => '2024-12-31',
       time_zone => 'Asia/Shanghai', language => 'zh', incremental => true, holdout_days => 91,
       attributes_from => 'retail_people', pii => '{"name": "name", "phone": "phone"}',
       funnel_columns => '{visits,signed_up,is_member,referrals}') \gset
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES
  ('bi.retail_customers', convert_from('\xe5b7a5e4bd9ce697a5e58d88e9a490', 'UTF8'), 'preference', 'daypart = ''lunch'' AND weekday_share >= 0.8'),
  ('bi.retail_customers', convert_from('\xe9ab98e4bbb7e580bc', 'UTF8'), 'value', 'm_score >= 4 AND f_score >= 4'),
  ('bi.retail_customers', convert_from('\xe6b581e5a4b1e9a38ee999a9', 'UTF8'), 'predictive', 'lifecycle IN (''declining'', ''churned'')');
SELECT refresh FROM persona.refresh_profile('retail') \gset
\echo '== 零售 profile bi.retail_*:' :relations 'views, tags from persona.tag_rules; 生命周期 and 漏斗 =='
SELECT label AS "阶段", customers AS "客户数", round(100 * customer_share::numeric, 1) AS "占比 %", persona.text_bar(customer_share, 20) AS "分布"
FROM bi.retail_lifecycle ORDER BY stage_order;
SELECT label AS "漏斗", customers AS "客户数", reached AS "到达", round(100 * conversion::numeric, 1) AS "转化 %" FROM bi.retail_funnel ORDER BY stage_order;
\echo '== 画像卡片 Portrait card of the customer with the most tags (bi.retail_customers; name and phone masked) =='
\x on
SELECT customer_id AS "客户", name AS "姓名", phone AS "手机", gender AS "性别", city AS "城市",
       segment AS "分群", rfm AS "RFM", lifecycle_label AS "生命周期", value_tier_label AS "价值",
       orders AS "订单", revenue AS "消费", recency_days AS "最近消费(天)", round(mean_gap_days::numeric, 1) AS "平均间隔(天)",
       daypart_label AS "常用时段", round(100 * weekend_share::numeric) AS "周末占比 %",
       round(p_alive::numeric, 3) AS "P(alive)", round(clv_12m::numeric) AS "12个月CLV", array_to_string(tags, ', ') AS "标签"
FROM bi.retail_customers ORDER BY cardinality(tags) DESC, revenue DESC, customer_id LIMIT 1;
\x off
\echo '== 数据质量 Data quality of retail_orders (bi.retail_quality) =='
SELECT label, rows, round(100 * share::numeric, 2) AS "%", treatment FROM bi.retail_quality WHERE rows > 0;
\echo '== Registry persona.profiles =='
SELECT name, schema_name, orders, time_zone, language, incremental, refresh_kind, refreshed_as_of, customers, round(refresh_ms) AS ms
FROM persona.profiles ORDER BY name;
\echo '== Reports 画像报告: one self-contained HTML page per profile (inline SVG charts; open in a browser) =='
\if :{?report_dir}
\else
  \getenv report_dir PWD
\endif
\set cdnow_report :report_dir '/cdnow_report.html'
\set retail_report :report_dir '/retail_report.html'
\pset tuples_only on
\pset format unaligned
\o :cdnow_report
SELECT persona.profile_report('cdnow');
\o :retail_report
SELECT persona.profile_report('retail');
\o
\pset tuples_only off
\pset format aligned
\echo :cdnow_report
\echo :retail_report
RESET persona.progress;
