-- Tie-safe RFM cut points and scoring.
CREATE TABLE c (id int, recency int, frequency int, monetary numeric);
-- recency: 30% tie at the best value (0 days); frequency: 60% bought once;
-- monetary: ten distinct values (plain quintiles).
INSERT INTO c VALUES
  (1, 0, 1, 10), (2, 0, 1, 20), (3, 0, 1, 30), (4, 5, 1, 40), (5, 10, 1, 50),
  (6, 20, 1, 60), (7, 30, 2, 70), (8, 60, 2, 80), (9, 90, 3, 90), (10, 400, 9, 100);

SELECT persona.rfm_breaks(recency, frequency, monetary) FROM c;

-- Score = 1 + floor(5 * share of customers strictly worse): equal values get
-- equal scores; collapsed bins stay empty (nobody has R = 5 or F = 2, 3).
WITH b AS (SELECT persona.rfm_breaks(recency, frequency, monetary) AS b FROM c)
SELECT id, recency, frequency, monetary, persona.rfm_score(recency, frequency, monetary, b) AS rfm
FROM c, b ORDER BY id;

-- The same as a window aggregate.
SELECT id, persona.rfm_score(recency, frequency, monetary,
                             persona.rfm_breaks(recency, frequency, monetary) OVER ()) AS rfm
FROM c ORDER BY id;

-- Other scales; three bins on the same data.
SELECT persona.rfm_breaks(recency, frequency, monetary, 3) FROM c;
SELECT persona.rfm_breaks(recency, frequency, monetary, 10) FROM c;

-- The mean method (2 bins): high when at least the mean (recency: at most).
SELECT persona.rfm_breaks(recency, frequency, monetary, 2, 'mean') FROM c;
WITH b AS (SELECT persona.rfm_breaks(recency, frequency, monetary, 2, 'mean') AS b FROM c)
SELECT id, persona.rfm_score(recency, frequency, monetary, b) FROM c, b ORDER BY id;

-- Customers with a NULL value are skipped by rfm_breaks and scored NULL.
INSERT INTO c VALUES (11, NULL, 1, 5);
SELECT (persona.rfm_breaks(recency, frequency, monetary)::text::jsonb)->'n' AS ranked FROM c;
SELECT persona.rfm_score(recency, frequency, monetary, (SELECT persona.rfm_breaks(recency, frequency, monetary) FROM c)) IS NULL
FROM c WHERE id = 11;
DELETE FROM c WHERE id = 11;
-- No rows: NULL breaks.
SELECT persona.rfm_breaks(recency, frequency, monetary) IS NULL AS no_rows FROM c WHERE false;

-- Business thresholds (seed 000): bought within 30 days, >= 3 orders a
-- month, top 20% revenue (here 90).  Exactly at a threshold counts as reaching it.
SELECT persona.rfm_thresholds('{30}', '{3}', '{90}');
SELECT id, recency, frequency, monetary,
       persona.rfm_score(recency, frequency, monetary, '{30}', '{3}', '{90}') AS rfm
FROM c ORDER BY id;
SELECT persona.rfm_score(45, 4, 1000, '{30,90,180,365}', '{2,3,5,8}', '{100,500,1000,5000}');

-- breaks text form round-trips; NULL marks a score nobody reaches.
SELECT b::text::persona.rfm_breaks::text = b::text AS round_trip
FROM (SELECT persona.rfm_breaks(recency, frequency, monetary) AS b FROM c) s;
SELECT '{"bins": 2, "method": "mean", "n": 3, "r": [null], "f": [2], "m": [1e3]}'::persona.rfm_breaks;
SELECT persona.rfm_score(0, 5, 5000, '{"bins": 2, "method": "mean", "n": 3, "r": [null], "f": [2], "m": [1e3]}');

-- Bad input.
SELECT persona.rfm_breaks(recency, frequency, monetary, 1) FROM c;
SELECT persona.rfm_breaks(recency, frequency, monetary, 11) FROM c;
SELECT persona.rfm_breaks(recency, frequency, monetary, NULL) FROM c;
SELECT persona.rfm_breaks(recency, frequency, monetary, 5, 'median') FROM c;
SELECT persona.rfm_breaks(recency, frequency, monetary, 5, 'mean') FROM c;
SELECT persona.rfm_breaks(recency, frequency, monetary, id % 2 + 2) FROM c;
SELECT persona.rfm_breaks('NaN', frequency, monetary) FROM c;
SELECT persona.rfm_breaks(recency, 'Infinity', monetary) FROM c;
SELECT persona.rfm_score('NaN', 1, 1, '{30}', '{3}', '{90}');
SELECT persona.rfm_thresholds('{90,30}', '{3}', '{90}');
SELECT persona.rfm_thresholds('{30}', '{3,5}', '{90}');
SELECT persona.rfm_thresholds('{}', '{}', '{}');
SELECT persona.rfm_thresholds('{30,NULL}', '{3,5}', '{90,100}');
SELECT persona.rfm_thresholds('{1,2,3,4,5,6,7,8,9,10}', '{1,2,3,4,5,6,7,8,9,10}', '{1,2,3,4,5,6,7,8,9,10}');
SELECT '{"bins": 2}'::persona.rfm_breaks;
SELECT '{"bins": 2, "method": "mean", "n": 3, "r": [1, 2], "f": [2], "m": [1]}'::persona.rfm_breaks;
SELECT '{"bins": 3, "method": "quantile", "n": 3, "r": [1, 2], "f": [2, 3], "m": [1, 2]}'::persona.rfm_breaks;
SELECT '{"bins": 12, "method": "quantile", "n": 3, "r": [], "f": [], "m": []}'::persona.rfm_breaks;
SELECT '{"bins": 2, "method": "mean", "n": 3, "r": [1], "f": [2], "m": [1]} x'::persona.rfm_breaks;
DROP TABLE c;
