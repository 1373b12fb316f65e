-- persona 0.4.0 -> 0.5.0: predictive models an analyst can trust.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.5.0'" to load this file. \quit

-- Only new objects, added attributes and CREATE OR REPLACE of unchanged
-- signatures, so views, indexes and materialized views over persona survive
-- the update.

------------------------------------------------------------------------
-- D. More models: MBG/NBD and BG/BB
------------------------------------------------------------------------

COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8) IS 'transition function of persona.bgnbd_fit, persona.mbgnbd_fit and persona.pareto_nbd_fit';

-- MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD in which a customer
-- may also leave right after the first purchase.  Same inputs and state as
-- bgnbd_fit.
CREATE TYPE persona.mbgnbd AS (
    r           double precision,
    alpha       double precision,
    a           double precision,
    b           double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean
);
COMMENT ON TYPE persona.mbgnbd IS
  'A fitted MBG/NBD model (Batislam, Denizel & Filiztekin 2007): purchase rate gamma(r, alpha), dropout beta(a, b) after every purchase including the first, log-likelihood';
COMMENT ON COLUMN persona.mbgnbd.r IS 'shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN persona.mbgnbd.alpha IS 'scale (in the time unit of t_x and T) of the gamma distribution of purchase rates; the mean rate is r/alpha';
COMMENT ON COLUMN persona.mbgnbd.a IS 'first shape of the beta distribution of the dropout probability p';
COMMENT ON COLUMN persona.mbgnbd.b IS 'second shape of the beta distribution of the dropout probability p; the mean p is a/(a+b)';
COMMENT ON COLUMN persona.mbgnbd.loglik IS 'log-likelihood of the data at the parameters (unpenalised)';
COMMENT ON COLUMN persona.mbgnbd.customers IS 'total weight (customers) the model was fitted on';
COMMENT ON COLUMN persona.mbgnbd.iterations IS 'optimiser iterations';
COMMENT ON COLUMN persona.mbgnbd.converged IS 'whether the optimiser converged (false: the data may not identify the model)';
CREATE FUNCTION persona.mbgnbd_finalfn(internal) RETURNS persona.mbgnbd
AS 'MODULE_PATHNAME', 'mbgnbd_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.mbgnbd_finalfn(internal) IS 'final function of persona.mbgnbd_fit';
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8, weight float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.mbgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.mbgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8) IS
  'Maximum-likelihood MBG/NBD fit over the customers'' (x, t_x, T)';
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood MBG/NBD fit over (x, t_x, T) rows with a count or weight each';
COMMENT ON AGGREGATE persona.mbgnbd_fit(float8, float8, float8, float8, float8) IS
  'MBG/NBD fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE FUNCTION persona.p_alive(model persona.mbgnbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.mbgnbd, float8, float8, float8) IS
  'Probability that a customer with this history is still active under an MBG/NBD model (below 1 also for x = 0)';
CREATE FUNCTION persona.expected_purchases(model persona.mbgnbd, t float8, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.mbgnbd, float8, float8, float8, float8) IS
  'Expected purchases in the next t periods given the customer''s history (MBG/NBD)';
CREATE FUNCTION persona.expected_purchases(model persona.mbgnbd, t float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.mbgnbd, float8) IS
  'Expected purchases in the first t periods of a newly acquired customer, E[X(t)] (MBG/NBD)';
CREATE FUNCTION persona.mbgnbd_loglik(model persona.mbgnbd, x float8, t_x float8, t_cal float8) RETURNS float8
AS 'MODULE_PATHNAME', 'mbgnbd_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.mbgnbd_loglik(persona.mbgnbd, float8, float8, float8) IS
  'One customer''s MBG/NBD log-likelihood under the model''s parameters (sum it to compare models)';
CREATE FUNCTION persona.clv(model persona.mbgnbd, spend persona.gamma_gamma,
                            x float8, t_x float8, t_cal float8, mean_spend float8, unit text,
                            months integer DEFAULT 12, monthly_discount float8 DEFAULT 0.01)
RETURNS float8 AS 'MODULE_PATHNAME', 'mbgnbd_clv' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.clv(persona.mbgnbd, persona.gamma_gamma, float8, float8, float8, float8, text, integer, float8) IS
  'Customer lifetime value over the next months: MBG/NBD expected purchases per month times Gamma-Gamma expected spend, discounted monthly; unit is the time unit of x, t_x, T (days or weeks)';
