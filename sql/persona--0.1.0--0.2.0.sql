-- persona 0.1.0 -> 0.2.0: predictive value.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.2.0'" to load this file. \quit

-- bgnbd_fit now keeps distinct (x, t_x, T) rows with counts, in a state it
-- shares with pareto_nbd_fit and gamma_gamma_fit: new support functions.
-- The aggregates themselves are kept and pointed at them with CREATE OR
-- REPLACE AGGREGATE (same arguments, result and state type), so user views,
-- materialized views and functions over bgnbd_fit survive the update; only
-- then are 0.1.0's support functions, no longer referenced, dropped.  (The
-- 0.2.0 release dropped and re-created the aggregates, which failed on a
-- database with a view over bgnbd_fit.)

-- The fit aggregates share one state: distinct input rows with summed weights.
CREATE FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.fit_combinefn(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'fit_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.fit_serialfn(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'fit_serialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.fit_deserialfn(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'fit_deserialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.fit_combinefn(internal, internal) IS 'combine function of the model fit aggregates';
COMMENT ON FUNCTION persona.fit_serialfn(internal) IS 'serialisation function of the model fit aggregates';
COMMENT ON FUNCTION persona.fit_deserialfn(bytea, internal) IS 'deserialisation function of the model fit aggregates';
CREATE OR REPLACE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
CREATE OR REPLACE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
DROP FUNCTION persona.bgnbd_transfn(internal, float8, float8, float8);
DROP FUNCTION persona.bgnbd_transfn(internal, float8, float8, float8, float8);
DROP FUNCTION persona.bgnbd_combinefn(internal, internal);
DROP FUNCTION persona.bgnbd_serialfn(internal);
DROP FUNCTION persona.bgnbd_deserialfn(bytea, internal);
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8) IS
  'Maximum-likelihood BG/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood BG/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8, float8) IS
  'BG/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';

CREATE FUNCTION persona.expected_purchases(model persona.bgnbd, t float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgnbd, float8) IS
  'Expected purchases in the first t periods of a newly acquired customer, E[X(t)] (BG/NBD)';

CREATE TYPE persona.pareto_nbd AS (
    r           double precision,
    alpha       double precision,
    s           double precision,
    beta        double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean
);
COMMENT ON TYPE persona.pareto_nbd IS
  'A fitted Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): purchase rate gamma(r, alpha), dropout rate gamma(s, beta), log-likelihood';
CREATE FUNCTION persona.pareto_nbd_finalfn(internal) RETURNS persona.pareto_nbd
AS 'MODULE_PATHNAME', 'pareto_nbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.pareto_nbd_finalfn(internal) IS 'final function of persona.pareto_nbd_fit';
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8) IS
  'Maximum-likelihood Pareto/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood Pareto/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8, float8, float8) IS
  'Pareto/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';

