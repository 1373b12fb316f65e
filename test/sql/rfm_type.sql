-- The rfm type: literals, accessors, ordering, grouping, binary I/O.
SELECT '545'::persona.rfm, ' 111 '::persona.rfm, '212/3'::persona.rfm, '10-3-5/10'::persona.rfm,
       '9-9-9/10'::persona.rfm AS dashed_input_compact_output, '5-4-5'::persona.rfm;
SELECT persona.r(x), persona.f(x), persona.m(x), persona.bins(x), persona.score(x)
FROM (VALUES ('545'::persona.rfm), ('10-1-7/10'), ('122/2')) v(x);
SELECT persona.rfm(5, 4, 3), persona.rfm(10, 10, 1, 10), persona.rfm(1, 2, 2, 2);
-- Operators live in schema persona: put it on the search_path to use them unqualified.
SET search_path = public, persona;
-- Text round trip for every value on every scale.
SELECT count(*) AS values, count(*) FILTER (WHERE x::text::persona.rfm = x) AS round_trips
FROM (SELECT persona.rfm(r, f, m, b) AS x
      FROM generate_series(2, 10) b, generate_series(1, 10) r, generate_series(1, 10) f,
           generate_series(1, 10) m
      WHERE r <= b AND f <= b AND m <= b) s;
-- Ordering is by r, then f, then m; grouping and DISTINCT work (btree and hash).
SELECT x FROM unnest('{545,155,511,554,155,111}'::persona.rfm[]) x ORDER BY x;
SELECT x, count(*) FROM unnest('{545,155,545,111}'::persona.rfm[]) x GROUP BY x ORDER BY x;
SET enable_sort = off;
SELECT count(DISTINCT x) FROM unnest('{545,155,545,111}'::persona.rfm[]) x;
RESET enable_sort;
SELECT '545'::persona.rfm < '551', '545'::persona.rfm = '545', '545'::persona.rfm <> '545',
       '545'::persona.rfm >= '545', '111'::persona.rfm > '511';
-- Binary send/recv round trip.
CREATE TEMP TABLE rt (x persona.rfm);
INSERT INTO rt VALUES ('545'), ('10-1-7/10'), ('212/3');
\copy rt TO 'results/persona_rfm.bin' WITH (FORMAT binary)
CREATE TEMP TABLE rt2 (x persona.rfm);
\copy rt2 FROM 'results/persona_rfm.bin' WITH (FORMAT binary)
SELECT x FROM rt2 ORDER BY x;
-- Malformed literals.
SELECT ''::persona.rfm;
SELECT '54'::persona.rfm;
SELECT '5455'::persona.rfm;
SELECT '605'::persona.rfm;
SELECT '045'::persona.rfm;
SELECT '5-4'::persona.rfm;
SELECT '5-4-5/1'::persona.rfm;
SELECT '545/11'::persona.rfm;
SELECT '545/4'::persona.rfm;
SELECT '11-1-1/10'::persona.rfm;
SELECT '5 4 5'::persona.rfm;
SELECT 'abc'::persona.rfm;
SELECT persona.rfm(6, 1, 1);
SELECT persona.rfm(1, 1, 1, 11);
