-- BG/NBD, Pareto/NBD and Gamma-Gamma fits are at the maximum of their
-- likelihoods: on the published CDNOW summary and on the same summary
-- computed by persona from the CDNOW orders.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION persona;
SELECT plan(16);
CREATE TEMP TABLE s (id int, x float8, t_x float8, t_cal float8, zbar float8);
\copy s FROM 'data/cdnow_customers_summary_with_transactions.csv' WITH (FORMAT csv, HEADER)
\i demo/load_cdnow.sql
CREATE TEMP TABLE ps AS
SELECT sample_id AS id, (b).x::float8 AS x, (b).t_x, (b).t_cal, (b).mean_repeat_spend AS zbar
FROM (SELECT sample_id, persona.btyd(persona.order_stats(ordered_on, amount, '1997-09-30'), 'weeks') AS b
      FROM cdnow GROUP BY sample_id) q;

-- Summed log-likelihoods at given parameters, over a summary table.
CREATE FUNCTION pg_temp.ll_bg(tab regclass, p float8[]) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE r float8;
BEGIN
    EXECUTE format('SELECT sum(persona.bgnbd_loglik(($1[1], $1[2], $1[3], $1[4], 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgnbd, x, t_x, t_cal)) FROM %s', tab)
    INTO r USING p;
    RETURN r;
END $$;
CREATE FUNCTION pg_temp.ll_pn(tab regclass, p float8[]) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE r float8;
BEGIN
    EXECUTE format('SELECT sum(persona.pareto_nbd_loglik(($1[1], $1[2], $1[3], $1[4], 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd, x, t_x, t_cal)) FROM %s', tab)
    INTO r USING p;
    RETURN r;
END $$;
CREATE FUNCTION pg_temp.ll_gg(tab regclass, p float8[]) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE r float8;
BEGIN
    EXECUTE format('SELECT sum(persona.gamma_gamma_loglik(($1[1], $1[2], $1[3], 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.gamma_gamma, x, zbar)) FROM %s WHERE x > 0', tab)
    INTO r USING p;
    RETURN r;
END $$;
-- p with its k-th element multiplied by f.
CREATE FUNCTION pg_temp.moved(p float8[], k int, f float8) RETURNS float8[] LANGUAGE sql AS $$
    SELECT array_agg(CASE WHEN i = k THEN v * f ELSE v END ORDER BY i) FROM unnest(p) WITH ORDINALITY u(v, i) $$;
-- Is p a maximum of ll? Every parameter moved 1% either way lowers it.
CREATE FUNCTION pg_temp.is_max(ll text, tab regclass, p float8[]) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE best float8; other float8;
BEGIN
    EXECUTE format('SELECT %s($1, $2)', ll) INTO best USING tab, p;
    FOR k IN 1..array_length(p, 1) LOOP
        FOREACH other IN ARRAY ARRAY[0.99, 1.01] LOOP
            EXECUTE format('SELECT %s($1, $2)', ll) INTO other USING tab, pg_temp.moved(p, k, other);
            IF other >= best THEN RETURN false; END IF;
        END LOOP;
    END LOOP;
    RETURN true;
END $$;
-- Largest |d LL / d ln(theta_k)| by central differences.
CREATE FUNCTION pg_temp.max_gradient(ll text, tab regclass, p float8[]) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE up float8; down float8; g float8 := 0;
BEGIN
    FOR k IN 1..array_length(p, 1) LOOP
        EXECUTE format('SELECT %s($1, $2)', ll) INTO up USING tab, pg_temp.moved(p, k, exp(1e-4));
        EXECUTE format('SELECT %s($1, $2)', ll) INTO down USING tab, pg_temp.moved(p, k, exp(-1e-4));
        g := greatest(g, abs(up - down) / 2e-4);
    END LOOP;
    RETURN g;
END $$;

CREATE TEMP TABLE fits AS
SELECT 's'::regclass AS tab,
       (SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM s) AS bg,
       (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM s) AS pn,
       (SELECT persona.gamma_gamma_fit(x, zbar) FROM s) AS gg
UNION ALL
SELECT 'ps'::regclass,
       (SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM ps),
       (SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM ps),
       (SELECT persona.gamma_gamma_fit(x, zbar) FROM ps);
CREATE TEMP VIEW params AS
SELECT tab, ARRAY[(bg).r, (bg).alpha, (bg).a, (bg).b] AS bg, ARRAY[(pn).r, (pn).alpha, (pn).s, (pn).beta] AS pn,
       ARRAY[(gg).p, (gg).q, (gg).v] AS gg, bg AS bg_fit, pn AS pn_fit, gg AS gg_fit
FROM fits;

SELECT ok((SELECT bool_and(abs(pg_temp.ll_bg(tab, bg) - (bg_fit).loglik) < 1e-6
                  AND abs(pg_temp.ll_pn(tab, pn) - (pn_fit).loglik) < 1e-6
                  AND abs(pg_temp.ll_gg(tab, gg) - (gg_fit).loglik) < 1e-6) FROM params),
          'each reported log-likelihood is the sum of the per-customer terms');
