-- persona 0.2.0 -> 0.3.0: production hardening.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.3.0'" to load this file. \quit

-- Functions whose signature stays are replaced in place (CREATE OR REPLACE),
-- so views, indexes and materialized views over them survive the update.

------------------------------------------------------------------------
-- A. Relations resolved and permission-checked; tag rules; labels
------------------------------------------------------------------------

-- Relation arguments: one resolver (42P01 / 42809 / 42501, then a lock).
CREATE FUNCTION persona.resolve_relation(rel regclass) RETURNS text
AS 'MODULE_PATHNAME', 'resolve_relation' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.resolve_relation(regclass) IS
  'Quoted schema-qualified name of a table, view, materialized view, foreign or partitioned table the caller may read (locked until the end of the transaction); 42P01, 42809 or 42501 otherwise';

-- Functions that read a relation they are given: resolve it first, and
-- PARALLEL RESTRICTED (a temporary table cannot be read in a worker).
-- check_tag_rule also requires a boolean rule.
CREATE OR REPLACE FUNCTION persona.check_tag_rule(source regclass, rule_sql text) RETURNS void
AS 'MODULE_PATHNAME', 'check_tag_rule' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION persona.check_tag_rule(regclass, text) IS
  'Error unless rule_sql is one boolean expression over the columns of source (checked as the caller)';

-- Changing only the layer, description or enabled flag is not checked, so a
-- rule whose relation was dropped can still be disabled (or deleted).
CREATE OR REPLACE FUNCTION persona.tag_rules_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (NEW.source, NEW.rule_sql) IS DISTINCT FROM (OLD.source, OLD.rule_sql) THEN PERFORM persona.check_tag_rule(NEW.source, NEW.rule_sql);
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION persona.tag_rules_check() IS 'Trigger: reject tag rules that do not parse, are not boolean, reference missing columns or a missing relation';

CREATE OR REPLACE FUNCTION persona.build_tag_view(view_name text, source regclass, key_col text DEFAULT 'customer_id')
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    arms text := '';
    name_parts text[] := parse_ident(view_name);
    qualified text;
    src text := persona.resolve_relation(source);
BEGIN
    IF view_name IS NULL OR src IS NULL OR key_col IS NULL THEN RAISE EXCEPTION 'arguments of build_tag_view must not be NULL' USING ERRCODE = 'null_value_not_allowed'; END IF;
    IF array_length(name_parts, 1) > 2 THEN
        RAISE EXCEPTION 'view name "%" has too many dots', view_name USING ERRCODE = 'invalid_name';
    END IF;
    qualified := (SELECT string_agg(format('%I', p), '.') FROM unnest(name_parts) p);
    FOR r IN SELECT tag, rule_sql FROM persona.tag_rules
             WHERE tag_rules.source = build_tag_view.source AND enabled ORDER BY layer, tag
    LOOP
        -- checked again: the profile's columns may have changed since the rule was stored
        PERFORM persona.check_tag_rule(build_tag_view.source, r.rule_sql);
        arms := arms || format(E',\n        CASE WHEN (%s\n) THEN %L END', r.rule_sql, r.tag);
    END LOOP;
    EXECUTE format(E'CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS\nSELECT %I, array_remove(ARRAY[NULL::text%s], NULL) AS tags\nFROM %s',
                   qualified, key_col, arms, src);
    RETURN qualified;
END $$;
COMMENT ON FUNCTION persona.build_tag_view(text, regclass, text) IS
  'Create or replace a security_invoker view (key, tags text[]) applying the enabled tag rules of source in one pass';

-- starter_tag_rules (which now resolves its relation first) is replaced in
-- section D, with its tags built at run time.

