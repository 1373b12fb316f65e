-- persona: customer profiling inside PostgreSQL.
-- Single SQL source; `make` copies it to persona--<version>.sql.

\echo Use "CREATE EXTENSION persona" to load this file. \quit

------------------------------------------------------------------------
-- 1. Order statistics
------------------------------------------------------------------------

CREATE TYPE persona.order_stats AS (
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
    refunds         bigint
);
COMMENT ON TYPE persona.order_stats IS
  'Per-customer order statistics returned by the persona.order_stats aggregate';

CREATE FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION persona.order_stats_combinefn(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_combinefn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.order_stats_serialfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'order_stats_serialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.order_stats_deserialfn(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_deserialfn'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.order_stats_finalfn(internal)
RETURNS persona.order_stats AS 'MODULE_PATHNAME', 'order_stats_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric, timestamptz) IS 'transition function of persona.order_stats';
COMMENT ON FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric) IS 'transition function of persona.order_stats';
COMMENT ON FUNCTION persona.order_stats_combinefn(internal, internal) IS 'combine function of persona.order_stats';
COMMENT ON FUNCTION persona.order_stats_serialfn(internal) IS 'serialisation function of persona.order_stats';
COMMENT ON FUNCTION persona.order_stats_deserialfn(bytea, internal) IS 'deserialisation function of persona.order_stats';
COMMENT ON FUNCTION persona.order_stats_finalfn(internal) IS 'final function of persona.order_stats';

CREATE AGGREGATE persona.order_stats(ordered_at timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = persona.order_stats_transfn,
    STYPE = internal,
    FINALFUNC = persona.order_stats_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn,
    SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE persona.order_stats(ordered_at timestamptz, amount numeric) (
    SFUNC = persona.order_stats_transfn,
    STYPE = internal,
    FINALFUNC = persona.order_stats_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn,
    SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE persona.order_stats(timestamptz, numeric, timestamptz) IS
  'Per-customer order statistics (recency, frequency, monetary, cadence) as of a day; later orders are ignored';
COMMENT ON AGGREGATE persona.order_stats(timestamptz, numeric) IS
  'Per-customer order statistics (recency, frequency, monetary, cadence) as of the transaction start time';

CREATE TYPE persona.btyd_summary AS (
    x                   integer,
    t_x                 double precision,
    t_cal               double precision,
    mean_repeat_spend   double precision
);
COMMENT ON TYPE persona.btyd_summary IS
  'BTYD model input: x repeat purchase days, t_x time of last purchase, t_cal (T) observation length, mean repeat spend';

CREATE FUNCTION persona.btyd(stats persona.order_stats, unit text DEFAULT 'days')
RETURNS persona.btyd_summary AS 'MODULE_PATHNAME', 'btyd_summary'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd(persona.order_stats, text) IS
  'BTYD summary (x, t_x, T, mean repeat spend) from order statistics, in days or weeks';
