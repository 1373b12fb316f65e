/*
 * gamma_gamma.c — the Gamma-Gamma spend model (Fader, Hardie & Lee 2005,
 * "RFM and CLV"; Colombo & Jiang 1999).  A customer's transaction values
 * are gamma(p, ν) around a customer-specific ν ~ gamma(q, v); given x
 * repeat transactions with mean m:
 *   LL = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m + px ln x
 *        − (px+q) ln(v + m x)
 * Fitted on repeat buyers only: one-time buyers (x = 0) carry no spend
 * variation and are skipped, as in the original paper; so are repeat
 * buyers with mean spend 0 ($0.00 orders), whose gamma density is 0 or
 * infinite, but they are scored: the expected spend is defined at m = 0.
 */
#include "persona.h"

#include <float.h>
#include <math.h>

#include "btyd.h"
#include "expstate.h"
#include "weighted_rows.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(gamma_gamma_transfn);
PG_FUNCTION_INFO_V1(gamma_gamma_finalfn);
PG_FUNCTION_INFO_V1(gamma_gamma_fit_rows);
PG_FUNCTION_INFO_V1(gamma_gamma_expected_spend);
PG_FUNCTION_INFO_V1(gamma_gamma_loglik);

/*
 * Check (x, mean spend): x a whole number >= 0, the mean spend of a repeat
 * buyer >= 0.  A mean of 0 (only $0.00 repeat orders) is valid: its
 * expected spend is the formula's p v / (p x + q - 1).
 */
void
gamma_gamma_check_spend(double x, double m)
{
	persona_check_finite(x, "x");
	persona_check_finite(m, "mean_spend");
	if (x < 0 || x != rint(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be a whole number >= 0, not %g", x)));
	if (x > 0 && m < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean_spend must be >= 0, not %g", m),
				 errdetail("A negative mean spend means refunds outweigh purchases; the Gamma-Gamma model describes purchase values, which are not negative."),
				 errhint("Keep the customer with the population mean spend: pass x = 0 for them, e.g. CASE WHEN mean_spend < 0 THEN 0 ELSE x END (the fit skips x = 0).")));
}

/*
 * gamma_gamma_transfn(state, x, mean_spend [, penalty [, start]]): repeat buyers with
 * a positive mean spend are fitted; x = 0 rows are counted, mean spend 0
 * rows counted and reported (the gamma likelihood of a 0 mean is 0 or
 * infinite), NULL rows skipped.
 */
Datum
gamma_gamma_transfn(PG_FUNCTION_ARGS)
{
	ExpState   *es = fitstate_begin(fcinfo, FIT_SPEND);
	FitState   *st = es->state;
	double		x, m;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_DATUM(expstate_datum(es));
	x = PG_GETARG_FLOAT8(1);
	m = PG_GETARG_FLOAT8(2);
	gamma_gamma_check_spend(x, m);
	fitstate_penalty_arg(st, fcinfo, 3);
	fitstate_start_arg(st, fcinfo, 4, 3, "start model");
	fitstate_count_row(st);
	if (x > 0 && m == 0)
		fitstate_skip_row(st);
	else if (x > 0)
		fitstate_add(st, x, m, 0, 1);
	PG_RETURN_DATUM(expstate_datum(es));
}

/* ln(mean spend) of every row, computed on the first evaluation and kept with the data. */
static const double *
log_spends(FitData *d)
{
	if (d->log_k2 == NULL)
	{
		double	   *l = palloc_extended(Max(d->n, 1) * sizeof(double), MCXT_ALLOC_HUGE);

		for (int64 i = 0; i < d->n; i++)
			l[i] = log(d->rows[i].k2);
		d->log_k2 = l;
	}
	return d->log_k2;
}

/*
 * Log-likelihood at p = (ln p, ln q, ln v) and its gradient; rows are
 * sorted by x, so lnΓ and ψ terms are computed once per distinct x, and
 * ln m once per row for the whole search.
 */
static double
gg_value_grad(void *data, const double *par, double *g)
{
	const FitData *d = data;
	const double *log_m = log_spends(data);
	double		p = exp(par[0]), q = exp(par[1]), v = exp(par[2]);
	double		lv = log(v);
	double		base = -lgamma(q) + q * lv;
	double		psi_q = g ? persona_digamma(q) : 0;
	double		ll = 0, gp = 0, gq = 0, gv = 0;
	double		lastx = -1, lg = 0, lx = 0, psi_pxq = 0, psi_px = 0;

	for (int64 i = 0; i < d->n; i++)
	{
		const FitRow *o = &d->rows[i];
		double		x = o->k1, m = o->k2, w = o->w;
		double		lm = log_m[i], lvm = log(v + m * x);

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 10);
		if (x != lastx)
		{
			lastx = x;
			lx = log(x);
			lg = lgamma(p * x + q) - lgamma(p * x) + base;
			if (g)
			{
				psi_pxq = persona_digamma(p * x + q);
				psi_px = persona_digamma(p * x);
			}
		}
		ll += w * (lg + (p * x - 1) * lm + p * x * lx - (p * x + q) * lvm);
		if (g)
		{
			gp += w * x * (psi_pxq - psi_px + lm + lx - lvm);
			gq += w * (psi_pxq - psi_q + lv - lvm);
			gv += w * (q / v - (p * x + q) / (v + m * x));
		}
	}
	if (g)
	{
		g[0] = gp * p;
		g[1] = gq * q;
		g[2] = gv * v;
	}
	return ll;
}

static double
gg_value(void *data, const double *p)
{
	return gg_value_grad(data, p, NULL);
}

