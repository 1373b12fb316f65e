-- Validation: everything reachable from SQL is checked as strictly as the
-- input functions, and every accepted value survives text and binary I/O.
SET TimeZone = 'Asia/Shanghai';
SET extra_float_digits = 0;
-- A value's identity: its binary form (send writes every field bit for bit).
CREATE FUNCTION pg_temp.same(b persona.rfm_breaks) RETURNS boolean LANGUAGE sql
RETURN persona.rfm_breaks_send(b) = persona.rfm_breaks_send(b::text::persona.rfm_breaks);

-- rfm_breaks: the final function reads hand-made states safely.
SELECT persona.rfm_breaks_finalfn('{5,2000000,0,0,0,0,1,2,3}');
SELECT persona.rfm_breaks_finalfn('{NaN,0,0,0,0,0,1,2,3}');
SELECT persona.rfm_breaks_finalfn('{1e300,0,0,0,0,0}');
SELECT persona.rfm_breaks_finalfn('{5,0,0,0,0,0,1,2}');
SELECT persona.rfm_breaks_finalfn('{5,0,0,0,0,0,1,2,Infinity}');
SELECT persona.rfm_breaks_finalfn('{5,0,0,0,0,0,1,NULL,3}');
SELECT persona.rfm_breaks_finalfn('{{5,0},{1,2}}');
SELECT persona.rfm_breaks_finalfn('{5,1,0,0,0,0,1,2,3}');
SELECT persona.rfm_breaks_finalfn('{2,2,0,0,0,0,1,2,3}');
SELECT persona.rfm_breaks_finalfn('{2,0,0,0,0,0,10,2,300}');
-- Runs: (value, customers) per dimension after the three run counts.
SELECT persona.rfm_breaks_finalfn('{2,0,0,1,1,1,10,1,2,1,300,1}');
SELECT persona.rfm_breaks_finalfn('{2,0,0,2,1,0,10,1,9,1,2,2}');
SELECT persona.rfm_breaks_finalfn('{2,0,0,1,1,0,10,0.5,2,1}');
SELECT persona.rfm_breaks_finalfn('{2,0,0,1,1,0,10,2,2,1}');
SELECT persona.rfm_breaks_finalfn('{2,0,0,9,1,0,10,2,2,1}');
SELECT persona.rfm_breaks_finalfn('{2,0,0.5,0,0,0,10,2,300}');
-- The mean of huge values is finite: it prints as a number, not null.
SELECT b, pg_temp.same(b)
FROM persona.rfm_breaks_finalfn('{2,1,0,0,0,0,1e308,1e308,1e308,1.5e308,1.7e308,1.7e308}') b;
-- Subnormal cuts are valid float8 values: accepted, printed and re-read exactly.
SELECT b, pg_temp.same(b) FROM persona.rfm_thresholds('{30}', '{2}', '{1e-310}') b;
SELECT b, pg_temp.same(b)
FROM (SELECT '{"bins": 3, "method": "quantile", "n": 9000000000000000, "r": [4.9e-324, -0], "f": [-2.2250738585072014e-308, null], "m": [null, null]}'::persona.rfm_breaks b) v;
-- Every value 0.2.0's input accepted still reads (so old dumps restore), whatever its method.
SELECT b, pg_temp.same(b)
FROM (VALUES ('{"bins": 5, "method": "mean", "n": 0, "r": [9, 8, 7, null], "f": [1, 2, 3, null], "m": [1, 1, 1, 1]}'::persona.rfm_breaks),
             ('{"bins": 2, "method": "thresholds", "n": 3, "r": [null], "f": [null], "m": [0]}')) v(b);
