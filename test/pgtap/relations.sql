-- Relation arguments and tag rules over relations: SQLSTATEs, locks, labels.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(32);

CREATE TABLE o (customer_id int, ordered_at timestamptz, amount numeric, note text);
INSERT INTO o VALUES (1, '2024-01-01', 10, 'x'), (1, '2024-01-05', 20, 'y'), (2, '2024-01-03', 5, NULL);
CREATE VIEW card AS SELECT customer_id, orders, revenue FROM persona.customer_profile('o', '2024-02-01');
CREATE TYPE comp AS (a int);

-- Every function with a relation argument, given what is not a readable relation.
CREATE FUNCTION pg_temp.calls(rel text) RETURNS SETOF text LANGUAGE sql AS $$
  VALUES (format('SELECT count(*) FROM persona.customer_profile(%s, now())', rel)),
         (format('SELECT persona.check_tag_rule(%s, ''true'')', rel)),
         (format('SELECT persona.starter_tag_rules(%s)', rel)),
         (format('SELECT persona.build_tag_view(''t'', %s)', rel)),
         (format('SELECT count(*) FROM persona.holdout(%s, ''2024-01-02'', ''2024-02-01'')', rel)),
         (format('SELECT count(*) FROM persona.holdout_by_frequency(%s, ''2024-01-02'', ''2024-02-01'')', rel)),
         (format('INSERT INTO persona.tag_rules VALUES (%s, ''x'', ''basic'', ''true'')', rel)),
         (format('SELECT persona.resolve_relation(%s)', rel))
$$;
CREATE FUNCTION pg_temp.sqlstates(rel text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  q text;
  states text[] := '{}';
BEGIN
  FOR q IN SELECT pg_temp.calls(rel) LOOP
    BEGIN
      EXECUTE q;
      states := states || 'ok'::text;
    EXCEPTION WHEN OTHERS THEN
      states := states || SQLSTATE::text;
    END;
  END LOOP;
  RETURN array_to_string(ARRAY(SELECT DISTINCT unnest(states)), ',');
END $$;

SELECT is(pg_temp.sqlstates('999999::oid::regclass'), '42P01', 'a missing OID: 42P01 from every function');
SELECT is(pg_temp.sqlstates('0::regclass'), '42P01', '0::regclass: 42P01 from every function');
SELECT is(pg_temp.sqlstates(format('%s::oid::regclass', (SELECT reltoastrelid FROM pg_class WHERE oid = 'o'::regclass))),
          '42809', 'a TOAST table: 42809 from every function');
SELECT is(pg_temp.sqlstates('''pg_class_oid_index'''), '42809', 'an index: 42809 from every function');
SELECT is(pg_temp.sqlstates('''comp'''), '42809', 'a composite type: 42809 from every function');
CREATE SEQUENCE seq;
SELECT is(pg_temp.sqlstates('''seq'''), '42809', 'a sequence: 42809 from every function');

-- As a role without rights: 42501 (42P01 when there is nothing).
CREATE ROLE persona_tap_nobody;
GRANT USAGE ON SCHEMA public TO persona_tap_nobody;
GRANT INSERT ON persona.tag_rules TO persona_tap_nobody;
GRANT EXECUTE ON FUNCTION pg_temp.calls(text), pg_temp.sqlstates(text) TO persona_tap_nobody;
SET LOCAL ROLE persona_tap_nobody;
SELECT is(pg_temp.sqlstates('''o'''), '42501', 'no SELECT on the table: 42501 from every function');
SELECT is(pg_temp.sqlstates('''card'''), '42501', 'no SELECT on the view: 42501 from every function');
SELECT is(pg_temp.sqlstates('0::regclass'), '42P01', 'unprivileged, 0::regclass: 42P01');
SELECT is(pg_temp.sqlstates('999999::oid::regclass'), '42P01', 'unprivileged, a missing OID: 42P01');
RESET ROLE;

-- The resolver locks what it resolved, as the query that reads it would.
CREATE TABLE lockme (x int);
SELECT ok(NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'relation' AND relation = 'lockme'::regclass
                      AND mode = 'AccessShareLock' AND pid = pg_backend_pid()), 'no AccessShareLock before');
SELECT is(persona.resolve_relation('lockme'), 'public.lockme', 'resolve_relation gives the qualified name');
SELECT ok(EXISTS (SELECT FROM pg_locks WHERE locktype = 'relation' AND relation = 'lockme'::regclass
                  AND mode = 'AccessShareLock' AND pid = pg_backend_pid() AND granted),
          'resolve_relation holds AccessShareLock on the relation');

-- Tag rules whose relation is dropped (check at every use, 42P01).
CREATE TABLE prof AS SELECT * FROM persona.customer_profile('o', '2024-02-01');
CREATE VIEW prof_v AS SELECT * FROM prof;
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES
  ('prof_v', 'many', 'basic', 'orders >= 2'), ('prof_v', 'big', 'value', 'revenue > 10'), ('prof', 'one', 'basic', 'orders = 1');
SELECT 'prof_v'::regclass::oid AS gone \gset
DROP VIEW prof_v;
SELECT throws_ok(format($$UPDATE persona.tag_rules SET rule_sql = 'orders >= 3' WHERE source = %s AND tag = 'many'$$, :gone),
                 '42P01', format('relation with OID %s does not exist', :gone),
                 'changing the rule of a dropped relation: 42P01');
