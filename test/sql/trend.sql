-- Frequency trend: recent window against the one before.
CREATE TABLE o (c int, t timestamptz);
-- customer 1: 6 orders in Jan-Mar, 1 in Apr-Jun -> falling
INSERT INTO o SELECT 1, '2024-01-05'::timestamptz + g * interval '14 days' FROM generate_series(0, 5) g;
INSERT INTO o VALUES (1, '2024-05-01');
-- customer 2: steady -> not falling
INSERT INTO o SELECT 2, '2024-01-10'::timestamptz + g * interval '30 days' FROM generate_series(0, 5) g;
-- customer 3: one order before, none now -> not falling (too few to judge)
INSERT INTO o VALUES (3, '2024-02-01');
-- customer 4: exactly half -> falling; an order after as_of is ignored
INSERT INTO o VALUES (4, '2024-01-10'), (4, '2024-02-10'), (4, '2024-05-10'), (4, '2024-08-01');
SELECT c, (persona.frequency_trend(t, '2024-07-01', '91 days')).* FROM o GROUP BY c ORDER BY c;
-- A stricter ratio; window boundaries: (as_of - w, as_of] is recent.
SELECT c, (persona.frequency_trend(t, '2024-07-01', '91 days', 0.25)).falling FROM o GROUP BY c ORDER BY c;
SELECT (persona.frequency_trend(t, '2024-03-01', '1 month')).*
FROM (VALUES ('2024-03-01'::timestamptz), ('2024-02-01'), ('2024-02-01 00:00:01'), ('2024-01-01'), (NULL)) v(t);
-- Bad input.
SELECT persona.frequency_trend(t, '2024-07-01', '0 days') FROM o;
SELECT persona.frequency_trend(t, '2024-07-01', '-1 day') FROM o;
SELECT persona.frequency_trend(t, '2024-07-01', '1 day', 1.5) FROM o;
SELECT persona.frequency_trend(t, NULL, '1 day') FROM o;
SELECT persona.frequency_trend(t, t, '1 day') FROM o;
DROP TABLE o;
