-- persona: customer profiling inside PostgreSQL.
-- Single SQL source; `make` copies it to persona--<version>.sql.

\echo Use "CREATE EXTENSION persona" to load this file. \quit

-- Everyone may use persona's functions and types; what they read is still
-- governed by their own rights on their tables.
GRANT USAGE ON SCHEMA persona TO PUBLIC;

------------------------------------------------------------------------
-- Relation arguments
------------------------------------------------------------------------

-- Every function that reads a relation it is given resolves it here first.
CREATE FUNCTION persona.resolve_relation(rel regclass) RETURNS text
AS 'MODULE_PATHNAME', 'resolve_relation' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.resolve_relation(regclass) IS
  'Quoted schema-qualified name of a table, view, materialized view, foreign or partitioned table the caller may read (locked until the end of the transaction); 42P01, 42809 or 42501 otherwise';

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

-- SSPACE of every internal-state aggregate is the measured size of one group's
-- state (EXPLAIN ANALYZE memory over many groups, less a count(*)'s; for
-- order_stats on make bench's orders, whose heavy buyers grow a day array):
-- without it HashAggregate assumes 8 kB a group and spills nearly every group.
CREATE AGGREGATE persona.order_stats(ordered_at timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = persona.order_stats_transfn,
    STYPE = internal,
    FINALFUNC = persona.order_stats_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn,
    SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn,
    SSPACE = 280,
    PARALLEL = SAFE
);
CREATE AGGREGATE persona.order_stats(ordered_at timestamptz, amount numeric) (
    SFUNC = persona.order_stats_transfn,
    STYPE = internal,
    FINALFUNC = persona.order_stats_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn,
    SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn,
    SSPACE = 280,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE persona.order_stats(timestamptz, numeric, timestamptz) IS
  'Per-customer order statistics (recency, frequency, monetary, cadence) as of a day; later orders are ignored';
COMMENT ON AGGREGATE persona.order_stats(timestamptz, numeric) IS
  'Per-customer order statistics (recency, frequency, monetary, cadence) as of the transaction start time';

-- Days in a time zone given as a value, not the session's (a profile records
-- the shop's zone; JDBC, postgres_fdw and Citus workers set their own).
CREATE FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric, timestamptz, text)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric, timestamptz, text) IS 'transition function of persona.order_stats with a time zone';
CREATE AGGREGATE persona.order_stats(ordered_at timestamptz, amount numeric, as_of timestamptz, time_zone text) (
    SFUNC = persona.order_stats_transfn,
    STYPE = internal,
    FINALFUNC = persona.order_stats_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn,
    SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn,
    SSPACE = 280,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE persona.order_stats(timestamptz, numeric, timestamptz, text) IS
  'Per-customer order statistics as of a day, with calendar days in time_zone (an IANA name such as Asia/Shanghai) instead of the session TimeZone';

-- Per-customer states for incremental refresh: keep a customer's state as
-- bytea, merge the state of new orders into it, finish it as of a day.
CREATE FUNCTION persona.order_stats_state_transfn(internal, timestamptz, numeric, text)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_state_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.order_stats_merge_transfn(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_merge_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.order_stats_state_finalfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'order_stats_state_finalfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_state_transfn(internal, timestamptz, numeric, text) IS 'transition function of persona.order_stats_state';
COMMENT ON FUNCTION persona.order_stats_merge_transfn(internal, bytea) IS 'transition function of persona.order_stats_merge';
COMMENT ON FUNCTION persona.order_stats_state_finalfn(internal) IS 'final function of persona.order_stats_state and persona.order_stats_merge';
CREATE AGGREGATE persona.order_stats_state(ordered_at timestamptz, amount numeric, time_zone text) (
    SFUNC = persona.order_stats_state_transfn,
    STYPE = internal,
    FINALFUNC = persona.order_stats_state_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn,
    SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn,
    SSPACE = 280,
    PARALLEL = SAFE
);
CREATE AGGREGATE persona.order_stats_merge(state bytea) (
    SFUNC = persona.order_stats_merge_transfn,
    STYPE = internal,
    FINALFUNC = persona.order_stats_state_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn,
    SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn,
    SSPACE = 280,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE persona.order_stats_state(timestamptz, numeric, text) IS
  'A customer''s order_stats state as bytea (no as_of: no order ignored), calendar days in time_zone; merge with order_stats_merge, finish with order_stats_of';
COMMENT ON AGGREGATE persona.order_stats_merge(bytea) IS
  'Merge order_stats states of one customer (NULLs skipped) into one state';
CREATE FUNCTION persona.order_stats_merge(a bytea, b bytea) RETURNS bytea
AS 'MODULE_PATHNAME', 'order_stats_merge_pair' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_merge(bytea, bytea) IS
  'Merge two order_stats states of one customer into one, as the aggregate over both gives it (a NULL side is skipped; NULL when both are)';
CREATE FUNCTION persona.order_stats_of(state bytea, as_of date) RETURNS persona.order_stats
AS 'MODULE_PATHNAME', 'order_stats_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_of(bytea, date) IS
  'Order statistics of an order_stats state, recency and tenure counted to the local date as_of; a state with orders after as_of is an error';

CREATE TYPE persona.btyd_summary AS (
    x                   integer,
    t_x                 double precision,
    t_cal               double precision,
    mean_repeat_spend   double precision,
    unit                text
);
COMMENT ON TYPE persona.btyd_summary IS
  'BTYD model input: x repeat purchase days, t_x time of last purchase, t_cal (T) observation length, mean repeat spend, time unit';
COMMENT ON COLUMN persona.btyd_summary.unit IS
  'Time unit of t_x and t_cal: days, weeks or months (NULL: not stated); a fit on summaries records it';

CREATE FUNCTION persona.btyd(stats persona.order_stats, unit text DEFAULT 'days')
RETURNS persona.btyd_summary AS 'MODULE_PATHNAME', 'btyd_summary'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd(persona.order_stats, text) IS
  'BTYD summary (x, t_x, T, mean repeat spend, unit) from order statistics, in days, weeks or months (any case)';
CREATE FUNCTION persona.time_unit_days(unit text) RETURNS float8
AS 'MODULE_PATHNAME', 'time_unit_days' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.time_unit_days(text) IS
  'Days in a BTYD time unit: day(s) 1, week(s) 7, month(s) 365.25/12 (any case, blanks trimmed); 22023 for another';

------------------------------------------------------------------------
-- 2. RFM: the rfm type
------------------------------------------------------------------------

CREATE TYPE persona.rfm;
CREATE FUNCTION persona.rfm_in(cstring) RETURNS persona.rfm
AS 'MODULE_PATHNAME', 'rfm_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.rfm_out(persona.rfm) RETURNS cstring
AS 'MODULE_PATHNAME', 'rfm_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.rfm_recv(internal) RETURNS persona.rfm
AS 'MODULE_PATHNAME', 'rfm_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.rfm_send(persona.rfm) RETURNS bytea
AS 'MODULE_PATHNAME', 'rfm_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE persona.rfm (
    INPUT = persona.rfm_in,
    OUTPUT = persona.rfm_out,
    RECEIVE = persona.rfm_recv,
    SEND = persona.rfm_send,
    INTERNALLENGTH = 4,
    PASSEDBYVALUE,
    ALIGNMENT = int4,
    STORAGE = plain
);
COMMENT ON TYPE persona.rfm IS
  'RFM scores (recency, frequency, monetary; 1..bins, bins = best), text ''545'' or ''10-3-5/10''; without amounts R and F only, ''54-'' or ''10-3-/10''';
COMMENT ON FUNCTION persona.rfm_in(cstring) IS 'input function of persona.rfm';
COMMENT ON FUNCTION persona.rfm_out(persona.rfm) IS 'output function of persona.rfm';
COMMENT ON FUNCTION persona.rfm_recv(internal) IS 'binary input function of persona.rfm';
COMMENT ON FUNCTION persona.rfm_send(persona.rfm) IS 'binary output function of persona.rfm';

CREATE FUNCTION persona.rfm(r integer, f integer, m integer, bins integer DEFAULT 5) RETURNS persona.rfm
AS 'MODULE_PATHNAME', 'rfm_construct' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm(integer, integer, integer, integer) IS
  'Build an rfm value from three scores on a scale of bins points; m NULL: R and F only (''54-''), another NULL: NULL';
CREATE FUNCTION persona.r(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_r' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.r(persona.rfm) IS 'Recency score (bins = bought most recently)';
CREATE FUNCTION persona.f(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_f' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.f(persona.rfm) IS 'Frequency score (bins = buys most often)';
CREATE FUNCTION persona.m(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_m' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.m(persona.rfm) IS 'Monetary score (bins = spends most); NULL for R and F only (''54-'')';
CREATE FUNCTION persona.bins(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_bins' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.bins(persona.rfm) IS 'Number of score points (2..10) of an rfm value';
CREATE FUNCTION persona.score(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_score_code' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.score(persona.rfm) IS 'Numeric RFM code 100 r + 10 f + m (''545'' -> 545); NULL for R and F only (''54-'')';

CREATE FUNCTION persona.rfm_cmp(persona.rfm, persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION persona.rfm_lt(persona.rfm, persona.rfm) RETURNS boolean
AS 'MODULE_PATHNAME', 'rfm_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION persona.rfm_le(persona.rfm, persona.rfm) RETURNS boolean
AS 'MODULE_PATHNAME', 'rfm_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION persona.rfm_eq(persona.rfm, persona.rfm) RETURNS boolean
AS 'MODULE_PATHNAME', 'rfm_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION persona.rfm_ne(persona.rfm, persona.rfm) RETURNS boolean
AS 'MODULE_PATHNAME', 'rfm_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION persona.rfm_ge(persona.rfm, persona.rfm) RETURNS boolean
AS 'MODULE_PATHNAME', 'rfm_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION persona.rfm_gt(persona.rfm, persona.rfm) RETURNS boolean
AS 'MODULE_PATHNAME', 'rfm_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION persona.rfm_hash(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION persona.rfm_cmp(persona.rfm, persona.rfm) IS 'btree support: order by r, f, m, then bins';
COMMENT ON FUNCTION persona.rfm_lt(persona.rfm, persona.rfm) IS 'implementation of < for persona.rfm';
COMMENT ON FUNCTION persona.rfm_le(persona.rfm, persona.rfm) IS 'implementation of <= for persona.rfm';
COMMENT ON FUNCTION persona.rfm_eq(persona.rfm, persona.rfm) IS 'implementation of = for persona.rfm';
COMMENT ON FUNCTION persona.rfm_ne(persona.rfm, persona.rfm) IS 'implementation of <> for persona.rfm';
COMMENT ON FUNCTION persona.rfm_ge(persona.rfm, persona.rfm) IS 'implementation of >= for persona.rfm';
COMMENT ON FUNCTION persona.rfm_gt(persona.rfm, persona.rfm) IS 'implementation of > for persona.rfm';
COMMENT ON FUNCTION persona.rfm_hash(persona.rfm) IS 'hash support for persona.rfm';

CREATE OPERATOR persona.< (LEFTARG = persona.rfm, RIGHTARG = persona.rfm, PROCEDURE = persona.rfm_lt,
    COMMUTATOR = OPERATOR(persona.>), NEGATOR = OPERATOR(persona.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR persona.<= (LEFTARG = persona.rfm, RIGHTARG = persona.rfm, PROCEDURE = persona.rfm_le,
    COMMUTATOR = OPERATOR(persona.>=), NEGATOR = OPERATOR(persona.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR persona.= (LEFTARG = persona.rfm, RIGHTARG = persona.rfm, PROCEDURE = persona.rfm_eq,
    COMMUTATOR = OPERATOR(persona.=), NEGATOR = OPERATOR(persona.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR persona.<> (LEFTARG = persona.rfm, RIGHTARG = persona.rfm, PROCEDURE = persona.rfm_ne,
    COMMUTATOR = OPERATOR(persona.<>), NEGATOR = OPERATOR(persona.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR persona.>= (LEFTARG = persona.rfm, RIGHTARG = persona.rfm, PROCEDURE = persona.rfm_ge,
    COMMUTATOR = OPERATOR(persona.<=), NEGATOR = OPERATOR(persona.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR persona.> (LEFTARG = persona.rfm, RIGHTARG = persona.rfm, PROCEDURE = persona.rfm_gt,
    COMMUTATOR = OPERATOR(persona.<), NEGATOR = OPERATOR(persona.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR persona.< (persona.rfm, persona.rfm) IS 'less than (by r, f, m, bins)';
COMMENT ON OPERATOR persona.<= (persona.rfm, persona.rfm) IS 'less than or equal (by r, f, m, bins)';
COMMENT ON OPERATOR persona.= (persona.rfm, persona.rfm) IS 'equal';
COMMENT ON OPERATOR persona.<> (persona.rfm, persona.rfm) IS 'not equal';
COMMENT ON OPERATOR persona.>= (persona.rfm, persona.rfm) IS 'greater than or equal (by r, f, m, bins)';
COMMENT ON OPERATOR persona.> (persona.rfm, persona.rfm) IS 'greater than (by r, f, m, bins)';

CREATE OPERATOR CLASS persona.rfm_ops DEFAULT FOR TYPE persona.rfm USING btree AS
    OPERATOR 1 persona.<,
    OPERATOR 2 persona.<=,
    OPERATOR 3 persona.=,
    OPERATOR 4 persona.>=,
    OPERATOR 5 persona.>,
    FUNCTION 1 persona.rfm_cmp(persona.rfm, persona.rfm);
CREATE OPERATOR CLASS persona.rfm_hash_ops DEFAULT FOR TYPE persona.rfm USING hash AS
    OPERATOR 1 persona.=,
    FUNCTION 1 persona.rfm_hash(persona.rfm);
COMMENT ON OPERATOR CLASS persona.rfm_ops USING btree IS 'btree operator class for persona.rfm (sorting, grouping, indexes)';
COMMENT ON OPERATOR CLASS persona.rfm_hash_ops USING hash IS 'hash operator class for persona.rfm (hash grouping and joins)';

------------------------------------------------------------------------
-- 2. RFM: cut points and scoring
------------------------------------------------------------------------

CREATE TYPE persona.rfm_breaks;
CREATE FUNCTION persona.rfm_breaks_in(cstring) RETURNS persona.rfm_breaks
AS 'MODULE_PATHNAME', 'rfm_breaks_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.rfm_breaks_out(persona.rfm_breaks) RETURNS cstring
AS 'MODULE_PATHNAME', 'rfm_breaks_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.rfm_breaks_recv(internal) RETURNS persona.rfm_breaks
AS 'MODULE_PATHNAME', 'rfm_breaks_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.rfm_breaks_send(persona.rfm_breaks) RETURNS bytea
AS 'MODULE_PATHNAME', 'rfm_breaks_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE persona.rfm_breaks (
    INPUT = persona.rfm_breaks_in,
    OUTPUT = persona.rfm_breaks_out,
    RECEIVE = persona.rfm_breaks_recv,
    SEND = persona.rfm_breaks_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE persona.rfm_breaks IS
  'RFM cut points (per dimension, bins - 1 of them); text form is a JSON object';
COMMENT ON FUNCTION persona.rfm_breaks_in(cstring) IS 'input function of persona.rfm_breaks';
COMMENT ON FUNCTION persona.rfm_breaks_out(persona.rfm_breaks) IS 'output function of persona.rfm_breaks';
COMMENT ON FUNCTION persona.rfm_breaks_recv(internal) IS 'binary input function of persona.rfm_breaks';
COMMENT ON FUNCTION persona.rfm_breaks_send(persona.rfm_breaks) IS 'binary output function of persona.rfm_breaks';

-- The state is a float8[] (parameters, then the distinct values of each
-- dimension with their customers: f8state.h), not internal: partial states
-- print and re-read exactly, so Citus can combine them.
CREATE FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'rfm_breaks_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8, integer)
RETURNS float8[] AS 'MODULE_PATHNAME', 'rfm_breaks_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8, integer, text)
RETURNS float8[] AS 'MODULE_PATHNAME', 'rfm_breaks_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.rfm_breaks_combinefn(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'rfm_breaks_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.rfm_breaks_finalfn(float8[])
RETURNS persona.rfm_breaks AS 'MODULE_PATHNAME', 'rfm_breaks_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8) IS 'transition function of persona.rfm_breaks';
COMMENT ON FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8, integer) IS 'transition function of persona.rfm_breaks';
COMMENT ON FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8, integer, text) IS 'transition function of persona.rfm_breaks';
COMMENT ON FUNCTION persona.rfm_breaks_combinefn(float8[], float8[]) IS 'combine function of persona.rfm_breaks';
COMMENT ON FUNCTION persona.rfm_breaks_finalfn(float8[]) IS 'final function of persona.rfm_breaks';

CREATE AGGREGATE persona.rfm_breaks(recency float8, frequency float8, monetary float8) (
    SFUNC = persona.rfm_breaks_transfn, STYPE = float8[], FINALFUNC = persona.rfm_breaks_finalfn,
    COMBINEFUNC = persona.rfm_breaks_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE persona.rfm_breaks(recency float8, frequency float8, monetary float8, bins integer) (
    SFUNC = persona.rfm_breaks_transfn, STYPE = float8[], FINALFUNC = persona.rfm_breaks_finalfn,
    COMBINEFUNC = persona.rfm_breaks_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE persona.rfm_breaks(recency float8, frequency float8, monetary float8, bins integer, method text) (
    SFUNC = persona.rfm_breaks_transfn, STYPE = float8[], FINALFUNC = persona.rfm_breaks_finalfn,
    COMBINEFUNC = persona.rfm_breaks_combinefn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.rfm_breaks(float8, float8, float8) IS
  'Tie-safe quintile cut points for RFM scoring over all customers (also usable OVER ()); NULL monetary: ranked on R and F only';
COMMENT ON AGGREGATE persona.rfm_breaks(float8, float8, float8, integer) IS
  'Tie-safe quantile cut points for RFM scoring on bins (2..10) points';
COMMENT ON AGGREGATE persona.rfm_breaks(float8, float8, float8, integer, text) IS
  'RFM cut points by method: quantile (tie-safe) or mean (2 bins, high/low against the average)';

-- The approximate mode: monetary values quantised to a grid of relative
-- step 2 accuracy, so partial states stay small however many distinct
-- amounts there are (recency and frequency stay exact).
CREATE FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8, integer, text, float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'rfm_breaks_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_breaks_transfn(float8[], float8, float8, float8, integer, text, float8) IS 'transition function of persona.rfm_breaks';
CREATE AGGREGATE persona.rfm_breaks(recency float8, frequency float8, monetary float8, bins integer, method text, accuracy float8) (
    SFUNC = persona.rfm_breaks_transfn, STYPE = float8[], FINALFUNC = persona.rfm_breaks_finalfn,
    COMBINEFUNC = persona.rfm_breaks_combinefn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.rfm_breaks(float8, float8, float8, integer, text, float8) IS
  'RFM cut points with monetary values quantised to within accuracy (e.g. 0.01; 0 = exact): monetary cuts are grid values at most about 2 x accuracy above the exact ones, scores stay tie-safe, partial states stay small';

CREATE FUNCTION persona.rfm_thresholds(r_days float8[], f_counts float8[], m_amounts float8[])
RETURNS persona.rfm_breaks AS 'MODULE_PATHNAME', 'rfm_thresholds' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_thresholds(float8[], float8[], float8[]) IS
  'RFM cut points from business thresholds, e.g. {30} days, {3} orders a month, {5000} yuan';

CREATE FUNCTION persona.rfm_score(recency float8, frequency float8, monetary float8, breaks persona.rfm_breaks)
RETURNS persona.rfm AS 'MODULE_PATHNAME', 'rfm_score_breaks' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_score(float8, float8, float8, persona.rfm_breaks) IS
  'RFM scores of one customer against cut points from rfm_breaks or rfm_thresholds; monetary NULL: R and F only (''54-''), another NULL: NULL';

CREATE FUNCTION persona.rfm_score_moves_support(internal) RETURNS internal
AS 'MODULE_PATHNAME', 'rfm_score_moves_support' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_score_moves_support(internal) IS
  'Planner support of persona.rfm_score_moves: its selectivity (moved cut points change few customers'' scores)';

CREATE FUNCTION persona.rfm_score_moves(recency float8, frequency float8, monetary float8,
                                        old_breaks persona.rfm_breaks, new_breaks persona.rfm_breaks)
RETURNS boolean AS 'MODULE_PATHNAME', 'rfm_score_moves' LANGUAGE C IMMUTABLE PARALLEL SAFE
SUPPORT persona.rfm_score_moves_support;
COMMENT ON FUNCTION persona.rfm_score_moves(float8, float8, float8, persona.rfm_breaks, persona.rfm_breaks) IS
  'Whether a customer''s RFM scores differ between two cut points: rfm_score(..., old_breaks) IS DISTINCT FROM rfm_score(..., new_breaks), in one call';

CREATE FUNCTION persona.rfm_score(recency float8, frequency float8, monetary float8,
                                  r_days float8[], f_counts float8[], m_amounts float8[])
RETURNS persona.rfm LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN persona.rfm_score(recency, frequency, monetary, persona.rfm_thresholds(r_days, f_counts, m_amounts));
COMMENT ON FUNCTION persona.rfm_score(float8, float8, float8, float8[], float8[], float8[]) IS
  'RFM scores of one customer against explicit business thresholds; monetary NULL: R and F only (''54-'')';

------------------------------------------------------------------------
-- 2. RFM: segments
------------------------------------------------------------------------

CREATE TABLE persona.segment_rules (
    scheme      text    NOT NULL CHECK (scheme <> '' AND scheme NOT IN ('standard', 'cn8')),
    priority    integer NOT NULL,
    segment     text    NOT NULL,
    segment_zh  text,
    r_min       integer NOT NULL DEFAULT 1  CHECK (r_min BETWEEN 1 AND 10),
    r_max       integer NOT NULL DEFAULT 10 CHECK (r_max BETWEEN 1 AND 10),
    f_min       integer NOT NULL DEFAULT 1  CHECK (f_min BETWEEN 1 AND 10),
    f_max       integer NOT NULL DEFAULT 10 CHECK (f_max BETWEEN 1 AND 10),
    m_min       integer NOT NULL DEFAULT 1  CHECK (m_min BETWEEN 1 AND 10),
    m_max       integer NOT NULL DEFAULT 10 CHECK (m_max BETWEEN 1 AND 10),
    PRIMARY KEY (scheme, priority),
    CHECK (r_min <= r_max AND f_min <= f_max AND m_min <= m_max)
);
SELECT pg_catalog.pg_extension_config_dump('persona.segment_rules', '');
COMMENT ON TABLE persona.segment_rules IS
  'User-defined RFM segment schemes: for a scheme, the first rule (lowest priority) whose score ranges match wins';
COMMENT ON COLUMN persona.segment_rules.scheme IS 'scheme name passed to rfm_segment (standard and cn8 are built in)';
COMMENT ON COLUMN persona.segment_rules.priority IS 'rules are tried in ascending priority';
COMMENT ON COLUMN persona.segment_rules.segment IS 'label (shown when persona.language = en, or when segment_zh is NULL)';
COMMENT ON COLUMN persona.segment_rules.segment_zh IS 'Chinese label (shown when persona.language = zh)';
GRANT SELECT ON persona.segment_rules TO PUBLIC;

CREATE FUNCTION persona.rfm_segment(scores persona.rfm, scheme text DEFAULT 'standard')
RETURNS text AS 'MODULE_PATHNAME', 'rfm_segment' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_segment(persona.rfm, text) IS
  'Segment label of RFM scores: standard (11 segments), cn8 (the Chinese 8-class scheme) or a scheme in persona.segment_rules';

CREATE FUNCTION persona.rfm_segment(scores persona.rfm, scheme text, language text)
RETURNS text AS 'MODULE_PATHNAME', 'rfm_segment_in' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_segment(persona.rfm, text, text) IS
  'Segment label of RFM scores in a scheme, in language (en or zh) instead of persona.language';

------------------------------------------------------------------------
-- 2. Pareto (80/20)
------------------------------------------------------------------------

CREATE TYPE persona.pareto_summary AS (
    customers           bigint,
    revenue             double precision,
    top_share           double precision,
    top_revenue_share   double precision,
    revenue_share       double precision,
    customer_share      double precision
);
COMMENT ON TYPE persona.pareto_summary IS
  'Revenue concentration: top_revenue_share from the top top_share of customers; customer_share making revenue_share';

-- float8[] state (parameters, then the distinct amounts with their customers): see rfm_breaks.
CREATE FUNCTION persona.pareto_transfn(float8[], float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'pareto_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.pareto_transfn(float8[], float8, float8, float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'pareto_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.pareto_combinefn(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'pareto_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.pareto_finalfn(float8[])
RETURNS persona.pareto_summary AS 'MODULE_PATHNAME', 'pareto_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.pareto_transfn(float8[], float8) IS 'transition function of persona.pareto';
COMMENT ON FUNCTION persona.pareto_transfn(float8[], float8, float8, float8) IS 'transition function of persona.pareto';
COMMENT ON FUNCTION persona.pareto_combinefn(float8[], float8[]) IS 'combine function of persona.pareto';
COMMENT ON FUNCTION persona.pareto_finalfn(float8[]) IS 'final function of persona.pareto';

CREATE AGGREGATE persona.pareto(amount float8) (
    SFUNC = persona.pareto_transfn, STYPE = float8[], FINALFUNC = persona.pareto_finalfn,
    COMBINEFUNC = persona.pareto_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto(amount float8, top_share float8, revenue_share float8) (
    SFUNC = persona.pareto_transfn, STYPE = float8[], FINALFUNC = persona.pareto_finalfn,
    COMBINEFUNC = persona.pareto_combinefn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.pareto(float8) IS
  'Revenue concentration over per-customer amounts: share from the top 20%, share of customers making 80%';
COMMENT ON AGGREGATE persona.pareto(float8, float8, float8) IS
  'Revenue concentration with chosen shares, e.g. pareto(revenue, 0.1, 0.5)';

CREATE FUNCTION persona.pareto_transfn(float8[], float8, float8, float8, float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'pareto_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.pareto_transfn(float8[], float8, float8, float8, float8) IS 'transition function of persona.pareto';
CREATE AGGREGATE persona.pareto(amount float8, top_share float8, revenue_share float8, accuracy float8) (
    SFUNC = persona.pareto_transfn, STYPE = float8[], FINALFUNC = persona.pareto_finalfn,
    COMBINEFUNC = persona.pareto_combinefn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.pareto(float8, float8, float8, float8) IS
  'Revenue concentration with amounts represented within accuracy (e.g. 0.01; 0 = exact): revenue exact, shares within about 2 x accuracy, partial states small';

------------------------------------------------------------------------
-- 3. Labels of persona's enums
------------------------------------------------------------------------

CREATE FUNCTION persona.label(anyenum) RETURNS text
AS 'MODULE_PATHNAME', 'enum_label' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.label(anyenum) IS
  'Display name of a persona enum value (lifecycle, funnel, daypart, value_tier) in persona.language';

CREATE FUNCTION persona.label(anyenum, language text) RETURNS text
AS 'MODULE_PATHNAME', 'enum_label_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.label(anyenum, text) IS
  'Display name of a persona enum value in language (en or zh) instead of persona.language';

------------------------------------------------------------------------
-- 3. Lifecycle
------------------------------------------------------------------------

CREATE TYPE persona.lifecycle AS ENUM ('prospect', 'new', 'growing', 'mature', 'declining', 'churned');
COMMENT ON TYPE persona.lifecycle IS
  'Lifecycle stage: prospect/new/growing/mature/declining/churned; label() gives the display name in persona.language';

CREATE FUNCTION persona.lifecycle_of(
    stats persona.order_stats,
    new_days integer DEFAULT NULL, mature_purchases integer DEFAULT NULL,
    decline_factor float8 DEFAULT NULL, churn_factor float8 DEFAULT NULL,
    min_days integer DEFAULT NULL, decline_days integer DEFAULT NULL, churn_days integer DEFAULT NULL)
RETURNS persona.lifecycle AS 'MODULE_PATHNAME', 'lifecycle_stage_stats'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.lifecycle_of(persona.order_stats, integer, integer, float8, float8, integer, integer, integer) IS
  'Lifecycle stage from order statistics; NULL parameters take the persona.lifecycle_* settings';

CREATE FUNCTION persona.lifecycle_stage(
    first_at timestamptz, last_at timestamptz, orders bigint, as_of timestamptz,
    mean_gap_days float8 DEFAULT NULL,
    new_days integer DEFAULT NULL, mature_purchases integer DEFAULT NULL,
    decline_factor float8 DEFAULT NULL, churn_factor float8 DEFAULT NULL,
    min_days integer DEFAULT NULL, decline_days integer DEFAULT NULL, churn_days integer DEFAULT NULL)
RETURNS persona.lifecycle AS 'MODULE_PATHNAME', 'lifecycle_stage_raw'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.lifecycle_stage(timestamptz, timestamptz, bigint, timestamptz, float8, integer, integer, float8, float8, integer, integer, integer) IS
  'Lifecycle stage from first/last order, number of purchase days (distinct order days, as in lifecycle_of) and (optionally) mean gap; NULL parameters take the settings';

-- Local dates need no time zone at all.
CREATE FUNCTION persona.lifecycle_stage(
    first_on date, last_on date, purchase_days bigint, as_of date,
    mean_gap_days float8 DEFAULT NULL,
    new_days integer DEFAULT NULL, mature_purchases integer DEFAULT NULL,
    decline_factor float8 DEFAULT NULL, churn_factor float8 DEFAULT NULL,
    min_days integer DEFAULT NULL, decline_days integer DEFAULT NULL, churn_days integer DEFAULT NULL)
RETURNS persona.lifecycle AS 'MODULE_PATHNAME', 'lifecycle_stage_dates'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.lifecycle_stage(date, date, bigint, date, float8, integer, integer, float8, float8, integer, integer, integer) IS
  'Lifecycle stage from the local dates of the first and last purchase, the number of purchase days and as_of (no time zone involved); NULL parameters take the settings';

------------------------------------------------------------------------
-- 3. AARRR funnel
------------------------------------------------------------------------

CREATE TYPE persona.funnel AS ENUM ('stranger', 'visitor', 'lead', 'customer', 'member', 'advocate');
COMMENT ON TYPE persona.funnel IS
  'AARRR funnel stage: stranger/visitor/lead/customer/member/advocate; label() gives the display name in persona.language';

CREATE FUNCTION persona.funnel_stage(visits bigint, signed_up boolean, orders bigint,
                                     is_member boolean, referrals bigint)
RETURNS persona.funnel AS 'MODULE_PATHNAME', 'funnel_stage'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.funnel_stage(bigint, boolean, bigint, boolean, bigint) IS
  'Highest funnel stage reached; NULL counts and flags count as 0 / false';

CREATE FUNCTION persona.funnel_counts_transfn(bigint[], persona.funnel) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'funnel_counts_transfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.funnel_counts_combinefn(bigint[], bigint[]) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'funnel_counts_combinefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.funnel_counts_transfn(bigint[], persona.funnel) IS 'transition function of persona.funnel_counts';
COMMENT ON FUNCTION persona.funnel_counts_combinefn(bigint[], bigint[]) IS 'combine function of persona.funnel_counts';
CREATE AGGREGATE persona.funnel_counts(stage persona.funnel) (
    SFUNC = persona.funnel_counts_transfn, STYPE = bigint[], INITCOND = '{0,0,0,0,0,0}',
    COMBINEFUNC = persona.funnel_counts_combinefn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.funnel_counts(persona.funnel) IS
  'Customers at each funnel stage, as bigint[6] in stage order (input of funnel_report)';

CREATE FUNCTION persona.funnel_counts_check(counts bigint[]) RETURNS bigint[]
AS 'MODULE_PATHNAME', 'funnel_counts_check' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.funnel_counts_check(bigint[]) IS
  'The counts if they are six non-negative numbers (one per funnel stage), else an error';

CREATE FUNCTION persona.funnel_report(counts bigint[])
RETURNS TABLE (stage persona.funnel, label text, customers bigint, reached bigint,
               reached_share double precision, conversion double precision)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT x.stage, persona.label(x.stage), x.customers, x.reached,
           x.reached::float8 / nullif(x.total, 0),
           x.reached::float8 / nullif(lag(x.reached) OVER (ORDER BY x.n), 0)
    FROM (SELECT s.stage, s.n, k.c[s.n] AS customers,
                 (sum(k.c[s.n]) OVER (ORDER BY s.n DESC))::bigint AS reached,
                 sum(k.c[s.n]) OVER () AS total
          FROM (SELECT persona.funnel_counts_check(counts) AS c) k,
               unnest(enum_range(NULL::persona.funnel)) WITH ORDINALITY AS s(stage, n)) x
    ORDER BY x.n;
END;
COMMENT ON FUNCTION persona.funnel_report(bigint[]) IS
  'Funnel table: customers at each stage, reached (at or beyond), share of all, conversion from the stage before';

------------------------------------------------------------------------
-- 3. Habits
------------------------------------------------------------------------

CREATE TYPE persona.daypart AS ENUM ('morning', 'lunch', 'afternoon', 'evening', 'night');
COMMENT ON TYPE persona.daypart IS
  'Part of the day: morning 05-11h, lunch 11-14h, afternoon 14-17h, evening 17-21h, night 21-05h; label() gives the display name in persona.language';

CREATE FUNCTION persona.daypart_of(t timestamptz) RETURNS persona.daypart
AS 'MODULE_PATHNAME', 'daypart_of' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.daypart_of(timestamptz) IS 'Daypart of a time in the session time zone';

CREATE TYPE persona.habits AS (
    orders              bigint,
    weekday_share       double precision,
    weekend_share       double precision,
    morning             double precision,
    lunch               double precision,
    afternoon           double precision,
    evening             double precision,
    night               double precision,
    daypart             persona.daypart,
    favourite_weekday   integer,
    favourite_hour      integer
);
COMMENT ON TYPE persona.habits IS
  'When a customer buys: weekday/weekend and daypart shares, favourite daypart, ISO weekday (1 = Monday) and hour';

CREATE FUNCTION persona.habits_transfn(internal, timestamptz) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION persona.habits_combinefn(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.habits_serialfn(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'habits_serialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.habits_deserialfn(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_deserialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.habits_finalfn(internal) RETURNS persona.habits
AS 'MODULE_PATHNAME', 'habits_finalfn' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.habits_transfn(internal, timestamptz) IS 'transition function of persona.habits';
COMMENT ON FUNCTION persona.habits_combinefn(internal, internal) IS 'combine function of persona.habits';
COMMENT ON FUNCTION persona.habits_serialfn(internal) IS 'serialisation function of persona.habits';
COMMENT ON FUNCTION persona.habits_deserialfn(bytea, internal) IS 'deserialisation function of persona.habits';
COMMENT ON FUNCTION persona.habits_finalfn(internal) IS 'final function of persona.habits';
CREATE AGGREGATE persona.habits(ordered_at timestamptz) (
    SFUNC = persona.habits_transfn, STYPE = internal, FINALFUNC = persona.habits_finalfn,
    COMBINEFUNC = persona.habits_combinefn, SERIALFUNC = persona.habits_serialfn,
    DESERIALFUNC = persona.habits_deserialfn, SSPACE = 128, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.habits(timestamptz) IS
  'Buying habits of a customer (weekday/weekend, dayparts, favourite weekday and hour) in the session time zone';

-- The same in a time zone given as a value.
CREATE FUNCTION persona.daypart_of(t timestamptz, time_zone text) RETURNS persona.daypart
AS 'MODULE_PATHNAME', 'daypart_of_zone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.daypart_of(timestamptz, text) IS 'Daypart of a time in time_zone';
CREATE FUNCTION persona.habits_zone_transfn(internal, timestamptz, text) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_zone_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.habits_zone_combinefn(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_zone_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.habits_zone_serialfn(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'habits_zone_serialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.habits_zone_deserialfn(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_zone_deserialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.habits_merge_transfn(internal, bytea) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_merge_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.habits_state_finalfn(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'habits_state_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.habits_zone_transfn(internal, timestamptz, text) IS 'transition function of persona.habits with a time zone and of persona.habits_state';
COMMENT ON FUNCTION persona.habits_zone_combinefn(internal, internal) IS 'combine function of persona.habits with a time zone, habits_state and habits_merge';
COMMENT ON FUNCTION persona.habits_zone_serialfn(internal) IS 'serialisation function of persona.habits with a time zone, habits_state and habits_merge';
COMMENT ON FUNCTION persona.habits_zone_deserialfn(bytea, internal) IS 'deserialisation function of persona.habits with a time zone, habits_state and habits_merge';
COMMENT ON FUNCTION persona.habits_merge_transfn(internal, bytea) IS 'transition function of persona.habits_merge';
COMMENT ON FUNCTION persona.habits_state_finalfn(internal) IS 'final function of persona.habits_state and persona.habits_merge';
CREATE AGGREGATE persona.habits(ordered_at timestamptz, time_zone text) (
    SFUNC = persona.habits_zone_transfn, STYPE = internal, FINALFUNC = persona.habits_finalfn,
    COMBINEFUNC = persona.habits_zone_combinefn, SERIALFUNC = persona.habits_zone_serialfn,
    DESERIALFUNC = persona.habits_zone_deserialfn, SSPACE = 192, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.habits(timestamptz, text) IS
  'Buying habits of a customer (weekday/weekend, dayparts, favourite weekday and hour) in time_zone';
CREATE AGGREGATE persona.habits_state(ordered_at timestamptz, time_zone text) (
    SFUNC = persona.habits_zone_transfn, STYPE = internal, FINALFUNC = persona.habits_state_finalfn,
    COMBINEFUNC = persona.habits_zone_combinefn, SERIALFUNC = persona.habits_zone_serialfn,
    DESERIALFUNC = persona.habits_zone_deserialfn, SSPACE = 192, PARALLEL = SAFE);
CREATE AGGREGATE persona.habits_merge(state bytea) (
    SFUNC = persona.habits_merge_transfn, STYPE = internal, FINALFUNC = persona.habits_state_finalfn,
    COMBINEFUNC = persona.habits_zone_combinefn, SERIALFUNC = persona.habits_zone_serialfn,
    DESERIALFUNC = persona.habits_zone_deserialfn, SSPACE = 192, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.habits_state(timestamptz, text) IS
  'A customer''s habits state (order counts by weekday and hour in time_zone) as bytea; merge with habits_merge, finish with habits_of';
COMMENT ON AGGREGATE persona.habits_merge(bytea) IS
  'Merge habits states of one customer (NULLs skipped) into one state';
CREATE FUNCTION persona.habits_merge(a bytea, b bytea) RETURNS bytea
AS 'MODULE_PATHNAME', 'habits_merge_pair' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.habits_merge(bytea, bytea) IS
  'Merge two habits states of one customer into one, as the aggregate over both gives it (a NULL side is skipped; NULL when both are)';
CREATE FUNCTION persona.habits_of(state bytea) RETURNS persona.habits
AS 'MODULE_PATHNAME', 'habits_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.habits_of(bytea) IS 'The habits of a habits state';

-- persona.time_zone: a zone name as a value of its own, not collatable
-- type.  postgres_fdw ships an aggregate to a shard only when each of its
-- collatable inputs is a column of the foreign table, so the text overloads
-- above run on the coordinator over every fetched row; these run whole on
-- the shards (README, Running on more than one machine).  Same C functions:
-- the value is the name's bytes, as in text.
CREATE TYPE persona.time_zone;
CREATE FUNCTION persona.time_zone_in(cstring) RETURNS persona.time_zone
AS 'MODULE_PATHNAME', 'time_zone_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.time_zone_in(cstring) IS 'input function of persona.time_zone (22023 for a name persona does not take)';
CREATE FUNCTION persona.time_zone_out(persona.time_zone) RETURNS cstring
AS 'MODULE_PATHNAME', 'time_zone_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.time_zone_out(persona.time_zone) IS 'output function of persona.time_zone';
CREATE FUNCTION persona.time_zone_recv(internal) RETURNS persona.time_zone
AS 'MODULE_PATHNAME', 'time_zone_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.time_zone_recv(internal) IS 'binary input function of persona.time_zone';
CREATE FUNCTION persona.time_zone_send(persona.time_zone) RETURNS bytea
AS 'MODULE_PATHNAME', 'time_zone_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.time_zone_send(persona.time_zone) IS 'binary output function of persona.time_zone';
CREATE TYPE persona.time_zone (
    INPUT = persona.time_zone_in, OUTPUT = persona.time_zone_out,
    RECEIVE = persona.time_zone_recv, SEND = persona.time_zone_send,
    INTERNALLENGTH = VARIABLE, STORAGE = extended);
COMMENT ON TYPE persona.time_zone IS
  'A time zone name (IANA such as Asia/Shanghai, or POSIX) checked on input; not collatable, so the aggregates taking it are pushed down to postgres_fdw shards';
CREATE CAST (text AS persona.time_zone) WITH INOUT AS ASSIGNMENT;
CREATE CAST (persona.time_zone AS text) WITHOUT FUNCTION AS ASSIGNMENT;
COMMENT ON CAST (text AS persona.time_zone) IS 'a zone name, checked as the type''s input checks it';
COMMENT ON CAST (persona.time_zone AS text) IS 'the zone''s name';

CREATE FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric, timestamptz, persona.time_zone)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_transfn(internal, timestamptz, numeric, timestamptz, persona.time_zone) IS 'transition function of persona.order_stats with a persona.time_zone';
CREATE AGGREGATE persona.order_stats(ordered_at timestamptz, amount numeric, as_of timestamptz, time_zone persona.time_zone) (
    SFUNC = persona.order_stats_transfn, STYPE = internal, FINALFUNC = persona.order_stats_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn, SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn, SSPACE = 280, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.order_stats(timestamptz, numeric, timestamptz, persona.time_zone) IS
  'Per-customer order statistics as of a day, calendar days in time_zone; runs whole on postgres_fdw shards';
CREATE FUNCTION persona.order_stats_state_transfn(internal, timestamptz, numeric, persona.time_zone)
RETURNS internal AS 'MODULE_PATHNAME', 'order_stats_state_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_state_transfn(internal, timestamptz, numeric, persona.time_zone) IS 'transition function of persona.order_stats_state with a persona.time_zone';
CREATE AGGREGATE persona.order_stats_state(ordered_at timestamptz, amount numeric, time_zone persona.time_zone) (
    SFUNC = persona.order_stats_state_transfn, STYPE = internal, FINALFUNC = persona.order_stats_state_finalfn,
    COMBINEFUNC = persona.order_stats_combinefn, SERIALFUNC = persona.order_stats_serialfn,
    DESERIALFUNC = persona.order_stats_deserialfn, SSPACE = 280, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.order_stats_state(timestamptz, numeric, persona.time_zone) IS
  'A customer''s order_stats state as bytea, calendar days in time_zone; runs whole on postgres_fdw shards';
CREATE FUNCTION persona.habits_zone_transfn(internal, timestamptz, persona.time_zone) RETURNS internal
AS 'MODULE_PATHNAME', 'habits_zone_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.habits_zone_transfn(internal, timestamptz, persona.time_zone) IS 'transition function of persona.habits and persona.habits_state with a persona.time_zone';
CREATE AGGREGATE persona.habits(ordered_at timestamptz, time_zone persona.time_zone) (
    SFUNC = persona.habits_zone_transfn, STYPE = internal, FINALFUNC = persona.habits_finalfn,
    COMBINEFUNC = persona.habits_zone_combinefn, SERIALFUNC = persona.habits_zone_serialfn,
    DESERIALFUNC = persona.habits_zone_deserialfn, SSPACE = 192, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.habits(timestamptz, persona.time_zone) IS
  'Buying habits of a customer in time_zone; runs whole on postgres_fdw shards';
CREATE AGGREGATE persona.habits_state(ordered_at timestamptz, time_zone persona.time_zone) (
    SFUNC = persona.habits_zone_transfn, STYPE = internal, FINALFUNC = persona.habits_state_finalfn,
    COMBINEFUNC = persona.habits_zone_combinefn, SERIALFUNC = persona.habits_zone_serialfn,
    DESERIALFUNC = persona.habits_zone_deserialfn, SSPACE = 192, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.habits_state(timestamptz, persona.time_zone) IS
  'A customer''s habits state as bytea, in time_zone; runs whole on postgres_fdw shards';
CREATE FUNCTION persona.daypart_of(t timestamptz, time_zone persona.time_zone) RETURNS persona.daypart
AS 'MODULE_PATHNAME', 'daypart_of_zone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.daypart_of(timestamptz, persona.time_zone) IS 'Daypart of a time in time_zone (shippable to postgres_fdw shards)';

------------------------------------------------------------------------
-- 3. Frequency trend
------------------------------------------------------------------------

CREATE TYPE persona.frequency_trend AS (
    recent_orders   bigint,
    previous_orders bigint,
    change          double precision,
    falling         boolean
);
COMMENT ON TYPE persona.frequency_trend IS
  'Orders in the recent window and the one before, relative change, and whether frequency is falling';

CREATE FUNCTION persona.trend_transfn(internal, timestamptz, timestamptz, interval) RETURNS internal
AS 'MODULE_PATHNAME', 'trend_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION persona.trend_transfn(internal, timestamptz, timestamptz, interval, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'trend_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION persona.trend_combinefn(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'trend_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.trend_serialfn(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'trend_serialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.trend_deserialfn(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'trend_deserialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.trend_finalfn(internal) RETURNS persona.frequency_trend
AS 'MODULE_PATHNAME', 'trend_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.trend_transfn(internal, timestamptz, timestamptz, interval) IS 'transition function of persona.frequency_trend';
COMMENT ON FUNCTION persona.trend_transfn(internal, timestamptz, timestamptz, interval, float8) IS 'transition function of persona.frequency_trend';
COMMENT ON FUNCTION persona.trend_combinefn(internal, internal) IS 'combine function of persona.frequency_trend';
COMMENT ON FUNCTION persona.trend_serialfn(internal) IS 'serialisation function of persona.frequency_trend';
COMMENT ON FUNCTION persona.trend_deserialfn(bytea, internal) IS 'deserialisation function of persona.frequency_trend';
COMMENT ON FUNCTION persona.trend_finalfn(internal) IS 'final function of persona.frequency_trend';
CREATE AGGREGATE persona.frequency_trend(ordered_at timestamptz, as_of timestamptz, window_length interval) (
    SFUNC = persona.trend_transfn, STYPE = internal, FINALFUNC = persona.trend_finalfn,
    COMBINEFUNC = persona.trend_combinefn, SERIALFUNC = persona.trend_serialfn,
    DESERIALFUNC = persona.trend_deserialfn, SSPACE = 88, PARALLEL = SAFE);
CREATE AGGREGATE persona.frequency_trend(ordered_at timestamptz, as_of timestamptz, window_length interval, ratio float8) (
    SFUNC = persona.trend_transfn, STYPE = internal, FINALFUNC = persona.trend_finalfn,
    COMBINEFUNC = persona.trend_combinefn, SERIALFUNC = persona.trend_serialfn,
    DESERIALFUNC = persona.trend_deserialfn, SSPACE = 88, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.frequency_trend(timestamptz, timestamptz, interval) IS
  'Orders in (as_of - window, as_of] against the window before; falling when at most half as many (and >= 2 before)';
COMMENT ON AGGREGATE persona.frequency_trend(timestamptz, timestamptz, interval, float8) IS
  'Frequency trend with a chosen ratio: falling when recent <= ratio * previous (and previous >= 2)';

------------------------------------------------------------------------
-- 3. Quantisation and value tiers
------------------------------------------------------------------------

CREATE FUNCTION persona.bucket(value float8, breaks float8[], labels text[]) RETURNS text
AS 'MODULE_PATHNAME', 'bucket_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.bucket(float8, float8[], text[]) IS
  'Label of the bucket holding value; breaks are inclusive upper bounds, strictly ascending, one fewer than labels';
CREATE FUNCTION persona.bucket(value numeric, breaks numeric[], labels text[]) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN persona.bucket(value::float8, breaks::float8[], labels);
COMMENT ON FUNCTION persona.bucket(numeric, numeric[], text[]) IS
  'Label of the bucket holding value (numeric form); breaks are inclusive upper bounds';

CREATE FUNCTION persona.purchase_count_bucket(orders bigint) RETURNS text
AS 'MODULE_PATHNAME', 'purchase_count_bucket' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.purchase_count_bucket(bigint) IS
  'Purchase frequency bucket 1-2 / 3-5 / more than 5, in persona.language; NULL for no orders';

CREATE FUNCTION persona.price_sensitivity(promotion_uses bigint) RETURNS text
AS 'MODULE_PATHNAME', 'price_sensitivity' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.price_sensitivity(bigint) IS
  'Price sensitivity from promotion uses in 6 months: <= 2 low, 3-4 medium, >= 5 high, in persona.language';

CREATE FUNCTION persona.ltv_bucket(value numeric) RETURNS text
AS 'MODULE_PATHNAME', 'ltv_bucket' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.ltv_bucket(numeric) IS
  'Lifetime value bucket: 0-500 low, 500-2000 medium, over 2000 high, in persona.language';

CREATE TYPE persona.value_tier AS ENUM ('regular', 'gold', 'diamond');
COMMENT ON TYPE persona.value_tier IS 'Value tier: regular/gold/diamond; label() gives the display name in persona.language';

CREATE FUNCTION persona.value_tier(value float8, gold_min float8, diamond_min float8) RETURNS persona.value_tier
AS 'MODULE_PATHNAME', 'value_tier' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.value_tier(float8, float8, float8) IS
  'Value tier: diamond from diamond_min, gold from gold_min, else regular (e.g. revenue against its 95th/80th percentiles)';

------------------------------------------------------------------------
-- 4. Tags: the tagquery type, @@ and a GIN operator class
------------------------------------------------------------------------

CREATE TYPE persona.tagquery;
CREATE FUNCTION persona.tagquery_in(cstring) RETURNS persona.tagquery
AS 'MODULE_PATHNAME', 'tagquery_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.tagquery_out(persona.tagquery) RETURNS cstring
AS 'MODULE_PATHNAME', 'tagquery_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.tagquery_recv(internal) RETURNS persona.tagquery
AS 'MODULE_PATHNAME', 'tagquery_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.tagquery_send(persona.tagquery) RETURNS bytea
AS 'MODULE_PATHNAME', 'tagquery_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE persona.tagquery (
    INPUT = persona.tagquery_in,
    OUTPUT = persona.tagquery_out,
    RECEIVE = persona.tagquery_recv,
    SEND = persona.tagquery_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = extended
);
COMMENT ON TYPE persona.tagquery IS
  'Boolean query over tags: & (and), | (or), ! (not), parentheses, quoted tags; e.g. ''parenting & (vip | !churn_risk)''';
COMMENT ON FUNCTION persona.tagquery_in(cstring) IS 'input function of persona.tagquery';
COMMENT ON FUNCTION persona.tagquery_out(persona.tagquery) IS 'output function of persona.tagquery';
COMMENT ON FUNCTION persona.tagquery_recv(internal) IS 'binary input function of persona.tagquery';
COMMENT ON FUNCTION persona.tagquery_send(persona.tagquery) IS 'binary output function of persona.tagquery';

CREATE FUNCTION persona.tag_match(tags text[], query persona.tagquery) RETURNS boolean
AS 'MODULE_PATHNAME', 'tag_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.tag_match(text[], persona.tagquery) IS
  'Whether a set of tags satisfies a tagquery (NULL elements are not tags)';
CREATE FUNCTION persona.tag_match_commutator(query persona.tagquery, tags text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'tag_match_commutator' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.tag_match_commutator(persona.tagquery, text[]) IS
  'Whether a set of tags satisfies a tagquery (query first)';

CREATE OPERATOR persona.@@ (
    LEFTARG = text[], RIGHTARG = persona.tagquery, PROCEDURE = persona.tag_match,
    COMMUTATOR = OPERATOR(persona.~~), RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR persona.~~ (
    LEFTARG = persona.tagquery, RIGHTARG = text[], PROCEDURE = persona.tag_match_commutator,
    COMMUTATOR = OPERATOR(persona.@@), RESTRICT = contsel, JOIN = contjoinsel);
COMMENT ON OPERATOR persona.@@ (text[], persona.tagquery) IS 'tags match the tagquery';
COMMENT ON OPERATOR persona.~~ (persona.tagquery, text[]) IS 'tagquery matches the tags';

-- String parameters: JDBC's setString binds varchar, other drivers text, so
-- tags @@ $1 has a text or varchar argument.  Implicit I/O casts to
-- tagquery let it resolve to this operator (a bad string is the tagquery
-- input error), and the GIN index still answers it, since the cast of a
-- parameter is a constant for the planner.  The only other operator of
-- tagquery is ~~, whose text[] right argument keeps it apart from LIKE.
-- (An operator @@(text[], text) in the opclass was the alternative: it
-- would duplicate @@ for one argument type and not cover varchar.)
CREATE CAST (text AS persona.tagquery) WITH INOUT AS IMPLICIT;
CREATE CAST (varchar AS persona.tagquery) WITH INOUT AS IMPLICIT;
COMMENT ON CAST (text AS persona.tagquery) IS
  'parse a text value as a tagquery (implicit, so tags @@ $1 takes a text parameter)';
COMMENT ON CAST (varchar AS persona.tagquery) IS
  'parse a varchar value as a tagquery (implicit, so tags @@ ? takes a JDBC setString parameter)';

CREATE FUNCTION persona.gin_tag_extract_query(text[], internal, int2, internal, internal, internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'gin_tag_extract_query' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.gin_tag_consistent(internal, int2, text[], int4, internal, internal, internal, internal)
RETURNS boolean AS 'MODULE_PATHNAME', 'gin_tag_consistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.gin_tag_extract_query(text[], internal, int2, internal, internal, internal, internal) IS
  'GIN support: keys of a query on text[] (array operators or a tagquery)';
COMMENT ON FUNCTION persona.gin_tag_consistent(internal, int2, text[], int4, internal, internal, internal, internal) IS
  'GIN support: whether an item with these keys satisfies the query';
CREATE FUNCTION persona.gin_tag_triconsistent(internal, int2, text[], int4, internal, internal, internal)
RETURNS "char" AS 'MODULE_PATHNAME', 'gin_tag_triconsistent' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.gin_tag_triconsistent(internal, int2, text[], int4, internal, internal, internal) IS
  'GIN support: three-valued consistent, so GIN can skip items lacking a required key';

CREATE OPERATOR CLASS persona.gin_tag_ops FOR TYPE text[] USING gin AS
    OPERATOR 1 pg_catalog.&& (anyarray, anyarray),
    OPERATOR 2 pg_catalog.@> (anyarray, anyarray),
    OPERATOR 3 pg_catalog.<@ (anyarray, anyarray),
    OPERATOR 4 pg_catalog.= (anyarray, anyarray),
    OPERATOR 20 persona.@@ (text[], persona.tagquery),
    FUNCTION 1 pg_catalog.bttextcmp(text, text),
    FUNCTION 2 pg_catalog.ginarrayextract(anyarray, internal, internal),
    FUNCTION 3 persona.gin_tag_extract_query(text[], internal, int2, internal, internal, internal, internal),
    FUNCTION 4 persona.gin_tag_consistent(internal, int2, text[], int4, internal, internal, internal, internal),
    FUNCTION 6 persona.gin_tag_triconsistent(internal, int2, text[], int4, internal, internal, internal),
    STORAGE text;
COMMENT ON OPERATOR CLASS persona.gin_tag_ops USING gin IS
  'GIN index on text[] tags answering @@ tagquery as well as &&, @>, <@ and =';

------------------------------------------------------------------------
-- 4. Tag rules as data
------------------------------------------------------------------------

CREATE TYPE persona.tag_layer AS ENUM ('basic', 'behavior', 'preference', 'value', 'predictive');
COMMENT ON TYPE persona.tag_layer IS 'Tag layer: basic/behavior/preference/value/predictive; label() gives the display name in persona.language';

CREATE FUNCTION persona.check_tag_rule(source regclass, rule_sql text) RETURNS void
AS 'MODULE_PATHNAME', 'check_tag_rule' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION persona.check_tag_rule(regclass, text) IS
  'Error unless rule_sql is one boolean expression over the columns of source (checked as the caller)';

CREATE TABLE persona.tag_rules (
    source      regclass          NOT NULL,
    tag         text              NOT NULL CHECK (tag <> ''),
    layer       persona.tag_layer NOT NULL,
    rule_sql    text              NOT NULL,
    description text,
    enabled     boolean           NOT NULL DEFAULT true,
    PRIMARY KEY (source, tag)
);
-- Rules whose relation is gone (or was temporary) are left out of dumps: their
-- source would restore as a bare OID naming nothing, or something else.
SELECT pg_catalog.pg_extension_config_dump('persona.tag_rules',
  'WHERE source OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relpersistence OPERATOR(pg_catalog.<>) ''t''))');
GRANT SELECT ON persona.tag_rules TO PUBLIC;
COMMENT ON TABLE persona.tag_rules IS
  'Tag rules: a tag is given to every row of source (a profile relation, one row per customer) where rule_sql is true';
COMMENT ON COLUMN persona.tag_rules.source IS 'the profile table or view the rule reads';
COMMENT ON COLUMN persona.tag_rules.rule_sql IS 'one boolean SQL expression over the columns of source';
COMMENT ON COLUMN persona.tag_rules.layer IS 'basic/behavior/preference/value/predictive';

CREATE FUNCTION persona.tag_rules_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (NEW.source, NEW.rule_sql) IS DISTINCT FROM (OLD.source, OLD.rule_sql) THEN PERFORM persona.check_tag_rule(NEW.source, NEW.rule_sql);
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION persona.tag_rules_check() IS 'Trigger: reject tag rules that do not parse, are not boolean, reference missing columns or a missing relation';
-- Changing only the layer, description or enabled flag is not checked, so a
-- rule whose relation was dropped can still be disabled (or deleted).
CREATE TRIGGER tag_rules_check BEFORE INSERT OR UPDATE ON persona.tag_rules
    FOR EACH ROW EXECUTE FUNCTION persona.tag_rules_check();

CREATE FUNCTION persona.build_tag_view(view_name text, source regclass, key_col text DEFAULT 'customer_id')
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

CREATE FUNCTION persona.starter_tag_rules(source regclass) RETURNS integer
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
COMMENT ON FUNCTION persona.starter_tag_rules(regclass) IS
  'Insert the seed articles'' example tags for source, skipping those whose columns source lacks; returns how many';

------------------------------------------------------------------------
-- 4. Tag combinations and affinity
------------------------------------------------------------------------

CREATE TYPE persona.tag_pair AS (
    antecedent  text,
    consequent  text,
    customers   bigint,
    support     double precision,
    confidence  double precision,
    lift        double precision
);
COMMENT ON TYPE persona.tag_pair IS
  'Affinity of two tags: customers with both, support (share with both), confidence (share of antecedent holders with the consequent), lift';

-- tag_affinity's state as a real type (tags with their customers, pair
-- counts), so that Citus combines partial states from its workers.
CREATE TYPE persona.affinity_state;
CREATE FUNCTION persona.affinity_state_in(cstring) RETURNS persona.affinity_state
AS 'MODULE_PATHNAME', 'affinity_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.affinity_state_out(persona.affinity_state) RETURNS cstring
AS 'MODULE_PATHNAME', 'affinity_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.affinity_state_recv(internal) RETURNS persona.affinity_state
AS 'MODULE_PATHNAME', 'affinity_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.affinity_state_send(persona.affinity_state) RETURNS bytea
AS 'MODULE_PATHNAME', 'affinity_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE persona.affinity_state (
    INPUT = persona.affinity_state_in, OUTPUT = persona.affinity_state_out,
    RECEIVE = persona.affinity_state_recv, SEND = persona.affinity_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE persona.affinity_state IS
  'State of persona.tag_affinity: {min_support, customers, tags, then each tag and its customers, pairs, then i, j, customers with both per pair (tag numbers from 1, i < j)}';
COMMENT ON FUNCTION persona.affinity_state_in(cstring) IS 'input function of persona.affinity_state';
COMMENT ON FUNCTION persona.affinity_state_out(persona.affinity_state) IS 'output function of persona.affinity_state';
COMMENT ON FUNCTION persona.affinity_state_recv(internal) IS 'binary input function of persona.affinity_state';
COMMENT ON FUNCTION persona.affinity_state_send(persona.affinity_state) IS 'binary output function of persona.affinity_state';

CREATE FUNCTION persona.affinity_transfn(persona.affinity_state, text[]) RETURNS persona.affinity_state
AS 'MODULE_PATHNAME', 'affinity_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.affinity_transfn(persona.affinity_state, text[], float8) RETURNS persona.affinity_state
AS 'MODULE_PATHNAME', 'affinity_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.affinity_combinefn(persona.affinity_state, persona.affinity_state) RETURNS persona.affinity_state
AS 'MODULE_PATHNAME', 'affinity_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.affinity_finalfn(persona.affinity_state) RETURNS persona.tag_pair[]
AS 'MODULE_PATHNAME', 'affinity_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.affinity_transfn(persona.affinity_state, text[]) IS 'transition function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_transfn(persona.affinity_state, text[], float8) IS 'transition function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_combinefn(persona.affinity_state, persona.affinity_state) IS 'combine function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_finalfn(persona.affinity_state) IS 'final function of persona.tag_affinity';

CREATE AGGREGATE persona.tag_affinity(tags text[]) (
    SFUNC = persona.affinity_transfn, STYPE = persona.affinity_state, FINALFUNC = persona.affinity_finalfn,
    COMBINEFUNC = persona.affinity_combinefn, SSPACE = 3200, PARALLEL = SAFE);
CREATE AGGREGATE persona.tag_affinity(tags text[], min_support float8) (
    SFUNC = persona.affinity_transfn, STYPE = persona.affinity_state, FINALFUNC = persona.affinity_finalfn,
    COMBINEFUNC = persona.affinity_combinefn, SSPACE = 3200, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.tag_affinity(text[]) IS
  'Support, confidence and lift of every pair of tags with support >= 1% (one tag set per customer)';
COMMENT ON AGGREGATE persona.tag_affinity(text[], float8) IS
  'Support, confidence and lift of every pair of tags with support >= min_support';

CREATE FUNCTION persona.tag_set(tags text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT DISTINCT t FROM unnest(tags) t WHERE t IS NOT NULL ORDER BY t);
COMMENT ON FUNCTION persona.tag_set(text[]) IS
  'Sorted distinct tags without NULLs: group by it to count tag combinations';

------------------------------------------------------------------------
-- Privacy masks
------------------------------------------------------------------------

-- Each * stands for one character; the masks never raise (README, Privacy masks).
CREATE FUNCTION persona.mask_phone(phone text) RETURNS text
AS 'MODULE_PATHNAME', 'mask_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.mask_phone(text) IS
  'Masked phone number: a Chinese mobile keeps its first 3 and last 4 digits (138****5678), others the country code and last 4 digits; separators kept';
CREATE FUNCTION persona.mask_name(name text) RETURNS text
AS 'MODULE_PATHNAME', 'mask_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.mask_name(text) IS
  'Masked person name: a CJK name keeps its first character, other names the first letter of each word (J*** S****)';
CREATE FUNCTION persona.mask_email(email text) RETURNS text
AS 'MODULE_PATHNAME', 'mask_email' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.mask_email(text) IS
  'Masked e-mail address: the domain is kept, the local part keeps its first character (and its last from 5 characters)';
CREATE FUNCTION persona.mask_id(id text) RETURNS text
AS 'MODULE_PATHNAME', 'mask_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.mask_id(text) IS
  'Masked identity number: an 18-character resident id keeps its first 6 and last 4, a 15-digit one 6 and 3, other ids of 7 or more characters their first character and last 2';

------------------------------------------------------------------------
-- Data quality
------------------------------------------------------------------------

CREATE FUNCTION persona.data_quality(
    orders       regclass,
    customer_col text        DEFAULT 'customer_id',
    time_col     text        DEFAULT 'ordered_at',
    amount_col   text        DEFAULT 'amount',
    order_col    text        DEFAULT NULL,
    time_zone    text        DEFAULT NULL,
    as_of        timestamptz DEFAULT NULL,
    language     text        DEFAULT NULL)
RETURNS TABLE (check_name text, label text, rows bigint, share double precision, treatment text)
AS 'MODULE_PATHNAME', 'data_quality'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 15;
COMMENT ON FUNCTION persona.data_quality(regclass, text, text, text, text, text, timestamptz, text) IS
  'Data quality of an orders table: duplicates, missing values, refunds, future and date-only times, amount outliers, one-time buyers; counts, shares and how persona treats each';

------------------------------------------------------------------------
-- 6. Predictive value: BG/NBD, Pareto/NBD, Gamma-Gamma, CLV, holdout
------------------------------------------------------------------------

CREATE TYPE persona.bgnbd AS (
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
    status          text,
    unit        text
);
COMMENT ON COLUMN persona.bgnbd.unit IS
  'Time unit of the summaries it was fitted on (days, weeks, months); NULL when fitted on plain numbers';
COMMENT ON TYPE persona.bgnbd IS
  'A fitted BG/NBD model (Fader, Hardie & Lee 2005): purchase rate gamma(r, alpha), dropout beta(a, b), log-likelihood';
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

-- The fit aggregates' state as a real type: distinct rows with summed
-- weights.  Its text form re-reads exactly, so Citus combines partial fits
-- from its workers instead of gathering every customer's row.
CREATE TYPE persona.fit_state;
CREATE FUNCTION persona.fit_state_in(cstring) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'fit_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.fit_state_out(persona.fit_state) RETURNS cstring
AS 'MODULE_PATHNAME', 'fit_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.fit_state_recv(internal) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'fit_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.fit_state_send(persona.fit_state) RETURNS bytea
AS 'MODULE_PATHNAME', 'fit_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE persona.fit_state (
    INPUT = persona.fit_state_in, OUTPUT = persona.fit_state_out,
    RECEIVE = persona.fit_state_recv, SEND = persona.fit_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE persona.fit_state IS
  'State of the model fit aggregates: {kind, rows read, rows skipped, has penalty, penalty, unit days, start parameters given, 4 start parameters, distinct rows, then k1, k2, k3, weight per row}';
COMMENT ON FUNCTION persona.fit_state_in(cstring) IS 'input function of persona.fit_state';
COMMENT ON FUNCTION persona.fit_state_out(persona.fit_state) IS 'output function of persona.fit_state';
COMMENT ON FUNCTION persona.fit_state_recv(internal) IS 'binary input function of persona.fit_state';
COMMENT ON FUNCTION persona.fit_state_send(persona.fit_state) IS 'binary output function of persona.fit_state';

-- The fit aggregates share one state: distinct input rows with summed weights.
CREATE FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.fit_combinefn(persona.fit_state, persona.fit_state) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'fit_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgnbd_finalfn(persona.fit_state) RETURNS persona.bgnbd
AS 'MODULE_PATHNAME', 'bgnbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.fit_combinefn(persona.fit_state, persona.fit_state) IS 'combine function of the model fit aggregates';
COMMENT ON FUNCTION persona.bgnbd_finalfn(persona.fit_state) IS 'final function of persona.bgnbd_fit';
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8) IS
  'Maximum-likelihood BG/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood BG/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8, float8) IS
  'BG/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
-- Fits on persona.btyd_summary rows record the summaries' time unit in the model.
CREATE FUNCTION persona.btyd_fit_summary_transfn(persona.fit_state, persona.btyd_summary) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_summary_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_summary_transfn(persona.fit_state, persona.btyd_summary, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_summary_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_summary_transfn(persona.fit_state, persona.btyd_summary, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_summary_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_summary_transfn(persona.fit_state, persona.btyd_summary) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit over summaries';
COMMENT ON FUNCTION persona.btyd_fit_summary_transfn(persona.fit_state, persona.btyd_summary, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit over summaries';
COMMENT ON FUNCTION persona.btyd_fit_summary_transfn(persona.fit_state, persona.btyd_summary, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit over summaries';
CREATE AGGREGATE persona.bgnbd_fit(summary persona.btyd_summary) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(summary persona.btyd_summary, weight float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(summary persona.btyd_summary, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
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

CREATE FUNCTION persona.p_alive(model persona.bgnbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.bgnbd, float8, float8, float8) IS
  'Probability that a customer with this history is still active under a BG/NBD model';
CREATE FUNCTION persona.expected_purchases(model persona.bgnbd, t float8, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgnbd, float8, float8, float8, float8) IS
  'Expected purchases in the next t periods given the customer''s history (BG/NBD)';
CREATE FUNCTION persona.expected_purchases(model persona.bgnbd, t float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgnbd, float8) IS
  'Expected purchases in the first t periods of a newly acquired customer, E[X(t)] (BG/NBD)';
CREATE FUNCTION persona.bgnbd_loglik(model persona.bgnbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgnbd_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgnbd_loglik(persona.bgnbd, float8, float8, float8) IS
  'One customer''s BG/NBD log-likelihood under the model''s parameters (sum it to compare models)';

CREATE TYPE persona.pareto_nbd AS (
    r           double precision,
    alpha       double precision,
    s           double precision,
    beta        double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean,
    se_r            double precision,
    se_alpha        double precision,
    se_s            double precision,
    se_beta         double precision,
    se_log_r        double precision,
    se_log_alpha    double precision,
    se_log_s        double precision,
    se_log_beta     double precision,
    identified      boolean,
    status          text,
    unit        text
);
COMMENT ON COLUMN persona.pareto_nbd.unit IS
  'Time unit of the summaries it was fitted on (days, weeks, months); NULL when fitted on plain numbers';
COMMENT ON TYPE persona.pareto_nbd IS
  'A fitted Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): purchase rate gamma(r, alpha), dropout rate gamma(s, beta), log-likelihood';
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
CREATE FUNCTION persona.pareto_nbd_finalfn(persona.fit_state) RETURNS persona.pareto_nbd
AS 'MODULE_PATHNAME', 'pareto_nbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.pareto_nbd_finalfn(persona.fit_state) IS 'final function of persona.pareto_nbd_fit';
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8) IS
  'Maximum-likelihood Pareto/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood Pareto/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8, float8, float8) IS
  'Pareto/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE AGGREGATE persona.pareto_nbd_fit(summary persona.btyd_summary) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(summary persona.btyd_summary, weight float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(summary persona.btyd_summary, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
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
    converged   boolean,
    se_p            double precision,
    se_q            double precision,
    se_v            double precision,
    se_log_p        double precision,
    se_log_q        double precision,
    se_log_v        double precision,
    identified      boolean,
    status          text
);
COMMENT ON TYPE persona.gamma_gamma IS
  'A fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005): transaction value gamma(p, nu), nu ~ gamma(q, v) across customers';
COMMENT ON COLUMN persona.gamma_gamma.se_p IS 'standard error of p (delta method from se_log_p); NULL when the information is singular or p is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_q IS 'standard error of q (delta method from se_log_q); NULL when the information is singular or q is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_v IS 'standard error of v (delta method from se_log_v); NULL when the information is singular or v is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_log_p IS 'standard error of ln(p) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.se_log_q IS 'standard error of ln(q) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.se_log_v IS 'standard error of ln(v) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.gamma_gamma.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';
CREATE FUNCTION persona.gamma_gamma_transfn(persona.fit_state, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'gamma_gamma_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.gamma_gamma_transfn(persona.fit_state, float8, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'gamma_gamma_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.gamma_gamma_finalfn(persona.fit_state) RETURNS persona.gamma_gamma
AS 'MODULE_PATHNAME', 'gamma_gamma_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.gamma_gamma_transfn(persona.fit_state, float8, float8) IS 'transition function of persona.gamma_gamma_fit';
COMMENT ON FUNCTION persona.gamma_gamma_transfn(persona.fit_state, float8, float8, float8) IS 'transition function of persona.gamma_gamma_fit';
COMMENT ON FUNCTION persona.gamma_gamma_finalfn(persona.fit_state) IS 'final function of persona.gamma_gamma_fit';
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = persona.fit_state, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8, penalty float8) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = persona.fit_state, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
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

CREATE FUNCTION persona.clv(model persona.bgnbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text DEFAULT NULL,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'bgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.bgnbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: BG/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days, weeks, months; NULL: the model''s; another than the model''s: 22023)';
CREATE FUNCTION persona.clv(model persona.pareto_nbd, spend persona.gamma_gamma,
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
    status          text,
    unit        text
);
COMMENT ON COLUMN persona.mbgnbd.unit IS
  'Time unit of the summaries it was fitted on (days, weeks, months); NULL when fitted on plain numbers';
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
CREATE FUNCTION persona.mbgnbd_finalfn(persona.fit_state) RETURNS persona.mbgnbd
AS 'MODULE_PATHNAME', 'mbgnbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.mbgnbd_finalfn(persona.fit_state) IS 'final function of persona.mbgnbd_fit';
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8) IS
  'Maximum-likelihood MBG/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood MBG/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8, float8, float8) IS
  'MBG/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE AGGREGATE persona.mbgnbd_fit(summary persona.btyd_summary) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(summary persona.btyd_summary, weight float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(summary persona.btyd_summary, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
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
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text DEFAULT NULL,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'mbgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.mbgnbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: MBG/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days, weeks, months; NULL: the model''s; another than the model''s: 22023)';
CREATE FUNCTION persona.clv(model persona.mbgnbd, spend persona.gamma_gamma, summary persona.btyd_summary,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'mbgnbd_clv_summary' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.mbgnbd, persona.gamma_gamma, persona.btyd_summary, integer, float8) IS
  'Customer lifetime value of a customer''s summary over the next months (MBG/NBD and Gamma-Gamma); the summary''s unit must be the model''s';
CREATE FUNCTION persona.simulate_mbgnbd(r float8, alpha float8, a float8, b float8,
                                        customers integer, period float8, seed bigint DEFAULT 0,
                                        holdout float8 DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_mbgnbd' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_mbgnbd(float8, float8, float8, float8, integer, float8, bigint, float8) IS
  'Customers simulated from MBG/NBD parameters (seeded): repeat purchases over period, and over the holdout after it';

-- NBD (Ehrenberg 1959; BTYDplus nbd.*): purchases a Poisson process with
-- a gamma(r, alpha) rate and no dropout, the limit of BG/NBD, MBG/NBD and
-- Pareto/NBD without dropout.  Same inputs and state as bgnbd_fit (t_x is
-- checked but does not enter the likelihood).
CREATE TYPE persona.nbd AS (
    r           double precision,
    alpha       double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean,
    se_r            double precision,
    se_alpha        double precision,
    se_log_r        double precision,
    se_log_alpha    double precision,
    identified      boolean,
    status          text,
    unit        text
);
COMMENT ON TYPE persona.nbd IS
  'A fitted NBD model (Ehrenberg 1959): purchase rate gamma(r, alpha), no dropout; the limit of BG/NBD, MBG/NBD and Pareto/NBD without dropout';
COMMENT ON COLUMN persona.nbd.r IS 'shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN persona.nbd.alpha IS 'scale (in the time unit of T) of the gamma distribution of purchase rates; the mean rate is r/alpha';
COMMENT ON COLUMN persona.nbd.loglik IS 'log-likelihood of the data at the parameters (unpenalised; the density of the purchase times, as in BG/NBD, so the two compare)';
COMMENT ON COLUMN persona.nbd.customers IS 'total weight (customers) the model was fitted on';
COMMENT ON COLUMN persona.nbd.iterations IS 'optimiser iterations';
COMMENT ON COLUMN persona.nbd.converged IS 'whether the optimiser converged (false: the data may not identify the model)';
COMMENT ON COLUMN persona.nbd.se_r IS 'standard error of r (delta method from se_log_r); NULL when the information is singular or r is at a search bound';
COMMENT ON COLUMN persona.nbd.se_alpha IS 'standard error of alpha (delta method from se_log_alpha); NULL when the information is singular or alpha is at a search bound';
COMMENT ON COLUMN persona.nbd.se_log_r IS 'standard error of ln(r) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.nbd.se_log_alpha IS 'standard error of ln(alpha) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.nbd.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.nbd.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity (alpha -> infinity: ''; reduces to Poisson'', every customer buys at one rate)';
COMMENT ON COLUMN persona.nbd.unit IS
  'Time unit of the summaries it was fitted on (days, weeks, months); NULL when fitted on plain numbers';
CREATE FUNCTION persona.nbd_finalfn(persona.fit_state) RETURNS persona.nbd
AS 'MODULE_PATHNAME', 'nbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.nbd_finalfn(persona.fit_state) IS 'final function of persona.nbd_fit';
CREATE AGGREGATE persona.nbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.nbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.nbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.nbd_fit(float8, float8, float8) IS
  'Maximum-likelihood NBD fit over the customers'' (x, t_x, T) (t_x checked, not used: without dropout only x and T matter)';
COMMENT ON AGGREGATE persona.nbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.nbd_fit(float8, float8, float8, float8, float8) IS
  'NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE AGGREGATE persona.nbd_fit(summary persona.btyd_summary) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.nbd_fit(summary persona.btyd_summary, weight float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.nbd_fit(summary persona.btyd_summary, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_summary_transfn, STYPE = persona.fit_state, FINALFUNC = persona.nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.nbd_fit(persona.btyd_summary) IS
  'NBD fit over persona.btyd summaries; the model records their time unit (summaries in different units: 22023)';
COMMENT ON AGGREGATE persona.nbd_fit(persona.btyd_summary, float8) IS
  'NBD fit over persona.btyd summaries with a count or weight each; the model records their time unit';
COMMENT ON AGGREGATE persona.nbd_fit(persona.btyd_summary, float8, float8) IS
  'NBD fit over persona.btyd summaries with weights and an L2 penalty; the model records their time unit';
CREATE FUNCTION persona.p_alive(model persona.nbd, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'nbd_p_alive_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.nbd, persona.btyd_summary) IS
  'P(alive) of a customer''s summary under an NBD model: 1, the model has no dropout (the summary is still checked; its unit must be the model''s)';
CREATE FUNCTION persona.expected_purchases(model persona.nbd, t float8, summary persona.btyd_summary) RETURNS float8
AS 'MODULE_PATHNAME', 'nbd_expected_summary' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.nbd, float8, persona.btyd_summary) IS
  'Expected purchases in the next t periods (the summary''s unit, which must be the model''s) given a customer''s summary (NBD: t (r + x) / (alpha + T))';
CREATE FUNCTION persona.aic(model persona.nbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 2 - 2 * ($1).loglik$$;
COMMENT ON FUNCTION persona.aic(persona.nbd) IS
  'Akaike information criterion of an NBD fit: 2k - 2 loglik with k = 2 (lower is better; compares with BG/NBD, MBG/NBD and Pareto/NBD fits on the same data)';
CREATE FUNCTION persona.bic(model persona.nbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * ln(($1).customers) - 2 * ($1).loglik$$;
COMMENT ON FUNCTION persona.bic(persona.nbd) IS
  'Bayesian information criterion of an NBD fit: k ln(n) - 2 loglik with k = 2, n = customers (the sum of weights)';
CREATE FUNCTION persona.p_alive(model persona.nbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'nbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.nbd, float8, float8, float8) IS
  'P(alive) under an NBD model: 1 for every valid history (no dropout)';
CREATE FUNCTION persona.expected_purchases(model persona.nbd, t float8, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'nbd_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.nbd, float8, float8, float8, float8) IS
  'Expected purchases in the next t periods given the customer''s history (NBD: t (r + x) / (alpha + T))';
CREATE FUNCTION persona.expected_purchases(model persona.nbd, t float8) RETURNS float8
AS 'MODULE_PATHNAME', 'nbd_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.nbd, float8) IS
  'Expected purchases in the first t periods of a newly acquired customer, E[X(t)] = r t / alpha (NBD)';
CREATE FUNCTION persona.nbd_loglik(model persona.nbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'nbd_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.nbd_loglik(persona.nbd, float8, float8, float8) IS
  'One customer''s NBD log-likelihood under the model''s parameters (sum it to compare models)';
CREATE FUNCTION persona.purchase_count_probability(model persona.nbd, t float8, n integer) RETURNS float8
AS 'MODULE_PATHNAME', 'nbd_count_probability' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.purchase_count_probability(persona.nbd, float8, integer) IS
  'P(X(t) = n): probability that a new customer makes exactly n repeat purchases in the first t periods (NBD: negative binomial)';
CREATE FUNCTION persona.clv(model persona.nbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text DEFAULT NULL,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'nbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.nbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days, weeks, months; NULL: the model''s; another than the model''s: 22023)';
CREATE FUNCTION persona.clv(model persona.nbd, spend persona.gamma_gamma, summary persona.btyd_summary,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'nbd_clv_summary' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.nbd, persona.gamma_gamma, persona.btyd_summary, integer, float8) IS
  'Customer lifetime value of a customer''s summary over the next months (NBD and Gamma-Gamma); the summary''s unit must be the model''s';
CREATE FUNCTION persona.simulate_nbd(r float8, alpha float8,
                                     customers integer, period float8, seed bigint DEFAULT 0,
                                     holdout float8 DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_nbd' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_nbd(float8, float8, integer, float8, bigint, float8) IS
  'Customers simulated from NBD parameters (seeded, no dropout): repeat purchases over period, and over the holdout after it';

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
CREATE FUNCTION persona.bgbb_fit_transfn(persona.fit_state, float8, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_fit_transfn(persona.fit_state, float8, float8, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_finalfn(persona.fit_state) RETURNS persona.bgbb
AS 'MODULE_PATHNAME', 'bgbb_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgbb_fit_transfn(persona.fit_state, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_fit_transfn(persona.fit_state, float8, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_finalfn(persona.fit_state) IS 'final function of persona.bgbb_fit';
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8, weight float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8, weight float8, penalty float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
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
       / persona.time_unit_days(unit);
COMMENT ON FUNCTION persona.holdout_horizon(timestamptz, timestamptz, text, text) IS
  'Days from the day of calibration_end to the day of holdout_end in time_zone, in days, weeks or months';

-- The one place that maps a model name to its fit aggregate.
CREATE FUNCTION persona.btyd_fit_function(model text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $fn$
BEGIN
    IF model IS NULL OR model NOT IN ('bgnbd', 'pareto_nbd', 'mbgnbd', 'nbd') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown model %L', model),
            HINT = 'Use ''bgnbd'', ''pareto_nbd'', ''mbgnbd'' or ''nbd''.';
    END IF;
    RETURN format('persona.%s_fit', model);
END;
$fn$;
COMMENT ON FUNCTION persona.btyd_fit_function(text) IS
  'The fit aggregate of a purchase model named bgnbd, pareto_nbd, mbgnbd or nbd (22023 for another name)';

-- A fitted model passed as a value: not NULL, of a type with expectations.
CREATE FUNCTION persona.btyd_check_model(model anyelement) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
BEGIN
    IF to_regprocedure(format('persona.expected_purchases(%s, float8, float8, float8, float8)',
                              pg_typeof(model))) IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('%s is not a purchase model', pg_typeof(model)),
            HINT = 'Pass a fitted purchase model: the value of persona.bgnbd_fit, mbgnbd_fit, pareto_nbd_fit, nbd_fit or bgbb_fit (a Gamma-Gamma model describes spend, not purchases).';
    END IF;
    IF model IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'the model must not be NULL',
            HINT = 'A fit over no customers is NULL.';
    END IF;
END;
$fn$;
COMMENT ON FUNCTION persona.btyd_check_model(anyelement) IS
  'Raise unless the value is a non-NULL fitted purchase model (persona.bgnbd, mbgnbd, pareto_nbd, nbd, bgbb)';

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
      AND a.attnum < (SELECT l.attnum FROM pg_attribute l WHERE l.attrelid = t.typrelid AND l.attname = 'loglik')
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

------------------------------------------------------------------------
-- Warm starts: a fit that begins at a previous fit's parameters
------------------------------------------------------------------------

CREATE FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8, persona.bgnbd) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8, persona.pareto_nbd) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.gamma_gamma_transfn(persona.fit_state, float8, float8, float8, persona.gamma_gamma) RETURNS persona.fit_state
AS 'MODULE_PATHNAME', 'gamma_gamma_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8, persona.bgnbd) IS 'transition function of persona.bgnbd_fit with a start model';
COMMENT ON FUNCTION persona.btyd_fit_transfn(persona.fit_state, float8, float8, float8, float8, float8, persona.pareto_nbd) IS 'transition function of persona.pareto_nbd_fit with a start model';
COMMENT ON FUNCTION persona.gamma_gamma_transfn(persona.fit_state, float8, float8, float8, persona.gamma_gamma) IS 'transition function of persona.gamma_gamma_fit with a start model';
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8, start persona.bgnbd) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8, start persona.pareto_nbd) (
    SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8, penalty float8, start persona.gamma_gamma) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = persona.fit_state, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8, float8, persona.bgnbd) IS
  'BG/NBD fit with weights and penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8, float8, float8, persona.pareto_nbd) IS
  'Pareto/NBD fit with weights and penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';
COMMENT ON AGGREGATE persona.gamma_gamma_fit(float8, float8, float8, persona.gamma_gamma) IS
  'Gamma-Gamma fit with a penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';

------------------------------------------------------------------------
-- One call: statistics, RFM, segment and lifecycle of every customer
------------------------------------------------------------------------

CREATE FUNCTION persona.customer_profile(
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

-- as_of as text read in time_zone (JDBC's setString binds varchar, which the
-- timestamptz version does not take); days, habits and labels follow
-- time_zone and language, NULL meaning the session's.
CREATE FUNCTION persona.customer_profile(
    orders       regclass,
    as_of        text,
    customer_col text    DEFAULT 'customer_id',
    time_col     text    DEFAULT 'ordered_at',
    amount_col   text    DEFAULT 'amount',
    bins         integer DEFAULT 5,
    scheme       text    DEFAULT 'standard',
    habits       boolean DEFAULT true,
    time_zone    text    DEFAULT NULL,
    language     text    DEFAULT NULL)
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
AS 'MODULE_PATHNAME', 'customer_profile_text'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100000;
COMMENT ON FUNCTION persona.customer_profile(regclass, text, text, text, text, integer, text, boolean, text, text) IS
  'customer_profile with as_of as text read in time_zone, days and habits in time_zone and segments in language (NULL: the session''s TimeZone and persona.language)';

-- Customers keyed by any hashable type (text, uuid, numeric, ...):
-- customer_key names the type (NULL::text), which customer_id then has, as
-- jsonb_populate_record's first argument does.
CREATE FUNCTION persona.customer_profile(
    orders       regclass,
    as_of        text,
    customer_key anyelement,
    customer_col text    DEFAULT 'customer_id',
    time_col     text    DEFAULT 'ordered_at',
    amount_col   text    DEFAULT 'amount',
    bins         integer DEFAULT 5,
    scheme       text    DEFAULT 'standard',
    habits       boolean DEFAULT true,
    time_zone    text    DEFAULT NULL,
    language     text    DEFAULT NULL)
RETURNS TABLE (
    customer_id     anyelement,
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
AS 'MODULE_PATHNAME', 'customer_profile_keyed'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100000;
COMMENT ON FUNCTION persona.customer_profile(regclass, text, anyelement, text, text, text, integer, text, boolean, text, text) IS
  'customer_profile of customers keyed by the customer column''s own type, named by customer_key (e.g. NULL::text; its value is not read), which customer_id has';

-- Every customer's order_stats and habits states in one scan, for profiles
-- with integer keys: the same bytes as order_stats_state(t, amount, zone)
-- and habits_state(t, zone) FILTER (WHERE amount IS NULL OR amount >= 0)
-- with GROUP BY customer over the orders before until.
CREATE FUNCTION persona.customer_states(
    orders       regclass,
    until        timestamptz,
    time_zone    text,
    customer_col text DEFAULT 'customer_id',
    time_col     text DEFAULT 'ordered_at',
    amount_col   text DEFAULT 'amount')
RETURNS TABLE (
    customer_id  bigint,
    stats_state  bytea,
    habits_state bytea)
AS 'MODULE_PATHNAME', 'customer_states'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100000;
COMMENT ON FUNCTION persona.customer_states(regclass, timestamptz, text, text, text, text) IS
  'Per-customer order_stats and habits states (bytea, as order_stats_state and habits_state make them) of the orders before until, timestamp and date columns read in time_zone, in one scan; integer customer keys';

-- The same for keys of any hashable type, named by customer_key (NULL::text).
CREATE FUNCTION persona.customer_states(
    orders       regclass,
    until        timestamptz,
    time_zone    text,
    customer_key anyelement,
    customer_col text DEFAULT 'customer_id',
    time_col     text DEFAULT 'ordered_at',
    amount_col   text DEFAULT 'amount')
RETURNS TABLE (
    customer_id  anyelement,
    stats_state  bytea,
    habits_state bytea)
AS 'MODULE_PATHNAME', 'customer_states_keyed'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100000;
COMMENT ON FUNCTION persona.customer_states(regclass, timestamptz, text, anyelement, text, text, text) IS
  'customer_states of customers keyed by the customer column''s own type, named by customer_key (e.g. NULL::text; its value is not read), which customer_id has';

------------------------------------------------------------------------
-- 7. Weighted rows: multisets of per-customer values kept between refreshes
------------------------------------------------------------------------

-- A multiset of per-customer values as distinct rows with counts: an
-- n x (k + 1) float8[][] of k keys then a weight, in key order.  Changed
-- customers' old values leave with weight -1 and their new values arrive
-- with +1 (weighted_rows), and the functions below give over the rows what
-- the aggregates give over the values themselves: an incremental refresh
-- merges a few rows instead of reading every customer.
CREATE FUNCTION persona.weighted_rows(rows float8[], changes float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'weighted_rows_merge' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.weighted_rows(float8[], float8[]) IS
  'Distinct weighted rows (n x k+1 float8[][]: keys, then a weight > 0, in key order) plus changes (any order, weights negative to remove); equal keys combined, zero weights dropped; NULL: no rows';

CREATE FUNCTION persona.numeric_to_float8(numeric) RETURNS float8
AS 'MODULE_PATHNAME', 'numeric_to_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.numeric_to_float8(numeric) IS
  'numeric::float8, the same value, without the text round trip for amounts of up to four decimals (what the weighted rows turn revenues into)';

-- weighted_rows_agg(key, ..., weight): a group's rows as weighted rows
-- (what weighted_rows(NULL, array_agg(ARRAY[key, ..., weight])) gives,
-- without an array per row): the changes an incremental refresh merges.
-- SSPACE: a state starts with room for 1024 rows.
CREATE FUNCTION persona.weighted_rows_agg_transfn(internal, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'weighted_rows_agg_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.weighted_rows_agg_transfn(internal, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'weighted_rows_agg_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.weighted_rows_agg_transfn(internal, float8, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'weighted_rows_agg_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.weighted_rows_agg_combinefn(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'weighted_rows_agg_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.weighted_rows_agg_serialfn(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'weighted_rows_agg_serialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.weighted_rows_agg_deserialfn(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'weighted_rows_agg_deserialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.weighted_rows_agg_finalfn(internal) RETURNS float8[]
AS 'MODULE_PATHNAME', 'weighted_rows_agg_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.weighted_rows_agg_transfn(internal, float8, float8) IS 'transition function of persona.weighted_rows_agg';
COMMENT ON FUNCTION persona.weighted_rows_agg_transfn(internal, float8, float8, float8) IS 'transition function of persona.weighted_rows_agg';
COMMENT ON FUNCTION persona.weighted_rows_agg_transfn(internal, float8, float8, float8, float8) IS 'transition function of persona.weighted_rows_agg';
COMMENT ON FUNCTION persona.weighted_rows_agg_combinefn(internal, internal) IS 'combine function of persona.weighted_rows_agg (parallel partial states)';
COMMENT ON FUNCTION persona.weighted_rows_agg_serialfn(internal) IS 'serialization of a persona.weighted_rows_agg state (the row width, then the values)';
COMMENT ON FUNCTION persona.weighted_rows_agg_deserialfn(bytea, internal) IS 'deserialization of a persona.weighted_rows_agg state, checked';
COMMENT ON FUNCTION persona.weighted_rows_agg_finalfn(internal) IS 'final function of persona.weighted_rows_agg: rows in key order, equal keys combined, zero weights dropped';
CREATE AGGREGATE persona.weighted_rows_agg(key float8, weight float8) (
    SFUNC = persona.weighted_rows_agg_transfn, STYPE = internal, SSPACE = 16416, FINALFUNC = persona.weighted_rows_agg_finalfn,
    COMBINEFUNC = persona.weighted_rows_agg_combinefn, SERIALFUNC = persona.weighted_rows_agg_serialfn,
    DESERIALFUNC = persona.weighted_rows_agg_deserialfn, PARALLEL = SAFE);
CREATE AGGREGATE persona.weighted_rows_agg(key1 float8, key2 float8, weight float8) (
    SFUNC = persona.weighted_rows_agg_transfn, STYPE = internal, SSPACE = 24608, FINALFUNC = persona.weighted_rows_agg_finalfn,
    COMBINEFUNC = persona.weighted_rows_agg_combinefn, SERIALFUNC = persona.weighted_rows_agg_serialfn,
    DESERIALFUNC = persona.weighted_rows_agg_deserialfn, PARALLEL = SAFE);
CREATE AGGREGATE persona.weighted_rows_agg(key1 float8, key2 float8, key3 float8, weight float8) (
    SFUNC = persona.weighted_rows_agg_transfn, STYPE = internal, SSPACE = 32800, FINALFUNC = persona.weighted_rows_agg_finalfn,
    COMBINEFUNC = persona.weighted_rows_agg_combinefn, SERIALFUNC = persona.weighted_rows_agg_serialfn,
    DESERIALFUNC = persona.weighted_rows_agg_deserialfn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.weighted_rows_agg(float8, float8) IS
  'Weighted rows (n x 2 float8[][]: key, weight) of the input rows: key order, equal keys combined, weights summing to zero dropped, rows with a NULL skipped; NULL for none';
COMMENT ON AGGREGATE persona.weighted_rows_agg(float8, float8, float8) IS
  'Weighted rows (n x 3 float8[][]: two keys, weight) of the input rows: key order, equal keys combined, weights summing to zero dropped, rows with a NULL skipped; NULL for none';
COMMENT ON AGGREGATE persona.weighted_rows_agg(float8, float8, float8, float8) IS
  'Weighted rows (n x 4 float8[][]: three keys, weight) of the input rows: key order, equal keys combined, weights summing to zero dropped, rows with a NULL skipped; NULL for none';

CREATE FUNCTION persona.rfm_breaks_from_rows(recency float8[], frequency float8[], monetary float8[], bins integer DEFAULT 5)
RETURNS persona.rfm_breaks
AS 'MODULE_PATHNAME', 'rfm_breaks_from_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_breaks_from_rows(float8[], float8[], float8[], integer) IS
  'The quantile rfm_breaks of the customers counted by (value, customers) rows of recency days, frequency and monetary (monetary may count fewer: customers without amounts)';

CREATE FUNCTION persona.weighted_percentile_cont(rows float8[], fractions float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'weighted_percentile_cont' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.weighted_percentile_cont(float8[], float8[]) IS
  'percentile_cont(fractions) WITHIN GROUP (ORDER BY value) over (value, count) rows, each value counted count times';

CREATE FUNCTION persona.history_rows_at(rows float8[], as_of date) RETURNS float8[]
AS 'MODULE_PATHNAME', 'history_rows_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.history_rows_at(float8[], date) IS
  'A profile''s purchase-history rows (x, t_x in weeks, first order day as days since 2000-01-01, count) as the BG/NBD rows (x, t_x, T, count) of an as-of day: T = (as_of - first order day) / 7, customers whose first order is not before as_of left out; NULL when none is left';

CREATE FUNCTION persona.pareto_from_rows(rows float8[], top_share float8 DEFAULT 0.2, revenue_share float8 DEFAULT 0.8)
RETURNS persona.pareto_summary
AS 'MODULE_PATHNAME', 'pareto_from_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.pareto_from_rows(float8[], float8, float8) IS
  'The pareto aggregate over (amount, customers) rows';

CREATE FUNCTION persona.bgnbd_fit_rows(rows float8[], penalty float8 DEFAULT 0, start persona.bgnbd DEFAULT NULL)
RETURNS persona.bgnbd
AS 'MODULE_PATHNAME', 'bgnbd_fit_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgnbd_fit_rows(float8[], float8, persona.bgnbd) IS
  'The BG/NBD fit over (x, t_x, T, weight) rows: what bgnbd_fit(x, t_x, T, weight, penalty, start) gives over the customers they count';

CREATE FUNCTION persona.gamma_gamma_fit_rows(rows float8[], penalty float8 DEFAULT 0, start persona.gamma_gamma DEFAULT NULL)
RETURNS persona.gamma_gamma
AS 'MODULE_PATHNAME', 'gamma_gamma_fit_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.gamma_gamma_fit_rows(float8[], float8, persona.gamma_gamma) IS
  'The Gamma-Gamma fit over (x, mean spend, weight) rows: what gamma_gamma_fit(x, mean_spend, penalty, start) gives over the customers they count';

------------------------------------------------------------------------
-- 8. Profiles: flat views for BI tools, scheduled and incremental refresh
------------------------------------------------------------------------

-- One row per profile.  Everything a refresh needs is recorded here as a
-- value (time zone, language, lifecycle thresholds), so a profile gives the
-- same rows whatever session, driver or cron job reads or refreshes it.
CREATE TABLE persona.profiles (
    name                text        PRIMARY KEY
                                    CHECK (name ~ '^[a-z][a-z0-9_]*$' AND octet_length(name) <= 40 AND name !~ '__'),
    schema_name         name        NOT NULL,
    orders              regclass    NOT NULL,
    customer_col        name        NOT NULL,
    time_col            name        NOT NULL,
    amount_col          name        NOT NULL,
    key_type            text        NOT NULL,
    as_of               date,
    time_zone           text        NOT NULL,
    language            text        NOT NULL CHECK (language IN ('en', 'zh')),
    materialized        boolean     NOT NULL,
    incremental         boolean     NOT NULL,
    bins                integer     NOT NULL,
    scheme              text        NOT NULL,
    parts               text[]      NOT NULL,
    attributes_from     regclass,
    attributes          text[],
    pii                 jsonb,
    mask_pii            boolean     NOT NULL,
    funnel_columns      text[],
    holdout_days        integer,
    lifecycle_new_days          integer NOT NULL,
    lifecycle_mature_purchases  integer NOT NULL,
    lifecycle_decline_factor    float8  NOT NULL,
    lifecycle_churn_factor      float8  NOT NULL,
    lifecycle_min_days          integer NOT NULL,
    lifecycle_decline_days      integer NOT NULL,
    lifecycle_churn_days        integer NOT NULL,
    owner               name        NOT NULL DEFAULT current_user,
    created_at          timestamptz NOT NULL DEFAULT now(),
    refreshed_at        timestamptz,
    refreshed_as_of     date,
    refresh_kind        text,
    refresh_ms          float8,
    customers           bigint,
    last_error          text,
    last_error_at       timestamptz,
    cron_job            bigint,
    view_version        text,
    defined_with        text
);
SELECT pg_catalog.pg_extension_config_dump('persona.profiles', '');
GRANT SELECT ON persona.profiles TO PUBLIC;
-- Whoever may write the registry (grant INSERT, UPDATE, DELETE to the roles
-- that build profiles) changes only the rows of roles they belong to: a
-- refresh runs as the profile's owner with what its row says.
ALTER TABLE persona.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_read ON persona.profiles FOR SELECT USING (true);
CREATE POLICY profiles_insert ON persona.profiles FOR INSERT WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY profiles_update ON persona.profiles FOR UPDATE USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY profiles_delete ON persona.profiles FOR DELETE USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
COMMENT ON TABLE persona.profiles IS
  'Registry of profiles made by persona.create_profile: sources, options, and the outcome of the last refresh';
COMMENT ON COLUMN persona.profiles.name IS 'profile name: the prefix of its relations (lower case, at most 40 bytes, no double underscore)';
COMMENT ON COLUMN persona.profiles.schema_name IS 'schema holding the profile''s relations';
COMMENT ON COLUMN persona.profiles.orders IS 'the orders table or view the profile is computed from';
COMMENT ON COLUMN persona.profiles.customer_col IS 'customer key column of orders (any type with a btree operator class)';
COMMENT ON COLUMN persona.profiles.time_col IS 'order time column of orders (timestamptz, or timestamp/date read in time_zone)';
COMMENT ON COLUMN persona.profiles.amount_col IS 'order amount column of orders (numeric or convertible)';
COMMENT ON COLUMN persona.profiles.key_type IS 'SQL type of the customer key';
COMMENT ON COLUMN persona.profiles.as_of IS 'fixed as-of day; NULL = the day of each refresh in time_zone';
COMMENT ON COLUMN persona.profiles.time_zone IS 'time zone of calendar days, weekdays and hours (a full IANA name)';
COMMENT ON COLUMN persona.profiles.language IS 'language of labels: en or zh';
COMMENT ON COLUMN persona.profiles.materialized IS 'true: stored and refreshed; false: computed from orders by every read, as the reader';
COMMENT ON COLUMN persona.profiles.incremental IS 'true: triggers on orders record changes and refresh_profile merges them by default';
COMMENT ON COLUMN persona.profiles.bins IS 'points of the RFM scales';
COMMENT ON COLUMN persona.profiles.scheme IS 'RFM segment scheme: standard, cn8 or a scheme of persona.segment_rules';
COMMENT ON COLUMN persona.profiles.parts IS 'summary relations built besides customers';
COMMENT ON COLUMN persona.profiles.attributes_from IS 'customer attribute table joined on the customer key (NULL: none)';
COMMENT ON COLUMN persona.profiles.attributes IS 'attribute columns carried into the customers view';
COMMENT ON COLUMN persona.profiles.pii IS 'attribute column -> mask kind (phone, name, email, id)';
COMMENT ON COLUMN persona.profiles.mask_pii IS 'whether the pii columns are masked in the views';
COMMENT ON COLUMN persona.profiles.funnel_columns IS 'attribute columns for visits, signed_up, is_member, referrals of the funnel part';
COMMENT ON COLUMN persona.profiles.holdout_days IS 'length of the holdout period of the holdout part, in days';
COMMENT ON COLUMN persona.profiles.lifecycle_new_days IS 'lifecycle threshold recorded at creation (persona.lifecycle_new_days)';
COMMENT ON COLUMN persona.profiles.lifecycle_mature_purchases IS 'lifecycle threshold recorded at creation (persona.lifecycle_mature_purchases)';
COMMENT ON COLUMN persona.profiles.lifecycle_decline_factor IS 'lifecycle threshold recorded at creation (persona.lifecycle_decline_factor)';
COMMENT ON COLUMN persona.profiles.lifecycle_churn_factor IS 'lifecycle threshold recorded at creation (persona.lifecycle_churn_factor)';
COMMENT ON COLUMN persona.profiles.lifecycle_min_days IS 'lifecycle threshold recorded at creation (persona.lifecycle_min_days)';
COMMENT ON COLUMN persona.profiles.lifecycle_decline_days IS 'lifecycle threshold recorded at creation (persona.lifecycle_decline_days)';
COMMENT ON COLUMN persona.profiles.lifecycle_churn_days IS 'lifecycle threshold recorded at creation (persona.lifecycle_churn_days)';
COMMENT ON COLUMN persona.profiles.owner IS 'role that created the profile (owner of its relations)';
COMMENT ON COLUMN persona.profiles.created_at IS 'when the profile was created';
COMMENT ON COLUMN persona.profiles.refreshed_at IS 'end of the last successful refresh';
COMMENT ON COLUMN persona.profiles.refreshed_as_of IS 'as-of day of the last successful refresh';
COMMENT ON COLUMN persona.profiles.refresh_kind IS 'full or incremental: what the last successful refresh did';
COMMENT ON COLUMN persona.profiles.refresh_ms IS 'duration of the last successful refresh in milliseconds';
COMMENT ON COLUMN persona.profiles.customers IS 'customers in the profile after the last successful refresh';
COMMENT ON COLUMN persona.profiles.last_error IS 'error of the last scheduled refresh when it failed; NULL after a success';
COMMENT ON COLUMN persona.profiles.last_error_at IS 'when the last scheduled refresh failed';
COMMENT ON COLUMN persona.profiles.cron_job IS 'pg_cron job id of schedule_refresh, NULL when not scheduled';
COMMENT ON COLUMN persona.profiles.view_version IS 'digest of the customers view''s tag rules and attributes: the view is replaced only when they change';
COMMENT ON COLUMN persona.profiles.defined_with IS 'digest of the settings the relations were defined with (profile_definition_digest): a refresh redefines them when the row''s settings changed';

-- A user segment scheme a profile uses cannot lose its last rule (nor be
-- renamed away): every refresh and every read of the profile would fail.
CREATE FUNCTION persona.segment_rules_in_use() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    p record;
BEGIN
    SELECT pr.name, pr.scheme INTO p FROM persona.profiles pr
    WHERE pr.scheme NOT IN ('standard', 'cn8')
      AND (TG_OP = 'TRUNCATE' OR NOT EXISTS (SELECT FROM persona.segment_rules r WHERE r.scheme = pr.scheme))
    ORDER BY pr.name LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'segment scheme "%" is used by profile "%"', p.scheme, p.name USING ERRCODE = 'dependent_objects_still_exist',
            HINT = 'Give the profile another scheme first (UPDATE persona.profiles SET scheme = ... WHERE name = ...), or drop it.';
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION persona.segment_rules_in_use() IS
  'Trigger function of persona.segment_rules: 2BP01 when a change leaves a profile''s scheme without rules';
CREATE TRIGGER segment_rules_in_use AFTER UPDATE OR DELETE ON persona.segment_rules
    FOR EACH STATEMENT EXECUTE FUNCTION persona.segment_rules_in_use();
COMMENT ON TRIGGER segment_rules_in_use ON persona.segment_rules IS
  'Keeps the schemes of profiles (persona.segment_rules_in_use)';
CREATE TRIGGER segment_rules_in_use_truncate BEFORE TRUNCATE ON persona.segment_rules
    FOR EACH STATEMENT EXECUTE FUNCTION persona.segment_rules_in_use();
COMMENT ON TRIGGER segment_rules_in_use_truncate ON persona.segment_rules IS
  'Keeps the schemes of profiles when the rules are truncated (persona.segment_rules_in_use)';

CREATE FUNCTION persona.profile_progress(message text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- missing_ok: a session that has not loaded the library has no such setting yet
    IF coalesce(current_setting('persona.progress', true), 'on')::boolean THEN
        RAISE NOTICE '%', message;
    END IF;
END $$;
COMMENT ON FUNCTION persona.profile_progress(text) IS
  'A NOTICE with a step of create_profile or refresh_profile, unless persona.progress is off';

CREATE FUNCTION persona.profile_get(profile text) RETURNS persona.profiles
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    p persona.profiles;
BEGIN
    IF profile IS NULL THEN
        RAISE EXCEPTION 'profile name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO p FROM persona.profiles WHERE name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object',
            HINT = 'See persona.profiles for the profiles of this database.';
    END IF;
    RETURN p;
END $$;
COMMENT ON FUNCTION persona.profile_get(text) IS 'The registry row of a profile; 42704 when there is none';

-- Qualified name of one of a profile's relations.
CREATE FUNCTION persona.profile_rel(p persona.profiles, suffix text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format('%I.%I', p.schema_name, p.name || suffix);
COMMENT ON FUNCTION persona.profile_rel(persona.profiles, text) IS
  'Quoted qualified name of the profile relation <name><suffix>';

-- The read views of a materialized profile run with the owner's rights (the
-- stored rows were computed once, as the owner), so they check the reader:
-- who may not read orders may not read what was computed from them, and
-- row-level security on orders cannot filter rows computed before.
-- It is called in security_barrier views, so a reader's functions see no
-- row, and the planner reads no statistics of the rows for them, before
-- it passes (test/pgtap/profiles.sql).  Parallel safe: it reads only the
-- catalogs, and parallel workers check the reader too.
CREATE FUNCTION persona.profile_guard(orders regclass, profile text, materialized boolean)
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF NOT has_table_privilege(orders, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for profile "%"', profile USING ERRCODE = 'insufficient_privilege',
            DETAIL = format('The profile is computed from %s, which role %s may not read.', orders, current_user),
            HINT = format('GRANT SELECT ON %s to the role, or read the profile as a role that may.', orders);
    END IF;
    IF materialized AND row_security_active(orders) THEN
        RAISE EXCEPTION 'profile "%" cannot be read under row-level security', profile USING ERRCODE = 'insufficient_privilege',
            DETAIL = format('Row-level security on %s applies to role %s, but the profile was computed from all rows.', orders, current_user),
            HINT = 'Create the profile with materialized => false: its views compute from orders as the reader.';
    END IF;
    RETURN true;
END $$;
COMMENT ON FUNCTION persona.profile_guard(regclass, text, boolean) IS
  'true, or 42501 when the reader may not read orders or (materialized profiles) is subject to row-level security on them';

-- Local day arithmetic in the profile's zone, written into generated SQL as
-- literals: nothing generated depends on the session's TimeZone.
CREATE FUNCTION persona.profile_day_end(p persona.profiles, as_of_sql text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format('((%s) + 1)::timestamp AT TIME ZONE %L', as_of_sql, p.time_zone);
COMMENT ON FUNCTION persona.profile_day_end(persona.profiles, text) IS
  'SQL of the instant the as-of day ends in the profile''s time zone';

CREATE FUNCTION persona.float8_sql(x float8) RETURNS text
AS 'MODULE_PATHNAME', 'float8_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.float8_sql(float8) IS
  'SQL of a float8 literal that reads back to the same value whatever the session''s extra_float_digits (shortest exact decimal)';

-- A day as SQL, written year first from its fields: a date's text follows
-- the session's DateStyle, and with SQL or Postgres output and YMD input it
-- does not read back.
CREATE FUNCTION persona.profile_date_sql(d date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format('%L::date', concat(lpad(abs(extract(year FROM d))::text, 4, '0'), '-', extract(month FROM d), '-', extract(day FROM d),
                                 CASE WHEN extract(year FROM d) < 0 THEN ' BC' END));
COMMENT ON FUNCTION persona.profile_date_sql(date) IS
  'SQL of a date literal that reads back whatever the session''s DateStyle';

CREATE FUNCTION persona.profile_as_of_sql(p persona.profiles) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN p.as_of IS NOT NULL THEN persona.profile_date_sql(p.as_of)
            ELSE format('(now() AT TIME ZONE %L)::date', p.time_zone) END;
COMMENT ON FUNCTION persona.profile_as_of_sql(persona.profiles) IS
  'SQL of the profile''s as-of day: the fixed day, or today in its time zone';

-- The type of column col of rel, NULL when rel has no such column: every
-- column check and type lookup of the builder.
CREATE FUNCTION persona.profile_column_type(rel regclass, col text) RETURNS regtype
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
RETURN (SELECT a.atttypid::regtype FROM pg_attribute a
        WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped);
COMMENT ON FUNCTION persona.profile_column_type(regclass, text) IS
  'Type of a column of a relation, NULL when it has none';

-- Whether a key type has a default operator class of an access method, as
-- the type itself, its domain's base type or a type it is implicitly binary
-- coercible to (varchar uses text's), as PostgreSQL finds one.
CREATE FUNCTION persona.profile_key_has_opclass(t regtype, am name) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN EXISTS (SELECT FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_am a ON a.oid = oc.opcmethod
               JOIN pg_catalog.pg_type ty ON ty.oid = t
               WHERE a.amname = am AND oc.opcdefault
                 AND (oc.opcintype IN (ty.oid, ty.typbasetype)
                      OR EXISTS (SELECT FROM pg_catalog.pg_cast c
                                 WHERE c.castsource IN (ty.oid, ty.typbasetype) AND c.casttarget = oc.opcintype
                                   AND c.castmethod = 'b' AND c.castcontext = 'i')));
COMMENT ON FUNCTION persona.profile_key_has_opclass(regtype, name) IS
  'Whether a customer key type has a default operator class of the access method (btree, hash), directly, through its domain''s base type or a type it is implicitly binary coercible to';

-- The time column as timestamptz: timestamp and date values are local times
-- in the profile's zone.
CREATE FUNCTION persona.profile_time_sql(p persona.profiles, alias text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN persona.profile_column_type(p.orders, p.time_col) IN ('timestamp'::regtype, 'date'::regtype)
            THEN format('(%s%I::timestamp AT TIME ZONE %L)', alias, p.time_col, p.time_zone)
            ELSE format('%s%I', alias, p.time_col) END;
COMMENT ON FUNCTION persona.profile_time_sql(persona.profiles, text) IS
  'SQL of the order time as timestamptz (timestamp and date columns read in the profile''s time zone)';

-- The orders after the as-of day, which wait in __pending for the day they
-- belong to, as the orders table has them now: of every customer
-- (customers_sql NULL), or of those the subquery customers_sql gives.
CREATE FUNCTION persona.profile_waiting_sql(p persona.profiles, as_of_sql text, customers_sql text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN format('INSERT INTO %s SELECT o.%I, %s, o.%I::numeric FROM %s o WHERE %s AND %s >= %s',
              persona.profile_rel(p, '__pending'), p.customer_col, persona.profile_time_sql(p, 'o.'), p.amount_col, p.orders,
              CASE WHEN customers_sql IS NULL THEN format('o.%I IS NOT NULL', p.customer_col)
                   ELSE format('o.%I IN (%s)', p.customer_col, customers_sql) END,
              persona.profile_time_sql(p, 'o.'), persona.profile_day_end(p, as_of_sql));
COMMENT ON FUNCTION persona.profile_waiting_sql(persona.profiles, text, text) IS
  'SQL inserting into a profile''s __pending the orders after the as-of day (of every customer, or of those a subquery gives)';

-- State rows (one per customer) from a relation src with columns k, st, hb:
-- the as-of-independent statistics decoded once, and the states to merge.
-- The two composites are computed once per row in a subquery that is not
-- flattened (OFFSET 0) and their fields selected above it: a LATERAL
-- function scan would put each call's one row in a tuplestore (twice the
-- time of the decoding itself).
CREATE FUNCTION persona.profile_decode_sql(p persona.profiles, src text, as_of_sql text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format($q$SELECT d.k AS customer_id,
       (d.os).first_at AS first_order_at, (d.os).last_at AS last_order_at,
       ((d.os).first_at AT TIME ZONE %2$L)::date AS first_order_on,
       ((d.os).last_at AT TIME ZONE %2$L)::date AS last_order_on,
       (d.os).orders, (d.os).purchase_days, (d.os).revenue, (d.os).avg_amount,
       (d.os).mean_gap_days, (d.os).gap_sd_days, (d.os).repeat_orders, (d.os).repeat_revenue, (d.os).refunds,
       (d.h).weekday_share, (d.h).weekend_share, (d.h).morning AS morning_share, (d.h).lunch AS lunch_share,
       (d.h).afternoon AS afternoon_share, (d.h).evening AS evening_share, (d.h).night AS night_share,
       (d.h).daypart::text AS daypart, (d.h).favourite_weekday, (d.h).favourite_hour,
       d.st AS stats_state, d.hb AS habits_state
FROM (SELECT x.k, x.st, x.hb, persona.order_stats_of(x.st, %3$s) AS os, persona.habits_of(x.hb) AS h
      FROM %1$s x OFFSET 0) d$q$,
    src, p.time_zone, as_of_sql);
COMMENT ON FUNCTION persona.profile_decode_sql(persona.profiles, text, text) IS
  'SQL decoding per-customer states (k, st, hb) into the columns of a profile''s state table';

-- An incremental refresh's merge of new orders (src/profile_merge.c): the
-- query orders gives (key, ordered_at, amount) of the new orders, each
-- customer's together, customers in key order; each customer's state row,
-- found by its primary key, gets the orders added to its states as
-- order_stats_state and habits_state count them, is decoded as
-- profile_decode_sql decodes, and is updated where it is (a new customer
-- inserted); the row's values before go to old_values, after to new_values
-- (columns named as the state table's).  Plain tables without row-level
-- security or triggers only; the caller needs SELECT, INSERT and UPDATE on
-- state and INSERT on the two others.
CREATE FUNCTION persona.profile_merge_orders(state regclass, orders text, time_zone text, as_of date,
                                             old_values regclass, new_values regclass) RETURNS bigint
AS 'MODULE_PATHNAME', 'profile_merge_orders' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION persona.profile_merge_orders(regclass, text, text, date, regclass, regclass) IS
  'Merge new orders (query: key, ordered_at, amount, in key order) into a profile''s state rows; the customers merged';

-- Per-customer states straight from orders (extra_where: an extra SQL
-- condition).  Habits count the orders order_stats counts: refunds are not
-- orders.  All customers with an integer key: customer_states, one scan
-- into its own hash table, the same bytes in about half the time of the
-- GROUP BY, which stays for other keys and for a subset of customers.
-- Whether a relation's rows live on other servers: a foreign table, a
-- partitioned table with foreign partitions, or a Citus distributed table
-- (Citus's catalog is read only where Citus is installed).
CREATE FUNCTION persona.relation_is_remote(rel regclass) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $fn$
DECLARE
    distributed boolean := false;
BEGIN
    IF EXISTS (SELECT FROM pg_class c WHERE c.oid = rel AND c.relkind = 'f')
       OR EXISTS (SELECT FROM pg_partition_tree(rel) t JOIN pg_class c ON c.oid = t.relid WHERE c.relkind = 'f') THEN
        RETURN true;
    END IF;
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1 AND partmethod <> ''n'')'
            INTO distributed USING rel;
    END IF;
    RETURN distributed;
END $fn$;
COMMENT ON FUNCTION persona.relation_is_remote(regclass) IS
  'Whether a relation''s rows live on other servers (a foreign table, foreign partitions, a Citus distributed table): profiles over it compute per-customer states with a GROUP BY those servers run';

CREATE FUNCTION persona.profile_states_sql(p persona.profiles, as_of_sql text, extra_where text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN extra_where IS NULL AND p.key_type IN ('smallint', 'integer', 'bigint')
                 -- rows on other servers: the GROUP BY, which postgres_fdw and Citus run there
                 AND NOT persona.relation_is_remote(p.orders)
THEN format($q$(SELECT s.customer_id::%1$s AS k, s.stats_state AS st, s.habits_state AS hb
 FROM persona.customer_states(%2$L::regclass, %3$s, %4$L, %5$L, %6$L, %7$L) s)$q$,
    p.key_type, p.orders::text, persona.profile_day_end(p, as_of_sql), p.time_zone,
    p.customer_col, p.time_col, p.amount_col)
-- other hashable keys: the same scan, keyed by the column's type (looked up
-- now and named as this session sees it: key_type is spelled as the creating
-- session saw it)
WHEN extra_where IS NULL AND NOT persona.relation_is_remote(p.orders)
     AND persona.profile_key_has_opclass(persona.profile_column_type(p.orders, p.customer_col), 'hash')
THEN format($q$(SELECT s.customer_id AS k, s.stats_state AS st, s.habits_state AS hb
 FROM persona.customer_states(%1$L::regclass, %2$s, %3$L, NULL::%4$s, %5$L, %6$L, %7$L) s)$q$,
    p.orders::text, persona.profile_day_end(p, as_of_sql), p.time_zone,
    persona.profile_column_type(p.orders, p.customer_col), p.customer_col, p.time_col, p.amount_col)
ELSE format($q$(SELECT o.%1$I AS k, persona.order_stats_state(%2$s, o.%3$I::numeric, %4$L::persona.time_zone) AS st,
        persona.habits_state(%2$s, %4$L::persona.time_zone) FILTER (WHERE o.%3$I IS NULL OR o.%3$I >= 0) AS hb
 FROM %5$s o
 WHERE NOT (o.%1$I IS NULL) AND %2$s < %6$s%7$s
 GROUP BY o.%1$I)$q$,
    p.customer_col, persona.profile_time_sql(p, 'o.'), p.amount_col, p.time_zone,
    p.orders::text, persona.profile_day_end(p, as_of_sql), coalesce(' AND ' || extra_where, '')) END;
COMMENT ON FUNCTION persona.profile_states_sql(persona.profiles, text, text) IS
  'SQL of per-customer order_stats and habits states of the orders up to the end of the as-of day';

-- The fits of the models part from the customers' weighted rows (x, t_x,
-- T) and (x, mean spend), each NULL where the data admit none (no repeat
-- buyer, every repeat buyer alike, ...): a profile computed by every read
-- is read without an error whatever its orders (a materialized profile's
-- refresh warns instead, profile_write_globals).
CREATE FUNCTION persona.profile_fits(bgnbd_rows float8[], gamma_gamma_rows float8[],
                                     bgnbd_start persona.bgnbd, gamma_gamma_start persona.gamma_gamma,
                                     OUT bgnbd persona.bgnbd, OUT gamma_gamma persona.gamma_gamma)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    BEGIN
        bgnbd := persona.bgnbd_fit_rows(bgnbd_rows, 0, bgnbd_start);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range OR data_exception THEN
        bgnbd := NULL;
    END;
    BEGIN
        gamma_gamma := persona.gamma_gamma_fit_rows(gamma_gamma_rows, 0, gamma_gamma_start);
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range OR data_exception THEN
        gamma_gamma := NULL;
    END;
END $$;
COMMENT ON FUNCTION persona.profile_fits(float8[], float8[], persona.bgnbd, persona.gamma_gamma) IS
  'BG/NBD and Gamma-Gamma fits of weighted rows, each NULL where the data admit no fit';

-- One row of cut points, value-tier thresholds and model fits, in one scan
-- of the state rows of src.  start_sql (NULL: none) is the SQL of a relation
-- with columns bgnbd and gamma_gamma whose fits start the searches: an
-- incremental refresh starts from the previous fits, a few iterations from
-- the new optimum.  The fits are of the customers' weighted rows, what the
-- aggregates give over the customers (profile_fits).
CREATE FUNCTION persona.profile_globals_sql(p persona.profiles, src text, as_of_sql text, models boolean,
                                            start_sql text DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$SELECT a.as_of, %3$L::text AS time_zone, %4$L::text AS language,
       x.breaks, x.tiers[1] AS gold_min, x.tiers[2] AS diamond_min, %7$s
FROM (SELECT %6$s AS as_of) a
CROSS JOIN LATERAL (
    SELECT persona.rfm_breaks((a.as_of - s.last_order_on)::float8, s.orders::float8, persona.numeric_to_float8(s.revenue), %5$s) AS breaks,
           percentile_cont(ARRAY[0.80, 0.95]) WITHIN GROUP (ORDER BY persona.numeric_to_float8(s.revenue)) AS tiers,
           %2$s AS fits
    FROM %1$s s WHERE s.orders > 0) x$q$,
    src,
    -- (an output of x: a read that needs no fit, such as the segments, skips it)
    CASE WHEN models THEN format($m$persona.profile_fits(
               persona.weighted_rows_agg((s.purchase_days - 1)::float8, (s.last_order_on - s.first_order_on) / 7::float8,
                                         (a.as_of - s.first_order_on) / 7::float8, 1)
                   FILTER (WHERE s.first_order_on < a.as_of),
               persona.weighted_rows_agg((s.purchase_days - 1)::float8, persona.numeric_to_float8(s.repeat_revenue) / nullif(s.purchase_days - 1, 0), 1)
                   FILTER (WHERE s.purchase_days > 1 AND s.repeat_revenue > 0),
               %1$s, %2$s)$m$,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.bgnbd' ELSE format('(SELECT st.bgnbd FROM %s st)', start_sql) END,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.gamma_gamma' ELSE format('(SELECT st.gamma_gamma FROM %s st)', start_sql) END)
         ELSE 'NULL::boolean' END,
    p.time_zone, p.language, p.bins, as_of_sql,
    CASE WHEN models THEN '(x.fits).bgnbd, (x.fits).gamma_gamma' ELSE 'NULL::persona.bgnbd AS bgnbd, NULL::persona.gamma_gamma AS gamma_gamma' END);
COMMENT ON FUNCTION persona.profile_globals_sql(persona.profiles, text, text, boolean, text) IS
  'SQL of a profile''s one row of cut points, value-tier thresholds and model fits over its state rows (fits started at a previous globals row''s when given)';

-- The weighted rows of a materialized profile's global parts, kept in its
-- globals row: (last order day as days since 2000-01-01), (orders),
-- (revenue), (x, t_x in weeks, first order day as days since 2000-01-01)
-- and (x, mean repeat spend), each with a count.  No key depends on the
-- as-of day (recency and T are taken from the day when the rows are read:
-- rfm_breaks_from_rows, history_rows_at), so a refresh on a later day
-- merges the changed customers' rows as one on the same day does.  This
-- is the SQL of one row of those rows' changes from src, a relation of
-- state columns and a weight column w: the state table with w = 1 (every
-- customer), or a changed customer's old values with w = -1 and new
-- values with w = 1.  Its keys give the values profile_globals_sql feeds
-- the aggregates, so the globals computed from the rows are the same.
CREATE FUNCTION persona.profile_rows_sql(p persona.profiles, src text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format($q$SELECT persona.weighted_rows_agg((s.last_order_on - DATE '2000-01-01')::float8, s.w) AS r_rows,
       persona.weighted_rows_agg(s.orders::float8, s.w) AS f_rows,
       persona.weighted_rows_agg(persona.numeric_to_float8(s.revenue), s.w) FILTER (WHERE s.revenue IS NOT NULL) AS m_rows,
       persona.weighted_rows_agg((s.purchase_days - 1)::float8, (s.last_order_on - s.first_order_on) / 7::float8,
                                 (s.first_order_on - DATE '2000-01-01')::float8, s.w)
           FILTER (WHERE %2$s) AS history_rows,
       persona.weighted_rows_agg((s.purchase_days - 1)::float8, persona.numeric_to_float8(s.repeat_revenue) / nullif(s.purchase_days - 1, 0), s.w)
           FILTER (WHERE %2$s AND s.purchase_days > 1 AND s.repeat_revenue > 0) AS gamma_gamma_rows
FROM %1$s s WHERE s.orders > 0$q$, src,
    -- without the models part no fit reads them
    CASE WHEN 'models' = ANY (p.parts) THEN 'true' ELSE 'false' END);
COMMENT ON FUNCTION persona.profile_rows_sql(persona.profiles, text) IS
  'SQL of one row of weighted-row changes (r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows) from state rows with a weight column w';

-- The weighted-row changes of an incremental refresh's changed customers:
-- what profile_rows_sql gives over the old values with w = -1 and the new
-- ones with w = 1, computed in C from the two tables of values (their
-- columns named as the state table's; history and Gamma-Gamma rows only
-- for models).  The same expressions as profile_rows_sql's (the tests
-- compare an incremental refresh's rows with a rebuild's).  Reads the
-- tables with the caller's privileges; row-level security is refused.
CREATE FUNCTION persona.profile_rows_changes(old_values regclass, new_values regclass, models boolean,
                                             OUT r_rows float8[], OUT f_rows float8[], OUT m_rows float8[],
                                             OUT history_rows float8[], OUT gamma_gamma_rows float8[])
AS 'MODULE_PATHNAME', 'profile_rows_changes' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION persona.profile_rows_changes(regclass, regclass, boolean) IS
  'Weighted-row changes (r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows) of customers whose values go from those in old_values to those in new_values';

-- The globals row of a materialized profile from its weighted rows: rows_sql
-- is the SQL of one row with the five rows columns.  The same cut points,
-- thresholds and fits as profile_globals_sql over the customers.
CREATE FUNCTION persona.profile_globals_rows_sql(p persona.profiles, rows_sql text, as_of_sql text, models boolean,
                                                 start_sql text DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$SELECT a.as_of, %2$L::text AS time_zone, %3$L::text AS language,
       persona.rfm_breaks_from_rows(
           (SELECT array_agg(ARRAY[(a.as_of - DATE '2000-01-01') - w.r_rows[i][1], w.r_rows[i][2]])
            FROM generate_subscripts(w.r_rows, 1) i),
           w.f_rows, w.m_rows, %4$s) AS breaks,
       t.tiers[1] AS gold_min, t.tiers[2] AS diamond_min, %5$s,
       w.r_rows, w.f_rows, w.m_rows, w.history_rows, w.gamma_gamma_rows
FROM (SELECT %6$s AS as_of) a, (%1$s OFFSET 0) w,
     LATERAL (SELECT persona.weighted_percentile_cont(w.m_rows, ARRAY[0.80, 0.95]) AS tiers) t$q$,
    rows_sql, p.time_zone, p.language, p.bins,
    CASE WHEN models THEN format('persona.bgnbd_fit_rows(persona.history_rows_at(w.history_rows, a.as_of), 0, %s) AS bgnbd, persona.gamma_gamma_fit_rows(w.gamma_gamma_rows, 0, %s) AS gamma_gamma',
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.bgnbd' ELSE format('(SELECT st.bgnbd FROM %s st)', start_sql) END,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.gamma_gamma' ELSE format('(SELECT st.gamma_gamma FROM %s st)', start_sql) END)
         ELSE 'NULL::persona.bgnbd AS bgnbd, NULL::persona.gamma_gamma AS gamma_gamma' END,
    as_of_sql);
COMMENT ON FUNCTION persona.profile_globals_rows_sql(persona.profiles, text, text, boolean, text) IS
  'SQL of a materialized profile''s globals row (cut points, value-tier thresholds, fits and the weighted rows) from one row of weighted rows';

-- Every as-of measure from state rows and the globals row: plain values
-- in, plain values out, so reads do not depend on session settings.
CREATE FUNCTION persona.profile_scored_sql(p persona.profiles, state_rel text, globals_rel text, extra_cols text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format($q$SELECT s.customer_id,
       s.first_order_at, s.last_order_at, s.first_order_on, s.last_order_on,
       s.orders, s.purchase_days, s.revenue, s.avg_amount,
       g.as_of - s.last_order_on AS recency_days, g.as_of - s.first_order_on AS tenure_days,
       s.mean_gap_days, s.gap_sd_days, s.repeat_orders, s.repeat_revenue, s.refunds,
       persona.r(sc.rfm)::smallint AS r_score, persona.f(sc.rfm)::smallint AS f_score,
       persona.m(sc.rfm)::smallint AS m_score, sc.rfm::text AS rfm,
       persona.rfm_segment(sc.rfm, %3$L, g.language) AS segment,
       lc.stage::text AS lifecycle, persona.label(lc.stage, g.language) AS lifecycle_label,
       s.weekday_share, s.weekend_share, s.morning_share, s.lunch_share, s.afternoon_share,
       s.evening_share, s.night_share, s.daypart,
       persona.label(s.daypart::persona.daypart, g.language) AS daypart_label,
       s.favourite_weekday, s.favourite_hour,
       vt.tier::text AS value_tier, persona.label(vt.tier, g.language) AS value_tier_label,
       persona.p_alive(g.bgnbd, s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7::float8,
                       (g.as_of - s.first_order_on) / 7::float8) AS p_alive,
       persona.expected_purchases(g.bgnbd, 90 / 7::float8, s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7::float8,
                                  (g.as_of - s.first_order_on) / 7::float8) AS expected_purchases_90d,
       persona.clv(g.bgnbd, g.spend_fit, s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7::float8,
                   (g.as_of - s.first_order_on) / 7::float8,
                   CASE WHEN s.purchase_days > 1 THEN persona.numeric_to_float8(s.repeat_revenue) / (s.purchase_days - 1) END,
                   'weeks', 12, 0.01) AS clv_12m,
       %14$s AS as_of%13$s
FROM %1$s s
CROSS JOIN %11$s g
CROSS JOIN LATERAL (SELECT persona.rfm_score((g.as_of - s.last_order_on)::float8, s.orders::float8,
                                             persona.numeric_to_float8(s.revenue), g.breaks) AS rfm) sc
CROSS JOIN LATERAL (SELECT persona.lifecycle_stage(s.first_order_on, s.last_order_on, s.purchase_days::bigint, g.as_of,
                                                   s.mean_gap_days, %4$s, %5$s, %6$s, %7$s, %8$s, %9$s, %10$s) AS stage) lc
CROSS JOIN LATERAL (SELECT persona.value_tier(persona.numeric_to_float8(s.revenue), g.gold_min, g.diamond_min) AS tier) vt
WHERE s.orders > 0%12$s$q$,
    state_rel, globals_rel, p.scheme,
    p.lifecycle_new_days, p.lifecycle_mature_purchases, persona.float8_sql(p.lifecycle_decline_factor), persona.float8_sql(p.lifecycle_churn_factor),
    p.lifecycle_min_days, p.lifecycle_decline_days, p.lifecycle_churn_days,
    -- (a spend fit with q <= 1 has no finite expected spend: CLV is NULL, not an error on every read)
    CASE WHEN p.materialized
         -- The globals row's values as scalar subqueries: computed once
         -- (InitPlans) and handed to parallel workers, so a read of every
         -- customer scans the states in parallel and aggregates there.  A
         -- join with the one-row table keeps the scan in one process
         -- (PostgreSQL 15 cannot materialize the inner side of a parallel
         -- nested loop): 4.5 times slower.
         THEN format('(SELECT %s, (SELECT CASE WHEN (g.gamma_gamma).q > 1 THEN g.gamma_gamma END FROM %s g) AS spend_fit)',
                     (SELECT string_agg(format('(SELECT g.%1$s FROM %2$s g) AS %1$s', c, globals_rel), ', ')
                      FROM unnest(ARRAY['as_of', 'language', 'breaks', 'gold_min', 'diamond_min', 'bgnbd']) c),
                     globals_rel)
         -- a view computing the globals: computed once, not once for each value read from it
         ELSE format('(SELECT g.*, CASE WHEN (g.gamma_gamma).q > 1 THEN g.gamma_gamma END AS spend_fit FROM %s g OFFSET 0)', globals_rel) END,
    -- (no globals row, no customers, as a join with it gives)
    CASE WHEN p.materialized THEN format(' AND EXISTS (SELECT FROM %s)', globals_rel) ELSE '' END,
    extra_cols,
    -- (materialized: a value of the row, not the bare InitPlan, which a
    -- reader's condition on it alone could read before the reader's check)
    CASE WHEN p.materialized THEN 'CASE WHEN s.customer_id IS NOT NULL THEN g.as_of END' ELSE 'g.as_of' END);
COMMENT ON FUNCTION persona.profile_scored_sql(persona.profiles, text, text, text) IS
  'SQL of a profile''s per-customer measures as of its day (RFM, segment, lifecycle, habits, value tier, P(alive), CLV), and extra columns of the state rows';

-- A profile's holdout check (holdout_by_frequency with BG/NBD in weeks),
-- no rows with a WARNING when the calibration period admits no fit (no
-- repeat buyer before it ends, ...): the rest of the refresh goes on, as it
-- does when the models part cannot be fitted.
CREATE FUNCTION persona.profile_holdout(profile text, orders regclass, calibration_end timestamptz, holdout_end timestamptz,
                                        customer_col text, time_col text, amount_col text)
RETURNS TABLE (frequency text, customers bigint, predicted float8, actual float8, mae float8, rmse float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    f text[];
    c bigint[];
    pr float8[];
    a float8[];
    m float8[];
    r float8[];
BEGIN
    BEGIN
        -- gathered first: no row leaves before the fit is known to succeed
        SELECT array_agg(h.frequency), array_agg(h.customers), array_agg(h.predicted), array_agg(h.actual), array_agg(h.mae), array_agg(h.rmse)
        INTO f, c, pr, a, m, r
        FROM persona.holdout_by_frequency(orders, calibration_end, holdout_end, 'bgnbd', 'weeks', customer_col, time_col, amount_col) h;
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range OR data_exception THEN
        RAISE WARNING 'persona profile %: the holdout check could not be fitted: %', profile, SQLERRM
            USING HINT = 'Its view is empty until the calibration period (up to as_of - holdout_days) has repeat buyers enough to fit.';
        RETURN;
    END;
    RETURN QUERY SELECT * FROM unnest(f, c, pr, a, m, r);
END $$;
COMMENT ON FUNCTION persona.profile_holdout(text, regclass, timestamptz, timestamptz, text, text, text) IS
  'A profile''s holdout check by frequency (BG/NBD, weeks); no rows and a WARNING when the calibration period admits no fit';

-- The summary relations, each a SELECT over the profile's scored view (or,
-- for quality and holdout, over orders).
CREATE FUNCTION persona.profile_summary_sql(p persona.profiles, part text) RETURNS text
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
FROM (%s) q$q$, p.name,
        -- materialized: from the revenue rows the globals keep, the same summary without a read of every customer
        -- (OFFSET 0: computed once, not once for each field read from it)
        CASE WHEN p.materialized THEN format('SELECT persona.pareto_from_rows(g.m_rows) AS x FROM %s g OFFSET 0', persona.profile_rel(p, '__globals'))
             ELSE format('SELECT persona.pareto(persona.numeric_to_float8(c.revenue)) AS x FROM %s c', scored) END);
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
FROM persona.profile_holdout(%8$L, %1$L::regclass, (%2$s)::timestamp AT TIME ZONE %4$L, (%3$s)::timestamp AT TIME ZONE %4$L,
                             %5$L, %6$L, %7$L) h$q$,
        p.orders::text, format('(%s - %s)', as_of_sql, p.holdout_days), as_of_sql, p.time_zone,
        p.customer_col, p.time_col, p.amount_col, p.name);
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

-- Segments and lifecycle of a materialized profile are stored as tallies
-- (counts and sums per segment or stage) that an incremental refresh
-- corrects: the changed customers' old rows scored as before go out, their
-- new rows scored now come in.  The published columns (shares, averages)
-- are computed from the tallies by the views, as the summaries compute
-- them from the customers.  weight (1 or -1) multiplies each group's sums,
-- not each row's values; lifecycle stages are grouped as the enum (hashed
-- faster than its text) and named after.
CREATE FUNCTION persona.profile_tally_sql(p persona.profiles, part text, src text, weight integer, breaks_sql text, as_of_sql text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE part
WHEN 'segments' THEN format($q$SELECT persona.rfm_segment(persona.rfm_score((%3$s - s.last_order_on)::float8, s.orders::float8,
                                                  persona.numeric_to_float8(s.revenue), %2$s), %4$L, %5$L) AS segment,
       (%6$s * count(*))::bigint AS customers, %6$s * sum(s.revenue) AS revenue,
       (%6$s * count(s.revenue))::bigint AS revenue_customers,
       (%6$s * sum(%3$s - s.last_order_on))::bigint AS recency_days, (%6$s * sum(s.orders))::bigint AS orders,
       %3$s AS as_of
FROM %1$s s WHERE s.orders > 0 GROUP BY 1$q$, src, breaks_sql, as_of_sql, p.scheme, p.language, weight)
WHEN 'lifecycle' THEN format($q$SELECT t.stage::text AS lifecycle, t.customers, t.revenue
FROM (SELECT persona.lifecycle_stage(s.first_order_on, s.last_order_on, s.purchase_days::bigint, %2$s,
                                     s.mean_gap_days, %3$s, %4$s, %5$s, %6$s, %7$s, %8$s, %9$s) AS stage,
             (%10$s * count(*))::bigint AS customers, coalesce(%10$s * sum(s.revenue), 0) AS revenue
      FROM %1$s s WHERE s.orders > 0 GROUP BY 1) t$q$, src, as_of_sql,
    p.lifecycle_new_days, p.lifecycle_mature_purchases, persona.float8_sql(p.lifecycle_decline_factor), persona.float8_sql(p.lifecycle_churn_factor),
    p.lifecycle_min_days, p.lifecycle_decline_days, p.lifecycle_churn_days, weight) END;
COMMENT ON FUNCTION persona.profile_tally_sql(persona.profiles, text, text, integer, text, text) IS
  'SQL of the segments or lifecycle tallies of state rows, each counted weight times (1 or -1), scored with the given cut points and day';

-- What the tallies depend on besides the customers and the cut points: an
-- incremental refresh corrects them only while it is unchanged.
CREATE FUNCTION persona.profile_tally_digest(p persona.profiles) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN md5(concat_ws('|', p.scheme, p.language, p.bins, p.lifecycle_new_days, p.lifecycle_mature_purchases,
                     persona.float8_sql(p.lifecycle_decline_factor), persona.float8_sql(p.lifecycle_churn_factor), p.lifecycle_min_days,
                     p.lifecycle_decline_days, p.lifecycle_churn_days,
                     (SELECT string_agg(r::text, ',' ORDER BY r::text) FROM persona.segment_rules r WHERE r.scheme = p.scheme)));
COMMENT ON FUNCTION persona.profile_tally_digest(persona.profiles) IS
  'Digest of the scheme''s rules, the language, the RFM scale and the lifecycle thresholds a profile''s tallies were computed with';

-- SQL of a profile's segments or lifecycle tallies from every state row,
-- scored with the globals row's cut points and day.
CREATE FUNCTION persona.profile_tally_all_sql(p persona.profiles, part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN persona.profile_tally_sql(p, part, persona.profile_rel(p, '__state'), 1,
                                 format('(SELECT g.breaks FROM %s g)', persona.profile_rel(p, '__globals')),
                                 format('(SELECT g.as_of FROM %s g)', persona.profile_rel(p, '__globals')));
COMMENT ON FUNCTION persona.profile_tally_all_sql(persona.profiles, text) IS
  'SQL of a profile''s segments or lifecycle tallies from every state row, with the globals row''s cut points and day';

-- Recompute (changes NULL) or correct (changes: SQL of the weighted tally
-- rows to add) a profile's segments or lifecycle tallies.
CREATE FUNCTION persona.profile_tally_apply(p persona.profiles, part text, changes text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    tally text := persona.profile_rel(p, '__' || part);
    key text := CASE part WHEN 'segments' THEN 'segment' ELSE 'lifecycle' END;
    sums text := CASE part WHEN 'segments' THEN 'sum(customers), sum(revenue), sum(revenue_customers), sum(recency_days), sum(orders), max(as_of)'
                           ELSE 'sum(customers), sum(revenue)' END;
    setup_cost text := current_setting('parallel_setup_cost');
    tuple_cost text := current_setting('parallel_tuple_cost');
BEGIN
    IF changes IS NULL THEN
        -- Every state row scored and counted in parallel workers (0.55 ->
        -- 0.31 s for 1M customers' segments): an INSERT's query runs in one
        -- process, a CREATE TABLE AS's does not; and the planner, which
        -- cannot know that a computed key has a dozen values, takes a tenth
        -- of the rows as groups and finds workers not worth their rows
        -- unless those are free.  (max_parallel_workers_per_gather still
        -- decides.)
        PERFORM persona.profile_drop_temp(ARRAY['persona_profile_tally']);
        PERFORM set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true);
        EXECUTE format('CREATE TEMP TABLE persona_profile_tally ON COMMIT DROP AS %s', persona.profile_tally_all_sql(p, part));
        PERFORM set_config('parallel_setup_cost', setup_cost, true), set_config('parallel_tuple_cost', tuple_cost, true);
        EXECUTE format('DELETE FROM %s', tally);
        EXECUTE format('INSERT INTO %s SELECT * FROM pg_temp.persona_profile_tally', tally);
        DROP TABLE pg_temp.persona_profile_tally;
        RETURN;
    END IF;
    EXECUTE format('INSERT INTO %s %s', tally, changes);
    EXECUTE format('WITH d AS (DELETE FROM %1$s RETURNING *) INSERT INTO %1$s SELECT %2$I, %3$s FROM d GROUP BY %2$I HAVING sum(customers) <> 0',
                   tally, key, sums);
END $$;
COMMENT ON FUNCTION persona.profile_tally_apply(persona.profiles, text, text) IS
  'Recompute a profile''s segments or lifecycle tallies from its state rows, or add weighted tally rows to them';

-- The published segments and lifecycle summaries from the tallies.
CREATE FUNCTION persona.profile_tally_view_sql(p persona.profiles, part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE part
WHEN 'segments' THEN format($q$SELECT t.segment, t.customers, t.customers::float8 / sum(t.customers) OVER () AS customer_share,
       v.revenue, (v.revenue / nullif(sum(v.revenue) OVER (), 0))::float8 AS revenue_share,
       (t.recency_days::numeric / t.customers)::float8 AS avg_recency_days,
       (t.orders::numeric / t.customers)::float8 AS avg_orders,
       (v.revenue / nullif(t.revenue_customers, 0))::float8 AS avg_revenue,
       t.customers::float8 / sum(t.customers) OVER () < 0.05 AS below_5_percent,
       t.as_of
FROM %s t, LATERAL (SELECT CASE WHEN t.revenue_customers > 0 THEN t.revenue END AS revenue) v$q$,
    persona.profile_rel(p, '__segments'))
WHEN 'lifecycle' THEN format($q$SELECT st::text AS lifecycle, persona.label(st, %L) AS label,
       array_position(enum_range(NULL::persona.lifecycle), st) AS stage_order,
       coalesce(t.customers, 0) AS customers,
       coalesce(t.customers, 0)::float8 / nullif(sum(coalesce(t.customers, 0)) OVER (), 0) AS customer_share,
       coalesce(t.revenue, 0) AS revenue
FROM unnest(enum_range(NULL::persona.lifecycle)) st LEFT JOIN %s t ON t.lifecycle = st::text$q$,
    p.language, persona.profile_rel(p, '__lifecycle')) END;
COMMENT ON FUNCTION persona.profile_tally_view_sql(persona.profiles, text) IS
  'SQL of a materialized profile''s published segments or lifecycle summary from its tallies';

-- Unique key of each materialized summary, for REFRESH ... CONCURRENTLY.
CREATE FUNCTION persona.profile_summary_key(part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE part WHEN 'segments' THEN 'segment' WHEN 'lifecycle' THEN 'lifecycle' WHEN 'pareto' THEN 'profile'
                 WHEN 'models' THEN 'model, parameter' WHEN 'quality' THEN 'check_name'
                 WHEN 'holdout' THEN 'frequency' WHEN 'funnel' THEN 'stage' END;
COMMENT ON FUNCTION persona.profile_summary_key(text) IS 'Unique columns of a profile summary relation';

-- The customers view: scored rows, attributes (masked), tags from the
-- enabled rules of persona.tag_rules whose source is this view.
CREATE FUNCTION persona.profile_customers_view(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    view_name text := persona.profile_rel(p, '_customers');
    view_oid regclass := to_regclass(view_name);
    guarded_rel text := persona.profile_rel(p, '__guarded');
    attr_sql text := '';
    attr_names text := '';
    join_sql text := '';
    arms text := '';
    col text;
    kind text;
    typ oid;
    r record;
    sql text;
BEGIN
    IF p.attributes_from IS NOT NULL THEN
        FOREACH col IN ARRAY p.attributes LOOP
            IF col = 'tags' OR EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = persona.profile_rel(p, '__scored')::regclass
                                         AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'attribute "%" has the name of a column of the profile', col USING ERRCODE = 'duplicate_column',
                    HINT = 'Attributes are shown under their own names beside the profile''s columns: rename it in a view over the attribute table.';
            END IF;
            attr_names := attr_names || format(', s.%I', col);
            typ := persona.profile_column_type(p.attributes_from, col);
            kind := p.pii ->> col;
            IF kind IS NOT NULL AND p.mask_pii THEN
                -- the function name comes from this list, never from the registry's text
                attr_sql := attr_sql || format(', %s(a.%I::text) AS %I',
                    CASE kind WHEN 'phone' THEN 'persona.mask_phone' WHEN 'name' THEN 'persona.mask_name'
                              WHEN 'email' THEN 'persona.mask_email' WHEN 'id' THEN 'persona.mask_id' END, col, col);
                IF kind NOT IN ('phone', 'name', 'email', 'id') THEN
                    RAISE EXCEPTION 'unknown mask kind "%" for pii column "%"', kind, col USING ERRCODE = 'invalid_parameter_value',
                        HINT = 'Use phone, name, email or id.';
                END IF;
            ELSIF typ >= 16384 OR typ IN ('money'::regtype) THEN
                -- a type of an extension or the user: its text, which every driver reads
                attr_sql := attr_sql || format(', a.%I::text AS %I', col, col);
            ELSE
                attr_sql := attr_sql || format(', a.%I', col);
            END IF;
        END LOOP;
        join_sql := format(' LEFT JOIN %s a ON a.%I = %s.customer_id', p.attributes_from, p.customer_col,
                           CASE WHEN p.materialized THEN 's' ELSE 'c' END);
    END IF;
    IF view_oid IS NOT NULL THEN
        FOR r IN SELECT tag, rule_sql FROM persona.tag_rules
                 WHERE source = view_oid AND enabled ORDER BY layer, tag
        LOOP
            -- checked again: the profile's columns may have changed since the rule was stored
            PERFORM persona.check_tag_rule(view_oid, r.rule_sql);
            arms := arms || format(E',\n        CASE WHEN (%s\n) THEN %L END', r.rule_sql, r.tag);
        END LOOP;
    END IF;
    IF p.materialized THEN
        -- The reader's check and the stored rows it guards (with their
        -- attributes) behind a security barrier: nothing of them reaches a
        -- reader's function before the check, and the planner reads no
        -- statistics of them for one.  The measures are computed over it,
        -- outside: with the globals row's InitPlans there and the barrier
        -- view free of them, a read of every customer aggregates in
        -- parallel workers (a barrier subquery with InitPlans gets no
        -- parallel paths in PostgreSQL 15).
        sql := format(E'CREATE OR REPLACE VIEW %s WITH (security_barrier) AS\nSELECT %s%s FROM %s s%s\nWHERE persona.profile_guard(%L::regclass, %L, true);\n',
                      guarded_rel,
                      (SELECT string_agg(format('s.%I', a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                       WHERE a.attrelid = persona.profile_rel(p, '__state')::regclass AND a.attnum > 0 AND NOT a.attisdropped
                         AND a.attname NOT IN ('stats_state', 'habits_state')),
                      attr_sql, persona.profile_rel(p, '__state'), join_sql, p.orders::text, p.name)
            || format(E'CREATE OR REPLACE VIEW %s AS\nSELECT b.*, array_remove(ARRAY[NULL::text%s], NULL) AS tags\nFROM (%s) b;\n',
                      view_name, arms, persona.profile_scored_sql(p, guarded_rel, persona.profile_rel(p, '__globals'), attr_names))
            -- (a view of an earlier version had the barrier, which replacing it keeps)
            || format('ALTER VIEW %s RESET (security_barrier)', view_name);
    ELSE
        sql := format(E'CREATE OR REPLACE VIEW %s WITH (security_barrier, security_invoker) AS\nSELECT b.*, array_remove(ARRAY[NULL::text%s], NULL) AS tags\nFROM (SELECT c.*%s FROM %s c%s) b\nWHERE persona.profile_guard(%L::regclass, %L, false)',
                      view_name, arms, attr_sql, persona.profile_rel(p, '__scored'), join_sql, p.orders::text, p.name);
    END IF;
    -- Replacing a view waits for its readers and makes new ones wait: only
    -- when the rules or attributes changed.
    IF view_oid IS NOT NULL AND md5(sql) = (SELECT view_version FROM persona.profiles WHERE name = p.name) THEN
        RETURN;
    END IF;
    EXECUTE sql;
    UPDATE persona.profiles SET view_version = md5(sql) WHERE name = p.name;
    EXECUTE format('COMMENT ON VIEW %s IS %L', view_name,
                   format('persona profile %s: one row per customer (built-in types only; as of its as_of day, time zone %s)', p.name, p.time_zone));
    IF p.materialized THEN
        EXECUTE format('COMMENT ON VIEW %s IS %L', guarded_rel,
                       format('persona profile %s (internal): the stored per-customer rows and attributes, for readers who may read orders', p.name));
    END IF;
END $$;
COMMENT ON FUNCTION persona.profile_customers_view(persona.profiles) IS
  'Create or replace a profile''s customers view with its attributes and the current tag rules';

-- The weighted-rows columns of a materialized profile's globals table,
-- stored uncompressed: they are rewritten by every refresh, and sorted
-- float8 rows gain little from compression but cost its time.
CREATE FUNCTION persona.profile_rows_columns(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    col text;
    -- Every refresh rewrites the rows (30 MB for a million customers): lz4
    -- writes a third of that in two thirds of the time; pglz would cost
    -- more than it saves, so without lz4 they are stored uncompressed.
    storage text := CASE WHEN (SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression')
                         THEN 'SET STORAGE EXTENDED, ALTER COLUMN %2$I SET COMPRESSION lz4' ELSE 'SET STORAGE EXTERNAL' END;
BEGIN
    FOREACH col IN ARRAY ARRAY['r_rows', 'f_rows', 'm_rows', 'history_rows', 'gamma_gamma_rows'] LOOP
        EXECUTE format('ALTER TABLE %1$s ADD COLUMN IF NOT EXISTS %2$I float8[], ALTER COLUMN %2$I ' || storage,
                       persona.profile_rel(p, '__globals'), col);
    END LOOP;
    -- what the segments and lifecycle tallies were computed with (profile_tally_digest)
    EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS tally_digest text', persona.profile_rel(p, '__globals'));
END $$;
COMMENT ON FUNCTION persona.profile_rows_columns(persona.profiles) IS
  'Add the weighted-rows columns (r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows) and tally_digest to a materialized profile''s globals table';

-- SQL of one row of weighted rows: base (SQL of a row with the rows
-- columns, e.g. the previous globals row; NULL: none) plus changes_sql.
CREATE FUNCTION persona.profile_rows_merge_sql(base text, changes_sql text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$SELECT persona.weighted_rows(b.r_rows, c.r_rows) AS r_rows,
       persona.weighted_rows(b.f_rows, c.f_rows) AS f_rows,
       persona.weighted_rows(b.m_rows, c.m_rows) AS m_rows,
       persona.weighted_rows(b.history_rows, c.history_rows) AS history_rows,
       persona.weighted_rows(b.gamma_gamma_rows, c.gamma_gamma_rows) AS gamma_gamma_rows
FROM (%s) c, %s b$q$, changes_sql,
    coalesce(base, '(SELECT NULL::float8[] AS r_rows, NULL::float8[] AS f_rows, NULL::float8[] AS m_rows, NULL::float8[] AS history_rows, NULL::float8[] AS gamma_gamma_rows)'));
COMMENT ON FUNCTION persona.profile_rows_merge_sql(text, text) IS
  'SQL of one row of weighted rows: a base row''s rows (NULL: none) with changes merged';

-- A materialized profile's stored summary, empty: the tallies table of
-- segments or lifecycle (customers and sums that incremental refreshes
-- correct), else a materialized view with the unique index that REFRESH
-- ... CONCURRENTLY needs.
CREATE FUNCTION persona.profile_create_summary(p persona.profiles, part text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    rel text := persona.profile_rel(p, '__' || part);
BEGIN
    IF part IN ('segments', 'lifecycle') THEN
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', rel, persona.profile_tally_all_sql(p, part));
        EXECUTE format('COMMENT ON TABLE %s IS %L', rel,
                       format('persona profile %s (internal): %s tallies (customers and sums), corrected by incremental refreshes', p.name, part));
    ELSE
        EXECUTE format('CREATE MATERIALIZED VIEW %s AS %s WITH NO DATA', rel, persona.profile_summary_sql(p, part));
        EXECUTE format('CREATE UNIQUE INDEX ON %s (%s)', rel, persona.profile_summary_key(part));
        EXECUTE format('COMMENT ON MATERIALIZED VIEW %s IS %L', rel,
                       format('persona profile %s (internal): stored %s summary, refreshed concurrently', p.name, part));
    END IF;
    -- read through the published view only
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', rel);
    -- made by a refresh a superuser ran: the owner's all the same
    IF p.owner <> current_user THEN
        EXECUTE format('ALTER %s %s OWNER TO %I', CASE WHEN part IN ('segments', 'lifecycle') THEN 'TABLE' ELSE 'MATERIALIZED VIEW' END,
                       rel, p.owner);
    END IF;
END $$;
COMMENT ON FUNCTION persona.profile_create_summary(persona.profiles, text) IS
  'Create a materialized profile''s stored segments or lifecycle tallies table, or stored summary materialized view (no data)';

-- A profile's published summary view <name>_<part>, created or replaced
-- with the same columns (views of users over it survive): over the stored
-- summary of a materialized profile (models: over its globals row), else
-- computed by every read as the reader.
CREATE FUNCTION persona.profile_summary_view(p persona.profiles, part text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    guard text := format('persona.profile_guard(%L::regclass, %L, %L)', p.orders::text, p.name, p.materialized);
BEGIN
    EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_barrier%s) AS SELECT * FROM %s s WHERE %s',
                   persona.profile_rel(p, '_' || part), CASE WHEN p.materialized THEN '' ELSE ', security_invoker' END,
                   CASE WHEN p.materialized AND part IN ('segments', 'lifecycle') THEN format('(%s)', persona.profile_tally_view_sql(p, part))
                        WHEN p.materialized AND part <> 'models' THEN persona.profile_rel(p, '__' || part)
                        ELSE format('(%s)', persona.profile_summary_sql(p, part)) END,
                   guard);
    EXECUTE format('COMMENT ON VIEW %s IS %L', persona.profile_rel(p, '_' || part),
                   format('persona profile %s: %s summary (built-in types only)', p.name, part));
END $$;
COMMENT ON FUNCTION persona.profile_summary_view(persona.profiles, text) IS
  'Create or replace a profile''s published summary view (segments, lifecycle, pareto, models, quality, holdout, funnel)';

-- A stored summary made anew under its name (empty until the next
-- refresh): the old one renamed, the new one created, the published view
-- pointed at it, the old one dropped.  Views of users over the published
-- view survive.
CREATE FUNCTION persona.profile_replace_summary(p persona.profiles, part text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    old_name text := p.name || '__' || part || '_old';
    kind text := CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = persona.profile_rel(p, '__' || part)::regclass)
                 WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END;
BEGIN
    EXECUTE format('ALTER %s %s RENAME TO %I', kind, persona.profile_rel(p, '__' || part), old_name);
    PERFORM persona.profile_create_summary(p, part);
    PERFORM persona.profile_summary_view(p, part);
    EXECUTE format('DROP %s %I.%I', kind, p.schema_name, old_name);
END $$;
COMMENT ON FUNCTION persona.profile_replace_summary(persona.profiles, text) IS
  'Replace a materialized profile''s stored summary by a new empty one under the same name, keeping the published view''s columns';

-- The internal views a profile's rows are computed through, created or
-- replaced with the same columns: per-customer states and the globals row
-- (materialized profiles store them in tables instead) and the scored
-- per-customer measures.
CREATE FUNCTION persona.profile_define_views(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    state_rel text := persona.profile_rel(p, '__state');
    globals_rel text := persona.profile_rel(p, '__globals');
    scored_rel text := persona.profile_rel(p, '__scored');
    as_of_sql text := persona.profile_as_of_sql(p);
BEGIN
    IF NOT p.materialized THEN
        EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker) AS %s', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, as_of_sql, NULL), as_of_sql));
        EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker) AS %s', globals_rel,
                       persona.profile_globals_sql(p, state_rel, as_of_sql, 'models' = ANY (p.parts)));
        EXECUTE format('COMMENT ON VIEW %s IS %L', state_rel, format('persona profile %s (internal): per-customer statistics computed from orders', p.name));
        EXECUTE format('COMMENT ON VIEW %s IS %L', globals_rel, format('persona profile %s (internal): as-of day, cut points and fits computed from orders', p.name));
    END IF;
    EXECUTE format('CREATE OR REPLACE VIEW %s%s AS %s', scored_rel, CASE WHEN p.materialized THEN '' ELSE ' WITH (security_invoker)' END,
                   persona.profile_scored_sql(p, state_rel, globals_rel));
    EXECUTE format('COMMENT ON VIEW %s IS %L', scored_rel, format('persona profile %s (internal): per-customer measures as of the as-of day', p.name));
END $$;
COMMENT ON FUNCTION persona.profile_define_views(persona.profiles) IS
  'Create or replace a profile''s internal views: states and globals (when not materialized) and the scored per-customer measures';

-- The settings of a registry row that the SQL of a profile's relations is
-- written with (the other options shape the relations and cannot change,
-- profile_check_update).  Text that reads the same in every session.
CREATE FUNCTION persona.profile_definition_digest(p persona.profiles) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN md5(concat_ws('|', persona.profile_date_sql(p.as_of), p.time_zone, p.language, p.bins, p.scheme,
                     p.lifecycle_new_days, p.lifecycle_mature_purchases,
                     persona.float8_sql(p.lifecycle_decline_factor), persona.float8_sql(p.lifecycle_churn_factor),
                     p.lifecycle_min_days, p.lifecycle_decline_days, p.lifecycle_churn_days, p.holdout_days));
COMMENT ON FUNCTION persona.profile_definition_digest(persona.profiles) IS
  'Digest of the settings a profile''s relations are defined with (as_of, time_zone, language, bins, scheme, lifecycle thresholds, holdout_days)';

-- Settings changed in the registry since the relations were defined: the
-- views are replaced with the same columns and the stored summaries made
-- anew (computed by the refresh that follows).
CREATE FUNCTION persona.profile_redefine(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    part text;
BEGIN
    PERFORM persona.profile_define_views(p);
    IF p.incremental THEN
        PERFORM persona.profile_capture_function(p);
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part = 'customer_tags';
        IF p.materialized AND part NOT IN ('segments', 'lifecycle', 'models') THEN
            PERFORM persona.profile_replace_summary(p, part);
        ELSE
            PERFORM persona.profile_summary_view(p, part);
        END IF;
    END LOOP;
    UPDATE persona.profiles pr SET defined_with = persona.profile_definition_digest(p) WHERE pr.name = p.name;
END $$;
COMMENT ON FUNCTION persona.profile_redefine(persona.profiles) IS
  'Redefine a profile''s views and stored summaries with the settings of its registry row (no data)';

-- The settings a profile's row may hold, checked when it is created and
-- whenever the row is changed.
CREATE FUNCTION persona.profile_check_settings(p persona.profiles) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    c text;
BEGIN
    PERFORM persona.daypart_of(now(), p.time_zone);    -- 22023 for a zone persona does not accept
    IF p.language IS NULL OR p.language NOT IN ('en', 'zh') THEN
        RAISE EXCEPTION 'unknown language "%"', p.language USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''en'' or ''zh''.';
    END IF;
    IF p.as_of IN ('infinity', '-infinity') THEN
        RAISE EXCEPTION 'as_of must be a finite date' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p.bins IS NULL OR p.bins < 2 OR p.bins > 10 THEN
        RAISE EXCEPTION 'bins must be between 2 and 10' USING ERRCODE = 'invalid_parameter_value', DETAIL = format('bins is %s.', coalesce(p.bins::text, 'NULL'));
    END IF;
    PERFORM persona.rfm_segment(persona.rfm(1, 1, 1, p.bins), p.scheme);    -- unknown schemes raise here
    IF 'holdout' = ANY (p.parts) AND (p.holdout_days IS NULL OR p.holdout_days < 1) THEN
        RAISE EXCEPTION 'the holdout part needs holdout_days of at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the ranges of the persona.lifecycle_* settings create_profile records
    IF NOT (p.lifecycle_new_days BETWEEN 0 AND 36500 AND p.lifecycle_mature_purchases BETWEEN 2 AND 1000000
            AND p.lifecycle_decline_factor BETWEEN 0.01 AND 1000 AND p.lifecycle_churn_factor BETWEEN 0.01 AND 1000
            AND p.lifecycle_min_days BETWEEN 0 AND 36500 AND p.lifecycle_decline_days BETWEEN 1 AND 36500
            AND p.lifecycle_churn_days BETWEEN 1 AND 36500) THEN
        RAISE EXCEPTION 'lifecycle thresholds out of range' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('new_days %s, mature_purchases %s, decline_factor %s, churn_factor %s, min_days %s, decline_days %s, churn_days %s.',
                            p.lifecycle_new_days, p.lifecycle_mature_purchases, p.lifecycle_decline_factor, p.lifecycle_churn_factor,
                            p.lifecycle_min_days, p.lifecycle_decline_days, p.lifecycle_churn_days),
            HINT = 'The ranges are those of the persona.lifecycle_* settings: days 0 to 36500 (decline and churn days from 1), mature purchases 2 to 1000000, factors 0.01 to 1000.';
    END IF;
    -- 22023 for thresholds that do not fit together (churn_factor < decline_factor)
    PERFORM persona.lifecycle_stage(DATE '2000-01-01', DATE '2000-01-01', 1, DATE '2000-01-01', NULL,
                                    p.lifecycle_new_days, p.lifecycle_mature_purchases, p.lifecycle_decline_factor, p.lifecycle_churn_factor,
                                    p.lifecycle_min_days, p.lifecycle_decline_days, p.lifecycle_churn_days);
    -- the attribute columns shown and masked
    IF p.attributes_from IS NULL AND (p.attributes IS NOT NULL OR p.pii IS NOT NULL) THEN
        RAISE EXCEPTION 'attributes, pii and funnel_columns need attributes_from' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Name the customer attribute table with attributes_from.';
    END IF;
    IF p.attributes_from IS NOT NULL THEN
        IF p.attributes IS NULL OR array_position(p.attributes, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'attributes must name columns of %', p.attributes_from USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Use ''{}'' for none.';
        END IF;
        FOREACH c IN ARRAY p.attributes LOOP
            IF persona.profile_column_type(p.attributes_from, c) IS NULL THEN
                RAISE EXCEPTION 'column "%" does not exist in %', c, p.attributes_from USING ERRCODE = 'undefined_column';
            END IF;
        END LOOP;
    END IF;
    IF p.pii IS NOT NULL THEN
        IF jsonb_typeof(p.pii) <> 'object' THEN
            RAISE EXCEPTION 'pii must be a JSON object of column names and mask kinds' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'For example ''{"mobile": "phone", "real_name": "name"}''; kinds are phone, name, email and id.';
        END IF;
        FOR c IN SELECT key FROM jsonb_each_text(p.pii) LOOP
            IF NOT c = ANY (p.attributes) THEN
                RAISE EXCEPTION 'pii column "%" is not one of the attributes', c USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF p.pii ->> c IS NULL OR p.pii ->> c NOT IN ('phone', 'name', 'email', 'id') THEN
                RAISE EXCEPTION 'unknown mask kind "%" for pii column "%"', p.pii ->> c, c USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Use phone, name, email or id.';
            END IF;
        END LOOP;
    END IF;
END $$;
COMMENT ON FUNCTION persona.profile_check_settings(persona.profiles) IS
  'Error unless a profile''s time zone, language, as_of, bins, scheme, holdout_days, lifecycle thresholds, attributes and pii are valid';

-- A registry row changed by hand: its settings take effect at the next
-- refresh and are checked now; what the relations are made of cannot
-- change (the relations would no longer match it).
CREATE FUNCTION persona.profile_check_update() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    col text;
BEGIN
    -- (attributes, pii and mask_pii too: the customers view's columns would
    -- change, which views of users over it forbid)
    FOREACH col IN ARRAY ARRAY['name', 'schema_name', 'orders', 'customer_col', 'time_col', 'amount_col', 'key_type',
                               'materialized', 'incremental', 'parts', 'attributes_from', 'attributes', 'pii', 'mask_pii',
                               'funnel_columns', 'owner', 'created_at'] LOOP
        IF to_jsonb(OLD) -> col IS DISTINCT FROM to_jsonb(NEW) -> col THEN
            RAISE EXCEPTION 'column "%" of profile "%" cannot be changed', col, OLD.name USING ERRCODE = 'feature_not_supported',
                DETAIL = 'The profile''s relations are built from it.',
                HINT = 'Drop the profile with persona.drop_profile and create it again; as_of, time_zone, language, bins, scheme, holdout_days and the lifecycle thresholds can be changed in place and take effect at the next refresh.';
        END IF;
    END LOOP;
    -- (the refreshes write the row too: its settings are checked only when changed)
    IF persona.profile_definition_digest(NEW) IS DISTINCT FROM persona.profile_definition_digest(OLD) THEN
        PERFORM persona.profile_check_settings(NEW);
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION persona.profile_check_update() IS
  'Trigger function of persona.profiles: settings checked, the columns the relations are built from unchanged';
CREATE TRIGGER profile_check_update BEFORE UPDATE ON persona.profiles
    FOR EACH ROW EXECUTE FUNCTION persona.profile_check_update();
COMMENT ON TRIGGER profile_check_update ON persona.profiles IS
  'Checks a changed registry row (persona.profile_check_update)';

-- A materialized profile created by persona 0.5.0 or earlier, brought to
-- the layout of this version by its first refresh after the update (an
-- extension script cannot do it: what it creates would belong to the
-- extension): the globals gain the weighted rows, segments and lifecycle
-- become tallies, pareto reads the revenue rows.  The published views keep
-- their columns (CREATE OR REPLACE), so views of users over them survive.
-- Nothing to do for a profile of this version.
CREATE FUNCTION persona.profile_upgrade_layout(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    part text;
    rel text;
    capture regprocedure;
BEGIN
    IF NOT p.materialized THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = persona.profile_rel(p, '__globals')::regclass
                                                AND a.attname = 'r_rows' AND NOT a.attisdropped) THEN
        -- without rows the next refresh computes them (and the tallies) from the state rows
        PERFORM persona.profile_rows_columns(p);
        IF p.incremental THEN
            EXECUTE format('ALTER TABLE %s SET (fillfactor = 85)', persona.profile_rel(p, '__state'));
        END IF;
    ELSIF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = persona.profile_rel(p, '__globals')::regclass
                                                   AND a.attname = 'history_rows' AND NOT a.attisdropped) THEN
        -- an earlier build kept the BG/NBD rows of one day: the next refresh
        -- is a full one, which computes the purchase histories
        EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS bgnbd_rows', persona.profile_rel(p, '__globals'));
        PERFORM persona.profile_rows_columns(p);
        EXECUTE format('UPDATE %s SET needs_full = true', persona.profile_rel(p, '__globals'));
    END IF;
    -- the capture function of an earlier version, dropped with persona from
    -- now on as profile_capture_function makes it (where the refreshing
    -- role may alter it: its owner; made so again at each such refresh)
    capture := to_regprocedure(persona.profile_rel(p, '__capture') || '()');
    IF p.incremental AND EXISTS (SELECT FROM pg_proc f WHERE f.oid = capture AND pg_has_role(f.proowner, 'USAGE'))
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = capture
                                                 AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'x') THEN
        EXECUTE format('ALTER FUNCTION %s() DEPENDS ON EXTENSION persona', persona.profile_rel(p, '__capture'));
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part NOT IN ('segments', 'lifecycle', 'pareto');
        rel := persona.profile_rel(p, '__' || part);
        CONTINUE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = rel::regclass) = 'r'
                   OR (part = 'pareto' AND position('pareto_from_rows' IN pg_get_viewdef(rel::regclass)) > 0);
        PERFORM persona.profile_replace_summary(p, part);
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_upgrade_layout(persona.profiles) IS
  'Bring a materialized profile of persona 0.5.0 or earlier to this version''s relations (run by its next refresh)';

-- Drop the session's temporary tables of these names (a refresh run twice
-- in one transaction creates them again).
CREATE FUNCTION persona.profile_drop_temp(tables text[]) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF to_regclass('pg_temp.' || quote_ident(t)) IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', t);
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_drop_temp(text[]) IS
  'Drop the temporary tables of these names that the session has';

-- Create every relation of a profile from its registry row; no data is
-- computed here.
CREATE FUNCTION persona.profile_build(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    state_rel text := persona.profile_rel(p, '__state');
    globals_rel text := persona.profile_rel(p, '__globals');
    as_of_sql text := persona.profile_as_of_sql(p);
    part text;
    o text := p.orders::text;
BEGIN
    IF p.materialized THEN
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, as_of_sql, 'false'), as_of_sql));
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (customer_id)', state_rel);
        IF p.incremental THEN
            -- room on each page for the merged rows: their updates stay on
            -- the page (HOT, no new index entry), about twice as fast
            EXECUTE format('ALTER TABLE %s SET (fillfactor = 85)', state_rel);
        END IF;
        EXECUTE format('COMMENT ON TABLE %s IS %L', state_rel,
                       format('persona profile %s (internal): one row per customer, statistics that do not depend on the as-of day and the aggregate states that refreshes merge', p.name));
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', globals_rel,
                       persona.profile_globals_sql(p, state_rel, as_of_sql, true));
        EXECUTE format('ALTER TABLE %s ADD COLUMN needs_full boolean NOT NULL DEFAULT false', globals_rel);
        PERFORM persona.profile_rows_columns(p);
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
    END IF;
    PERFORM persona.profile_define_views(p);
    PERFORM persona.profile_customers_view(p);
    IF 'customer_tags' = ANY (p.parts) THEN
        -- (materialized: no barrier of its own, its rows are the customers
        -- view's, whose stored rows are behind one; with it every read
        -- would run in one process, the customers view's InitPlans inside)
        EXECUTE format($q$CREATE VIEW %s%s AS
SELECT c.customer_id, t.tag, r.layer::text AS layer, r.description
FROM %s c CROSS JOIN LATERAL unnest(c.tags) t(tag)
LEFT JOIN persona.tag_rules r ON r.source = %L::regclass AND r.tag = t.tag$q$,
            persona.profile_rel(p, '_customer_tags'), CASE WHEN p.materialized THEN '' ELSE ' WITH (security_barrier, security_invoker)' END,
            persona.profile_rel(p, '_customers'), persona.profile_rel(p, '_customers'));
        EXECUTE format('COMMENT ON VIEW %s IS %L', persona.profile_rel(p, '_customer_tags'),
                       format('persona profile %s: one row per customer and tag', p.name));
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part = 'customer_tags';
        IF p.materialized AND part <> 'models' THEN
            PERFORM persona.profile_create_summary(p, part);
        END IF;
        PERFORM persona.profile_summary_view(p, part);
    END LOOP;
    -- The internal relations are read through the views only.
    FOR part IN SELECT c.oid::regclass::text FROM pg_class c
                WHERE c.relnamespace = p.schema_name::regnamespace AND c.relkind IN ('r', 'v', 'm') AND c.relname LIKE p.name || '\_\_%' LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', part);
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_build(persona.profiles) IS
  'Create the relations of a profile from its registry row (no data)';

-- The trigger function that records changes of orders for an incremental
-- profile, created or replaced (its SQL holds the profile's time zone).  It
-- belongs to the profile owner and runs with the owner's rights, so writers
-- of orders need no privileges on the profile.
CREATE FUNCTION persona.profile_capture_function(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    fn text := persona.profile_rel(p, '__capture');
    pending text := persona.profile_rel(p, '__pending');
    dirty text := persona.profile_rel(p, '__dirty');
BEGIN
    EXECUTE format($f$CREATE OR REPLACE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO %2$s SELECT n.%4$I, %6$s, n.%5$I::numeric FROM new_rows n WHERE n.%4$I IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO %3$s SELECT o.%4$I FROM old_rows o WHERE o.%4$I IS NOT NULL
                      UNION SELECT n.%4$I FROM new_rows n WHERE n.%4$I IS NOT NULL
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO %3$s SELECT DISTINCT o.%4$I FROM old_rows o WHERE o.%4$I IS NOT NULL ON CONFLICT DO NOTHING;
    ELSE
        UPDATE %7$s SET needs_full = true;
    END IF;
    RETURN NULL;
END $body$ $f$, fn, pending, dirty, p.customer_col, p.amount_col,
        persona.profile_time_sql(p, 'n.'), persona.profile_rel(p, '__globals'));
    EXECUTE format('COMMENT ON FUNCTION %s() IS %L', fn,
                   format('persona profile %s (internal): records changes of %s for incremental refresh', p.name, p.orders));
    EXECUTE format('REVOKE ALL ON FUNCTION %s() FROM PUBLIC', fn);
    -- dropped with persona (DROP EXTENSION ... CASCADE then drops the
    -- triggers too: orders is no longer captured into a table nobody
    -- merges); CREATE OR REPLACE forgets the dependency, so it is made here
    EXECUTE format('ALTER FUNCTION %s() DEPENDS ON EXTENSION persona', fn);
END $$;
COMMENT ON FUNCTION persona.profile_capture_function(persona.profiles) IS
  'Create or replace the trigger function that records changes of orders for an incremental profile';

-- The statement triggers on orders that record its changes for incremental
-- refresh.
CREATE FUNCTION persona.profile_capture_triggers(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    fn text := persona.profile_rel(p, '__capture');
    trg text := 'persona_' || p.name;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = p.orders) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'incremental profiles need orders to be a table' USING ERRCODE = 'wrong_object_type',
            DETAIL = format('%s is not a table; changes of a view cannot be captured.', p.orders),
            HINT = 'Use incremental => false (refresh_profile recomputes the profile), or build the profile on the table.';
    END IF;
    PERFORM persona.profile_capture_function(p);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
                   trg || '_insert', p.orders, fn);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
                   trg || '_update', p.orders, fn);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
                   trg || '_delete', p.orders, fn);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
                   trg || '_truncate', p.orders, fn);
END $$;
COMMENT ON FUNCTION persona.profile_capture_triggers(persona.profiles) IS
  'Create the statement triggers (transition tables) on orders that record changes for an incremental profile';

CREATE FUNCTION persona.create_profile(
    name            text,
    orders          regclass,
    customer_col    text     DEFAULT 'customer_id',
    time_col        text     DEFAULT 'ordered_at',
    amount_col      text     DEFAULT 'amount',
    schema          name     DEFAULT NULL,
    as_of           date     DEFAULT NULL,
    time_zone       text     DEFAULT NULL,
    language        text     DEFAULT NULL,
    materialized    boolean  DEFAULT true,
    incremental     boolean  DEFAULT false,
    bins            integer  DEFAULT 5,
    scheme          text     DEFAULT 'standard',
    parts           text[]   DEFAULT NULL,
    attributes_from regclass DEFAULT NULL,
    attributes      text[]   DEFAULT NULL,
    pii             jsonb    DEFAULT NULL,
    mask_pii        boolean  DEFAULT true,
    funnel_columns  text[]   DEFAULT NULL,
    holdout_days    integer  DEFAULT NULL)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    p persona.profiles;
    c text;
    t regtype;
    all_parts constant text[] := ARRAY['customer_tags', 'segments', 'lifecycle', 'pareto', 'models', 'quality', 'holdout', 'funnel'];
    started timestamptz := clock_timestamp();
BEGIN
    IF name IS NULL OR orders IS NULL OR customer_col IS NULL OR time_col IS NULL OR amount_col IS NULL
       OR materialized IS NULL OR incremental IS NULL OR bins IS NULL OR scheme IS NULL OR mask_pii IS NULL THEN
        RAISE EXCEPTION 'arguments of create_profile must not be NULL' USING ERRCODE = 'null_value_not_allowed',
            DETAIL = 'Only schema, as_of, time_zone, language, parts, attributes_from, attributes, pii, funnel_columns and holdout_days may be NULL.';
    END IF;
    IF name !~ '^[a-z][a-z0-9_]*$' OR octet_length(name) > 40 OR name ~ '__' THEN
        RAISE EXCEPTION 'invalid profile name "%"', name USING ERRCODE = 'invalid_name',
            DETAIL = 'A profile name is a lower-case letter followed by lower-case letters, digits and single underscores, at most 40 bytes: it prefixes the names of the profile''s relations.';
    END IF;
    IF EXISTS (SELECT FROM persona.profiles WHERE profiles.name = create_profile.name) THEN
        RAISE EXCEPTION 'profile "%" already exists', name USING ERRCODE = 'duplicate_object',
            HINT = 'Drop it with persona.drop_profile, or choose another name.';
    END IF;
    PERFORM persona.resolve_relation(orders);
    p.name := name;
    p.orders := orders;
    p.schema_name := coalesce(schema, current_schema());
    IF p.schema_name IS NULL THEN
        RAISE EXCEPTION 'no schema has been selected to create the profile in' USING ERRCODE = 'invalid_schema_name',
            HINT = 'Name one with schema =>, or set search_path.';
    END IF;
    IF to_regnamespace(p.schema_name) IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist', p.schema_name USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF p.schema_name IN ('persona', 'pg_catalog', 'information_schema') THEN
        RAISE EXCEPTION 'profiles cannot be created in schema "%"', p.schema_name USING ERRCODE = 'invalid_schema_name',
            HINT = 'Name a schema of your own with schema =>.';
    END IF;
    IF NOT has_schema_privilege(p.schema_name, 'CREATE') THEN
        RAISE EXCEPTION 'permission denied for schema %', p.schema_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- columns and their types
    FOREACH c IN ARRAY ARRAY[customer_col, time_col, amount_col] LOOP
        IF persona.profile_column_type(orders, c) IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', c, orders USING ERRCODE = 'undefined_column',
                HINT = 'Name the columns with customer_col, time_col and amount_col.';
        END IF;
    END LOOP;
    p.customer_col := customer_col;
    p.time_col := time_col;
    p.amount_col := amount_col;
    t := persona.profile_column_type(orders, customer_col);
    IF NOT persona.profile_key_has_opclass(t, 'btree') THEN
        RAISE EXCEPTION 'customer key column "%" of type % has no default btree operator class', customer_col, t
            USING ERRCODE = 'datatype_mismatch', HINT = 'Use a key of an ordered type (integer, text, uuid, ...), or cast it in a view.';
    END IF;
    p.key_type := format_type(t, (SELECT atttypmod FROM pg_attribute a WHERE a.attrelid = orders AND a.attname = customer_col));
    t := persona.profile_column_type(orders, time_col);
    IF t NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION 'time column "%" has type %', time_col, t USING ERRCODE = 'datatype_mismatch',
            DETAIL = 'The order time must be timestamptz, timestamp or date (timestamp and date are local times in the profile''s time zone).';
    END IF;
    t := persona.profile_column_type(orders, amount_col);
    IF NOT EXISTS (SELECT FROM pg_type ty WHERE ty.oid = t AND ty.typcategory = 'N') THEN
        RAISE EXCEPTION 'amount column "%" has type %', amount_col, t USING ERRCODE = 'datatype_mismatch',
            DETAIL = 'The order amount must be a number (numeric, integer or floating point).';
    END IF;
    -- values recorded once, so that reads and scheduled refreshes do not depend on the session
    p.time_zone := coalesce(time_zone, current_setting('TimeZone'));
    p.language := coalesce(language, current_setting('persona.language'));
    p.as_of := as_of;
    p.bins := bins;
    p.scheme := scheme;
    p.materialized := materialized;
    p.incremental := incremental;
    IF incremental AND NOT materialized THEN
        RAISE EXCEPTION 'an incremental profile must be materialized' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'A profile with materialized => false is computed by every read; there is nothing to refresh.';
    END IF;
    -- attributes
    p.attributes_from := attributes_from;
    p.mask_pii := mask_pii;
    IF attributes_from IS NOT NULL THEN
        PERFORM persona.resolve_relation(attributes_from);
        IF persona.profile_column_type(attributes_from, customer_col) IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', customer_col, attributes_from USING ERRCODE = 'undefined_column',
                DETAIL = 'The attribute table is joined on the customer key column of orders.';
        END IF;
        p.attributes := coalesce(attributes, ARRAY(
            SELECT a.attname::text FROM pg_attribute a
            WHERE a.attrelid = attributes_from AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> customer_col
            ORDER BY a.attnum));
    ELSIF funnel_columns IS NOT NULL THEN
        RAISE EXCEPTION 'attributes, pii and funnel_columns need attributes_from' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Name the customer attribute table with attributes_from.';
    ELSE
        p.attributes := attributes;
    END IF;
    p.pii := pii;
    -- parts
    p.parts := coalesce(parts, ARRAY['customer_tags', 'segments', 'lifecycle', 'pareto', 'models', 'quality']
                               || CASE WHEN holdout_days IS NOT NULL THEN ARRAY['holdout'] ELSE '{}' END
                               || CASE WHEN funnel_columns IS NOT NULL THEN ARRAY['funnel'] ELSE '{}' END);
    FOREACH c IN ARRAY p.parts LOOP
        IF c IS NULL OR NOT c = ANY (all_parts) THEN
            RAISE EXCEPTION 'unknown profile part "%"', c USING ERRCODE = 'invalid_parameter_value',
                HINT = format('Parts are %s.', array_to_string(all_parts, ', '));
        END IF;
    END LOOP;
    p.parts := ARRAY(SELECT DISTINCT x FROM unnest(p.parts) x ORDER BY x);
    IF 'funnel' = ANY (p.parts) THEN
        IF funnel_columns IS NULL OR cardinality(funnel_columns) <> 4 OR array_position(funnel_columns, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'the funnel part needs funnel_columns' USING ERRCODE = 'invalid_parameter_value',
                DETAIL = 'funnel_columns names four columns of attributes_from: visits, signed_up, is_member, referrals.';
        END IF;
        FOREACH c IN ARRAY funnel_columns LOOP
            IF persona.profile_column_type(attributes_from, c) IS NULL THEN
                RAISE EXCEPTION 'column "%" does not exist in %', c, attributes_from USING ERRCODE = 'undefined_column';
            END IF;
        END LOOP;
    END IF;
    p.funnel_columns := funnel_columns;
    IF 'holdout' = ANY (p.parts) THEN
        IF NOT materialized THEN
            RAISE EXCEPTION 'the holdout part needs a materialized profile' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF p.key_type NOT IN ('bigint', 'integer', 'smallint') THEN
            RAISE EXCEPTION 'the holdout part needs an integer customer key' USING ERRCODE = 'datatype_mismatch',
                DETAIL = format('The customer key has type %s.', p.key_type);
        END IF;
    END IF;
    p.holdout_days := holdout_days;
    p.lifecycle_new_days := current_setting('persona.lifecycle_new_days')::integer;
    p.lifecycle_mature_purchases := current_setting('persona.lifecycle_mature_purchases')::integer;
    p.lifecycle_decline_factor := current_setting('persona.lifecycle_decline_factor')::float8;
    p.lifecycle_churn_factor := current_setting('persona.lifecycle_churn_factor')::float8;
    p.lifecycle_min_days := current_setting('persona.lifecycle_min_days')::integer;
    p.lifecycle_decline_days := current_setting('persona.lifecycle_decline_days')::integer;
    p.lifecycle_churn_days := current_setting('persona.lifecycle_churn_days')::integer;
    PERFORM persona.profile_check_settings(p);
    p.owner := current_user;
    p.created_at := now();
    p.defined_with := persona.profile_definition_digest(p);
    IF EXISTS (SELECT FROM pg_class cl WHERE cl.relnamespace = p.schema_name::regnamespace
               AND (cl.relname = p.name || '_customers' OR cl.relname LIKE p.name || '\_\_%')) THEN
        RAISE EXCEPTION 'relation "%" already exists', p.name || '_customers' USING ERRCODE = 'duplicate_table',
            HINT = 'Choose another profile name or schema.';
    END IF;
    INSERT INTO persona.profiles SELECT (p).*;
    PERFORM persona.profile_progress(format('persona profile %s: creating relations in schema %s', p.name, p.schema_name));
    PERFORM persona.profile_build(p);
    IF materialized THEN
        PERFORM persona.refresh_profile(name, false);
    END IF;
    PERFORM persona.profile_progress(format('persona profile %s: created in %s ms', p.name,
                                            round(extract(epoch FROM clock_timestamp() - started) * 1000)));
    RETURN QUERY SELECT cl.oid::regclass FROM pg_class cl
                 WHERE cl.relnamespace = p.schema_name::regnamespace AND cl.relname LIKE p.name || '\_%'
                   AND cl.relname NOT LIKE p.name || '\_\_%'
                 ORDER BY cl.relname;
END $$;
COMMENT ON FUNCTION persona.create_profile(text, regclass, text, text, text, name, date, text, text, boolean, boolean, integer, text, text[], regclass, text[], jsonb, boolean, text[], integer) IS
  'Create a profile: flat views <name>_customers, _customer_tags, _segments, _lifecycle, _pareto, _models, _quality (and _holdout, _funnel) with built-in column types, registered in persona.profiles and refreshed once';

-- The sources a refresh reads, checked first so that a scheduled refresh
-- records an error naming the profile's option rather than a query's alias.
CREATE FUNCTION persona.profile_check_sources(p persona.profiles) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    i integer;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class WHERE oid = p.orders) THEN
        RAISE EXCEPTION 'the orders relation of profile "%" no longer exists', p.name USING ERRCODE = 'undefined_table',
            HINT = 'Drop the profile with persona.drop_profile and create it again on the new relation.';
    END IF;
    FOR i IN 1..3 LOOP
        IF persona.profile_column_type(p.orders, (ARRAY[p.customer_col, p.time_col, p.amount_col])[i]) IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', (ARRAY[p.customer_col, p.time_col, p.amount_col])[i], p.orders
                USING ERRCODE = 'undefined_column',
                      DETAIL = format('Profile "%s" reads it as its %s.', p.name, (ARRAY['customer_col', 'time_col', 'amount_col'])[i]),
                      HINT = 'Rename the column back, or drop the profile and create it with the new column name.';
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_check_sources(persona.profiles) IS
  'Error naming the option when the orders relation or a column a profile reads is gone';

-- Refresh in dependency order: per-customer states, then the globals row
-- computed from them, then the materialized summaries (concurrently, so
-- readers are never blocked).  One transaction: readers see the old profile
-- or the new one.
-- Write a materialized profile's globals row.  changes_sql: SQL of one
-- row of weighted-row changes (profile_rows_changes), which correct the
-- previous row's weighted rows; NULL: the rows from every state row.
-- warm: the fits start at the previous row's.  A fit that fails leaves
-- the models NULL (a WARNING says why).
CREATE FUNCTION persona.profile_write_globals(p persona.profiles, day_sql text, changes_sql text, warm boolean)
RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    globals_rel text := persona.profile_rel(p, '__globals');
    cols text := 'as_of, time_zone, language, breaks, gold_min, diamond_min, bgnbd, gamma_gamma, r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows';
    rows_sql text;
    start_sql text;
    fit boolean;
    merge_rows boolean := changes_sql IS NOT NULL;
    old_row tid;
    spend_q float8;
    -- every customer's rows (not merging)
    r_rows float8[];
    f_rows float8[];
    m_rows float8[];
    history_rows float8[];
    gamma_gamma_rows float8[];
BEGIN
    IF merge_rows THEN
        rows_sql := persona.profile_rows_merge_sql('(SELECT g.r_rows, g.f_rows, g.m_rows, g.history_rows, g.gamma_gamma_rows)', changes_sql);
        start_sql := '(SELECT g.bgnbd, g.gamma_gamma)';
    ELSE
        -- The rows of every state row, by a query of their own: parallel
        -- workers aggregate their shares (an INSERT's query would run in
        -- one process), 0.98 -> 0.67 s for 1M customers.
        EXECUTE persona.profile_rows_sql(p, format('(SELECT s.*, 1 AS w FROM %s s)', persona.profile_rel(p, '__state')))
            INTO r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows;
        rows_sql := persona.profile_rows_merge_sql(NULL, 'SELECT $1 AS r_rows, $2 AS f_rows, $3 AS m_rows, $4 AS history_rows, $5 AS gamma_gamma_rows');
        IF warm THEN
            -- the previous fits as literals: the row is replaced
            EXECUTE format('SELECT format(''(SELECT %%L::persona.bgnbd AS bgnbd, %%L::persona.gamma_gamma AS gamma_gamma)'', bgnbd, gamma_gamma) FROM %s',
                           globals_rel) INTO start_sql;
        END IF;
    END IF;
    FOREACH fit IN ARRAY CASE WHEN 'models' = ANY (p.parts) THEN ARRAY[true, false] ELSE ARRAY[false] END LOOP
        BEGIN
            IF merge_rows THEN
                -- The new row next to the old one, then the old one out:
                -- an UPDATE's subquery or join would copy the 30 MB row of
                -- weighted rows once more (a multiple-column subquery keeps
                -- its result row; a FROM item is kept whole for rechecks).
                EXECUTE format('SELECT ctid FROM %s', globals_rel) INTO STRICT old_row;
                EXECUTE format('INSERT INTO %1$s (%2$s, needs_full, tally_digest) SELECT x.*, false, g.tally_digest FROM %1$s g, LATERAL (%3$s) x WHERE g.ctid = $1',
                               globals_rel, cols, persona.profile_globals_rows_sql(p, rows_sql, day_sql, fit, start_sql))
                    USING old_row;
                EXECUTE format('DELETE FROM %s WHERE ctid = $1', globals_rel) USING old_row;
            ELSE
                EXECUTE format('DELETE FROM %s', globals_rel);
                EXECUTE format('INSERT INTO %s (%s) %s', globals_rel, cols,
                               persona.profile_globals_rows_sql(p, rows_sql, day_sql, fit, start_sql))
                    USING r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows;
            END IF;
            EXECUTE format('SELECT (gamma_gamma).q FROM %s', globals_rel) INTO spend_q;
            IF spend_q <= 1 THEN
                RAISE WARNING 'persona profile %: CLV is NULL: the Gamma-Gamma fit has q = % <= 1, an infinite expected spend', p.name, spend_q
                    USING HINT = 'The spend distribution has a heavy tail; look for outliers in mean spend (the quality part counts amounts beyond 3 sigma and the MAD rule).';
            END IF;
            RETURN;
        EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range OR data_exception THEN
            IF NOT fit THEN
                RAISE;
            END IF;
            RAISE WARNING 'persona profile %: the models could not be fitted: %', p.name, SQLERRM
                USING HINT = 'P(alive), expected purchases and CLV are NULL until a refresh fits them.';
        END;
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_write_globals(persona.profiles, text, text, boolean) IS
  'Write a materialized profile''s globals row (cut points, tiers, fits, weighted rows), from corrected rows or from every state row';

-- Seed 003: five to eight segments, each at least 5% of the customers.
-- The advice a refresh gives (a NOTICE) when a profile's segments are
-- otherwise, NULL when they are not: the segments to merge (those under 5%,
-- and the smallest beyond eight), each with its nearest kept segment by
-- mean recency, orders and revenue (each scaled by its spread over the
-- segments), or, with fewer than five, the largest to split.
CREATE FUNCTION persona.profile_segment_advice(p persona.profiles) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    n integer;
    merges text;
    largest text;
BEGIN
    EXECUTE format($q$
WITH s AS (
    SELECT segment, customer_share, below_5_percent OR row_number() OVER (ORDER BY customers DESC, segment) > 8 AS merge,
           coalesce((avg_recency_days - avg(avg_recency_days) OVER ()) / nullif(stddev_pop(avg_recency_days) OVER (), 0), 0) AS zr,
           coalesce((avg_orders - avg(avg_orders) OVER ()) / nullif(stddev_pop(avg_orders) OVER (), 0), 0) AS zf,
           coalesce((avg_revenue - avg(avg_revenue) OVER ()) / nullif(stddev_pop(avg_revenue) OVER (), 0), 0) AS zm
    FROM %s)
SELECT (SELECT count(*) FROM s)::int,
       (SELECT string_agg(format('%%s (%%s%%%%) with %%s', m.segment, round(m.customer_share::numeric * 100, 1), nb.segment),
                          ', ' ORDER BY m.customer_share, m.segment)
        FROM s m CROSS JOIN LATERAL (
            SELECT o.segment FROM s o WHERE o.segment <> m.segment
            ORDER BY o.merge, (o.zr - m.zr) ^ 2 + (o.zf - m.zf) ^ 2 + (o.zm - m.zm) ^ 2, o.segment LIMIT 1) nb
        WHERE m.merge),
       (SELECT format('%%s (%%s%%%%)', segment, round(customer_share::numeric * 100, 1)) FROM s ORDER BY customer_share DESC, segment LIMIT 1)
$q$, persona.profile_rel(p, '_segments')) INTO n, merges, largest;
    IF merges IS NOT NULL THEN
        RETURN format('persona profile %s: %s segments; seed 003 suggests 5 to 8, each at least 5%% of customers: merge %s', p.name, n, merges)
            || E'\nHINT:  define the merged scheme in persona.segment_rules' || CASE WHEN p.scheme <> 'cn8' THEN ', or use scheme => ''cn8''' ELSE '' END || '.';
    ELSIF n BETWEEN 1 AND 4 THEN
        RETURN format('persona profile %s: only %s segments; seed 003 suggests 5 to 8: split the largest, %s', p.name, n, largest)
            || E'\nHINT:  define a finer scheme in persona.segment_rules' || CASE WHEN p.scheme <> 'cn8' THEN ', or use scheme => ''cn8''' ELSE '' END || '.';
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION persona.profile_segment_advice(persona.profiles) IS
  'What a refresh advises when a profile has fewer than 5 or more than 8 segments or segments under 5% (seed 003): which to merge with which, or to split; NULL otherwise';

CREATE FUNCTION persona.profile_refresh_run(profile text, incremental boolean)
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
    -- the state columns the weighted rows are made of
    value_names text[] := ARRAY['customer_id', 'orders', 'purchase_days', 'revenue', 'repeat_revenue', 'first_order_on', 'last_order_on', 'mean_gap_days'];
    value_cols text := (SELECT string_agg('s.' || c, ', ') FROM unnest(value_names) c);
    -- the changed customers' values before this refresh
    old_values text := 'pg_temp.persona_profile_old';
    state_names text[];
    orders_waiting boolean;
    merge_rows boolean := false;
    same_day boolean := false;
    old_breaks persona.rfm_breaks;
    tally_delta boolean := false;
    cuts_moved boolean;
    tally_changes text;
    crossing_rel text;
    redefined boolean;
    tallies_digest text;
    tallies_same boolean;
    any_dirty boolean;
BEGIN
    -- one refresh of a profile at a time
    PERFORM pg_advisory_xact_lock(hashtext('persona.profile'), hashtext(p.name));
    PERFORM persona.profile_check_sources(p);
    PERFORM persona.profile_upgrade_layout(p);
    -- settings changed in the registry since the relations were defined (a
    -- profile of persona 0.5.0 or earlier has no record: its summaries are
    -- taken as they are, its internal views are those of this version)
    redefined := coalesce(p.defined_with <> persona.profile_definition_digest(p), false);
    IF redefined THEN
        PERFORM persona.profile_progress(format('persona profile %s: settings changed, relations redefined', p.name));
        PERFORM persona.profile_redefine(p);
    ELSIF p.defined_with IS NULL THEN
        PERFORM persona.profile_define_views(p);
        UPDATE persona.profiles pr SET defined_with = persona.profile_definition_digest(p) WHERE pr.name = p.name;
    END IF;
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
    -- The changes recorded so far are what this refresh merges: writers of
    -- orders (their triggers insert here) wait until it commits, so no
    -- change lands between its statements.  Readers are never blocked.  A
    -- TRUNCATE of orders waits too (its trigger marks the globals row for a
    -- full refresh: the row this refresh replaces would take the mark with
    -- it), and one committed before is seen.
    IF p.incremental THEN
        EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', p.orders);
        EXECUTE format('LOCK TABLE %s, %s IN EXCLUSIVE MODE', pending_rel, dirty_rel);
    END IF;
    -- session-zone functions used by a part (holdout) and the as-of day follow the profile
    PERFORM set_config('TimeZone', p.time_zone, true);
    day := coalesce(p.as_of, (now() AT TIME ZONE p.time_zone)::date);
    day_sql := persona.profile_date_sql(day);
    kind := CASE WHEN coalesce(incremental, p.incremental) THEN 'incremental' ELSE 'full' END;
    IF kind = 'incremental' THEN
        -- (the states hold calendar days in the zone they were computed in)
        EXECUTE format('SELECT coalesce(bool_or(needs_full OR time_zone IS DISTINCT FROM %L), true) FROM %s', p.time_zone, globals_rel)
            INTO STRICT needs_full;
        IF needs_full OR p.refreshed_as_of IS NULL OR day < p.refreshed_as_of THEN
            kind := 'full';
        END IF;
    END IF;
    state_names := (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                    WHERE a.attrelid = state_rel::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    cols := (SELECT string_agg(format('%I', c), ', ') FROM unnest(state_names) c);
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
            EXECUTE persona.profile_waiting_sql(p, day_sql, NULL);
        END IF;
    ELSE
        -- The changed customers' values before and after this refresh: the
        -- old ones leave the globals' weighted rows and the tallies, the new
        -- ones come in.  The rows hold no day, so a later day merges them
        -- too; the tallies are corrected on the same day only (a later day
        -- moves customers between lifecycle stages).  (The globals row says
        -- which day it is of: the registry row was read before the lock.)
        EXECUTE format('SELECT r_rows IS NOT NULL AND as_of <= %1$s, as_of = %1$s FROM %2$s', day_sql, globals_rel) INTO merge_rows, same_day;
        merge_rows := coalesce(merge_rows, false);
        same_day := coalesce(same_day, false);
        PERFORM persona.profile_drop_temp(ARRAY['persona_profile_old', 'persona_profile_new_values', 'persona_profile_crossing']);
        EXECUTE format('CREATE TEMP TABLE persona_profile_old ON COMMIT DROP AS SELECT %s FROM %s s WITH NO DATA', value_cols, state_rel);
        EXECUTE format('CREATE TEMP TABLE persona_profile_new_values ON COMMIT DROP AS SELECT %s FROM %s s WITH NO DATA', value_cols, state_rel);
        -- customers with updated or deleted orders: recomputed from orders
        -- (when there are any: finding their waiting orders scans orders)
        EXECUTE format('SELECT EXISTS (SELECT FROM %s)', dirty_rel) INTO any_dirty;
        IF any_dirty THEN
            EXECUTE format('INSERT INTO pg_temp.persona_profile_old SELECT %s FROM %s s WHERE s.customer_id IN (SELECT d.customer_id FROM %s d)',
                           value_cols, state_rel, dirty_rel);
            EXECUTE format('DELETE FROM %s s USING %s d WHERE s.customer_id = d.customer_id', state_rel, dirty_rel);
            EXECUTE format('WITH written AS (INSERT INTO %s AS s %s RETURNING %s) INSERT INTO pg_temp.persona_profile_new_values SELECT * FROM written',
                           state_rel, persona.profile_decode_sql(p, persona.profile_states_sql(p, day_sql,
                               format('o.%I IN (SELECT customer_id FROM %s)', p.customer_col, dirty_rel)), day_sql), value_cols);
            GET DIAGNOSTICS n = ROW_COUNT;
            -- customers whose every order was deleted changed too (they left)
            EXECUTE format('SELECT count(*) FROM %s d WHERE NOT EXISTS (SELECT FROM %s s WHERE s.customer_id = d.customer_id)',
                           dirty_rel, state_rel) INTO m;
            n := n + m;
            -- their waiting orders too: those up to the as-of day are in the
            -- states now, and those after it wait again as the orders table has
            -- them (a copy taken at insert would keep an updated or deleted order)
            EXECUTE format('DELETE FROM %s q USING %s d WHERE q.customer_id = d.customer_id', pending_rel, dirty_rel);
            EXECUTE persona.profile_waiting_sql(p, day_sql, format('SELECT d.customer_id FROM %s d', dirty_rel));
            EXECUTE format('TRUNCATE %s', dirty_rel);
        END IF;
        -- Inserted orders: added to each customer's states, customer by
        -- customer in C (profile_merge_orders).  The new orders come sorted
        -- by customer, so the customers find their rows on neighbouring
        -- index pages.
        EXECUTE format($q$SELECT persona.profile_merge_orders(%1$L::regclass, %2$L, %3$L, %4$s, %5$L::regclass, %6$L::regclass)$q$,
            state_rel,
            format($q$SELECT q.customer_id, q.ordered_at, q.amount FROM %1$s q WHERE q.ordered_at < %2$s ORDER BY q.customer_id$q$,
                   pending_rel, persona.profile_day_end(p, day_sql)),
            p.time_zone, day_sql, old_values, 'pg_temp.persona_profile_new_values') INTO m;
        n := n + m;
        -- merged: out of pending (all of it, unless orders wait for a later day)
        EXECUTE format('SELECT EXISTS (SELECT FROM %s q WHERE q.ordered_at >= %s)', pending_rel, persona.profile_day_end(p, day_sql))
            INTO orders_waiting;
        IF orders_waiting THEN
            EXECUTE format('DELETE FROM %s q WHERE q.ordered_at < %s', pending_rel, persona.profile_day_end(p, day_sql));
        ELSE
            EXECUTE format('TRUNCATE %s', pending_rel);
        END IF;
    END IF;
    PERFORM persona.profile_progress(format('persona profile %s: %s refresh as of %s, %s customers changed (%s ms)',
                                            p.name, kind, day, n, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    PERFORM persona.profile_customers_view(p);
    -- Nothing merged, the same day and the same settings: the globals and
    -- summaries would come out as they are (a frequent schedule with no new
    -- orders costs little).
    tallies_digest := persona.profile_tally_digest(p);
    EXECUTE format('SELECT tally_digest IS NOT DISTINCT FROM %L FROM %s', tallies_digest, globals_rel) INTO tallies_same;
    IF kind = 'incremental' AND n = 0 AND day = p.refreshed_as_of AND NOT redefined AND tallies_same THEN
        PERFORM persona.profile_progress(format('persona profile %s: no changes to merge', p.name));
    ELSE
    -- globals from the per-customer rows
    step := clock_timestamp();
    IF merge_rows AND same_day THEN
        -- the tallies are corrected when what they were computed with is unchanged
        EXECUTE format('SELECT breaks FROM %s', globals_rel) INTO old_breaks;
        tally_delta := tallies_same AND old_breaks IS NOT NULL;
    END IF;
    PERFORM persona.profile_write_globals(p, day_sql,
        CASE WHEN merge_rows THEN format('SELECT * FROM persona.profile_rows_changes(%L, %L, %L)',
                                         old_values, 'pg_temp.persona_profile_new_values', 'models' = ANY (p.parts)) END,
        kind = 'incremental');
    PERFORM persona.profile_progress(format('persona profile %s: cut points and models (%s ms)',
                                            p.name, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    IF tally_delta AND 'segments' = ANY (p.parts) THEN
        -- customers whose scores the moved cut points change, besides the
        -- changed ones (with their values: the tallies read them from here,
        -- not by key); a changed customer still in the state table has new
        -- values.  None when no cut moved (the cut points and the scale
        -- compared, not the count of customers they were computed from).
        EXECUTE format($q$SELECT (g.breaks::text::jsonb - 'n') IS DISTINCT FROM (%L::jsonb - 'n') FROM %s g$q$,
                       old_breaks::text, globals_rel) INTO cuts_moved;
        EXECUTE format('CREATE TEMP TABLE persona_profile_crossing ON COMMIT DROP AS SELECT %s FROM %s s
                        WHERE %L::boolean AND s.orders > 0
                          AND persona.rfm_score_moves((%s - s.last_order_on)::float8, s.orders::float8, persona.numeric_to_float8(s.revenue),
                                                      %L::persona.rfm_breaks, (SELECT g.breaks FROM %s g))
                          AND NOT EXISTS (SELECT FROM pg_temp.persona_profile_new_values c WHERE c.customer_id = s.customer_id)',
                       value_cols, state_rel, cuts_moved, day_sql, old_breaks, globals_rel);
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part IN ('customer_tags', 'models');
        IF part IN ('segments', 'lifecycle') THEN
            step := clock_timestamp();
            IF tally_delta THEN
                -- out: the old rows scored as before; in: the new rows scored now
                crossing_rel := CASE WHEN part = 'segments' THEN 'pg_temp.persona_profile_crossing'
                                     ELSE format('(SELECT o.* FROM %s o WHERE false)', old_values) END;
                tally_changes := persona.profile_tally_sql(p, part,
                    format('(SELECT o.* FROM %s o UNION ALL SELECT x.* FROM %s x)', old_values, crossing_rel), -1,
                    format('%L::persona.rfm_breaks', old_breaks), day_sql)
                    || E'\nUNION ALL\n' ||
                    persona.profile_tally_sql(p, part,
                    format('(SELECT n.* FROM pg_temp.persona_profile_new_values n UNION ALL SELECT x.* FROM %s x)', crossing_rel), 1,
                    format('(SELECT g.breaks FROM %s g)', globals_rel), day_sql);
            END IF;
            PERFORM persona.profile_tally_apply(p, part, tally_changes);
            PERFORM persona.profile_progress(format('persona profile %s: %s (%s ms)',
                                                    p.name, part, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
            CONTINUE;
        END IF;
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
    EXECUTE format('UPDATE %s SET tally_digest = %L', globals_rel, tallies_digest);
    END IF;
    IF 'segments' = ANY (p.parts) THEN
        small := persona.profile_segment_advice(p);
        IF small IS NOT NULL THEN
            PERFORM persona.profile_progress(small);
        END IF;
    END IF;
    -- the customers with orders, as the frequency rows count them (no scan of every state row)
    EXECUTE format('SELECT coalesce((SELECT sum(g.f_rows[i][2]) FROM generate_subscripts(g.f_rows, 1) i), 0)::bigint FROM %s g',
                   globals_rel) INTO m;
    m := coalesce(m, 0);
    PERFORM set_config('TimeZone', old_zone, true);
    UPDATE persona.profiles pr SET refreshed_at = clock_timestamp(), refreshed_as_of = day, refresh_kind = kind,
           refresh_ms = extract(epoch FROM clock_timestamp() - started) * 1000, customers = m,
           last_error = NULL, last_error_at = NULL
    WHERE pr.name = p.name;
    RETURN QUERY SELECT p.name, kind, day, m, n, extract(epoch FROM clock_timestamp() - started)::float8 * 1000;
END $$;
COMMENT ON FUNCTION persona.profile_refresh_run(text, boolean) IS
  'The steps of refresh_profile (called by it)';

-- Errors of a step come from generated SQL, which as error context would
-- bury the message: refresh_profile raises them as they were, without it.
CREATE FUNCTION persona.refresh_profile(profile text, incremental boolean DEFAULT NULL)
RETURNS TABLE (name text, refresh text, as_of date, customers bigint, changed bigint, milliseconds double precision)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    msg text;
    det text;
    hin text;
    code text;
BEGIN
    RETURN QUERY SELECT * FROM persona.profile_refresh_run(profile, incremental);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT, code = RETURNED_SQLSTATE;
    IF strpos(msg || det, format('"%s"', profile)) = 0 THEN
        det := CASE WHEN det <> '' THEN det || ' ' ELSE '' END || format('(refreshing profile "%s")', profile);
    END IF;
    IF det = '' THEN
        det := NULL;
    END IF;
    IF hin <> '' AND det IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = det, HINT = hin;
    ELSIF hin <> '' THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, HINT = hin;
    END IF;
    IF det IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = det;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
END $$;
COMMENT ON FUNCTION persona.refresh_profile(text, boolean) IS
  'Refresh a materialized profile: fully from orders, or (incremental => true, the default of incremental profiles) by merging the recorded changes; summaries refreshed concurrently';

-- What pg_cron runs: a failed refresh is recorded in the registry (and
-- committed) before the job reports the error.
CREATE PROCEDURE persona.run_scheduled_refresh(profile text)
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    detail text;
BEGIN
    BEGIN
        PERFORM persona.refresh_profile(profile);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    END;
    IF msg IS NOT NULL THEN
        UPDATE persona.profiles SET last_error = msg || coalesce(' (' || nullif(detail, '') || ')', ''), last_error_at = now()
        WHERE name = profile;
        COMMIT;
        RAISE EXCEPTION 'scheduled refresh of profile "%" failed: %', profile, msg USING ERRCODE = 'external_routine_exception';
    END IF;
END $$;
COMMENT ON PROCEDURE persona.run_scheduled_refresh(text) IS
  'Refresh a profile as a scheduled job does: on failure, record the error in persona.profiles, commit, then raise it';

CREATE FUNCTION persona.schedule_refresh(profile text, schedule text) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    p persona.profiles := persona.profile_get(profile);
    job bigint;
BEGIN
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT p.materialized THEN
        RAISE EXCEPTION 'profile "%" is not materialized', p.name USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'Its views compute from orders on every read; there is nothing to refresh.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'schedule_refresh needs the pg_cron extension' USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = format('pg_cron is not installed in database %s.', current_database()),
            HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, and CREATE EXTENSION pg_cron.';
    END IF;
    IF p.cron_job IS NOT NULL THEN
        PERFORM persona.unschedule_refresh(profile);
    END IF;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
        USING 'persona refresh ' || p.name, schedule, format('CALL persona.run_scheduled_refresh(%L)', p.name);
    UPDATE persona.profiles SET cron_job = job WHERE name = p.name;
    RETURN job;
END $$;
COMMENT ON FUNCTION persona.schedule_refresh(text, text) IS
  'Schedule refresh_profile with pg_cron (cron syntax or ''N seconds''); returns the job id; failures are recorded in persona.profiles.last_error';

CREATE FUNCTION persona.unschedule_refresh(profile text) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    p persona.profiles := persona.profile_get(profile);
    gone boolean := false;
BEGIN
    IF p.cron_job IS NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        EXECUTE 'SELECT cron.unschedule(jobid) FROM cron.job WHERE jobid = $1' INTO gone USING p.cron_job;
    END IF;
    UPDATE persona.profiles SET cron_job = NULL WHERE name = p.name;
    RETURN coalesce(gone, false);
END $$;
COMMENT ON FUNCTION persona.unschedule_refresh(text) IS
  'Remove the pg_cron job of a profile; false when it had none';

CREATE FUNCTION persona.drop_profile(profile text, cascade boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    p persona.profiles := persona.profile_get(profile);
    r record;
    how text := CASE WHEN cascade THEN ' CASCADE' ELSE '' END;
BEGIN
    PERFORM persona.unschedule_refresh(profile);
    DELETE FROM persona.tag_rules WHERE source = to_regclass(persona.profile_rel(p, '_customers'));
    FOR r IN SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = p.orders AND t.tgname LIKE 'persona\_' || p.name || '\_%'
             AND t.tgfoid = to_regprocedure(persona.profile_rel(p, '__capture') || '()') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, p.orders);
    END LOOP;
    -- the read views first, then what they read
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
             WHERE c.relnamespace = p.schema_name::regnamespace AND c.relkind IN ('v', 'm', 'r')
               AND c.relname LIKE p.name || '\_%'
             ORDER BY CASE WHEN c.relname NOT LIKE p.name || '\_\_%' THEN CASE WHEN c.relname = p.name || '_customers' THEN 2 ELSE 1 END
                           WHEN c.relkind = 'm' THEN 3 WHEN c.relname IN (p.name || '__scored', p.name || '__guarded') THEN 4
                           WHEN c.relname = p.name || '__globals' THEN 5 ELSE 6 END, c.relname LOOP
        IF to_regclass(r.rel::text) IS NOT NULL THEN
            EXECUTE format('DROP %s IF EXISTS %s%s',
                           CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.rel, how);
        END IF;
    END LOOP;
    IF to_regprocedure(persona.profile_rel(p, '__capture') || '()') IS NOT NULL THEN
        EXECUTE format('DROP FUNCTION %s()', persona.profile_rel(p, '__capture'));
    END IF;
    DELETE FROM persona.profiles WHERE name = p.name;
    PERFORM persona.profile_progress(format('persona profile %s dropped', p.name));
END $$;
COMMENT ON FUNCTION persona.drop_profile(text, boolean) IS
  'Drop a profile: its schedule, triggers, relations, tag rules and registry row (cascade => true also drops user objects that depend on it)';

------------------------------------------------------------------------
-- 9. Charts (SVG as text) and the profile report
------------------------------------------------------------------------

-- Text for an HTML or SVG text node or attribute value: the five XML
-- specials escaped and the control characters XML cannot carry dropped,
-- so a customer, segment or tag name can neither break nor inject into a
-- page.
CREATE FUNCTION persona.html_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN replace(replace(replace(replace(replace(
           regexp_replace(t, E'[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]', '', 'g'),
           '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION persona.html_escape(text) IS
  'Text escaped for HTML and SVG (& < > " '' as entities; control characters dropped)';

-- Numbers for people: thousands separators whatever lc_numeric says,
-- a fixed number of decimals, '-' for NULL and NaN.
CREATE FUNCTION persona.format_number(x float8, decimals integer DEFAULT 0) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN x IS NULL OR x = 'NaN' THEN '-'
            WHEN x = 'Infinity' THEN 'Infinity' WHEN x = '-Infinity' THEN '-Infinity'
            ELSE (SELECT CASE WHEN r < 0 THEN '-' ELSE '' END
                         || regexp_replace(split_part(abs(r)::text, '.', 1), '(\d)(?=(\d{3})+$)', '\1,', 'g')
                         || CASE WHEN d > 0 THEN '.' || split_part(abs(r)::text, '.', 2) ELSE '' END
                  FROM (SELECT least(greatest(coalesce(decimals, 0), 0), 12) AS d) dd,
                       LATERAL (SELECT round(x::numeric, dd.d) AS r) rr) END;
COMMENT ON FUNCTION persona.format_number(float8, integer) IS
  'A number with thousands separators and the given decimals (0-12), locale-independent; - for NULL or NaN';

-- Four significant digits, scientific below 0.001 or from 10^9 (model
-- parameters run from e^-15 to e^15).
CREATE FUNCTION persona.format_significant(x float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN x IS NULL OR x = 'NaN' OR x IN ('Infinity', '-Infinity') OR x = 0 THEN persona.format_number(x)
            WHEN abs(x) < 0.001 OR abs(x) >= 1e9 THEN trim(to_char(x, '9.999EEEE'))
            ELSE persona.format_number(x, greatest(0, 3 - floor(log(abs(x)))::int)) END;
COMMENT ON FUNCTION persona.format_significant(float8) IS
  'A number to four significant digits (thousands separators), scientific notation below 0.001 or from 10^9';

CREATE FUNCTION persona.format_share(share float8, decimals integer DEFAULT 1) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN share IS NULL OR share = 'NaN' THEN '-' ELSE persona.format_number(share * 100, decimals) || '%' END;
COMMENT ON FUNCTION persona.format_share(float8, integer) IS
  'A share as a percentage with one decimal (or the given decimals), e.g. 0.1234 -> 12.3%; - for NULL or NaN';

-- A bar of block characters for terminals: width characters for a share
-- of 1, eighths of a character in between (0.53 at width 10: five full
-- blocks and a quarter block).  In a database encoding without the block
-- characters (anything but UTF8) it is '#' per whole character.
CREATE FUNCTION persona.text_bar(share float8, width integer DEFAULT 20) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    eighths integer;
BEGIN
    IF width IS NULL OR width < 1 OR width > 1000 THEN
        RAISE EXCEPTION 'text bar width must be between 1 and 1000, not %', coalesce(width::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF share IS NULL OR share = 'NaN' OR share <= 0 THEN
        RETURN '';
    END IF;
    eighths := round(least(share, 1) * width * 8);
    IF getdatabaseencoding() <> 'UTF8' THEN
        RETURN repeat('#', round(least(share, 1) * width)::int);
    END IF;
    -- U+2588 full block; U+258F .. U+2589: one to seven eighths
    RETURN repeat(chr(9608), eighths / 8) || CASE WHEN eighths % 8 = 0 THEN '' ELSE chr(9616 - eighths % 8) END;
END $$;
COMMENT ON FUNCTION persona.text_bar(float8, integer) IS
  'A bar of block characters (eighths of a character) for a share between 0 and 1, width characters at 1; empty for NULL, NaN or <= 0';

-- A value as a chart shows it: number (thousands separators, up to two
-- decimals), integer, or share (percent with one decimal).
CREATE FUNCTION persona.chart_value(v float8, value_format text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE value_format
    WHEN 'share' THEN persona.format_share(v)
    WHEN 'integer' THEN persona.format_number(v, 0)
    ELSE persona.format_number(v, CASE WHEN v IS NULL OR v = 'NaN' OR abs(v) >= 100 OR v = trunc(v) THEN 0 ELSE 2 END) END;
COMMENT ON FUNCTION persona.chart_value(float8, text) IS
  'A chart value as text: number (up to two decimals), integer or share (percent)';

-- The checks every chart makes of its arguments.
CREATE FUNCTION persona.chart_check(what text, n integer, arr anyarray, value_format text DEFAULT 'number', per text DEFAULT 'label')
RETURNS void LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF coalesce(value_format, '') NOT IN ('number', 'integer', 'share') THEN
        RAISE EXCEPTION 'unknown value format "%"', value_format USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use number, integer or share.';
    END IF;
    IF arr IS NOT NULL AND array_ndims(arr) > 1 THEN
        RAISE EXCEPTION '% must be a one-dimensional array', what USING ERRCODE = 'array_subscript_error';
    END IF;
    IF arr IS NOT NULL AND coalesce(cardinality(arr), 0) <> n THEN
        RAISE EXCEPTION '% must have one element per %', what, per USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('There are %s %ss and %s %s.', n, per, coalesce(cardinality(arr), 0), what);
    END IF;
END $$;
COMMENT ON FUNCTION persona.chart_check(text, integer, anyarray, text, text) IS
  'Error unless a chart argument array has n elements, one per label (or per point, cell), in one dimension, and the value format is known';

-- The start of a chart: the svg element of a size, its accessible title
-- and, when given, the visible one.
CREATE FUNCTION persona.svg_open(css_class text, width integer, height integer, title text, default_title text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('<svg xmlns="http://www.w3.org/2000/svg" class="chart %1$s" width="%2$s" height="%3$s" viewBox="0 0 %2$s %3$s" role="img"><title>%4$s</title>',
              css_class, width, height, persona.html_escape(coalesce(title, default_title)))
    || CASE WHEN title IS NULL THEN '' ELSE format('<text class="title" x="0" y="16">%s</text>', persona.html_escape(title)) END;
COMMENT ON FUNCTION persona.svg_open(text, integer, integer, text, text) IS
  'The opening of an SVG chart: the svg element, its title (default_title when title is NULL) and the visible title';

-- An empty chart: the title and a note instead of an error.
CREATE FUNCTION persona.svg_empty(title text, note text, width integer DEFAULT 720) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN persona.svg_open('empty', width, 48, title, 'chart')
    || format('<text class="note" x="0" y="38">%s</text></svg>', persona.html_escape(note));
COMMENT ON FUNCTION persona.svg_empty(text, text, integer) IS 'An SVG chart with a title and a note only (no data)';

-- Horizontal bars, one row per label: values (and values2, a second
-- series drawn below the first), each bar's value written after it.
-- marked rows are drawn in the warning colour with a mark (segments under
-- 5% of customers).  Values must be finite and >= 0; NULL and NaN draw no
-- bar and show '-'.  Empty input gives an empty chart with a note.
CREATE FUNCTION persona.svg_bar_chart(labels text[], vals float8[], title text DEFAULT NULL,
                                      vals2 float8[] DEFAULT NULL, legend text[] DEFAULT NULL,
                                      marked boolean[] DEFAULT NULL, value_format text DEFAULT 'number',
                                      mark_note text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    n integer := coalesce(cardinality(labels), 0);
    two boolean := vals2 IS NOT NULL;
    row_h integer := CASE WHEN vals2 IS NULL THEN 24 ELSE 34 END;
    top integer := CASE WHEN title IS NULL THEN 4 ELSE 26 END + CASE WHEN legend IS NULL THEN 0 ELSE 20 END;
    label_w integer := 210;
    bar_w integer := 380;
    width integer := 720;
    scale float8;
    out text;
    y integer;
    v float8;
    bw float8;
BEGIN
    PERFORM persona.chart_check('values', n, vals, value_format);
    PERFORM persona.chart_check('values2', n, vals2);
    PERFORM persona.chart_check('marked', n, marked);
    PERFORM persona.chart_check('legend', CASE WHEN two THEN 2 ELSE 1 END, legend);
    IF EXISTS (SELECT FROM unnest(coalesce(vals, '{}') || coalesce(vals2, '{}')) x WHERE x < 0 OR x = 'Infinity') THEN
        RAISE EXCEPTION 'bar values must be finite and >= 0' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Chart a shift from a baseline as two series, or use svg_line_chart.';
    END IF;
    IF n = 0 THEN
        RETURN persona.svg_empty(title, 'No data', width);
    END IF;
    scale := (SELECT max(x) FROM unnest(coalesce(vals, '{}') || coalesce(vals2, '{}')) x WHERE x <> 'NaN');
    out := persona.svg_open('bar-chart', width, top + n * row_h + 8, title, 'bar chart');
    IF legend IS NOT NULL THEN
        FOR i IN 1 .. cardinality(legend) LOOP
            out := out || format('<rect class="key s%1$s" x="%2$s" y="%3$s" width="10" height="10"/><text class="legend" x="%4$s" y="%5$s">%6$s</text>',
                                 i, label_w + (i - 1) * 160, top - 16, label_w + (i - 1) * 160 + 14, top - 7, persona.html_escape(legend[i]));
        END LOOP;
    END IF;
    FOR i IN 1 .. n LOOP
        y := top + (i - 1) * row_h;
        out := out || format('<g class="row%s"><text class="label" x="%s" y="%s" text-anchor="end">%s</text>',
                             CASE WHEN marked[i] THEN ' marked' ELSE '' END, label_w - 8, y + 15,
                             persona.html_escape(coalesce(labels[i], '-')));
        FOR s IN 1 .. CASE WHEN two THEN 2 ELSE 1 END LOOP
            v := CASE WHEN s = 1 THEN vals[i] ELSE vals2[i] END;
            bw := CASE WHEN v IS NULL OR v = 'NaN' OR coalesce(scale, 0) <= 0 THEN 0 ELSE v / scale * bar_w END;
            IF v IS NOT NULL AND v <> 'NaN' THEN
                out := out || format('<rect class="bar s%s%s" x="%s" y="%s" width="%s" height="%s" data-value="%s"/>',
                                     s, CASE WHEN marked[i] THEN ' marked' ELSE '' END, label_w,
                                     y + 3 + (s - 1) * 14, round(bw::numeric, 2), CASE WHEN two THEN 12 ELSE 16 END, v);
            END IF;
            out := out || format('<text class="value" x="%s" y="%s">%s%s</text>', label_w + round(bw::numeric, 2) + 5,
                                 y + 14 + (s - 1) * 14, persona.chart_value(v, value_format),
                                 CASE WHEN marked[i] AND s = 1 AND mark_note IS NOT NULL THEN ' ' || persona.html_escape(mark_note) ELSE '' END);
        END LOOP;
        out := out || '</g>';
    END LOOP;
    RETURN out || '</svg>';
END $$;
COMMENT ON FUNCTION persona.svg_bar_chart(text[], float8[], text, float8[], text[], boolean[], text, text) IS
  'SVG horizontal bar chart (one or two series, marked rows, values written) as text; values finite and >= 0, NULL/NaN drawn as -';

-- Lines through (x, y) points, one per series (points of a series in the
-- order given), with axes, five ticks each and a legend; an optional
-- marked point with a label (the 80/20 point of a Lorenz curve).  Points
-- with a NULL or NaN coordinate are left out; infinite ones are an error.
CREATE FUNCTION persona.svg_line_chart(x float8[], y float8[], series text[] DEFAULT NULL, title text DEFAULT NULL,
                                       x_label text DEFAULT NULL, y_label text DEFAULT NULL,
                                       x_format text DEFAULT 'number', y_format text DEFAULT 'number',
                                       mark_x float8 DEFAULT NULL, mark_y float8 DEFAULT NULL, mark_label text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    n integer := coalesce(cardinality(x), 0);
    width integer := 720;
    height integer := 360;
    left_m integer := 70;
    right_m integer := 20;
    top integer := CASE WHEN title IS NULL THEN 10 ELSE 30 END;
    bottom integer := 50;
    pw integer := width - left_m - right_m;
    ph integer;
    x0 float8; x1 float8; y0 float8; y1 float8;
    names text[];
    out text;
    pts text;
    px float8; py float8;
BEGIN
    PERFORM persona.chart_check('x', n, x, x_format, 'point');
    PERFORM persona.chart_check('y', n, y, y_format, 'point');
    PERFORM persona.chart_check('series', n, series, per => 'point');
    IF EXISTS (SELECT FROM unnest(coalesce(x, '{}') || coalesce(y, '{}') || ARRAY[mark_x, mark_y]) v WHERE v IN ('Infinity', '-Infinity')) THEN
        RAISE EXCEPTION 'chart coordinates must be finite' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT min(a), max(a), least(min(b), 0), max(b) INTO x0, x1, y0, y1
    FROM unnest(x, y) u(a, b) WHERE a IS NOT NULL AND b IS NOT NULL AND a <> 'NaN' AND b <> 'NaN';
    IF x0 IS NULL THEN
        RETURN persona.svg_empty(title, 'No data', width);
    END IF;
    IF x1 = x0 THEN x1 := x0 + 1; END IF;
    IF y1 <= y0 THEN y1 := y0 + 1; END IF;
    ph := height - top - bottom;
    out := persona.svg_open('line-chart', width, height, title, 'line chart');
    -- axes and ticks
    out := out || format('<line class="axis" x1="%1$s" y1="%2$s" x2="%3$s" y2="%2$s"/><line class="axis" x1="%1$s" y1="%4$s" x2="%1$s" y2="%2$s"/>',
                         left_m, top + ph, left_m + pw, top);
    FOR k IN 0 .. 4 LOOP
        out := out || format('<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>',
                             left_m + round(pw * k / 4.0), top + ph + 16, persona.chart_value(x0 + (x1 - x0) * k / 4, x_format))
                   || format('<text class="tick" x="%s" y="%s" text-anchor="end">%s</text><line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>',
                             left_m - 6, top + ph - round(ph * k / 4.0) + 4, persona.chart_value(y0 + (y1 - y0) * k / 4, y_format),
                             left_m, top + ph - round(ph * k / 4.0), left_m + pw, top + ph - round(ph * k / 4.0));
    END LOOP;
    IF x_label IS NOT NULL THEN
        out := out || format('<text class="axis-label" x="%s" y="%s" text-anchor="middle">%s</text>', left_m + pw / 2, height - 8, persona.html_escape(x_label));
    END IF;
    IF y_label IS NOT NULL THEN
        out := out || format('<text class="axis-label" x="12" y="%s" text-anchor="middle" transform="rotate(-90 12 %s)">%s</text>',
                             top + ph / 2, top + ph / 2, persona.html_escape(y_label));
    END IF;
    names := ARRAY(SELECT s FROM (SELECT coalesce(s, '') AS s, min(i) AS first FROM unnest(coalesce(series, array_fill(NULL::text, ARRAY[n]))) WITH ORDINALITY u(s, i)
                                  GROUP BY 1) z ORDER BY first);
    FOR k IN 1 .. cardinality(names) LOOP
        pts := (SELECT string_agg(round((left_m + (a - x0) / (x1 - x0) * pw)::numeric, 2) || ',' || round((top + ph - (b - y0) / (y1 - y0) * ph)::numeric, 2), ' ' ORDER BY i)
                FROM unnest(x, y, coalesce(series, array_fill(NULL::text, ARRAY[n]))) WITH ORDINALITY u(a, b, s, i)
                WHERE coalesce(s, '') = names[k] AND a IS NOT NULL AND b IS NOT NULL AND a <> 'NaN' AND b <> 'NaN');
        IF pts IS NOT NULL THEN
            out := out || format('<polyline class="line s%s" fill="none" points="%s"/>', k, pts);
        END IF;
        IF cardinality(names) > 1 OR names[1] <> '' THEN
            out := out || format('<rect class="line-key s%1$s" x="%2$s" y="%3$s" width="10" height="10"/><text class="legend" x="%4$s" y="%5$s">%6$s</text>',
                                 k, left_m + 10 + (k - 1) * 200, top + 4, left_m + 24 + (k - 1) * 200, top + 13, persona.html_escape(names[k]));
        END IF;
    END LOOP;
    IF mark_x IS NOT NULL AND mark_y IS NOT NULL AND mark_x <> 'NaN' AND mark_y <> 'NaN' THEN
        px := left_m + (mark_x - x0) / (x1 - x0) * pw;
        py := top + ph - (mark_y - y0) / (y1 - y0) * ph;
        out := out || format('<circle class="mark" cx="%s" cy="%s" r="5"/><text class="mark-label" x="%s" y="%s">%s</text>',
                             round(px::numeric, 2), round(py::numeric, 2), round(px::numeric + 9, 2), round(py::numeric + 16, 2),
                             persona.html_escape(coalesce(mark_label, '')));
    END IF;
    RETURN out || '</svg>';
END $$;
COMMENT ON FUNCTION persona.svg_line_chart(float8[], float8[], text[], text, text, text, text, text, float8, float8, text) IS
  'SVG line chart of (x, y) points by series, with axes, ticks, legend and an optional marked point, as text';

-- A grid of cells coloured by value (darker = larger), each with its value
-- written: vals lists the rows one after another (row-major), as many as
-- row_labels x col_labels.  NULL and NaN cells are grey with '-'; values
-- must be finite and >= 0.
CREATE FUNCTION persona.svg_heatmap(row_labels text[], col_labels text[], vals float8[], title text DEFAULT NULL,
                                    value_format text DEFAULT 'number', row_title text DEFAULT NULL, col_title text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    nr integer := coalesce(cardinality(row_labels), 0);
    nc integer := coalesce(cardinality(col_labels), 0);
    cell_w integer;
    cell_h integer := 30;
    left_m integer := 130;
    top integer := CASE WHEN title IS NULL THEN 24 ELSE 46 END + CASE WHEN col_title IS NULL THEN 0 ELSE 16 END;
    width integer := 720;
    hi float8;
    out text;
    v float8;
    t float8;
BEGIN
    PERFORM persona.chart_check('values', nr * nc, vals, value_format, 'cell');
    IF EXISTS (SELECT FROM unnest(vals) x WHERE x < 0 OR x = 'Infinity') THEN
        RAISE EXCEPTION 'heatmap values must be finite and >= 0' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF nr = 0 OR nc = 0 THEN
        RETURN persona.svg_empty(title, 'No data', width);
    END IF;
    cell_w := greatest(24, least(90, (width - left_m - 10) / nc));
    hi := (SELECT max(x) FROM unnest(vals) x WHERE x <> 'NaN');
    out := persona.svg_open('heatmap', width, top + nr * cell_h + 10, title, 'heatmap');
    IF col_title IS NOT NULL THEN
        out := out || format('<text class="axis-label" x="%s" y="%s" text-anchor="middle">%s</text>', left_m + nc * cell_w / 2, top - 22, persona.html_escape(col_title));
    END IF;
    IF row_title IS NOT NULL THEN
        out := out || format('<text class="axis-label" x="0" y="%s">%s</text>', top - 6, persona.html_escape(row_title));
    END IF;
    FOR j IN 1 .. nc LOOP
        out := out || format('<text class="col-label" x="%s" y="%s" text-anchor="middle">%s</text>',
                             left_m + (j - 1) * cell_w + cell_w / 2, top - 6, persona.html_escape(coalesce(col_labels[j], '-')));
    END LOOP;
    FOR i IN 1 .. nr LOOP
        out := out || format('<text class="row-label" x="%s" y="%s" text-anchor="end">%s</text>',
                             left_m - 6, top + (i - 1) * cell_h + 19, persona.html_escape(coalesce(row_labels[i], '-')));
        FOR j IN 1 .. nc LOOP
            v := vals[(i - 1) * nc + j];
            t := CASE WHEN v IS NULL OR v = 'NaN' THEN NULL WHEN coalesce(hi, 0) <= 0 THEN 0 ELSE v / hi END;
            out := out || format('<rect class="cell" x="%s" y="%s" width="%s" height="%s" fill="%s" data-row="%s" data-col="%s"%s/><text class="cell-value%s" x="%s" y="%s" text-anchor="middle">%s</text>',
                                 left_m + (j - 1) * cell_w, top + (i - 1) * cell_h, cell_w - 2, cell_h - 2,
                                 CASE WHEN t IS NULL THEN '#e5e5e5'
                                      ELSE format('rgb(%s,%s,%s)', round(239 - t * 231), round(243 - t * 195), round(255 - t * 148)) END,
                                 i, j, CASE WHEN t IS NULL THEN '' ELSE format(' data-value="%s"', v) END,
                                 CASE WHEN t > 0.55 THEN ' dark' ELSE '' END,
                                 left_m + (j - 1) * cell_w + cell_w / 2 - 1, top + (i - 1) * cell_h + 19, persona.chart_value(v, value_format));
        END LOOP;
    END LOOP;
    RETURN out || '</svg>';
END $$;
COMMENT ON FUNCTION persona.svg_heatmap(text[], text[], float8[], text, text, text, text) IS
  'SVG heatmap of a row-major grid of values (rows x columns), each cell coloured by value and labelled, as text';

-- The Lorenz curve of per-customer amounts, as pareto measures it.
CREATE FUNCTION persona.lorenz_transfn(float8[], float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'lorenz_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.lorenz_transfn(float8[], float8) IS 'transition function of persona.lorenz_curve';
CREATE FUNCTION persona.lorenz_finalfn(float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'lorenz_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.lorenz_finalfn(float8[]) IS 'final function of persona.lorenz_curve';
CREATE AGGREGATE persona.lorenz_curve(amount float8) (
    SFUNC = persona.lorenz_transfn, STYPE = float8[], FINALFUNC = persona.lorenz_finalfn,
    COMBINEFUNC = persona.pareto_combinefn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.lorenz_curve(float8) IS
  'Lorenz curve in 1% steps: element k+1 is the share of the total from the top k% of customers (k = 0..100), interpolated inside a customer as pareto does; NULL unless the total is positive';
CREATE FUNCTION persona.lorenz_transfn(float8[], float8, float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'lorenz_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.lorenz_transfn(float8[], float8, float8) IS 'transition function of persona.lorenz_curve';
CREATE AGGREGATE persona.lorenz_curve(amount float8, accuracy float8) (
    SFUNC = persona.lorenz_transfn, STYPE = float8[], FINALFUNC = persona.lorenz_finalfn,
    COMBINEFUNC = persona.pareto_combinefn, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.lorenz_curve(float8, float8) IS
  'Lorenz curve with amounts represented within accuracy (e.g. 0.01; 0 = exact), as pareto(amount, top_share, revenue_share, accuracy): shares within about 2 x accuracy, partial states small';

-- Report captions in the profile's language: the Chinese one is given as
-- its UTF-8 bytes in hex (the extension scripts are ASCII, valid in every
-- server encoding) and converted only when asked for; an encoding without
-- its characters gives 22P05, as Chinese labels do.
CREATE FUNCTION persona.report_text(en text, zh_utf8_hex text, language text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    enc text := getdatabaseencoding();
    caption text;
BEGIN
    IF language IS DISTINCT FROM 'zh' THEN
        RETURN en;
    END IF;
    caption := convert_from(decode(zh_utf8_hex, 'hex'), 'UTF8');
    IF enc NOT IN ('UTF8', 'SQL_ASCII') THEN
        -- some mapping tables (EUC_TW) yield bytes the encoding's own check rejects
        PERFORM convert(convert_to(caption, enc), enc, 'UTF8');
    END IF;
    RETURN caption;
EXCEPTION WHEN untranslatable_character OR character_not_in_repertoire OR undefined_function THEN
    RAISE EXCEPTION 'report caption cannot be represented in server encoding "%"', getdatabaseencoding()
        USING ERRCODE = 'untranslatable_character',
              DETAIL = format('The Chinese caption of "%s" has characters with no equivalent in encoding "%s".', en, getdatabaseencoding()),
              HINT = 'Use a profile with language ''en'', or a database with encoding UTF8.';
END $$;
COMMENT ON FUNCTION persona.report_text(text, text, text) IS
  'A report caption in language: en, or zh given as UTF-8 hex and converted to the server encoding';

-- An HTML table of rows of already escaped cells; numeric columns
-- (num_cols, 1-based) are right-aligned.
CREATE FUNCTION persona.report_table(headers text[], cells text[], num_cols integer[] DEFAULT '{}', css_class text DEFAULT 'data')
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k integer := cardinality(headers);
    out text;
BEGIN
    IF k IS NULL OR k = 0 OR coalesce(cardinality(cells), 0) % k <> 0 THEN
        RAISE EXCEPTION 'a report table needs whole rows of % cells', coalesce(k, 0) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    out := format('<table class="%s"><thead><tr>', persona.html_escape(css_class))
        || (SELECT string_agg(format('<th%s>%s</th>', CASE WHEN i = ANY (num_cols) THEN ' class="num"' ELSE '' END, persona.html_escape(h)), '' ORDER BY i)
            FROM unnest(headers) WITH ORDINALITY u(h, i))
        || '</tr></thead><tbody>';
    FOR r IN 0 .. coalesce(cardinality(cells), 0) / k - 1 LOOP
        out := out || '<tr>' || (SELECT string_agg(format('<td%s>%s</td>', CASE WHEN i = ANY (num_cols) THEN ' class="num"' ELSE '' END, coalesce(cells[r * k + i], '-')), '' ORDER BY i)
                                 FROM generate_series(1, k) i) || '</tr>';
    END LOOP;
    RETURN out || '</tbody></table>';
END $$;
COMMENT ON FUNCTION persona.report_table(text[], text[], integer[], text) IS
  'An HTML table (escaped headers, cells already escaped HTML), numeric columns right-aligned';

-- The page around a report's sections: inline style, no scripts, no
-- fetches, fonts from the system (CJK fallbacks named).
CREATE FUNCTION persona.report_page(title text, language text, body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '<!DOCTYPE html>' || E'\n'
    || format('<html xmlns="http://www.w3.org/1999/xhtml" lang="%s"><head><meta charset="utf-8"/><title>%s</title>',
              CASE WHEN language = 'zh' THEN 'zh-CN' ELSE 'en' END, persona.html_escape(title))
    || '<style>
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif;
       color: #1f2933; margin: 24px auto; max-width: 760px; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; border-bottom: 1px solid #d9e2ec; padding-bottom: 4px; margin-top: 32px; }
p.meta, p.note { color: #52606d; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; } .num { text-align: right; font-variant-numeric: tabular-nums; }
table.figures td.num { font-size: 18px; font-weight: 600; }
svg { display: block; margin: 8px 0; font-size: 12px; }
svg text { fill: #1f2933; } svg .title { font-size: 14px; font-weight: 600; } svg .note { fill: #7b8794; }
svg .bar.s1, svg .key.s1 { fill: #2f6fb0; } svg .bar.s2, svg .key.s2 { fill: #f0a202; } svg .bar.marked { fill: #c8553d; }
svg .row.marked .label { fill: #c8553d; font-weight: 600; }
svg .line { stroke-width: 2.5; } svg .line.s1 { stroke: #2f6fb0; } svg .line.s2 { stroke: #9aa5b1; stroke-dasharray: 5 4; } svg .line.s3 { stroke: #f0a202; }
svg .line-key.s1 { fill: #2f6fb0; } svg .line-key.s2 { fill: #9aa5b1; } svg .line-key.s3 { fill: #f0a202; } svg .axis { stroke: #52606d; } svg .grid { stroke: #e4e7eb; } svg .tick { fill: #52606d; font-size: 11px; }
svg .mark { fill: #c8553d; } svg .mark-label { fill: #c8553d; font-weight: 600; }
svg .cell-value { font-size: 11px; } svg .cell-value.dark { fill: #ffffff; }
footer { margin-top: 40px; color: #7b8794; font-size: 12px; }
</style></head><body>' || body || '</body></html>';
COMMENT ON FUNCTION persona.report_page(text, text, text) IS
  'A self-contained HTML page (inline style, no scripts or fetches) around report sections';

-- One section of a report: a heading and its content.
CREATE FUNCTION persona.report_section(id text, heading text, content text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('<section id="%s"><h2>%s</h2>%s</section>', persona.html_escape(id), persona.html_escape(heading), coalesce(content, ''));
COMMENT ON FUNCTION persona.report_section(text, text, text) IS 'A report section: id, escaped heading, content';

-- The grids a report draws from one pass over a profile's customers:
-- customers by R and F score (rows R = bins down to 1, columns F = 1 up
-- to bins) with their mean revenue; customers by favourite weekday and
-- main daypart; mean P(alive) by repeat purchases and recency.  Cells
-- without customers count 0 (P(alive): NULL).  The pass groups by every
-- grid's keys at once (at most a few 10,000 groups) and each grid sums
-- those: one GROUP BY aggregates in parallel workers, GROUPING SETS
-- would not (3 times slower over 1M customers).
CREATE FUNCTION persona.report_grids(p persona.profiles, OUT rf float8[], OUT rf_revenue float8[],
                                     OUT habits float8[], OUT p_alive float8[])
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
BEGIN
    EXECUTE format($q$WITH c AS MATERIALIZED (
    SELECT s.r_score::int AS r, s.f_score::int AS f, s.favourite_weekday AS w,
           CASE s.daypart WHEN 'morning' THEN 1 WHEN 'lunch' THEN 2 WHEN 'afternoon' THEN 3 WHEN 'evening' THEN 4
                          WHEN 'night' THEN 5 END AS d,
           CASE WHEN s.purchase_days <= 3 THEN s.purchase_days WHEN s.purchase_days <= 5 THEN 4
                WHEN s.purchase_days <= 10 THEN 5 ELSE 6 END AS xb,
           CASE WHEN s.recency_days <= 30 THEN 1 WHEN s.recency_days <= 90 THEN 2 WHEN s.recency_days <= 180 THEN 3
                WHEN s.recency_days <= 365 THEN 4 ELSE 5 END AS rb,
           count(*)::float8 AS n, sum(persona.numeric_to_float8(s.revenue)) AS revenue, count(s.revenue) AS revenues,
           sum(%2$s) AS p_alive, count(%2$s) AS p_alives
    FROM %1$s s WHERE s.orders > 0
    GROUP BY 1, 2, 3, 4, 5, 6),
g AS MATERIALIZED (
    SELECT 1 AS part, c.r AS a, c.f AS b, sum(c.n) AS n, sum(c.revenue) / nullif(sum(c.revenues), 0) AS revenue, NULL::float8 AS p_alive
    FROM c GROUP BY c.r, c.f
    UNION ALL
    SELECT 2, c.w, c.d, sum(c.n), NULL, NULL FROM c GROUP BY c.w, c.d
    UNION ALL
    SELECT 3, c.xb, c.rb, sum(c.n), NULL, sum(c.p_alive) / nullif(sum(c.p_alives), 0) FROM c GROUP BY c.xb, c.rb)
SELECT (SELECT array_agg(coalesce(g.n, 0) ORDER BY r DESC, f) FROM generate_series(1, %3$s) r CROSS JOIN generate_series(1, %3$s) f
        LEFT JOIN g ON g.part = 1 AND g.a = r AND g.b = f),
       (SELECT array_agg(g.revenue ORDER BY r DESC, f) FROM generate_series(1, %3$s) r CROSS JOIN generate_series(1, %3$s) f
        LEFT JOIN g ON g.part = 1 AND g.a = r AND g.b = f),
       (SELECT array_agg(coalesce(g.n, 0) ORDER BY w, d) FROM generate_series(1, 7) w CROSS JOIN generate_series(1, 5) d
        LEFT JOIN g ON g.part = 2 AND g.a = w AND g.b = d),
       (SELECT array_agg(g.p_alive ORDER BY x, r) FROM generate_series(1, 6) x CROSS JOIN generate_series(1, 5) r
        LEFT JOIN g ON g.part = 3 AND g.a = x AND g.b = r)$q$,
        persona.profile_rel(p, '_customers'), CASE WHEN 'models' = ANY (p.parts) THEN 's.p_alive' ELSE 'NULL::float8' END, p.bins)
    INTO rf, rf_revenue, habits, p_alive;
END $$;
COMMENT ON FUNCTION persona.report_grids(persona.profiles) IS
  'The R x F, weekday x daypart and repeat purchases x recency grids of a profile report, from one pass over its customers';

CREATE FUNCTION persona.report_segments(p persona.profiles) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    lang text := p.language;
    r record;
    out text;
BEGIN
    EXECUTE format($q$SELECT array_agg(s.segment ORDER BY s.customers DESC, s.segment) AS labels,
                            array_agg(s.customer_share ORDER BY s.customers DESC, s.segment) AS customer_share,
                            array_agg(s.revenue_share ORDER BY s.customers DESC, s.segment) AS revenue_share,
                            array_agg(s.below_5_percent ORDER BY s.customers DESC, s.segment) AS small,
                            (SELECT array_agg(c ORDER BY t.customers DESC, t.segment, i)
                             FROM %1$s t, LATERAL unnest(ARRAY[persona.html_escape(t.segment), persona.format_number(t.customers),
                                                              persona.format_share(t.customer_share), persona.format_number(t.revenue::float8),
                                                              persona.format_share(t.revenue_share), persona.format_number(t.avg_revenue, 2),
                                                              persona.format_number(t.avg_recency_days, 1), persona.format_number(t.avg_orders, 1)])
                                          WITH ORDINALITY u(c, i)) AS cells
                     FROM %1$s s$q$, persona.profile_rel(p, '_segments')) INTO r;
    out := persona.svg_bar_chart(r.labels, r.customer_share,
                                 persona.report_text('Share of customers and of revenue per segment', 'e59084e58886e7bea4e79a84e5aea2e688b7e58da0e6af94e4b88ee99480e594aee9a29de58da0e6af94', lang),
                                 r.revenue_share,
                                 ARRAY[persona.report_text('customers', 'e5aea2e688b7e58da0e6af94', lang), persona.report_text('revenue', 'e99480e594aee9a29de58da0e6af94', lang)],
                                 r.small, 'share', '< 5%');
    IF true = ANY (r.small) THEN
        out := out || format('<p class="note">%s</p>', persona.html_escape(persona.report_text('Segments in red hold under 5% of customers: merge them with a neighbouring segment (seed 003: 5-8 segments of at least 5% each).', 'e7baa2e889b2e58886e7bea4e79a84e5aea2e688b7e4b88de8b6b3203525efbc9ae5bbbae8aeaee4b88ee79bb8e982bbe58886e7bea4e59088e5b9b6efbc88352d3820e4b8aae58886e7bea4efbc8ce6af8fe4b8aae887b3e5b091203525efbc89e38082', lang)));
    END IF;
    RETURN persona.report_section('segments', persona.report_text('Segments', 'e5aea2e688b7e58886e7bea4', lang), out
        || persona.report_table(ARRAY[persona.report_text('Segment', 'e58886e7bea4', lang), persona.report_text('Customers', 'e5aea2e688b7e695b0', lang),
                                      persona.report_text('Share', 'e58da0e6af94', lang), persona.report_text('Revenue', 'e99480e594aee9a29d', lang),
                                      persona.report_text('Revenue share', 'e99480e594aee9a29de58da0e6af94', lang),
                                      persona.report_text('Revenue per customer', 'e4babae59d87e99480e594aee9a29d', lang),
                                      persona.report_text('Avg recency (days)', 'e5b9b3e59d87e69c80e8bf91e8b4ade4b9b028e5a4a929', lang),
                                      persona.report_text('Avg orders', 'e5b9b3e59d87e8aea2e58d95e695b0', lang)],
                                r.cells, ARRAY[2, 3, 4, 5, 6, 7, 8], 'data segments'));
END $$;
COMMENT ON FUNCTION persona.report_segments(persona.profiles) IS 'The segments section of a profile report';

CREATE FUNCTION persona.report_lifecycle(p persona.profiles) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    r record;
BEGIN
    EXECUTE format('SELECT array_agg(l.label ORDER BY l.stage_order) AS labels, array_agg(l.customer_share ORDER BY l.stage_order) AS shares,
                           array_agg(l.customers::float8 ORDER BY l.stage_order) AS customers
                    FROM %s l', persona.profile_rel(p, '_lifecycle')) INTO r;
    RETURN persona.report_section('lifecycle', persona.report_text('Lifecycle stages', 'e7949fe591bde591a8e69c9f', p.language),
        persona.svg_bar_chart(r.labels, r.shares, persona.report_text('Share of customers per stage', 'e59084e998b6e6aeb5e5aea2e688b7e58da0e6af94', p.language),
                              value_format => 'share'));
END $$;
COMMENT ON FUNCTION persona.report_lifecycle(persona.profiles) IS 'The lifecycle section of a profile report';

CREATE FUNCTION persona.report_pareto(p persona.profiles, lorenz float8[]) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    lang text := p.language;
    x float8[] := ARRAY(SELECT k / 100.0 FROM generate_series(0, 100) k);
    top float8 := lorenz[21];
BEGIN
    IF lorenz IS NULL THEN
        RETURN persona.report_section('pareto', persona.report_text('Revenue concentration (Pareto)', 'e99480e594aee9a29de99b86e4b8ade5baa6efbc88e5b895e7b4afe68998efbc89', lang),
            persona.svg_empty(NULL, persona.report_text('No revenue to draw.', 'e6b2a1e69c89e58fafe7bb98e588b6e79a84e99480e594aee9a29de38082', lang)));
    END IF;
    RETURN persona.report_section('pareto', persona.report_text('Revenue concentration (Pareto)', 'e99480e594aee9a29de99b86e4b8ade5baa6efbc88e5b895e7b4afe68998efbc89', lang),
        persona.svg_line_chart(x || x, lorenz || x,
            array_fill(persona.report_text('customers ranked by revenue', 'e68c89e99480e594aee9a29de68e92e5ba8fe79a84e5aea2e688b7', lang), ARRAY[101])
                || array_fill(persona.report_text('equal shares', 'e5ae8ce585a8e5b9b3e59d87', lang), ARRAY[101]),
            persona.report_text('Cumulative share of revenue by share of customers', 'e7b4afe8aea1e5aea2e688b7e58da0e6af94e5afb9e5ba94e79a84e7b4afe8aea1e99480e594aee9a29de58da0e6af94', lang),
            persona.report_text('share of customers, largest first', 'e5aea2e688b7e58da0e6af94efbc88e4bb8ee9ab98e588b0e4bd8eefbc89', lang),
            persona.report_text('share of revenue', 'e99480e594aee9a29de58da0e6af94', lang), 'share', 'share',
            0.2, top, format(persona.report_text('top 20%% of customers: %s of revenue', 'e5898d203230252520e5aea2e688b7e8b4a1e78cae20257320e99480e594aee9a29d', lang), persona.format_share(top)))
        || format('<p class="note" data-key="top_20_share">%s</p>',
                  persona.html_escape(format(persona.report_text('The top 20%% of customers bring %s of revenue.', 'e5898d203230252520e79a84e5aea2e688b7e8b4a1e78caee4ba8620257320e79a84e99480e594aee9a29de38082', lang),
                                             persona.format_share(top)))));
END $$;
COMMENT ON FUNCTION persona.report_pareto(persona.profiles, float8[]) IS 'The Pareto (Lorenz curve) section of a profile report';

CREATE FUNCTION persona.report_rf(p persona.profiles, rf float8[], rf_revenue float8[]) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    lang text := p.language;
    rows text[] := ARRAY(SELECT 'R ' || r FROM generate_series(p.bins, 1, -1) r);
    cols text[] := ARRAY(SELECT 'F ' || f FROM generate_series(1, p.bins) f);
BEGIN
    RETURN persona.report_section('rf', persona.report_text('Recency x frequency', 'e69c80e8bf91e8b4ade4b9b020c39720e8b4ade4b9b0e9a291e6aca1', lang),
        persona.svg_heatmap(rows, cols, rf, persona.report_text('Customers by R and F score', 'e68c892052e380814620e5be97e58886e79a84e5aea2e688b7e695b0', lang), 'integer',
                            persona.report_text('R (5 = most recent)', '52efbc8835203d20e69c80e8bf91efbc89', lang), persona.report_text('F score', '4620e5be97e58886', lang))
        || persona.svg_heatmap(rows, cols, rf_revenue, persona.report_text('Mean revenue per customer by R and F score', 'e68c892052e380814620e5be97e58886e79a84e4babae59d87e99480e594aee9a29d', lang), 'number',
                               persona.report_text('R (5 = most recent)', '52efbc8835203d20e69c80e8bf91efbc89', lang), persona.report_text('F score', '4620e5be97e58886', lang)));
END $$;
COMMENT ON FUNCTION persona.report_rf(persona.profiles, float8[], float8[]) IS 'The recency x frequency section of a profile report';

CREATE FUNCTION persona.report_habits(p persona.profiles, habits float8[]) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    lang text := p.language;
BEGIN
    IF NOT EXISTS (SELECT FROM unnest(habits) h WHERE h > 0) THEN
        -- date-only orders: no times of day, no dayparts
        RETURN persona.report_section('habits', persona.report_text('Habits', 'e8b4ade4b9b0e4b9a0e683af', lang),
            format('<p class="note">%s</p>', persona.html_escape(persona.report_text('The orders have no times of day (date-only), so there are no dayparts to show.', 'e8aea2e58d95e6b2a1e69c89e585b7e4bd93e697b6e997b4efbc88e58faae69c89e697a5e69c9fefbc89efbc8ce697a0e6b395e698bee7a4bae697b6e6aeb5e38082', lang))));
    END IF;
    RETURN persona.report_section('habits', persona.report_text('Habits', 'e8b4ade4b9b0e4b9a0e683af', lang),
        persona.svg_heatmap(ARRAY(SELECT persona.report_text(w[1], w[2], lang) FROM (VALUES (1, ARRAY['Mon', 'e591a8e4b880']), (2, ARRAY['Tue', 'e591a8e4ba8c']), (3, ARRAY['Wed', 'e591a8e4b889']), (4, ARRAY['Thu', 'e591a8e59b9b']), (5, ARRAY['Fri', 'e591a8e4ba94']), (6, ARRAY['Sat', 'e591a8e585ad']), (7, ARRAY['Sun', 'e591a8e697a5'])) d(i, w) ORDER BY i),
                            ARRAY(SELECT persona.label(d, lang) FROM unnest(enum_range(NULL::persona.daypart)) d),
                            habits, persona.report_text('Customers by favourite weekday and main daypart', 'e68c89e69c80e5b8b8e8b4ade4b9b0e79a84e6989fe69c9fe4b88ee697b6e6aeb5e79a84e5aea2e688b7e695b0', lang),
                            'integer', persona.report_text('weekday', 'e6989fe69c9f', lang), persona.report_text('daypart', 'e697b6e6aeb5', lang)));
END $$;
COMMENT ON FUNCTION persona.report_habits(persona.profiles, float8[]) IS 'The habits (weekday x daypart) section of a profile report';

-- Tags: how many customers carry each (the 15 most common) and the pairs
-- that go together most (lift), when the profile has tag rules.
CREATE FUNCTION persona.report_tags(p persona.profiles, customers bigint) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    lang text := p.language;
    r record;
    a record;
BEGIN
    IF NOT EXISTS (SELECT FROM persona.tag_rules t WHERE t.source = to_regclass(persona.profile_rel(p, '_customers')) AND t.enabled) THEN
        RETURN persona.report_section('tags', persona.report_text('Tags', 'e6a087e7adbe', lang),
            format('<p class="note">%s</p>', persona.html_escape(persona.report_text('No tag rules on this profile (persona.tag_rules).', 'e6ada4e794bbe5838fe6b2a1e69c89e6a087e7adbee8a784e58899efbc88706572736f6e612e7461675f72756c6573efbc89e38082', lang))));
    END IF;
    EXECUTE format($q$SELECT array_agg(tag ORDER BY n DESC, tag) AS tags, array_agg(n::float8 / %2$s ORDER BY n DESC, tag) AS shares
                     FROM (SELECT t.tag, count(DISTINCT t.customer_id) AS n FROM %1$s t GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT 15) x$q$,
                   persona.profile_rel(p, '_customer_tags'), greatest(customers, 1)) INTO r;
    EXECUTE format($q$SELECT array_agg(c ORDER BY z.rank, i) AS cells FROM (
                         SELECT x.*, row_number() OVER (ORDER BY x.lift DESC, x.antecedent, x.consequent) AS rank
                         FROM (SELECT (a).* FROM (SELECT unnest(persona.tag_affinity(s.tags)) AS a FROM %s s) y) x) z,
                       LATERAL unnest(ARRAY[persona.html_escape(z.antecedent), persona.html_escape(z.consequent), persona.format_share(z.support),
                                            persona.format_share(z.confidence), persona.format_number(z.lift, 2)]) WITH ORDINALITY u(c, i)
                     WHERE z.rank <= 10$q$, persona.profile_rel(p, '_customers')) INTO a;
    RETURN persona.report_section('tags', persona.report_text('Tags', 'e6a087e7adbe', lang),
        persona.svg_bar_chart(r.tags, r.shares, persona.report_text('Share of customers with each tag', 'e59084e6a087e7adbee79a84e5aea2e688b7e58da0e6af94', lang), value_format => 'share')
        || CASE WHEN a.cells IS NULL THEN '' ELSE
           persona.report_table(ARRAY[persona.report_text('Tag', 'e6a087e7adbe', lang), persona.report_text('With tag', 'e585b3e88194e6a087e7adbe', lang),
                                      persona.report_text('Support', 'e694afe68c81e5baa6', lang), persona.report_text('Confidence', 'e7bdaee4bfa1e5baa6', lang),
                                      persona.report_text('Lift', 'e68f90e58d87e5baa6', lang)], a.cells, ARRAY[3, 4, 5], 'data affinity') END);
END $$;
COMMENT ON FUNCTION persona.report_tags(persona.profiles, bigint) IS 'The tags section (prevalence, strongest affinities) of a profile report';

-- Models: the fitted parameters, mean P(alive) by repeat purchases and
-- recency, calibration against holdout by frequency, CLV by value tier.
CREATE FUNCTION persona.report_models(p persona.profiles, p_alive float8[], customers bigint, clv_customers bigint) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    lang text := p.language;
    r record;
    out text;
BEGIN
    IF NOT 'models' = ANY (p.parts) THEN
        RETURN '';
    END IF;
    EXECUTE format($q$SELECT array_agg(c ORDER BY m.model, m.parameter, i) AS cells
                     FROM %s m, LATERAL unnest(ARRAY[persona.html_escape(m.model), persona.html_escape(m.parameter), persona.format_significant(m.value),
                                                     persona.format_significant(m.std_error), persona.format_number(m.loglik, 2),
                                                     persona.html_escape(m.status)]) WITH ORDINALITY u(c, i)$q$,
                   persona.profile_rel(p, '_models')) INTO r;
    out := CASE WHEN r.cells IS NULL
                THEN format('<p class="note">%s</p>', persona.html_escape(persona.report_text('The models could not be fitted (see the refresh''s warnings).', 'e6a8a1e59e8be69caae883bde68b9fe59088efbc88e8a781e588b7e696b0e697b6e79a84e8ada6e5918aefbc89e38082', lang)))
                ELSE persona.report_table(ARRAY[persona.report_text('Model', 'e6a8a1e59e8b', lang), persona.report_text('Parameter', 'e58f82e695b0', lang),
                                                persona.report_text('Value', 'e4bcb0e8aea1e580bc', lang), persona.report_text('Std. error', 'e6a087e58786e8afaf', lang),
                                                persona.report_text('Log-likelihood', 'e5afb9e695b0e4bcbce784b6', lang), persona.report_text('Status', 'e78ab6e68081', lang)],
                                          r.cells, ARRAY[3, 4, 5], 'data models') END;
    out := out || persona.svg_heatmap(ARRAY['0', '1', '2', '3-4', '5-9', '10+'],
                                      ARRAY(SELECT persona.report_text(b[1], b[2], lang) FROM (VALUES (1, ARRAY['<= 30 d', 'e289a43330e5a4a9']), (2, ARRAY['31-90 d', '33312d3930e5a4a9']), (3, ARRAY['91-180 d', '39312d313830e5a4a9']), (4, ARRAY['181-365 d', '3138312d333635e5a4a9']), (5, ARRAY['> 365 d', '3e333635e5a4a9'])) d(i, b) ORDER BY i),
                                      p_alive, persona.report_text('Mean P(alive) by repeat purchases and days since the last order', 'e68c89e5a48de8b4ade6aca1e695b0e4b88ee8b79de4b88ae6aca1e8b4ade4b9b0e5a4a9e695b0e79a84e5b9b3e59d87e5ad98e6b4bbe6a682e78e87', lang),
                                      'share', persona.report_text('repeat purchases', 'e5a48de8b4ade6aca1e695b0', lang), persona.report_text('days since the last order', 'e8b79de4b88ae6aca1e8b4ade4b9b0e5a4a9e695b0', lang));
    IF to_regclass(persona.profile_rel(p, '_holdout')) IS NOT NULL THEN
        -- rows by calibration frequency ('0' .. '7+') and one 'all' row: means per customer
        EXECUTE format($q$SELECT array_agg(h.frequency ORDER BY length(h.frequency), h.frequency) AS labels,
                                array_agg(h.actual ORDER BY length(h.frequency), h.frequency) AS actual,
                                array_agg(h.predicted ORDER BY length(h.frequency), h.frequency) AS predicted
                         FROM %s h WHERE h.frequency <> 'all'$q$, persona.profile_rel(p, '_holdout')) INTO r;
        out := out || persona.svg_bar_chart(r.labels, r.actual,
                    persona.report_text('Holdout purchases per customer by calibration frequency: actual and predicted (BG/NBD)', 'e79599e587bae69c9fe4babae59d87e8b4ade4b9b0efbc88e68c89e6a0a1e58786e69c9fe5a48de8b4ade6aca1e695b0efbc89efbc9ae5ae9ee99985e4b88ee9a284e6b58befbc8842472f4e4244efbc89', lang),
                    r.predicted, ARRAY[persona.report_text('actual', 'e5ae9ee99985', lang), persona.report_text('predicted', 'e9a284e6b58b', lang)]);
        -- weekly cumulative repeat purchases of the calibration cohort, actual and expected
        -- under a BG/NBD fitted to the calibration period (BTYD's tracking plot)
        EXECUTE format($q$WITH w AS (SELECT min(h.calibration_end_on) AS cal, min(h.holdout_end_on) AS hold FROM %1$s h),
                          m AS (SELECT persona.bgnbd_fit(c.x, c.t_x, c.t_cal) AS bg
                                FROM w, persona.holdout_calibration(%2$L::regclass, w.cal::timestamp AT TIME ZONE %6$L, NULL, 'weeks',
                                                                     %3$L, %4$L, %5$L, %6$L) c)
                     SELECT array_agg(t.period::float8 ORDER BY t.period) AS x,
                            array_agg(t.cumulative_actual::float8 ORDER BY t.period) AS actual,
                            array_agg(t.cumulative_expected ORDER BY t.period) AS expected,
                            min(t.period) FILTER (WHERE t.holdout) AS first_holdout,
                            min(t.cumulative_actual) FILTER (WHERE t.holdout) AS at_holdout
                     FROM w, m, persona.tracking(%2$L::regclass, w.cal::timestamp AT TIME ZONE %6$L, w.hold::timestamp AT TIME ZONE %6$L,
                                                  m.bg, 'weeks', %3$L, %4$L, %5$L, %6$L, 7) t$q$,
                       persona.profile_rel(p, '_holdout'), p.orders::text, p.customer_col, p.time_col, p.amount_col, p.time_zone) INTO r;
        IF r.x IS NOT NULL THEN
            out := out || persona.svg_line_chart(r.x || r.x, r.actual || r.expected,
                        array_fill(persona.report_text('actual', 'e5ae9ee99985', lang), ARRAY[cardinality(r.x)])
                            || array_fill(persona.report_text('expected (BG/NBD on the calibration period)', 'e9a284e69c9fefbc88e6a0a1e58786e69c9fe68b9fe59088e79a842042472f4e4244efbc89', lang), ARRAY[cardinality(r.x)]),
                        persona.report_text('Cumulative repeat purchases of the calibration cohort, by week', 'e6a0a1e58786e69c9fe5aea2e7bea4e79a84e7b4afe8aea1e5a48de8b4adefbc88e68c89e591a8efbc89', lang),
                        persona.report_text('week', 'e591a8', lang), persona.report_text('repeat purchases', 'e5a48de8b4ade6aca1e695b0', lang),
                        'integer', 'integer', r.first_holdout, r.at_holdout,
                        persona.report_text('holdout starts', 'e79599e587bae69c9fe5bc80e5a78b', lang));
        END IF;
    END IF;
    IF customers <= clv_customers THEN
        EXECUTE format($q$SELECT array_agg(persona.label(t, %2$L) ORDER BY t) AS labels,
                                array_agg(n / nullif(all_n, 0) ORDER BY t) AS customers, array_agg(clv / nullif(all_clv, 0) ORDER BY t) AS clv
                         FROM (SELECT t, coalesce(x.n, 0)::float8 AS n, coalesce(x.clv, 0) AS clv,
                                      sum(coalesce(x.n, 0)) OVER () AS all_n, sum(coalesce(x.clv, 0)) OVER () AS all_clv
                               FROM unnest(enum_range(NULL::persona.value_tier)) t
                               LEFT JOIN (SELECT s.value_tier, count(*) AS n, sum(s.clv_12m) AS clv FROM %1$s s WHERE s.orders > 0 GROUP BY 1) x
                                 ON x.value_tier = t::text) y$q$, persona.profile_rel(p, '_customers'), lang) INTO r;
        out := out || persona.svg_bar_chart(r.labels, r.customers,
                    persona.report_text('Customers and 12-month CLV per value tier', 'e59084e4bbb7e580bce5b182e7baa7e79a84e5aea2e688b7e58da0e6af94e4b88e20313220e4b8aae69c8820434c5620e58da0e6af94', lang), r.clv,
                    ARRAY[persona.report_text('customers', 'e5aea2e688b7e58da0e6af94', lang), persona.report_text('CLV (12 months)', '434c5620e58da0e6af94efbc88313220e4b8aae69c88efbc89', lang)],
                    value_format => 'share');
    ELSE
        out := out || format('<p class="note">%s</p>', persona.html_escape(format(persona.report_text('CLV by value tier is left out above %s customers (it computes every customer''s CLV); raise clv_customers to include it.', 'e5aea2e688b7e695b0e8b685e8bf8720257320e697b6e4b88de8aea1e7ae97e59084e4bbb7e580bce5b182e7baa7e79a8420434c56efbc88e99c80e98090e4b8aae5aea2e688b7e8aea1e7ae97efbc89efbc9be58fafe8b083e5a4a720636c765f637573746f6d657273e38082', lang), persona.format_number(clv_customers))));
    END IF;
    RETURN persona.report_section('models', persona.report_text('Predictive models', 'e9a284e6b58be6a8a1e59e8b', lang), out);
END $$;
COMMENT ON FUNCTION persona.report_models(persona.profiles, float8[], bigint, bigint) IS
  'The models section (parameters, P(alive) matrix, holdout calibration, CLV by value tier) of a profile report';

CREATE FUNCTION persona.report_quality(p persona.profiles) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    r record;
BEGIN
    IF NOT 'quality' = ANY (p.parts) THEN
        RETURN '';
    END IF;
    EXECUTE format($q$SELECT array_agg(c ORDER BY q.rows DESC, q.check_name, i) AS cells
                     FROM %s q, LATERAL unnest(ARRAY[persona.html_escape(q.label), persona.format_number(q.rows), persona.format_share(q.share),
                                                     persona.html_escape(q.treatment)]) WITH ORDINALITY u(c, i)
                     WHERE q.rows > 0 AND q.check_name <> 'orders'$q$, persona.profile_rel(p, '_quality')) INTO r;
    RETURN persona.report_section('quality', persona.report_text('Data quality', 'e695b0e68daee8b4a8e9878f', p.language),
        CASE WHEN r.cells IS NULL THEN format('<p class="note">%s</p>', persona.html_escape(persona.report_text('No findings.', 'e69caae58f91e78eb0e997aee9a298e38082', p.language)))
             ELSE persona.report_table(ARRAY[persona.report_text('Finding', 'e6a380e69fa5e9a1b9', p.language), persona.report_text('Rows', 'e8a18ce695b0', p.language),
                                             persona.report_text('Share', 'e58da0e6af94', p.language), persona.report_text('Treatment', 'e5a484e79086e696b9e5bc8f', p.language)],
                                       r.cells, ARRAY[2, 3], 'data quality') END);
END $$;
COMMENT ON FUNCTION persona.report_quality(persona.profiles) IS 'The data-quality section of a profile report';

-- A profile's report: one self-contained HTML page (inline SVG, no scripts
-- or fetches) in the profile's language, read from its published views,
-- so a reader needs what reading them needs.  CLV by value tier computes
-- every customer's CLV: only for profiles of at most clv_customers.
CREATE FUNCTION persona.profile_report(profile text, clv_customers bigint DEFAULT 200000)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    p persona.profiles := persona.profile_get(profile);
    lang text := p.language;
    g record;
    h record;
    body text;
BEGIN
    IF clv_customers IS NULL OR clv_customers < 0 THEN
        RAISE EXCEPTION 'clv_customers must be >= 0, not %', coalesce(clv_customers::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    g := persona.report_grids(p);
    EXECUTE format($q$SELECT count(*) AS customers, coalesce(sum(s.orders), 0) AS orders, coalesce(sum(s.revenue), 0) AS revenue,
                           count(*) FILTER (WHERE s.purchase_days > 1) AS repeaters, max(s.as_of) AS as_of,
                           persona.lorenz_curve(persona.numeric_to_float8(s.revenue)) AS lorenz
                    FROM %s s WHERE s.orders > 0$q$, persona.profile_rel(p, '_customers')) INTO h;
    body := format('<h1>%s: %s</h1><p class="meta">%s %s | %s %s | %s %s</p>',
                   persona.report_text('Customer profile', 'e5aea2e688b7e794bbe5838f', lang), persona.html_escape(p.name),
                   persona.report_text('as of', 'e688aae887b3', lang), coalesce(to_char(coalesce(h.as_of, p.refreshed_as_of), 'YYYY-MM-DD'), '-'),
                   persona.report_text('time zone', 'e697b6e58cba', lang), persona.html_escape(p.time_zone),
                   persona.report_text('refreshed', 'e588b7e696b0e4ba8e', lang),
                   coalesce(to_char(p.refreshed_at AT TIME ZONE p.time_zone, 'YYYY-MM-DD HH24:MI'), '-'));
    body := body || persona.report_section('headline', persona.report_text('Headline figures', 'e6a0b8e5bf83e68c87e6a087', lang),
        persona.report_table(ARRAY[persona.report_text('Measure', 'e68c87e6a087', lang), persona.report_text('Value', 'e695b0e580bc', lang)],
            ARRAY[persona.report_text('Customers', 'e5aea2e688b7e695b0', lang), format('<span data-key="customers">%s</span>', persona.format_number(h.customers)),
                  persona.report_text('Orders', 'e8aea2e58d95e695b0', lang), format('<span data-key="orders">%s</span>', persona.format_number(h.orders)),
                  persona.report_text('Revenue', 'e99480e594aee9a29d', lang), format('<span data-key="revenue">%s</span>', persona.format_number(h.revenue::float8)),
                  persona.report_text('Average order value (per order)', 'e5aea2e58d95e4bbb7efbc88e68c89e8aea2e58d95efbc89', lang),
                      format('<span data-key="aov">%s</span>', persona.format_number(h.revenue::float8 / nullif(h.orders, 0), 2)),
                  persona.report_text('Repeat customers', 'e5a48de8b4ade5aea2e688b7e58da0e6af94', lang),
                      format('<span data-key="repeat_share">%s</span>', persona.format_share(h.repeaters::float8 / nullif(h.customers, 0))),
                  persona.report_text('As of', 'e688aae887b3e697a5e69c9f', lang), coalesce(to_char(h.as_of, 'YYYY-MM-DD'), '-'),
                  persona.report_text('Time zone', 'e697b6e58cba', lang), persona.html_escape(p.time_zone)],
            ARRAY[2], 'figures'));
    IF h.customers = 0 THEN
        -- nothing to chart; the data quality checks say why (orders after
        -- the as-of day, without a customer, ...)
        body := body || format('<p class="note" data-key="no_customers">%s</p>',
                               persona.html_escape(persona.report_text('No customer has an order up to the as-of day.',
                                                                       'e688aae887b3e7bb9fe8aea1e697a5e6b2a1e69c89e5aea2e688b7e4b88be58d95e38082', lang)));
    ELSE
        IF 'segments' = ANY (p.parts) THEN
            body := body || persona.report_segments(p);
        END IF;
        body := body || persona.report_rf(p, g.rf, g.rf_revenue);
        IF 'lifecycle' = ANY (p.parts) THEN
            body := body || persona.report_lifecycle(p);
        END IF;
        body := body || persona.report_pareto(p, h.lorenz)
                     || persona.report_habits(p, g.habits)
                     || persona.report_tags(p, h.customers)
                     || persona.report_models(p, g.p_alive, h.customers, clv_customers);
    END IF;
    body := body || persona.report_quality(p)
                 || format('<footer>persona %s | %s</footer>', persona.html_escape((SELECT e.extversion FROM pg_extension e WHERE e.extname = 'persona')),
                           persona.html_escape(persona.report_text('made in the database by persona.profile_report', 'e794b120706572736f6e612e70726f66696c655f7265706f727420e59ca8e695b0e68daee5ba93e4b8ade7949fe68890', lang)));
    RETURN persona.report_page(format('%s: %s', persona.report_text('Customer profile', 'e5aea2e688b7e794bbe5838f', lang), p.name), lang, body);
END $$;
COMMENT ON FUNCTION persona.profile_report(text, bigint) IS
  'A profile''s report as one self-contained HTML page (headline figures, segments, R x F, lifecycle, Pareto, habits, tags, models, data quality) in its language';