/* The fit over d, as the aggregate's final function reports it. */
static Datum
gamma_gamma_fit_data(FunctionCallInfo fcinfo, FitData *d)
{
	if (d->n == 0)
	{
		if (d->input_rows == 0)
			PG_RETURN_NULL();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit Gamma-Gamma: no repeat buyer (x > 0) among %lld rows",
						(long long) d->input_rows),
				 d->skipped > 0 ? errdetail("%lld repeat buyers with mean spend 0 were skipped.",
											(long long) d->skipped) : 0,
				 errhint("The spend model is fitted on customers with repeat purchases.")));
	}
	if (d->skipped > 0)
		ereport(NOTICE,
				(errmsg("Gamma-Gamma fit skipped %lld repeat buyers with mean spend 0",
						(long long) d->skipped),
				 errdetail("The model's customers column counts the %lld fitted.", (long long) rint(d->weight)),
				 errhint("expected_spend and clv still score them.")));
	if (d->n == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit Gamma-Gamma: every repeat buyer has the same x and mean spend"),
				 errdetail("Without spend variation across customers the likelihood has no maximum.")));
	return fit_model_datum(fcinfo, d, 3, gg_value, gg_value_grad, "Gamma-Gamma");
}

/* The persona.gamma_gamma model: (p, q, v, loglik, customers, iterations, converged). */
Datum
gamma_gamma_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	return gamma_gamma_fit_data(fcinfo, fitstate_data(PG_GETARG_DATUM(0), FIT_SPEND, "Gamma-Gamma"));
}

/*
 * gamma_gamma_fit_rows(rows float8[][], penalty, start): the fit over
 * (x, mean spend, weight) rows, rows checked and kept as the aggregate
 * keeps its input (x = 0 counted, not fitted; mean spend 0 skipped).
 */
Datum
gamma_gamma_fit_rows(PG_FUNCTION_ARGS)
{
	WeightedRows r = wrows_read(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0), 3, false, "fit rows");
	WeightedRows kept = r;
	double	   *fitted = NULL;	/* the rows kept, when some are not */
	FitData    *d;
	double		counted = 0, skipped = 0;	/* customers, as the aggregate counts them */

	kept.n = 0;
	kept.total = 0;
	for (int64 i = 0; i < r.n; i++)
	{
		double		x = r.v[3 * i], m = r.v[3 * i + 1];

		gamma_gamma_check_spend(x, m);
		counted += r.v[3 * i + 2];
		if (x > 0 && m == 0)
			skipped += r.v[3 * i + 2];
		else if (x > 0)
		{
			if (fitted == NULL && kept.n < i)
			{
				/* a row was left out: the kept ones (so far the first
				 * kept.n) are copied, r's being read only */
				fitted = palloc_extended(Max(r.n, 1) * 3 * sizeof(double), MCXT_ALLOC_HUGE);
				memcpy(fitted, r.v, 3 * kept.n * sizeof(double));
			}
			if (fitted != NULL)
				memcpy(fitted + 3 * kept.n, r.v + 3 * i, 3 * sizeof(double));
			kept.total += r.v[3 * i + 2];
			kept.n++;
		}
	}
	if (fitted != NULL)
		kept.v = fitted;
	if (counted == 0)
		PG_RETURN_NULL();
	d = fitdata_from_rows(&kept, fcinfo, 1, 2, 3, "start model");
	d->input_rows = (int64) Min(rint(counted), 9.2e18);
	d->skipped = (int64) Min(rint(skipped), 9.2e18);
	return gamma_gamma_fit_data(fcinfo, d);
}

/*
 * Expected mean transaction value given x repeat purchases with mean m:
 * p (v + x m) / (p x + q − 1), a weighted average of the population mean
 * p v / (q − 1) and m.  x = 0 (m may be NULL) gives the population mean.
 */
double
gamma_gamma_spend_value(const double *gg, double x, double m)
{
	double		p = gg[0], q = gg[1], v = gg[2];

	if (q <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected spend is infinite for q <= 1 (q = %g)", q),
				 errhint("The spend distribution has a heavy tail; look for outliers in mean spend.")));
	if (x == 0)
		return p * v / (q - 1);
	return p * (v + x * m) / (p * x + q - 1);
}

/* expected_spend(gg, x, mean_spend): NULL-tolerant for one-time buyers. */
Datum
gamma_gamma_expected_spend(PG_FUNCTION_ARGS)
{
	double		gg[3];
	double		x, m = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 3, gg, "Gamma-Gamma");
	x = PG_GETARG_FLOAT8(1);
	if (x > 0 && PG_ARGISNULL(2))
		PG_RETURN_NULL();
	if (x > 0)
		m = PG_GETARG_FLOAT8(2);
	gamma_gamma_check_spend(x, m);
	PG_RETURN_FLOAT8(btyd_in_domain(gamma_gamma_spend_value(gg, x, m), 0, DBL_MAX, "expected spend"));
}

/* gamma_gamma_loglik(gg, x, mean_spend): one repeat buyer's log-likelihood. */
Datum
gamma_gamma_loglik(PG_FUNCTION_ARGS)
{
	double		gg[3];
	double		x = PG_GETARG_FLOAT8(1), m = PG_GETARG_FLOAT8(2);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 3, gg, "Gamma-Gamma");
	gamma_gamma_check_spend(x, m);
	if (x == 0 || m == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the Gamma-Gamma likelihood is defined for repeat buyers (x > 0) with a positive mean spend only"),
				 errdetail("x = %g, mean_spend = %g; the fit skips such rows.", x, m)));
	PG_RETURN_FLOAT8(btyd_in_domain(fit_row_loglik(gg_value, 3, gg, x, m, 0), -INFINITY, DBL_MAX,
									"log-likelihood"));
}
