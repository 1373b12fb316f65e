-- The fits and scores stay finite on summaries that follow no model, at
-- time scales from hours to decades and frequencies up to 10^4: a fit may
-- not converge (a WARNING and converged = false), but nothing is NaN or
-- infinite and every score is in range.
BEGIN;
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(8);
SELECT setseed(0.5);
CREATE TEMP TABLE cases AS
SELECT g AS k, 10 ^ (random() * 6 - 2) AS scale, 1 + (random() * 3.5)::int AS xpow FROM generate_series(1, 12) g;
CREATE TEMP TABLE rows AS
SELECT k, x, t_x, t_cal FROM cases,
  LATERAL (SELECT floor(random() ^ 3 * 10 ^ xpow)::float8 AS x, scale * (0.01 + random()) AS t_cal FROM generate_series(1, 100)) a,
  LATERAL (SELECT CASE WHEN x = 0 THEN 0 ELSE t_cal * (0.001 + 0.999 * random()) END AS t_x) b;
-- every case needs a repeat buyer
INSERT INTO rows SELECT k, 1, scale / 2, scale FROM cases;
CREATE TEMP TABLE fits AS
SELECT k, persona.bgnbd_fit(x, t_x, t_cal) AS bg, persona.pareto_nbd_fit(x, t_x, t_cal) AS pn FROM rows GROUP BY k;
SELECT is((SELECT count(*) FROM fits WHERE (bg).loglik IS NOT NULL AND (pn).loglik IS NOT NULL
           AND (bg).loglik NOT IN ('NaN', 'Infinity', '-Infinity') AND (pn).loglik NOT IN ('NaN', 'Infinity', '-Infinity')),
          12::bigint, 'every fit has a finite log-likelihood');
SELECT ok((SELECT bool_and(v > 0 AND v < 'Infinity') FROM fits,
           unnest(ARRAY[(bg).r, (bg).alpha, (bg).a, (bg).b, (pn).r, (pn).alpha, (pn).s, (pn).beta]) v),
          'every parameter is positive and finite');
SELECT ok((SELECT bool_and(persona.p_alive(bg, x, t_x, t_cal) BETWEEN 0 AND 1 AND persona.p_alive(pn, x, t_x, t_cal) BETWEEN 0 AND 1)
           FROM rows JOIN fits USING (k)), 'P(alive) is a probability under both models');
SELECT ok((SELECT bool_and(e >= 0 AND e < 'Infinity') FROM rows JOIN fits USING (k),
           LATERAL unnest(ARRAY[persona.expected_purchases(bg, t_cal, x, t_x, t_cal),
                                persona.expected_purchases(pn, t_cal, x, t_x, t_cal)]) e
           WHERE (bg).a <> 1), 'expected purchases are finite and >= 0');
SELECT ok((SELECT bool_and((bg).loglik >= sum_bg - 1e-6 * abs(sum_bg)) FROM fits JOIN
           (SELECT k, sum(persona.bgnbd_loglik((1, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, x, t_x, t_cal)) AS sum_bg
            FROM rows GROUP BY k) s USING (k)),
          'converged or not, a BG/NBD fit is at least as likely as its starting point (all parameters 1)');

-- No dropout and no heterogeneity (900 orders spread evenly over 60
-- customers): the BG/NBD supremum is the Poisson limit (a -> 0, r and
-- alpha -> infinity at r/alpha = lambda), whose log-likelihood is
-- sum(x) ln(sum(x)/sum(T)) - sum(x).  The fit must get there (persona 0.5
-- stopped 17.9 below it after 500 iterations), report the boundary, and a
-- warm start from the boundary fit must stay there.
CREATE TEMP TABLE even AS
SELECT count(DISTINCT d) - 1 AS x, (max(d) - min(d)) / 7.0 AS t_x, (DATE '2024-12-31' - min(d)) / 7.0 AS t_cal
FROM (SELECT 1 + (i * 7919) % 60 AS c, DATE '2024-01-01' + (i * 104729) % 365 AS d FROM generate_series(1, 900) i) o
GROUP BY c;
CREATE TEMP TABLE even_fit AS
SELECT persona.bgnbd_fit(x, t_x, t_cal) AS f,
       sum(x) * ln(sum(x) / sum(t_cal)) - sum(x) AS poisson_ll FROM even;
SELECT ok((SELECT (f).loglik >= poisson_ll - 1e-3 AND (f).loglik <= poisson_ll + 1e-3 FROM even_fit),
          'without dropout or heterogeneity the BG/NBD fit reaches the Poisson-limit log-likelihood (within 1e-3)');
SELECT is((SELECT (f).status FROM even_fit), 'boundary: alpha -> infinity, a -> 0, b -> infinity; reduces to Poisson',
          'the fit names the parameters that ran to their limits and what the model reduces to');
SELECT ok((SELECT abs((persona.bgnbd_fit_rows(r, 0, e.f)).loglik - (e.f).loglik) < 1e-6 * abs((e.f).loglik)
           FROM even_fit e, (SELECT array_agg(ARRAY[x, t_x, t_cal, 1]::float8[]) AS r FROM even) rows),
          'a fit started at the boundary fit ends at the same log-likelihood');
SELECT * FROM finish();
ROLLBACK;
