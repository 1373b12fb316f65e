/*
 * pareto_nbd.c — the Pareto/NBD model (Schmittlein, Morrison & Colombo
 * 1987): purchases Poisson(λ) while alive, lifetime exponential(μ),
 * λ ~ gamma(r, α), μ ~ gamma(s, β) across customers.
 *
 * Per customer (Fader & Hardie 2005, "A note on deriving the Pareto/NBD
 * model and related expressions"):
 *   L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s·I ]
 *   I = ∫ from t_x to T of (α+τ)^−(r+x) (β+τ)^−(s+1) dτ
 * I is the note's A0 · 1/(r+s+x), a difference of two Gauss hypergeometric
 * functions 2F1(r+s+x, ·; r+s+x+1; z).  We evaluate them after Euler's
 * transformation, 2F1(a, b; a+1; z) = (1−z)^(1−b) 2F1(1, a+1−b; a+1; z),
 * whose series has positive, decreasing terms (no overflow, no
 * cancellation) for every parameter region; when z is so close to 1 that
 * the series would need more than SERIES_MAX terms, I is integrated
 * numerically instead (adaptive Gauss-Kronrod on u = ln(min(α,β)+τ)).  Every
 * quantity is kept in logs.
 */
#include "persona.h"

#include <math.h>

#include "btyd.h"

#define SERIES_MAX 2000

PG_FUNCTION_INFO_V1(pareto_nbd_finalfn);
PG_FUNCTION_INFO_V1(pareto_nbd_p_alive);
PG_FUNCTION_INFO_V1(pareto_nbd_expected);
PG_FUNCTION_INFO_V1(pareto_nbd_expected_new);
PG_FUNCTION_INFO_V1(pareto_nbd_loglik);

/*
 * ln Σ_n (b)_n/(c)_n z^n for c > b > 0, 0 <= z < 1; false when it needs
 * more than SERIES_MAX terms.
 */
static bool
log_series(double b, double c, double z, double *out)
{
	double		term = 1, sum = 1;

	for (int n = 0; n < SERIES_MAX; n++)
	{
		term *= (b + n) / (c + n) * z;
		sum += term;
		if (term < 1e-16 * sum)
		{
			*out = log(sum);
			return true;
		}
	}
	return false;
}

typedef struct Integrand
{
	double		p, q, alpha, beta, c, K;
	int			budget;			/* evaluations left */
} Integrand;

/* The integrand of I in u = ln(c+τ), scaled by e^-K. */
static double
integrand(Integrand *f, double u)
{
	double		tau = exp(u) - f->c;

	f->budget--;
	return exp(-f->p * log(f->alpha + tau) - f->q * log(f->beta + tau) + u - f->K);
}

/* Gauss-Kronrod 7-15 nodes and weights (QUADPACK's qk15) */
static const double xgk[8] = {
	0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
	0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
	0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
	0.207784955007898467600689403773245, 0.0
};
static const double wgk[8] = {
	0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
	0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
	0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
	0.204432940075298892414161999234649, 0.209482141084727828012999174891714
};
static const double wg[4] = {
	0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
	0.381830050505118944950369775488975, 0.417959183673469387755102040816327
};

/*
 * The 15-point Kronrod estimate over [a, b] and QUADPACK's estimate of its
 * error from the 7-point Gauss rule: resasc·min(1, (200|K−G|/resasc)^1.5),
 * resasc ≈ ∫|f − mean f|.
 */
