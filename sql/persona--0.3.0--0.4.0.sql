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

------------------------------------------------------------------------
-- C. Profiles: create_profile, refresh, schedule, registry
------------------------------------------------------------------------
