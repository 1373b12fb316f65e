/*
 * bgnbd.c — the BG/NBD model (Fader, Hardie & Lee 2005) and its variant
 * MBG/NBD (Batislam, Denizel & Filiztekin 2007): fitting by maximum
 * likelihood inside the database, P(alive) and expected purchases.
 *
 * Per customer with x repeat purchases, last at t_x, observed for T:
 *   LL = lnΓ(r+x) − lnΓ(r) + r ln α
 *      + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
 *      + ln[ (α+T)^−(r+x) + [x>0] a/(b+x−1) (α+t_x)^−(r+x) ]
 * The last term is a log-sum-exp.  Parameters are optimised on the log
 * scale (so they stay positive) with BFGS (optim.c) and the analytic
 * gradient, one pass over the data per step; the data are reduced to
 * distinct (x, t_x, T) with counts (fitstate.c), which is also what
 * parallel workers combine.
 */
#include "persona.h"

#include <math.h>

#include "btyd.h"
#include "fit_times.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(bgnbd_finalfn);
PG_FUNCTION_INFO_V1(bgnbd_fit_rows);
PG_FUNCTION_INFO_V1(bgnbd_p_alive);
PG_FUNCTION_INFO_V1(bgnbd_expected);
PG_FUNCTION_INFO_V1(bgnbd_expected_new);
PG_FUNCTION_INFO_V1(bgnbd_loglik);
PG_FUNCTION_INFO_V1(bgnbd_p_alive_summary);
PG_FUNCTION_INFO_V1(bgnbd_expected_summary);
PG_FUNCTION_INFO_V1(bgnbd_count_probability);

/*
 * Log-likelihood of all rows at log-parameters p, and its gradient with
 * respect to p when g is not NULL.  Rows are sorted by x, so the lgamma and
 * digamma terms that depend on x only are computed once per distinct x.
 *
 * BG/NBD and MBG/NBD (Batislam, Denizel & Filiztekin 2007) share it: in
 * MBG/NBD a customer may also leave right after the first purchase, which
 * shifts b + x to b + x + 1 in the beta terms and gives the dropout term
 * a/(b+x) to every customer, x = 0 included (s = 1 below; BG/NBD s = 0).
 * Inlined with a constant flag, each model gets its own loop.
 */
static pg_attribute_always_inline double
bg_core(const FitData *d, const double *p, double *g, bool modified)
{
	double		r = exp(p[0]), alpha = exp(p[1]), a = exp(p[2]), b = exp(p[3]);
	double		lalpha = log(alpha), la = log(a);
	double		s = modified ? 1 : 0;
	double		ll = 0, gr = 0, galpha = 0, ga = 0, gb = 0;
	double		lastx = -1, lg = 0, dr = 0, dab = 0, db = 0;
	double		base = -lgamma(r) + r * lalpha + lgamma(a + b) - lgamma(b);
	double		psi_r = 0, psi_ab = 0, psi_b = 0;
	double		lbx = 0;
	FitTimes   *times = fit_times(d);

	if (g)
	{
		psi_r = persona_digamma(r);
		psi_ab = persona_digamma(a + b);
		psi_b = persona_digamma(b);
	}
	if (times)
	{
		for (int j = 0; j < times->tx.n; j++)
			times->log_tx[j] = log(alpha + times->tx.values[j]);
		for (int j = 0; j < times->T.n; j++)
			times->log_T[j] = log(alpha + times->T.values[j]);
	}
	for (int64 i = 0; i < d->n; i++)
	{
		const FitRow *o = &d->rows[i];
		double		x = o->k1, w = o->w;
		bool		drop = modified || x > 0;	/* the dropout term is there */
		double		lT, ltx, a3, a4, lse;

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 10);
		if (x != lastx)
		{
			lastx = x;
			lbx = log(b + x - 1 + s);
			lg = lgamma(r + x) + base + lgamma(b + x + s) - lgamma(a + b + x + s);
			if (g)
			{
				dr = persona_digamma(r + x) - psi_r;
				dab = psi_ab - persona_digamma(a + b + x + s);
				db = persona_digamma(b + x + s) - psi_b;
			}
		}
		lT = times ? times->log_T[times->T.index[i]] : log(alpha + o->k3);
		ltx = drop ? (times ? times->log_tx[times->tx.index[i]] : log(alpha + o->k2)) : 0;
		a3 = -(r + x) * lT;
		a4 = drop ? la - lbx - (r + x) * ltx : -INFINITY;
		lse = logsumexp(a3, a4);
		ll += w * (lg + lse);
		if (g)
		{
			double		w3 = exp(a3 - lse);
			double		w4 = drop ? exp(a4 - lse) : 0;

			gr += w * (dr + lalpha - w3 * lT - w4 * ltx);
			galpha += w * (r / alpha - (r + x) * (w3 / (alpha + o->k3) + w4 / (alpha + o->k2)));
			ga += w * (dab + w4 / a);
			gb += w * (dab + db - (drop ? w4 / (b + x - 1 + s) : 0));
		}
	}
	if (g)
	{
		/* chain rule to the log-parameters */
		g[0] = gr * r;
		g[1] = galpha * alpha;
		g[2] = ga * a;
		g[3] = gb * b;
	}
	return ll;
}

