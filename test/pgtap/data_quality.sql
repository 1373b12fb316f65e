-- data_quality: SQLSTATEs and messages for bad arguments, relations, columns, rights.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(30);

CREATE TABLE o (customer_id int, ordered_at timestamptz, amount numeric, order_no int,
                note text, n int, day date, js json, t timestamp, f real);
INSERT INTO o VALUES (1, '2024-01-01 10:00', 10, 1, 'x', 1, '2024-01-01', '{}', '2024-01-01 10:00', 1.5);

-- NULL arguments that have no meaning: 22004, naming the argument.
SELECT throws_ok($$SELECT * FROM persona.data_quality(NULL)$$, '22004', 'orders must not be NULL', 'NULL orders: 22004');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', NULL)$$, '22004', 'customer_col must not be NULL', 'NULL customer_col: 22004');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', time_col => NULL)$$, '22004', 'time_col must not be NULL', 'NULL time_col: 22004');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', amount_col => NULL)$$, '22004', 'amount_col must not be NULL', 'NULL amount_col: 22004');
-- The NULLs that mean a default are fine.
SELECT lives_ok($$SELECT * FROM persona.data_quality('o', order_col => NULL, time_zone => NULL, as_of => NULL, language => NULL)$$,
                'NULL order_col, time_zone, as_of and language mean their defaults');

-- Missing columns: 42703 naming the column.
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', 'cust')$$, '42703',
                 'column "cust" of relation "o" does not exist', 'missing customer column: 42703');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', time_col => 'ts')$$, '42703',
                 'column "ts" of relation "o" does not exist', 'missing time column: 42703');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', amount_col => 'amt')$$, '42703',
                 'column "amt" of relation "o" does not exist', 'missing amount column: 42703');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', order_col => 'order_id')$$, '42703',
                 'column "order_id" of relation "o" does not exist', 'missing order column: 42703');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', 'Customer_ID')$$, '42703',
                 'column "Customer_ID" of relation "o" does not exist', 'column names are case sensitive (not folded)');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', '')$$, '42703',
                 'column "" of relation "o" does not exist', 'an empty column name: 42703');

-- Wrong column types: 42804 naming the column.
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', amount_col => 'note')$$, '42804',
                 'amount column "note" must be of a numeric type', 'text amount: 42804');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', amount_col => 'ordered_at')$$, '42804',
                 'amount column "ordered_at" must be of a numeric type', 'timestamptz amount: 42804');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', time_col => 'note')$$, '42804',
                 'time column "note" must be timestamptz (or timestamp or date)', 'text time: 42804');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', time_col => 'n')$$, '42804',
                 'time column "n" must be timestamptz (or timestamp or date)', 'integer time: 42804');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', 'js')$$, '42804',
                 'customer column "js" must be of a type with a btree operator class', 'json customer: 42804');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', order_col => 'js')$$, '42804',
                 'order column "js" must be of a type with a btree operator class', 'json order number: 42804');
SELECT lives_ok($$SELECT * FROM persona.data_quality('o', 'note', 't', 'f', 'day')$$,
                'text customer, timestamp time, real amount, date order number are accepted');

-- Bad settings.
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', language => 'fr')$$, '22023',
                 'unknown language "fr"', 'unknown language: 22023');
SELECT throws_ok($$SELECT * FROM persona.data_quality('o', time_zone => 'Mars/Olympus')$$, '22023',
                 'time zone "Mars/Olympus" not recognized', 'unknown time zone: 22023');
CREATE TABLE empty_o (LIKE o);
SELECT throws_ok($$SELECT * FROM persona.data_quality('empty_o', time_zone => 'Mars/Olympus')$$, '22023',
                 'time zone "Mars/Olympus" not recognized', 'unknown time zone on an empty table: 22023');

-- Relations: what the resolver says.
SELECT throws_ok($$SELECT * FROM persona.data_quality(999999::oid::regclass)$$, '42P01',
                 'relation with OID 999999 does not exist', 'a missing OID: 42P01');
SELECT throws_ok($$SELECT * FROM persona.data_quality('pg_class_oid_index')$$, '42809', NULL, 'an index: 42809');

-- Rights: no SELECT on the table, or on a column it needs: 42501.
CREATE ROLE persona_dq_nobody;
GRANT USAGE ON SCHEMA public TO persona_dq_nobody;
CREATE TABLE secret (customer_id int, ordered_at timestamptz, amount numeric, salary numeric);
GRANT SELECT (customer_id, ordered_at) ON secret TO persona_dq_nobody;
SET LOCAL ROLE persona_dq_nobody;
SELECT throws_ok($$SELECT * FROM persona.data_quality('o')$$, '42501', NULL, 'no SELECT on the table: 42501');
SELECT throws_ok($$SELECT * FROM persona.data_quality('secret')$$, '42501',
                 'permission denied for column "amount" of relation "secret"', 'no SELECT on the amount column: 42501 naming it');
RESET ROLE;
GRANT SELECT (amount) ON secret TO persona_dq_nobody;
SET LOCAL ROLE persona_dq_nobody;
SELECT is((SELECT rows FROM persona.data_quality('secret') WHERE check_name = 'orders'), 0::bigint,
          'SELECT on the three columns (not the table) is enough');
RESET ROLE;

-- Bad values in the table are counted, never raised.
INSERT INTO o (customer_id, ordered_at, amount) VALUES (2, 'infinity', 'NaN'), (2, '-infinity', '-Infinity'), (NULL, NULL, NULL);
SELECT is((SELECT array_agg(rows ORDER BY check_name) FROM persona.data_quality('o', as_of => '2024-06-01')
           WHERE check_name IN ('orders', 'nonfinite_amount', 'infinite_time', 'missing_customer')),
          ARRAY[2, 1, 2, 4]::bigint[], 'NaN, infinite amounts and times are counted, not raised');

-- a timestamp column holds local times of time_zone, whatever the session's
-- TimeZone: every order at midnight is date-only in every session (the
-- scan of integer keys and the query of text keys alike)
CREATE TABLE dq_local (id int, cust int, cust_text text, at timestamp, amount numeric);
INSERT INTO dq_local SELECT i, i % 20, 'c' || i % 20, timestamp '2024-06-01' + (i % 30) * interval '1 day', 10 FROM generate_series(1, 200) i;
INSERT INTO dq_local VALUES (1000, 1, 'c1', '2024-12-31 20:00', 5);
CREATE FUNCTION pg_temp.dq_local(key text) RETURNS bigint[] LANGUAGE sql AS $$
    SELECT array_agg(rows ORDER BY check_name) FROM persona.data_quality('dq_local', key, 'at', 'amount', time_zone => 'Asia/Shanghai',
                                                                      as_of => '2024-12-31 23:59:59+08')
    WHERE check_name IN ('date_only_orders', 'date_only_customers', 'future_time')
$$;
SET LOCAL TimeZone = 'UTC';
CREATE TEMP TABLE dq_utc AS SELECT pg_temp.dq_local('cust') AS ints, pg_temp.dq_local('cust_text') AS texts;
SET LOCAL TimeZone = 'America/New_York';
SELECT is(pg_temp.dq_local('cust'), (SELECT ints FROM dq_utc), 'timestamp columns: the same counts in every session (integer keys)');
SELECT is(pg_temp.dq_local('cust_text'), (SELECT texts FROM dq_utc), 'and with text keys');
SELECT is((SELECT ints FROM dq_utc), ARRAY[19, 200, 0]::bigint[], 'every midnight order is date-only, none after the day');

SELECT * FROM finish();
ROLLBACK;
