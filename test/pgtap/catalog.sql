-- SQL citizenship: comments, parallel safety, aggregate support functions, opclasses.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(13);

SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
  WHERE p.pronamespace = 'persona'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL$$,
  'every function and aggregate has a comment');
SELECT is_empty($$
  SELECT t.typname FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
  WHERE t.typnamespace = 'persona'::regnamespace AND t.typcategory <> 'A'
    AND coalesce(c.relkind, 'c') = 'c' AND obj_description(t.oid, 'pg_type') IS NULL$$,
  'every type has a comment');
SELECT is_empty($$
  SELECT oid::regoperator::text FROM pg_operator
  WHERE oprnamespace = 'persona'::regnamespace AND obj_description(oid, 'pg_operator') IS NULL$$,
  'every operator has a comment');
SELECT is_empty($$
  SELECT format('%s -> %s', c.castsource::regtype, c.casttarget::regtype) FROM pg_cast c
  JOIN pg_depend d ON d.classid = 'pg_cast'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'persona')
    AND obj_description(c.oid, 'pg_cast') IS NULL$$,
  'every cast has a comment');
SELECT is_empty($$
  SELECT opcname FROM pg_opclass
  WHERE opcnamespace = 'persona'::regnamespace AND obj_description(oid, 'pg_opclass') IS NULL$$,
  'every operator class has a comment');