static double
kronrod15(Integrand *f, double a, double b, double *err)
{
	double		c = (a + b) / 2, h = (b - a) / 2;
	double		fv[15];
	double		resk, resg, mean, resasc = 0;

	fv[7] = integrand(f, c);
	for (int j = 0; j < 7; j++)
	{
		fv[j] = integrand(f, c - h * xgk[j]);
		fv[14 - j] = integrand(f, c + h * xgk[j]);
	}
	resk = fv[7] * wgk[7];
	resg = fv[7] * wg[3];
	for (int j = 0; j < 7; j++)
	{
		resk += wgk[j] * (fv[j] + fv[14 - j]);
		if (j % 2 == 1)
			resg += wg[j / 2] * (fv[j] + fv[14 - j]);
	}
	mean = resk / 2;
	resasc = wgk[7] * fabs(fv[7] - mean);
	for (int j = 0; j < 7; j++)
		resasc += wgk[j] * (fabs(fv[j] - mean) + fabs(fv[14 - j] - mean));
	resasc *= h;
	*err = fabs(resk - resg) * h;
	if (resasc != 0 && *err != 0)
		*err = resasc * Min(1.0, pow(200 * *err / resasc, 1.5));
	return resk * h;
}

/*
 * Adaptive Gauss-Kronrod: bisect until the 7- and 15-point rules agree to
 * tol; it stops at the rounding of the panel's value or when the
 * evaluation budget is spent, so it always ends.
 */
static double
adaptive(Integrand *f, double a, double b, double whole, double err, double tol, int depth)
{
	double		m = (a + b) / 2, el, er, left, right;

	if (err <= tol || err <= 1e-15 * fabs(whole) || depth <= 0 || f->budget <= 0)
		return whole;
	left = kronrod15(f, a, m, &el);
	right = kronrod15(f, m, b, &er);
	return adaptive(f, a, m, left, el, tol / 2, depth - 1) +
		adaptive(f, m, b, right, er, tol / 2, depth - 1);
}

/* ln I by adaptive Gauss-Kronrod over 8 panels; the integrand is smooth and positive. */
static double
log_integral(double p, double q, double alpha, double beta, double tx, double T)
{
	Integrand	f;
	double		a, b, total = 0, coarse = 0;
	const int	panels = 8;
	double		est[8], err[8];

	f.p = p;
	f.q = q;
	f.alpha = alpha;
	f.beta = beta;
	f.c = Min(alpha, beta);
	f.budget = 20000;
	a = log(f.c + tx);
	b = log(f.c + T);
	f.K = 0;
	f.K = log(integrand(&f, a));	/* the integrand is 1 at t_x */
	for (int i = 0; i < panels; i++)
	{
		est[i] = kronrod15(&f, a + (b - a) * i / panels, a + (b - a) * (i + 1) / panels, &err[i]);
		coarse += est[i];
	}
	/* relative accuracy 1e-13 of the whole integral */
	for (int i = 0; i < panels; i++)
		total += adaptive(&f, a + (b - a) * i / panels, a + (b - a) * (i + 1) / panels,
						  est[i], err[i], 1e-13 * coarse / panels, 50);
	return log(total) + f.K;
}

/*
 * Would the series at z surely need more than SERIES_MAX terms?  Its terms
 * fall at least as fast as z^n, so about ln(1e-16)/ln(z) terms always do.
 * Then integrate at once instead of summing in vain.
 */
static inline bool
series_too_slow(double z)
{
	return z > 0 && -36.8 / log(z) > SERIES_MAX;
}

/* ln(s·I) for one customer; -inf when t_x = T. */
static double
log_sI(double r, double alpha, double s, double beta, double x, double tx, double T)
{
	double		m = r + s + x;
	double		L1, L2, G1, G2;

	if (tx >= T)
		return -INFINITY;
	/* z is largest at t_x: (|α−β|)/(max(α,β)+t_x) */
	if (series_too_slow(fabs(alpha - beta) / (Max(alpha, beta) + tx)))
		return log(s) + log_integral(r + x, s + 1, alpha, beta, tx, T);
	if (alpha >= beta)
	{
		double		z1 = (alpha - beta) / (alpha + tx), z2 = (alpha - beta) / (alpha + T);

		if (!log_series(r + x, m + 1, z1, &G1) || !log_series(r + x, m + 1, z2, &G2))
			return log(s) + log_integral(r + x, s + 1, alpha, beta, tx, T);
		L1 = -s * log(beta + tx) - (r + x) * log(alpha + tx) + G1;
		L2 = -s * log(beta + T) - (r + x) * log(alpha + T) + G2;
	}
	else
	{
		double		z1 = (beta - alpha) / (beta + tx), z2 = (beta - alpha) / (beta + T);

		if (!log_series(s + 1, m + 1, z1, &G1) || !log_series(s + 1, m + 1, z2, &G2))
			return log(s) + log_integral(r + x, s + 1, alpha, beta, tx, T);
		L1 = (1 - r - x) * log(alpha + tx) - (s + 1) * log(beta + tx) + G1;
		L2 = (1 - r - x) * log(alpha + T) - (s + 1) * log(beta + T) + G2;
	}
	if (L2 >= L1)
		return -INFINITY;		/* t_x and T so close that I rounds to 0 */
	return log(s) - log(m) + L1 + log(-expm1(L2 - L1));
}

