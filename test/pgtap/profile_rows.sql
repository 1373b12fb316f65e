-- profile_rows_changes, the weighted-row changes of an incremental
-- refresh: the same five rows as profile_rows_sql's aggregates over the
-- old values (w = -1) and the new ones (w = 1), edge values included
-- (no orders, NULLs, one purchase day, zero, negative and tiny repeat
-- revenue), with and without models; bad tables are errors with their
-- SQLSTATE.  Data seeded: the same on every run.
BEGIN;
SET client_min_messages = warning;
SET persona.progress = off;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(19);
SELECT setseed(0.17);

CREATE TABLE o (cust bigint, at timestamptz, amount numeric);
INSERT INTO o SELECT i % 40, timestamptz '2024-01-01' + i * interval '9 hours', i % 11 FROM generate_series(1, 1500) i;
SELECT isnt_empty($$SELECT persona.create_profile('pm', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', parts => '{segments,models}')$$, 'a profile with models');
SELECT isnt_empty($$SELECT persona.create_profile('pn', 'o', customer_col => 'cust', time_col => 'at', amount_col => 'amount',
                                                  as_of => '2024-12-31', parts => '{segments}')$$, 'a profile without');

-- 3,000 customers going out and 3,000 coming in, ties in every column
CREATE TEMP TABLE old_v AS
SELECT i AS customer_id, (1 + floor(random() * 12))::bigint AS orders, (1 + floor(random() * 6))::int AS purchase_days,
       round((random() * 900)::numeric, 2) AS revenue, round((random() * 500 - 50)::numeric, 2) AS repeat_revenue,
       date '2023-01-01' + floor(random() * 300)::int AS first_order_on, date '2024-01-01' + floor(random() * 360)::int AS last_order_on,
       random() * 40 AS mean_gap_days
FROM generate_series(1, 3000) i;
CREATE TEMP TABLE new_v AS
SELECT customer_id, orders + 1 AS orders, purchase_days + (customer_id % 2)::int AS purchase_days, revenue + 10 AS revenue,
       repeat_revenue + 10 AS repeat_revenue, first_order_on, date '2024-12-31' AS last_order_on, mean_gap_days
FROM old_v;
-- the edges: no orders, NULLs, one purchase day, repeat revenue 0, < 0 and tiny, no last order day
INSERT INTO old_v VALUES (9001, 0, 1, 5, 0, '2024-01-01', '2024-01-01', NULL),
                         (9002, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                         (9003, 3, 1, NULL, 7, '2024-02-01', '2024-02-01', NULL);
INSERT INTO new_v VALUES (9004, 2, 2, 12.5, 0, '2024-03-01', '2024-03-08', 7),
                         (9005, 5, 3, 40, -3, '2024-03-01', '2024-04-08', 1),
                         (9006, 4, 2, 0.01, 0.001, '2024-05-01', NULL, NULL),
                         (9007, 4, NULL, 8, 8, '2024-05-01', '2024-06-01', NULL);

CREATE TEMP TABLE got AS SELECT * FROM persona.profile_rows_changes('old_v', 'new_v', true);
SELECT lives_ok(format('CREATE TEMP TABLE want_rows AS %s',
                       persona.profile_rows_sql(persona.profile_get('pm'), '(SELECT o.*, -1 AS w FROM old_v o UNION ALL SELECT n.*, 1 FROM new_v n)')),
                'the SQL aggregates');
SELECT is((SELECT r_rows FROM got), (SELECT r_rows FROM want_rows), 'last order days: the aggregate''s rows');
SELECT is((SELECT f_rows FROM got), (SELECT f_rows FROM want_rows), 'order counts');
SELECT is((SELECT m_rows FROM got), (SELECT m_rows FROM want_rows), 'revenues (NULL left out)');
SELECT is((SELECT history_rows FROM got), (SELECT history_rows FROM want_rows), 'purchase histories');
SELECT is((SELECT gamma_gamma_rows FROM got), (SELECT gamma_gamma_rows FROM want_rows),
          'mean repeat spends (one purchase day, zero and negative repeat revenue left out)');
SELECT ok((SELECT cardinality(history_rows) > 1000 AND cardinality(gamma_gamma_rows) > 1000 FROM got), 'many rows of each');

SELECT lives_ok(format('CREATE TEMP TABLE want_plain AS %s',
                       persona.profile_rows_sql(persona.profile_get('pn'), '(SELECT o.*, -1 AS w FROM old_v o UNION ALL SELECT n.*, 1 FROM new_v n)')),
                'the SQL aggregates of a profile without models');
SELECT is((SELECT ROW(r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows)::text FROM persona.profile_rows_changes('old_v', 'new_v', false)),
          (SELECT ROW(r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows)::text FROM want_plain),
          'without models: the same rows, no histories or spends');
SELECT is((SELECT ROW(r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows)::text FROM persona.profile_rows_changes('old_v', 'old_v', true)),
          '(,,,,)', 'the same values out and in: no change');

-- bad tables
CREATE TEMP TABLE thin AS SELECT customer_id, orders FROM old_v;
SELECT throws_ok($$SELECT persona.profile_rows_changes('thin', 'new_v', true)$$, '42804',
                 'table "thin" has no column "purchase_days" of type integer', 'a table without a value column');
CREATE TEMP TABLE wrong_type AS SELECT customer_id, orders::int AS orders, purchase_days, revenue, repeat_revenue, first_order_on, last_order_on FROM old_v;
SELECT throws_ok($$SELECT persona.profile_rows_changes('old_v', 'wrong_type', true)$$, '42804',
                 'table "wrong_type" has no column "orders" of type bigint', 'a value column of another type');
CREATE TEMP TABLE endless AS SELECT * FROM new_v WHERE customer_id = 1;
UPDATE endless SET last_order_on = 'infinity';
SELECT throws_ok($$SELECT persona.profile_rows_changes('old_v', 'endless', true)$$, '22008',
                 'cannot subtract infinite dates', 'an infinite day (as the date difference of profile_rows_sql)');
SELECT throws_ok(format('SELECT * FROM (%s) x', persona.profile_rows_sql(persona.profile_get('pm'), '(SELECT e.*, 1 AS w FROM endless e)')),
                 '22008', 'cannot subtract infinite dates', 'the SQL aggregates give the same error');
CREATE TEMP VIEW a_view AS SELECT * FROM old_v;
SELECT throws_ok($$SELECT persona.profile_rows_changes('a_view', 'new_v', true)$$, '42809', NULL, 'a view');
CREATE TABLE guarded AS SELECT * FROM old_v;
ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
CREATE ROLE persona_rows_reader;
GRANT SELECT ON guarded, new_v TO persona_rows_reader;
GRANT USAGE ON SCHEMA persona TO persona_rows_reader;
SET LOCAL ROLE persona_rows_reader;
SELECT throws_ok($$SELECT persona.profile_rows_changes('guarded', 'new_v', true)$$, '0A000', NULL,
                 'row-level security (the scan would bypass it)');
SELECT throws_ok($$SELECT persona.profile_rows_changes('new_v', 'old_v', true)$$, '42501', NULL, 'no SELECT privilege');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
