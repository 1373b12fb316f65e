-- Habits: weekday/weekend, dayparts and favourites, in the session time zone.
SET TimeZone = 'Asia/Shanghai';
-- Daypart boundaries.
SELECT h, persona.daypart_of(('2024-01-01 00:00'::timestamp + h * interval '1 hour' - interval '1 second')::timestamptz) AS before,
       persona.daypart_of(('2024-01-01 00:00'::timestamp + h * interval '1 hour')::timestamptz) AS at
FROM unnest('{5,11,14,17,21}'::int[]) h;
-- 2024-01-01 is a Monday; 2024-01-06 a Saturday.
SELECT (persona.habits(t)).*
FROM (VALUES ('2024-01-01 12:00'::timestamptz), ('2024-01-02 12:30'), ('2024-01-03 13:59'),
             ('2024-01-06 18:00'), (NULL)) v(t);
-- The same instants seen from UTC: 8 hours earlier, so lunch becomes night/morning.
SET TimeZone = 'UTC';
SELECT (persona.habits(t)).*
FROM (VALUES ('2024-01-01 12:00+08'::timestamptz), ('2024-01-02 12:30+08'), ('2024-01-03 13:59+08'),
             ('2024-01-06 18:00+08')) v(t);
SET TimeZone = 'Asia/Shanghai';
-- Ties go to the earliest daypart, weekday and hour.
SELECT (h).daypart, (h).favourite_weekday, (h).favourite_hour
FROM (SELECT persona.habits(t) h FROM (VALUES ('2024-01-02 19:00'::timestamptz), ('2024-01-01 08:00')) v(t)) q;
-- Empty input: NULL; only NULL times: orders = 0 and NULL shares.
SELECT persona.habits(t) IS NULL AS empty FROM (VALUES ('2024-01-01'::timestamptz)) v(t) WHERE false;
SELECT (persona.habits(NULL::timestamptz)).*;
SET persona.language = zh;
SELECT persona.label(d) FROM unnest(enum_range(NULL::persona.daypart)) d;
RESET persona.language;
SELECT persona.habits('infinity'::timestamptz);
