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
 * quantity is kept in logs.  The gradient is analytic: the series are
 * differentiated term by term, and the quadrature integrates I's
 * derivatives along with I.
 */
#include "persona.h"

#include <math.h>

#include "btyd.h"
#include "miscadmin.h"

#define SERIES_MAX 2000

PG_FUNCTION_INFO_V1(pareto_nbd_finalfn);
PG_FUNCTION_INFO_V1(pareto_nbd_p_alive);
PG_FUNCTION_INFO_V1(pareto_nbd_expected);
PG_FUNCTION_INFO_V1(pareto_nbd_expected_new);
PG_FUNCTION_INFO_V1(pareto_nbd_loglik);
PG_FUNCTION_INFO_V1(pareto_nbd_p_alive_summary);
PG_FUNCTION_INFO_V1(pareto_nbd_expected_summary);
PG_FUNCTION_INFO_V1(pareto_nbd_count_probability);

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

/*
 * The same series and the derivatives of its log with respect to b, c and
 * z (for the analytic gradient): with t_n the n-th term,
 *   ∂t_n/∂b = t_n Σ_{k<n} 1/(b+k),  ∂t_n/∂c = −t_n Σ_{k<n} 1/(c+k),
 *   ∂t_n/∂z = n t_n / z (accumulated without dividing by z).
 */
static bool
log_series_grad(double b, double c, double z, double *lg, double *db, double *dc, double *dz)
{
	double		term = 1, sum = 1, sb = 0, sc = 0;
	double		gb = 0, gc = 0, gz = 0;

	for (int n = 0; n < SERIES_MAX; n++)
	{
		double		ratio = (b + n) / (c + n);

		sb += 1 / (b + n);
		sc += 1 / (c + n);
		gz += (n + 1) * term * ratio;	/* ∂t_{n+1}/∂z = (n+1) t_n ratio */
		term *= ratio * z;
		sum += term;
		gb += term * sb;
		gc -= term * sc;
		if (term * (n + 2) < 1e-16 * sum)
		{
			*lg = log(sum);
			*db = gb / sum;
			*dc = gc / sum;
			*dz = gz / sum;
			return true;
		}
	}
	return false;
}

/*
 * Numerical integration of I, for when the series is too slow.  Each
 * evaluation also gives the integrands of I's derivatives in (r, α, s, β)
 * — f times −ln(α+τ), −p/(α+τ), −ln(β+τ), −q/(β+τ) — so the gradient
 * comes at almost no extra cost.  Values are vectors of NV: I, then those.
 */
#define NV 5

typedef struct Integrand Integrand;
struct Integrand
{
	/* the integrand(s) at u into v: integrand() below, or pmf_integrand() */
	void		(*fn) (Integrand *f, double u, double *v);
	double		p, q, alpha, beta, c, K;
	double		n;				/* pmf_integrand: the purchase count */
	bool		grad;			/* also the derivative integrands */
	int			budget;			/* evaluations left */
};

