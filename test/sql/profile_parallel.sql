-- customer_profile and customer_states with persona's own parallel workers
-- (each participant reads every row and keeps its hash share of the
-- customers): the same rows as in one process, whatever the number of
-- workers, with spill passes, text keys, habits, and inside a transaction
-- that wrote orders.
CREATE TABLE par_orders AS
SELECT CASE WHEN i % 1013 = 0 THEN NULL ELSE (i::bigint * 7919) % 6000 END AS customer_id,
       CASE WHEN i % 997 = 0 THEN NULL
            ELSE '2023-01-01'::timestamptz + ((i::bigint * 104729) % 700) * interval '1 day'
                 + ((i * 31) % 1440) * interval '1 minute' END AS ordered_at,
       CASE WHEN i % 89 = 0 THEN NULL
            WHEN i % 97 = 0 THEN -(i % 50)::numeric(12,2)
            WHEN i % 101 = 0 THEN 0
            ELSE ((i * 31) % 100000 / 100.0)::numeric(12,2) END AS amount
FROM generate_series(1, 60000) i;
CREATE TABLE par_orders_text AS
SELECT CASE WHEN customer_id % 3 = 0 THEN 'C' || lpad(customer_id::text, 10, '0')
            ELSE 'customer-with-a-long-key-' || customer_id END AS customer_id,
       ordered_at, amount