-- Underflow to 0, overflow, NaN, misplaced infinities, bad counts and methods.
SELECT '{"bins": 2, "method": "median", "n": 1, "r": [1], "f": [1], "m": [1]}'::persona.rfm_breaks;
SELECT '{"bins": 2, "method": "quantile", "n": 1, "r": [NaN], "f": [1], "m": [1]}'::persona.rfm_breaks;
SELECT '{"bins": 2, "method": "quantile", "n": 1, "r": [0x10], "f": [1], "m": [1]}'::persona.rfm_breaks;
SELECT '{"bins": 2, "method": "quantile", "n": 1, "r": [1e-400], "f": [1], "m": [1]}'::persona.rfm_breaks;
SELECT '{"bins": 2, "method": "quantile", "n": 1, "r": [1e400], "f": [1], "m": [1]}'::persona.rfm_breaks;
SELECT '{"bins": 2, "method": "quantile", "n": 9000000000000001, "r": [1], "f": [1], "m": [1]}'::persona.rfm_breaks;
SELECT '{"bins": 3, "method": "quantile", "n": 4, "r": [null, 4], "f": [1, 2], "m": [1, 2]}'::persona.rfm_breaks;
SELECT '{"bins": 3, "method": "quantile", "n": 4, "r": [5, 4], "f": [null, 2], "m": [1, 2]}'::persona.rfm_breaks;
-- Binary input: the same rules (payloads built as send writes them).
CREATE TEMP TABLE payload (p bytea);
CREATE TEMP TABLE rb (b persona.rfm_breaks);
INSERT INTO payload SELECT int4send(2) || int4send(0) || int8send(-1) ||
                           float8send(1) || float8send(1) || float8send(1);
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
TRUNCATE payload;
INSERT INTO payload SELECT int4send(11) || int4send(0) || int8send(1) ||
                           float8send(1) || float8send(1) || float8send(1);
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
TRUNCATE payload;
INSERT INTO payload SELECT int4send(2) || int4send(0) || int8send(9000000000000001) ||
                           float8send(1) || float8send(1) || float8send(1);
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
TRUNCATE payload;
INSERT INTO payload SELECT int4send(2) || int4send(0) || int8send(3) ||
                           float8send('Infinity') || float8send(1) || float8send(1);
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
TRUNCATE payload;
INSERT INTO payload SELECT int4send(2) || int4send(0) || int8send(3) ||
                           float8send(1) || float8send('-Infinity') || float8send(1);
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
TRUNCATE payload;
INSERT INTO payload SELECT int4send(2) || int4send(0) || int8send(3) ||
                           float8send(1) || float8send(1) || float8send('NaN');
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
TRUNCATE payload;
INSERT INTO payload SELECT int4send(2) || int4send(7) || int8send(3) ||
                           float8send(1) || float8send(1) || float8send(1);
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
-- A valid payload with a subnormal and an unreachable cut is read back exactly.
TRUNCATE payload;
INSERT INTO payload SELECT int4send(2) || int4send(0) || int8send(3) ||
                           float8send('-Infinity') || float8send(5e-324) || float8send('Infinity');
\copy payload TO 'results/persona_validation.bin' WITH (FORMAT binary)
\copy rb FROM 'results/persona_validation.bin' WITH (FORMAT binary)
SELECT b, pg_temp.same(b), persona.rfm_breaks_send(b) = (SELECT p FROM payload) AS same_bytes FROM rb;
-- rfm_score re-checks the breaks it is given.
SELECT persona.rfm_score(10, 2, 100, b) FROM rb;

-- Other aggregate states taken by SQL-callable functions.
SELECT persona.pareto_finalfn('{0.2,0.8,0,0,0,NaN}');
SELECT persona.pareto_finalfn('{0.2,0.8,0,0,0,1,Infinity}');
SELECT persona.pareto_finalfn('{0.2,1.5,0,0,0,1}');
SELECT persona.pareto_finalfn('{0.2}');
SELECT persona.pareto_finalfn('{0.2,0.8,0,0,0,1e308,1e308}');
SELECT persona.pareto_finalfn('{0.2,0.8,0.01,Infinity,1,100,1}');
SELECT persona.pareto_finalfn('{0.2,0.8,0,0,2,100,1,50,1}');
SELECT persona.funnel_counts_check('[0:5]={1,2,3,4,5,6}');
SELECT persona.funnel_counts_check('{{1,2,3},{4,5,6}}');
SELECT persona.funnel_counts_check('{1,2,3,4,5,-1}');
SELECT persona.funnel_counts_check('{}');
SELECT persona.funnel_counts_check('{1,2,3,4,5,6}');

-- A user aggregate can start the transition functions from any array.
CREATE AGGREGATE pg_temp.breaks_from(float8, float8, float8) (
    SFUNC = persona.rfm_breaks_transfn, STYPE = float8[], FINALFUNC = persona.rfm_breaks_finalfn, INITCOND = '{5}');
SELECT pg_temp.breaks_from(1, 2, 3);
CREATE AGGREGATE pg_temp.breaks_nan(float8, float8, float8) (
    SFUNC = persona.rfm_breaks_transfn, STYPE = float8[], FINALFUNC = persona.rfm_breaks_finalfn, INITCOND = '{5,0,0,0,0,0,NaN,1,2}');
SELECT pg_temp.breaks_nan(1, 2, 3);
CREATE AGGREGATE pg_temp.pareto_from(float8) (
    SFUNC = persona.pareto_transfn, STYPE = float8[], FINALFUNC = persona.pareto_finalfn, INITCOND = '{{0.2,0.8}}');
SELECT pg_temp.pareto_from(1);
CREATE AGGREGATE pg_temp.funnel_from(persona.funnel) (
    SFUNC = persona.funnel_counts_transfn, STYPE = bigint[], INITCOND = '{0,0,0,0,0,-1}');