/* The integrand(s) in u = ln(c+τ), scaled by e^-K. */
static void
integrand(Integrand *f, double u, double *v)
{
	double		tau = exp(u) - f->c;
	double		la = log(f->alpha + tau), lb = log(f->beta + tau);

	f->budget--;
	v[0] = exp(-f->p * la - f->q * lb + u - f->K);
	if (f->grad)
	{
		v[1] = -la * v[0];
		v[2] = -f->p / (f->alpha + tau) * v[0];
		v[3] = -lb * v[0];
		v[4] = -f->q / (f->beta + tau) * v[0];
	}
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
 * The 15-point Kronrod estimate over [a, b] into res[NV], and QUADPACK's
 * estimate of the error of res[0] from the 7-point Gauss rule:
 * resasc·min(1, (200|K−G|/resasc)^1.5), resasc ≈ ∫|f − mean f|.
 */
static double
kronrod15(Integrand *f, double a, double b, double *res)
{
	double		c = (a + b) / 2, h = (b - a) / 2;
	double		fv[15][NV];
	double		resg, mean, resasc, err;
	int			nv = f->grad ? NV : 1;

	f->fn(f, c, fv[7]);
	for (int j = 0; j < 7; j++)
	{
		f->fn(f, c - h * xgk[j], fv[j]);
		f->fn(f, c + h * xgk[j], fv[14 - j]);
	}
	for (int k = 0; k < nv; k++)
	{
		res[k] = fv[7][k] * wgk[7];
		for (int j = 0; j < 7; j++)
			res[k] += wgk[j] * (fv[j][k] + fv[14 - j][k]);
	}
	resg = fv[7][0] * wg[3];
	for (int j = 1; j < 7; j += 2)
		resg += wg[j / 2] * (fv[j][0] + fv[14 - j][0]);
	mean = res[0] / 2;
	resasc = wgk[7] * fabs(fv[7][0] - mean);
	for (int j = 0; j < 7; j++)
		resasc += wgk[j] * (fabs(fv[j][0] - mean) + fabs(fv[14 - j][0] - mean));
	resasc *= h;
	err = fabs(res[0] - resg) * h;
	if (resasc != 0 && err != 0)
		err = resasc * Min(1.0, pow(200 * err / resasc, 1.5));
	for (int k = 0; k < nv; k++)
		res[k] *= h;
	return err;
}

/*
 * Adaptive Gauss-Kronrod: bisect until the 7- and 15-point rules agree to
 * tol or to 1e-10 of the panel's value (the exponents of the integrand run
 * into the thousands, so rounding alone is about that), or the evaluation
 * budget is spent, so it always ends.  Adds the panel to total.
 */
static void
adaptive(Integrand *f, double a, double b, const double *whole, double err, double tol,
		 int depth, double *total)
{
	double		m = (a + b) / 2, el, er, left[NV], right[NV];

	if (err <= tol || err <= 1e-10 * fabs(whole[0]) || !isfinite(err) || depth <= 0 || f->budget <= 0)
	{
		for (int k = 0; k < (f->grad ? NV : 1); k++)
			total[k] += whole[k];
		return;
	}
	el = kronrod15(f, a, m, left);
	er = kronrod15(f, m, b, right);
	adaptive(f, a, m, left, el, tol / 2, depth - 1, total);
	adaptive(f, m, b, right, er, tol / 2, depth - 1, total);
}

/*
 * ln(s·I) by adaptive Gauss-Kronrod over 8 panels (the integrand is smooth
 * and positive) and, when g is not NULL, its derivatives in (r, α, s, β).
 */
static double
log_sI_quadrature(double r, double alpha, double s, double beta, double x, double tx, double T,
				  double *g)
{
	Integrand	f;
	double		a, b, coarse = 0;
	double		total[NV] = {0, 0, 0, 0, 0};
	const int	panels = 8;
	double		est[8][NV], err[8];

	/* up to 20000 evaluations: clv and the fits call this month by month, row by row */
	CHECK_FOR_INTERRUPTS();
	f.fn = integrand;
	f.p = r + x;
	f.q = s + 1;
	f.alpha = alpha;
	f.beta = beta;
	f.c = Min(alpha, beta);
	f.grad = g != NULL;
	f.budget = 20000;
	a = log(f.c + tx);
	b = log(f.c + T);
	/* scale so that the integrand is 1 at t_x (computed in logs: e^K may underflow) */
	f.K = -f.p * log(alpha + tx) - f.q * log(beta + tx) + a;
	for (int i = 0; i < panels; i++)
	{
		err[i] = kronrod15(&f, a + (b - a) * i / panels, a + (b - a) * (i + 1) / panels, est[i]);
		coarse += est[i][0];
	}
	/* relative accuracy 1e-11 of the whole integral */
	for (int i = 0; i < panels; i++)
		adaptive(&f, a + (b - a) * i / panels, a + (b - a) * (i + 1) / panels,
				 est[i], err[i], 1e-11 * coarse / panels, 30, total);
	if (g)
	{
		for (int k = 0; k < 4; k++)
			g[k] = total[k + 1] / total[0];
		g[2] += 1 / s;
	}
	return log(s) + log(total[0]) + f.K;
}

/*
 * Would the series at z surely need more than SERIES_MAX terms?  Its terms
 * fall at least as fast as z^n, so about ln(1e-16)/ln(z) terms always do.
 * Then integrate at once instead of summing in vain.
 */
static inline bool
series_too_slow(double z, bool grad)
{
	/* with derivatives, the terms times n must fall below 1e-16: ln(2000) more */
	return z > 0 && -(grad ? 44.4 : 36.8) / log(z) > SERIES_MAX;
}

/*
 * One end (t = t_x or T) of I's closed form: L = ln of the note's A0 term
 * at t, and (when dL is not NULL) its derivatives in (r, α, s, β).
 * False when the series would be too slow.
 */
static bool
log_end(double r, double alpha, double s, double beta, double x, double t, double *L, double *dL)
{
	double		m = r + s + x;
	double		G, Gb, Gc, Gz;

	if (alpha >= beta)
	{
		/* (β+t)^−s (α+t)^−(r+x) 2F1'(r+x, m+1; z), z = (α−β)/(α+t) */
		double		z = (alpha - beta) / (alpha + t);

		if (!(dL ? log_series_grad(r + x, m + 1, z, &G, &Gb, &Gc, &Gz) : log_series(r + x, m + 1, z, &G)))
			return false;
		*L = -s * log(beta + t) - (r + x) * log(alpha + t) + G;
		if (dL)
		{
			dL[0] = -log(alpha + t) + Gb + Gc;
			dL[1] = -(r + x) / (alpha + t) + Gz * (beta + t) / ((alpha + t) * (alpha + t));
			dL[2] = -log(beta + t) + Gc;
			dL[3] = -s / (beta + t) - Gz / (alpha + t);
		}
	}
	else
	{
		/* (α+t)^(1−r−x) (β+t)^−(s+1) 2F1'(s+1, m+1; z), z = (β−α)/(β+t) */
		double		z = (beta - alpha) / (beta + t);

		if (!(dL ? log_series_grad(s + 1, m + 1, z, &G, &Gb, &Gc, &Gz) : log_series(s + 1, m + 1, z, &G)))
			return false;
		*L = (1 - r - x) * log(alpha + t) - (s + 1) * log(beta + t) + G;
		if (dL)
		{
			dL[0] = -log(alpha + t) + Gc;
			dL[1] = (1 - r - x) / (alpha + t) - Gz / (beta + t);
			dL[2] = -log(beta + t) + Gb + Gc;
			dL[3] = -(s + 1) / (beta + t) + Gz * (alpha + t) / ((beta + t) * (beta + t));
		}
	}
	return true;
}

/*
 * ln(s·I) for one customer (-inf when t_x = T) and, when g is not NULL,
 * its derivatives in (r, α, s, β): from the series, or integrated along
 * with I on the (rare) quadrature path.
 */
static double
log_sI(double r, double alpha, double s, double beta, double x, double tx, double T, double *g)
{
	double		m = r + s + x;
	double		L1, L2, d1[4], d2[4], e;

	if (g)
		memset(g, 0, 4 * sizeof(double));
	if (tx >= T)
		return -INFINITY;
	/* z is largest at t_x: (|α−β|)/(max(α,β)+t_x) */
	if (series_too_slow(fabs(alpha - beta) / (Max(alpha, beta) + tx), g != NULL) ||
		!log_end(r, alpha, s, beta, x, tx, &L1, g ? d1 : NULL) ||
		!log_end(r, alpha, s, beta, x, T, &L2, g ? d2 : NULL))
		return log_sI_quadrature(r, alpha, s, beta, x, tx, T, g);
	if (L2 >= L1)
		return -INFINITY;		/* t_x and T so close that I rounds to 0 */
	/* ln s − ln m + ln(e^L1 − e^L2) */
	e = exp(L2 - L1);
	if (g)
		for (int k = 0; k < 4; k++)
			g[k] = (d1[k] - e * d2[k]) / (1 - e) - 1 / m * (k == 0 || k == 2) + (k == 2 ? 1 / s : 0);
	return log(s) - log(m) + L1 + log(-expm1(L2 - L1));
}

/* ln of the first term, (α+T)^−(r+x) (β+T)^−s */
static inline double
log_term1(double r, double alpha, double s, double beta, double x, double T)
{
	return -(r + x) * log(alpha + T) - s * log(beta + T);
}

/*
 * Log-likelihood of all rows at log-parameters p = (ln r, ln α, ln s, ln β)
 * and, when g is not NULL, its gradient in p.
 */
static double
pnbd_value_grad(void *data, const double *p, double *g)
{
	const FitData *d = data;
	double		r = exp(p[0]), alpha = exp(p[1]), s = exp(p[2]), beta = exp(p[3]);
	double		lalpha = log(alpha), lbeta = log(beta);
	double		base = -lgamma(r) + r * lalpha + s * lbeta;
	double		psi_r = g ? persona_digamma(r) : 0;
	double		ll = 0, lastx = -1, lg = 0, dr = 0;
	double		acc[4] = {0, 0, 0, 0};

	for (int64 i = 0; i < d->n; i++)
	{
		const FitRow *o = &d->rows[i];
		double		x = o->k1, tx = o->k2, T = o->k3, w = o->w;
		double		t1 = log_term1(r, alpha, s, beta, x, T);
		double		dsi[4];
		double		lsi = log_sI(r, alpha, s, beta, x, tx, T, g ? dsi : NULL);
		double		lse = logsumexp(t1, lsi);

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 10);
		if (x != lastx)
		{
			lastx = x;
			lg = lgamma(r + x) + base;
			if (g)
				dr = persona_digamma(r + x) - psi_r;
		}
		ll += w * (lg + lse);
		if (g)
		{
			double		w1 = exp(t1 - lse), w2 = lsi == -INFINITY ? 0 : exp(lsi - lse);

			acc[0] += w * (dr + lalpha + w1 * -log(alpha + T) + w2 * dsi[0]);
			acc[1] += w * (r / alpha + w1 * -(r + x) / (alpha + T) + w2 * dsi[1]);
			acc[2] += w * (lbeta + w1 * -log(beta + T) + w2 * dsi[2]);
			acc[3] += w * (s / beta + w1 * -s / (beta + T) + w2 * dsi[3]);
		}
	}
	if (g)
	{
		g[0] = acc[0] * r;
		g[1] = acc[1] * alpha;
		g[2] = acc[2] * s;
		g[3] = acc[3] * beta;
	}
	return ll;
}

