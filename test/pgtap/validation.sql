-- Validation properties: every value an input or recv accepts round-trips
-- (text out -> in and send -> recv give the same value), hand-made states
-- and rows get user SQLSTATEs, results stay within their domain.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SET TimeZone = 'Asia/Shanghai';
SET extra_float_digits = 1;
SELECT setseed(0.9);
\set QUIET on

CREATE TEMP TABLE checks (name text, ok boolean);
CREATE FUNCTION pg_temp.try_breaks(t text) RETURNS persona.rfm_breaks LANGUAGE plpgsql AS $$
BEGIN
    RETURN t::persona.rfm_breaks;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN NULL;
END $$;
CREATE FUNCTION pg_temp.try_tq(t text) RETURNS persona.tagquery LANGUAGE plpgsql AS $$
BEGIN
    RETURN t::persona.tagquery;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN NULL;
END $$;
-- The SQLSTATE a statement raises, or NULL.
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

------------------------------------------------------------------------
-- rfm_breaks: 4,000 generated literals, edge values included
------------------------------------------------------------------------
CREATE TEMP TABLE pool (id int, v text, key float8);
INSERT INTO pool VALUES (1, '0', 0), (2, '-0', 0), (3, '1', 1), (4, '-1', -1), (5, '2.5', 2.5),
    (6, '1e-310', 1e-310), (7, '4.9e-324', 4.9e-324), (8, '-2.2250738585072014e-308', -2.2250738585072014e-308),
    (9, '1e308', 1e308), (10, '-1.7976931348623157e308', -1.7976931348623157e308), (11, 'null', NULL),
    (12, '1e-400', 0), (13, '1e400', 'Infinity'), (14, '30', 30), (15, '7', 7), (16, '0.1', 0.1),
    (17, 'null', NULL), (18, '123456.789', 123456.789);
CREATE TEMP TABLE cand AS
WITH c AS (
    SELECT i, 1 + floor(random() * 11)::int AS bins,
           (ARRAY['quantile', 'quantile', 'mean', 'thresholds', 'median'])[1 + floor(random() * 5)::int] AS method,
           (ARRAY['0', '1', '3', '2357', '9000000000000000', '9000000000000001', '2.5', '-1', '1e3'])[1 + floor(random() * 9)::int] AS n,
           random() < 0.8 AS sorted
    FROM generate_series(1, 4000) i),
picks AS (
    SELECT c.i, d, g, 1 + floor(random() * 18)::int AS k
    FROM c, generate_series(0, 2) d, generate_series(1, greatest(c.bins - 1, 1)) g),
dims AS (
    SELECT p.i, p.d, string_agg(pool.v, ', ' ORDER BY
               CASE WHEN c.sorted THEN CASE WHEN p.d = 0 THEN -coalesce(pool.key, '-Infinity') ELSE coalesce(pool.key, 'Infinity') END END,
               p.g) AS list
    FROM picks p JOIN pool ON pool.id = p.k JOIN c USING (i) GROUP BY p.i, p.d)
SELECT c.i, format('{"bins": %s, "method": "%s", "n": %s, "r": [%s], "f": [%s], "m": [%s]}',
                   c.bins, c.method, c.n, r.list, f.list, m.list) AS txt
FROM c JOIN dims r ON r.i = c.i AND r.d = 0 JOIN dims f ON f.i = c.i AND f.d = 1 JOIN dims m ON m.i = c.i AND m.d = 2;
CREATE TEMP TABLE acc AS SELECT i, b FROM (SELECT i, pg_temp.try_breaks(txt) AS b FROM cand) x WHERE b IS NOT NULL;
-- plus every value the aggregates and rfm_thresholds make from random data
INSERT INTO acc
SELECT 10000 + g, persona.rfm_breaks(r, f, m, 2 + g % 9)
FROM generate_series(0, 49) g,
     LATERAL (SELECT g + (random() * 400)::int AS r, (random() * 10)::int::float8 * g AS f,
                     (random() * 1e6) AS m FROM generate_series(1, 1 + g * 3)) d
GROUP BY g;
INSERT INTO acc
SELECT 20000 + g, persona.rfm_breaks(r, f, m, 2, 'mean')
FROM generate_series(0, 19) g,
     LATERAL (SELECT random() * 1e308 AS r, random() * 1.7e308 AS f, random() * 1e-300 AS m FROM generate_series(1, 5)) d