static double
bg_value_grad(void *data, const double *p, double *g)
{
	return bg_core(data, p, g, false);
}

static double
bg_value(void *data, const double *p)
{
	return bg_core(data, p, NULL, false);
}

static double
mbg_value_grad(void *data, const double *p, double *g)
{
	return bg_core(data, p, g, true);
}

static double
mbg_value(void *data, const double *p)
{
	return bg_core(data, p, NULL, true);
}

/*
 * P(alive) = 1 / (1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x)); MBG/NBD:
 * a/(b+x) for every x, so one-time buyers too may have left.
 */
static double
bg_family_p_alive(const double *m, double x, double tx, double T, bool modified)
{
	double		r = m[0], alpha = m[1], a = m[2], b = m[3];
	double		s = modified ? 1 : 0;

	if (x == 0 && !modified)
		return 1.0;
	return 1.0 / (1.0 + exp(log(a) - log(b + x - 1 + s) + (r + x) * (log(alpha + T) - log(alpha + tx))));
}

/*
 * The bracket of FHL 2005 eq. 10 when c = a + b + x − 1 <= 0 (only x = 0
 * and a + b <= 1 get there; then a < 1): the 2F1 power series has negative
 * terms from the first on (its first Pochhammer factor c is the only
 * negative one) and diverges at c = 0.  Splitting off that factor,
 * 2F1(A, B; c; z) = 1 + A B z / c · S with S = 3F2(A+1, B+1, 1; c+1, 2; z),
 * a series of positive terms, gives
 *   c/(a−1) · [1 − P 2F1] = [P A B z S − c (1 − P)] / (1 − a),
 * a sum of two non-negative terms, finite at c = 0.
 */
static double
bg_expected_alive_small_c(double a, double A, double B, double c, double logP, double z)
{
	double		lterm = logP + log(A) + log(B) + log(z) +
		persona_log_hyp_series(A + 1, B + 1, c + 1, 2, z);

	return (exp(lterm) + c * expm1(logP)) / (1 - a);
}

/*
 * Expected purchases in the next t periods given (x, t_x, T), FHL 2005
 * eq. 10 (BG/NBD, s = 0) and Batislam et al. 2007 (MBG/NBD, s = 1):
 *   (a+b+x−1+s)/(a−1) [1 − ((α+T)/(α+T+t))^(r+x)
 *                          2F1(r+x, b+x+s; a+b+x−1+s; t/(α+T+t))] P(alive)
 * With x = t_x = T = 0 it is the unconditional E[X(t)] of a new customer
 * (FHL eq. 9; MBG/NBD b/(a−1) [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]).
 */
