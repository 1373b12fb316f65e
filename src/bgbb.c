/*
 * bgbb.c — the BG/BB model (Fader, Hardie & Shang 2010; lifetimes'
 * BetaGeoBetaBinomFitter) for discrete-time, opportunity-based data: a
 * charity's yearly appeals, a newsletter's issues, a yearly event.
 *
 * While "alive" a customer transacts at each opportunity with probability
 * p, p ~ beta(α, β) across customers; at the start of each opportunity a
 * living customer leaves for good with probability θ, θ ~ beta(γ, δ).  A
 * customer is summarised by x transactions in n opportunities, the last at
 * opportunity t_x (FHS 2010 eq. 5):
 *   L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
 *     + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)
 * The sum's terms shrink, each the previous times two ratios below 1, so
 * it is summed by that recurrence relative to its first term, in logs: no
 * lgamma inside the loop and no overflow or underflow for long histories.
 * The gradient is analytic (digamma differences, stepped along the sum).
 * Discrete data have few distinct histories (at most (n+1)(n+2)/2 per n),
 * so a fit is cheap however many customers there are.
 */
#include "persona.h"

#include <math.h>

#include "btyd.h"
#include "miscadmin.h"

/* the longest history accepted (the likelihood sums up to n terms) */
#define BGBB_MAX_OPPORTUNITIES 1000000
/* horizons up to this many opportunities are summed term by term */
#define BGBB_SUM_MAX 1000000

PG_FUNCTION_INFO_V1(bgbb_fit_transfn);
PG_FUNCTION_INFO_V1(bgbb_finalfn);
PG_FUNCTION_INFO_V1(bgbb_p_alive);
PG_FUNCTION_INFO_V1(bgbb_expected);
PG_FUNCTION_INFO_V1(bgbb_expected_new);
PG_FUNCTION_INFO_V1(bgbb_loglik);

/* ln B(a, b) */
static inline double
log_beta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/*
 * Check one customer's summary: whole numbers 0 <= x <= t_x <= n, t_x = 0
 * when x = 0 (t_x is the opportunity of the last transaction, 1..n).
 * n = 0 (no opportunity yet) is valid and changes nothing in a fit.
 */
static void
bgbb_check_summary(double x, double tx, double n)
{
	persona_check_finite(x, "x");
	persona_check_finite(tx, "t_x");
	persona_check_finite(n, "n");
	if (x != rint(x) || tx != rint(tx) || n != rint(n) || x < 0 || x > tx || tx > n ||
		(x == 0 && tx != 0) || n > BGBB_MAX_OPPORTUNITIES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid BG/BB customer summary (x = %g, t_x = %g, n = %g)", x, tx, n),
				 errdetail("Need whole numbers 0 <= x <= t_x <= n <= %d, and t_x = 0 when x = 0.",
						   BGBB_MAX_OPPORTUNITIES),
				 errhint("x is the number of opportunities with a transaction, t_x the last of them (1..n), n the opportunities observed.")));
}