SELECT pg_temp.funnel_from('lead');
-- Support functions called directly: one SQLSTATE (0A000), one message.
SELECT persona.rfm_breaks_transfn(NULL, 1, 2, 3);
SELECT persona.rfm_breaks_combinefn('{2,0,0,0,0,0}', '{2,0,0,0,0,0}');
SELECT persona.pareto_transfn(NULL, 1);
SELECT persona.funnel_counts_transfn('{0,0,0,0,0,0}', 'lead');
SELECT persona.funnel_counts_combinefn('{0,0,0,0,0,0}', '{0,0,0,0,0,0}');

-- Hand-made order_stats rows.
CREATE FUNCTION pg_temp.os(first_at timestamptz, last_at timestamptz, orders bigint, purchase_days int,
                           recency int, tenure int, mean_gap float8, repeat_orders bigint,
                           revenue numeric DEFAULT 10, repeat_revenue numeric DEFAULT 5,
                           gap_sd float8 DEFAULT NULL, avg_amount float8 DEFAULT 1, refunds bigint DEFAULT 0)
RETURNS persona.order_stats LANGUAGE sql
RETURN ROW(first_at, last_at, orders, purchase_days, revenue, avg_amount, recency, tenure,
           mean_gap, gap_sd, repeat_orders, repeat_revenue, refunds)::persona.order_stats;
-- a valid one: 3 orders on 2 days, 10 days apart, 5 days ago
SELECT (persona.btyd(s)).*, persona.lifecycle_of(s)
FROM pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 2) s;
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, -3, 5, 15, 10, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 5, 5, 15, 10, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 15, 5, 10, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, -2147483648, 2147483647, 10, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 7));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 3, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, NULL, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 5, NULL, 2));
SELECT persona.btyd(pg_temp.os('-infinity', '2024-01-11', 3, 2, 5, 15, 10, 2));
SELECT persona.btyd(pg_temp.os('2024-01-12', '2024-01-11', 3, 2, 5, 15, 10, 2));
SELECT persona.btyd(pg_temp.os(NULL, '2024-01-11', 3, 2, 5, 15, 10, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', NULL, 2, 5, 15, 10, 2));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 2, repeat_revenue => 'NaN'));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 2, repeat_revenue => -1));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 2, revenue => 'Infinity'));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 2, gap_sd => 1));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 2, avg_amount => 'NaN'));
SELECT persona.btyd(pg_temp.os('2024-01-01', '2024-01-11', 3, 2, 5, 15, 10, 2, refunds => -1));
SELECT persona.lifecycle_of(pg_temp.os(NULL, NULL, 0, 0, NULL, NULL, NULL, NULL, repeat_revenue => NULL, avg_amount => NULL)),
       persona.btyd(pg_temp.os(NULL, NULL, 0, 0, NULL, NULL, NULL, NULL, repeat_revenue => NULL, avg_amount => NULL));
SELECT persona.lifecycle_of(pg_temp.os(NULL, NULL, 0, 0, 3, NULL, NULL, NULL, repeat_revenue => NULL, avg_amount => NULL));

-- One lifecycle definition: 4 orders on 2 purchase days is growing both ways.
CREATE TEMP TABLE o (t timestamptz, a numeric);
INSERT INTO o VALUES ('2024-01-01 09:00', 10), ('2024-01-01 18:00', 10), ('2024-01-20 09:00', 10), ('2024-01-20 10:00', 10);
SELECT (s).orders, (s).purchase_days, persona.lifecycle_of(s) AS of_stats,
       persona.lifecycle_stage((s).first_at, (s).last_at, (s).purchase_days, '2024-02-10') AS of_columns
FROM (SELECT persona.order_stats(t, a, '2024-02-10') AS s FROM o) q;
-- An order count that cannot be a number of purchase days is an error.
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-02', 4, '2024-02-10');
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-01', 2, '2024-02-10');
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-02', 1, '2024-02-10');
SELECT persona.lifecycle_stage('2024-01-01', '2024-01-20', 2, '2024-02-10', -1);

-- Model rows written by hand: clear errors, results within their domain.
SELECT persona.p_alive(ROW(0, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 1, 1, 2);
SELECT persona.p_alive(ROW('NaN', 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 1, 1, 2);
SELECT persona.p_alive(ROW(NULL, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd, 1, 1, 2);
SELECT persona.expected_purchases(ROW(1, 'Infinity', 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 10);
SELECT persona.expected_spend(ROW(1, -1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, 1, 10);
SELECT p BETWEEN 0 AND 1 AS p_alive_in_range
FROM persona.p_alive(ROW(1e-300, 1e300, 1e300, 1e-300, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, 100, 50, 100) p;