GROUP BY g;
INSERT INTO acc
SELECT 30000 + g, persona.rfm_thresholds(ARRAY[1e-310 * g, 1e-300], ARRAY[g, g + 1e-9], ARRAY[-1e308, 1e308])
FROM generate_series(1, 20) g;

INSERT INTO checks
SELECT 'rfm_breaks: a real share of the generated literals is accepted (' || count(*) || ')',
       count(*) BETWEEN 100 AND 3800 FROM acc WHERE i < 10000;
INSERT INTO checks
SELECT 'rfm_breaks: every accepted value prints as text that re-reads to the identical value',
       bool_and(persona.rfm_breaks_send(b) = persona.rfm_breaks_send(b::text::persona.rfm_breaks)
                AND b::text = b::text::persona.rfm_breaks::text) FROM acc;
INSERT INTO checks
SELECT 'rfm_breaks: every accepted value scores customers on its own scale',
       bool_and(persona.bins(persona.rfm_score(d, f, m, b)) = (b::text::json->>'bins')::int)
FROM acc, (VALUES (0::float8, 0::float8, 0::float8), (3, 2, 100), (-1e308, 1e308, 5e-324)) v(d, f, m);
INSERT INTO checks
SELECT 'rfm_breaks: no accepted value has a count above 9e15, an unreachable cut of the wrong sign or a non-monotone dimension',
       NOT bool_or((b::text::json->>'n')::numeric > 9e15 OR b::text ~ 'Infinity|NaN') FROM acc;
\copy (SELECT i, b FROM acc) TO 'results/persona_validation_breaks.bin' WITH (FORMAT binary)
CREATE TEMP TABLE acc2 (i int, b persona.rfm_breaks);
\copy acc2 FROM 'results/persona_validation_breaks.bin' WITH (FORMAT binary)
INSERT INTO checks
SELECT 'rfm_breaks: binary COPY (send -> recv) gives the identical value for all ' || count(*) || ' values',
       count(*) = (SELECT count(*) FROM acc) AND
       bool_and(persona.rfm_breaks_send(a.b) = persona.rfm_breaks_send(a2.b))
FROM acc a JOIN acc2 a2 USING (i);
-- recv takes a payload exactly when in takes its text: payloads built field by field
CREATE TEMP TABLE payload AS
SELECT i, int4send(bins) || int4send(method) || int8send(n) ||
          (SELECT string_agg(float8send(c), ''::bytea ORDER BY k) FROM unnest(cuts) WITH ORDINALITY u(c, k)) AS p,
       format('{"bins": %s, "method": "%s", "n": %s, "r": [%s], "f": [%s], "m": [%s]}', bins,
              (ARRAY['quantile', 'mean', 'thresholds'])[method + 1], n,
              array_to_string(cuts[1:bins - 1], ', '), array_to_string(cuts[bins:2 * bins - 2], ', '),
              array_to_string(cuts[2 * bins - 1:3 * bins - 3], ', ')) AS txt
FROM (SELECT i, bins, method, n,
             ARRAY(SELECT (ARRAY[0, -0.0::float8, 1, 7, 30, 5e-324, 1e-310, 1e308, -1e308, 2.5])[1 + floor(random() * 10)::int]
                   + 0 * i FROM generate_series(1, 3 * (bins - 1))) AS cuts
      FROM (SELECT i, 2 + floor(random() * 9)::int AS bins, floor(random() * 3)::int AS method,
                   (ARRAY[0, 1, 5, 9000000000000000])[1 + floor(random() * 4)::int] AS n
            FROM generate_series(1, 3000) i) x) y;
CREATE TEMP TABLE payload_ok AS SELECT i, p FROM payload WHERE pg_temp.try_breaks(txt) IS NOT NULL;
\copy payload_ok TO 'results/persona_validation_payload.bin' WITH (FORMAT binary)
CREATE TEMP TABLE recvd (i int, b persona.rfm_breaks);
\copy recvd FROM 'results/persona_validation_payload.bin' WITH (FORMAT binary)
INSERT INTO checks
SELECT 'rfm_breaks: recv accepts each of the ' || count(*) || ' payloads whose text in accepts and sends it back byte for byte',
       count(*) > 100 AND count(*) = (SELECT count(*) FROM payload_ok) AND bool_and(persona.rfm_breaks_send(r.b) = o.p)
FROM recvd r JOIN payload_ok o USING (i);

