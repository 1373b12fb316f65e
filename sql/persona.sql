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
CREATE FUNCTION persona.order_stats_of(state bytea, as_of date) RETURNS persona.order_stats
AS 'MODULE_PATHNAME', 'order_stats_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_of(bytea, date) IS
  'Order statistics of an order_stats state, recency and tenure counted to the local date as_of; a state with orders after as_of is an error';

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
  'RFM scores (recency, frequency, monetary; 1..bins, bins = best), text ''545'' or ''10-3-5/10''';
COMMENT ON FUNCTION persona.rfm_in(cstring) IS 'input function of persona.rfm';
COMMENT ON FUNCTION persona.rfm_out(persona.rfm) IS 'output function of persona.rfm';
COMMENT ON FUNCTION persona.rfm_recv(internal) IS 'binary input function of persona.rfm';
COMMENT ON FUNCTION persona.rfm_send(persona.rfm) IS 'binary output function of persona.rfm';

CREATE FUNCTION persona.rfm(r integer, f integer, m integer, bins integer DEFAULT 5) RETURNS persona.rfm
AS 'MODULE_PATHNAME', 'rfm_construct' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm(integer, integer, integer, integer) IS
  'Build an rfm value from three scores on a scale of bins points';
CREATE FUNCTION persona.r(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_r' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.r(persona.rfm) IS 'Recency score (bins = bought most recently)';
CREATE FUNCTION persona.f(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_f' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.f(persona.rfm) IS 'Frequency score (bins = buys most often)';
CREATE FUNCTION persona.m(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_m' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.m(persona.rfm) IS 'Monetary score (bins = spends most)';
CREATE FUNCTION persona.bins(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_bins' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.bins(persona.rfm) IS 'Number of score points (2..10) of an rfm value';
CREATE FUNCTION persona.score(persona.rfm) RETURNS integer
AS 'MODULE_PATHNAME', 'rfm_score_code' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.score(persona.rfm) IS 'Numeric RFM code 100 r + 10 f + m (''545'' -> 545)';

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

-- The state is a float8[] (parameters, then every customer's values), not
-- internal: partial states print and re-read exactly, so Citus can combine them.
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
  'Tie-safe quintile cut points for RFM scoring over all customers (also usable OVER ())';
COMMENT ON AGGREGATE persona.rfm_breaks(float8, float8, float8, integer) IS
  'Tie-safe quantile cut points for RFM scoring on bins (2..10) points';
COMMENT ON AGGREGATE persona.rfm_breaks(float8, float8, float8, integer, text) IS
  'RFM cut points by method: quantile (tie-safe) or mean (2 bins, high/low against the average)';

CREATE FUNCTION persona.rfm_thresholds(r_days float8[], f_counts float8[], m_amounts float8[])
RETURNS persona.rfm_breaks AS 'MODULE_PATHNAME', 'rfm_thresholds' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_thresholds(float8[], float8[], float8[]) IS
  'RFM cut points from business thresholds, e.g. {30} days, {3} orders a month, {5000} yuan';

CREATE FUNCTION persona.rfm_score(recency float8, frequency float8, monetary float8, breaks persona.rfm_breaks)
RETURNS persona.rfm AS 'MODULE_PATHNAME', 'rfm_score_breaks' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_score(float8, float8, float8, persona.rfm_breaks) IS
  'RFM scores of one customer against cut points from rfm_breaks or rfm_thresholds';

CREATE FUNCTION persona.rfm_score(recency float8, frequency float8, monetary float8,
                                  r_days float8[], f_counts float8[], m_amounts float8[])
RETURNS persona.rfm LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN persona.rfm_score(recency, frequency, monetary, persona.rfm_thresholds(r_days, f_counts, m_amounts));
COMMENT ON FUNCTION persona.rfm_score(float8, float8, float8, float8[], float8[], float8[]) IS
  'RFM scores of one customer against explicit business thresholds';

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

-- float8[] state (parameters, then the amounts): see rfm_breaks.
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
CREATE FUNCTION persona.habits_of(state bytea) RETURNS persona.habits
AS 'MODULE_PATHNAME', 'habits_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.habits_of(bytea) IS 'The habits of a habits state';

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

CREATE FUNCTION persona.affinity_transfn(internal, text[]) RETURNS internal
AS 'MODULE_PATHNAME', 'affinity_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.affinity_transfn(internal, text[], float8) RETURNS internal
AS 'MODULE_PATHNAME', 'affinity_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.affinity_combinefn(internal, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'affinity_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.affinity_serialfn(internal) RETURNS bytea
AS 'MODULE_PATHNAME', 'affinity_serialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.affinity_deserialfn(bytea, internal) RETURNS internal
AS 'MODULE_PATHNAME', 'affinity_deserialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION persona.affinity_finalfn(internal) RETURNS persona.tag_pair[]
AS 'MODULE_PATHNAME', 'affinity_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.affinity_transfn(internal, text[]) IS 'transition function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_transfn(internal, text[], float8) IS 'transition function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_combinefn(internal, internal) IS 'combine function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_serialfn(internal) IS 'serialisation function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_deserialfn(bytea, internal) IS 'deserialisation function of persona.tag_affinity';
COMMENT ON FUNCTION persona.affinity_finalfn(internal) IS 'final function of persona.tag_affinity';

CREATE AGGREGATE persona.tag_affinity(tags text[]) (
    SFUNC = persona.affinity_transfn, STYPE = internal, FINALFUNC = persona.affinity_finalfn,
    COMBINEFUNC = persona.affinity_combinefn, SERIALFUNC = persona.affinity_serialfn,
    DESERIALFUNC = persona.affinity_deserialfn, SSPACE = 3200, PARALLEL = SAFE);
CREATE AGGREGATE persona.tag_affinity(tags text[], min_support float8) (
    SFUNC = persona.affinity_transfn, STYPE = internal, FINALFUNC = persona.affinity_finalfn,
    COMBINEFUNC = persona.affinity_combinefn, SERIALFUNC = persona.affinity_serialfn,
    DESERIALFUNC = persona.affinity_deserialfn, SSPACE = 3200, PARALLEL = SAFE);
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
    converged   boolean
);
COMMENT ON TYPE persona.bgnbd IS
  'A fitted BG/NBD model (Fader, Hardie & Lee 2005): purchase rate gamma(r, alpha), dropout beta(a, b), log-likelihood';

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
CREATE FUNCTION persona.bgnbd_finalfn(internal) RETURNS persona.bgnbd
AS 'MODULE_PATHNAME', 'bgnbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.fit_combinefn(internal, internal) IS 'combine function of the model fit aggregates';
COMMENT ON FUNCTION persona.fit_serialfn(internal) IS 'serialisation function of the model fit aggregates';
COMMENT ON FUNCTION persona.fit_deserialfn(bytea, internal) IS 'deserialisation function of the model fit aggregates';
COMMENT ON FUNCTION persona.bgnbd_finalfn(internal) IS 'final function of persona.bgnbd_fit';
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8) IS
  'Maximum-likelihood BG/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood BG/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8, float8) IS
  'BG/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';

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
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
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
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8, penalty float8) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = internal, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
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