static double
bg_family_expected(const double *m, double t, double x, double tx, double T, bool modified)
{
	double		r = m[0], alpha = m[1], a = m[2], b = m[3];
	double		s = modified ? 1 : 0;
	double		c = a + b + x - 1 + s;
	double		logP,
				z,
				num;

	if (t == 0)
		return 0.0;
	/* ((α+T)/(α+T+t))^(r+x) and 2F1 in logs: both factors can be huge */
	logP = (r + x) * (log(alpha + T) - log(alpha + T + t));
	z = t / (alpha + T + t);
	if (c <= 0)					/* BG/NBD only: MBG/NBD's c = a + b + x > 0 */
		num = bg_expected_alive_small_c(a, r + x, b + x + s, c, logP, z);
	else
	{
		if (a == 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s expected purchases are undefined for a = 1 exactly", modified ? "MBG/NBD" : "BG/NBD")));
		num = c / (a - 1) * -expm1(logP + persona_log_hyp2f1(r + x, b + x + s, c, z));
	}
	return num * bg_family_p_alive(m, x, tx, T, modified);
}

static double
bg_p_alive(const double *m, double x, double tx, double T)
{
	return bg_family_p_alive(m, x, tx, T, false);
}

static double
bg_expected(const double *m, double t, double x, double tx, double T)
{
	return bg_family_expected(m, t, x, tx, T, false);
}

static double
mbg_p_alive(const double *m, double x, double tx, double T)
{
	return bg_family_p_alive(m, x, tx, T, true);
}

static double
mbg_expected(const double *m, double t, double x, double tx, double T)
{
	return bg_family_expected(m, t, x, tx, T, true);
}

/* ln B(p, q) */
static double
log_beta(double p, double q)
{
	return lgamma(p) + lgamma(q) - lgamma(p + q);
}

/*
 * P(X(t) = n) for a customer acquired at time 0, FHL 2005 eq. 8: alive
 * after n purchases with a negative binomial count, or dropped out after
 * the n-th (which needs at least n purchases of the NB(r, α/(α+t)) process:
 * its upper tail, 1 minus the first n terms).
 */
static double
bg_count_probability(const double *m, double t, int n)
{
	double		r = m[0], alpha = m[1], a = m[2], b = m[3];
	double		lp0 = r * (log(alpha) - log(alpha + t));	/* ln (α/(α+t))^r */
	double		lq = log(t) - log(alpha + t);	/* ln t/(α+t) */
	double		lb = log_beta(a, b);
	double		alive,
				head = 0;

	if (t == 0)
		return n == 0 ? 1.0 : 0.0;
	alive = exp(log_beta(a, b + n) - lb + lgamma(r + n) - lgamma(r) - lgamma(n + 1.0) + lp0 + n * lq);
	if (n == 0)
		return alive;
	for (int j = 0; j < n; j++)
	{
		double		term = exp(lgamma(r + j) - lgamma(r) - lgamma(j + 1.0) + lp0 + j * lq);

		head += term;
		/* past the mode the terms only shrink: the rest cannot change head */
		if (term < 1e-17 * head && j > (r - 1) * exp(lq) / (1 - exp(lq)))
			break;
		PERSONA_CHECK_INTERRUPTS_EVERY(j + 1, 16);
	}
	return alive + exp(log_beta(a + 1, b + n - 1) - lb) * Max(0.0, 1 - head);
}

const BtydModel bgnbd_model = {"BG/NBD", 4, bg_value, bg_value_grad, bg_p_alive, bg_expected,
	btyd_check_summary, btyd_check_horizon, bg_count_probability};
/* its SQL functions are in mbgnbd.c */
const BtydModel mbgnbd_model = {"MBG/NBD", 4, mbg_value, mbg_value_grad, mbg_p_alive, mbg_expected,
	btyd_check_summary, btyd_check_horizon, NULL};

/* SQL: the fit's final function and the scoring functions */
Datum
bgnbd_finalfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_final(fcinfo, &bgnbd_model);
}

Datum
bgnbd_fit_rows(PG_FUNCTION_ARGS)
{
	return btyd_fit_rows_call(fcinfo, &bgnbd_model);
}

Datum
bgnbd_p_alive(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_call(fcinfo, &bgnbd_model);
}

Datum
bgnbd_expected(PG_FUNCTION_ARGS)
{
	return btyd_expected_call(fcinfo, &bgnbd_model);
}

Datum
bgnbd_expected_new(PG_FUNCTION_ARGS)
{
	return btyd_expected_new_call(fcinfo, &bgnbd_model);
}

Datum
bgnbd_loglik(PG_FUNCTION_ARGS)
{
	return btyd_loglik_call(fcinfo, &bgnbd_model);
}

Datum
bgnbd_p_alive_summary(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_summary_call(fcinfo, &bgnbd_model);
}

Datum
bgnbd_expected_summary(PG_FUNCTION_ARGS)
{
	return btyd_expected_summary_call(fcinfo, &bgnbd_model);
}

/* SQL: P(X(t) = n) of a new customer (model, t, n) */
Datum
bgnbd_count_probability(PG_FUNCTION_ARGS)
{
	return btyd_count_probability_call(fcinfo, &bgnbd_model);
}
