-- BG/NBD: the fit is at the maximum of the likelihood.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(4);
CREATE TEMP TABLE s (id int, x float8, t_x float8, t_cal float8, zbar float8);
\copy s FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
CREATE TEMP TABLE m AS SELECT persona.bgnbd_fit(x, t_x, t_cal) AS m FROM s;
CREATE FUNCTION pg_temp.ll(r float8, alpha float8, a float8, b float8) RETURNS float8 LANGUAGE sql AS $$
    SELECT sum(persona.bgnbd_loglik((r, alpha, a, b, 0, 0, 0, true)::persona.bgnbd, x, t_x, t_cal)) FROM s $$;
SELECT ok(abs((SELECT pg_temp.ll((m).r, (m).alpha, (m).a, (m).b) FROM m) - (SELECT (m).loglik FROM m)) < 1e-6,
          'the reported log-likelihood is the sum of the per-customer terms');
SELECT is_empty($$
    SELECT k, f FROM m, generate_series(1, 4) k, unnest('{0.99,1.01}'::float8[]) f
    WHERE pg_temp.ll((m).r * CASE k WHEN 1 THEN f ELSE 1 END, (m).alpha * CASE k WHEN 2 THEN f ELSE 1 END,
                     (m).a * CASE k WHEN 3 THEN f ELSE 1 END, (m).b * CASE k WHEN 4 THEN f ELSE 1 END)
          >= (m).loglik$$,
    'moving any parameter 1% either way lowers the log-likelihood (a maximum)');
SELECT ok((SELECT max(abs(g)) FROM m, generate_series(1, 4) k,
           LATERAL (SELECT (pg_temp.ll((m).r * CASE k WHEN 1 THEN 1.0001 ELSE 1 END, (m).alpha * CASE k WHEN 2 THEN 1.0001 ELSE 1 END,
                                       (m).a * CASE k WHEN 3 THEN 1.0001 ELSE 1 END, (m).b * CASE k WHEN 4 THEN 1.0001 ELSE 1 END)
                          - pg_temp.ll((m).r * CASE k WHEN 1 THEN 0.9999 ELSE 1 END, (m).alpha * CASE k WHEN 2 THEN 0.9999 ELSE 1 END,
                                       (m).a * CASE k WHEN 3 THEN 0.9999 ELSE 1 END, (m).b * CASE k WHEN 4 THEN 0.9999 ELSE 1 END))
                          / 0.0002 AS g) x) < 0.05,
          'the gradient (per log-parameter) is ~0 at the fit');
SELECT ok((SELECT bool_and(persona.p_alive(m, x, t_x, t_cal) BETWEEN 0 AND 1) FROM s, m), 'P(alive) is a probability');
SELECT * FROM finish();
ROLLBACK;
