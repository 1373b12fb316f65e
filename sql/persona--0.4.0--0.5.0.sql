-- persona 0.4.0 -> 0.5.0: predictive models an analyst can trust.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.5.0'" to load this file. \quit

-- Only new objects, added attributes and CREATE OR REPLACE of unchanged
-- signatures, so views, indexes and materialized views over persona survive
-- the update.

-- A. Standard errors and identification of fits; AIC, BIC and likelihood-ratio tests

-- New attributes at the end of the model types (the same order in persona.sql).
ALTER TYPE persona.bgnbd
    ADD ATTRIBUTE se_r double precision,
    ADD ATTRIBUTE se_alpha double precision,
    ADD ATTRIBUTE se_a double precision,
    ADD ATTRIBUTE se_b double precision,
    ADD ATTRIBUTE se_log_r double precision,
    ADD ATTRIBUTE se_log_alpha double precision,
    ADD ATTRIBUTE se_log_a double precision,
    ADD ATTRIBUTE se_log_b double precision,
    ADD ATTRIBUTE identified boolean,
    ADD ATTRIBUTE status text;
COMMENT ON COLUMN persona.bgnbd.se_r IS 'standard error of r (delta method from se_log_r); NULL when the information is singular or r is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_alpha IS 'standard error of alpha (delta method from se_log_alpha); NULL when the information is singular or alpha is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_a IS 'standard error of a (delta method from se_log_a); NULL when the information is singular or a is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_b IS 'standard error of b (delta method from se_log_b); NULL when the information is singular or b is at a search bound';
COMMENT ON COLUMN persona.bgnbd.se_log_r IS 'standard error of ln(r) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.se_log_alpha IS 'standard error of ln(alpha) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.se_log_a IS 'standard error of ln(a) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.se_log_b IS 'standard error of ln(b) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.bgnbd.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.bgnbd.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';
ALTER TYPE persona.pareto_nbd
    ADD ATTRIBUTE se_r double precision,
    ADD ATTRIBUTE se_alpha double precision,
    ADD ATTRIBUTE se_s double precision,
    ADD ATTRIBUTE se_beta double precision,
    ADD ATTRIBUTE se_log_r double precision,
    ADD ATTRIBUTE se_log_alpha double precision,
    ADD ATTRIBUTE se_log_s double precision,
    ADD ATTRIBUTE se_log_beta double precision,
    ADD ATTRIBUTE identified boolean,
    ADD ATTRIBUTE status text;
COMMENT ON COLUMN persona.pareto_nbd.se_r IS 'standard error of r (delta method from se_log_r); NULL when the information is singular or r is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_alpha IS 'standard error of alpha (delta method from se_log_alpha); NULL when the information is singular or alpha is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_s IS 'standard error of s (delta method from se_log_s); NULL when the information is singular or s is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_beta IS 'standard error of beta (delta method from se_log_beta); NULL when the information is singular or beta is at a search bound';
COMMENT ON COLUMN persona.pareto_nbd.se_log_r IS 'standard error of ln(r) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.se_log_alpha IS 'standard error of ln(alpha) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.se_log_s IS 'standard error of ln(s) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.se_log_beta IS 'standard error of ln(beta) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.pareto_nbd.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.pareto_nbd.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';
ALTER TYPE persona.gamma_gamma
    ADD ATTRIBUTE se_p double precision,
    ADD ATTRIBUTE se_q double precision,
    ADD ATTRIBUTE se_v double precision,
    ADD ATTRIBUTE se_log_p double precision,
    ADD ATTRIBUTE se_log_q double precision,
    ADD ATTRIBUTE se_log_v double precision,
    ADD ATTRIBUTE identified boolean,
    ADD ATTRIBUTE status text;
COMMENT ON COLUMN persona.gamma_gamma.se_p IS 'standard error of p (delta method from se_log_p); NULL when the information is singular or p is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_q IS 'standard error of q (delta method from se_log_q); NULL when the information is singular or q is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_v IS 'standard error of v (delta method from se_log_v); NULL when the information is singular or v is at a search bound';
COMMENT ON COLUMN persona.gamma_gamma.se_log_p IS 'standard error of ln(p) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.se_log_q IS 'standard error of ln(q) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.se_log_v IS 'standard error of ln(v) from the observed information at the optimum (of the penalised objective when a penalty is given)';
COMMENT ON COLUMN persona.gamma_gamma.identified IS 'false when the observed information is singular, a standard error of a log parameter exceeds 2, or a parameter ran to a search bound (a WARNING says which)';
COMMENT ON COLUMN persona.gamma_gamma.status IS 'ok, not converged, not identified: <parameters that move together>, or boundary: <parameter> -> 0 | infinity';

-- Information criteria and the likelihood-ratio test: which model fits better, in one query.
CREATE FUNCTION persona.aic(model persona.bgnbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 4 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.aic(model persona.pareto_nbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 4 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.aic(model persona.gamma_gamma) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 2 * 3 - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.bgnbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 4 * ln(($1).customers) - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.pareto_nbd) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 4 * ln(($1).customers) - 2 * ($1).loglik$$;
CREATE FUNCTION persona.bic(model persona.gamma_gamma) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$SELECT 3 * ln(($1).customers) - 2 * ($1).loglik$$;
COMMENT ON FUNCTION persona.aic(persona.bgnbd) IS
  'Akaike information criterion of a BG/NBD fit: 2k - 2 loglik with k = 4 (lower is better)';
COMMENT ON FUNCTION persona.aic(persona.pareto_nbd) IS
  'Akaike information criterion of a Pareto/NBD fit: 2k - 2 loglik with k = 4 (lower is better)';
COMMENT ON FUNCTION persona.aic(persona.gamma_gamma) IS
  'Akaike information criterion of a Gamma-Gamma fit: 2k - 2 loglik with k = 3 (lower is better)';
COMMENT ON FUNCTION persona.bic(persona.bgnbd) IS
  'Bayesian information criterion of a BG/NBD fit: k ln(n) - 2 loglik with k = 4, n = customers (the sum of weights)';
COMMENT ON FUNCTION persona.bic(persona.pareto_nbd) IS
  'Bayesian information criterion of a Pareto/NBD fit: k ln(n) - 2 loglik with k = 4, n = customers (the sum of weights)';
COMMENT ON FUNCTION persona.bic(persona.gamma_gamma) IS
  'Bayesian information criterion of a Gamma-Gamma fit: k ln(n) - 2 loglik with k = 3, n = customers (the repeat buyers fitted)';
CREATE FUNCTION persona.lr_test(restricted_loglik float8, full_loglik float8,
                                OUT statistic float8, INOUT df integer, OUT p_value float8)
AS 'MODULE_PATHNAME', 'lr_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.lr_test(float8, float8, integer) IS
  'Likelihood-ratio test of nested fits: statistic 2 (full_loglik - restricted_loglik), chi-square(df) upper-tail p-value; df = parameters the full model adds';
