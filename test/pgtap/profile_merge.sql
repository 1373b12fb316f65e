-- profile_merge_orders, the C step of an incremental refresh: the rows it
-- writes are the rows the SQL merge and decode give (an existing customer,
-- a new one, one whose new orders are refunds only, one with an order
-- without a time), the values before and after land in the two value
-- tables, and every bad argument is an error with its SQLSTATE.
BEGIN;
SET client_min_messages = warning;
SET persona.progress = off;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(46);

CREATE TABLE o (cust text, at timestamptz, amount numeric);
INSERT INTO o SELECT 'c' || (i % 50), timestamptz '2024-01-01 00:00+08' + i * interval '7 hours', i % 13
FROM generate_series(1, 2000) i;
SELECT isnt_empty($$SELECT persona.create_profile('p', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'Asia/Shanghai', incremental => true,
                                                  parts => '{segments}')$$, 'an incremental profile');
CREATE TEMP TABLE old_v AS SELECT customer_id, orders, revenue, last_order_on FROM p__state WITH NO DATA;
CREATE TEMP TABLE new_v AS SELECT customer_id, orders, revenue, last_order_on FROM p__state WITH NO DATA;
CREATE TEMP TABLE before AS SELECT * FROM p__state;

-- the new orders: c1 buys twice, c2 has a refund only, c3 an order without
-- a time, c777 is new; more rows than one fetch, so a customer's orders span two
CREATE TEMP TABLE n (cust text, at timestamptz, amount numeric);
INSERT INTO n VALUES ('c1', '2024-12-30 21:00+08', 40), ('c1', '2024-12-31 08:00+08', NULL),
                     ('c2', '2024-12-29 10:00+08', -5), ('c3', NULL, 8), ('c777', '2024-12-31 23:59+08', 12.5);
INSERT INTO n SELECT 'c4', timestamptz '2024-06-01 00:00+08' + i * interval '1 minute', i % 7 - 1 FROM generate_series(1, 2500) i;
CREATE TEMP VIEW new_orders AS SELECT n.cust, n.at, n.amount FROM n ORDER BY n.cust;
CREATE TEMP VIEW changes AS
SELECT n.cust AS k, persona.order_stats_state(n.at, n.amount, 'Asia/Shanghai') AS st,
       persona.habits_state(n.at, 'Asia/Shanghai') FILTER (WHERE n.amount IS NULL OR n.amount >= 0) AS hb
FROM n GROUP BY n.cust ORDER BY n.cust;