CREATE FUNCTION persona.p_alive(model persona.pareto_nbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'pareto_nbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.pareto_nbd, float8, float8, float8) IS
  'Probability that a customer with this history is still active under a Pareto/NBD model';
CREATE FUNCTION persona.expected_purchases(model persona.pareto_nbd, t float8, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'pareto_nbd_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.pareto_nbd, float8, float8, float8, float8) IS
  'Expected purchases in the next t periods given the customer''s history (Pareto/NBD)';
CREATE FUNCTION persona.expected_purchases(model persona.pareto_nbd, t float8) RETURNS float8
AS 'MODULE_PATHNAME', 'pareto_nbd_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.pareto_nbd, float8) IS
  'Expected purchases in the first t periods of a newly acquired customer, E[X(t)] (Pareto/NBD)';
CREATE FUNCTION persona.pareto_nbd_loglik(model persona.pareto_nbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'pareto_nbd_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.pareto_nbd_loglik(persona.pareto_nbd, float8, float8, float8) IS
  'One customer''s Pareto/NBD log-likelihood under the model''s parameters';

CREATE TYPE persona.gamma_gamma AS (
    p           double precision,
    q           double precision,
    v           double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean
);
COMMENT ON TYPE persona.gamma_gamma IS
  'A fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005): transaction value gamma(p, nu), nu ~ gamma(q, v) across customers';
CREATE FUNCTION persona.gamma_gamma_transfn(internal, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'gamma_gamma_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.gamma_gamma_transfn(internal, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'gamma_gamma_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.gamma_gamma_finalfn(internal) RETURNS persona.gamma_gamma
AS 'MODULE_PATHNAME', 'gamma_gamma_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.gamma_gamma_transfn(internal, float8, float8) IS 'transition function of persona.gamma_gamma_fit';
COMMENT ON FUNCTION persona.gamma_gamma_transfn(internal, float8, float8, float8) IS 'transition function of persona.gamma_gamma_fit';
COMMENT ON FUNCTION persona.gamma_gamma_finalfn(internal) IS 'final function of persona.gamma_gamma_fit';
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = internal, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8, penalty float8) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = internal, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.gamma_gamma_fit(float8, float8) IS
  'Maximum-likelihood Gamma-Gamma spend fit over repeat buyers (x > 0; one-time buyers are skipped)';
COMMENT ON AGGREGATE persona.gamma_gamma_fit(float8, float8, float8) IS
  'Gamma-Gamma spend fit with an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE FUNCTION persona.expected_spend(model persona.gamma_gamma, x float8, mean_spend float8) RETURNS float8
AS 'MODULE_PATHNAME', 'gamma_gamma_expected_spend' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_spend(persona.gamma_gamma, float8, float8) IS
  'Expected mean transaction value of a customer with x repeat purchases of mean mean_spend (x = 0: the population mean; mean_spend may be NULL then)';
CREATE FUNCTION persona.gamma_gamma_loglik(model persona.gamma_gamma, x float8, mean_spend float8) RETURNS float8
AS 'MODULE_PATHNAME', 'gamma_gamma_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.gamma_gamma_loglik(persona.gamma_gamma, float8, float8) IS
  'One repeat buyer''s Gamma-Gamma log-likelihood under the model''s parameters';

CREATE FUNCTION persona.clv(model persona.bgnbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'bgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.bgnbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: BG/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days or weeks)';
CREATE FUNCTION persona.clv(model persona.pareto_nbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'pareto_nbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.pareto_nbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: Pareto/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days or weeks)';

CREATE FUNCTION persona.simulate_bgnbd(r float8, alpha float8, a float8, b float8,
                                       customers integer, period float8, seed bigint DEFAULT 0,
                                       holdout float8 DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_bgnbd' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_bgnbd(float8, float8, float8, float8, integer, float8, bigint, float8) IS
  'Customers simulated from BG/NBD parameters (seeded): repeat purchases over period, and over the holdout after it';
CREATE FUNCTION persona.simulate_pareto_nbd(r float8, alpha float8, s float8, beta float8,
                                            customers integer, period float8, seed bigint DEFAULT 0,
                                            holdout float8 DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_pareto_nbd' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_pareto_nbd(float8, float8, float8, float8, integer, float8, bigint, float8) IS
  'Customers simulated from Pareto/NBD parameters (seeded): repeat purchases over period, and over the holdout after it';
CREATE FUNCTION persona.simulate_mean_spend(p float8, q float8, v float8, x integer, seed bigint)
RETURNS float8 AS 'MODULE_PATHNAME', 'simulate_mean_spend' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.simulate_mean_spend(float8, float8, float8, integer, bigint) IS
  'Mean of x transaction values simulated from Gamma-Gamma parameters (seeded; NULL for x = 0)';

-- Calibration/holdout check of a purchase model on an orders table.
CREATE FUNCTION persona.holdout(
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
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
DECLARE
    fit text;
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
        customer_col, time_col, amount_col, orders, fit)
    USING calibration_end, holdout_end, unit;
END;
$fn$;
COMMENT ON FUNCTION persona.holdout(regclass, timestamptz, timestamptz, text, text, text, text, text) IS
  'Fit a BTYD model (bgnbd or pareto_nbd) on orders up to calibration_end and compare each customer''s predicted with actual repeat purchases up to holdout_end';

CREATE FUNCTION persona.holdout_by_frequency(
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
LANGUAGE sql STABLE PARALLEL SAFE
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

