-- persona 0.4.0 -> 0.5.0: predictive models an analyst can trust.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.5.0'" to load this file. \quit

-- Only new objects, added attributes and CREATE OR REPLACE of unchanged
-- signatures, so views, indexes and materialized views over persona survive
-- the update.

-- B. Time units tied to the model; zero and NULL spend
-- The summary and the purchase models carry their time unit (added last).
ALTER TYPE persona.btyd_summary ADD ATTRIBUTE unit text;
ALTER TYPE persona.bgnbd ADD ATTRIBUTE unit text;
ALTER TYPE persona.pareto_nbd ADD ATTRIBUTE unit text;
COMMENT ON TYPE persona.btyd_summary IS
  'BTYD model input: x repeat purchase days, t_x time of last purchase, t_cal (T) observation length, mean repeat spend, time unit';
COMMENT ON COLUMN persona.btyd_summary.unit IS
  'Time unit of t_x and t_cal: days, weeks or months (NULL: not stated); a fit on summaries records it';
COMMENT ON FUNCTION persona.btyd(persona.order_stats, text) IS
  'BTYD summary (x, t_x, T, mean repeat spend, unit) from order statistics, in days, weeks or months (any case)';
CREATE FUNCTION persona.time_unit_days(unit text) RETURNS float8
AS 'MODULE_PATHNAME', 'time_unit_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.time_unit_days(text) IS
  'Days in a BTYD time unit: day(s) 1, week(s) 7, month(s) 365.25/12 (any case, blanks trimmed); 22023 for another';
COMMENT ON COLUMN persona.bgnbd.unit IS
  'Time unit of the summaries it was fitted on (days, weeks, months); NULL when fitted on plain numbers';
COMMENT ON COLUMN persona.pareto_nbd.unit IS
  'Time unit of the summaries it was fitted on (days, weeks, months); NULL when fitted on plain numbers';