-- Parallel labels: the functions that write (create views, insert rules) are
-- PARALLEL UNSAFE; those that read a relation they are given are PARALLEL
-- RESTRICTED (a worker cannot read the leader's temporary tables); every
-- other function is PARALLEL SAFE.
SELECT results_eq($$
  SELECT p.proname::text COLLATE "default", p.proparallel::text COLLATE "default" FROM pg_proc p
  WHERE p.pronamespace = 'persona'::regnamespace AND p.proparallel <> 's'
  GROUP BY 1, 2 ORDER BY 1$$,
  $$VALUES ('build_tag_view', 'u'), ('check_tag_rule', 'r'), ('create_profile', 'u'), ('customer_profile', 'r'), ('customer_states', 'r'),
           ('data_quality', 'r'), ('drop_profile', 'u'), ('holdout', 'r'), ('holdout_by_frequency', 'r'), ('holdout_calibration', 'r'),
           ('holdout_check_source', 'r'), ('holdout_fit', 'r'), ('holdout_time_sql', 'r'), ('period_transactions', 'r'), ('profile_build', 'u'),
           ('profile_capture_function', 'u'), ('profile_capture_triggers', 'u'), ('profile_check_settings', 'r'), ('profile_check_update', 'u'), ('profile_column_type', 'r'), ('profile_create_summary', 'u'),
           ('profile_customers_view', 'u'), ('profile_define_views', 'u'), ('profile_drop_temp', 'u'), ('profile_holdout', 'r'), ('profile_merge_orders', 'u'),
           ('profile_redefine', 'u'), ('profile_refresh_run', 'u'), ('profile_replace_summary', 'u'), ('profile_report', 'r'), ('profile_rows_changes', 'r'), ('profile_rows_columns', 'u'),
           ('profile_segment_advice', 'r'), ('profile_summary_view', 'u'), ('profile_tally_apply', 'u'), ('profile_upgrade_layout', 'u'), ('profile_write_globals', 'u'), ('purchase_days', 'r'),
           ('refresh_profile', 'u'), ('relation_is_remote', 'r'), ('report_grids', 'r'), ('report_lifecycle', 'r'), ('report_models', 'r'),
           ('report_quality', 'r'), ('report_segments', 'r'), ('report_tags', 'r'), ('run_scheduled_refresh', 'u'), ('schedule_refresh', 'u'),
           ('segment_rules_in_use', 'u'), ('starter_tag_rules', 'u'), ('tag_rules_check', 'u'), ('tracking', 'r'), ('unschedule_refresh', 'u')$$,
  'writers are PARALLEL UNSAFE, readers of a relation argument PARALLEL RESTRICTED, the rest PARALLEL SAFE');
SELECT is_empty($$
  SELECT a.aggfnoid::regprocedure::text FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
  WHERE p.pronamespace = 'persona'::regnamespace
    AND (a.aggcombinefn = 0 OR (a.aggtranstype = 'internal'::regtype AND (a.aggserialfn = 0 OR a.aggdeserialfn = 0)))$$,
  'every aggregate has combine (and serial/deserial for internal state)');
SELECT results_eq($$
  SELECT p.proname::text COLLATE "default", p.proparallel::text COLLATE "default" FROM pg_proc p
  WHERE p.pronamespace = 'persona'::regnamespace AND p.prokind = 'f' AND p.provolatile = 'v'
  ORDER BY 1$$,
  $$VALUES ('build_tag_view', 'u'), ('create_profile', 'u'), ('drop_profile', 'u'), ('profile_build', 'u'), ('profile_capture_function', 'u'),
           ('profile_capture_triggers', 'u'), ('profile_check_update', 'u'), ('profile_create_summary', 'u'), ('profile_customers_view', 'u'), ('profile_define_views', 'u'),
           ('profile_drop_temp', 'u'), ('profile_merge_orders', 'u'), ('profile_redefine', 'u'), ('profile_refresh_run', 'u'), ('profile_replace_summary', 'u'),
           ('profile_rows_columns', 'u'), ('profile_summary_view', 'u'), ('profile_tally_apply', 'u'), ('profile_upgrade_layout', 'u'), ('profile_write_globals', 'u'),
           ('refresh_profile', 'u'), ('schedule_refresh', 'u'), ('segment_rules_in_use', 'u'), ('starter_tag_rules', 'u'), ('tag_rules_check', 'u'), ('unschedule_refresh', 'u')$$,
  'only the functions that write are VOLATILE, and they are PARALLEL UNSAFE');
SELECT results_eq($$
  SELECT p.proname::text COLLATE "default", p.provolatile::text COLLATE "default" FROM pg_proc p
  WHERE p.pronamespace = 'persona'::regnamespace
    AND p.proname IN ('order_stats_transfn', 'rfm_segment', 'rfm_score', 'rfm_in')
  GROUP BY 1, 2 ORDER BY 1$$,
  $$VALUES ('order_stats_transfn', 'i'), ('order_stats_transfn', 's'), ('rfm_in', 'i'), ('rfm_score', 'i'), ('rfm_segment', 's')$$,
  'volatility: time zone and table dependent functions are STABLE, the rest IMMUTABLE');
-- Overloads taking the time zone or language as a value depend on no
-- setting (IMMUTABLE) unless they read a table or the lifecycle settings.
SELECT results_eq($$
  SELECT p.oid::regprocedure::text COLLATE "default", p.provolatile::text COLLATE "default" FROM pg_proc p
  WHERE p.pronamespace = 'persona'::regnamespace
    AND p.proname IN ('daypart_of', 'label', 'rfm_segment', 'order_stats_of', 'habits_of', 'lifecycle_stage',
                      'customer_profile', 'customer_states', 'order_stats_state_transfn', 'order_stats_merge_transfn',
                      'habits_zone_transfn', 'habits_merge_transfn')
  ORDER BY 1$$,
  $$VALUES ('persona.customer_profile(regclass,text,anyelement,text,text,text,integer,text,boolean,text,text)', 's'),
           ('persona.customer_profile(regclass,text,text,text,text,integer,text,boolean,text,text)', 's'),
           ('persona.customer_profile(regclass,timestamp with time zone,text,text,text,integer,text,boolean)', 's'),
           ('persona.customer_states(regclass,timestamp with time zone,text,anyelement,text,text,text)', 's'),
           ('persona.customer_states(regclass,timestamp with time zone,text,text,text,text)', 's'),
           ('persona.daypart_of(timestamp with time zone)', 's'),
           ('persona.daypart_of(timestamp with time zone,persona.time_zone)', 'i'),
           ('persona.daypart_of(timestamp with time zone,text)', 'i'),
           ('persona.habits_merge_transfn(internal,bytea)', 'i'),
           ('persona.habits_of(bytea)', 'i'),
           ('persona.habits_zone_transfn(internal,timestamp with time zone,persona.time_zone)', 'i'),
           ('persona.habits_zone_transfn(internal,timestamp with time zone,text)', 'i'),
           ('persona.label(anyenum)', 's'),
           ('persona.label(anyenum,text)', 'i'),
           ('persona.lifecycle_stage(date,date,bigint,date,double precision,integer,integer,double precision,double precision,integer,integer,integer)', 's'),
           ('persona.lifecycle_stage(timestamp with time zone,timestamp with time zone,bigint,timestamp with time zone,double precision,integer,integer,double precision,double precision,integer,integer,integer)', 's'),
           ('persona.order_stats_merge_transfn(internal,bytea)', 'i'),
           ('persona.order_stats_of(bytea,date)', 'i'),
           ('persona.order_stats_state_transfn(internal,timestamp with time zone,numeric,persona.time_zone)', 'i'),
           ('persona.order_stats_state_transfn(internal,timestamp with time zone,numeric,text)', 'i'),
           ('persona.rfm_segment(persona.rfm,text)', 's'),
           ('persona.rfm_segment(persona.rfm,text,text)', 's')$$,
  'volatility: overloads taking the time zone or language as a value are IMMUTABLE unless they read a table or settings');
SELECT ok(bool_and(amvalidate(oid)), 'amvalidate passes for every persona operator class')
FROM pg_opclass WHERE opcnamespace = 'persona'::regnamespace;
SELECT is(count(*)::int, 2, 'rfm has btree and hash operator classes')
FROM pg_opclass WHERE opcnamespace = 'persona'::regnamespace AND opcintype = 'persona.rfm'::regtype;
SELECT is((SELECT extconfig FROM pg_extension WHERE extname = 'persona'),
          ARRAY['persona.segment_rules'::regclass::oid, 'persona.tag_rules'::regclass::oid, 'persona.profiles'::regclass::oid],
          'user segment and tag rules and the profile registry are dumped by pg_dump');

SELECT * FROM finish();
ROLLBACK;