-- what the SQL path writes: the states merged, decoded by profile_decode_sql
CREATE TEMP TABLE expected AS SELECT * FROM p__state WITH NO DATA;
SELECT lives_ok(format($$INSERT INTO expected %s$$,
    persona.profile_decode_sql(persona.profile_get('p'),
        '(SELECT c.k, persona.order_stats_merge(b.stats_state, c.st) AS st, persona.habits_merge(b.habits_state, c.hb) AS hb
          FROM changes c LEFT JOIN before b ON b.customer_id = c.k)', '''2024-12-31''::date')),
    'the SQL merge and decode');

SELECT is(persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders', 'Asia/Shanghai', '2024-12-31', 'old_v', 'new_v'),
          5::bigint, 'five customers merged');
SELECT set_eq($$SELECT to_jsonb(s) FROM p__state s WHERE customer_id IN ('c1', 'c2', 'c3', 'c4', 'c777')$$,
              $$SELECT to_jsonb(e) FROM expected e$$, 'the merged rows are the SQL path''s, column by column');
SELECT is((SELECT count(*)::int FROM p__state), 51, 'one row more (the new customer)');
SELECT set_eq($$SELECT * FROM p__state WHERE customer_id NOT IN ('c1', 'c2', 'c3', 'c4', 'c777')$$,
              $$SELECT * FROM before WHERE customer_id NOT IN ('c1', 'c2', 'c3', 'c4', 'c777')$$, 'the other rows are untouched');
SELECT set_eq($$SELECT * FROM old_v$$,
              $$SELECT customer_id, orders, revenue, last_order_on FROM before WHERE customer_id IN ('c1', 'c2', 'c3', 'c4')$$,
              'old values: the four existing customers as they were');
SELECT set_eq($$SELECT * FROM new_v$$,
              $$SELECT customer_id, orders, revenue, last_order_on FROM expected$$, 'new values: the five as they are now');
SELECT is((SELECT orders FROM p__state WHERE customer_id = 'c2'), (SELECT orders FROM before WHERE customer_id = 'c2'),
          'a refund is no order');
SELECT is((SELECT last_order_on FROM p__state WHERE customer_id = 'c777'), '2024-12-31'::date,
          'the last order''s day is local (23:59 in Shanghai)');
SELECT is(persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders WHERE false', 'UTC', '2024-12-31', 'old_v', 'new_v'),
          0::bigint, 'no orders: nothing merged');
SELECT is(persona.profile_merge_orders('p__state', NULL, 'UTC', '2024-12-31', 'old_v', 'new_v'), NULL, 'NULL argument: NULL');

-- errors
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders UNION ALL SELECT * FROM new_orders',
                                                        'Asia/Shanghai', '2024-12-31', 'old_v', 'new_v')$$,
                 '22023', 'the orders query must return each customer''s orders together, customers in ascending key order',
                 'a customer''s orders apart');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM n ORDER BY cust DESC',
                                                        'Asia/Shanghai', '2024-12-31', 'old_v', 'new_v')$$,
                 '22023', 'the orders query must return each customer''s orders together, customers in ascending key order',
                 'descending keys');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders',
                                                        'Nowhere/Zone', '2024-12-31', 'old_v', 'new_v')$$,
                 '22023', NULL, 'an unknown zone');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT 1, at, amount FROM new_orders',
                                                        'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '42804', 'the orders query must return a customer key, an order time and an amount',
                 'a key of another type');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT cust, at, amount::float8 FROM new_orders',
                                                        'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '42804', 'the orders query must return a customer key, an order time and an amount',
                 'an amount of another type');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT NULL::text, now(), 1::numeric',
                                                        'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '22004', 'the orders query returned a NULL customer key', 'a NULL key');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'CREATE TABLE zz ()', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '22023', 'the orders argument must be one query returning rows', 'not a query');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', $q$SELECT 'c5'::text, '2024-12-01'::timestamptz, 'NaN'::numeric$q$,
                                                        'Asia/Shanghai', '2024-12-31', 'old_v', 'new_v')$$,
                 '22023', 'amount must be a finite number', 'a NaN amount');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', $q$SELECT 'c5'::text, '2024-12-01'::timestamptz, 1::numeric$q$,
                                                        'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '22023', 'time_zone must be the same for every row of a group', 'another zone than the stored states''');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders', 'Asia/Shanghai', '2024-01-31', 'old_v', 'new_v')$$,
                 '22023', 'state holds orders after as_of', 'orders after as_of');
UPDATE p__state SET stats_state = '\x00' WHERE customer_id = 'c9';
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', $q$SELECT 'c9'::text, now(), 1::numeric$q$,
                                                        'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '22P03', 'invalid order_stats state', 'a damaged stored state');
SELECT throws_ok($$SELECT persona.profile_merge_orders(0, 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '42P01', 'relation with OID 0 does not exist', 'no such relation');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p_customers', 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '42809', 'state table "p_customers" is not a table', 'a view');
SELECT throws_ok($$SELECT persona.profile_merge_orders('before', 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '42804', '"before" is not a persona profile state table', 'a table without a primary key');
CREATE TEMP TABLE odd_v (customer_id text, tags text[]);
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'odd_v', 'new_v')$$,
                 '42804', 'column "tags" of "odd_v" is not a column of "p__state" of the same type', 'a value column the state lacks');
SELECT throws_ok($$SELECT persona.profile_merge_orders('o', 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '0A000', 'state table "o" has row-level security, triggers or rules', 'a table with triggers (the orders)');
CREATE TEMP TABLE ruled_v (LIKE old_v);
CREATE RULE ruled AS ON INSERT TO ruled_v DO INSTEAD NOTHING;
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'ruled_v', 'new_v')$$,
                 '0A000', 'table "ruled_v" has row-level security, triggers or rules', 'a table with a rule');
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT cust, at, amount FROM n FOR UPDATE', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '22023', 'the orders argument must be one query returning rows', 'a query with FOR UPDATE');
-- an orders query that changes the rows it is merged into
CREATE FUNCTION pg_temp.touch(c text) RETURNS int LANGUAGE sql VOLATILE AS $$ UPDATE p__state SET refunds = refunds WHERE customer_id = c RETURNING 1 $$;
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT n.cust, n.at, n.amount FROM n, LATERAL pg_temp.touch(n.cust) t ORDER BY n.cust',
                                                        'Asia/Shanghai', '2024-12-31', 'old_v', 'new_v')$$,
                 '27000', 'a customer''s state row was changed by the orders query that is merged into it', 'the orders query changes a state row');
-- a read-only transaction
SAVEPOINT read_only;
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders', 'Asia/Shanghai', '2024-12-31', 'old_v', 'new_v')$$,
                 '25006', NULL, 'a read-only transaction');
RELEASE SAVEPOINT read_only;    -- (read-only ends with the subtransaction)
-- a row keeps its key as stored when an equal key is spelled otherwise (numeric 1.0 and 1.00)
CREATE TABLE onum (c numeric, at timestamptz, amount numeric);
INSERT INTO onum VALUES (1.0, '2024-03-01 10:00+00', 5), (2, '2024-04-01 10:00+00', 7);
SELECT isnt_empty($$SELECT persona.create_profile('pn', 'onum', customer_col => 'c', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'UTC', incremental => true, parts => '{segments}')$$,
                  'a numeric-keyed incremental profile');
CREATE TEMP TABLE pn_old AS SELECT customer_id, orders FROM pn__state WITH NO DATA;
CREATE TEMP TABLE pn_new AS SELECT customer_id, orders FROM pn__state WITH NO DATA;
SELECT is(persona.profile_merge_orders('pn__state', $q$SELECT 1.00::numeric, '2024-05-01 10:00+00'::timestamptz, 3::numeric$q$,
                                       'UTC', '2024-12-31', 'pn_old', 'pn_new'), 1::bigint, 'the order of customer 1.00 merged');
SELECT is((SELECT customer_id::text || ' ' || orders FROM pn__state WHERE customer_id = 1), '1.0 2', 'into the row of 1.0, which keeps its key');
-- privileges: every one the writes need, on the table and its schema, and row-level security of a role it applies to
CREATE ROLE persona_merge_tester;
GRANT USAGE ON SCHEMA persona TO persona_merge_tester;
GRANT SELECT, INSERT ON p__state TO persona_merge_tester;
GRANT SELECT ON n TO persona_merge_tester;
GRANT SELECT ON new_orders TO persona_merge_tester;
GRANT INSERT ON old_v, new_v TO persona_merge_tester;
SET LOCAL ROLE persona_merge_tester;
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '42501', 'permission denied for table p__state', 'UPDATE is needed too');
RESET ROLE;
GRANT UPDATE ON p__state TO persona_merge_tester;
ALTER TABLE p__state ENABLE ROW LEVEL SECURITY;
SET LOCAL ROLE persona_merge_tester;
SELECT throws_ok($$SELECT persona.profile_merge_orders('p__state', 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'old_v', 'new_v')$$,
                 '0A000', 'state table "p__state" has row-level security, triggers or rules', 'row-level security');
RESET ROLE;
ALTER TABLE p__state DISABLE ROW LEVEL SECURITY;
CREATE SCHEMA hidden;
CREATE TABLE hidden.st AS SELECT * FROM p__state;
ALTER TABLE hidden.st ADD PRIMARY KEY (customer_id);
GRANT SELECT, INSERT, UPDATE ON hidden.st TO persona_merge_tester;
SELECT 'hidden.st'::regclass::oid AS hidden_oid \gset
SET LOCAL ROLE persona_merge_tester;
SELECT throws_ok(format($$SELECT persona.profile_merge_orders(%s, 'SELECT * FROM new_orders', 'UTC', '2024-12-31', 'old_v', 'new_v')$$, :hidden_oid),
                 '42501', 'permission denied for schema hidden', 'a table in a schema the role may not use, named by its OID');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM p__state), 51, 'the refused calls wrote nothing');

-- The walk along the index: customers in dense runs (the scan walks from
-- entry to entry), far apart (a new descent), new ones between stored ones
-- and past the last, and stored rows with a dead version (an update that
-- left its page: two entries of one key, the first one's row dead)
CREATE TABLE ow (cust bigint, at timestamptz, amount numeric);
INSERT INTO ow SELECT 2 * (i % 3000) + 2, timestamptz '2024-01-01 00:00+00' + i * interval '61 minutes', i % 17 FROM generate_series(1, 9000) i;
SELECT isnt_empty($$SELECT persona.create_profile('pw', 'ow', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', time_zone => 'UTC', incremental => true, parts => '{segments}')$$,
                  'a bigint-keyed incremental profile of 3,000 customers');
CREATE TABLE pw_full (LIKE pw__state INCLUDING ALL) WITH (fillfactor = 100);
INSERT INTO pw_full SELECT * FROM pw__state ORDER BY customer_id;
UPDATE pw_full SET refunds = refunds WHERE customer_id % 3 = 0;
CREATE TEMP TABLE pw_before AS SELECT * FROM pw_full;
CREATE TEMP TABLE pw_old AS SELECT customer_id, orders FROM pw__state WITH NO DATA;
CREATE TEMP TABLE pw_new AS SELECT customer_id, orders FROM pw__state WITH NO DATA;
CREATE TEMP TABLE wn (cust bigint, at timestamptz, amount numeric);
INSERT INTO wn SELECT k, timestamptz '2024-12-30 10:00+00' + (k % 5) * interval '1 hour', k % 9
FROM (SELECT generate_series(2, 200, 2) UNION ALL SELECT 201 UNION ALL SELECT generate_series(1000, 1400, 8)
      UNION ALL SELECT 3001 UNION ALL SELECT 4500 UNION ALL SELECT generate_series(5000, 6000, 2) UNION ALL SELECT 7001) k(k);
CREATE TEMP TABLE pw_expected AS SELECT * FROM pw_full WITH NO DATA;
SELECT lives_ok(format($$INSERT INTO pw_expected %s$$,
    persona.profile_decode_sql(persona.profile_get('pw'),
        '(SELECT c.k, persona.order_stats_merge(b.stats_state, c.st) AS st, persona.habits_merge(b.habits_state, c.hb) AS hb
          FROM (SELECT wn.cust AS k, persona.order_stats_state(wn.at, wn.amount, ''UTC'') AS st, persona.habits_state(wn.at, ''UTC'') AS hb
                FROM wn GROUP BY wn.cust) c LEFT JOIN pw_before b ON b.customer_id = c.k)', '''2024-12-31''::date')),
    'the SQL merge and decode of the walk''s customers');
