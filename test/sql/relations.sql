-- Relation arguments: resolved and checked before anything reads them.
-- Missing (42P01), not rows (42809), not readable (42501); identifiers quoted.
-- The CDNOW sample as an orders table.
\set ECHO none
\i demo/load_cdnow.sql
\set ECHO all
CREATE TABLE rel_orders AS
SELECT sample_id AS customer_id, ordered_on::timestamptz AS ordered_at, amount FROM cdnow;
DROP TABLE cdnow;

-- Missing relations: an OID that names nothing, and 0.
SELECT count(*) FROM persona.customer_profile(999999::oid::regclass, now());
SELECT count(*) FROM persona.customer_profile(0::regclass, now());
SELECT persona.check_tag_rule(999999::oid::regclass, 'true');
SELECT persona.check_tag_rule(0::regclass, 'true');
SELECT persona.starter_tag_rules(999999::oid::regclass);
SELECT persona.build_tag_view('rel_tags', 0::regclass);
SELECT count(*) FROM persona.holdout(999999::oid::regclass, '1997-09-30', '1998-06-30');
SELECT count(*) FROM persona.holdout_by_frequency(0::regclass, '1997-09-30', '1998-06-30');
INSERT INTO persona.tag_rules VALUES (999999::oid::regclass, 'x', 'basic', 'true');
SELECT persona.resolve_relation(0::regclass);
SELECT persona.resolve_relation(NULL) IS NULL AS strict;
SELECT count(*) FROM persona.holdout(NULL, '1997-09-30', '1998-06-30');
SELECT persona.build_tag_view(NULL, 'rel_orders');

-- Relations without rows of their own.
CREATE SEQUENCE rel_seq;
CREATE INDEX rel_orders_idx ON rel_orders (customer_id);
CREATE TYPE rel_composite AS (a int);
CREATE TABLE rel_parted (customer_id int, ordered_at timestamptz, amount numeric) PARTITION BY RANGE (ordered_at);
CREATE TABLE rel_parted_1997 PARTITION OF rel_parted FOR VALUES FROM ('1997-01-01') TO ('1998-01-01');
CREATE TABLE rel_parted_1998 PARTITION OF rel_parted FOR VALUES FROM ('1998-01-01') TO ('1999-01-01');
CREATE INDEX rel_parted_idx ON rel_parted (customer_id);
SELECT count(*) FROM persona.customer_profile('rel_seq', now());
SELECT count(*) FROM persona.customer_profile('rel_orders_idx', now());
SELECT count(*) FROM persona.customer_profile('rel_composite', now());
SELECT count(*) FROM persona.customer_profile('rel_parted_idx', now());
SELECT persona.check_tag_rule('rel_seq', 'true');
SELECT count(*) FROM persona.holdout('rel_orders_idx', '1997-09-30', '1998-06-30');
SELECT persona.build_tag_view('rel_tags', 'rel_composite');
-- (a TOAST table is refused the same way: see test/pgtap/relations.sql)

-- Views, materialized views, partitioned and foreign tables are read.
INSERT INTO rel_parted SELECT * FROM rel_orders;
CREATE VIEW rel_view AS SELECT * FROM rel_orders;
CREATE MATERIALIZED VIEW rel_matview AS SELECT * FROM rel_orders;
SELECT 'table' AS kind, count(*), sum(orders) FROM persona.customer_profile('rel_orders', '1998-06-30')
UNION ALL SELECT 'view', count(*), sum(orders) FROM persona.customer_profile('rel_view', '1998-06-30')
UNION ALL SELECT 'matview', count(*), sum(orders) FROM persona.customer_profile('rel_matview', '1998-06-30')
UNION ALL SELECT 'partitioned', count(*), sum(orders) FROM persona.customer_profile('rel_parted', '1998-06-30');
CREATE FOREIGN DATA WRAPPER rel_fdw;
CREATE SERVER rel_server FOREIGN DATA WRAPPER rel_fdw;
CREATE FOREIGN TABLE rel_foreign (customer_id int, ordered_at timestamptz, amount numeric) SERVER rel_server;
-- accepted; this wrapper has no handler, so reading it fails in PostgreSQL's words
SELECT count(*) FROM persona.customer_profile('rel_foreign', '1998-06-30');
SELECT persona.check_tag_rule('rel_foreign', 'amount > 0');
SELECT persona.check_tag_rule('rel_matview', 'amount > 0');