-- Fits on persona.btyd_summary rows record the summaries' time unit in the model.
CREATE FUNCTION persona.btyd_fit_summary_transfn(internal, persona.btyd_summary) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_summary_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_summary_transfn(internal, persona.btyd_summary, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_summary_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_summary_transfn(internal, persona.btyd_summary, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_summary_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_summary_transfn(internal, persona.btyd_summary) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit over summaries';
COMMENT ON FUNCTION persona.btyd_fit_summary_transfn(internal, persona.btyd_summary, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit over summaries';
COMMENT ON FUNCTION persona.btyd_fit_summary_transfn(internal, persona.btyd_summary, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit over summaries';
CREATE AGGREGATE persona.bgnbd_fit(summary persona.btyd_summary) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(summary persona.btyd_summary, weight float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(summary persona.btyd_summary, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgnbd_fit(persona.btyd_summary) IS
  'BG/NBD fit over persona.btyd summaries; the model records their time unit (summaries in different units: 22023)';
COMMENT ON AGGREGATE persona.bgnbd_fit(persona.btyd_summary, float8) IS
  'BG/NBD fit over persona.btyd summaries with a count or weight each; the model records their time unit';
COMMENT ON AGGREGATE persona.bgnbd_fit(persona.btyd_summary, float8, float8) IS
  'BG/NBD fit over persona.btyd summaries with weights and an L2 penalty; the model records their time unit';
CREATE FUNCTION persona.p_alive(model persona.bgnbd, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_p_alive_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.bgnbd, persona.btyd_summary) IS
  'P(alive) of a customer''s summary under a BG/NBD model (the summary''s unit must be the model''s)';
CREATE FUNCTION persona.expected_purchases(model persona.bgnbd, t float8, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_expected_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgnbd, float8, persona.btyd_summary) IS
  'Expected purchases in the next t periods (the summary''s unit, which must be the model''s) given a customer''s summary (BG/NBD)';
CREATE AGGREGATE persona.pareto_nbd_fit(summary persona.btyd_summary) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(summary persona.btyd_summary, weight float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(summary persona.btyd_summary, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.pareto_nbd_fit(persona.btyd_summary) IS
  'Pareto/NBD fit over persona.btyd summaries; the model records their time unit (summaries in different units: 22023)';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(persona.btyd_summary, float8) IS
  'Pareto/NBD fit over persona.btyd summaries with a count or weight each; the model records their time unit';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(persona.btyd_summary, float8, float8) IS
  'Pareto/NBD fit over persona.btyd summaries with weights and an L2 penalty; the model records their time unit';
CREATE FUNCTION persona.p_alive(model persona.pareto_nbd, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'pareto_nbd_p_alive_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.pareto_nbd, persona.btyd_summary) IS
  'P(alive) of a customer''s summary under a Pareto/NBD model (the summary''s unit must be the model''s)';
CREATE FUNCTION persona.expected_purchases(model persona.pareto_nbd, t float8, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'pareto_nbd_expected_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.pareto_nbd, float8, persona.btyd_summary) IS
  'Expected purchases in the next t periods (the summary''s unit, which must be the model''s) given a customer''s summary (Pareto/NBD)';
CREATE OR REPLACE FUNCTION persona.clv(model persona.bgnbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text DEFAULT NULL,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'bgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.bgnbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: BG/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days, weeks, months; NULL: the model''s; another than the model''s: 22023)';
CREATE OR REPLACE FUNCTION persona.clv(model persona.pareto_nbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text DEFAULT NULL,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'pareto_nbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.pareto_nbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: Pareto/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days, weeks, months; NULL: the model''s; another than the model''s: 22023)';
CREATE FUNCTION persona.clv(model persona.bgnbd, spend persona.gamma_gamma, summary persona.btyd_summary,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'bgnbd_clv_summary' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.bgnbd, persona.gamma_gamma, persona.btyd_summary, integer, float8) IS
  'Customer lifetime value of a customer''s summary over the next months (BG/NBD and Gamma-Gamma); the summary''s unit must be the model''s';
CREATE FUNCTION persona.clv(model persona.pareto_nbd, spend persona.gamma_gamma, summary persona.btyd_summary,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'pareto_nbd_clv_summary' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.pareto_nbd, persona.gamma_gamma, persona.btyd_summary, integer, float8) IS
  'Customer lifetime value of a customer''s summary over the next months (Pareto/NBD and Gamma-Gamma); the summary''s unit must be the model''s';
-- holdout: only its unit check and divisor changed (persona.time_unit_days).
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
    IF unit IS NULL OR persona.time_unit_days(unit) IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown time unit %L', unit), HINT = 'Use ''days'', ''weeks'' or ''months'' (any case; a month is 365.25/12 days).';
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
               persona.expected_purchases(m.m, ($2::date - $1::date) / persona.time_unit_days($3),
                                          cal.x, cal.t_x, cal.t_cal),
               coalesce(hold.n, 0)
        FROM cal CROSS JOIN m LEFT JOIN hold ON hold.id = cal.id
        ORDER BY cal.id$q$,
        customer_col, time_col, amount_col, src, fit)
    USING calibration_end, holdout_end, unit;
END;
$fn$;
-- RFM without M (no amounts): m = 0 in the rfm value, NULL monetary scores R and F only.
CREATE OR REPLACE FUNCTION persona.rfm(r integer, f integer, m integer, bins integer DEFAULT 5) RETURNS persona.rfm
AS 'MODULE_PATHNAME', 'rfm_construct' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm(integer, integer, integer, integer) IS
  'Build an rfm value from three scores on a scale of bins points; m NULL: R and F only (''54-''), another NULL: NULL';
COMMENT ON TYPE persona.rfm IS
  'RFM scores (recency, frequency, monetary; 1..bins, bins = best), text ''545'' or ''10-3-5/10''; without amounts R and F only, ''54-'' or ''10-3-/10''';
COMMENT ON FUNCTION persona.m(persona.rfm) IS 'Monetary score (bins = spends most); NULL for R and F only (''54-'')';
COMMENT ON FUNCTION persona.score(persona.rfm) IS 'Numeric RFM code 100 r + 10 f + m (''545'' -> 545); NULL for R and F only (''54-'')';
COMMENT ON AGGREGATE persona.rfm_breaks(float8, float8, float8) IS
  'Tie-safe quintile cut points for RFM scoring over all customers (also usable OVER ()); NULL monetary: ranked on R and F only';
CREATE OR REPLACE FUNCTION persona.rfm_score(recency float8, frequency float8, monetary float8, breaks persona.rfm_breaks)
RETURNS persona.rfm AS 'MODULE_PATHNAME', 'rfm_score_breaks' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_score(float8, float8, float8, persona.rfm_breaks) IS
  'RFM scores of one customer against cut points from rfm_breaks or rfm_thresholds; monetary NULL: R and F only (''54-''), another NULL: NULL';
CREATE OR REPLACE FUNCTION persona.rfm_score(recency float8, frequency float8, monetary float8,
                                  r_days float8[], f_counts float8[], m_amounts float8[])
RETURNS persona.rfm LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN persona.rfm_score(recency, frequency, monetary, persona.rfm_thresholds(r_days, f_counts, m_amounts));
COMMENT ON FUNCTION persona.rfm_score(float8, float8, float8, float8[], float8[], float8[]) IS
  'RFM scores of one customer against explicit business thresholds; monetary NULL: R and F only (''54-'')';
