-- Per-customer states for incremental refresh: a profile keeps each
-- customer's state as bytea and merges the state of new orders into it.
-- Invariant: order_stats_of(order_stats_merge(states of any split), d) =
-- order_stats(all orders, as of day d in the zone, zone); the same for habits.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SET TimeZone = 'UTC';

-- 40 customers, each in one of three zones; orders arrive in four batches
-- unrelated to their times (late orders land between earlier days), with
-- same-day orders, refunds, NULL amounts, amounts with more than four
-- decimals and huge amounts (both kept exactly in side sums), and one
-- customer with dates only.
SELECT setseed(0.25);
CREATE TABLE so AS
SELECT c AS customer_id,
       (ARRAY['Asia/Shanghai', 'America/New_York', 'Europe/London'])[1 + c % 3] AS zone,
       CASE WHEN c = 7 THEN ('2025-01-01'::date + (random() * 200)::int)::timestamp AT TIME ZONE 'America/New_York'
            ELSE '2025-01-01 00:00+00'::timestamptz + random() * interval '200 days' END AS ordered_at,
       CASE WHEN r < 0.10 THEN NULL
            WHEN r < 0.20 THEN -round((random() * 30)::numeric, 2)
            WHEN r < 0.25 THEN round((random() * 10)::numeric, 7)
            WHEN r < 0.27 THEN 1e15 + round((random() * 1000)::numeric, 2)
            ELSE round((random() * 200)::numeric, 2) END AS amount,
       1 + floor(random() * 4)::int AS batch,
       row_number() OVER () AS id
FROM (SELECT c, random() AS r FROM generate_series(1, 40) c, generate_series(1, 1 + c % 17 * 3) k) g;
-- same-day duplicates
INSERT INTO so SELECT customer_id, zone, ordered_at + interval '1 minute', amount, 5 - batch, id + 10000 FROM so WHERE id % 9 = 0;
SELECT count(*) AS orders, count(DISTINCT customer_id) AS customers, count(*) FILTER (WHERE amount < 0) AS refunds,
       count(*) FILTER (WHERE amount IS NULL) AS null_amounts, count(*) FILTER (WHERE scale(amount) > 4) AS fine_amounts,
       count(*) FILTER (WHERE amount > 1e14) AS huge_amounts, count(DISTINCT batch) AS batches
FROM so;

-- The reference: order_stats over all orders, as of the end of 2025-12-31 in each customer's zone.
CREATE TABLE reference AS
SELECT customer_id, zone,
       persona.order_stats(ordered_at, amount, '2026-01-01'::timestamp AT TIME ZONE zone - interval '1 microsecond', zone) AS s,
       persona.habits(ordered_at, zone) AS h
FROM so GROUP BY customer_id, zone;

-- One state per batch, merged.
CREATE TABLE batch_states AS
SELECT customer_id, batch, persona.order_stats_state(ordered_at, amount, zone) AS os, persona.habits_state(ordered_at, zone) AS hs
FROM so GROUP BY customer_id, batch;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE persona.order_stats_of(m.os, '2025-12-31')::text = r.s::text) AS same_stats,
       count(*) FILTER (WHERE persona.habits_of(m.hs)::text = r.h::text) AS same_habits
FROM (SELECT customer_id, persona.order_stats_merge(os) AS os, persona.habits_merge(hs) AS hs
      FROM batch_states GROUP BY customer_id) m JOIN reference r USING (customer_id);
-- Merged in the opposite order, and merges of merges.
SELECT count(*) FILTER (WHERE persona.order_stats_of(m.os, '2025-12-31')::text = r.s::text) AS same_stats_reversed,
       count(*) FILTER (WHERE persona.habits_of(m.hs)::text = r.h::text) AS same_habits_reversed
FROM (SELECT customer_id, persona.order_stats_merge(os ORDER BY batch DESC) AS os, persona.habits_merge(hs ORDER BY batch DESC) AS hs
      FROM batch_states GROUP BY customer_id) m JOIN reference r USING (customer_id);
SELECT count(*) FILTER (WHERE persona.order_stats_of(m.os, '2025-12-31')::text = r.s::text) AS same_stats_nested,
       count(*) FILTER (WHERE persona.habits_of(m.hs)::text = r.h::text) AS same_habits_nested
