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



------------------------------------------------------------------------
-- D. Encodings
------------------------------------------------------------------------



