-- The AARRR funnel.
SELECT v, s, o, m, r, persona.funnel_stage(v, s, o, m, r) AS stage
FROM (VALUES (0, false, 0, false, 0), (3, false, 0, false, 0), (3, true, 0, true, 2),
             (3, true, 1, false, 0), (3, true, 2, true, 0), (3, true, 2, true, 1),
             (NULL, NULL, NULL, NULL, NULL), (0, false, 1, false, 0)) x(v, s, o, m, r);
CREATE TABLE people (stage persona.funnel);
INSERT INTO people SELECT 'stranger' FROM generate_series(1, 10);
INSERT INTO people SELECT 'visitor' FROM generate_series(1, 40);
INSERT INTO people SELECT 'lead' FROM generate_series(1, 20);
INSERT INTO people SELECT 'customer' FROM generate_series(1, 15);
INSERT INTO people SELECT 'member' FROM generate_series(1, 10);
INSERT INTO people SELECT 'advocate' FROM generate_series(1, 5);
INSERT INTO people VALUES (NULL);
SELECT persona.funnel_counts(stage) FROM people;
SELECT stage, label, customers, reached, round(reached_share::numeric, 3) AS reached_share,
       round(conversion::numeric, 3) AS conversion
FROM persona.funnel_report((SELECT persona.funnel_counts(stage) FROM people));
SET persona.language = zh;
SELECT label, customers FROM persona.funnel_report('{1,2,3,4,5,6}');
RESET persona.language;
SELECT * FROM persona.funnel_report('{0,0,0,0,0,0}');
-- Bad input.
SELECT persona.funnel_stage(-1, false, 0, false, 0);
SELECT persona.funnel_stage(1, false, 0, false, -2);
SELECT * FROM persona.funnel_report('{1,2,3}');
SELECT * FROM persona.funnel_report('{1,2,3,4,5,-6}');
SELECT * FROM persona.funnel_report('{1,2,3,4,5,NULL}');
DROP TABLE people;