/* A horizon of n* opportunities: a whole number >= 0. */
static void
bgbb_check_horizon(double t)
{
	btyd_check_horizon(t);
	if (t != rint(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the BG/BB horizon must be a whole number of opportunities, not %g", t)));
}

/*
 * ln L of one customer at parameters α, β, γ, δ (FHS 2010 eq. 5), and when
 * g is not NULL its derivatives with respect to α, β, γ, δ: each term's
 * log is a sum of ln B, whose derivatives are digamma differences; along
 * the sum they change by 1/z steps (ψ(z+1) = ψ(z) + 1/z), so the loop adds
 * no digamma calls.
 */
static double
bgbb_row_loglik_grad(double alpha, double beta, double gamma, double delta,
					 double x, double tx, double n, double *g)
{
	double		alive = log_beta(alpha + x, beta + n - x) + log_beta(gamma, delta + n);
	double		left = -INFINITY, ll;
	double		sum = 1, s_ab = 0, s_b = 0, s_gd = 0, s_d = 0;	/* Σ r_i, Σ r_i ψ(...) */
	double		psi_ax = 0;

	if (g)
		psi_ax = persona_digamma(alpha + x);
	if (n - tx >= 1)
	{
		double		term = 1;
		double		p_ab = 0, p_b = 0, p_gd = 0, p_d = 0;

		if (g)
		{
			p_ab = persona_digamma(alpha + beta + tx);
			p_b = persona_digamma(beta + tx - x);
			p_gd = persona_digamma(gamma + delta + 1 + tx);
			p_d = persona_digamma(delta + tx);
			s_ab = p_ab, s_b = p_b, s_gd = p_gd, s_d = p_d;
		}
		for (double i = 0; i < n - tx - 1; i++)
		{
			term *= (beta + tx - x + i) / (alpha + beta + tx + i) *
				(delta + tx + i) / (gamma + 1 + delta + tx + i);
			sum += term;
			if (g)
			{
				p_ab += 1 / (alpha + beta + tx + i);
				p_b += 1 / (beta + tx - x + i);
				p_gd += 1 / (gamma + delta + 1 + tx + i);
				p_d += 1 / (delta + tx + i);
				s_ab += term * p_ab;
				s_b += term * p_b;
				s_gd += term * p_gd;
				s_d += term * p_d;
			}
			PERSONA_CHECK_INTERRUPTS_EVERY((int64) i + 1, 16);
		}
		left = log_beta(alpha + x, beta + tx - x) + log_beta(gamma + 1, delta + tx) + log(sum);
	}
	ll = logsumexp(alive, left);
	if (g)
	{
		double		wa = exp(alive - ll), wl = exp(left - ll);	/* the two parts' shares of L */
		double		psi_ab = persona_digamma(alpha + beta), psi_gd = persona_digamma(gamma + delta);
		double		psi_abn = persona_digamma(alpha + beta + n), psi_gdn = persona_digamma(gamma + delta + n);

		/* the sum's terms' mean derivatives are Σ r_i ∂T_i / Σ r_i */
		g[0] = wa * (psi_ax - psi_abn) + wl * (psi_ax - s_ab / sum) - (persona_digamma(alpha) - psi_ab);
		g[1] = wa * (persona_digamma(beta + n - x) - psi_abn) + wl * (s_b - s_ab) / sum -
			(persona_digamma(beta) - psi_ab);
		g[2] = wa * (persona_digamma(gamma) - persona_digamma(gamma + delta + n)) +
			wl * (persona_digamma(gamma + 1) - s_gd / sum) - (persona_digamma(gamma) - psi_gd);
		g[3] = wa * (persona_digamma(delta + n) - psi_gdn) + wl * (s_d - s_gd) / sum -
			(persona_digamma(delta) - psi_gd);
	}
	return ll - log_beta(alpha, beta) - log_beta(gamma, delta);
}

static double
bgbb_row_loglik(double alpha, double beta, double gamma, double delta,
				double x, double tx, double n)
{
	return bgbb_row_loglik_grad(alpha, beta, gamma, delta, x, tx, n, NULL);
}

/* Log-likelihood of all rows (x, t_x, n) at log-parameters p, and its gradient when g is not NULL. */
static double
bb_value_grad(void *data, const double *p, double *g)
{
	const FitData *d = data;
	double		m[4] = {exp(p[0]), exp(p[1]), exp(p[2]), exp(p[3])};
	double		ll = 0;

	if (g)
		g[0] = g[1] = g[2] = g[3] = 0;
	for (int64 i = 0; i < d->n; i++)
	{
		const FitRow *o = &d->rows[i];
		double		gr[4];

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 10);
		ll += o->w * bgbb_row_loglik_grad(m[0], m[1], m[2], m[3], o->k1, o->k2, o->k3, g ? gr : NULL);
		if (g)
			for (int k = 0; k < 4; k++)
				g[k] += o->w * gr[k] * m[k];	/* chain rule to the log-parameters */
	}
	return ll;
}

static double
bb_value(void *data, const double *p)
{
	return bb_value_grad(data, p, NULL);
}

/* P(alive at opportunity n+1 | x, t_x, n) (FHS 2010 eq. 11) */
static double
bb_p_alive(const double *m, double x, double tx, double n)
{
	double		alpha = m[0], beta = m[1], gamma = m[2], delta = m[3];

	return exp(log_beta(alpha + x, beta + n - x) + log_beta(gamma, delta + n + 1)
			   - log_beta(alpha, beta) - log_beta(gamma, delta)
			   - bgbb_row_loglik(alpha, beta, gamma, delta, x, tx, n));
}

/*
 * ln Γ(z+a) − ln Γ(z+b).  For large z the difference of two lgamma values
 * near z ln z loses digits, so it is summed from the asymptotic series
 * (a−b) ln z + Σ_k (−1)^(k+1) [B_{k+1}(a) − B_{k+1}(b)] / (k(k+1) z^k)
 * (Bernoulli polynomials B2, B3, B4), whose next term is below 1e-16 there.
 */
static double
lgamma_ratio(double z, double a, double b)
{
	double		b2, b3, b4;

	if (z < 1e4 * (1 + a * a + b * b))
		return lgamma(z + a) - lgamma(z + b);
	b2 = (a * a - a) - (b * b - b);
	b3 = (a * a * a - 1.5 * a * a + 0.5 * a) - (b * b * b - 1.5 * b * b + 0.5 * b);
	b4 = (a * a * a * a - 2 * a * a * a + a * a) - (b * b * b * b - 2 * b * b * b + b * b);
	return (a - b) * log(z) + b2 / (2 * z) - b3 / (6 * z * z) + b4 / (12 * z * z * z);
}

/*
 * ln Σ_{m=n0}^{n0+ns−1} B(γ, δ+m+1)/B(γ, δ), ns >= 1: the log of the expected
 * number of the ns opportunities after n0 at which a customer alive at n0
 * is still alive.  Term by term up to BGBB_SUM_MAX terms (exact for every
 * γ), relative to the first term so that nothing underflows; beyond, the
 * telescoped closed form of FHS 2010 eq. 13, δ/(γ−1) Γ(γ+δ)/Γ(1+δ)
 * [Γ(1+δ+n0)/Γ(γ+δ+n0) − Γ(1+δ+n0+ns)/Γ(γ+δ+n0+ns)], or its γ = 1 limit.
 */
static double
bgbb_log_survival_sum(double gamma, double delta, double n0, double ns)
{
	double		u0, u1;

	if (ns <= BGBB_SUM_MAX)
	{
		double		term = 1, sum = 0;

		for (double m = n0; m < n0 + ns; m++)
		{
			sum += term;
			term *= (delta + m + 1) / (gamma + delta + m + 1);
			PERSONA_CHECK_INTERRUPTS_EVERY((int64) (m - n0) + 1, 16);
		}
		return log_beta(gamma, delta + n0 + 1) - log_beta(gamma, delta) + log(sum);
	}
	if (gamma == 1)
		return log(delta) + log(persona_digamma(delta + n0 + ns + 1) - persona_digamma(delta + n0 + 1));
	u0 = lgamma_ratio(n0, 1 + delta, gamma + delta);
	u1 = lgamma_ratio(n0 + ns, 1 + delta, gamma + delta);
	/* δ/(γ−1) and −expm1(u1 − u0) have the same sign */
	return log(delta) + lgamma(gamma + delta) - lgamma(1 + delta) + u0 +
		log(-expm1(u1 - u0) / (gamma - 1));
}

/*
 * Expected transactions in the next ns opportunities given (x, t_x, n)
 * (FHS 2010 eq. 13): B(α+x+1, β+n−x)/B(α,β) / L times the survival sum,
 * in logs (each factor alone can overflow or underflow).  With
 * x = t_x = n = 0 (L = 1) it is E[X(ns)] of a new customer (eq. 7),
 * α/(α+β) Σ_{t=1}^{ns} B(γ, δ+t)/B(γ, δ).
 */
static double
bb_expected(const double *m, double ns, double x, double tx, double n)
{
	double		alpha = m[0], beta = m[1], gamma = m[2], delta = m[3];

	if (ns == 0)
		return 0.0;
	return exp(log_beta(alpha + x + 1, beta + n - x) - log_beta(alpha, beta)
			   - bgbb_row_loglik(alpha, beta, gamma, delta, x, tx, n)
			   + bgbb_log_survival_sum(gamma, delta, n, ns));
}

const BtydModel bgbb_model = {"BG/BB", 4, bb_value, bb_value_grad, bb_p_alive, bb_expected,
	bgbb_check_summary, bgbb_check_horizon, NULL};

/* SQL: (state, x, t_x, n [, weight [, penalty]]) */
Datum
bgbb_fit_transfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_trans(fcinfo, FIT_OPPORTUNITIES);
}

Datum
bgbb_finalfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_final(fcinfo, &bgbb_model);
}

Datum
bgbb_p_alive(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_call(fcinfo, &bgbb_model);
}

Datum
bgbb_expected(PG_FUNCTION_ARGS)
{
	return btyd_expected_call(fcinfo, &bgbb_model);
}

Datum
bgbb_expected_new(PG_FUNCTION_ARGS)
{
	return btyd_expected_new_call(fcinfo, &bgbb_model);
}

Datum
bgbb_loglik(PG_FUNCTION_ARGS)
{
	return btyd_loglik_call(fcinfo, &bgbb_model);
}
