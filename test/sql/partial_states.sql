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
-- Compact: the distinct values with their customers (recency 400 values,
-- frequency 13, monetary 100), not a copy of 1,667 customers' rows.
SELECT shard, left(breaks_state, 12) AS header_and_runs,
       cardinality(breaks_state::float8[]) AS breaks_numbers,
       cardinality(pareto_state::float8[]) AS pareto_numbers
FROM shipped ORDER BY shard;
SELECT (SELECT breaks_combine(breaks_state::float8[]) FROM shipped)::text
       = (SELECT persona.rfm_breaks(r, f, m) FROM c)::text AS breaks_same,
       (SELECT pareto_combine(pareto_state::float8[]) FROM shipped)::text
       = (SELECT persona.pareto(m) FROM c)::text AS pareto_same;
-- The approximate mode: monetary values on a grid of relative step 2%:
-- states smaller still, tie-safe cuts at most a grid step above the exact ones.
CREATE TABLE spread AS SELECT i AS id, (i % 90)::float8 AS r, (1 + i % 5)::float8 AS f,
                              exp((hashint4(i) & 65535) / 4000.0)::float8 AS m
FROM generate_series(1, 20000) i;
CREATE AGGREGATE breaks_partial(float8, float8, float8, int, text, float8) (SFUNC = persona.rfm_breaks_transfn, STYPE = float8[]);
CREATE AGGREGATE pareto_partial(float8, float8, float8, float8) (SFUNC = persona.pareto_transfn, STYPE = float8[]);
WITH s AS (SELECT id % 4 AS shard, breaks_partial(r, f, m, 5, 'quantile', 0) AS exact,
                  breaks_partial(r, f, m, 5, 'quantile', 0.01) AS approx,
                  pareto_partial(m) AS p_exact, pareto_partial(m, 0.2, 0.8, 0.01) AS p_approx
           FROM spread GROUP BY 1)
SELECT sum(cardinality(exact)) AS exact_numbers, sum(cardinality(approx)) AS approx_numbers,
       sum(cardinality(p_exact)) AS pareto_exact_numbers, sum(cardinality(p_approx)) AS pareto_approx_numbers,
       (SELECT breaks_combine(approx) FROM s)::text = (SELECT persona.rfm_breaks(r, f, m, 5, 'quantile', 0.01) FROM spread)::text AS approx_combines,
       (SELECT row((x).customers, (x).top_revenue_share, (x).customer_share) FROM (SELECT pareto_combine(p_approx) AS x FROM s) c)
       = (SELECT row((x).customers, (x).top_revenue_share, (x).customer_share) FROM (SELECT persona.pareto(m, 0.2, 0.8, 0.01) AS x FROM spread) c)
         AS pareto_approx_combines
FROM s;
WITH e AS (SELECT persona.rfm_breaks(r, f, m) AS b FROM spread),
     a AS (SELECT persona.rfm_breaks(r, f, m, 5, 'quantile', 0.01) AS b FROM spread)
SELECT k, (e.b::text::jsonb -> 'm' ->> k)::float8 AS exact_cut, (a.b::text::jsonb -> 'm' ->> k)::float8 AS approx_cut,
       (a.b::text::jsonb -> 'm' ->> k)::float8 / (e.b::text::jsonb -> 'm' ->> k)::float8 BETWEEN 1 AND 1.01 / 0.99 AS within_a_step,
       (e.b::text::jsonb -> 'r') = (a.b::text::jsonb -> 'r') AND (e.b::text::jsonb -> 'f') = (a.b::text::jsonb -> 'f') AS r_f_exact
FROM e, a, generate_series(0, 3) k;
-- Scores against approximate cuts are tie-safe: equal amounts, equal scores.
WITH a AS (SELECT persona.rfm_breaks(r, f, m, 5, 'quantile', 0.01) AS b FROM spread)
SELECT count(*) AS amounts, count(*) FILTER (WHERE customers > 1) AS tied_amounts, bool_and(scores = 1) AS one_score_per_amount,
       sum(customers) FILTER (WHERE low_score = 1) AS scored_1
FROM (SELECT m, count(*) AS customers, count(DISTINCT persona.m(persona.rfm_score(r, f, m, a.b))) AS scores,
             min(persona.m(persona.rfm_score(r, f, m, a.b))) AS low_score
      FROM spread, a GROUP BY m) t;
WITH e AS (SELECT persona.pareto(m) AS p FROM spread), a AS (SELECT persona.pareto(m, 0.2, 0.8, 0.01) AS p FROM spread)
SELECT (a.p).customers = (e.p).customers AS same_customers,
       abs((a.p).revenue / (e.p).revenue - 1) < 1e-12 AS revenue_exact,
       abs((a.p).top_revenue_share / (e.p).top_revenue_share - 1) <= 0.02 AS top_share_within_2pct,
       abs((a.p).customer_share / (e.p).customer_share - 1) <= 0.02 AS customer_share_within_2pct