/* ln of the first term, (α+T)^−(r+x) (β+T)^−s */
static inline double
log_term1(double r, double alpha, double s, double beta, double x, double T)
{
	return -(r + x) * log(alpha + T) - s * log(beta + T);
}

/* Log-likelihood of all rows at log-parameters p = (ln r, ln α, ln s, ln β). */
static double
pnbd_value(void *data, const double *p)
{
	const FitData *d = data;
	double		r = exp(p[0]), alpha = exp(p[1]), s = exp(p[2]), beta = exp(p[3]);
	double		base = -lgamma(r) + r * log(alpha) + s * log(beta);
	double		ll = 0, lastx = -1, lg = 0;

	for (int64 i = 0; i < d->n; i++)
	{
		const FitRow *o = &d->rows[i];
		double		x = o->k1;

		if (x != lastx)
		{
			lastx = x;
			lg = lgamma(r + x) + base;
		}
		ll += o->w * (lg + logsumexp(log_term1(r, alpha, s, beta, x, o->k3),
									 log_sI(r, alpha, s, beta, x, o->k2, o->k3)));
	}
	return ll;
}

static double
pnbd_p_alive(const double *m, double x, double tx, double T)
{
	double		r = m[0], alpha = m[1], s = m[2], beta = m[3];

	return 1.0 / (1.0 + exp(log_sI(r, alpha, s, beta, x, tx, T) - log_term1(r, alpha, s, beta, x, T)));
}

/*
 * Expected purchases in the next t periods given (x, t_x, T):
 *   (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive)
 * written with expm1 so that s near 1 (where the bracket over s−1 tends to
 * ln((β+T+t)/(β+T))) is exact.  x = t_x = T = 0 gives E[X(t)].
 */
static double
pnbd_expected(const double *m, double t, double x, double tx, double T)
{
	double		r = m[0], alpha = m[1], s = m[2], beta = m[3];
	double		lq = log(beta + T + t) - log(beta + T);	/* >= 0 */
	double		growth = fabs(s - 1) < 1e-12 ? lq : expm1((1 - s) * lq) / (1 - s);

	if (t == 0)
		return 0.0;
	return (r + x) * (beta + T) / (alpha + T) * growth * pnbd_p_alive(m, x, tx, T);
}

const BtydModel pareto_nbd_model = {"Pareto/NBD", pnbd_value, NULL, pnbd_p_alive, pnbd_expected};

/* SQL: the fit's final function and the scoring functions */
Datum
pareto_nbd_finalfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_final(fcinfo, &pareto_nbd_model);
}

Datum
pareto_nbd_p_alive(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_call(fcinfo, &pareto_nbd_model);
}

Datum
pareto_nbd_expected(PG_FUNCTION_ARGS)
{
	return btyd_expected_call(fcinfo, &pareto_nbd_model);
}

Datum
pareto_nbd_expected_new(PG_FUNCTION_ARGS)
{
	return btyd_expected_new_call(fcinfo, &pareto_nbd_model);
}

Datum
pareto_nbd_loglik(PG_FUNCTION_ARGS)
{
	return btyd_loglik_call(fcinfo, &pareto_nbd_model);
}