FROM (SELECT customer_id, persona.order_stats_merge(os) AS os, persona.habits_merge(hs) AS hs
      FROM (SELECT customer_id, persona.order_stats_merge(os) AS os, persona.habits_merge(hs) AS hs
            FROM batch_states GROUP BY customer_id, batch % 2) half
      GROUP BY customer_id) m JOIN reference r USING (customer_id);
-- Every order its own state.
SELECT count(*) FILTER (WHERE persona.order_stats_of(m.os, '2025-12-31')::text = r.s::text) AS same_stats_singletons,
       count(*) FILTER (WHERE persona.habits_of(m.hs)::text = r.h::text) AS same_habits_singletons
FROM (SELECT customer_id, persona.order_stats_merge(os) AS os, persona.habits_merge(hs) AS hs
      FROM (SELECT customer_id, id, persona.order_stats_state(ordered_at, amount, zone) AS os, persona.habits_state(ordered_at, zone) AS hs
            FROM so GROUP BY customer_id, id) one
      GROUP BY customer_id) m JOIN reference r USING (customer_id);
-- The two-state forms (an incremental refresh merges row by row) give the
-- aggregate's bytes; a NULL side is skipped.
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE persona.order_stats_merge(a.os, b.os) = (SELECT persona.order_stats_merge(x) FROM (VALUES (a.os), (b.os)) v(x))) AS same_stats_pair,
       count(*) FILTER (WHERE persona.habits_merge(a.hs, b.hs) IS NOT DISTINCT FROM (SELECT persona.habits_merge(x) FROM (VALUES (a.hs), (b.hs)) v(x))) AS same_habits_pair
FROM batch_states a JOIN batch_states b ON b.customer_id = a.customer_id AND b.batch = a.batch + 1;
SELECT persona.order_stats_merge(NULL::bytea, NULL) IS NULL AS both_null, persona.habits_merge(NULL::bytea, NULL) IS NULL AS both_null_habits,
       bool_and(persona.order_stats_merge(os, NULL) = os AND persona.order_stats_merge(NULL, os) = os) AS null_side_skipped,
       bool_and(persona.habits_merge(hs, NULL) IS NOT DISTINCT FROM hs AND persona.habits_merge(NULL, hs) IS NOT DISTINCT FROM hs) AS null_side_skipped_habits
FROM batch_states;

-- Incremental refresh: the stored state absorbs one batch at a time; after
-- each batch it equals order_stats over the orders so far, as of the end of
-- 2025 and as of the customer's last local day so far.
CREATE TABLE profile (customer_id bigint PRIMARY KEY, zone text, os bytea, hs bytea);
INSERT INTO profile SELECT DISTINCT customer_id, zone, NULL::bytea, NULL::bytea FROM so;
CREATE TABLE refresh_check (batch int, customers int, same_stats int, same_at_last_day int, same_habits int);
CREATE FUNCTION pg_temp.refresh(b int) RETURNS void LANGUAGE sql AS $$
  UPDATE profile p
  SET os = (SELECT persona.order_stats_merge(x) FROM (VALUES (p.os), (n.os)) v(x)),
      hs = (SELECT persona.habits_merge(x) FROM (VALUES (p.hs), (n.hs)) v(x))
  FROM (SELECT customer_id, persona.order_stats_state(ordered_at, amount, zone) AS os, persona.habits_state(ordered_at, zone) AS hs
        FROM so WHERE batch = b GROUP BY customer_id) n
  WHERE n.customer_id = p.customer_id;
  INSERT INTO refresh_check
  SELECT b, count(*),
         count(*) FILTER (WHERE persona.order_stats_of(p.os, '2025-12-31')::text = r.s::text),
         count(*) FILTER (WHERE persona.order_stats_of(p.os, r.last_day)::text = r.s_last::text),
         count(*) FILTER (WHERE persona.habits_of(p.hs)::text = r.h::text)
  FROM profile p
  JOIN (SELECT customer_id, last_day,
               persona.order_stats(ordered_at, amount, '2026-01-01'::timestamp AT TIME ZONE zone - interval '1 microsecond', zone) AS s,
               persona.order_stats(ordered_at, amount, (last_day + 1)::timestamp AT TIME ZONE zone - interval '1 microsecond', zone) AS s_last,
               persona.habits(ordered_at, zone) AS h
        FROM (SELECT *, max((ordered_at AT TIME ZONE zone)::date) OVER (PARTITION BY customer_id) AS last_day
              FROM so WHERE batch <= b) o
        GROUP BY customer_id, zone, last_day) r USING (customer_id)