CREATE FUNCTION persona.simulate_mbgnbd(r float8, alpha float8, a float8, b float8,
                                        customers integer, period float8, seed bigint DEFAULT 0,
                                        holdout float8 DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x float8, t_cal float8, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_mbgnbd' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_mbgnbd(float8, float8, float8, float8, integer, float8, bigint, float8) IS
  'Customers simulated from MBG/NBD parameters (seeded): repeat purchases over period, and over the holdout after it';

-- BG/BB (Fader, Hardie & Shang 2010): discrete transaction opportunities.
-- A customer is (x transactions, the last at opportunity t_x, of n).
CREATE TYPE persona.bgbb AS (
    alpha       double precision,
    beta        double precision,
    gamma       double precision,
    delta       double precision,
    loglik      double precision,
    customers   bigint,
    iterations  integer,
    converged   boolean
);
COMMENT ON TYPE persona.bgbb IS
  'A fitted BG/BB model (Fader, Hardie & Shang 2010) for discrete opportunities: transaction probability beta(alpha, beta), dropout probability beta(gamma, delta), log-likelihood';
COMMENT ON COLUMN persona.bgbb.alpha IS 'first shape of the beta distribution of the transaction probability p';
COMMENT ON COLUMN persona.bgbb.beta IS 'second shape of the beta distribution of the transaction probability p; the mean p is alpha/(alpha+beta)';
COMMENT ON COLUMN persona.bgbb.gamma IS 'first shape of the beta distribution of the dropout probability theta';
COMMENT ON COLUMN persona.bgbb.delta IS 'second shape of the beta distribution of the dropout probability theta; the mean theta is gamma/(gamma+delta)';
COMMENT ON COLUMN persona.bgbb.loglik IS 'log-likelihood of the data at the parameters (unpenalised)';
COMMENT ON COLUMN persona.bgbb.customers IS 'total weight (customers) the model was fitted on';
COMMENT ON COLUMN persona.bgbb.iterations IS 'optimiser iterations';
COMMENT ON COLUMN persona.bgbb.converged IS 'whether the optimiser converged (false: the data may not identify the model)';
CREATE FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8, float8) RETURNS internal
AS 'MODULE_PATHNAME', 'bgbb_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.bgbb_finalfn(internal) RETURNS persona.bgbb
AS 'MODULE_PATHNAME', 'bgbb_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_fit_transfn(internal, float8, float8, float8, float8, float8) IS 'transition function of persona.bgbb_fit';
COMMENT ON FUNCTION persona.bgbb_finalfn(internal) IS 'final function of persona.bgbb_fit';
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = internal, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8, weight float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = internal, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.bgbb_fit(x float8, t_x float8, n float8, weight float8, penalty float8) (
    SFUNC = persona.bgbb_fit_transfn, STYPE = internal, FINALFUNC = persona.bgbb_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgbb_fit(float8, float8, float8) IS
  'Maximum-likelihood BG/BB fit over the customers'' (x, t_x, n): transactions, last transaction opportunity, opportunities';
COMMENT ON AGGREGATE persona.bgbb_fit(float8, float8, float8, float8) IS
  'Maximum-likelihood BG/BB fit over (x, t_x, n) rows with a count or weight each';
COMMENT ON AGGREGATE persona.bgbb_fit(float8, float8, float8, float8, float8) IS
  'BG/BB fit with weights and an L2 penalty on the parameters (lifetimes'' penalizer_coef)';
CREATE FUNCTION persona.p_alive(model persona.bgbb, x float8, t_x float8, n float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.p_alive(persona.bgbb, float8, float8, float8) IS
  'Probability that a customer with this history is still active at the next opportunity, n + 1 (BG/BB)';
CREATE FUNCTION persona.expected_purchases(model persona.bgbb, n_star float8, x float8, t_x float8, n float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgbb, float8, float8, float8, float8) IS
  'Expected transactions in the next n_star opportunities given the customer''s history (BG/BB)';
CREATE FUNCTION persona.expected_purchases(model persona.bgbb, n_star float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_expected_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.expected_purchases(persona.bgbb, float8) IS
  'Expected transactions in the first n_star opportunities of a newly acquired customer (BG/BB)';
CREATE FUNCTION persona.bgbb_loglik(model persona.bgbb, x float8, t_x float8, n float8) RETURNS float8
AS 'MODULE_PATHNAME', 'bgbb_loglik' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgbb_loglik(persona.bgbb, float8, float8, float8) IS
  'One customer''s BG/BB log-likelihood under the model''s parameters (sum it, times the weights, to compare models)';
CREATE FUNCTION persona.simulate_bgbb(alpha float8, beta float8, gamma float8, delta float8,
                                      customers integer, n integer, seed bigint DEFAULT 0,
                                      holdout integer DEFAULT 0)
RETURNS TABLE (customer_id bigint, x integer, t_x integer, n integer, holdout_purchases integer)
AS 'MODULE_PATHNAME', 'simulate_bgbb' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION persona.simulate_bgbb(float8, float8, float8, float8, integer, integer, bigint, integer) IS
  'Customers simulated from BG/BB parameters (seeded): transactions over opportunities 1..n, and over the holdout opportunities after them';