FROM e, a;
CREATE AGGREGATE lorenz_partial(float8, float8) (SFUNC = persona.lorenz_transfn, STYPE = float8[]);
CREATE AGGREGATE lorenz_combine(float8[]) (SFUNC = persona.pareto_combinefn, STYPE = float8[], FINALFUNC = persona.lorenz_finalfn);
WITH e AS (SELECT persona.lorenz_curve(m) AS l FROM spread), a AS (SELECT persona.lorenz_curve(m, 0.01) AS l FROM spread),
     s AS (SELECT lorenz_partial(m, 0.01) AS st FROM spread GROUP BY id % 4)
SELECT (SELECT lorenz_combine(st) FROM s) = a.l AS approx_combines,
       (SELECT sum(cardinality(st)) FROM s) AS approx_numbers,
       bool_and(abs(a.l[k] / e.l[k] - 1) <= 0.02) AS every_step_within_2pct, a.l[1] = 0 AND a.l[101] = 1 AS from_0_to_1
FROM e, a, generate_series(2, 101) k GROUP BY a.l;
SELECT persona.lorenz_curve(m, 0.2) FROM spread;
DROP AGGREGATE lorenz_partial(float8, float8), lorenz_combine(float8[]);
-- Extremes: the most negative amounts fall in a bottom bucket at -DBL_MAX, subnormals and -0 stay finite.
SELECT persona.rfm_breaks(r, 1, m, 2, 'quantile', 0.1)
FROM (VALUES (1, -1.7976931348623157e308), (2, -1.7e308), (3, 1.7976931348623157e308), (4, 5e-324), (5, -0)) v(r, m);
SELECT persona.pareto(m, 0.5, 0.5, 0.1) FROM (VALUES (-1.7976931348623157e308), (5e-324), (-0)) v(m);
SELECT persona.rfm_breaks(1, 1, 1, 5, 'quantile', 'NaN');
SELECT persona.lorenz_curve(1, 'Infinity');
SELECT persona.rfm_breaks(r, f, m, 5, 'quantile', 0.5) FROM spread;
SELECT persona.pareto(m, 0.2, 0.8, -0.01) FROM spread;
SELECT persona.rfm_breaks(r, f, m, 5, 'quantile', NULL) FROM spread;
DROP AGGREGATE breaks_partial(float8, float8, float8, int, text, float8), pareto_partial(float8, float8, float8, float8);
DROP TABLE spread;
-- Partial states with different parameters do not combine.
CREATE AGGREGATE breaks_partial(float8, float8, float8, int) (SFUNC = persona.rfm_breaks_transfn, STYPE = float8[]);
SELECT breaks_combine(s) FROM (SELECT breaks_partial(r, f, m) AS s FROM c
                               UNION ALL SELECT breaks_partial(r, f, m, 3) FROM c) x;
-- A state that is not one of ours is rejected.
SELECT breaks_combine(s) FROM (VALUES ('{5}'::float8[]), ('{5,0,NULL}')) v(s);
DROP AGGREGATE breaks_partial(float8, float8, float8), breaks_partial(float8, float8, float8, int),
     breaks_combine(float8[]), pareto_partial(float8), pareto_combine(float8[]);
DROP TABLE c, shipped;
-- Model fits and tag_affinity: their states are the real types
-- persona.fit_state and persona.affinity_state, so a worker's partial state
-- travels as text and the coordinator combines it.
CREATE TABLE h AS
SELECT i AS id, (i % 6)::float8 AS x,
       CASE WHEN i % 6 = 0 THEN 0 ELSE (i % 6) * 4 + i % 3 END::float8 AS t_x,
       (30 + i % 11)::float8 AS t_cal, 5 + (i * 37 % 50)::float8 AS spend
FROM generate_series(1, 6000) i;
CREATE AGGREGATE fit_partial(float8, float8, float8) (SFUNC = persona.btyd_fit_transfn, STYPE = persona.fit_state);
CREATE AGGREGATE spend_partial(float8, float8) (SFUNC = persona.gamma_gamma_transfn, STYPE = persona.fit_state);
CREATE AGGREGATE bgnbd_combine(persona.fit_state) (SFUNC = persona.fit_combinefn, STYPE = persona.fit_state,
                                                   FINALFUNC = persona.bgnbd_finalfn);
CREATE AGGREGATE pnbd_combine(persona.fit_state) (SFUNC = persona.fit_combinefn, STYPE = persona.fit_state,
                                                  FINALFUNC = persona.pareto_nbd_finalfn);