SELECT is(persona.profile_merge_orders('pw_full', 'SELECT * FROM wn ORDER BY cust', 'UTC', '2024-12-31', 'pw_old', 'pw_new'),
          (SELECT count(DISTINCT cust) FROM wn), 'every customer merged once');
SELECT set_eq($$SELECT to_jsonb(s) FROM pw_full s WHERE customer_id IN (SELECT cust FROM wn)$$,
              $$SELECT to_jsonb(e) FROM pw_expected e$$, 'walked, descended to, new and dead-versioned customers: the SQL path''s rows');
SELECT set_eq($$SELECT * FROM pw_full WHERE customer_id NOT IN (SELECT cust FROM wn)$$,
              $$SELECT * FROM pw_before WHERE customer_id NOT IN (SELECT cust FROM wn)$$, 'the other rows are untouched');
SELECT is((SELECT count(*)::int FROM pw_old), (SELECT count(*)::int FROM wn w WHERE EXISTS (SELECT FROM pw_before b WHERE b.customer_id = w.cust)),
          'an old value for each stored customer, none for the new');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*)::int FROM pw_full WHERE customer_id BETWEEN 1 AND 8000), (SELECT count(*)::int FROM pw_before) + (SELECT count(*)::int FROM wn w WHERE NOT EXISTS (SELECT FROM pw_before b WHERE b.customer_id = w.cust)),
          'the index finds every row after the walk (no entry marked dead that is not)');
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT * FROM finish();
ROLLBACK;
