-- Lifecycle stages: every rule and every boundary, with the default settings.
SET TimeZone = 'Asia/Shanghai';
-- The settings exist once persona is loaded in the session.
LOAD 'persona';
SHOW persona.lifecycle_new_days;
SHOW persona.lifecycle_decline_factor;
-- One-time buyers: new until decline_days (90) of silence, declining until churn_days (180).
SELECT silence, persona.lifecycle_stage(t, t, 1, t + silence * interval '1 day') AS stage
FROM (VALUES (0), (30), (89), (90), (91), (180), (181), (400)) v(silence),
     (VALUES (timestamptz '2024-01-01 12:00')) x(t)
ORDER BY silence;
-- Repeat buyers with a 20-day cadence: declining after max(2 x 20, 30) = 40 days,
-- churned after max(4 x 20, 60) = 80 days.
SELECT silence, persona.lifecycle_stage('2024-01-01', '2024-03-01', 4, '2024-03-01'::timestamptz + silence * interval '1 day', 20) AS stage
FROM (VALUES (0), (40), (41), (80), (81)) v(silence) ORDER BY silence;
-- A fast cadence (2 days) still gets min_days (30) before declining, 60 before churning.
SELECT silence, persona.lifecycle_stage('2024-01-01', '2024-01-07', 4, '2024-01-07'::timestamptz + silence * interval '1 day', 2) AS stage
FROM (VALUES (10), (30), (31), (60), (61)) v(silence) ORDER BY silence;
-- new (first purchase within 30 days) / growing / mature (4+ purchase days).
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-20', 3, '2024-01-31') AS tenure_30_new,
       persona.lifecycle_stage('2024-01-01', '2024-01-20', 3, '2024-02-01') AS tenure_31_growing,
       persona.lifecycle_stage('2024-01-01', '2024-01-20', 4, '2024-02-01') AS four_mature;
-- Without mean_gap_days the cadence is (last - first) / (orders - 1): 60 / 2 = 30 days.
SELECT persona.lifecycle_stage('2024-01-01', '2024-03-01', 3, '2024-04-30') AS silence_60,
       persona.lifecycle_stage('2024-01-01', '2024-03-01', 3, '2024-05-01') AS silence_61;
-- Prospects: no orders.
SELECT persona.lifecycle_stage(NULL, NULL, 0, '2024-01-01'), persona.lifecycle_stage(NULL, NULL, NULL, '2024-01-01');
-- Named arguments and settings change the thresholds.
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-01', 1, '2024-02-15', decline_days => 30) AS decline_after_30;
SET persona.lifecycle_churn_days = 40;
SET persona.lifecycle_decline_days = 20;
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-01', 1, '2024-02-15') AS churn_after_40;
RESET persona.lifecycle_churn_days;
RESET persona.lifecycle_decline_days;

-- From order statistics: purchase days and the customer's own cadence.
CREATE TABLE o (c int, t timestamptz, a numeric);
INSERT INTO o SELECT 1, '2024-01-01'::timestamptz + g * interval '10 days', 10 FROM generate_series(0, 5) g;  -- mature, last 2024-02-20
INSERT INTO o VALUES (2, '2024-02-25', 5), (2, '2024-02-26', 5);                                             -- recent repeat: new
INSERT INTO o VALUES (3, '2023-06-01', 5);                                                                   -- one order long ago: churned
INSERT INTO o VALUES (4, '2024-03-15', 5);                                                                   -- after as_of: prospect
SELECT c, (s).purchase_days, (s).recency_days, round((s).mean_gap_days::numeric, 1) AS gap,
       persona.lifecycle_of(s) AS stage, persona.label(persona.lifecycle_of(s)) AS label
FROM (SELECT c, persona.order_stats(t, a, '2024-03-01') s FROM o GROUP BY c) q ORDER BY c;
SET persona.language = zh;
SELECT persona.label(x) FROM unnest(enum_range(NULL::persona.lifecycle)) x;
RESET persona.language;
SELECT persona.lifecycle_of(NULL) IS NULL AS null_stats;
-- Named arguments work on the statistics form too.
SELECT persona.lifecycle_of(s, mature_purchases => 10) FROM (SELECT persona.order_stats(t, a, '2024-03-01') s FROM o WHERE c = 1) q;

-- Bad input.
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-01', 1, NULL);
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-01', -1, '2024-02-01');
SELECT persona.lifecycle_stage('2024-02-01', '2024-01-01', 2, '2024-03-01');
SELECT persona.lifecycle_stage('2024-01-01', '2024-02-01', 2, '2024-01-15');
SELECT persona.lifecycle_stage('2024-01-01', '2024-02-01', 2, '2024-03-01', 'NaN');
SELECT persona.lifecycle_stage('2024-01-01', '2024-02-01', 2, '2024-03-01', churn_factor => 1);
SELECT persona.lifecycle_stage('2024-01-01', '2024-02-01', 2, '2024-03-01', mature_purchases => 1);
SELECT persona.lifecycle_stage('2024-01-01', '2024-02-01', 2, '2024-03-01', churn_days => 10);
SET persona.lifecycle_churn_factor = -1;
DROP TABLE o;