------------------------------------------------------------------------
-- rfm: every value, text and binary
------------------------------------------------------------------------
CREATE TEMP TABLE rv AS
SELECT row_number() OVER () AS i, persona.rfm(r, f, m, b) AS x
FROM generate_series(2, 10) b, generate_series(1, 10) r, generate_series(1, 10) f, generate_series(1, 10) m
WHERE r <= b AND f <= b AND m <= b;
\copy rv TO 'results/persona_validation_rfm.bin' WITH (FORMAT binary)
CREATE TEMP TABLE rv2 (i bigint, x persona.rfm);
\copy rv2 FROM 'results/persona_validation_rfm.bin' WITH (FORMAT binary)
INSERT INTO checks
SELECT 'rfm: all ' || count(*) || ' values round-trip through text and binary',
       count(*) = 3024 AND bool_and(persona.rfm_send(a.x) = persona.rfm_send(b.x)
                                     AND persona.rfm_send(a.x::text::persona.rfm) = persona.rfm_send(a.x))
FROM rv a JOIN rv2 b USING (i);
INSERT INTO checks
SELECT 'rfm: every three-digit or dashed literal that in accepts prints and re-reads to itself',
       bool_and(persona.rfm_send(t::persona.rfm::text::persona.rfm) = persona.rfm_send(t::persona.rfm))
FROM (SELECT format('%s-%s-%s/%s', r, f, m, b) AS t
      FROM generate_series(2, 10) b, generate_series(1, 10) r, generate_series(1, 10) f, generate_series(1, 10) m
      WHERE r <= b AND f <= b AND m <= b) s;

------------------------------------------------------------------------
-- tagquery: 3,000 generated queries with odd operands
------------------------------------------------------------------------
CREATE TEMP TABLE tags (id int, t text);
INSERT INTO tags VALUES (1, 'vip'), (2, '"a b"'), (3, '"q\"uote"'), (4, '"back\\slash"'), (5, '高价值'),
    (6, '""'), (7, 'x-y_z.1'), (8, '"&|!()"'), (9, E'"tab\there"'), (10, 'é'), (11, '"(paren"'), (12, '!'), (13, '&'),
    (14, '('), (15, ')'), (16, '"open'), (17, 'a\b'), (18, E'"new\nline"');
CREATE TEMP TABLE tagarr AS SELECT array_agg(t ORDER BY id) AS a FROM tags;
CREATE TEMP TABLE tq AS
WITH RECURSIVE e(i, depth, q) AS (
    SELECT i, 0, (SELECT a FROM tagarr)[1 + floor(random() * 18)::int] FROM generate_series(1, 3000) i
    UNION ALL
    SELECT i, depth + 1,
           CASE floor(random() * 5)::int
               WHEN 0 THEN '!' || q
               WHEN 1 THEN '(' || q || ')'
               WHEN 2 THEN q || ' & ' || (SELECT a FROM tagarr)[1 + floor(random() * 18)::int]
               WHEN 3 THEN (SELECT a FROM tagarr)[1 + floor(random() * 18)::int] || '|' || q
               ELSE q || ' | !(' || (SELECT a FROM tagarr)[1 + floor(random() * 11)::int] || ')' END
    FROM e WHERE depth < 1 + i % 7)
SELECT i, pg_temp.try_tq(q) AS x FROM e WHERE depth = 1 + i % 7;
INSERT INTO checks
SELECT 'tagquery: a real share of the generated queries is accepted (' || count(x) || ')', count(x) BETWEEN 300 AND 2990 FROM tq;
INSERT INTO checks
SELECT 'tagquery: every accepted query prints as text that re-reads to the identical query',
       bool_and(persona.tagquery_send(x) = persona.tagquery_send(x::text::persona.tagquery)) FROM tq WHERE x IS NOT NULL;
INSERT INTO checks
SELECT 'tagquery: re-read queries match the same tag sets',
       bool_and(persona.tag_match(tg, x) = persona.tag_match(tg, x::text::persona.tagquery))
FROM tq, (VALUES ('{}'::text[]), ('{vip}'), ('{"a b","q\"uote",高价值}'), ('{"",é,"&|!()"}')) v(tg) WHERE x IS NOT NULL;
\copy (SELECT i, x FROM tq WHERE x IS NOT NULL) TO 'results/persona_validation_tq.bin' WITH (FORMAT binary)
CREATE TEMP TABLE tq2 (i int, x persona.tagquery);
\copy tq2 FROM 'results/persona_validation_tq.bin' WITH (FORMAT binary)
INSERT INTO checks
SELECT 'tagquery: binary COPY gives the identical query for all accepted ones',
       count(*) = (SELECT count(x) FROM tq) AND bool_and(persona.tagquery_send(a.x) = persona.tagquery_send(b.x))
