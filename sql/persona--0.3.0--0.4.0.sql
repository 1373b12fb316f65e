-- persona 0.3.0 -> 0.4.0: profiles that BI tools and schedules consume.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.4.0'" to load this file. \quit

-- Only new objects and CREATE OR REPLACE of unchanged signatures, so views,
-- indexes and materialized views over persona survive the update.

------------------------------------------------------------------------
-- A. Time zones and languages as values; states for incremental refresh
------------------------------------------------------------------------

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
