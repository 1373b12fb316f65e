-- The fits and scores stay finite on summaries that follow no model, at
-- time scales from hours to decades and frequencies up to 10^4: a fit may
-- not converge (a WARNING and converged = false), but nothing is NaN or
-- infinite and every score is in range.
BEGIN;
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(5);
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
           (SELECT k, sum(persona.bgnbd_loglik((1, 1, 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, x, t_x, t_cal)) AS sum_bg
            FROM rows GROUP BY k) s USING (k)),
          'converged or not, a BG/NBD fit is at least as likely as its starting point (all parameters 1)');
SELECT * FROM finish();
ROLLBACK;
