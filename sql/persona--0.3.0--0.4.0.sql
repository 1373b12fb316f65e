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
    view_version        text
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

CREATE FUNCTION persona.profile_progress(message text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF current_setting('persona.progress')::boolean THEN
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
CREATE FUNCTION persona.profile_guard(orders regclass, profile text, materialized boolean)
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
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

CREATE FUNCTION persona.profile_as_of_sql(p persona.profiles) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN p.as_of IS NOT NULL THEN format('%L::date', p.as_of)
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

-- The time column as timestamptz: timestamp and date values are local times
-- in the profile's zone.
CREATE FUNCTION persona.profile_time_sql(p persona.profiles, alias text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN persona.profile_column_type(p.orders, p.time_col) IN ('timestamp'::regtype, 'date'::regtype)
            THEN format('(%s%I::timestamp AT TIME ZONE %L)', alias, p.time_col, p.time_zone)
            ELSE format('%s%I', alias, p.time_col) END;
COMMENT ON FUNCTION persona.profile_time_sql(persona.profiles, text) IS
  'SQL of the order time as timestamptz (timestamp and date columns read in the profile''s time zone)';

-- State rows (one per customer) from a relation src with columns k, st, hb:
-- the as-of-independent statistics decoded once, and the states to merge.
CREATE FUNCTION persona.profile_decode_sql(p persona.profiles, src text, as_of_sql text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format($q$SELECT d.k AS customer_id,
       (os).first_at AS first_order_at, (os).last_at AS last_order_at,
       ((os).first_at AT TIME ZONE %2$L)::date AS first_order_on,
       ((os).last_at AT TIME ZONE %2$L)::date AS last_order_on,
       (os).orders, (os).purchase_days, (os).revenue, (os).avg_amount,
       (os).mean_gap_days, (os).gap_sd_days, (os).repeat_orders, (os).repeat_revenue, (os).refunds,
       (h).weekday_share, (h).weekend_share, (h).morning AS morning_share, (h).lunch AS lunch_share,
       (h).afternoon AS afternoon_share, (h).evening AS evening_share, (h).night AS night_share,
       (h).daypart::text AS daypart, (h).favourite_weekday, (h).favourite_hour,
       d.st AS stats_state, d.hb AS habits_state
FROM %1$s d, LATERAL persona.order_stats_of(d.st, %3$s) os, LATERAL persona.habits_of(d.hb) h$q$,
    src, p.time_zone, as_of_sql);
COMMENT ON FUNCTION persona.profile_decode_sql(persona.profiles, text, text) IS
  'SQL decoding per-customer states (k, st, hb) into the columns of a profile''s state table';

-- Per-customer states straight from orders (extra_where: an extra SQL
-- condition).  Habits count the orders order_stats counts: refunds are not
-- orders.  All customers with an integer key: customer_states, one scan
-- into its own hash table, the same bytes in about half the time of the
-- GROUP BY, which stays for other keys and for a subset of customers.
CREATE FUNCTION persona.profile_states_sql(p persona.profiles, as_of_sql text, extra_where text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN extra_where IS NULL AND p.key_type IN ('smallint', 'integer', 'bigint')
THEN format($q$(SELECT s.customer_id::%1$s AS k, s.stats_state AS st, s.habits_state AS hb
 FROM persona.customer_states(%2$L::regclass, %3$s, %4$L, %5$L, %6$L, %7$L) s)$q$,
    p.key_type, p.orders::text, persona.profile_day_end(p, as_of_sql), p.time_zone,
    p.customer_col, p.time_col, p.amount_col)
ELSE format($q$(SELECT o.%1$I AS k, persona.order_stats_state(%2$s, o.%3$I::numeric, %4$L) AS st,
        persona.habits_state(%2$s, %4$L) FILTER (WHERE o.%3$I IS NULL OR o.%3$I >= 0) AS hb
 FROM %5$s o
 WHERE o.%1$I IS NOT NULL AND %2$s < %6$s%7$s
 GROUP BY o.%1$I)$q$,
    p.customer_col, persona.profile_time_sql(p, 'o.'), p.amount_col, p.time_zone,
    p.orders::text, persona.profile_day_end(p, as_of_sql), coalesce(' AND ' || extra_where, '')) END;
COMMENT ON FUNCTION persona.profile_states_sql(persona.profiles, text, text) IS
  'SQL of per-customer order_stats and habits states of the orders up to the end of the as-of day';

-- One row of cut points, value-tier thresholds and model fits, in one scan
-- of the state rows of src.
CREATE FUNCTION persona.profile_globals_sql(p persona.profiles, src text, as_of_sql text, models boolean) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format($q$SELECT a.as_of, %3$L::text AS time_zone, %4$L::text AS language,
       x.breaks, x.tiers[1] AS gold_min, x.tiers[2] AS diamond_min, x.bgnbd, x.gamma_gamma
FROM (SELECT %6$s AS as_of) a
CROSS JOIN LATERAL (
    SELECT persona.rfm_breaks((a.as_of - s.last_order_on)::float8, s.orders::float8, s.revenue::float8, %5$s) AS breaks,
           percentile_cont(ARRAY[0.80, 0.95]) WITHIN GROUP (ORDER BY s.revenue::float8) AS tiers,
           %2$s
    FROM %1$s s WHERE s.orders > 0) x$q$,
    src,
    CASE WHEN models THEN $m$persona.bgnbd_fit(s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7.0,
                             (a.as_of - s.first_order_on) / 7.0)
               FILTER (WHERE s.first_order_on < a.as_of) AS bgnbd,
           persona.gamma_gamma_fit(s.purchase_days - 1, s.repeat_revenue::float8 / nullif(s.purchase_days - 1, 0))
               FILTER (WHERE s.purchase_days > 1 AND s.repeat_revenue > 0) AS gamma_gamma$m$
         ELSE 'NULL::persona.bgnbd AS bgnbd, NULL::persona.gamma_gamma AS gamma_gamma' END,
    p.time_zone, p.language, p.bins, as_of_sql);
COMMENT ON FUNCTION persona.profile_globals_sql(persona.profiles, text, text, boolean) IS
  'SQL of a profile''s one row of cut points, value-tier thresholds and model fits over its state rows';

-- Every as-of measure from state rows and the globals row: plain values
-- in, plain values out, so reads do not depend on session settings.
CREATE FUNCTION persona.profile_scored_sql(p persona.profiles, state_rel text, globals_rel text) RETURNS text
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
       persona.p_alive(g.bgnbd, s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7.0,
                       (g.as_of - s.first_order_on) / 7.0) AS p_alive,
       persona.expected_purchases(g.bgnbd, 90 / 7.0, s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7.0,
                                  (g.as_of - s.first_order_on) / 7.0) AS expected_purchases_90d,
       persona.clv(g.bgnbd, g.gamma_gamma, s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7.0,
                   (g.as_of - s.first_order_on) / 7.0,
                   CASE WHEN s.purchase_days > 1 THEN s.repeat_revenue::float8 / (s.purchase_days - 1) END,
                   'weeks', 12, 0.01) AS clv_12m,
       g.as_of
FROM %1$s s
CROSS JOIN (SELECT * FROM %2$s OFFSET 0) g
CROSS JOIN LATERAL (SELECT persona.rfm_score((g.as_of - s.last_order_on)::float8, s.orders::float8,
                                             s.revenue::float8, g.breaks) AS rfm) sc
CROSS JOIN LATERAL (SELECT persona.lifecycle_stage(s.first_order_on, s.last_order_on, s.purchase_days::bigint, g.as_of,
                                                   s.mean_gap_days, %4$s, %5$s, %6$s, %7$s, %8$s, %9$s, %10$s) AS stage) lc
CROSS JOIN LATERAL (SELECT persona.value_tier(s.revenue::float8, g.gold_min, g.diamond_min) AS tier) vt
WHERE s.orders > 0$q$,
    state_rel, globals_rel, p.scheme,
    p.lifecycle_new_days, p.lifecycle_mature_purchases, p.lifecycle_decline_factor, p.lifecycle_churn_factor,
    p.lifecycle_min_days, p.lifecycle_decline_days, p.lifecycle_churn_days);
COMMENT ON FUNCTION persona.profile_scored_sql(persona.profiles, text, text) IS
  'SQL of a profile''s per-customer measures as of its day (RFM, segment, lifecycle, habits, value tier, P(alive), CLV)';

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
FROM (SELECT persona.pareto(c.revenue::float8) AS x FROM %s c) q$q$, p.name, scored);
    WHEN 'models' THEN RETURN format($q$SELECT m.model, m.parameter, m.value, m.customers, m.loglik, m.converged,
       'weeks'::text AS time_unit, g.as_of
FROM %s g, LATERAL (VALUES
    ('bgnbd', 'r', (g.bgnbd).r, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged),
    ('bgnbd', 'alpha', (g.bgnbd).alpha, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged),
    ('bgnbd', 'a', (g.bgnbd).a, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged),
    ('bgnbd', 'b', (g.bgnbd).b, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged),
    ('gamma_gamma', 'p', (g.gamma_gamma).p, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged),
    ('gamma_gamma', 'q', (g.gamma_gamma).q, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged),
    ('gamma_gamma', 'v', (g.gamma_gamma).v, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged))
    m(model, parameter, value, customers, loglik, converged)
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
    attr_sql text := '';
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
        join_sql := format(' LEFT JOIN %s a ON a.%I = c.customer_id', p.attributes_from, p.customer_col);
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
    sql := format(E'CREATE OR REPLACE VIEW %s WITH (security_barrier%s) AS\nSELECT b.*, array_remove(ARRAY[NULL::text%s], NULL) AS tags\nFROM (SELECT c.*%s FROM %s c%s) b\nWHERE persona.profile_guard(%L::regclass, %L, %L)',
                  view_name, CASE WHEN p.materialized THEN '' ELSE ', security_invoker' END,
                  arms, attr_sql, persona.profile_rel(p, '__scored'), join_sql,
                  p.orders::text, p.name, p.materialized);
    -- Replacing a view waits for its readers and makes new ones wait: only
    -- when the rules or attributes changed.
    IF view_oid IS NOT NULL AND md5(sql) = (SELECT view_version FROM persona.profiles WHERE name = p.name) THEN
        RETURN;
    END IF;
    EXECUTE sql;
    UPDATE persona.profiles SET view_version = md5(sql) WHERE name = p.name;
    EXECUTE format('COMMENT ON VIEW %s IS %L', view_name,
                   format('persona profile %s: one row per customer (built-in types only; as of its as_of day, time zone %s)', p.name, p.time_zone));
END $$;
COMMENT ON FUNCTION persona.profile_customers_view(persona.profiles) IS
  'Create or replace a profile''s customers view with its attributes and the current tag rules';

-- Create (or, with replace, recreate) every relation of a profile but the
-- customers view's tags; no data is computed here.
CREATE FUNCTION persona.profile_build(p persona.profiles) RETURNS void
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

-- Triggers recording changes of orders for incremental refresh.  The
-- trigger function belongs to the profile owner and runs with the owner's
-- rights, so writers of orders need no privileges on the profile.
CREATE FUNCTION persona.profile_capture_triggers(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    fn text := persona.profile_rel(p, '__capture');
    pending text := persona.profile_rel(p, '__pending');
    dirty text := persona.profile_rel(p, '__dirty');
    trg text := 'persona_' || p.name;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = p.orders) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'incremental profiles need orders to be a table' USING ERRCODE = 'wrong_object_type',
            DETAIL = format('%s is not a table; changes of a view cannot be captured.', p.orders),
            HINT = 'Use incremental => false (refresh_profile recomputes the profile), or build the profile on the table.';
    END IF;
    EXECUTE format($f$CREATE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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
    IF p.schema_name IS NULL OR to_regnamespace(p.schema_name) IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist', coalesce(schema, '(none)') USING ERRCODE = 'invalid_schema_name';
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
    IF NOT EXISTS (SELECT FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                   WHERE am.amname = 'btree' AND oc.opcdefault
                     AND (oc.opcintype = t OR oc.opcintype = (SELECT typbasetype FROM pg_type WHERE oid = t))) THEN
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
    PERFORM persona.daypart_of(now(), p.time_zone);    -- 22023 for a zone persona does not accept
    p.language := coalesce(language, current_setting('persona.language'));
    IF p.language NOT IN ('en', 'zh') THEN
        RAISE EXCEPTION 'unknown language "%"', p.language USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''en'' or ''zh''.';
    END IF;
    p.as_of := as_of;
    IF as_of IN ('infinity', '-infinity') THEN
        RAISE EXCEPTION 'as_of must be a finite date' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF bins < 2 OR bins > 10 THEN
        RAISE EXCEPTION 'bins must be between 2 and 10' USING ERRCODE = 'invalid_parameter_value', DETAIL = format('bins is %s.', bins);
    END IF;
    p.bins := bins;
    PERFORM persona.rfm_segment(persona.rfm(1, 1, 1, bins), scheme);    -- unknown schemes raise here
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
        FOREACH c IN ARRAY p.attributes LOOP
            IF persona.profile_column_type(attributes_from, c) IS NULL THEN
                RAISE EXCEPTION 'column "%" does not exist in %', c, attributes_from USING ERRCODE = 'undefined_column';
            END IF;
        END LOOP;
    ELSIF attributes IS NOT NULL OR pii IS NOT NULL OR funnel_columns IS NOT NULL THEN
        RAISE EXCEPTION 'attributes, pii and funnel_columns need attributes_from' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Name the customer attribute table with attributes_from.';
    END IF;
    IF pii IS NOT NULL THEN
        IF jsonb_typeof(pii) <> 'object' THEN
            RAISE EXCEPTION 'pii must be a JSON object of column names and mask kinds' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'For example ''{"mobile": "phone", "real_name": "name"}''; kinds are phone, name, email and id.';
        END IF;
        FOR c IN SELECT key FROM jsonb_each_text(pii) LOOP
            IF NOT c = ANY (p.attributes) THEN
                RAISE EXCEPTION 'pii column "%" is not one of the attributes', c USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF pii ->> c IS NULL OR pii ->> c NOT IN ('phone', 'name', 'email', 'id') THEN
                RAISE EXCEPTION 'unknown mask kind "%" for pii column "%"', pii ->> c, c USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Use phone, name, email or id.';
            END IF;
        END LOOP;
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
        IF holdout_days IS NULL OR holdout_days < 1 THEN
            RAISE EXCEPTION 'the holdout part needs holdout_days of at least 1' USING ERRCODE = 'invalid_parameter_value';
        END IF;
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
    p.owner := current_user;
    p.created_at := now();
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
    -- globals from the per-customer rows
    step := clock_timestamp();
    EXECUTE format('DELETE FROM %s', globals_rel);
    BEGIN
        EXECUTE format('INSERT INTO %s %s', globals_rel, persona.profile_globals_sql(p, state_rel, day_sql, 'models' = ANY (p.parts)));
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
                           WHEN c.relkind = 'm' THEN 3 WHEN c.relname = p.name || '__scored' THEN 4
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