CREATE AGGREGATE gg_combine(persona.fit_state) (SFUNC = persona.fit_combinefn, STYPE = persona.fit_state,
                                                FINALFUNC = persona.gamma_gamma_finalfn);
-- Four customers' state: the header, then (x, t_x, T, customers) per distinct history.
SELECT fit_partial(x, t_x, t_cal) FROM h WHERE id IN (6, 12, 7, 13);
SELECT spend_partial(x, spend) FROM h WHERE id IN (6, 7, 13);
CREATE TABLE fit_shipped AS
SELECT id % 4 AS shard, fit_partial(x, t_x, t_cal)::text AS fit_state, spend_partial(x, spend)::text AS spend_state
FROM h GROUP BY id % 4;
-- 1,500 customers a shard, 33 distinct histories: 12 + 4 x 33 numbers (spend: 50 or 75 rows).
SELECT shard, cardinality(fit_state::float8[]) AS fit_numbers, cardinality(spend_state::float8[]) AS spend_numbers
FROM fit_shipped ORDER BY shard;
-- Combined from text, the fits are the one-node fits to the last digit
-- (whose boundary warnings are not the point here).
SET client_min_messages = error;
SELECT (SELECT bgnbd_combine(fit_state::persona.fit_state) FROM fit_shipped)::text
       = (SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM h)::text AS bgnbd_same,
       (SELECT pnbd_combine(fit_state::persona.fit_state) FROM fit_shipped)::text
       = (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM h)::text AS pareto_nbd_same,
       (SELECT gg_combine(spend_state::persona.fit_state) FROM fit_shipped)::text
       = (SELECT persona.gamma_gamma_fit(x, spend) FROM h)::text AS gamma_gamma_same;
RESET client_min_messages;
-- The text does not depend on extra_float_digits (Citus sessions may set it).
SET extra_float_digits = -15;
SELECT bool_and(fit_state = (SELECT fit_partial(x, t_x, t_cal)::text FROM h WHERE id % 4 = shard)) AS same_text
FROM fit_shipped;
RESET extra_float_digits;
-- A state of spend summaries is not a purchase history.
SELECT bgnbd_combine(spend_state::persona.fit_state) FROM fit_shipped;
CREATE AGGREGATE affinity_partial(text[]) (SFUNC = persona.affinity_transfn, STYPE = persona.affinity_state);
CREATE AGGREGATE affinity_combine(persona.affinity_state) (SFUNC = persona.affinity_combinefn,
                                                           STYPE = persona.affinity_state,
                                                           FINALFUNC = persona.affinity_finalfn);
CREATE TABLE baskets AS
SELECT id, (ARRAY['育儿', '绘本', 'toys "kids"', 'back\slash'])[1 + id % 4 : 1 + id % 4 + id % 3] AS tags
FROM h;
-- tags with their customers, then (tag i, tag j, customers with both) per pair
SELECT affinity_partial(tags) FROM baskets WHERE id <= 12;
CREATE TABLE affinity_shipped AS SELECT id % 4 AS shard, affinity_partial(tags)::text AS state FROM baskets GROUP BY 1;
-- the same pairs and numbers as one node (the order of the pairs may differ)
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE one IS NOT DISTINCT FROM combined) AS equal
FROM (SELECT * FROM unnest((SELECT persona.tag_affinity(tags) FROM baskets))) one
FULL JOIN (SELECT * FROM unnest((SELECT affinity_combine(state::persona.affinity_state) FROM affinity_shipped))) combined
  USING (antecedent, consequent);
-- Binary COPY round-trips both types.
\copy (SELECT shard, fit_state::persona.fit_state, state::persona.affinity_state FROM fit_shipped JOIN affinity_shipped USING (shard)) TO 'results/states.copy' WITH (FORMAT binary)
CREATE TABLE states_back (shard int, fit persona.fit_state, affinity persona.affinity_state);
\copy states_back FROM 'results/states.copy' WITH (FORMAT binary)
SELECT count(*) AS states,
       count(*) FILTER (WHERE b.fit::text = f.fit_state AND b.affinity::text = a.state) AS equal
FROM states_back b JOIN fit_shipped f USING (shard) JOIN affinity_shipped a USING (shard);
DROP AGGREGATE fit_partial(float8, float8, float8), spend_partial(float8, float8), bgnbd_combine(persona.fit_state),
     pnbd_combine(persona.fit_state), gg_combine(persona.fit_state), affinity_partial(text[]),
     affinity_combine(persona.affinity_state);
DROP TABLE h, fit_shipped, baskets, affinity_shipped, states_back;
