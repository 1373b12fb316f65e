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
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(bgnbd_finalfn);
PG_FUNCTION_INFO_V1(bgnbd_p_alive);
PG_FUNCTION_INFO_V1(bgnbd_expected);
PG_FUNCTION_INFO_V1(bgnbd_expected_new);
PG_FUNCTION_INFO_V1(bgnbd_loglik);

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

	if (g)
	{
		psi_r = persona_digamma(r);
		psi_ab = persona_digamma(a + b);
		psi_b = persona_digamma(b);
	}
	for (int64 i = 0; i < d->n; i++)
	{
		const FitRow *o = &d->rows[i];
		double		x = o->k1, w = o->w;
		bool		drop = modified || x > 0;	/* the dropout term is there */
		double		lT = log(alpha + o->k3);
		double		ltx = drop ? log(alpha + o->k2) : 0;
		double		a3 = -(r + x) * lT;
		double		a4 = drop ? la - log(b + x - 1 + s) - (r + x) * ltx : -INFINITY;
		double		lse = logsumexp(a3, a4);

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 10);
		if (x != lastx)
		{
			lastx = x;
			lg = lgamma(r + x) + base + lgamma(b + x + s) - lgamma(a + b + x + s);
			if (g)
			{
				dr = persona_digamma(r + x) - psi_r;
				dab = psi_ab - persona_digamma(a + b + x + s);
				db = persona_digamma(b + x + s) - psi_b;
			}
		}
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
	double		num;

	if (t == 0)
		return 0.0;
	if (a == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s expected purchases are undefined for a = 1 exactly", modified ? "MBG/NBD" : "BG/NBD")));
	/* ((α+T)/(α+T+t))^(r+x) · 2F1(...) in logs: both factors can be huge */
	num = (a + b + x - 1 + s) / (a - 1) *
		-expm1((r + x) * (log(alpha + T) - log(alpha + T + t)) +
			   persona_log_hyp2f1(r + x, b + x + s, a + b + x - 1 + s, t / (alpha + T + t)));
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

const BtydModel bgnbd_model = {"BG/NBD", bg_value, bg_value_grad, bg_p_alive, bg_expected,
	btyd_check_summary, btyd_check_horizon};
/* its SQL functions are in mbgnbd.c */
const BtydModel mbgnbd_model = {"MBG/NBD", mbg_value, mbg_value_grad, mbg_p_alive, mbg_expected,
	btyd_check_summary, btyd_check_horizon};

/* SQL: the fit's final function and the scoring functions */
Datum
bgnbd_finalfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_final(fcinfo, &bgnbd_model);
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