$$;
SELECT pg_temp.refresh(b) FROM generate_series(1, 4) b;
SELECT * FROM refresh_check ORDER BY batch;
-- States are made in parallel too (combine, serialise, deserialise).
CREATE TABLE big AS
SELECT i % 300 AS customer_id, '2024-01-01 00:00+00'::timestamptz + ((i * 7919) % 500) * interval '1 day' + (i % 24) * interval '1 hour' AS ordered_at,
       CASE WHEN i % 97 = 0 THEN -(i % 50)::numeric WHEN i % 89 = 0 THEN NULL ELSE ((i * 31) % 100000) / 100.0 END AS amount
FROM generate_series(1, 60000) i;
ANALYZE big;
CREATE TABLE big_serial AS
SELECT persona.order_stats_of(persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai'), '2025-12-31')::text AS s,
       persona.habits_of(persona.habits_state(ordered_at, 'Asia/Shanghai'))::text AS h
FROM big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai'), persona.habits_state(ordered_at, 'Asia/Shanghai') FROM big;
SELECT persona.order_stats_of(persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai'), '2025-12-31')::text = (SELECT s FROM big_serial) AS stats_same,
       persona.habits_of(persona.habits_state(ordered_at, 'Asia/Shanghai'))::text = (SELECT h FROM big_serial) AS habits_same,
       persona.order_stats_of(persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai'), '2025-12-31')::text
         = persona.order_stats(ordered_at, amount, '2025-12-31 12:00+08', 'Asia/Shanghai')::text AS same_as_order_stats
FROM big;
CREATE TABLE big_states AS SELECT customer_id % 4 AS part, persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai') AS os FROM big GROUP BY 1;
SELECT persona.order_stats_of(persona.order_stats_merge(os), '2025-12-31')::text = (SELECT s FROM big_serial) AS merged_in_parallel_same
FROM big_states;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- NULLs: NULL times are skipped (as in order_stats), NULL states are
-- skipped by the merges; no rows or only NULL states give NULL; the _of
-- functions are STRICT.
SELECT persona.order_stats_of(persona.order_stats_state(t, 5, 'UTC'), '2025-01-31') AS only_null_time,
       persona.habits_of(persona.habits_state(t, 'UTC')) AS only_null_time_habits
FROM (VALUES (NULL::timestamptz)) v(t);
SELECT persona.order_stats_state(t, 5, 'UTC') IS NULL AS no_rows, persona.habits_state(t, 'UTC') IS NULL AS no_rows_habits
FROM (VALUES ('2025-01-01'::timestamptz)) v(t) WHERE false;
SELECT persona.order_stats_merge(s) IS NULL AS all_null, persona.habits_merge(s) IS NULL AS all_null_habits
FROM (VALUES (NULL::bytea), (NULL)) v(s);
SELECT persona.order_stats_of(persona.order_stats_merge(s), '2025-01-31')::text
         = persona.order_stats_of((SELECT persona.order_stats_state('2025-01-05 10:00+00', 10, 'UTC')), '2025-01-31')::text AS nulls_skipped,
       persona.habits_of(persona.habits_merge(h))::text = persona.habits_of((SELECT persona.habits_state('2025-01-05 10:00+00', 'UTC')))::text AS nulls_skipped_habits
FROM (VALUES (NULL::bytea, NULL::bytea),
             ((SELECT persona.order_stats_state('2025-01-05 10:00+00', 10, 'UTC')), (SELECT persona.habits_state('2025-01-05 10:00+00', 'UTC'))),
             (NULL, NULL)) v(s, h);
SELECT persona.order_stats_of(NULL, '2025-01-01') IS NULL AS null_state, persona.order_stats_of(persona.order_stats_state(now(), 1, 'UTC'), NULL) IS NULL AS null_as_of,
       persona.habits_of(NULL) IS NULL AS null_habits_state;
SELECT pg_temp.err($$SELECT persona.order_stats_state(now(), 1, NULL)$$) AS null_zone;
SELECT pg_temp.err($$SELECT persona.habits_state(now(), NULL)$$) AS null_zone_habits;
SELECT pg_temp.err($$SELECT persona.order_stats_state('infinity', 1, 'UTC')$$) AS infinite_time;
SELECT pg_temp.err($$SELECT persona.order_stats_state(now(), 'NaN', 'UTC')$$) AS nan_amount;
SELECT pg_temp.err($$SELECT persona.order_stats_state(now(), 1, 'CST')$$) AS abbreviation;

-- order_stats_of counts to a local date; a state with orders (or refunds)
-- after that date cannot say what order_stats would have ignored.
\set VERBOSITY default
SELECT persona.order_stats_of(persona.order_stats_state(t, a, 'Asia/Shanghai'), '2025-03-01')
FROM (VALUES ('2025-03-01 10:00+08'::timestamptz, 10), ('2025-03-02 01:00+08', -3)) v(t, a);
SELECT (persona.order_stats_of(persona.order_stats_state(t, a, 'Asia/Shanghai'), '2025-03-02')).*
FROM (VALUES ('2025-03-01 10:00+08'::timestamptz, 10), ('2025-03-02 01:00+08', -3)) v(t, a);
SELECT pg_temp.err($$SELECT persona.order_stats_of(persona.order_stats_state(now(), 1, 'UTC'), 'infinity')$$) AS infinite_as_of;
-- States of different zones do not merge.
SELECT pg_temp.err($$SELECT persona.order_stats_merge(s) FROM (SELECT persona.order_stats_state(now(), 1, z) FROM unnest('{UTC,Asia/Shanghai}'::text[]) z GROUP BY z) v(s)$$) AS mixed_zones;
SELECT pg_temp.err($$SELECT persona.habits_merge(s) FROM (SELECT persona.habits_state(now(), z) FROM unnest('{UTC,Asia/Shanghai}'::text[]) z GROUP BY z) v(s)$$) AS mixed_zones_habits;
SELECT pg_temp.err($$SELECT persona.order_stats_state(now(), 1, z) FROM (VALUES ('UTC'), ('Europe/London')) v(z)$$) AS mixed_rows;
SELECT pg_temp.err($$SELECT persona.order_stats_merge(persona.order_stats_state(now(), 1, 'UTC'), persona.order_stats_state(now(), 1, 'Asia/Shanghai'))$$) AS mixed_zones_pair,
       pg_temp.err($$SELECT persona.habits_merge(persona.habits_state(now(), 'UTC'), persona.habits_state(now(), 'Asia/Shanghai'))$$) AS mixed_zones_habits_pair;

-- Crafted and garbage bytea: 22P03, never a crash or a silent answer.
-- The layout of a state of one order of 10.5 on 2025-01-01 (day 9132 = 0x23ac) in UTC:
SELECT persona.order_stats_state('2025-01-01 10:00+00', 10.5, 'UTC') AS state \gset
SELECT :'state'::bytea AS state;
-- the same in the dense form earlier builds wrote (flags 0, fixed-width fields)
\set dense_state '\\x6f010055544300000023ac00000000000000010002cda0e098e8000002cda0e098e8000000000000019a280000000000019a28000023ac000100000000000000000000000000000000000000000000000000000000000001000023ac'
SELECT persona.habits_state('2025-01-01 10:00+00', 'UTC') AS hstate \gset
SELECT :'hstate'::bytea AS hstate;
-- the same in the dense form earlier builds wrote (flags 0, the 32 counts in full)
\set dense_hstate '\\x680100555443000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'
-- (the defect reports below name what is wrong: SQLSTATE, then the detail)
CREATE FUNCTION pg_temp.detail(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  d text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ': ' || d;
END $$;
CREATE FUNCTION pg_temp.set_bytes(b bytea, pos int, hex text) RETURNS bytea LANGUAGE sql
RETURN overlay(b PLACING decode(hex, 'hex') FROM pos + 1 FOR length(decode(hex, 'hex')));
CREATE FUNCTION pg_temp.of(b bytea) RETURNS text LANGUAGE sql
RETURN pg_temp.err(format('SELECT persona.order_stats_of(%L::bytea, %L)', b, '2025-12-31'));
CREATE FUNCTION pg_temp.hof(b bytea) RETURNS text LANGUAGE sql
RETURN pg_temp.err(format('SELECT persona.habits_of(%L::bytea)', b));
CREATE FUNCTION pg_temp.merge(b bytea) RETURNS text LANGUAGE sql
RETURN pg_temp.err(format('SELECT persona.order_stats_merge(s) FROM (VALUES (%L::bytea)) v(s)', b));
SELECT pg_temp.of(:'state') AS valid, pg_temp.hof(:'hstate') AS valid_habits;
SELECT pg_temp.of('') AS empty, pg_temp.of('\x00') AS one_byte, pg_temp.hof('\xdeadbeef') AS garbage,
       pg_temp.merge('\x6f0100') AS header_only;
-- the two-state forms check each side, also a lone one
SELECT pg_temp.err(format('SELECT persona.order_stats_merge(%L::bytea, NULL)', '\x6f0100')) AS header_only_pair,
       pg_temp.err(format('SELECT persona.order_stats_merge(%L::bytea, %L::bytea)', :'state', '\x00')) AS one_byte_pair,
       pg_temp.err(format('SELECT persona.habits_merge(NULL, %L::bytea)', '\xdeadbeef')) AS garbage_habits_pair;
-- Every truncation of a valid state is an error; so is a trailing byte.
SELECT count(*) AS prefixes, count(*) FILTER (WHERE pg_temp.of(substr(:'state'::bytea, 1, n)) LIKE '22P03:%') AS rejected
FROM generate_series(0, length(:'state'::bytea) - 1) n;
SELECT count(*) AS dense_prefixes, count(*) FILTER (WHERE pg_temp.of(substr(:'dense_state'::bytea, 1, n)) LIKE '22P03:%') AS rejected
FROM generate_series(0, length(:'dense_state'::bytea) - 1) n;
SELECT count(*) AS habits_prefixes, count(*) FILTER (WHERE pg_temp.hof(substr(:'hstate'::bytea, 1, n)) LIKE '22P03:%') AS rejected
FROM generate_series(0, length(:'hstate'::bytea) - 1) n;
SELECT pg_temp.of(:'state'::bytea || '\x00') AS trailing, pg_temp.hof(:'hstate'::bytea || '\x00') AS trailing_habits;
-- Every single-byte change is rejected or is another valid state (some
-- with a later last day, which order_stats_of then refuses; in the habits
-- state a mask bit moved to another weekday or hour moves the order there);
-- none crashes.
SELECT CASE WHEN o LIKE '22P03:%' THEN '22P03 (invalid state)' ELSE o END AS outcome, count(*) AS variants
FROM (SELECT pg_temp.of(set_byte(:'state'::bytea, n, v)) AS o
      FROM generate_series(0, length(:'state'::bytea) - 1) n, unnest('{0,1,127,128,255}'::int[]) v
      WHERE get_byte(:'state'::bytea, n) <> v) x
GROUP BY 1 ORDER BY 1;
SELECT CASE WHEN o LIKE '22P03:%' THEN '22P03 (invalid state)' ELSE o END AS outcome, count(*) AS variants
FROM (SELECT pg_temp.hof(set_byte(:'hstate'::bytea, n, v)) AS o
      FROM generate_series(0, length(:'hstate'::bytea) - 1) n, unnest('{0,1,127,128,255}'::int[]) v
      WHERE get_byte(:'hstate'::bytea, n) <> v) x
GROUP BY 1 ORDER BY 1;
-- Named defects, in the dense form (read with the same checks as the compact
-- one; offsets: kind 0, version 1, flags 2,
-- zone 3..6, last_day 7, orders 11, first_at 19, last_at 27, spent 35,
-- first-day spend 43, first day 51, dscale 55, NULL amounts 57, refunds 65,
-- refunded 73, three side sums 81..83, purchase days 84, days 88).
CREATE FUNCTION pg_temp.dof(b bytea) RETURNS text LANGUAGE sql
RETURN pg_temp.detail(format('SELECT persona.order_stats_of(%L::bytea, %L)', b, '2025-12-31'));
CREATE FUNCTION pg_temp.dhof(b bytea) RETURNS text LANGUAGE sql
RETURN pg_temp.detail(format('SELECT persona.habits_of(%L::bytea)', b));
SELECT 'kind' AS defect, pg_temp.dof(pg_temp.set_bytes(:'dense_state', 0, '68')) AS result
UNION ALL SELECT 'habits state', pg_temp.dof(:'hstate')
UNION ALL SELECT 'order_stats state to habits_of', pg_temp.dhof(:'state')
UNION ALL SELECT 'version', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 1, '02'))
UNION ALL SELECT 'flags (as_of)', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 2, '01'))
UNION ALL SELECT 'zone not canonical', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 3, '757463'))
UNION ALL SELECT 'zone unknown', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 3, '585858'))
UNION ALL SELECT 'zone EST (a zone file, fixed UTC-5: accepted)', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 3, '455354'))
UNION ALL SELECT 'zone unterminated', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 6, '41'))
UNION ALL SELECT 'last day before last order', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 7, '00002000'))
UNION ALL SELECT 'last day implausible', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 7, '7fffff00'))
UNION ALL SELECT 'no last day', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 7, '80000000'))
UNION ALL SELECT 'negative orders', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 11, 'ffffffffffffffff'))
UNION ALL SELECT 'orders without days', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 84, '00000000'))
UNION ALL SELECT 'more days than orders', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 84, '00000002') || '\x000023ac'::bytea)
UNION ALL SELECT 'days not sorted', pg_temp.dof(pg_temp.set_bytes(pg_temp.set_bytes(:'dense_state', 11, '0000000000000002'), 84, '00000002') || '\x000023aa'::bytea)
UNION ALL SELECT 'days repeated', pg_temp.dof(pg_temp.set_bytes(pg_temp.set_bytes(:'dense_state', 11, '0000000000000002'), 84, '00000002') || '\x000023ac'::bytea)
UNION ALL SELECT 'first day not first', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 51, '000023aa'))
UNION ALL SELECT 'first order off its day', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 19, '0000000000000000'))
UNION ALL SELECT 'first after last', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 27, '0000000000000000'))
UNION ALL SELECT 'infinite first order', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 19, '8000000000000000'))
UNION ALL SELECT 'negative spend', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 35, 'fffffffffffffc18'))
UNION ALL SELECT 'first-day spend above spend', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 43, '00000000001e8480'))
UNION ALL SELECT 'dscale out of range', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 55, '0009'))
UNION ALL SELECT 'sum finer than dscale', pg_temp.dof(pg_temp.set_bytes(pg_temp.set_bytes(:'dense_state', 35, '0000000000019a29'), 43, '0000000000019a29'))
UNION ALL SELECT 'NULL amounts above orders', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 57, '0000000000000005'))
UNION ALL SELECT 'refunds without amount', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 65, '0000000000000001'))
UNION ALL SELECT 'positive refunded', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 73, '00000000000003e8'))
UNION ALL SELECT 'side sum marker', pg_temp.dof(pg_temp.set_bytes(:'dense_state', 81, '07'))
UNION ALL SELECT 'side sum NaN', pg_temp.dof(overlay(:'dense_state'::bytea PLACING '\x014e614e00'::bytea FROM 82 FOR 1))
UNION ALL SELECT 'side sum not a number', pg_temp.dof(overlay(:'dense_state'::bytea PLACING '\x01312e00'::bytea FROM 82 FOR 1))
UNION ALL SELECT 'side sum negative spend', pg_temp.dof(overlay(:'dense_state'::bytea PLACING '\x012d353000'::bytea FROM 82 FOR 1))
UNION ALL SELECT 'side sum valid', pg_temp.dof(overlay(:'dense_state'::bytea PLACING '\x013500'::bytea FROM 82 FOR 1))
-- habits (offsets: mask 7..10, the Wednesday count 11, the hour-10 count 12, midnight 13)
UNION ALL SELECT 'habits mask beyond 31 bits', pg_temp.dhof(pg_temp.set_bytes(:'hstate', 7, '80'))
UNION ALL SELECT 'habits count beyond int32', pg_temp.dhof(overlay(:'hstate'::bytea PLACING '\xffffffff0f'::bytea FROM 12 FOR 1))
UNION ALL SELECT 'habits count beyond 32 bits', pg_temp.dhof(overlay(:'hstate'::bytea PLACING '\xffffffff1f'::bytea FROM 12 FOR 1))
UNION ALL SELECT 'habits count not in its shortest form', pg_temp.dhof(overlay(:'hstate'::bytea PLACING '\x8100'::bytea FROM 12 FOR 1))
UNION ALL SELECT 'habits count zero', pg_temp.dhof(pg_temp.set_bytes(:'hstate', 11, '00'))
UNION ALL SELECT 'habits weekday and hour disagree', pg_temp.dhof(pg_temp.set_bytes(:'hstate', 11, '05'))
UNION ALL SELECT 'habits midnight above hour 0', pg_temp.dhof(pg_temp.set_bytes(:'hstate', 13, '01'))
UNION ALL SELECT 'habits flags', pg_temp.dhof(pg_temp.set_bytes(:'hstate', 2, '02'))
UNION ALL SELECT 'habits dense (earlier builds) negative', pg_temp.dhof(pg_temp.set_bytes(:'dense_hstate', 7, 'ffffffff'));
-- Defects of the compact form (offsets: flags 2, orders 11, first order
-- 12..19, span to the last 20, spend 21..23, first-day spend 24..26, dscale
-- 27, three counts 28..30, side sums 31..33, purchase days 34, the first
-- day 35..37; a second order two days later adds a step of 2 at the end).
SELECT persona.order_stats_state(t, 10.5, 'UTC') AS state2
FROM (VALUES ('2025-01-01 10:00+00'::timestamptz), ('2025-01-03 09:00+00')) v(t) \gset
SELECT 'compact: a number not in its shortest form' AS defect, pg_temp.dof(overlay(:'state'::bytea PLACING '\x8100'::bytea FROM 12 FOR 1)) AS result
UNION ALL SELECT 'compact: a number beyond 64 bits', pg_temp.dof(overlay(:'state'::bytea PLACING '\xffffffffffffffffff02'::bytea FROM 12 FOR 1))
UNION ALL SELECT 'compact: orders beyond int64', pg_temp.dof(overlay(:'state'::bytea PLACING '\xffffffffffffffffff01'::bytea FROM 12 FOR 1))
UNION ALL SELECT 'compact: last order beyond any timestamp', pg_temp.dof(overlay(:'state'::bytea PLACING '\xffffffffffffffff7f'::bytea FROM 21 FOR 1))
UNION ALL SELECT 'compact: dscale out of range', pg_temp.dof(pg_temp.set_bytes(:'state', 27, '09'))
UNION ALL SELECT 'compact: spend finer than dscale', pg_temp.dof(pg_temp.set_bytes(pg_temp.set_bytes(:'state', 21, 'a9'), 24, 'a9'))
UNION ALL SELECT 'compact: first day beyond int32', pg_temp.dof(overlay(:'state'::bytea PLACING '\x8080808040'::bytea FROM 36 FOR 3))
UNION ALL SELECT 'compact: two days, the second a step of 0', pg_temp.dof(pg_temp.set_bytes(:'state2', length(:'state2'::bytea) - 1, '00'))
UNION ALL SELECT 'compact: two days, a step beyond int32 days', pg_temp.dof(overlay(:'state2'::bytea PLACING '\xffffffff07'::bytea FROM length(:'state2'::bytea) FOR 1))
UNION ALL SELECT 'compact: two days, valid', pg_temp.dof(:'state2')
UNION ALL SELECT 'compact: flags with as_of', pg_temp.dof(pg_temp.set_bytes(:'state', 2, '03'))
UNION ALL SELECT 'compact: flags unknown', pg_temp.dof(pg_temp.set_bytes(:'state', 2, '06'));
-- A dense state reads as the compact one of the same orders, and merges into it.
SELECT persona.order_stats_of(:'dense_state', '2025-12-31')::text = persona.order_stats_of(:'state', '2025-12-31')::text AS dense_stats_read_the_same,
       persona.order_stats_merge(:'dense_state'::bytea, NULL) = :'state'::bytea AS dense_stats_merged_into_compact;
-- A dense state reads as the compact one of the same orders, and merges into it.
SELECT persona.habits_of(:'dense_hstate')::text
       = persona.habits_of(:'hstate')::text AS dense_reads_the_same,
       persona.habits_merge(:'dense_hstate'::bytea, NULL)
       = :'hstate'::bytea AS merged_into_compact;
-- A crafted count that is valid alone but overflows when merged.
SELECT pg_temp.of(pg_temp.set_bytes(:'dense_state', 11, '4000000000000000')) AS huge_count_alone,
       pg_temp.err(format('SELECT persona.order_stats_merge(s) FROM (VALUES (%L::bytea), (%L::bytea)) v(s)',
                          pg_temp.set_bytes(:'dense_state', 11, '4000000000000000'), pg_temp.set_bytes(:'dense_state', 11, '4000000000000000'))) AS huge_counts_merged;
\set VERBOSITY default
SELECT persona.order_stats_of(pg_temp.set_bytes(:'dense_state', 84, '00000000'), '2025-12-31');
SELECT persona.habits_merge(s) FROM (VALUES (:'state'::bytea)) v(s);

DROP TABLE so, reference, batch_states, profile, refresh_check, big, big_serial, big_states;
