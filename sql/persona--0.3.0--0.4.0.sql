-- persona 0.3.0 -> 0.4.0: profiles that BI tools and schedules consume.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.4.0'" to load this file. \quit

-- Only new objects and CREATE OR REPLACE of unchanged signatures, so views,
-- indexes and materialized views over persona survive the update.

------------------------------------------------------------------------
-- A. Time zones and languages as values; states for incremental refresh
------------------------------------------------------------------------

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

CREATE FUNCTION persona.rfm_segment(scores persona.rfm, scheme text, language text)
RETURNS text AS 'MODULE_PATHNAME', 'rfm_segment_in' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_segment(persona.rfm, text, text) IS
  'Segment label of RFM scores in a scheme, in language (en or zh) instead of persona.language';

CREATE FUNCTION persona.label(anyenum, language text) RETURNS text
AS 'MODULE_PATHNAME', 'enum_label_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.label(anyenum, text) IS
  'Display name of a persona enum value in language (en or zh) instead of persona.language';

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

------------------------------------------------------------------------
-- B. Data quality, privacy masks, string parameters
------------------------------------------------------------------------

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
-- C. Profiles: create_profile, refresh, schedule, registry
------------------------------------------------------------------------
