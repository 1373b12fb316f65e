-- Fits whose optimum is the no-dropout limit (and the no-heterogeneity
-- ridge beyond it), checked against an independent maximisation inside the test: 3,000 simulated customers who
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
SELECT plan(16);
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
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS bg, persona.pareto_nbd_fit(x, t_x, t_cal) AS pn,
       persona.mbgnbd_fit(x, t_x, t_cal) AS mb, persona.nbd_fit(x, t_x, t_cal) AS nb FROM hist;

-- the NBD log-likelihood and its grid search, over (x, T) with counts
CREATE TEMP TABLE xt AS SELECT x::int AS x, t_cal, count(*)::float8 AS w FROM hist GROUP BY 1, 2;
\ir ../nbd_grid.psql
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
-- the NBD model itself: an interior optimum, the grid's, and the dropout models' likelihood
SELECT ok((SELECT (nb).status = 'ok' AND (nb).converged AND (nb).loglik >= s.ll - 1e-9 * abs(s.ll)
                  AND abs((nb).r - s.r) < 1e-3 * s.r AND abs((nb).alpha - s.alpha) < 1e-3 * s.alpha
           FROM fits, sup s),
          'nbd_fit: converged, at least as likely as the refined grid, r and alpha within 0.1% of its best point');
SELECT ok((SELECT abs((bg).loglik - (nb).loglik) < 1e-6 AND abs((pn).loglik - (nb).loglik) < 1e-6
                  AND abs((mb).loglik - (nb).loglik) < 1e-6 FROM fits),
          'BG/NBD, Pareto/NBD and MBG/NBD without dropout report the NBD fit''s likelihood (within 1e-6)');
SELECT ok((SELECT abs((bg).r - (nb).r) < 1e-4 * (nb).r AND abs((bg).alpha - (nb).alpha) < 1e-4 * (nb).alpha
                  AND abs((pn).r - (nb).r) < 1e-4 * (nb).r FROM fits),
          'and its r and alpha (within 1e-4 relative)');

-- A warm start at the limit (an incremental profile refit after new orders):
-- the NBD refit from there, few iterations, the same likelihood as the cold
-- fit; on data that do show dropout the same start leaves the boundary.
SELECT ok((SELECT (w).iterations <= 5 AND (w).status = (bg).status AND abs((w).loglik - (nb).loglik) < 1e-6
           FROM fits, LATERAL (SELECT persona.bgnbd_fit(h.x, h.t_x, h.t_cal, 1, 0, fits.bg) AS w FROM hist h) q),
          'BG/NBD warm-started at its NBD limit: at most 5 iterations, the NBD likelihood');
SELECT ok((SELECT (w).iterations <= 5 AND (w).status = (pn).status AND abs((w).loglik - (nb).loglik) < 1e-6
           FROM fits, LATERAL (SELECT persona.pareto_nbd_fit(h.x, h.t_x, h.t_cal, 1, 0, fits.pn) AS w FROM hist h) q),
          'Pareto/NBD warm-started at its NBD limit: at most 5 iterations, the NBD likelihood');
CREATE TEMP TABLE dropping AS SELECT * FROM persona.simulate_bgnbd(0.5, 5, 0.8, 2.4, 3000, 52, 3);
SELECT ok((SELECT (w).status = 'ok' AND abs((w).loglik - (c).loglik) < 1e-6 * abs((c).loglik)
           FROM fits,
                LATERAL (SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, 0, fits.bg) AS w, persona.bgnbd_fit(x, t_x, t_cal) AS c FROM dropping) q),
          'a start at the limit on data with dropout leaves the boundary: the cold fit''s likelihood');

-- Customers who all buy at one rate (every 7 weeks, observed 10-60 weeks):
-- no heterogeneity either, the likelihood rises along the ridge
-- r, alpha -> infinity with r / alpha fixed; its supremum is the Poisson
-- process's, X (ln(X / T) - 1) for X purchases in T customer-weeks.
CREATE TEMP TABLE regular AS
SELECT floor(t / 7) AS x, floor(t / 7) * 7 AS t_x, t AS t_cal
FROM (SELECT 10 + (g % 51)::float8 AS t FROM generate_series(1, 2000) g) q;
CREATE TEMP TABLE ridge AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS bg, persona.pareto_nbd_fit(x, t_x, t_cal) AS pn,
       persona.mbgnbd_fit(x, t_x, t_cal) AS mb, persona.nbd_fit(x, t_x, t_cal) AS nb,
       sum(x) * (ln(sum(x) / sum(t_cal)) - 1) AS poisson_ll
FROM regular;
SELECT ok((SELECT bool_and(f.status ~ '; reduces to Poisson$' AND f.converged)
           FROM ridge, LATERAL (VALUES ((bg).status, (bg).converged), ((pn).status, (pn).converged),
                                       ((mb).status, (mb).converged), ((nb).status, (nb).converged)) f(status, converged)),
          'on the ridge every model names the Poisson limit, and has converged to it');
SELECT ok((SELECT abs((bg).loglik - poisson_ll) < 1e-9 * abs(poisson_ll) AND abs((pn).loglik - poisson_ll) < 1e-9 * abs(poisson_ll)
                  AND abs((mb).loglik - poisson_ll) < 1e-9 * abs(poisson_ll) AND abs((nb).loglik - poisson_ll) < 1e-9 * abs(poisson_ll)
           FROM ridge),
          'with the Poisson limit''s likelihood (closed form, within 1e-9 relative), not a point on the way there');
SELECT ok((SELECT (w).status = 'ok' AND abs((w).loglik - (c).loglik) < 1e-6 * abs((c).loglik)
           FROM ridge,
                LATERAL (SELECT persona.bgnbd_fit(x, t_x, t_cal, 1, 0, ridge.bg) AS w, persona.bgnbd_fit(x, t_x, t_cal) AS c FROM dropping) q),
          'a start at the Poisson limit on data with dropout and different rates leaves the bounds: the cold fit''s likelihood');
SELECT ok((SELECT (nb).loglik > persona_ll FROM ridge,
                  LATERAL (SELECT sum(persona.nbd_loglik(nb, x, t_x, t_cal)) AS persona_ll FROM regular) q),
          'which is above the likelihood at the parameters on the search bound');
SELECT * FROM finish();
ROLLBACK;
