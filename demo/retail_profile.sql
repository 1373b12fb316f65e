-- One row per retail customer (demo and tests): order statistics, habits and
-- frequency trend as of 2025-01-01, lifecycle stage and funnel stage.
SET client_min_messages = warning;
DROP TABLE IF EXISTS retail_profile;
RESET client_min_messages;
CREATE TABLE retail_profile AS
SELECT c.customer_id, c.kind, c.name, c.phone, c.city, s, h, t,
       persona.lifecycle_of(s) AS stage,
       persona.funnel_stage(c.visits, c.signed_up_at IS NOT NULL, (s).orders, c.is_member, c.referrals) AS funnel
FROM retail_customers c
LEFT JOIN (SELECT customer_id,
                  persona.order_stats(ordered_at, amount, '2025-01-01') AS s,
                  persona.habits(ordered_at) AS h,
                  persona.frequency_trend(ordered_at, '2025-01-01', '6 months') AS t
           FROM retail_orders GROUP BY customer_id) o USING (customer_id);