SELECT ok(pg_temp.is_max('pg_temp.ll_bg', 's', bg), 'BG/NBD: a maximum on the published summary') FROM params WHERE tab = 's'::regclass;
SELECT ok(pg_temp.is_max('pg_temp.ll_bg', 'ps', bg), 'BG/NBD: a maximum on persona''s summary') FROM params WHERE tab = 'ps'::regclass;
SELECT ok(pg_temp.is_max('pg_temp.ll_pn', 's', pn), 'Pareto/NBD: a maximum on the published summary') FROM params WHERE tab = 's'::regclass;
SELECT ok(pg_temp.is_max('pg_temp.ll_pn', 'ps', pn), 'Pareto/NBD: a maximum on persona''s summary') FROM params WHERE tab = 'ps'::regclass;
SELECT ok(pg_temp.is_max('pg_temp.ll_gg', 's', gg), 'Gamma-Gamma: a maximum on the published summary') FROM params WHERE tab = 's'::regclass;
SELECT ok(pg_temp.is_max('pg_temp.ll_gg', 'ps', gg), 'Gamma-Gamma: a maximum on persona''s summary') FROM params WHERE tab = 'ps'::regclass;
-- The optimiser stops at |gradient| < 1e-6 x customers (0.002 here); 0.05
-- leaves room for the finite differences of the check itself.
SELECT cmp_ok(pg_temp.max_gradient('pg_temp.ll_bg', tab, bg), '<', 0.05::float8, 'BG/NBD: gradient ~0 (' || tab || ')') FROM params;
SELECT cmp_ok(pg_temp.max_gradient('pg_temp.ll_pn', tab, pn), '<', 0.05::float8, 'Pareto/NBD: gradient ~0 (' || tab || ')') FROM params;
SELECT cmp_ok(pg_temp.max_gradient('pg_temp.ll_gg', tab, gg), '<', 0.05::float8, 'Gamma-Gamma: gradient ~0 (' || tab || ')') FROM params;
-- persona's own summary (exact weeks, not rounded to 2 decimals) gives
-- the published estimates to within 1%.
SELECT ok((SELECT bool_and(abs(ln(a.v / b.v)) < 0.01)
           FROM params p, params q, unnest(p.bg || p.pn || p.gg) WITH ORDINALITY a(v, i)
                JOIN unnest(q.bg || q.pn || q.gg) WITH ORDINALITY b(v, i) USING (i)
           WHERE p.tab = 's'::regclass AND q.tab = 'ps'::regclass),
          'persona''s summary of the orders reproduces the published fits within 1%');
SELECT ok((SELECT bool_and(persona.p_alive(bg_fit, x, t_x, t_cal) BETWEEN 0 AND 1
                           AND persona.p_alive(pn_fit, x, t_x, t_cal) BETWEEN 0 AND 1) FROM s, params WHERE tab = 's'::regclass),
          'P(alive) is a probability under both models');
-- Where 2F1's argument is within 1e-6 of 1 the series is abandoned for
-- numerical integration of the likelihood's integral; check both paths
-- against a plain midpoint rule in SQL (in u = ln(c + tau), 200,000 steps).
CREATE FUNCTION pg_temp.p_alive_numeric(r float8, alpha float8, s float8, beta float8, x float8, tx float8, tt float8)
RETURNS float8 LANGUAGE sql AS $$
    SELECT t1 / (t1 + s * i)
    FROM (SELECT (alpha + tt) ^ -(r + x) * (beta + tt) ^ -s AS t1) a,
         (SELECT sum(exp(-(r + x) * ln(alpha + tau) - (s + 1) * ln(beta + tau) + u)) * (u1 - u0) / 200000 AS i
          FROM (SELECT ln(least(alpha, beta) + tx) AS u0, ln(least(alpha, beta) + tt) AS u1) b,
               LATERAL (SELECT u0 + (k + 0.5) * (u1 - u0) / 200000 AS u FROM generate_series(0, 199999) k) g,
               LATERAL (SELECT exp(u) - least(alpha, beta) AS tau) h
          GROUP BY u0, u1) c $$;
SELECT ok(bool_and(abs(persona.p_alive((0.55, alpha, 0.61, beta, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.pareto_nbd, x, tx, 39)
                       - pg_temp.p_alive_numeric(0.55, alpha, 0.61, beta, x, tx, 39)) < 1e-6),
          'Pareto/NBD P(alive) agrees with numerical integration, series and fallback, alpha above and below beta')
FROM (VALUES (10.58, 11.67), (10.58, 0.5), (1000, 0.0001), (0.0001, 1000), (5, 5)) p(alpha, beta),
     (VALUES (0, 0), (2, 10), (5, 38.9)) c(x, tx);
SELECT * FROM finish();
ROLLBACK;
