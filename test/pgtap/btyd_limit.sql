-- Fits whose optimum is the no-dropout limit, checked against an
-- independent maximisation inside the test: 3,000 simulated customers who
-- never drop out (purchases Poisson at rates Gamma(2, 5) per week, observed
-- 10-52 weeks after their first purchase). BG/NBD and Pareto/NBD must
-- report the boundary, name the NBD limit, and reach the NBD likelihood
-- sup_{r, alpha} sum lnG(r+x) - lnG(r) + r ln(alpha) - (r+x) ln(alpha+T),
-- maximised here by a dense grid refined three times (plain SQL, no persona code).
-- (Pareto/NBD's first search stops on the ridge towards that limit, s and
-- beta both small; the fit then searches again from the limit itself.)
BEGIN;
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(6);
SELECT setseed(0.15);
CREATE TEMP TABLE cust AS
SELECT g AS id, 10 + 42 * random() AS t_cal, (-ln(1 - random()) - ln(1 - random())) / 5 AS lambda
FROM generate_series(1, 3000) g;
-- x ~ Poisson(lambda T) by inversion (ln n! from a table), t_x the last of x uniform times
CREATE TEMP TABLE lnfact AS
SELECT n, (SELECT coalesce(sum(ln(j::float8)), 0) FROM generate_series(1, n) j) AS lf FROM generate_series(0, 200) n;
CREATE TEMP TABLE hist AS
SELECT c.id, c.t_cal, k.x::float8 AS x,
       CASE WHEN k.x = 0 THEN 0 ELSE c.t_cal * random() ^ (1.0 / k.x) END AS t_x
FROM cust c, LATERAL (SELECT random() AS u) r,
     LATERAL (SELECT min(q.n) AS x FROM (
         SELECT f.n, sum(exp(greatest(-c.lambda * c.t_cal + f.n * ln(c.lambda * c.t_cal) - f.lf, -700))) OVER (ORDER BY f.n) AS cdf
         FROM lnfact f) q
       WHERE q.cdf >= r.u) k;
CREATE TEMP TABLE fits AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS bg, persona.pareto_nbd_fit(x, t_x, t_cal) AS pn FROM hist;

-- the NBD log-likelihood at (r, alpha): sum over customers of sum_{j<x} ln(r+j) (by x, with
-- counts) + r ln(alpha) - (r+x) ln(alpha+T)
CREATE TEMP TABLE xt AS SELECT x::int AS x, t_cal, count(*)::float8 AS w FROM hist GROUP BY 1, 2;
CREATE TEMP TABLE xw AS SELECT x, sum(w) AS w FROM xt WHERE x > 0 GROUP BY x;
CREATE FUNCTION pg_temp.nbd_ll(r float8, alpha float8) RETURNS float8 LANGUAGE sql STABLE AS $$
SELECT (SELECT sum(xw.w * s.cum)
        FROM xw JOIN (SELECT j + 1 AS x, sum(ln(r + j)) OVER (ORDER BY j) AS cum
                      FROM generate_series(0, (SELECT max(x) FROM xw)) j) s ON s.x = xw.x)
     + (SELECT sum(xt.w * (r * ln(alpha) - (r + xt.x) * ln(alpha + xt.t_cal))) FROM xt)
$$;
-- a 25 x 25 grid on the log scale around (r, alpha), spacing step; the best point
CREATE FUNCTION pg_temp.grid(r0 float8, a0 float8, step float8, OUT r float8, OUT alpha float8, OUT ll float8)
LANGUAGE sql STABLE AS $$
SELECT r0 * exp(step * i), a0 * exp(step * j), pg_temp.nbd_ll(r0 * exp(step * i), a0 * exp(step * j))
FROM generate_series(-12, 12) i, generate_series(-12, 12) j
ORDER BY 3 DESC LIMIT 1
$$;
CREATE TEMP TABLE sup AS
WITH g1 AS (SELECT * FROM pg_temp.grid(1, 5, 0.25)),
     g2 AS (SELECT g.* FROM g1, pg_temp.grid(g1.r, g1.alpha, 0.02) g),
     g3 AS (SELECT g.* FROM g2, pg_temp.grid(g2.r, g2.alpha, 0.0015) g),
     g4 AS (SELECT g.* FROM g3, pg_temp.grid(g3.r, g3.alpha, 0.0001) g)
SELECT * FROM g4;

SELECT ok((SELECT (bg).status ~ '^boundary: .*a -> 0.*; reduces to NBD$' FROM fits),
          'BG/NBD without dropout: a runs to 0 and the status names the NBD limit');
SELECT ok((SELECT (pn).status ~ '^boundary: .*s -> 0.*; reduces to NBD$' FROM fits),
          'Pareto/NBD without dropout: s runs to 0 (searched again from the limit when the first search stops on the ridge) and the status names the NBD limit');
SELECT ok((SELECT (bg).loglik >= s.ll - 1e-6 * abs(s.ll) FROM fits, sup s),
          'the BG/NBD fit is at least as likely as the best point of the refined NBD grid');
SELECT ok((SELECT (pn).loglik >= s.ll - 1e-6 * abs(s.ll) FROM fits, sup s),
          'the Pareto/NBD fit is at least as likely as the best point of the refined NBD grid');
-- and not above the limit's supremum: the grid's last spacing bounds what it can miss
SELECT ok((SELECT (bg).loglik <= s.ll + 1e-3 AND abs((bg).r - s.r) < 0.01 * s.r AND abs((bg).alpha - s.alpha) < 0.01 * s.alpha
           FROM fits, sup s),
          'BG/NBD: the NBD limit''s likelihood, r and alpha (within 1%)');
SELECT ok((SELECT abs((bg).loglik - (pn).loglik) < 1e-6 * abs((bg).loglik) FROM fits),
          'both models reach the same limit likelihood (within 1e-6 relative)');
SELECT * FROM finish();
ROLLBACK;
