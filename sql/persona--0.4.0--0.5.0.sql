-- persona 0.4.0 -> 0.5.0: predictive models an analyst can trust.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.5.0'" to load this file. \quit

-- Only new objects, added attributes and CREATE OR REPLACE of unchanged
-- signatures, so views, indexes and materialized views over persona survive
-- the update.

------------------------------------------------------------------------
-- C. Holdout with the user's model; diagnostics shaped for charts
------------------------------------------------------------------------

-- The calibration/holdout machinery: validated pieces shared by holdout,
-- holdout_fit, holdout_by_frequency, tracking and period_transactions.
-- Calendar days are days in time_zone (NULL: the session's TimeZone), the
-- same days as order_stats(ordered_at, amount, as_of, time_zone) counts.

-- The instant the day of ts ends in time_zone (NULL for NULL).
CREATE FUNCTION persona.day_end(ts timestamptz, time_zone text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (((ts AT TIME ZONE time_zone)::date + 1)::timestamp AT TIME ZONE time_zone);
COMMENT ON FUNCTION persona.day_end(timestamptz, text) IS
  'The instant the calendar day of ts ends in time_zone';

CREATE FUNCTION persona.holdout_check_period(calibration_end timestamptz, holdout_end timestamptz, time_zone text)
RETURNS void LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
BEGIN
    IF calibration_end IS NULL OR holdout_end IS NULL
       OR (holdout_end AT TIME ZONE time_zone)::date <= (calibration_end AT TIME ZONE time_zone)::date THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'the holdout must end on a later day than the calibration period',
            DETAIL = format('calibration_end %s, holdout_end %s', calibration_end, holdout_end);
    END IF;
END;
$fn$;
COMMENT ON FUNCTION persona.holdout_check_period(timestamptz, timestamptz, text) IS
  'Raise 22023 unless holdout_end falls on a later day than calibration_end in time_zone';

-- The holdout length in the model's unit: whole days in time_zone.
CREATE FUNCTION persona.holdout_horizon(calibration_end timestamptz, holdout_end timestamptz, unit text, time_zone text)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ((holdout_end AT TIME ZONE time_zone)::date - (calibration_end AT TIME ZONE time_zone)::date)
       / CASE WHEN unit LIKE 'week%' THEN 7.0 ELSE 1.0 END;
COMMENT ON FUNCTION persona.holdout_horizon(timestamptz, timestamptz, text, text) IS
  'Days from the day of calibration_end to the day of holdout_end in time_zone, in days or weeks';

-- The one place that maps a model name to its fit aggregate.
CREATE FUNCTION persona.btyd_fit_function(model text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $fn$
BEGIN
    IF model IS NULL OR model NOT IN ('bgnbd', 'pareto_nbd', 'mbgnbd') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown model %L', model),
            HINT = 'Use ''bgnbd'', ''pareto_nbd'' or ''mbgnbd''.';
    END IF;
    RETURN format('persona.%s_fit', model);
END;
$fn$;
COMMENT ON FUNCTION persona.btyd_fit_function(text) IS
  'The fit aggregate of a purchase model named bgnbd, pareto_nbd or mbgnbd (22023 for another name)';

-- A fitted model passed as a value: not NULL, of a type with expectations.
CREATE FUNCTION persona.btyd_check_model(model anyelement) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
BEGIN
    IF to_regprocedure(format('persona.expected_purchases(%s, float8, float8, float8, float8)',
                              pg_typeof(model))) IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('%s is not a purchase model', pg_typeof(model)),
            HINT = 'Pass a fitted model: the value of persona.bgnbd_fit or persona.pareto_nbd_fit.';
    END IF;
    IF model IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'the model must not be NULL',
            HINT = 'A fit over no customers is NULL.';
    END IF;
END;
$fn$;
COMMENT ON FUNCTION persona.btyd_check_model(anyelement) IS
  'Raise unless the value is a non-NULL fitted purchase model (persona.bgnbd, persona.pareto_nbd)';

-- The unit a model-value check works in: the given one, which must be the
-- model's when the model records one; NULL: the model's, or weeks for a
-- model that records none (fitted on plain numbers).
CREATE FUNCTION persona.btyd_model_unit(model anyelement, unit text) RETURNS text
AS 'MODULE_PATHNAME', 'btyd_model_unit_sql' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_model_unit(anyelement, text) IS
  'The time unit for a check of a model value: unit, which must match the model''s recorded unit; NULL gives the model''s unit (weeks when it records none)';

-- The time column as timestamptz: timestamp and date values are local
-- times in time_zone; another type is an error.
CREATE FUNCTION persona.holdout_time_sql(orders regclass, time_col text, time_zone text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    typ regtype := (SELECT a.atttypid::regtype FROM pg_attribute a
                    WHERE a.attrelid = orders AND a.attname = time_col AND a.attnum > 0 AND NOT a.attisdropped);
BEGIN
    IF typ = 'timestamptz'::regtype THEN
        RETURN format('%I', time_col);
    ELSIF typ IN ('timestamp'::regtype, 'date'::regtype) THEN
        RETURN format('(%I::timestamp AT TIME ZONE %L)', time_col, time_zone);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
        MESSAGE = format('column %I of %s is %s, not a time', time_col, orders, typ),
        HINT = 'The time column must be timestamptz, timestamp or date.';
END;
$fn$;
COMMENT ON FUNCTION persona.holdout_time_sql(regclass, text, text) IS
  'SQL of an orders table''s time column as timestamptz (timestamp and date columns read in time_zone)';

-- Validate the table, columns, unit and zone; the relation's SQL name.
CREATE FUNCTION persona.holdout_check_source(orders regclass, unit text, customer_col text, time_col text,
                                             amount_col text, time_zone text)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    src text := persona.resolve_relation(orders);
BEGIN
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
    IF time_zone IS NULL THEN
        RAISE EXCEPTION 'time_zone must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM persona.daypart_of(now(), time_zone);    -- 22023 for a zone persona does not accept
    RETURN src;
END;
$fn$;
COMMENT ON FUNCTION persona.holdout_check_source(regclass, text, text, text, text, text) IS
  'Validate the orders table, its columns, the time unit and time zone of a holdout; the table''s SQL name';

CREATE FUNCTION persona.holdout_calibration(
    orders          regclass,
    calibration_end timestamptz,
    holdout_end     timestamptz DEFAULT NULL,
    unit            text DEFAULT 'weeks',
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount',
    time_zone       text DEFAULT NULL)
RETURNS TABLE (customer_id bigint, first_on date, x integer, t_x float8, t_cal float8, actual integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    tz text := coalesce(time_zone, current_setting('TimeZone'));
    src text;
    t text;
BEGIN
    IF calibration_end IS NULL THEN
        RAISE EXCEPTION 'calibration_end must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    src := persona.holdout_check_source(orders, unit, customer_col, time_col, amount_col, tz);
    IF holdout_end IS NOT NULL THEN
        PERFORM persona.holdout_check_period(calibration_end, holdout_end, tz);
    END IF;
    t := persona.holdout_time_sql(orders, time_col, tz);
    -- The calibration period ends with the day of calibration_end, the
    -- holdout runs from the next day through the day of holdout_end, and
    -- each holdout day with a purchase is one repeat purchase.
    RETURN QUERY EXECUTE format($q$
        WITH o AS NOT MATERIALIZED (SELECT %1$I::bigint AS id, %2$s AS t, %3$I::numeric AS amount FROM %4$s),
        cal AS (
            SELECT id, ((os).first_at AT TIME ZONE $5)::date AS first_on, persona.btyd(os, $4) AS b
            FROM (SELECT id, persona.order_stats(t, amount, $1, $5) AS os FROM o WHERE t < $2 GROUP BY id) q),
        hold AS (
            SELECT id, count(DISTINCT (t AT TIME ZONE $5)::date)::integer AS n
            FROM o WHERE t >= $2 AND t < $3 GROUP BY id)
        SELECT cal.id, cal.first_on, (cal.b).x, (cal.b).t_x, (cal.b).t_cal,
               CASE WHEN $3 IS NOT NULL THEN coalesce(hold.n, 0) END
        FROM cal LEFT JOIN hold ON hold.id = cal.id
        WHERE (cal.b).x IS NOT NULL
        ORDER BY cal.id$q$, customer_col, t, amount_col, src)
    USING calibration_end, persona.day_end(calibration_end, tz), persona.day_end(holdout_end, tz), unit, tz;
END;
$fn$;
COMMENT ON FUNCTION persona.holdout_calibration(regclass, timestamptz, timestamptz, text, text, text, text, text) IS
  'Per customer: first purchase day, calibration summary (x, t_x, T) up to calibration_end and actual repeat purchase days up to holdout_end (NULL without one), days in time_zone; fit your own model on it';

-- The model's parameters as rows (one per parameter), for any fitted model.
CREATE TYPE persona.model_parameter AS (
    model       text,
    parameter   text,
    estimate    double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean
);
COMMENT ON TYPE persona.model_parameter IS
  'One parameter of a fitted model, with the fit''s log-likelihood, customers and convergence repeated on each row';
COMMENT ON COLUMN persona.model_parameter.model IS 'model type name (bgnbd, pareto_nbd, ...)';
COMMENT ON COLUMN persona.model_parameter.parameter IS 'parameter name (r, alpha, a, b, s, beta, ...)';
COMMENT ON COLUMN persona.model_parameter.estimate IS 'maximum-likelihood estimate of the parameter';
COMMENT ON COLUMN persona.model_parameter.loglik IS 'log-likelihood of the fit';
COMMENT ON COLUMN persona.model_parameter.customers IS 'customers the model was fitted on';
COMMENT ON COLUMN persona.model_parameter.iterations IS 'optimiser iterations';
COMMENT ON COLUMN persona.model_parameter.converged IS 'whether the optimiser converged';

CREATE FUNCTION persona.model_parameters(fitted anyelement) RETURNS SETOF persona.model_parameter
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 4
AS $fn$
DECLARE
    j jsonb;
BEGIN
    PERFORM persona.btyd_check_model(fitted);
    j := to_jsonb(fitted);
    RETURN QUERY
    SELECT t.typname::text, a.attname::text, (j ->> a.attname)::float8,
           (j ->> 'loglik')::float8, (j ->> 'customers')::bigint, (j ->> 'iterations')::integer,
           (j ->> 'converged')::boolean
    FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
    WHERE t.oid = pg_typeof(fitted) AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname NOT IN ('loglik', 'customers', 'iterations', 'converged')
    ORDER BY a.attnum;
END;
$fn$;
COMMENT ON FUNCTION persona.model_parameters(anyelement) IS
  'A fitted purchase model as rows: one per parameter, with its log-likelihood, customers, iterations and convergence (built-in types, for BI tools)';

CREATE FUNCTION persona.holdout_fit(
    orders          regclass,
    calibration_end timestamptz,
    model           text DEFAULT 'bgnbd',
    unit            text DEFAULT 'weeks',
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount',
    time_zone       text DEFAULT NULL)
RETURNS SETOF persona.model_parameter
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED ROWS 4
AS $fn$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT p.* FROM (SELECT %s(c.x, c.t_x, c.t_cal) AS m
                          FROM persona.holdout_calibration($1, $2, NULL, $3, $4, $5, $6, $7) c) f,
                         persona.model_parameters(f.m) p', persona.btyd_fit_function(model))
    USING orders, calibration_end, unit, customer_col, time_col, amount_col, time_zone;
END;
$fn$;
COMMENT ON FUNCTION persona.holdout_fit(regclass, timestamptz, text, text, text, text, text, text) IS
  'The parameters persona.holdout(orders, calibration_end, holdout_end, model, ...) fits (with time_zone NULL: the session''s), one row each';

CREATE FUNCTION persona.holdout(
    orders          regclass,
    calibration_end timestamptz,
    holdout_end     timestamptz,
    model           anyelement,
    unit            text DEFAULT NULL,
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount',
    time_zone       text DEFAULT NULL)
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8,
               predicted float8, actual integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    tz text := coalesce(time_zone, current_setting('TimeZone'));
    horizon float8;
BEGIN
    PERFORM persona.btyd_check_model(model);
    unit := persona.btyd_model_unit(model, unit);
    PERFORM persona.holdout_check_period(calibration_end, holdout_end, tz);
    horizon := persona.holdout_horizon(calibration_end, holdout_end, unit, tz);
    RETURN QUERY
    SELECT c.customer_id, c.x, c.t_x, c.t_cal,
           persona.expected_purchases(model, horizon, c.x, c.t_x, c.t_cal), c.actual
    FROM persona.holdout_calibration(orders, calibration_end, holdout_end, unit,
                                     customer_col, time_col, amount_col, tz) c;
END;
$fn$;
COMMENT ON FUNCTION persona.holdout(regclass, timestamptz, timestamptz, anyelement, text, text, text, text, text) IS
  'Compare each customer''s predicted repeat purchases under a model you fitted (persona.bgnbd or persona.pareto_nbd value) with the actual ones up to holdout_end, days in time_zone';

CREATE FUNCTION persona.holdout_by_frequency(
    orders          regclass,
    calibration_end timestamptz,
    holdout_end     timestamptz,
    model           anyelement,
    unit            text DEFAULT NULL,
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount',
    time_zone       text DEFAULT NULL)
RETURNS TABLE (frequency text, customers bigint, predicted float8, actual float8,
               mae float8, rmse float8)
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $fn$
    SELECT coalesce(CASE WHEN least(h.x, 7) = 7 THEN '7+' ELSE least(h.x, 7)::text END, 'all'),
           count(*), avg(h.predicted), avg(h.actual),
           avg(abs(h.predicted - h.actual)), sqrt(avg((h.predicted - h.actual) ^ 2))
    FROM persona.holdout(orders, calibration_end, holdout_end, model, unit,
                         customer_col, time_col, amount_col, time_zone) h
    GROUP BY GROUPING SETS ((least(h.x, 7)), ())
    ORDER BY least(h.x, 7) NULLS LAST;
$fn$;
COMMENT ON FUNCTION persona.holdout_by_frequency(regclass, timestamptz, timestamptz, anyelement, text, text, text, text, text) IS
  'The calibration/holdout table under a model you fitted: mean predicted and actual holdout repeat purchases by calibration frequency (0..7+, all), with MAE and RMSE';

-- Distinct purchase days of each customer before an instant (days in time_zone).
CREATE FUNCTION persona.purchase_days(orders regclass, customer_col text, time_col text,
                                      time_zone text, before timestamptz)
RETURNS TABLE (customer_id bigint, day date)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    t text := persona.holdout_time_sql(orders, time_col, time_zone);
BEGIN
    RETURN QUERY EXECUTE format('SELECT DISTINCT %1$I::bigint, (%2$s AT TIME ZONE $1)::date FROM %3$s WHERE %2$s < $2',
                                customer_col, t, persona.resolve_relation(orders))
    USING time_zone, before;
END;
$fn$;
COMMENT ON FUNCTION persona.purchase_days(regclass, text, text, text, timestamptz) IS
  'Distinct (customer, purchase day in time_zone) pairs of an orders table before an instant';

CREATE FUNCTION persona.tracking(
    orders          regclass,
    calibration_end timestamptz,
    holdout_end     timestamptz,
    model           anyelement,
    unit            text DEFAULT NULL,
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount',
    time_zone       text DEFAULT NULL,
    period_days     integer DEFAULT 7)
RETURNS TABLE (period integer, period_start date, period_end date, holdout boolean,
               actual bigint, expected float8, cumulative_actual bigint, cumulative_expected float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    tz text := coalesce(time_zone, current_setting('TimeZone'));
    unit_days float8;
    cal_day date;
    end_day date;
BEGIN
    PERFORM persona.btyd_check_model(model);
    unit := persona.btyd_model_unit(model, unit);
    PERFORM persona.holdout_check_period(calibration_end, holdout_end, tz);
    IF period_days IS NULL OR period_days < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('period_days must be at least 1, not %s', coalesce(period_days::text, 'NULL'));
    END IF;
    unit_days := CASE WHEN unit LIKE 'week%' THEN 7.0 ELSE 1.0 END;
    cal_day := (calibration_end AT TIME ZONE tz)::date;
    end_day := (holdout_end AT TIME ZONE tz)::date;
    -- The cohort: customers with a first purchase by calibration_end.  A
    -- customer acquired on day s is expected to have made E[X(d - s)]
    -- repeat purchases by the end of day d, a function of d - s only: it is
    -- evaluated once per lag and weighted by the customers acquired each day.
    -- Periods run from the first acquisition day; the holdout's restart the
    -- day after calibration_end, so no period straddles the two.
    RETURN QUERY
    WITH c AS MATERIALIZED (
        SELECT h.customer_id AS id, h.first_on
        FROM persona.holdout_calibration(orders, calibration_end, NULL, unit, customer_col, time_col, amount_col, tz) h),
    acq AS (SELECT c.first_on, count(*) AS n FROM c GROUP BY c.first_on),
    rep AS (
        SELECT d.day, count(*) AS n
        FROM persona.purchase_days(orders, customer_col, time_col, tz, persona.day_end(holdout_end, tz)) d
        JOIN c ON c.id = d.customer_id AND d.day > c.first_on
        GROUP BY d.day),
    start AS (SELECT min(c.first_on) AS d0 FROM c),
    p AS (
        SELECT (row_number() OVER (ORDER BY q.p_start) - 1)::integer AS k, q.p_start, q.p_last, q.hold
        FROM (SELECT s.d0 + g * period_days AS p_start, least(s.d0 + (g + 1) * period_days - 1, cal_day) AS p_last,
                     false AS hold
              FROM start s, generate_series(0, (cal_day - s.d0) / period_days) g
              UNION ALL
              SELECT cal_day + 1 + g * period_days, least(cal_day + (g + 1) * period_days, end_day), true
              FROM start s, generate_series(0, (end_day - cal_day - 1) / period_days) g
              WHERE s.d0 IS NOT NULL) q),
    ex AS (
        SELECT g AS lag, persona.expected_purchases(model, g / unit_days) AS e
        FROM start s, generate_series(0, end_day - s.d0) g),
    cum AS (
        SELECT p.k, sum(acq.n * ex.e) AS e
        FROM p JOIN acq ON acq.first_on <= p.p_last JOIN ex ON ex.lag = p.p_last - acq.first_on
        GROUP BY p.k),
    inc AS (
        SELECT p.k, coalesce(sum(rep.n), 0)::bigint AS a
        FROM p LEFT JOIN rep ON rep.day BETWEEN p.p_start AND p.p_last
        GROUP BY p.k)
    SELECT p.k, p.p_start, p.p_last, p.hold, inc.a,
           cum.e - coalesce(lag(cum.e) OVER w, 0), (sum(inc.a) OVER w)::bigint, cum.e
    FROM p JOIN cum ON cum.k = p.k JOIN inc ON inc.k = p.k
    WINDOW w AS (ORDER BY p.k)
    ORDER BY p.k;
END;
$fn$;
COMMENT ON FUNCTION persona.tracking(regclass, timestamptz, timestamptz, anyelement, text, text, text, text, text, integer) IS
  'Tracking of a fitted model: actual and expected repeat purchases of the calibration cohort per period (default weeks) through holdout_end, incremental and cumulative, days in time_zone';

CREATE FUNCTION persona.purchase_count_probability(model persona.bgnbd, t float8, n integer) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_count_probability' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.purchase_count_probability(persona.bgnbd, float8, integer) IS
  'P(X(t) = n): probability that a new customer makes exactly n repeat purchases in the first t periods (BG/NBD, FHL 2005 eq. 8)';
CREATE FUNCTION persona.purchase_count_probability(model persona.pareto_nbd, t float8, n integer) RETURNS float8
AS 'MODULE_PATHNAME', 'pareto_nbd_count_probability' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.purchase_count_probability(persona.pareto_nbd, float8, integer) IS
  'P(X(t) = n): probability that a new customer makes exactly n repeat purchases in the first t periods (Pareto/NBD, integrated over the lifetime)';

CREATE FUNCTION persona.period_transactions(
    orders          regclass,
    calibration_end timestamptz,
    model           anyelement,
    unit            text DEFAULT NULL,
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount',
    time_zone       text DEFAULT NULL,
    max_frequency   integer DEFAULT 7)
RETURNS TABLE (frequency text, actual bigint, expected float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    tz text := coalesce(time_zone, current_setting('TimeZone'));
BEGIN
    PERFORM persona.btyd_check_model(model);
    unit := persona.btyd_model_unit(model, unit);
    IF to_regprocedure(format('persona.purchase_count_probability(%s, float8, integer)', pg_typeof(model))) IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('period_transactions is not available for %s', pg_typeof(model)),
            DETAIL = 'It needs the model''s P(X(t) = n), persona.purchase_count_probability.',
            HINT = 'Use a BG/NBD or Pareto/NBD model, or compare models with persona.holdout_by_frequency.';
    END IF;
    IF max_frequency IS NULL OR max_frequency NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('max_frequency must be between 1 and 1000, not %s', coalesce(max_frequency::text, 'NULL'));
    END IF;
    -- Each customer's P(x = n) at their own T, summed; customers with the
    -- same T share the computation.  The last row is the rest (n or more).
    RETURN QUERY
    WITH c AS MATERIALIZED (
        SELECT h.x, h.t_cal
        FROM persona.holdout_calibration(orders, calibration_end, NULL, unit, customer_col, time_col, amount_col, tz) h),
    bytime AS (SELECT c.t_cal, count(*) AS n FROM c GROUP BY c.t_cal),
    pk AS (
        SELECT g.n AS k, sum(b.n * persona.purchase_count_probability(model, b.t_cal, g.n)) AS e
        FROM generate_series(0, max_frequency - 1) g(n), bytime b
        GROUP BY g.n),
    tab AS (
        SELECT pk.k, pk.e FROM pk
        UNION ALL
        SELECT max_frequency, greatest((SELECT sum(b.n) FROM bytime b) - (SELECT sum(pk.e) FROM pk), 0)
        WHERE EXISTS (SELECT FROM c)),
    act AS (SELECT least(c.x, max_frequency) AS k, count(*) AS n FROM c GROUP BY 1)
    SELECT CASE WHEN tab.k = max_frequency THEN max_frequency || '+' ELSE tab.k::text END,
           coalesce(act.n, 0), tab.e
    FROM tab LEFT JOIN act ON act.k = tab.k
    ORDER BY tab.k;
END;
$fn$;
COMMENT ON FUNCTION persona.period_transactions(regclass, timestamptz, anyelement, text, text, text, text, text, integer) IS
  'Customers by repeat purchases in the calibration period (0, 1, ..., max_frequency+): actual count and the count the fitted model expects given each customer''s T, days in time_zone';

CREATE FUNCTION persona.frequency_recency_matrix(
    model           anyelement,
    observed        float8,
    horizon         float8 DEFAULT 1,
    max_frequency   integer DEFAULT 20,
    recency_step    float8 DEFAULT 1)
RETURNS TABLE (frequency integer, recency float8, t_cal float8, expected float8, p_alive float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
BEGIN
    PERFORM persona.btyd_check_model(model);
    IF observed IS NULL OR NOT observed BETWEEN 0 AND 1e6 OR observed = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('observed (T) must be a number > 0 and at most 1e6, not %s', coalesce(observed::text, 'NULL'));
    END IF;
    IF horizon IS NULL OR NOT horizon BETWEEN 0 AND 1e6 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('the horizon must be a number >= 0 and at most 1e6, not %s', coalesce(horizon::text, 'NULL'));
    END IF;
    IF max_frequency IS NULL OR max_frequency NOT BETWEEN 0 AND 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('max_frequency must be between 0 and 10000, not %s', coalesce(max_frequency::text, 'NULL'));
    END IF;
    IF recency_step IS NULL OR NOT recency_step > 0 OR recency_step = 'Infinity'
       OR max_frequency * ceil(observed / recency_step) > 1e6 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('recency_step must be a number > 0 giving at most 1e6 cells, not %s',
                             coalesce(recency_step::text, 'NULL')),
            HINT = 'Take a larger recency_step or a smaller max_frequency.';
    END IF;
    -- x = 0 has recency 0 only; x > 0 has recency step, 2 step, ..., T.
    RETURN QUERY
    SELECT g.x, g.tx, observed,
           persona.expected_purchases(model, horizon, g.x, g.tx, observed),
           persona.p_alive(model, g.x, g.tx, observed)
    FROM (SELECT 0 AS x, 0::float8 AS tx
          UNION ALL
          SELECT f, least(k * recency_step, observed)
          FROM generate_series(1, max_frequency) f, generate_series(1, ceil(observed / recency_step)::integer) k) g
    ORDER BY g.x, g.tx;
END;
$fn$;
COMMENT ON FUNCTION persona.frequency_recency_matrix(anyelement, float8, float8, integer, float8) IS
  'Frequency x recency matrix of a fitted model for customers observed for T = observed: expected purchases in the next horizon periods and P(alive), one row per (frequency, recency)';

-- holdout(text model): the same results, through holdout_calibration and
-- the one model-name dispatch, persona.btyd_fit_function.
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
    tz text := current_setting('TimeZone');
BEGIN
    PERFORM persona.btyd_fit_function(model);    -- 22023 for an unknown model, first
    PERFORM persona.holdout_check_period(calibration_end, holdout_end, tz);
    PERFORM persona.holdout_check_source(orders, unit, customer_col, time_col, amount_col, tz);
    -- Days are calendar days in the session time zone, as in order_stats;
    -- persona.holdout_fit returns the parameters this fits.
    RETURN QUERY EXECUTE format($q$
        WITH c AS MATERIALIZED (SELECT * FROM persona.holdout_calibration($1, $2, $3, $4, $5, $6, $7, $8)),
        m AS (SELECT %s(c.x, c.t_x, c.t_cal) AS m FROM c)
        SELECT c.customer_id, c.x, c.t_x, c.t_cal,
               persona.expected_purchases(m.m, persona.holdout_horizon($2, $3, $4, $8), c.x, c.t_x, c.t_cal),
               c.actual
        FROM c CROSS JOIN m
        ORDER BY c.customer_id$q$, persona.btyd_fit_function(model))
    USING orders, calibration_end, holdout_end, unit, customer_col, time_col, amount_col, tz;
END;
$fn$;
-- A. Standard errors and identification of fits; AIC, BIC and likelihood-ratio tests

-- New attributes at the end of the model types (the same order in persona.sql).
ALTER TYPE persona.bgnbd
    ADD ATTRIBUTE se_r double precision,
    ADD ATTRIBUTE se_alpha double precision,
    ADD ATTRIBUTE se_a double precision,
    ADD ATTRIBUTE se_b double precision,
    ADD ATTRIBUTE se_log_r double precision,
    ADD ATTRIBUTE se_log_alpha double precision,
    ADD ATTRIBUTE se_log_a double precision,
    ADD ATTRIBUTE se_log_b double precision,
    ADD ATTRIBUTE identified boolean,
    ADD ATTRIBUTE status text;
COMMENT ON COLUMN persona.bgnbd.se_r IS 'standard error of r (delta method from se_log_r); NULL when the information is singular or r is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_alpha IS 'standard error of alpha (delta method from se_log_alpha); NULL when the information is singular or alpha is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_a IS 'standard error of a (delta method from se_log_a); NULL when the information is singular or a is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_b IS 'standard error of b (delta method from se_log_b); NULL when the information is singular or b is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_log_r IS 'standard error of ln(r) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.se_log_alpha IS 'standard error of ln(alpha) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.se_log_a IS 'standard error of ln(a) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.se_log_b IS 'standard error of ln(b) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.bgnbd.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';
ALTER TYPE persona.pareto_nbd
    ADD ATTRIBUTE se_r double precision,
    ADD ATTRIBUTE se_alpha double precision,
    ADD ATTRIBUTE se_s double precision,
    ADD ATTRIBUTE se_beta double precision,
    ADD ATTRIBUTE se_log_r double precision,
    ADD ATTRIBUTE se_log_alpha double precision,
    ADD ATTRIBUTE se_log_s double precision,
    ADD ATTRIBUTE se_log_beta double precision,
    ADD ATTRIBUTE identified boolean,
    ADD ATTRIBUTE status text;
COMMENT ON COLUMN persona.pareto_nbd.se_r IS 'standard error of r (delta method from se_log_r); NULL when the information is singular or r is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_alpha IS 'standard error of alpha (delta method from se_log_alpha); NULL when the information is singular or alpha is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_s IS 'standard error of s (delta method from se_log_s); NULL when the information is singular or s is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_beta IS 'standard error of beta (delta method from se_log_beta); NULL when the information is singular or beta is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_log_r IS 'standard error of ln(r) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.se_log_alpha IS 'standard error of ln(alpha) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.se_log_s IS 'standard error of ln(s) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.se_log_beta IS 'standard error of ln(beta) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.pareto_nbd.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';
ALTER TYPE persona.gamma_gamma
    ADD ATTRIBUTE se_p double precision,
    ADD ATTRIBUTE se_q double precision,
    ADD ATTRIBUTE se_v double precision,
    ADD ATTRIBUTE se_log_p double precision,
    ADD ATTRIBUTE se_log_q double precision,
    ADD ATTRIBUTE se_log_v double precision,
    ADD ATTRIBUTE identified boolean,
    ADD ATTRIBUTE status text;
COMMENT ON COLUMN persona.gamma_gamma.se_p IS 'standard error of p (delta method from se_log_p); NULL when the information is singular or p is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_q IS 'standard error of q (delta method from se_log_q); NULL when the information is singular or q is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_v IS 'standard error of v (delta method from se_log_v); NULL when the information is singular or v is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_log_p IS 'standard error of ln(p) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.se_log_q IS 'standard error of ln(q) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.se_log_v IS 'standard error of ln(v) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.gamma_gamma.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';

-- Information criteria and the likelihood-ratio test: which model fits better, in one query.
CREATE FUNCTION persona.aic(model persona.bgnbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 4 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.aic(model persona.pareto_nbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 4 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.aic(model persona.gamma_gamma) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 3 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.bgnbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 4 * ln(($1).customers) - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.pareto_nbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 4 * ln(($1).customers) - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.gamma_gamma) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 3 * ln(($1).customers) - 2 * ($1).loglik$$;
COMMENT ON FUNCTION persona.aic(persona.bgnbd) IS
  'Akaike information criterion of a BG/NBD fit: 2k - 2 loglik with k = 4 (lower is better)';
COMMENT ON FUNCTION persona.aic(persona.pareto_nbd) IS
  'Akaike information criterion of a Pareto/NBD fit: 2k - 2 loglik with k = 4 (lower is better)';
COMMENT ON FUNCTION persona.aic(persona.gamma_gamma) IS
  'Akaike information criterion of a Gamma-Gamma fit: 2k - 2 loglik with k = 3 (lower is better)';
COMMENT ON FUNCTION persona.bic(persona.bgnbd) IS
  'Bayesian information criterion of a BG/NBD fit: k ln(n) - 2 loglik with k = 4, n = customers (the sum of weights)';
COMMENT ON FUNCTION persona.bic(persona.pareto_nbd) IS
  'Bayesian information criterion of a Pareto/NBD fit: k ln(n) - 2 loglik with k = 4, n = customers (the sum of weights)';
COMMENT ON FUNCTION persona.bic(persona.gamma_gamma) IS
  'Bayesian information criterion of a Gamma-Gamma fit: k ln(n) - 2 loglik with k = 3, n = customers (the repeat buyers fitted)';
CREATE FUNCTION persona.lr_test(restricted_loglik float8, full_loglik float8,
                                OUT statistic float8, INOUT df integer, OUT p_value float8)
AS 'MODULE_PATHNAME', 'lr_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.lr_test(float8, float8, integer) IS
  'Likelihood-ratio test of nested fits: statistic 2 (full_loglik - restricted_loglik), chi-square(df) upper-tail p-value; df = parameters the full model adds';

-- model_parameters (section C): the parameters are the attributes before loglik,
-- not the standard errors and status fields that follow converged.
CREATE OR REPLACE FUNCTION persona.model_parameters(fitted anyelement) RETURNS SETOF persona.model_parameter
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 4
AS $fn$
DECLARE
    j jsonb;
BEGIN
    PERFORM persona.btyd_check_model(fitted);
    j := to_jsonb(fitted);
    RETURN QUERY
    SELECT t.typname::text, a.attname::text, (j ->> a.attname)::float8,
           (j ->> 'loglik')::float8, (j ->> 'customers')::bigint, (j ->> 'iterations')::integer,
           (j ->> 'converged')::boolean
    FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
    WHERE t.oid = pg_typeof(fitted) AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attnum < (SELECT l.attnum FROM pg_attribute l WHERE l.attrelid = t.typrelid AND l.attname = 'loglik')
    ORDER BY a.attnum;
END;
$fn$;

------------------------------------------------------------------------
-- D. More models: MBG/NBD and BG/BB
------------------------------------------------------------------------

COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';

-- MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD in which a customer
-- may also leave right after the first purchase.  Same inputs and state as
-- bgnbd_fit.
CREATE TYPE persona.mbgnbd AS (
    r           double precision,
    alpha       double precision,
    a           double precision,
    b           double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean,
    se_r            double precision,
    se_alpha        double precision,
    se_a            double precision,
    se_b            double precision,
    se_log_r        double precision,
    se_log_alpha    double precision,
    se_log_a        double precision,
    se_log_b        double precision,
    identified      boolean,
    status          text
);
COMMENT ON TYPE persona.mbgnbd IS
  'A fitted MBG/NBD model (Batislam, Denizel & Filiztekin 2007): purchase rate gamma(r, alpha), dropout beta(a, b) after every purchase including the first, log-likelihood';
COMMENT ON COLUMN persona.mbgnbd.r IS 'shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN persona.mbgnbd.alpha IS 'scale (in the time unit of t_x and T) of the gamma distribution of purchase rates; the mean rate is r/alpha';
COMMENT ON COLUMN persona.mbgnbd.a IS 'first shape of the beta distribution of the dropout probability p';
COMMENT ON COLUMN persona.mbgnbd.b IS 'second shape of the beta distribution of the dropout probability p; the mean p is a/(a+b)';
COMMENT ON COLUMN persona.mbgnbd.loglik IS 'log-likelihood of the data at the parameters (unpenalised)';
COMMENT ON COLUMN persona.mbgnbd.customers IS 'total weight (customers) the model was fitted on';
COMMENT ON COLUMN persona.mbgnbd.iterations IS 'optimiser iterations';
COMMENT ON COLUMN persona.mbgnbd.converged IS 'whether the optimiser converged (false: the data may not identify the model)';
COMMENT ON COLUMN persona.mbgnbd.se_r IS 'standard error of r (delta method from se_log_r); NULL when the information is singular or r is at a search bound';
COMMENT ON COLUMN persona.mbgnbd.se_alpha IS 'standard error of alpha (delta method from se_log_alpha); NULL when the information is singular or alpha is at a search bound';
COMMENT ON COLUMN persona.mbgnbd.se_a IS 'standard error of a (delta method from se_log_a); NULL when the information is singular or a is at a search bound';
COMMENT ON COLUMN persona.mbgnbd.se_b IS 'standard error of b (delta method from se_log_b); NULL when the information is singular or b is at a search bound';
COMMENT ON COLUMN persona.mbgnbd.se_log_r IS 'standard error of ln(r) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.mbgnbd.se_log_alpha IS 'standard error of ln(alpha) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.mbgnbd.se_log_a IS 'standard error of ln(a) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.mbgnbd.se_log_b IS 'standard error of ln(b) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.mbgnbd.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.mbgnbd.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';
CREATE FUNCTION persona.mbgnbd_finalfn(internal) RETURNS persona.mbgnbd
AS 'MODULE_PATHNAME', 'mbgnbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.mbgnbd_finalfn(internal) IS 'final function of persona.mbgnbd_fit';
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8) IS
  'Maximum-likelihood MBG/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood MBG/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8, float8, float8) IS
  'MBG/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE FUNCTION persona.aic(model persona.mbgnbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 4 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.mbgnbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 4 * ln(($1).customers) - 2 * ($1).loglik$$;
COMMENT ON FUNCTION persona.aic(persona.mbgnbd) IS
  'Akaike information criterion of a MBG/NBD fit: 2k - 2 loglik with k = 4 (lower is better)';
COMMENT ON FUNCTION persona.bic(persona.mbgnbd) IS
  'Bayesian information criterion of a MBG/NBD fit: k ln(n) - 2 loglik with k = 4, n = customers (the sum of weights)';
CREATE FUNCTION persona.p_alive(model persona.mbgnbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.mbgnbd, float8, float8, float8) IS
  'Probability that a customer with this history is still active under an MBG/NBD model (below 1 also for x = 0)';
CREATE FUNCTION persona.expected_purchases(model persona.mbgnbd, t float8, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.mbgnbd, float8, float8, float8, float8) IS
  'Expected purchases in the next t periods given the customer''s history (MBG/NBD)';
CREATE FUNCTION persona.expected_purchases(model persona.mbgnbd, t float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.mbgnbd, float8) IS
  'Expected purchases in the first t periods of a newly acquired customer, E[X(t)] (MBG/NBD)';
CREATE FUNCTION persona.mbgnbd_loglik(model persona.mbgnbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.mbgnbd_loglik(persona.mbgnbd, float8, float8, float8) IS
  'One customer''s MBG/NBD log-likelihood under the model''s parameters (sum it to compare models)';
CREATE FUNCTION persona.clv(model persona.mbgnbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'mbgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.mbgnbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: MBG/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days or weeks)';
CREATE FUNCTION persona.simulate_mbgnbd(r float8, alpha float8, a float8, b float8,
                                        customers integer, period float8, seed bigint DEFAULT 0,
                                        holdout float8 DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_mbgnbd' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_mbgnbd(float8, float8, float8, float8, integer, float8, bigint, float8) IS
  'Customers simulated from MBG/NBD parameters (seeded): repeat purchases over period, and over the holdout after it';

-- BG/BB (Fader, Hardie & Shang 2010): discrete transaction opportunities.
-- A customer is (x transactions, the last at opportunity t_x, of n).
CREATE TYPE persona.bgbb AS (
    alpha       double precision,
    beta        double precision,
    gamma       double precision,
    delta       double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean,
    se_alpha        double precision,
    se_beta         double precision,
    se_gamma        double precision,
    se_delta        double precision,
    se_log_alpha    double precision,
    se_log_beta     double precision,
    se_log_gamma    double precision,
    se_log_delta    double precision,
    identified      boolean,
    status          text
);
COMMENT ON TYPE persona.bgbb IS
  'A fitted BG/BB model (Fader, Hardie & Shang 2010) for discrete opportunities: transaction probability beta(alpha, beta), dropout probability beta(gamma, delta), log-likelihood';
COMMENT ON COLUMN persona.bgbb.alpha IS 'first shape of the beta distribution of the transaction probability p';
COMMENT ON COLUMN persona.bgbb.beta IS 'second shape of the beta distribution of the transaction probability p; the mean p is alpha/(alpha+beta)';
COMMENT ON COLUMN persona.bgbb.gamma IS 'first shape of the beta distribution of the dropout probability theta';
COMMENT ON COLUMN persona.bgbb.delta IS 'second shape of the beta distribution of the dropout probability theta; the mean theta is gamma/(gamma+delta)';
COMMENT ON COLUMN persona.bgbb.loglik IS 'log-likelihood of the data at the parameters (unpenalised)';
COMMENT ON COLUMN persona.bgbb.customers IS 'total weight (customers) the model was fitted on';
COMMENT ON COLUMN persona.bgbb.iterations IS 'optimiser iterations';
COMMENT ON COLUMN persona.bgbb.converged IS 'whether the optimiser converged (false: the data may not identify the model)';
COMMENT ON COLUMN persona.bgbb.se_alpha IS 'standard error of alpha (delta method from se_log_alpha); NULL when the information is singular or alpha is at a search bound';
COMMENT ON COLUMN persona.bgbb.se_beta IS 'standard error of beta (delta method from se_log_beta); NULL when the information is singular or beta is at a search bound';
COMMENT ON COLUMN persona.bgbb.se_gamma IS 'standard error of gamma (delta method from se_log_gamma); NULL when the information is singular or gamma is at a search bound';
COMMENT ON COLUMN persona.bgbb.se_delta IS 'standard error of delta (delta method from se_log_delta); NULL when the information is singular or delta is at a search bound';
COMMENT ON COLUMN persona.bgbb.se_log_alpha IS 'standard error of ln(alpha) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgbb.se_log_beta IS 'standard error of ln(beta) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgbb.se_log_gamma IS 'standard error of ln(gamma) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgbb.se_log_delta IS 'standard error of ln(delta) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgbb.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.bgbb.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';
CREATE FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_finalfn(internal) RETURNS persona.bgbb
AS 'MODULE_PATHNAME', 'bgbb_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_finalfn(internal) IS 'final function of persona.bgbb_fit';
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = internal, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8, weight float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = internal, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8, weight float8, penalty float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = internal, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgbb_fit(float8, float8, float8) IS
  'Maximum-likelihood BG/BB fit over the customers'' (x, t_x, n): transactions, last transaction opportunity, opportunities';
COMMENT ON AGGREGATE persona.bgbb_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood BG/BB fit over (x, t_x, n) rows with a count or weight each';
COMMENT ON AGGREGATE persona.bgbb_fit(float8, float8, float8, float8, float8) IS
  'BG/BB fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE FUNCTION persona.aic(model persona.bgbb) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 4 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.bgbb) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 4 * ln(($1).customers) - 2 * ($1).loglik$$;
COMMENT ON FUNCTION persona.aic(persona.bgbb) IS
  'Akaike information criterion of a BG/BB fit: 2k - 2 loglik with k = 4 (lower is better)';
COMMENT ON FUNCTION persona.bic(persona.bgbb) IS
  'Bayesian information criterion of a BG/BB fit: k ln(n) - 2 loglik with k = 4, n = customers (the sum of weights)';
CREATE FUNCTION persona.p_alive(model persona.bgbb, x float8, t_x float8, n float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.bgbb, float8, float8, float8) IS
  'Probability that a customer with this history is still active at the next opportunity, n + 1 (BG/BB)';
CREATE FUNCTION persona.expected_purchases(model persona.bgbb, n_star float8, x float8, t_x float8, n float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgbb, float8, float8, float8, float8) IS
  'Expected transactions in the next n_star opportunities given the customer''s history (BG/BB)';
CREATE FUNCTION persona.expected_purchases(model persona.bgbb, n_star float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgbb, float8) IS
  'Expected transactions in the first n_star opportunities of a newly acquired customer (BG/BB)';
CREATE FUNCTION persona.bgbb_loglik(model persona.bgbb, x float8, t_x float8, n float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgbb_loglik(persona.bgbb, float8, float8, float8) IS
  'One customer''s BG/BB log-likelihood under the model''s parameters (sum it, times the weights, to compare models)';
CREATE FUNCTION persona.simulate_bgbb(alpha float8, beta float8, gamma float8, delta float8,
                                      customers integer, n integer, seed bigint DEFAULT 0,
                                      holdout integer DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x integer, n integer, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_bgbb' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_bgbb(float8, float8, float8, float8, integer, integer, bigint, integer) IS
  'Customers simulated from BG/BB parameters (seeded): transactions over opportunities 1..n, and over the holdout opportunities after them';

------------------------------------------------------------------------
-- B. Time units tied to the model; zero and NULL spend; RFM without M
------------------------------------------------------------------------
-- The summary and the purchase models carry their time unit (added last,
-- after section A's attributes).
ALTER TYPE persona.btyd_summary ADD ATTRIBUTE unit text;
ALTER TYPE persona.bgnbd ADD ATTRIBUTE unit text;
ALTER TYPE persona.pareto_nbd ADD ATTRIBUTE unit text;
ALTER TYPE persona.mbgnbd ADD ATTRIBUTE unit text;
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
COMMENT ON COLUMN persona.mbgnbd.unit IS
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
CREATE AGGREGATE persona.mbgnbd_fit(summary persona.btyd_summary) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(summary persona.btyd_summary, weight float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(summary persona.btyd_summary, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.mbgnbd_fit(persona.btyd_summary) IS
  'MBG/NBD fit over persona.btyd summaries; the model records their time unit (summaries in different units: 22023)';
COMMENT ON AGGREGATE persona.mbgnbd_fit(persona.btyd_summary, float8) IS
  'MBG/NBD fit over persona.btyd summaries with a count or weight each; the model records their time unit';
COMMENT ON AGGREGATE persona.mbgnbd_fit(persona.btyd_summary, float8, float8) IS
  'MBG/NBD fit over persona.btyd summaries with weights and an L2 penalty; the model records their time unit';
CREATE FUNCTION persona.p_alive(model persona.mbgnbd, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_p_alive_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.mbgnbd, persona.btyd_summary) IS
  'P(alive) of a customer''s summary under a MBG/NBD model (the summary''s unit must be the model''s)';
CREATE FUNCTION persona.expected_purchases(model persona.mbgnbd, t float8, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_expected_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.mbgnbd, float8, persona.btyd_summary) IS
  'Expected purchases in the next t periods (the summary''s unit, which must be the model''s) given a customer''s summary (MBG/NBD)';
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
CREATE OR REPLACE FUNCTION persona.clv(model persona.mbgnbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text DEFAULT NULL,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'mbgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.mbgnbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: MBG/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days, weeks, months; NULL: the model''s; another than the model''s: 22023)';
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
CREATE FUNCTION persona.clv(model persona.mbgnbd, spend persona.gamma_gamma, summary persona.btyd_summary,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'mbgnbd_clv_summary' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.mbgnbd, persona.gamma_gamma, persona.btyd_summary, integer, float8) IS
  'Customer lifetime value of a customer''s summary over the next months (MBG/NBD and Gamma-Gamma); the summary''s unit must be the model''s';
-- Section C's holdout helpers: the units of persona.time_unit_days (any case, months).
CREATE OR REPLACE FUNCTION persona.holdout_horizon(calibration_end timestamptz, holdout_end timestamptz, unit text, time_zone text)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ((holdout_end AT TIME ZONE time_zone)::date - (calibration_end AT TIME ZONE time_zone)::date)
       / persona.time_unit_days(unit);
COMMENT ON FUNCTION persona.holdout_horizon(timestamptz, timestamptz, text, text) IS
  'Days from the day of calibration_end to the day of holdout_end in time_zone, in days, weeks or months';
CREATE OR REPLACE FUNCTION persona.holdout_check_source(orders regclass, unit text, customer_col text, time_col text,
                                             amount_col text, time_zone text)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    src text := persona.resolve_relation(orders);
BEGIN
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
    IF time_zone IS NULL THEN
        RAISE EXCEPTION 'time_zone must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM persona.daypart_of(now(), time_zone);    -- 22023 for a zone persona does not accept
    RETURN src;
END;
$fn$;
CREATE OR REPLACE FUNCTION persona.tracking(
    orders          regclass,
    calibration_end timestamptz,
    holdout_end     timestamptz,
    model           anyelement,
    unit            text DEFAULT NULL,
    customer_col    text DEFAULT 'customer_id',
    time_col        text DEFAULT 'ordered_at',
    amount_col      text DEFAULT 'amount',
    time_zone       text DEFAULT NULL,
    period_days     integer DEFAULT 7)
RETURNS TABLE (period integer, period_start date, period_end date, holdout boolean,
               actual bigint, expected float8, cumulative_actual bigint, cumulative_expected float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
AS $fn$
DECLARE
    tz text := coalesce(time_zone, current_setting('TimeZone'));
    unit_days float8;
    cal_day date;
    end_day date;
BEGIN
    PERFORM persona.btyd_check_model(model);
    unit := persona.btyd_model_unit(model, unit);
    PERFORM persona.holdout_check_period(calibration_end, holdout_end, tz);
    IF period_days IS NULL OR period_days < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('period_days must be at least 1, not %s', coalesce(period_days::text, 'NULL'));
    END IF;
    unit_days := persona.time_unit_days(unit);
    cal_day := (calibration_end AT TIME ZONE tz)::date;
    end_day := (holdout_end AT TIME ZONE tz)::date;
    -- The cohort: customers with a first purchase by calibration_end.  A
    -- customer acquired on day s is expected to have made E[X(d - s)]
    -- repeat purchases by the end of day d, a function of d - s only: it is
    -- evaluated once per lag and weighted by the customers acquired each day.
    -- Periods run from the first acquisition day; the holdout's restart the
    -- day after calibration_end, so no period straddles the two.
    RETURN QUERY
    WITH c AS MATERIALIZED (
        SELECT h.customer_id AS id, h.first_on
        FROM persona.holdout_calibration(orders, calibration_end, NULL, unit, customer_col, time_col, amount_col, tz) h),
    acq AS (SELECT c.first_on, count(*) AS n FROM c GROUP BY c.first_on),
    rep AS (
        SELECT d.day, count(*) AS n
        FROM persona.purchase_days(orders, customer_col, time_col, tz, persona.day_end(holdout_end, tz)) d
        JOIN c ON c.id = d.customer_id AND d.day > c.first_on
        GROUP BY d.day),
    start AS (SELECT min(c.first_on) AS d0 FROM c),
    p AS (
        SELECT (row_number() OVER (ORDER BY q.p_start) - 1)::integer AS k, q.p_start, q.p_last, q.hold
        FROM (SELECT s.d0 + g * period_days AS p_start, least(s.d0 + (g + 1) * period_days - 1, cal_day) AS p_last,
                     false AS hold
              FROM start s, generate_series(0, (cal_day - s.d0) / period_days) g
              UNION ALL
              SELECT cal_day + 1 + g * period_days, least(cal_day + (g + 1) * period_days, end_day), true
              FROM start s, generate_series(0, (end_day - cal_day - 1) / period_days) g
              WHERE s.d0 IS NOT NULL) q),
    ex AS (
        SELECT g AS lag, persona.expected_purchases(model, g / unit_days) AS e
        FROM start s, generate_series(0, end_day - s.d0) g),
    cum AS (
        SELECT p.k, sum(acq.n * ex.e) AS e
        FROM p JOIN acq ON acq.first_on <= p.p_last JOIN ex ON ex.lag = p.p_last - acq.first_on
        GROUP BY p.k),
    inc AS (
        SELECT p.k, coalesce(sum(rep.n), 0)::bigint AS a
        FROM p LEFT JOIN rep ON rep.day BETWEEN p.p_start AND p.p_last
        GROUP BY p.k)
    SELECT p.k, p.p_start, p.p_last, p.hold, inc.a,
           cum.e - coalesce(lag(cum.e) OVER w, 0), (sum(inc.a) OVER w)::bigint, cum.e
    FROM p JOIN cum ON cum.k = p.k JOIN inc ON inc.k = p.k
    WINDOW w AS (ORDER BY p.k)
    ORDER BY p.k;
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
-- end of section B

------------------------------------------------------------------------
-- L. Warm starts (fits that begin at a previous fit's parameters), used by
-- incremental profile refreshes
------------------------------------------------------------------------

CREATE FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.bgnbd) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.pareto_nbd) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.gamma_gamma_transfn(internal, float8, float8, float8, persona.gamma_gamma) RETURNS internal
AS 'MODULE_PATHNAME', 'gamma_gamma_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.bgnbd) IS 'transition function of persona.bgnbd_fit with a start model';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.pareto_nbd) IS 'transition function of persona.pareto_nbd_fit with a start model';
COMMENT ON FUNCTION persona.gamma_gamma_transfn(internal, float8, float8, float8, persona.gamma_gamma) IS 'transition function of persona.gamma_gamma_fit with a start model';
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8, start persona.bgnbd) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8, start persona.pareto_nbd) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8, penalty float8, start persona.gamma_gamma) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = internal, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8, float8, persona.bgnbd) IS
  'BG/NBD fit with weights and penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8, float8, float8, persona.pareto_nbd) IS
  'Pareto/NBD fit with weights and penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';
COMMENT ON AGGREGATE persona.gamma_gamma_fit(float8, float8, float8, persona.gamma_gamma) IS
  'Gamma-Gamma fit with a penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';


DROP FUNCTION persona.profile_globals_sql(persona.profiles, text, text, boolean);

CREATE OR REPLACE FUNCTION persona.profile_progress(message text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- missing_ok: a session that has not loaded the library has no such setting yet
    IF coalesce(current_setting('persona.progress', true), 'on')::boolean THEN
        RAISE NOTICE '%', message;
    END IF;
END $$;
COMMENT ON FUNCTION persona.profile_progress(text) IS
  'A NOTICE with a step of create_profile or refresh_profile, unless persona.progress is off';

CREATE FUNCTION persona.profile_globals_sql(p persona.profiles, src text, as_of_sql text, models boolean,
                                            start_sql text DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$SELECT a.as_of, %3$L::text AS time_zone, %4$L::text AS language,
       x.breaks, x.tiers[1] AS gold_min, x.tiers[2] AS diamond_min, x.bgnbd, x.gamma_gamma
FROM (SELECT %6$s AS as_of) a
CROSS JOIN LATERAL (
    SELECT persona.rfm_breaks((a.as_of - s.last_order_on)::float8, s.orders::float8, s.revenue::float8, %5$s) AS breaks,
           percentile_cont(ARRAY[0.80, 0.95]) WITHIN GROUP (ORDER BY s.revenue::float8) AS tiers,
           %2$s
    FROM %1$s s WHERE s.orders > 0) x$q$,
    src,
    CASE WHEN models THEN format($m$persona.bgnbd_fit(s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7.0,
                             (a.as_of - s.first_order_on) / 7.0, 1, 0, %1$s)
               FILTER (WHERE s.first_order_on < a.as_of) AS bgnbd,
           persona.gamma_gamma_fit(s.purchase_days - 1, s.repeat_revenue::float8 / nullif(s.purchase_days - 1, 0), 0, %2$s)
               FILTER (WHERE s.purchase_days > 1 AND s.repeat_revenue > 0) AS gamma_gamma$m$,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.bgnbd' ELSE format('(SELECT st.bgnbd FROM %s st)', start_sql) END,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.gamma_gamma' ELSE format('(SELECT st.gamma_gamma FROM %s st)', start_sql) END)
         ELSE 'NULL::persona.bgnbd AS bgnbd, NULL::persona.gamma_gamma AS gamma_gamma' END,
    p.time_zone, p.language, p.bins, as_of_sql);
COMMENT ON FUNCTION persona.profile_globals_sql(persona.profiles, text, text, boolean, text) IS
  'SQL of a profile''s one row of cut points, value-tier thresholds and model fits over its state rows (fits started at a previous globals row''s when given)';

CREATE OR REPLACE FUNCTION persona.profile_summary_sql(p persona.profiles, part text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    scored text := persona.profile_rel(p, '__scored');
    as_of_sql text := persona.profile_as_of_sql(p);
BEGIN
    CASE part
    WHEN 'segments' THEN RETURN format($q$SELECT c.segment, count(*) AS customers,
       count(*)::float8 / sum(count(*)) OVER () AS customer_share,
       sum(c.revenue) AS revenue,
       (sum(c.revenue) / nullif(sum(sum(c.revenue)) OVER (), 0))::float8 AS revenue_share,
       avg(c.recency_days)::float8 AS avg_recency_days, avg(c.orders)::float8 AS avg_orders,
       avg(c.revenue)::float8 AS avg_revenue,
       count(*)::float8 / sum(count(*)) OVER () < 0.05 AS below_5_percent,
       max(c.as_of) AS as_of
FROM %s c GROUP BY c.segment$q$, scored);
    WHEN 'lifecycle' THEN RETURN format($q$SELECT st::text AS lifecycle, persona.label(st, %L) AS label,
       array_position(enum_range(NULL::persona.lifecycle), st) AS stage_order,
       count(c.customer_id) AS customers,
       count(c.customer_id)::float8 / nullif(sum(count(c.customer_id)) OVER (), 0) AS customer_share,
       coalesce(sum(c.revenue), 0) AS revenue
FROM unnest(enum_range(NULL::persona.lifecycle)) st LEFT JOIN %s c ON c.lifecycle = st::text
GROUP BY st$q$, p.language, scored);
    WHEN 'pareto' THEN RETURN format($q$SELECT %L::text AS profile, (x).customers, (x).revenue, (x).top_share,
       (x).top_revenue_share, (x).revenue_share, (x).customer_share
FROM (SELECT persona.pareto(c.revenue::float8) AS x FROM %s c) q$q$, p.name, scored);
    WHEN 'models' THEN RETURN format($q$SELECT m.model, m.parameter, m.value, m.std_error, m.customers, m.loglik, m.converged,
       m.status, 'weeks'::text AS time_unit, g.as_of
FROM %s g, LATERAL (VALUES
    ('bgnbd', 'r', (g.bgnbd).r, (g.bgnbd).se_r, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('bgnbd', 'alpha', (g.bgnbd).alpha, (g.bgnbd).se_alpha, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('bgnbd', 'a', (g.bgnbd).a, (g.bgnbd).se_a, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('bgnbd', 'b', (g.bgnbd).b, (g.bgnbd).se_b, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('gamma_gamma', 'p', (g.gamma_gamma).p, (g.gamma_gamma).se_p, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged, (g.gamma_gamma).status),
    ('gamma_gamma', 'q', (g.gamma_gamma).q, (g.gamma_gamma).se_q, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged, (g.gamma_gamma).status),
    ('gamma_gamma', 'v', (g.gamma_gamma).v, (g.gamma_gamma).se_v, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged, (g.gamma_gamma).status))
    m(model, parameter, value, std_error, customers, loglik, converged, status)
WHERE m.value IS NOT NULL$q$, persona.profile_rel(p, '__globals'));
    WHEN 'quality' THEN RETURN format($q$SELECT q.check_name, q.label, q.rows, q.share, q.treatment, %s AS checked_at
FROM persona.data_quality(%L::regclass, %L, %L, %L, NULL, %L, %s, %L) q$q$,
        -- stored: when the refresh computed it; computed by every read: NULL
        CASE WHEN p.materialized THEN 'now()' ELSE 'NULL::timestamptz' END, p.orders::text, p.customer_col, p.time_col, p.amount_col, p.time_zone,
        persona.profile_day_end(p, as_of_sql), p.language);
    WHEN 'holdout' THEN RETURN format($q$SELECT h.frequency, h.customers, h.predicted, h.actual, h.mae, h.rmse,
       %2$s AS calibration_end_on, %3$s AS holdout_end_on
FROM persona.holdout_by_frequency(%1$L::regclass, (%2$s)::timestamp AT TIME ZONE %4$L, (%3$s)::timestamp AT TIME ZONE %4$L,
                                  'bgnbd', 'weeks', %5$L, %6$L, %7$L) h$q$,
        p.orders::text, format('(%s - %s)', as_of_sql, p.holdout_days), as_of_sql, p.time_zone,
        p.customer_col, p.time_col, p.amount_col);
    WHEN 'funnel' THEN RETURN format($q$SELECT q.stage, q.label, q.stage_order, q.customers, q.reached,
       q.reached::float8 / nullif(lag(q.reached) OVER (ORDER BY q.stage_order), 0) AS conversion
FROM (SELECT st::text AS stage, persona.label(st, %1$L) AS label,
             array_position(enum_range(NULL::persona.funnel), st) AS stage_order,
             count(f.stage) AS customers, sum(count(f.stage)) OVER (ORDER BY st DESC) AS reached
      FROM unnest(enum_range(NULL::persona.funnel)) st
      LEFT JOIN (SELECT persona.funnel_stage(a.%4$I::bigint, a.%5$I::boolean, c.orders, a.%6$I::boolean, a.%7$I::bigint) AS stage
                 FROM %2$s a LEFT JOIN %3$s c ON c.customer_id = a.%8$I) f ON f.stage = st
      GROUP BY st) q$q$, p.language, p.attributes_from::text, scored,
        p.funnel_columns[1], p.funnel_columns[2], p.funnel_columns[3], p.funnel_columns[4], p.customer_col);
    ELSE
        RAISE EXCEPTION 'unknown profile part "%"', part USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END $$;
COMMENT ON FUNCTION persona.profile_summary_sql(persona.profiles, text) IS
  'SQL of one summary relation of a profile (segments, lifecycle, pareto, models, quality, holdout, funnel)';

CREATE OR REPLACE FUNCTION persona.profile_build(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    state_rel text := persona.profile_rel(p, '__state');
    globals_rel text := persona.profile_rel(p, '__globals');
    scored_rel text := persona.profile_rel(p, '__scored');
    as_of_sql text := persona.profile_as_of_sql(p);
    invoker text := CASE WHEN p.materialized THEN '' ELSE ' WITH (security_invoker)' END;
    part text;
    guard text := format('persona.profile_guard(%L::regclass, %L, %L)', p.orders::text, p.name, p.materialized);
    key_sql text;
    o text := p.orders::text;
BEGIN
    IF p.materialized THEN
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, as_of_sql, 'false'), as_of_sql));
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (customer_id)', state_rel);
        EXECUTE format('COMMENT ON TABLE %s IS %L', state_rel,
                       format('persona profile %s (internal): one row per customer, statistics that do not depend on the as-of day and the aggregate states that refreshes merge', p.name));
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', globals_rel,
                       persona.profile_globals_sql(p, state_rel, as_of_sql, true));
        EXECUTE format('ALTER TABLE %s ADD COLUMN needs_full boolean NOT NULL DEFAULT false', globals_rel);
        EXECUTE format('COMMENT ON TABLE %s IS %L', globals_rel,
                       format('persona profile %s (internal): as-of day, RFM cut points, value-tier thresholds and model fits of the last refresh', p.name));
        IF p.incremental THEN
            EXECUTE format('CREATE TABLE %s AS SELECT o.%I AS customer_id, %s AS ordered_at, o.%I::numeric AS amount FROM %s o WITH NO DATA',
                           persona.profile_rel(p, '__pending'), p.customer_col, persona.profile_time_sql(p, 'o.'), p.amount_col, o);
            EXECUTE format('COMMENT ON TABLE %s IS %L', persona.profile_rel(p, '__pending'),
                           format('persona profile %s (internal): orders inserted since the last refresh, merged by the next incremental refresh', p.name));
            EXECUTE format('CREATE TABLE %s AS SELECT o.%I AS customer_id FROM %s o WITH NO DATA',
                           persona.profile_rel(p, '__dirty'), p.customer_col, o);
            EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (customer_id)', persona.profile_rel(p, '__dirty'));
            EXECUTE format('COMMENT ON TABLE %s IS %L', persona.profile_rel(p, '__dirty'),
                           format('persona profile %s (internal): customers whose orders were updated or deleted since the last refresh', p.name));
            PERFORM persona.profile_capture_triggers(p);
        END IF;
    ELSE
        EXECUTE format('CREATE VIEW %s WITH (security_invoker) AS %s', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, as_of_sql, NULL), as_of_sql));
        EXECUTE format('CREATE VIEW %s WITH (security_invoker) AS %s', globals_rel,
                       persona.profile_globals_sql(p, state_rel, as_of_sql, 'models' = ANY (p.parts)));
        EXECUTE format('COMMENT ON VIEW %s IS %L', state_rel, format('persona profile %s (internal): per-customer statistics computed from orders', p.name));
        EXECUTE format('COMMENT ON VIEW %s IS %L', globals_rel, format('persona profile %s (internal): as-of day, cut points and fits computed from orders', p.name));
    END IF;
    EXECUTE format('CREATE VIEW %s%s AS %s', scored_rel, invoker, persona.profile_scored_sql(p, state_rel, globals_rel));
    EXECUTE format('COMMENT ON VIEW %s IS %L', scored_rel, format('persona profile %s (internal): per-customer measures as of the as-of day', p.name));
    PERFORM persona.profile_customers_view(p);
    IF 'customer_tags' = ANY (p.parts) THEN
        EXECUTE format($q$CREATE VIEW %s WITH (security_barrier%s) AS
SELECT c.customer_id, t.tag, r.layer::text AS layer, r.description
FROM %s c CROSS JOIN LATERAL unnest(c.tags) t(tag)
LEFT JOIN persona.tag_rules r ON r.source = %L::regclass AND r.tag = t.tag$q$,
            persona.profile_rel(p, '_customer_tags'), CASE WHEN p.materialized THEN '' ELSE ', security_invoker' END,
            persona.profile_rel(p, '_customers'), persona.profile_rel(p, '_customers'));
        EXECUTE format('COMMENT ON VIEW %s IS %L', persona.profile_rel(p, '_customer_tags'),
                       format('persona profile %s: one row per customer and tag', p.name));
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part = 'customer_tags';
        IF p.materialized AND part <> 'models' THEN
            EXECUTE format('CREATE MATERIALIZED VIEW %s AS %s WITH NO DATA',
                           persona.profile_rel(p, '__' || part), persona.profile_summary_sql(p, part));
            EXECUTE format('CREATE UNIQUE INDEX ON %s (%s)', persona.profile_rel(p, '__' || part), persona.profile_summary_key(part));
            EXECUTE format('COMMENT ON MATERIALIZED VIEW %s IS %L', persona.profile_rel(p, '__' || part),
                           format('persona profile %s (internal): stored %s summary, refreshed concurrently', p.name, part));
            EXECUTE format('CREATE VIEW %s WITH (security_barrier) AS SELECT * FROM %s WHERE %s',
                           persona.profile_rel(p, '_' || part), persona.profile_rel(p, '__' || part), guard);
        ELSE
            EXECUTE format('CREATE VIEW %s WITH (security_barrier%s) AS SELECT * FROM (%s) s WHERE %s',
                           persona.profile_rel(p, '_' || part), CASE WHEN p.materialized THEN '' ELSE ', security_invoker' END,
                           persona.profile_summary_sql(p, part), guard);
        END IF;
        EXECUTE format('COMMENT ON VIEW %s IS %L', persona.profile_rel(p, '_' || part),
                       format('persona profile %s: %s summary (built-in types only)', p.name, part));
    END LOOP;
    -- The internal relations are read through the views only.
    FOR part IN SELECT c.oid::regclass::text FROM pg_class c
                WHERE c.relnamespace = p.schema_name::regnamespace AND c.relkind IN ('r', 'v', 'm') AND c.relname LIKE p.name || '\_\_%' LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', part);
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_build(persona.profiles) IS
  'Create the relations of a profile from its registry row (no data)';

CREATE OR REPLACE FUNCTION persona.profile_refresh_run(profile text, incremental boolean)
RETURNS TABLE (name text, refresh text, as_of date, customers bigint, changed bigint, milliseconds double precision)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    p persona.profiles := persona.profile_get(profile);
    started timestamptz := clock_timestamp();
    step timestamptz;
    state_rel text := persona.profile_rel(p, '__state');
    globals_rel text := persona.profile_rel(p, '__globals');
    pending_rel text := persona.profile_rel(p, '__pending');
    dirty_rel text := persona.profile_rel(p, '__dirty');
    day date;
    day_sql text;
    kind text;
    n bigint := 0;
    m bigint;
    part text;
    cols text;
    excluded_cols text;
    populated boolean;
    old_zone text := current_setting('TimeZone');
    old_work_mem text := current_setting('work_mem');
    small text;
    needs_full boolean;
    start_sql text;
BEGIN
    IF NOT p.materialized THEN
        PERFORM persona.profile_customers_view(p);
        RETURN QUERY SELECT p.name, 'views'::text, NULL::date, NULL::bigint, 0::bigint,
                            extract(epoch FROM clock_timestamp() - started)::float8 * 1000;
        RETURN;
    END IF;
    IF incremental AND NOT p.incremental THEN
        RAISE EXCEPTION 'profile "%" was created without incremental => true', p.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Refresh it fully, or drop it and create it with incremental => true.';
    END IF;
    -- one refresh of a profile at a time
    PERFORM pg_advisory_xact_lock(hashtext('persona.profile'), hashtext(p.name));
    PERFORM persona.profile_check_sources(p);
    -- The changes recorded so far are what this refresh merges: writers of
    -- orders (their triggers insert here) wait until it commits, so no
    -- change lands between its statements.  Readers are never blocked.
    IF p.incremental THEN
        EXECUTE format('LOCK TABLE %s, %s IN EXCLUSIVE MODE', pending_rel, dirty_rel);
    END IF;
    -- session-zone functions used by a part (holdout) and the as-of day follow the profile
    PERFORM set_config('TimeZone', p.time_zone, true);
    day := coalesce(p.as_of, (now() AT TIME ZONE p.time_zone)::date);
    day_sql := format('%L::date', day);
    kind := CASE WHEN coalesce(incremental, p.incremental) THEN 'incremental' ELSE 'full' END;
    IF kind = 'incremental' THEN
        EXECUTE format('SELECT coalesce(bool_or(needs_full), true) FROM %s', globals_rel) INTO STRICT needs_full;
        IF needs_full OR p.refreshed_as_of IS NULL OR day < p.refreshed_as_of THEN
            kind := 'full';
        END IF;
    END IF;
    cols := (SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
             WHERE a.attrelid = state_rel::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    excluded_cols := (SELECT string_agg('excluded.' || x, ', ') FROM unnest(string_to_array(cols, ', ')) x);
    step := clock_timestamp();
    IF kind = 'full' THEN
        -- the new states, then only the customers whose states differ are
        -- decoded and written: a daily full refresh rewrites few rows
        EXECUTE format('CREATE TEMP TABLE persona_profile_new ON COMMIT DROP AS %s',
                       persona.profile_states_sql(p, day_sql, NULL));
        EXECUTE format('DELETE FROM %s s WHERE NOT EXISTS (SELECT FROM pg_temp.persona_profile_new n WHERE n.k = s.customer_id)', state_rel);
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('INSERT INTO %1$s AS s %2$s
                        ON CONFLICT (customer_id) DO UPDATE SET (%3$s) = (SELECT %4$s)',
                       state_rel,
                       persona.profile_decode_sql(p, format('(SELECT n.* FROM pg_temp.persona_profile_new n LEFT JOIN %s s ON s.customer_id = n.k
                                                             WHERE s.customer_id IS NULL OR s.stats_state IS DISTINCT FROM n.st
                                                                OR s.habits_state IS DISTINCT FROM n.hb)', state_rel), day_sql),
                       cols, excluded_cols);
        GET DIAGNOSTICS m = ROW_COUNT;
        n := n + m;
        DROP TABLE pg_temp.persona_profile_new;
        IF p.incremental THEN
            EXECUTE format('TRUNCATE %s, %s', pending_rel, dirty_rel);
            -- orders after the as-of day wait in pending for the day they belong to
            EXECUTE format('INSERT INTO %s SELECT o.%I, %s, o.%I::numeric FROM %s o WHERE o.%I IS NOT NULL AND %s >= %s',
                           pending_rel, p.customer_col, persona.profile_time_sql(p, 'o.'), p.amount_col, p.orders,
                           p.customer_col, persona.profile_time_sql(p, 'o.'), persona.profile_day_end(p, day_sql));
        END IF;
    ELSE
        -- customers with updated or deleted orders: recomputed from orders
        EXECUTE format('DELETE FROM %s s USING %s d WHERE s.customer_id = d.customer_id', state_rel, dirty_rel);
        EXECUTE format('INSERT INTO %s %s', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, day_sql,
                           format('o.%I IN (SELECT customer_id FROM %s)', p.customer_col, dirty_rel)), day_sql));
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('DELETE FROM %s q USING %s d WHERE q.customer_id = d.customer_id AND q.ordered_at < %s',
                       pending_rel, dirty_rel, persona.profile_day_end(p, day_sql));
        EXECUTE format('TRUNCATE %s', dirty_rel);
        -- inserted orders: their states merged into the customers' states
        EXECUTE format($q$INSERT INTO %1$s AS s %2$s
                        ON CONFLICT (customer_id) DO UPDATE SET (%5$s) = (SELECT %6$s)$q$,
                       state_rel,
                       persona.profile_decode_sql(p, format($d$(SELECT u.k, persona.order_stats_merge(u.st) AS st, persona.habits_merge(u.hb) AS hb
  FROM (SELECT q.customer_id AS k, persona.order_stats_state(q.ordered_at, q.amount, %1$L) AS st,
               persona.habits_state(q.ordered_at, %1$L) FILTER (WHERE q.amount IS NULL OR q.amount >= 0) AS hb
        FROM %2$s q WHERE q.ordered_at < %3$s GROUP BY q.customer_id
        UNION ALL
        SELECT s.customer_id, s.stats_state, s.habits_state FROM %4$s s
        WHERE s.customer_id IN (SELECT q.customer_id FROM %2$s q WHERE q.ordered_at < %3$s)) u
  GROUP BY u.k)$d$, p.time_zone, pending_rel, persona.profile_day_end(p, day_sql), state_rel), day_sql),
                       NULL, NULL, cols, excluded_cols);
        GET DIAGNOSTICS m = ROW_COUNT;
        n := n + m;
        EXECUTE format('DELETE FROM %s q WHERE q.ordered_at < %s', pending_rel, persona.profile_day_end(p, day_sql));
    END IF;
    PERFORM persona.profile_progress(format('persona profile %s: %s refresh as of %s, %s customers changed (%s ms)',
                                            p.name, kind, day, n, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    PERFORM persona.profile_customers_view(p);
    -- Nothing merged and the same day: the globals and summaries would come
    -- out as they are (a frequent schedule with no new orders costs little).
    IF kind = 'incremental' AND n = 0 AND day = p.refreshed_as_of THEN
        PERFORM persona.profile_progress(format('persona profile %s: no changes to merge', p.name));
    ELSE
    -- globals from the per-customer rows; an incremental refresh starts
    -- the fits from the previous ones, passed as literals
    step := clock_timestamp();
    IF kind = 'incremental' THEN
        EXECUTE format('SELECT format(''(SELECT %%L::persona.bgnbd AS bgnbd, %%L::persona.gamma_gamma AS gamma_gamma)'', bgnbd, gamma_gamma) FROM %s',
                       globals_rel) INTO start_sql;
    END IF;
    EXECUTE format('DELETE FROM %s', globals_rel);
    BEGIN
        EXECUTE format('INSERT INTO %s %s', globals_rel, persona.profile_globals_sql(p, state_rel, day_sql, 'models' = ANY (p.parts), start_sql));
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range OR data_exception THEN
        RAISE WARNING 'persona profile %: the models could not be fitted: %', p.name, SQLERRM
            USING HINT = 'P(alive), expected purchases and CLV are NULL until a refresh fits them.';
        EXECUTE format('INSERT INTO %s %s', globals_rel, persona.profile_globals_sql(p, state_rel, day_sql, false));
    END;
    PERFORM persona.profile_progress(format('persona profile %s: cut points and models (%s ms)',
                                            p.name, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part IN ('customer_tags', 'models');
        -- data quality describes the orders table: a scan of all of it, done
        -- by full refreshes only (checked_at says when)
        populated := (SELECT relispopulated FROM pg_class WHERE oid = persona.profile_rel(p, '__' || part)::regclass);
        CONTINUE WHEN part = 'quality' AND kind = 'incremental' AND populated;
        step := clock_timestamp();
        IF part = 'quality' THEN
            -- data_quality's one pass holds ~48 bytes an order within
            -- work_mem, else it takes a query many times slower: give this
            -- step what the table needs (at most 1 GB), then set it back.
            PERFORM set_config('work_mem', greatest(pg_size_bytes(old_work_mem),
                least(1024 * 1024 * 1024, 48 * greatest((SELECT reltuples FROM pg_class WHERE oid = p.orders), 0)::bigint + 1024 * 1024)) / 1024 || 'kB', true);
        END IF;
        IF populated THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', persona.profile_rel(p, '__' || part));
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW %s', persona.profile_rel(p, '__' || part));
        END IF;
        PERFORM set_config('work_mem', old_work_mem, true);
        PERFORM persona.profile_progress(format('persona profile %s: %s (%s ms)',
                                                p.name, part, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    END LOOP;
    END IF;
    IF 'segments' = ANY (p.parts) THEN
        -- seed 003: five to eight segments, each at least 5% of the customers
        EXECUTE format($q$SELECT string_agg(format('%%s (%%s%%%%)', segment, round(customer_share::numeric * 100, 1)), ', ' ORDER BY customer_share)
                          FROM %s WHERE below_5_percent$q$, persona.profile_rel(p, '__segments')) INTO small;
        IF small IS NOT NULL THEN
            PERFORM persona.profile_progress(format('persona profile %s: segments below 5%% of customers: %s', p.name, small)
                || E'\nHINT:  merge them with a neighbouring segment (a scheme in persona.segment_rules), or use scheme => ''cn8''');
        END IF;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE orders > 0', state_rel) INTO m;
    PERFORM set_config('TimeZone', old_zone, true);
    UPDATE persona.profiles pr SET refreshed_at = clock_timestamp(), refreshed_as_of = day, refresh_kind = kind,
           refresh_ms = extract(epoch FROM clock_timestamp() - started) * 1000, customers = m,
           last_error = NULL, last_error_at = NULL
    WHERE pr.name = p.name;
    RETURN QUERY SELECT p.name, kind, day, m, n, extract(epoch FROM clock_timestamp() - started)::float8 * 1000;
END $$;
COMMENT ON FUNCTION persona.profile_refresh_run(text, boolean) IS
  'The steps of refresh_profile (called by it)';

-- end of section L
