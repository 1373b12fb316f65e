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
    IF model IS NULL OR model NOT IN ('bgnbd', 'pareto_nbd') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown model %L', model),
            HINT = 'Use ''bgnbd'' or ''pareto_nbd''.';
    END IF;
    RETURN format('persona.%s_fit', model);
END;
$fn$;
COMMENT ON FUNCTION persona.btyd_fit_function(text) IS
  'The fit aggregate of a purchase model named bgnbd or pareto_nbd (22023 for another name)';

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
    unit            text DEFAULT 'weeks',
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
    unit            text DEFAULT 'weeks',
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
    unit            text DEFAULT 'weeks',
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
    unit            text DEFAULT 'weeks',
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
