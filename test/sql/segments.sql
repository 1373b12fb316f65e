-- Segment schemes.
-- The standard scheme as a table: R down, FM = round((F + M) / 2) across.
SELECT r, string_agg(persona.rfm_segment(persona.rfm(r, fm, fm)), ' | ' ORDER BY fm) AS "FM = 1 .. 5"
FROM generate_series(1, 5) r, generate_series(1, 5) fm
GROUP BY r ORDER BY r DESC;
-- M counts: F = 5 with M = 1 rounds to FM = 3.
SELECT persona.rfm_segment('551'), persona.rfm_segment('515'), persona.rfm_segment('155');
-- All 125 codes are classified, into all 11 segments.
SELECT count(*) AS codes, count(persona.rfm_segment(persona.rfm(r, f, m))) AS classified,
       count(DISTINCT persona.rfm_segment(persona.rfm(r, f, m))) AS segments
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;
-- Other scales are rescaled to 5 points first.
SELECT persona.rfm_segment('10-10-10/10'), persona.rfm_segment('111/10'), persona.rfm_segment('222/2'),
       persona.rfm_segment('122/2');

-- cn8: high when above the middle of the scale.
SELECT x, persona.rfm_segment(x, 'cn8') AS en
FROM unnest('{222/2,122/2,212/2,112/2,221/2,121/2,211/2,111/2,545,333,443}'::persona.rfm[]) x;
SET persona.language = zh;
SELECT x, persona.rfm_segment(x, 'cn8') AS zh, persona.rfm_segment(x) AS standard_zh
FROM unnest('{222/2,122/2,212/2,112/2,221/2,121/2,211/2,111/2}'::persona.rfm[]) x;
RESET persona.language;
SET persona.language = 'fr';

-- A user scheme: rows of persona.segment_rules, first match by priority wins.
INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, f_min, m_min)
VALUES ('shop', 1, 'VIP', '贵宾', 4, 4, 4),
       ('shop', 2, 'Active', NULL, 4, 1, 1),
       ('shop', 3, 'Big spender', '大客户', 1, 1, 5);
SELECT x, persona.rfm_segment(x, 'shop') AS en
FROM unnest('{555,411,115,111}'::persona.rfm[]) x;
SET persona.language = zh;
SELECT x, persona.rfm_segment(x, 'shop') AS zh
FROM unnest('{555,411,115,111}'::persona.rfm[]) x;
RESET persona.language;
-- Rule changes are seen by the next query.
UPDATE persona.segment_rules SET segment = 'Recent' WHERE scheme = 'shop' AND priority = 2;
SELECT persona.rfm_segment('411', 'shop');
-- Different schemes in one query.
SELECT s, persona.rfm_segment('555', s) FROM unnest('{standard,cn8,shop}'::text[]) s;

-- Bad input.
SELECT persona.rfm_segment('555', 'nope');
SELECT persona.rfm_segment(NULL, 'standard') IS NULL AS null_in_null_out;
INSERT INTO persona.segment_rules (scheme, priority, segment) VALUES ('standard', 1, 'x');
INSERT INTO persona.segment_rules (scheme, priority, segment, r_min, r_max) VALUES ('shop', 9, 'x', 4, 2);
INSERT INTO persona.segment_rules (scheme, priority, segment, m_max) VALUES ('shop', 9, 'x', 11);
INSERT INTO persona.segment_rules (scheme, priority, segment) VALUES ('shop', 1, 'dup');
DELETE FROM persona.segment_rules;
