-- Seed 003 asks for five to eight segments of at least 5% of the customers
-- each.  A refresh says when a profile's segments are otherwise
-- (persona.profile_segment_advice, its NOTICE): which to merge, each with
-- its nearest kept segment, or which to split.
BEGIN;
SET client_min_messages = warning;
SET persona.progress = off;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(9);
SELECT setseed(0.5);
CREATE TABLE o (id serial, cust int, at timestamptz, amount numeric);
INSERT INTO o (cust, at, amount)
SELECT 1 + floor(random() * 500)::int, timestamptz '2024-01-01 00:00+00' + random() * interval '360 days', round((5 + random() * random() * 500)::numeric, 2)
FROM generate_series(1, 4000);
CREATE FUNCTION pg_temp.make(name text, sch text) RETURNS text LANGUAGE sql AS $$
    SELECT count(*) FROM persona.create_profile(name, 'o', customer_col => 'cust', time_col => 'at', as_of => '2024-12-31',
                                                time_zone => 'UTC', parts => '{segments}', scheme => sch);
    SELECT persona.profile_segment_advice(p) FROM persona.profiles p WHERE p.name = make.name;
$$;

-- the named merges of an advice: (segment, share, neighbour)
CREATE FUNCTION pg_temp.merges(advice text) RETURNS TABLE (segment text, share numeric, neighbour text) LANGUAGE sql AS $$
    SELECT m[1], m[2]::numeric, m[3] FROM regexp_matches(substring(advice FROM 'merge (.*)$'), '\s*([^,(]+) \(([0-9.]+)%\) with ([^,]+)', 'g') m
$$;

-- the standard scheme: 11 segments
SELECT matches(pg_temp.make('std', 'standard'), '^persona profile std: 11 segments; seed 003 suggests 5 to 8, each at least 5% of customers: merge ',
               'eleven segments: too many');
SELECT set_eq($$SELECT segment FROM persona.profiles p, pg_temp.merges(split_part(persona.profile_segment_advice(p), E'\n', 1)) WHERE p.name = 'std'$$,
              $$SELECT segment FROM (SELECT *, row_number() OVER (ORDER BY customers DESC, segment) AS k FROM std_segments) s
                WHERE below_5_percent OR k > 8$$,
              'it names every segment under 5% and the smallest beyond eight');
SELECT is_empty($$SELECT 1 FROM persona.profiles p, pg_temp.merges(split_part(persona.profile_segment_advice(p), E'\n', 1)) m
                  WHERE p.name = 'std' AND (m.neighbour NOT IN (SELECT segment FROM std_segments)
                                            OR m.neighbour IN (SELECT x.segment FROM pg_temp.merges(split_part(persona.profile_segment_advice(p), E'\n', 1)) x))$$,
                'each with a segment of the profile that is kept');
SELECT matches(persona.profile_segment_advice(p), E'\nHINT:  define the merged scheme in persona.segment_rules, or use scheme => ''cn8''\\.$', 'the hint offers cn8')
FROM persona.profiles p WHERE p.name = 'std';

-- cn8: eight segments, some small here; the hint does not offer cn8 again
SELECT matches(pg_temp.make('cn', 'cn8'), E'^persona profile cn: 8 segments; .*\nHINT:  define the merged scheme in persona.segment_rules\\.$',
               'cn8 with small segments: merge them, without offering cn8');

-- too few
INSERT INTO persona.segment_rules (scheme, priority, segment, r_min, f_min, m_min) VALUES ('two', 1, 'Top', 4, 1, 1), ('two', 2, 'Other', 1, 1, 1);
SELECT pg_temp.make('two', 'two') \g /dev/null
SELECT is(persona.profile_segment_advice(p),
          format(E'persona profile two: only 2 segments; seed 003 suggests 5 to 8: split the largest, Other (%s%%)\nHINT:  define a finer scheme in persona.segment_rules, or use scheme => ''cn8''.',
                 (SELECT round(customer_share::numeric * 100, 1) FROM two_segments WHERE segment = 'Other')),
          'two segments: split the largest')
FROM persona.profiles p WHERE p.name = 'two';

-- five segments of about a fifth each: nothing to say
INSERT INTO persona.segment_rules (scheme, priority, segment, r_min, r_max) SELECT 'r5', k, 'R' || k, k, k FROM generate_series(1, 5) k;
SELECT is(pg_temp.make('r5', 'r5'), NULL, 'five segments of at least 5%: no advice');
SELECT is((SELECT count(*)::int FROM r5_segments WHERE NOT below_5_percent), 5, '(five segments, none under 5%)');

-- no customers: nothing to say
TRUNCATE o;
SELECT persona.refresh_profile('std') \g /dev/null
SELECT is(persona.profile_segment_advice(p), NULL, 'a profile without customers: no advice') FROM persona.profiles p WHERE p.name = 'std';

SELECT * FROM finish();
ROLLBACK;
