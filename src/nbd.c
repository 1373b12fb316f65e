/*
 * nbd.c — the NBD purchase model (Ehrenberg 1959; BTYDplus's nbd.*): each
 * customer buys as a Poisson process whose rate is gamma(r, α) across
 * customers, and never drops out.  It is the limit of BG/NBD, MBG/NBD and
 * Pareto/NBD without dropout, so a likelihood-ratio test of it against
 * them asks whether the data show dropout at all.
 *
 * Per customer with x repeat purchases observed for T (t_x does not
 * matter: without dropout only the count says anything):
 *   LL = lnΓ(r+x) − lnΓ(r) + r ln α − (r+x) ln(α+T)
 * the density of the purchase times, as in BG/NBD's likelihood (not of the
 * count alone, which would add x ln T − ln x!): the limits of the dropout
 * models have exactly this likelihood.  With α → ∞ and r/α fixed every
 * customer has the same rate: a Poisson process (the fit says so).
 */
#include "persona.h"

#include <math.h>

#include "btyd.h"
#include "fit_times.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(nbd_finalfn);
PG_FUNCTION_INFO_V1(nbd_p_alive);
PG_FUNCTION_INFO_V1(nbd_expected);
PG_FUNCTION_INFO_V1(nbd_expected_new);
PG_FUNCTION_INFO_V1(nbd_loglik);
PG_FUNCTION_INFO_V1(nbd_p_alive_summary);
PG_FUNCTION_INFO_V1(nbd_expected_summary);
PG_FUNCTION_INFO_V1(nbd_count_probability);

/*
 * Log-likelihood of all rows at log-parameters p, and its gradient with
 * respect to p when g is not NULL.  Rows are sorted by x, so the lgamma
 * and digamma terms are computed once per distinct x, and ln(alpha + T)
 * once per distinct T (fit_times.c).
 */
static double
nbd_core(const FitData *d, const double *p, double *g)
{
	double		r = exp(p[0]), alpha = exp(p[1]);
	double		lalpha = p[1];
	double		base = -lgamma(r) + r * lalpha;
	double		psi_r = g ? persona_digamma(r) : 0;
	double		ll = 0, gr = 0, galpha = 0;
	double		lastx = -1, lg = 0, dr = 0;
	FitTimes   *times = fit_times(d);

	if (times)
		for (int j = 0; j < times->T.n; j++)
			times->log_T[j] = log(alpha + times->T.values[j]);
	for (int64 i = 0; i < d->n; i++)
	{
		const FitRow *o = &d->rows[i];
		double		x = o->k1, w = o->w;
		double		lT = times ? times->log_T[times->T.index[i]] : log(alpha + o->k3);

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		if (x != lastx)
		{
			lastx = x;
			lg = lgamma(r + x) + base;
			if (g)
				dr = persona_digamma(r + x) - psi_r + lalpha;
		}
		ll += w * (lg - (r + x) * lT);
		if (g)
		{
			gr += w * (dr - lT);
			galpha += w * (r / alpha - (r + x) / (alpha + o->k3));
		}
	}
	if (g)
	{
		/* chain rule to the log-parameters */
		g[0] = gr * r;
		g[1] = galpha * alpha;
	}
	return ll;
}

static double
nbd_value_grad(void *data, const double *p, double *g)
{
	return nbd_core(data, p, g);
}

static double
nbd_value(void *data, const double *p)
{
	return nbd_core(data, p, NULL);
}

/* No dropout: every customer is alive. */
static double
nbd_alive_value(const double *m, double x, double tx, double T)
{
	return 1.0;
}

/*
 * Expected purchases in the next t periods given x purchases in T: the
 * posterior rate is gamma(r + x, α + T), so t (r + x) / (α + T); a new
 * customer (x = T = 0) r t / α.
 */
static double
nbd_expected_value(const double *m, double t, double x, double tx, double T)
{
	return t * (m[0] + x) / (m[1] + T);
}

/*
 * P(X(t) = n) for a new customer: negative binomial,
 *   Γ(r+n) / (Γ(r) n!) (α/(α+t))^r (t/(α+t))^n
 */
static double
nbd_count_value(const double *m, double t, int n)
{
	double		r = m[0], alpha = m[1];

	if (t == 0)
		return n == 0 ? 1.0 : 0.0;
	return exp(lgamma(r + n) - lgamma(r) - lgamma(n + 1.0) +
			   r * (log(alpha) - log(alpha + t)) + n * (log(t) - log(alpha + t)));
}

const BtydModel nbd_model = {"NBD", 2, nbd_value, nbd_value_grad, nbd_alive_value, nbd_expected_value,
	btyd_check_summary, btyd_check_horizon, nbd_count_value};

/* SQL: the fit's final function and the scoring functions */
Datum
nbd_finalfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_final(fcinfo, &nbd_model);
}

Datum
nbd_p_alive(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_call(fcinfo, &nbd_model);
}

Datum
nbd_expected(PG_FUNCTION_ARGS)
{
	return btyd_expected_call(fcinfo, &nbd_model);
}

Datum
nbd_expected_new(PG_FUNCTION_ARGS)
{
	return btyd_expected_new_call(fcinfo, &nbd_model);
}

Datum
nbd_loglik(PG_FUNCTION_ARGS)
{
	return btyd_loglik_call(fcinfo, &nbd_model);
}

Datum
nbd_p_alive_summary(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_summary_call(fcinfo, &nbd_model);
}

Datum
nbd_expected_summary(PG_FUNCTION_ARGS)
{
	return btyd_expected_summary_call(fcinfo, &nbd_model);
}

/* SQL: P(X(t) = n) of a new customer (model, t, n) */
Datum
nbd_count_probability(PG_FUNCTION_ARGS)
{
	return btyd_count_probability_call(fcinfo, &nbd_model);
}