FROM par_orders;
ANALYZE par_orders;
ANALYZE par_orders_text;
CREATE TABLE one_process AS SELECT * FROM persona.customer_profile('par_orders', '2025-01-01', time_zone => 'Asia/Shanghai');
CREATE TABLE one_process_text AS
SELECT * FROM persona.customer_profile('par_orders_text', '2025-01-01', customer_key => NULL::text, time_zone => 'Asia/Shanghai');
CREATE TABLE one_process_states AS SELECT * FROM persona.customer_states('par_orders', '2025-01-01', 'Asia/Shanghai');
CREATE TABLE one_process_states_text AS
SELECT * FROM persona.customer_states('par_orders_text', '2025-01-01', 'Asia/Shanghai', customer_key => NULL::text);
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 3;
-- the table's parallel_workers as set (else PostgreSQL's rule for a parallel
-- sequential scan, at most one participant per CPU)
ALTER TABLE par_orders SET (parallel_workers = 3);
ALTER TABLE par_orders_text SET (parallel_workers = 3);
SET client_min_messages = debug1;
SELECT count(*) FROM persona.customer_profile('par_orders', '2025-01-01', habits => false);
RESET client_min_messages;
CREATE FUNCTION par_diff(a regclass, b regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n1 bigint; n2 bigint; m bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x', a, b) INTO n1;
  EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x', b, a) INTO n2;
  EXECUTE format('SELECT count(*) FROM %s', a) INTO m;
  RETURN format('%s rows, %s and %s different', m, n1, n2);
END $$;
-- 1, 2 and 3 workers (max_parallel_workers_per_gather caps the storage parameter)
SET max_parallel_workers_per_gather = 1;
CREATE TABLE w1 AS SELECT * FROM persona.customer_profile('par_orders', '2025-01-01', time_zone => 'Asia/Shanghai');
SET max_parallel_workers_per_gather = 2;
CREATE TABLE w2 AS SELECT * FROM persona.customer_profile('par_orders', '2025-01-01', time_zone => 'Asia/Shanghai');
SET max_parallel_workers_per_gather = 3;
CREATE TABLE w3 AS SELECT * FROM persona.customer_profile('par_orders', '2025-01-01', time_zone => 'Asia/Shanghai');
SELECT par_diff('w1', 'one_process') AS w1, par_diff('w2', 'one_process') AS w2, par_diff('w3', 'one_process') AS w3;
-- text keys, short (in the slot) and long (by reference)
CREATE TABLE w3_text AS
SELECT * FROM persona.customer_profile('par_orders_text', '2025-01-01', customer_key => NULL::text, time_zone => 'Asia/Shanghai');
SELECT par_diff('w3_text', 'one_process_text') AS text_keys;
-- states, integer and text keys
CREATE TABLE w3_states AS SELECT * FROM persona.customer_states('par_orders', '2025-01-01', 'Asia/Shanghai');
CREATE TABLE w3_states_text AS SELECT * FROM persona.customer_states('par_orders_text', '2025-01-01', 'Asia/Shanghai', customer_key => NULL::text);
SELECT par_diff('w3_states', 'one_process_states') AS states, par_diff('w3_states_text', 'one_process_states_text') AS states_text;
-- every participant spilling: several passes each
SET work_mem = '64kB';
CREATE TABLE w3_spill AS SELECT * FROM persona.customer_profile('par_orders', '2025-01-01', time_zone => 'Asia/Shanghai');
CREATE TABLE w3_spill_states AS SELECT * FROM persona.customer_states('par_orders_text', '2025-01-01', 'Asia/Shanghai', customer_key => NULL::text);
RESET work_mem;
SELECT par_diff('w3_spill', 'one_process') AS spilled, par_diff('w3_spill_states', 'one_process_states_text') AS spilled_states;
-- the workers see the orders the transaction wrote, and it goes on writing after
BEGIN;
INSERT INTO par_orders VALUES (999999, '2024-06-01 12:00+00', 10), (999999, '2024-07-01 12:00+00', 20);
SELECT customer_id, orders, revenue FROM persona.customer_profile('par_orders', '2025-01-01') WHERE customer_id = 999999;
INSERT INTO par_orders SELECT customer_id, '2024-08-01', 5 FROM persona.customer_states('par_orders', '2025-01-01', 'UTC') WHERE customer_id = 999999;
SELECT count(*) FROM par_orders WHERE customer_id = 999999;
ROLLBACK;
-- one process where workers cannot or must not read: a temporary table, a
-- view, row security, parallel_workers = 0
CREATE TEMP TABLE par_temp AS SELECT * FROM par_orders;
SET client_min_messages = debug1;
SELECT count(*) FROM persona.customer_profile('par_temp', '2025-01-01', habits => false);
CREATE VIEW par_view AS SELECT * FROM par_orders;
SELECT count(*) FROM persona.customer_profile('par_view', '2025-01-01', habits => false);
ALTER TABLE par_orders SET (parallel_workers = 0);
SELECT count(*) FROM persona.customer_profile('par_orders', '2025-01-01', habits => false);
ALTER TABLE par_orders SET (parallel_workers = 3);
-- a table with inheritance children (one could be temporary or foreign)
SET client_min_messages = warning;
CREATE TEMP TABLE par_child () INHERITS (par_orders);
SET client_min_messages = debug1;
SELECT count(*) FROM persona.customer_profile('par_orders', '2025-01-01', habits => false);
DROP TABLE par_child;
-- a key hashed by its type's (parallel safe) functions: workers
SET client_min_messages = warning;
CREATE TABLE par_numeric AS SELECT customer_id::numeric AS customer_id, ordered_at, amount FROM par_orders;
ALTER TABLE par_numeric SET (parallel_workers = 3);
SET client_min_messages = debug1;
SELECT count(*) FROM persona.customer_profile('par_numeric', '2025-01-01', customer_key => NULL::numeric, habits => false);
ALTER TABLE par_orders_text ENABLE ROW LEVEL SECURITY;
CREATE ROLE par_reader;
GRANT SELECT ON par_orders_text TO par_reader;
GRANT USAGE ON SCHEMA persona TO par_reader;
CREATE POLICY par_some ON par_orders_text TO par_reader USING (customer_id LIKE 'C%');
SET ROLE par_reader;
SELECT count(*) FROM persona.customer_profile('par_orders_text', '2025-01-01', customer_key => NULL::text, habits => false);
RESET ROLE;
RESET client_min_messages;
-- an error in a worker is the caller's error (a NaN amount: whoever reads it first)
\set VERBOSITY terse
CREATE TABLE par_nan AS SELECT * FROM par_orders;
INSERT INTO par_nan SELECT customer_id, ordered_at, 'NaN' FROM par_orders WHERE customer_id IS NOT NULL LIMIT 50;
ALTER TABLE par_nan SET (parallel_workers = 3);
SELECT count(*) FROM persona.customer_profile('par_nan', '2025-01-01');
SELECT count(*) FROM persona.customer_states('par_nan', '2025-01-01', 'UTC');
\set VERBOSITY default
-- an error caught in a subtransaction ends its workers; the next call starts new ones
DO $$
BEGIN
  PERFORM count(*) FROM persona.customer_profile('par_nan', '2025-01-01');
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'caught: %', SQLERRM;
END $$;
SELECT par_diff('w3', 'one_process') AS after_caught_error;
CREATE TABLE w3_again AS SELECT * FROM persona.customer_profile('par_orders', '2025-01-01', time_zone => 'Asia/Shanghai');
SELECT par_diff('w3_again', 'one_process') AS after_caught_error;
-- a profile refreshed with workers (its states from customer_states inside the
-- refresh's INSERT) equals one refreshed in one process, full and incremental
SET client_min_messages = warning;
SELECT count(*) FROM persona.create_profile('par_shop', 'par_orders', schema => 'public', as_of => '2024-12-31',
                                            time_zone => 'Asia/Shanghai', incremental => true,
                                            parts => '{segments,lifecycle,pareto}');
CREATE TABLE par_shop_workers AS SELECT * FROM par_shop_customers;
SET max_parallel_workers_per_gather = 0;
SELECT refresh, customers FROM persona.refresh_profile('par_shop', incremental => false);
SELECT par_diff('par_shop_workers', 'par_shop_customers') AS profile_refresh;
INSERT INTO par_orders SELECT customer_id, ordered_at + interval '3 days', amount FROM par_orders WHERE customer_id % 50 = 0;
SET max_parallel_workers_per_gather = 3;
SELECT refresh, changed > 0 AS changed FROM persona.refresh_profile('par_shop');
CREATE TABLE par_shop_incremental AS SELECT * FROM par_shop_customers;
SELECT refresh FROM persona.refresh_profile('par_shop', incremental => false);
SELECT par_diff('par_shop_incremental', 'par_shop_customers') AS incremental_with_workers;
SELECT persona.drop_profile('par_shop');
RESET client_min_messages;

-- a statement timeout stops the leader and its workers
-- (terse: the cancel may land in a catalog query of the planning, whose CONTEXT would vary)
\set VERBOSITY terse
SET statement_timeout = '1ms';
SELECT count(*) FROM persona.customer_profile('par_orders', '2025-01-01') a, generate_series(1, 1000);
RESET statement_timeout;
\set VERBOSITY default
SELECT count(*) FROM persona.customer_profile('par_orders', '2025-01-01');
REVOKE ALL ON par_orders_text FROM par_reader;
REVOKE USAGE ON SCHEMA persona FROM par_reader;
DROP POLICY par_some ON par_orders_text;
DROP ROLE par_reader;
