-- persona 0.4.0 -> 0.5.0: predictive models an analyst can trust.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.5.0'" to load this file. \quit

-- Only new objects, added attributes and CREATE OR REPLACE of unchanged
-- signatures, so views, indexes and materialized views over persona survive
-- the update.
