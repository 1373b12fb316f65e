-- The no-dropout limit on the 1M-customer summary (this data has no dropout):
-- BG/NBD, MBG/NBD and Pareto/NBD must report the NBD model's likelihood, and
-- all of them reach the maximum of an independent one, the NBD likelihood
-- maximised by a dense grid refined five times in plain SQL (no persona code).
SET client_min_messages = error;
CREATE TEMP TABLE xt AS SELECT x, t_cal, count(*)::float8 AS w FROM btyd_summary GROUP BY 1, 2;
\ir ../test/nbd_grid.psql
CREATE TEMP TABLE sup AS
WITH g1 AS (SELECT * FROM pg_temp.grid(1, 1, 0.5)),
     g2 AS (SELECT g.* FROM g1, pg_temp.grid(g1.r, g1.alpha, 0.04) g),
     g3 AS (SELECT g.* FROM g2, pg_temp.grid(g2.r, g2.alpha, 0.003) g),
     g4 AS (SELECT g.* FROM g3, pg_temp.grid(g3.r, g3.alpha, 0.0002) g),
     g5 AS (SELECT g.* FROM g4, pg_temp.grid(g4.r, g4.alpha, 0.00002) g)
SELECT * FROM g5;
SELECT format('%-11s LL %s  (%s the grid''s)  r %s  alpha %s  %s', m.name, round(m.ll::numeric, 4),
              to_char(m.ll - s.ll, 'SG0.999999'), round(m.r::numeric, 5), round(m.alpha::numeric, 4), m.status)
FROM (SELECT 'independent' AS name, ll, r, alpha, 'grid' AS status, 0 AS o FROM sup
      UNION ALL SELECT 'NBD', (f).loglik, (f).r, (f).alpha, (f).status, 1 FROM (SELECT persona.nbd_fit(x, t_x, t_cal) AS f FROM btyd_summary) q
      UNION ALL SELECT 'BG/NBD', (f).loglik, (f).r, (f).alpha, (f).status, 2 FROM (SELECT persona.bgnbd_fit(x, t_x, t_cal) AS f FROM btyd_summary) q
      UNION ALL SELECT 'MBG/NBD', (f).loglik, (f).r, (f).alpha, (f).status, 3 FROM (SELECT persona.mbgnbd_fit(x, t_x, t_cal) AS f FROM btyd_summary) q
      UNION ALL SELECT 'Pareto/NBD', (f).loglik, (f).r, (f).alpha, (f).status, 4 FROM (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) AS f FROM btyd_summary) q) m,
     sup s
ORDER BY o;
