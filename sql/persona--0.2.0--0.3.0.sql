-- persona 0.2.0 -> 0.3.0: production hardening.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.3.0'" to load this file. \quit

-- Functions whose signature stays are replaced in place (CREATE OR REPLACE),
-- so views, indexes and materialized views over them survive the update.

------------------------------------------------------------------------
-- A. Relations resolved and permission-checked; tag rules; labels
------------------------------------------------------------------------



------------------------------------------------------------------------
-- B. Interrupts (cancel, statement_timeout)
------------------------------------------------------------------------



------------------------------------------------------------------------
-- C. Validated states and values; one lifecycle definition
------------------------------------------------------------------------



------------------------------------------------------------------------
-- D. Encodings
------------------------------------------------------------------------

-- Everything persona installs is ASCII, so CREATE EXTENSION works in every
-- server encoding; Chinese labels are UTF-8 literals in C, converted to the
-- server encoding at run time (persona_label).  The comments that carried
-- Chinese glosses are rewritten, and the ready-made buckets move to C (their
-- labels were Chinese literals in SQL bodies).
COMMENT ON FUNCTION persona.rfm_segment(persona.rfm, text) IS
  'Segment label of RFM scores: standard (11 segments), cn8 (the Chinese 8-class scheme) or a scheme in persona.segment_rules';
COMMENT ON TYPE persona.lifecycle IS
  'Lifecycle stage: prospect/new/growing/mature/declining/churned; label() gives the display name in persona.language';
COMMENT ON TYPE persona.funnel IS
  'AARRR funnel stage: stranger/visitor/lead/customer/member/advocate; label() gives the display name in persona.language';
COMMENT ON TYPE persona.daypart IS
  'Part of the day: morning 05-11h, lunch 11-14h, afternoon 14-17h, evening 17-21h, night 21-05h; label() gives the display name in persona.language';

CREATE OR REPLACE FUNCTION persona.purchase_count_bucket(orders bigint) RETURNS text
AS 'MODULE_PATHNAME', 'purchase_count_bucket' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.purchase_count_bucket(bigint) IS
  'Purchase frequency bucket 1-2 / 3-5 / more than 5, in persona.language; NULL for no orders';

CREATE OR REPLACE FUNCTION persona.price_sensitivity(promotion_uses bigint) RETURNS text
AS 'MODULE_PATHNAME', 'price_sensitivity' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.price_sensitivity(bigint) IS
  'Price sensitivity from promotion uses in 6 months: <= 2 low, 3-4 medium, >= 5 high, in persona.language';

CREATE OR REPLACE FUNCTION persona.ltv_bucket(value numeric) RETURNS text
AS 'MODULE_PATHNAME', 'ltv_bucket' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.ltv_bucket(numeric) IS
  'Lifetime value bucket: 0-500 low, 500-2000 medium, over 2000 high, in persona.language';

COMMENT ON TYPE persona.value_tier IS 'Value tier: regular/gold/diamond; label() gives the display name in persona.language';
COMMENT ON TYPE persona.tagquery IS
  'Boolean query over tags: & (and), | (or), ! (not), parentheses, quoted tags; e.g. ''parenting & (vip | !churn_risk)''';
COMMENT ON TYPE persona.tag_layer IS 'Tag layer: basic/behavior/preference/value/predictive; label() gives the display name in persona.language';
COMMENT ON COLUMN persona.tag_rules.layer IS 'basic/behavior/preference/value/predictive';

-- The starter tags are built from their UTF-8 bytes at run time.
CREATE OR REPLACE FUNCTION persona.starter_tag_rules(source regclass) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    tag_text text;
    n integer := 0;
BEGIN
    -- The seed articles' tags are Chinese.  This script is ASCII so that it
    -- installs in every server encoding: the tags are their UTF-8 bytes in
    -- hex, converted to the server encoding here (%L in a rule is the tag).
    FOR r IN SELECT * FROM (VALUES
        ('e9ab98e4bbb7e580bc', 'value'::persona.tag_layer, 'persona.m(rfm) >= 4 AND persona.f(rfm) >= 4', 'high value: top spenders who buy often (RFM M and F >= 4)'),
        ('e9878de8a681e4bbb7e580bc', 'value', '2 * persona.r(rfm) > persona.bins(rfm) + 1 AND 2 * persona.f(rfm) > persona.bins(rfm) + 1 AND 2 * persona.m(rfm) > persona.bins(rfm) + 1', 'important value (cn8): R, F and M all high'),
        ('e696b0e5aea2', 'behavior', 'lifecycle = ''new''', 'new customer (lifecycle new)'),
        ('e6b289e79da1', 'behavior', 'recency_days > 90', 'no purchase for 90 days'),
        ('e6b581e5a4b1e9a38ee999a9', 'predictive', 'lifecycle IN (''declining'', ''churned'')', 'declining or churned against their own cadence'),
        ('e5b7a5e4bd9ce697a5e58d88e9a490', 'preference', '(habits).daypart = ''lunch'' AND (habits).weekday_share >= 0.8', 'buys weekday lunches'),
        ('e591a8e69cabe5aeb6e5baad', 'preference', '(habits).weekend_share >= 0.6 AND (habits).daypart = ''evening''', 'buys on weekend evenings'),
        ('e69c88e6b688e8b4b933e6aca1e4bba5e4b88a', 'basic', 'orders::float8 / greatest(tenure_days, 30) * 30 >= 3', 'at least 3 orders a month'),
        ('e4bbb7e6a0bce6958fe6849f', 'preference', 'promotion_uses_6m >= 5', 'used 5 or more promotions in 6 months'),
        ('e7a7bbe58aa8e694afe4bb98', 'preference', 'payment IN (''wechat_pay'', ''alipay'')', 'pays mostly by WeChat Pay or Alipay'),
        ('e882b2e584bf', 'preference', '%L = ANY (categories)', 'bought parenting products'),
        ('e7bb98e69cac', 'preference', '%L = ANY (categories)', 'bought picture books'),
        ('e6b688e8b4b9e9a291e78e87e4b88be9998d', 'predictive', '(trend).falling', 'purchase frequency falling (frequency_trend)')
    ) v(tag_hex, layer, rule_sql, description)
    LOOP
        BEGIN
            tag_text := convert_from(decode(r.tag_hex, 'hex'), 'UTF8');
        EXCEPTION WHEN untranslatable_character OR undefined_function THEN
            RAISE EXCEPTION 'starter tags cannot be represented in server encoding "%"', getdatabaseencoding()
                USING ERRCODE = 'untranslatable_character',
                      DETAIL = 'The starter tags are Chinese words.',
                      HINT = 'Use a database with encoding UTF8, or insert your own rules into persona.tag_rules.';
        END;
        BEGIN
            INSERT INTO persona.tag_rules (source, tag, layer, rule_sql, description)
            VALUES (starter_tag_rules.source, tag_text, r.layer, format(r.rule_sql, tag_text), r.description)
            ON CONFLICT ON CONSTRAINT tag_rules_pkey DO NOTHING;
            n := n + 1;
        EXCEPTION WHEN undefined_column OR undefined_function OR datatype_mismatch THEN
            -- the profile lacks what this rule reads: skip it
        END;
    END LOOP;
    RETURN n;
END $$;
