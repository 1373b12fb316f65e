-- BG/BB (Fader, Hardie & Shang 2010) on the donations data: 11,104 first-time
-- donors of 1995 and their repeat donations over the 6 yearly appeals
-- 1996-2001 (22 distinct histories with counts).  Published estimates:
-- alpha 1.204, beta 0.750, gamma 0.657, delta 2.783, LL -33225.6.
CREATE TABLE d (x float8, t_x float8, n float8, w float8);
\copy d FROM 'data/donations.csv' WITH (FORMAT csv, HEADER)
SELECT count(*) AS histories, sum(w) AS donors FROM d;
CREATE TABLE m AS SELECT persona.bgbb_fit(x, t_x, n, w) AS m FROM d;
SELECT round((m).alpha::numeric, 3) AS alpha, round((m).beta::numeric, 3) AS beta,
       round((m).gamma::numeric, 3) AS gamma, round((m).delta::numeric, 2) AS delta,
       round((m).loglik::numeric, 2) AS loglik, (m).customers, (m).converged,
       abs((m).alpha - 1.204) < 0.001 AND abs((m).beta - 0.750) < 0.001
       AND abs((m).gamma - 0.657) < 0.001 AND abs((m).delta - 2.783) < 0.002 AS published
FROM m;
-- The BG/BB likelihood in SQL from its definition, without lgamma: for whole
-- k, l, B(a+k, b+l)/B(a, b) = prod_{j<k} (a+j)/(a+b+j) * prod_{j<l} (b+j)/(a+b+k+j),
--   L = B(al+x, be+n-x)/B(al,be) B(ga, de+n)/B(ga,de)
--     + sum_{i=0}^{n-t_x-1} B(al+x, be+t_x-x+i)/B(al,be) B(ga+1, de+t_x+i)/B(ga,de).
CREATE FUNCTION bratio(a float8, b float8, k int, l int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT exp(coalesce((SELECT sum(ln((a + j) / (a + b + j))) FROM generate_series(0, k - 1) j), 0)
               + coalesce((SELECT sum(ln((b + j) / (a + b + k + j))) FROM generate_series(0, l - 1) j), 0)) $$;
CREATE FUNCTION bb_l(m persona.bgbb, x int, tx int, n int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT bratio((m).alpha, (m).beta, x, n - x) * bratio((m).gamma, (m).delta, 0, n)
         + coalesce((SELECT sum(bratio((m).alpha, (m).beta, x, tx - x + i) * bratio((m).gamma, (m).delta, 1, tx + i))
                     FROM generate_series(0, n - tx - 1) i), 0) $$;
-- It agrees with the fit's log-likelihood, and moving any parameter 1% either way lowers it.
SELECT abs(sum(w * ln(bb_l(m, x::int, t_x::int, n::int))) - (m).loglik) < 1e-6 AS same_loglik,
       round(sum(w * ln(bb_l(m, x::int, t_x::int, n::int)))::numeric, 2) AS sql_loglik
FROM d, m GROUP BY m.m;
SELECT bool_and(ll < (m).loglik) AS is_maximum
FROM m, (VALUES (1.01, 1, 1, 1), (0.99, 1, 1, 1), (1, 1.01, 1, 1), (1, 0.99, 1, 1),
                (1, 1, 1.01, 1), (1, 1, 0.99, 1), (1, 1, 1, 1.01), (1, 1, 1, 0.99)) v(f1, f2, f3, f4),
     LATERAL (SELECT sum(w * ln(bb_l(((m).alpha * f1, (m).beta * f2, (m).gamma * f3, (m).delta * f4, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb,
                                      x::int, t_x::int, n::int))) AS ll FROM d) q;
-- Per-history log-likelihoods, weighted, sum to the fit's.
SELECT round(sum(w * persona.bgbb_loglik(m, x, t_x, n))::numeric, 2) AS summed FROM d, m;
-- P(alive at opportunity 7) and expected donations over the next 5 appeals,
-- per history (FHS 2010 table 3 and figure 8 show the same quantities).
SELECT x, t_x, n, w, round(persona.p_alive(m, x, t_x, n)::numeric, 4) AS p_alive,
       round(persona.expected_purchases(m, 5, x, t_x, n)::numeric, 4) AS next_5
FROM d, m ORDER BY x, t_x;
-- Against the discrete definitions, summed here:
--   P(alive at n+1) = B(al+x, be+n-x)/B(al,be) B(ga, de+n+1)/B(ga,de) / L,
--   E[X(n, n+n*)] = sum_{k=1}^{n*} B(al+x+1, be+n-x)/B(al,be) B(ga, de+n+k)/B(ga,de) / L.
SELECT count(*) AS histories,
       count(*) FILTER (WHERE abs(persona.p_alive(m, x, t_x, n) - pa) < 1e-12) AS p_alive_agrees,
       count(*) FILTER (WHERE abs(persona.expected_purchases(m, 5, x, t_x, n) - e) < 1e-12) AS expected_agrees
FROM d, m,
     LATERAL (SELECT bratio((m).alpha, (m).beta, x::int, (n - x)::int) * bratio((m).gamma, (m).delta, 0, n::int + 1)
                     / bb_l(m, x::int, t_x::int, n::int) AS pa,
                     (SELECT sum(bratio((m).alpha, (m).beta, x::int + 1, (n - x)::int) * bratio((m).gamma, (m).delta, 0, n::int + k))
                      FROM generate_series(1, 5) k) / bb_l(m, x::int, t_x::int, n::int) AS e) q;
-- And against the individual-level model, integrated over the mixing
-- distributions (a 400 x 400 midpoint rule in u, v with p = 1 - u^(1/beta),
-- theta = v^(1/gamma), which removes the densities' singularities): a
-- customer with (p, theta) transacts at each opportunity with probability p
-- and leaves before it with probability theta.
CREATE TABLE grid AS
SELECT 1 - ((i - 0.5) / 400) ^ (1 / (m).beta) AS p, ((j - 0.5) / 400) ^ (1 / (m).gamma) AS th,
       (1 - ((i - 0.5) / 400) ^ (1 / (m).beta)) ^ ((m).alpha - 1)
       * (1 - ((j - 0.5) / 400) ^ (1 / (m).gamma)) ^ ((m).delta - 1) AS dens
FROM m, generate_series(1, 400) i, generate_series(1, 400) j;
SELECT h.x, h.t_x, h.n,
       abs(sum(dens * alive) / sum(dens * lik) - persona.p_alive(m, h.x, h.t_x, h.n)) < 1e-4 AS p_alive_integral,
       abs(sum(dens * next5) / sum(dens * lik) - persona.expected_purchases(m, 5, h.x, h.t_x, h.n)) < 1e-4 AS expected_integral,
       abs(ln(sum(dens * lik) / sum(dens)) - persona.bgbb_loglik(m, h.x, h.t_x, h.n)) < 1e-4 AS loglik_integral
FROM m, (VALUES (0, 0, 6), (1, 1, 6), (3, 5, 6), (6, 6, 6)) h(x, t_x, n), grid g,
     LATERAL (SELECT g.p ^ h.x * (1 - g.p) ^ (h.n - h.x) * (1 - g.th) ^ h.n
                     + coalesce((SELECT sum(g.p ^ h.x * (1 - g.p) ^ (h.t_x - h.x + i) * g.th * (1 - g.th) ^ (h.t_x + i))
                                 FROM generate_series(0, h.n - h.t_x - 1) i), 0) AS lik,
                     g.p ^ h.x * (1 - g.p) ^ (h.n - h.x) * (1 - g.th) ^ (h.n + 1) AS alive,
                     (SELECT sum(g.p ^ (h.x + 1) * (1 - g.p) ^ (h.n - h.x) * (1 - g.th) ^ (h.n + k)) FROM generate_series(1, 5) k) AS next5) l
GROUP BY h.x, h.t_x, h.n, m.m ORDER BY h.x, h.t_x;
-- A new donor: the conditional expectation at x = t_x = n = 0, and
-- alpha/(alpha+beta) sum_{t=1}^{n} B(ga, de+t)/B(ga,de).
SELECT round(persona.expected_purchases(m, 6)::numeric, 4) AS e6,
       persona.expected_purchases(m, 6) = persona.expected_purchases(m, 6, 0, 0, 0) AS same_as_conditional,
       abs(persona.expected_purchases(m, 6) - (m).alpha / ((m).alpha + (m).beta)
           * (SELECT sum(bratio((m).gamma, (m).delta, 0, t)) FROM generate_series(1, 6) t)) < 1e-12 AS definition,
       persona.expected_purchases(m, 0) AS e0
FROM m;
-- In-sample: expected donations over 6 appeals per new donor, times the
-- donors, against the actual total.
SELECT round((persona.expected_purchases(m, 6) * 11104)::numeric) AS expected, sum(w * x) AS actual FROM d, m GROUP BY m.m;
-- Horizons beyond 10^6 opportunities use the closed form (FHS 2010 eq. 13)
-- instead of the sum, and gamma = 1 its limit (between gamma = 1 -+ 1e-7).
-- The increments (expected donations at one opportunity) on either side of
-- the switch agree.
SELECT abs((e1 - e0) - (e0 - em)) < 1e-4 * (e0 - em) AS continuous, round(e0::numeric, 1) AS at_1e6
FROM (SELECT persona.expected_purchases(m, 999999, 3, 5, 6) AS em,
             persona.expected_purchases(m, 1000000, 3, 5, 6) AS e0,
             persona.expected_purchases(m, 1000001, 3, 5, 6) AS e1 FROM m) q;
SELECT abs(g0 - (g1 + g2) / 2) < 1e-9 * g0 AS gamma_one, abs((e1 - e0) - 3 * (e0 - em)) < 1e-4 * (e0 - em) AS gamma_one_joins
FROM (SELECT persona.expected_purchases((1.2, 0.75, 1, 2.8, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 2000000, 3, 5, 6) AS g0,
             persona.expected_purchases((1.2, 0.75, 1.0000001, 2.8, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 2000000, 3, 5, 6) AS g1,
             persona.expected_purchases((1.2, 0.75, 0.9999999, 2.8, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 2000000, 3, 5, 6) AS g2,
             persona.expected_purchases((1.2, 0.75, 1, 2.8, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 999999, 3, 5, 6) AS em,
             persona.expected_purchases((1.2, 0.75, 1, 2.8, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 1000000, 3, 5, 6) AS e0,
             persona.expected_purchases((1.2, 0.75, 1, 2.8, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 1000003, 3, 5, 6) AS e1) q;
-- Histories with n = 0 change nothing; the same fit from one row per donor.
SELECT (persona.bgbb_fit(x, t_x, n, w)).loglik = (SELECT (m).loglik FROM m) AS n0_ignored
FROM (SELECT x, t_x, n, w FROM d UNION ALL SELECT 0, 0, 0, 5) q;
SELECT round((persona.bgbb_fit(x, t_x, n)).loglik::numeric, 2) AS unweighted_loglik
FROM d, generate_series(1, w::int);
-- Bad input.
SELECT persona.bgbb_fit(x, t_x, n) FROM d WHERE x = 0;
SELECT persona.bgbb_fit(1.5, 2, 6);
SELECT persona.bgbb_fit(1, 2.5, 6);
SELECT persona.bgbb_fit(3, 2, 6);
SELECT persona.bgbb_fit(1, 7, 6);
SELECT persona.bgbb_fit(0, 2, 6);
SELECT persona.bgbb_fit(-1, 0, 6);
SELECT persona.bgbb_fit(1, 1, 2000000);
SELECT persona.bgbb_fit(1, 1, 'NaN');
SELECT persona.bgbb_fit(x, t_x, n, -1) FROM d;
SELECT persona.p_alive(m, 1, 0, 6) FROM m;
SELECT persona.expected_purchases(m, 2.5, 1, 1, 6) FROM m;
SELECT persona.expected_purchases(m, -1) FROM m;
SELECT persona.p_alive((1, 'Infinity', 1, 1, 0, 0, 0, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::persona.bgbb, 1, 1, 2);
SELECT persona.bgbb_fit(x, t_x, n, w) IS NULL AS no_rows FROM d WHERE false;
DROP TABLE d, m, grid;
DROP FUNCTION bb_l, bratio;