FROM tq a JOIN tq2 b USING (i);

------------------------------------------------------------------------
-- Support functions called directly: 0A000 everywhere
------------------------------------------------------------------------
INSERT INTO checks
SELECT 'every SQL-callable transition/combine function called directly raises 0A000 (' || count(*) || ' functions)',
       count(*) >= 8 AND bool_and(pg_temp.sqlstate_of(format('SELECT %s.%I(%s)', n.nspname, p.proname,
                 (SELECT string_agg(CASE WHEN t = 'persona.funnel'::regtype THEN '''lead''::persona.funnel'
                                         WHEN t = 'bigint[]'::regtype THEN '''{0,0,0,0,0,0}''::bigint[]'
                                         WHEN t = 'float8[]'::regtype THEN '''{2,0}''::float8[]'
                                         WHEN t = 'text'::regtype THEN '''quantile'''
                                         WHEN t IN ('float8'::regtype, 'numeric'::regtype, 'integer'::regtype, 'bigint'::regtype)
                                           THEN '1::' || format_type(t, NULL)
                                         ELSE 'NULL::' || format_type(t, NULL) END, ', ' ORDER BY k)
                  FROM unnest(p.proargtypes::regtype[]) WITH ORDINALITY u(t, k)))) = '0A000')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'persona' AND p.proname ~ '_(transfn|combinefn)$'
  AND NOT 'internal'::regtype = ANY (p.proargtypes::regtype[]);

------------------------------------------------------------------------
-- Hand-made states and rows: user SQLSTATEs
------------------------------------------------------------------------
INSERT INTO checks SELECT 'rfm_breaks_finalfn on ' || s || ' raises 22023',
       pg_temp.sqlstate_of(format('SELECT persona.rfm_breaks_finalfn(%L)', s)) = '22023'
FROM unnest(ARRAY['{5,2000000,0,0,0,0,1,2,3}', '{NaN,0,0,0,0,0}', '{-1e300,0,0,0,0,0}', '{5,0,0,0,0,0,1}', '{5,0,0,0,0,0,1,NaN,2}',
                  '{5,0,0,0,0,0,1,2,Infinity}', '{5,0,0,0,0,0,NULL,1,2}', '{{5,0},{1,2}}', '{2,1,0,0,0,0,1,2}', '{5,2,0,0,0,0,1,2,3}',
                  '{2.5,0,0,0,0,0,1,2,3}', '{2,0.5,0,0,0,0,1,2,3}', '{5,1,0,0,0,0,1,2,3}', '{2,0,0.2,0,0,0}', '{2,0,NaN,0,0,0}',
                  '{2,0,0,-1,0,0}', '{2,0,0,1e300,0,0}', '{2,0,0,0.5,0,0}', '{2,0,0,1,1,0,1,-1,1,1}', '{2,0,0,1,1,0,Infinity,1,1,1}',
                  '{2,0,0,2,1,0,3,1,3,1,1,2}', '{2,0,0,1,1,0,1,1e300,1,1}', '{2,0,0,1,1,0,1,2,1,1}']) s;
INSERT INTO checks SELECT 'pareto_finalfn on ' || s || ' raises a user error',
       pg_temp.sqlstate_of(format('SELECT persona.pareto_finalfn(%L)', s)) IN ('22023', '22003')
FROM unnest(ARRAY['{0.2,0.8,0,0,0,NaN}', '{0.2,0.8,0,0,0,-Infinity}', '{0.2}', '{NaN,0.8,0,0,0,1}', '{0.2,1,0,0,0,1}',
                  '{0.2,0.8,0,0,0,NULL}', '{{0.2,0.8},{1,1}}', '{0.2,0.8,0,0,0,1e308,1e308}', '{0.2,0.8,0,0,1,5,0}',
                  '{0.2,0.8,0.01,NaN,1,5,1}', '{0.2,0.8,1,0,0,1}', '{0.2,0.8,0,0,2,5,1,5,1}']) s;
INSERT INTO checks SELECT 'funnel_counts_check/funnel_report on ' || s || ' raise 22023',
       pg_temp.sqlstate_of(format('SELECT persona.funnel_counts_check(%L)', s)) = '22023' AND
       pg_temp.sqlstate_of(format('SELECT * FROM persona.funnel_report(%L)', s)) = '22023'
FROM unnest(ARRAY['{}', '{1,2,3}', '{1,2,3,4,5,6,7}', '{1,2,3,4,5,-6}', '{1,2,3,4,5,NULL}', '[0:5]={1,2,3,4,5,6}',
                  '{{1,2,3},{4,5,6}}']) s;

-- order_stats: random customers give valid rows; every single-field
-- mutation of a valid row is either an error 22023 or still consistent
CREATE TEMP TABLE o AS
SELECT (random() * 400)::int AS c,
       '2024-01-01'::timestamptz + random() * interval '365 days' AS t,
       CASE WHEN random() < 0.03 THEN NULL WHEN random() < 0.05 THEN -1 ELSE round((random() * 500)::numeric, 2) END AS a
FROM generate_series(1, 3000);
CREATE TEMP TABLE st AS SELECT c, persona.order_stats(t, a, '2024-12-31') AS s FROM o GROUP BY c;
INSERT INTO checks
SELECT 'btyd of ' || count(*) || ' real customers: 0 <= x, 0 <= t_x <= t_cal',
       bool_and((persona.btyd(s)).x >= 0 AND (persona.btyd(s)).t_x BETWEEN 0 AND (persona.btyd(s)).t_cal) FROM st;
CREATE TEMP TABLE mut AS
SELECT c, k, pg_temp.sqlstate_of(format('SELECT persona.btyd(%L::persona.order_stats), persona.lifecycle_of(%L::persona.order_stats)', m, m)) AS state,
       m AS txt
FROM (SELECT c, k, (SELECT '(' || string_agg(CASE WHEN j = k THEN v ELSE coalesce(f, '') END, ',' ORDER BY j) || ')'
                    FROM unnest(regexp_split_to_array(trim(both '()' from s::text), ',')) WITH ORDINALITY u(f, j)) AS m
      FROM (SELECT c, s, 1 + floor(random() * 13)::int AS k,
                   (ARRAY['', '-1', '0', '1', '2', '-4', '2147483647', '-2147483648', 'NaN', 'Infinity',
                          '-infinity', 'infinity', '"2024-06-01 00:00:00+08"', '1e300', '9223372036854775807'])[1 + floor(random() * 15)::int] AS v
            FROM st, generate_series(1, 10)) x) y;
INSERT INTO checks
SELECT 'order_stats mutations: each is accepted or rejected with a data exception, class 22 (' || count(*) || ' rows, ' ||
       count(*) FILTER (WHERE state IS NULL) || ' accepted)',
       bool_and(state IS NULL OR state LIKE '22___') FROM mut;
INSERT INTO checks
SELECT 'accepted order_stats mutations give btyd summaries within their domain',
       coalesce(bool_and(b IS NULL OR ((b).x >= 0 AND (b).t_x >= 0 AND (b).t_x <= (b).t_cal AND
                               ((b).mean_repeat_spend IS NULL OR (b).mean_repeat_spend >= 0))), true)
FROM (SELECT persona.btyd(txt::persona.order_stats) AS b FROM mut WHERE state IS NULL) q;

------------------------------------------------------------------------
-- One lifecycle definition
------------------------------------------------------------------------
INSERT INTO checks
SELECT 'lifecycle_of(order_stats) = lifecycle_stage(first_at, last_at, purchase_days, as_of [, mean_gap]) for ' ||
       count(*) || ' customers x 4 settings',
       bool_and(persona.lifecycle_of(s, new_days => nd, mature_purchases => mp, min_days => md) =
                persona.lifecycle_stage((s).first_at, (s).last_at, (s).purchase_days, '2024-12-31',
                                        new_days => nd, mature_purchases => mp, min_days => md)
            AND persona.lifecycle_of(s, new_days => nd, mature_purchases => mp, min_days => md) =
                persona.lifecycle_stage((s).first_at, (s).last_at, (s).purchase_days, '2024-12-31', (s).mean_gap_days,
                                        new_days => nd, mature_purchases => mp, min_days => md))
FROM st, (VALUES (30, 4, 30), (0, 2, 0), (400, 3, 10), (60, 10, 100)) v(nd, mp, md);
INSERT INTO checks
SELECT 'customer_profile''s lifecycle column = lifecycle_of(order_stats) for all ' || count(*) || ' customers',
       count(*) = (SELECT count(*) FROM st) AND bool_and(p.lifecycle = persona.lifecycle_of(st.s))
FROM persona.customer_profile('o', '2024-12-31', customer_col => 'c', time_col => 't', amount_col => 'a', habits => false) p
JOIN st ON st.c = p.customer_id;

------------------------------------------------------------------------
-- Model rows: results in their domain for 2,000 random rows and customers
------------------------------------------------------------------------
SET statement_timeout = '120s';
CREATE TEMP TABLE mp AS
SELECT i, (ARRAY[1e-300, 1e-8, 0.2, 1, 3.5, 1e8, 1e300])[1 + floor(random() * 7)::int] AS p1,
          (ARRAY[1e-300, 1e-8, 0.2, 1, 3.5, 1e8, 1e300])[1 + floor(random() * 7)::int] AS p2,
          (ARRAY[1e-300, 1e-8, 0.2, 1, 3.5, 1e8, 1e300])[1 + floor(random() * 7)::int] AS p3,
          (ARRAY[1e-300, 1e-8, 0.2, 1, 3.5, 1e8, 1e300])[1 + floor(random() * 7)::int] AS p4,
          x, tx, tx + (ARRAY[0, 1, 30, 1e6])[1 + floor(random() * 4)::int] AS big_t
FROM (SELECT i, (ARRAY[0, 1, 2, 40, 1e6])[1 + floor(random() * 5)::int] AS x, (ARRAY[0.5, 1, 30, 365, 1e7])[1 + floor(random() * 5)::int] AS tx
      FROM generate_series(1, 1000) i) z;
UPDATE mp SET tx = 0 WHERE x = 0;
CREATE FUNCTION pg_temp.model_out(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE v float8;
BEGIN
    EXECUTE q INTO v;
    RETURN v;
EXCEPTION WHEN numeric_value_out_of_range OR invalid_parameter_value THEN
    RETURN -12345;
END $$;
CREATE TEMP TABLE mres AS
SELECT i, kind,
       pg_temp.model_out(format('SELECT persona.%s(ROW(%s, %s, %s, %s, 0, 1, 1, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.%s, %s)', fn, p1, p2, p3, p4, model, args)) AS v
FROM mp,
     LATERAL (VALUES ('p_alive', 'bgnbd', 'p_alive', format('%s, %s, %s', x, tx, big_t)),
                     ('expected', 'bgnbd', 'expected_purchases', format('30, %s, %s, %s', x, tx, big_t)),
                     ('p_alive', 'pareto_nbd', 'p_alive', format('%s, %s, %s', x, tx, big_t)),
                     ('expected', 'pareto_nbd', 'expected_purchases', format('30, %s, %s, %s', x, tx, big_t)),
                     ('loglik', 'bgnbd', 'bgnbd_loglik', format('%s, %s, %s', x, tx, big_t))) k(kind, model, fn, args)
WHERE i <= 400 OR model = 'bgnbd';
INSERT INTO checks
SELECT 'model functions on ' || count(*) || ' random rows: never NaN, P(alive) in [0, 1], expectations >= 0 (' ||
       count(*) FILTER (WHERE v = -12345) || ' rejected)',
       count(*) FILTER (WHERE v = -12345) < count(*) AND
       bool_and(v = -12345 OR (v <> 'NaN' AND CASE kind WHEN 'p_alive' THEN v BETWEEN 0 AND 1
                                                     WHEN 'expected' THEN v >= 0 AND v < 'Infinity'
                                                     ELSE v < 'Infinity' END))
FROM mres;
INSERT INTO checks
SELECT 'expected_spend and clv on random Gamma-Gamma rows: never NaN, never negative',
       bool_and(v = -12345 OR (v <> 'NaN' AND v >= 0 AND v < 'Infinity'))
FROM (SELECT pg_temp.model_out(format('SELECT persona.expected_spend(ROW(%s, %s, %s, 0, 1, 1, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, %s, %s)',
                                      p1, p2, p3, x, greatest(tx, 0.01))) AS v FROM mp
      UNION ALL
      SELECT pg_temp.model_out(format('SELECT persona.clv(ROW(%s, %s, %s, %s, 0, 1, 1, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, ROW(%s, %s, %s, 0, 1, 1, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, %s, %s, %s, %s, ''days'', 12, 0.01)',
                                      p1, p2, p3, p4, p2, 2 + p3, p4, x, tx, big_t, greatest(tx, 0.01)))
      FROM mp WHERE i <= 300) q;
RESET statement_timeout;

\set QUIET off
SELECT plan((SELECT count(*)::int FROM checks));
SELECT ok(ok, name) FROM checks ORDER BY name;
SELECT * FROM finish();
ROLLBACK;
