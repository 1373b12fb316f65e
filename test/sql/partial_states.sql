-- Global aggregates split the way Citus splits them: partial states on
-- "workers", shipped as text, combined on the "coordinator".
CREATE TABLE c AS
SELECT i AS id, (i * 7919 % 400)::float8 AS r, (1 + i % 7 * (i % 3))::float8 AS f, ((i * 31) % 1000 / 10.0)::float8 AS m
FROM generate_series(1, 5000) i;
-- What a worker computes: the transition state, no final function.
CREATE AGGREGATE breaks_partial(float8, float8, float8) (SFUNC = persona.rfm_breaks_transfn, STYPE = float8[]);
CREATE AGGREGATE breaks_combine(float8[]) (SFUNC = persona.rfm_breaks_combinefn, STYPE = float8[],
                                           FINALFUNC = persona.rfm_breaks_finalfn);
CREATE AGGREGATE pareto_partial(float8) (SFUNC = persona.pareto_transfn, STYPE = float8[]);
CREATE AGGREGATE pareto_combine(float8[]) (SFUNC = persona.pareto_combinefn, STYPE = float8[],
                                           FINALFUNC = persona.pareto_finalfn);
CREATE TABLE shipped AS
SELECT id % 3 AS shard, breaks_partial(r, f, m)::text AS breaks_state, pareto_partial(m)::text AS pareto_state
FROM c GROUP BY id % 3;
SELECT shard, length(breaks_state) > 1000 AS has_values, left(breaks_state, 6) AS header FROM shipped ORDER BY shard;
SELECT (SELECT breaks_combine(breaks_state::float8[]) FROM shipped)::text
       = (SELECT persona.rfm_breaks(r, f, m) FROM c)::text AS breaks_same,
       (SELECT pareto_combine(pareto_state::float8[]) FROM shipped)::text
       = (SELECT persona.pareto(m) FROM c)::text AS pareto_same;
-- Partial states with different parameters do not combine.
CREATE AGGREGATE breaks_partial(float8, float8, float8, int) (SFUNC = persona.rfm_breaks_transfn, STYPE = float8[]);
SELECT breaks_combine(s) FROM (SELECT breaks_partial(r, f, m) AS s FROM c
                               UNION ALL SELECT breaks_partial(r, f, m, 3) FROM c) x;
-- A state that is not one of ours is rejected.
SELECT breaks_combine(s) FROM (VALUES ('{5}'::float8[]), ('{5,0,NULL}')) v(s);
DROP AGGREGATE breaks_partial(float8, float8, float8), breaks_partial(float8, float8, float8, int),
     breaks_combine(float8[]), pareto_partial(float8), pareto_combine(float8[]);
DROP TABLE c, shipped;