-- Rights: checked for the calling role before any catalog or SPI use.
CREATE ROLE persona_rel_reader;
GRANT USAGE ON SCHEMA public TO persona_rel_reader;
SET ROLE persona_rel_reader;
SELECT count(*) FROM persona.customer_profile(0::regclass, now());
SELECT count(*) FROM persona.customer_profile(999999::oid::regclass, now());
SELECT count(*) FROM persona.customer_profile('rel_orders', now());
SELECT count(*) FROM persona.customer_profile('rel_view', now());
SELECT persona.check_tag_rule('rel_orders', 'amount > 0');
SELECT persona.check_tag_rule(0::regclass, 'true');
SELECT count(*) FROM persona.holdout('rel_orders', '1997-09-30', '1998-06-30');
SELECT count(*) FROM persona.holdout_by_frequency('rel_matview', '1997-09-30', '1998-06-30');
SELECT persona.starter_tag_rules('rel_orders');
RESET ROLE;
-- SELECT on some columns is enough to get past the check; PostgreSQL then
-- checks each column the query reads.
GRANT SELECT (customer_id, ordered_at) ON rel_orders TO persona_rel_reader;
SET ROLE persona_rel_reader;
SELECT persona.check_tag_rule('rel_orders', 'customer_id > 0');
SELECT count(*) FROM persona.customer_profile('rel_orders', now());
RESET ROLE;
-- No USAGE on the schema: the relation cannot be read either.
CREATE SCHEMA rel_private;
CREATE TABLE rel_private.o AS SELECT * FROM rel_orders;
GRANT SELECT ON rel_private.o TO persona_rel_reader;
SELECT 'rel_private.o'::regclass::oid AS private_oid \gset
SET ROLE persona_rel_reader;
SELECT count(*) FROM persona.customer_profile(:private_oid::oid::regclass, now());
RESET ROLE;
DROP SCHEMA rel_private CASCADE;
REVOKE ALL ON rel_orders FROM persona_rel_reader;
REVOKE ALL ON SCHEMA public FROM persona_rel_reader;
DROP ROLE persona_rel_reader;

-- Identifiers that need quoting, everywhere.
CREATE SCHEMA "We""ird Schema";
CREATE TABLE "We""ird Schema"."Or.ders" ("Customer Id" int, "When" timestamptz, "Amount$" numeric);
INSERT INTO "We""ird Schema"."Or.ders" SELECT * FROM rel_orders;
SELECT persona.resolve_relation('"We""ird Schema"."Or.ders"');
SELECT count(*), sum(orders), sum(revenue), count(DISTINCT rfm) FROM persona.customer_profile('"We""ird Schema"."Or.ders"', '1998-06-30',
       customer_col => 'Customer Id', time_col => 'When', amount_col => 'Amount$');
SELECT count(*), sum(x), sum(actual) FROM persona.holdout('"We""ird Schema"."Or.ders"', '1997-09-30', '1998-06-30',
       customer_col => 'Customer Id', time_col => 'When', amount_col => 'Amount$');
CREATE VIEW "We""ird Schema"."Card ""1""" AS
    SELECT customer_id AS "Key Col", orders, revenue FROM persona.customer_profile('"We""ird Schema"."Or.ders"', '1998-06-30',
       customer_col => 'Customer Id', time_col => 'When', amount_col => 'Amount$');
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql)
VALUES ('"We""ird Schema"."Card ""1"""', 'two+', 'basic', 'orders >= 2');
SELECT persona.build_tag_view('"We""ird Schema"."Tags ""1"""', '"We""ird Schema"."Card ""1"""', key_col => 'Key Col');
SELECT tags, count(*) FROM "We""ird Schema"."Tags ""1""" GROUP BY 1 ORDER BY tags COLLATE "C";
DELETE FROM persona.tag_rules;
DROP SCHEMA "We""ird Schema" CASCADE;

-- A tag rule must be boolean: an integer or text rule is refused at once
-- (it used to pass a cast to boolean and fail later in build_tag_view).
SELECT persona.check_tag_rule('rel_orders', 'customer_id');
SELECT persona.check_tag_rule('rel_orders', '''yes''');
INSERT INTO persona.tag_rules VALUES ('rel_orders', 'n', 'basic', 'customer_id + 1');
CREATE DOMAIN rel_flag AS boolean;
SELECT persona.check_tag_rule('rel_orders', '(amount > 5)::rel_flag');
DROP DOMAIN rel_flag;

-- Forced parallel mode over a TEMP table: the functions that read a
-- relation by name run in the leader (PARALLEL RESTRICTED), so they work.
CREATE TEMP TABLE rel_temp AS SELECT * FROM rel_orders;
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT count(*), sum(orders) FROM persona.customer_profile('rel_temp', '1998-06-30');
SELECT count(*), sum(x), sum(actual) FROM persona.holdout('rel_temp', '1997-09-30', '1998-06-30');
SELECT frequency, customers FROM persona.holdout_by_frequency('rel_temp', '1997-09-30', '1998-06-30');
SELECT persona.check_tag_rule('rel_temp', 'amount > 5');
SELECT persona.resolve_relation('rel_temp') LIKE 'pg_temp_%.rel_temp' AS temp_name;
CREATE TEMP TABLE rel_temp_card AS SELECT * FROM persona.customer_profile('rel_temp', '1998-06-30');
SELECT persona.starter_tag_rules('rel_temp_card');
SELECT persona.build_tag_view('rel_temp_tags', 'rel_temp_card');
SELECT tags, count(*) FROM rel_temp_tags GROUP BY 1 ORDER BY tags COLLATE "C";
-- in a query that could otherwise go parallel, too
SELECT count(*) FROM rel_temp t, LATERAL persona.customer_profile('rel_temp', '1998-06-30') p WHERE p.customer_id = t.customer_id;
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
DELETE FROM persona.tag_rules;
DROP VIEW rel_temp_tags;
DROP TABLE rel_temp_card, rel_temp;

DROP FOREIGN TABLE rel_foreign;
DROP SERVER rel_server;
DROP FOREIGN DATA WRAPPER rel_fdw;
DROP MATERIALIZED VIEW rel_matview;
DROP VIEW rel_view;
DROP TABLE rel_parted, rel_orders;
DROP TYPE rel_composite;
DROP SEQUENCE rel_seq;
