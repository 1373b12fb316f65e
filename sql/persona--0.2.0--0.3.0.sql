-- persona 0.2.0 -> 0.3.0: production hardening.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.3.0'" to load this file. \quit

-- Functions whose signature stays are replaced in place (CREATE OR REPLACE),
-- so views, indexes and materialized views over them survive the update.

------------------------------------------------------------------------
-- A. Relations resolved and permission-checked; tag rules; labels
------------------------------------------------------------------------



------------------------------------------------------------------------
-- B. Interrupts (cancel, statement_timeout)
------------------------------------------------------------------------



------------------------------------------------------------------------
-- C. Validated states and values; one lifecycle definition
------------------------------------------------------------------------

-- lifecycle_stage's third argument (named orders) counts purchase days, as
-- lifecycle_of does; the C code now checks it against first_at and last_at.
COMMENT ON FUNCTION persona.lifecycle_stage(timestamptz, timestamptz, bigint, timestamptz, float8, integer, integer, float8, float8, integer, integer, integer) IS
  'Lifecycle stage from first/last order, number of purchase days (distinct order days, as in lifecycle_of) and (optionally) mean gap; NULL parameters take the settings';



------------------------------------------------------------------------
-- D. Encodings
------------------------------------------------------------------------