CREATE OR REPLACE FUNCTION persona.holdout(
    orders          regclass,
    calibration_end timestamptz,
    holdout_end     timestamptz,
    model           text DEFAULT 'bgnbd',
    unit            text DEFAULT 'weeks',
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount')
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8,
               predicted float8, actual integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    fit text;
    src text := persona.resolve_relation(orders);
BEGIN
    IF model IS NULL OR model NOT IN ('bgnbd', 'pareto_nbd') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown model %L', model),
            HINT = 'Use ''bgnbd'' or ''pareto_nbd''.';
    END IF;
    IF calibration_end IS NULL OR holdout_end IS NULL OR holdout_end::date <= calibration_end::date THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'the holdout must end on a later day than the calibration period',
            DETAIL = format('calibration_end %s, holdout_end %s', calibration_end, holdout_end);
    END IF;
    IF unit IS NULL OR unit NOT IN ('day', 'days', 'week', 'weeks') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown time unit %L', unit), HINT = 'Use ''days'' or ''weeks''.';
    END IF;
    IF src IS NULL THEN RAISE EXCEPTION 'orders must not be NULL' USING ERRCODE = 'null_value_not_allowed'; END IF;
    FOR i IN 1..3 LOOP
        IF NOT EXISTS (SELECT FROM pg_attribute a
                       WHERE a.attrelid = orders AND a.attnum > 0 AND NOT a.attisdropped
                         AND a.attname = (ARRAY[customer_col, time_col, amount_col])[i]) THEN
            RAISE EXCEPTION USING ERRCODE = 'undefined_column',
                MESSAGE = format('column %I does not exist in %s', (ARRAY[customer_col, time_col, amount_col])[i], orders),
                HINT = 'Name the columns with customer_col, time_col and amount_col.';
        END IF;
    END LOOP;
    fit := format('persona.%s_fit', model);
    -- Days are calendar days in the session time zone, as in order_stats:
    -- the calibration period ends with the day of calibration_end, the
    -- holdout runs from the next day through the day of holdout_end, and
    -- each holdout day with a purchase is one repeat purchase.
    RETURN QUERY EXECUTE format($q$
        WITH cal AS (
            SELECT id, (b).x, (b).t_x, (b).t_cal
            FROM (SELECT %1$I::bigint AS id,
                         persona.btyd(persona.order_stats(%2$I, %3$I::numeric, $1), $3) AS b
                  FROM %4$s
                  WHERE %2$I < date_trunc('day', $1) + interval '1 day'
                  GROUP BY 1) q
            WHERE (b).x IS NOT NULL),
        hold AS (
            SELECT %1$I::bigint AS id, count(DISTINCT date_trunc('day', %2$I))::integer AS n
            FROM %4$s
            WHERE %2$I >= date_trunc('day', $1) + interval '1 day'
              AND %2$I < date_trunc('day', $2) + interval '1 day'
            GROUP BY 1),
        m AS (SELECT %5$s(cal.x, cal.t_x, cal.t_cal) AS m FROM cal)
        SELECT cal.id, cal.x, cal.t_x, cal.t_cal,
               persona.expected_purchases(m.m, ($2::date - $1::date) / CASE WHEN $3 LIKE 'week%%' THEN 7.0 ELSE 1.0 END,
                                          cal.x, cal.t_x, cal.t_cal),
               coalesce(hold.n, 0)
        FROM cal CROSS JOIN m LEFT JOIN hold ON hold.id = cal.id
        ORDER BY cal.id$q$,
        customer_col, time_col, amount_col, src, fit)
    USING calibration_end, holdout_end, unit;
END;
$fn$;
COMMENT ON FUNCTION persona.holdout(regclass, timestamptz, timestamptz, text, text, text, text, text) IS
  'Fit a BTYD model (bgnbd or pareto_nbd) on orders up to calibration_end and compare each customer''s predicted with actual repeat purchases up to holdout_end';

CREATE OR REPLACE FUNCTION persona.holdout_by_frequency(
    orders          regclass,
    calibration_end timestamptz,
    holdout_end     timestamptz,
    model           text DEFAULT 'bgnbd',
    unit            text DEFAULT 'weeks',
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount')
RETURNS TABLE (frequency text, customers bigint, predicted float8, actual float8,
               mae float8, rmse float8)
LANGUAGE sql STABLE PARALLEL RESTRICTED
BEGIN ATOMIC
    SELECT coalesce(CASE WHEN least(h.x, 7) = 7 THEN '7+' ELSE least(h.x, 7)::text END, 'all'),
           count(*), avg(h.predicted), avg(h.actual),
           avg(abs(h.predicted - h.actual)), sqrt(avg((h.predicted - h.actual) ^ 2))
    FROM persona.holdout(orders, calibration_end, holdout_end, model, unit,
                         customer_col, time_col, amount_col) h
    GROUP BY GROUPING SETS ((least(h.x, 7)), ())
    ORDER BY least(h.x, 7) NULLS LAST;
END;
COMMENT ON FUNCTION persona.holdout_by_frequency(regclass, timestamptz, timestamptz, text, text, text, text, text) IS
  'The calibration/holdout table: mean predicted and actual holdout repeat purchases by calibration frequency (0..7+, all), with MAE and RMSE';

CREATE OR REPLACE FUNCTION persona.customer_profile(
    orders       regclass,
    as_of        timestamptz,
    customer_col text    DEFAULT 'customer_id',
    time_col     text    DEFAULT 'ordered_at',
    amount_col   text    DEFAULT 'amount',
    bins         integer DEFAULT 5,
    scheme       text    DEFAULT 'standard',
    habits       boolean DEFAULT true)
RETURNS TABLE (
    customer_id     bigint,
    first_at        timestamptz,
    last_at         timestamptz,
    orders          bigint,
    purchase_days   integer,
    revenue         numeric,
    avg_amount      double precision,
    recency_days    integer,
    tenure_days     integer,
    mean_gap_days   double precision,
    gap_sd_days     double precision,
    repeat_orders   bigint,
    repeat_revenue  numeric,
    refunds         bigint,
    rfm             persona.rfm,
    segment         text,
    lifecycle       persona.lifecycle,
    habits          persona.habits)
AS 'MODULE_PATHNAME', 'customer_profile'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100000;
COMMENT ON FUNCTION persona.customer_profile(regclass, timestamptz, text, text, text, integer, text, boolean) IS
  'Order statistics, tie-safe RFM scores, segment, lifecycle stage and (unless habits => false) habits of every customer of an orders table, in one scan';

-- Rules whose relation is gone (or was temporary) are left out of dumps: their
-- source would restore as a bare OID naming nothing, or something else.
SELECT pg_catalog.pg_extension_config_dump('persona.tag_rules',
  'WHERE source OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relpersistence OPERATOR(pg_catalog.<>) ''t''))');

-- An aggregate's SSPACE cannot be ALTERed: set it in the catalog (the update
-- runs as superuser), which keeps views over the aggregates.
UPDATE pg_catalog.pg_aggregate a SET aggtransspace = v.sspace
FROM (VALUES
    ('persona.order_stats(timestamptz, numeric, timestamptz)'::regprocedure, 280),
    ('persona.order_stats(timestamptz, numeric)'::regprocedure, 280),
    ('persona.habits(timestamptz)'::regprocedure, 128),
    ('persona.frequency_trend(timestamptz, timestamptz, interval)'::regprocedure, 88),
    ('persona.frequency_trend(timestamptz, timestamptz, interval, float8)'::regprocedure, 88),
    ('persona.tag_affinity(text[])'::regprocedure, 3200),
    ('persona.tag_affinity(text[], float8)'::regprocedure, 3200),
    ('persona.bgnbd_fit(float8, float8, float8)'::regprocedure, 82088),
    ('persona.bgnbd_fit(float8, float8, float8, float8)'::regprocedure, 82088),
    ('persona.bgnbd_fit(float8, float8, float8, float8, float8)'::regprocedure, 82088),
    ('persona.pareto_nbd_fit(float8, float8, float8)'::regprocedure, 82088),
    ('persona.pareto_nbd_fit(float8, float8, float8, float8)'::regprocedure, 82088),
    ('persona.pareto_nbd_fit(float8, float8, float8, float8, float8)'::regprocedure, 82088),
    ('persona.gamma_gamma_fit(float8, float8)'::regprocedure, 82088),
    ('persona.gamma_gamma_fit(float8, float8, float8)'::regprocedure, 82088)
) v(agg, sspace)
WHERE a.aggfnoid = v.agg;



------------------------------------------------------------------------
-- B. Interrupts (cancel, statement_timeout)
------------------------------------------------------------------------



------------------------------------------------------------------------
-- C. Validated states and values; one lifecycle definition
------------------------------------------------------------------------

-- lifecycle_stage's third argument (named orders) counts purchase days, as
-- lifecycle_of does; the C code now checks it against first_at and last_at.
COMMENT ON FUNCTION persona.lifecycle_stage(timestamptz, timestamptz, bigint, timestamptz, float8, integer, integer, float8, float8, integer, integer, integer) IS
  'Lifecycle stage from first/last order, number of purchase days (distinct order days, as in lifecycle_of) and (optionally) mean gap; NULL parameters take the settings';



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
    PERFORM persona.resolve_relation(source);
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