SELECT throws_ok(format($$UPDATE persona.tag_rules SET source = %s WHERE tag = 'one'$$, :gone),
                 '42P01', NULL, 'pointing a rule at a dropped relation: 42P01');
SELECT lives_ok(format($$UPDATE persona.tag_rules SET enabled = false, description = 'off' WHERE source = %s AND tag = 'many'$$, :gone),
                'disabling or describing the rule of a dropped relation works');
SELECT is((SELECT enabled FROM persona.tag_rules WHERE tag = 'many'), false, 'the rule was disabled');
SELECT throws_ok(format($$SELECT persona.build_tag_view('prof_tags', %s::oid::regclass)$$, :gone),
                 '42P01', NULL, 'building the tags of a dropped relation: 42P01');
SELECT throws_ok(format($$SELECT persona.check_tag_rule(%s::oid::regclass, 'true')$$, :gone),
                 '42P01', NULL, 'checking a rule of a dropped relation: 42P01');
SELECT lives_ok($$SELECT persona.build_tag_view('prof_tags', 'prof')$$, 'the other relation''s rules still build');
SELECT is((SELECT string_agg(tags::text, ';' ORDER BY customer_id) FROM prof_tags), '{};{one}', 'and tag');
SELECT is((SELECT count(*)::int FROM persona.tag_rules WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = source)), 2,
          'the rules of the dropped view are found by the README query');
SELECT lives_ok(format($$DELETE FROM persona.tag_rules WHERE source = %s$$, :gone), 'and deleted');
SELECT is((SELECT count(*)::int FROM persona.tag_rules), 1, 'one rule left');
-- A type change that makes a rule non-boolean is caught at build time.
CREATE TABLE flagged (customer_id int, vip boolean);
INSERT INTO persona.tag_rules VALUES ('flagged', 'vip', 'value', 'vip');
ALTER TABLE flagged ALTER COLUMN vip TYPE int USING vip::int;
SELECT throws_ok($$SELECT persona.build_tag_view('flag_tags', 'flagged')$$, '42804',
                 'a tag rule must be of type boolean, not integer', 'a rule that stopped being boolean: 42804 at build');
SELECT throws_ok($$SELECT persona.check_tag_rule('flagged', 'customer_id')$$, '42804',
                 'a tag rule must be of type boolean, not integer', 'an integer rule: 42804');

-- Dumps leave out rules of dropped and of temporary relations.
CREATE TEMP TABLE tprof AS SELECT * FROM prof;
INSERT INTO persona.tag_rules VALUES ('tprof', 'tmp', 'basic', 'orders > 0');
INSERT INTO persona.tag_rules VALUES ('prof', 'gone_soon', 'basic', 'orders > 0');
SELECT is((SELECT array_agg(tag ORDER BY tag)::text FROM persona.tag_rules
           WHERE source = ANY (ARRAY(SELECT c.oid FROM pg_class c WHERE c.relpersistence <> 't'))),
          '{gone_soon,one,vip}', 'the dump condition keeps the rules of permanent relations');
SELECT is((SELECT extcondition[2] FROM pg_extension WHERE extname = 'persona') LIKE 'WHERE source %pg_class%', true,
          'pg_dump applies that condition to persona.tag_rules');

-- Labels.  (profile_guard reads no rows of its relation, only the
-- catalogs: the reader's privilege and whether row-level security applies.)
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
  WHERE p.pronamespace = 'persona'::regnamespace AND 'regclass'::regtype = ANY (p.proargtypes)
    AND p.proparallel = 's' AND p.proname NOT IN ('resolve_relation', 'profile_guard')$$,
  'no function that reads a regclass argument is PARALLEL SAFE');
SELECT is_empty($$
  SELECT a.aggfnoid::regprocedure::text FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
  WHERE p.pronamespace = 'persona'::regnamespace AND a.aggtranstype = 'internal'::regtype AND a.aggtransspace <= 0$$,
  'every internal-state aggregate declares SSPACE');
SELECT is((SELECT aggtransspace FROM pg_aggregate WHERE aggfnoid = 'persona.order_stats(timestamptz, numeric, timestamptz)'::regprocedure),
          280, 'order_stats: 280 bytes a group, not the 8 kB default');
-- With SSPACE, 20,000 customers fit in 4 MB of work_mem as one hash batch
-- (the 8 kB default planned about 8 kB x 20,000 = 160 MB and spilled).
CREATE TABLE many AS SELECT i % 20000 AS c, timestamptz '2024-01-01' + (i % 50) * interval '1 day' AS t, 1::numeric AS a
FROM generate_series(1, 40000) i;
ANALYZE many;
SET LOCAL work_mem = '4MB';
SET LOCAL hash_mem_multiplier = 2;
SET LOCAL enable_sort = off;
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE FUNCTION pg_temp.batches() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE $q$EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF)
             SELECT c, persona.order_stats(t, a, '2024-06-01') FROM many GROUP BY c$q$ INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'HashAgg Batches')::int;
END $$;
SELECT is(pg_temp.batches(), 1, 'order_stats over 20,000 groups in 4 MB: one HashAggregate batch');

SELECT * FROM finish();
ROLLBACK;