static double
pnbd_value(void *data, const double *p)
{
	return pnbd_value_grad(data, p, NULL);
}

static double
pnbd_p_alive(const double *m, double x, double tx, double T)
{
	double		r = m[0], alpha = m[1], s = m[2], beta = m[3];

	return 1.0 / (1.0 + exp(log_sI(r, alpha, s, beta, x, tx, T, NULL) - log_term1(r, alpha, s, beta, x, T)));
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

/*
 * P(X(t) = n) integrand at lifetime τ = u, without the constant factors:
 * (β+τ)^−(s+1) · (α/(α+τ))^r (τ/(α+τ))^n, scaled by e^-K.
 */
static void
pmf_integrand(Integrand *f, double u, double *v)
{
	f->budget--;
	v[0] = exp(-f->q * log(f->beta + u) - (f->p + f->n) * log(f->alpha + u)
			   + (f->n > 0 ? f->n * log(u) : 0) - f->K);
}

/*
 * P(X(t) = n) for a customer acquired at time 0.  Given the lifetime τ
 * (Lomax: P(τ > u) = (β/(β+u))^s), the purchases are Poisson over
 * min(τ, t) with a gamma(r, α) rate, a negative binomial NB(n; r, α/(α+m)):
 *   P = (β/(β+t))^s NB(n; r, α/(α+t)) + ∫0^t s β^s (β+τ)^−(s+1) NB(n; r, α/(α+τ)) dτ,
 * the integral by the adaptive Gauss-Kronrod rule the likelihood uses (a
 * smooth, positive integrand; relative accuracy 1e-11).
 */
static double
pnbd_count_probability(const double *m, double t, int n)
{
	double		r = m[0], alpha = m[1], s = m[2], beta = m[3];
	double		lnb = lgamma(r + n) - lgamma(r) - lgamma(n + 1.0) + r * log(alpha);
	double		alive = s * (log(beta) - log(beta + t)) + lnb - r * log(alpha + t) +
		(double) n * (log(t) - log(alpha + t));
	Integrand	f = {0};
	double		coarse = 0,
				total = 0,
				est[8],
				err[8];
	const int	panels = 8;

	if (t == 0)
		return n == 0 ? 1.0 : 0.0;
	CHECK_FOR_INTERRUPTS();
	f.fn = pmf_integrand;
	f.p = r;
	f.q = s + 1;
	f.alpha = alpha;
	f.beta = beta;
	f.n = n;
	f.budget = 20000;
	/* scale by the largest of a few values (computed in logs: they may underflow) */
	f.K = -INFINITY;
	for (int i = 1; i <= panels; i++)
	{
		double		u = t * i / panels;

		f.K = Max(f.K, -f.q * log(beta + u) - (r + n) * log(alpha + u) + (n > 0 ? n * log(u) : 0));
	}
	for (int i = 0; i < panels; i++)
	{
		err[i] = kronrod15(&f, t * i / panels, t * (i + 1) / panels, &est[i]);
		coarse += est[i];
	}
	for (int i = 0; i < panels; i++)
		adaptive(&f, t * i / panels, t * (i + 1) / panels, &est[i], err[i], 1e-11 * coarse / panels, 30, &total);
	return exp(alive) + (total > 0 ? exp(log(s) + s * log(beta) + lnb + f.K + log(total)) : 0);
}

const BtydModel pareto_nbd_model = {"Pareto/NBD", 4, pnbd_value, pnbd_value_grad, pnbd_p_alive, pnbd_expected,
	btyd_check_summary, btyd_check_horizon, pnbd_count_probability};

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

Datum
pareto_nbd_p_alive_summary(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_summary_call(fcinfo, &pareto_nbd_model);
}

Datum
pareto_nbd_expected_summary(PG_FUNCTION_ARGS)
{
	return btyd_expected_summary_call(fcinfo, &pareto_nbd_model);
}


/* SQL: P(X(t) = n) of a new customer (model, t, n) */
Datum
pareto_nbd_count_probability(PG_FUNCTION_ARGS)
{
	return btyd_count_probability_call(fcinfo, &pareto_nbd_model);
}
