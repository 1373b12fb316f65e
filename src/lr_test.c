/*
 * lr_test.c — the likelihood-ratio test of nested fits:
 * persona.lr_test(restricted_loglik, full_loglik, df) gives the statistic
 * 2(LL_full − LL_restricted) and its chi-square(df) upper-tail p-value.
 *
 * The p-value is the regularised upper incomplete gamma Q(df/2, stat/2):
 * the power series of P = 1 − Q below x = a + 1, the continued fraction of
 * Q (modified Lentz) above, so both a p-value near 1 and one near 1e-300
 * keep their relative accuracy (Numerical Recipes §6.2 describes both).
 */
#include "persona.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(lr_test);

#define GAMMA_EPS 1e-16
#define GAMMA_MAXIT 100000

/* P(a, x) by its series: e^−x x^a / Γ(a+1) · Σ x^n / ((a+1)…(a+n)), for x < a + 1. */
static double
gamma_p_series(double a, double x)
{
	double		term = 1 / a, sum = term;

	for (int n = 1; n < GAMMA_MAXIT; n++)
	{
		term *= x / (a + n);
		sum += term;
		if (fabs(term) < fabs(sum) * GAMMA_EPS)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1. */
static double
gamma_q_fraction(double a, double x)
{
	double		b = x + 1 - a, c = 1 / DBL_MIN, d = 1 / b, h = d;

	for (int i = 1; i < GAMMA_MAXIT; i++)
	{
		double		an = -i * (i - a), delta;

		b += 2;
		d = an * d + b;
		if (fabs(d) < DBL_MIN)
			d = DBL_MIN;
		c = b + an / c;
		if (fabs(c) < DBL_MIN)
			c = DBL_MIN;
		d = 1 / d;
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1) < GAMMA_EPS)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

/* The upper tail of chi-square(df) at x >= 0: Q(df/2, x/2). */
static double
chisq_upper(double x, double df)
{
	double		a = df / 2, h = x / 2;

	if (h <= 0)
		return 1;
	if (h < a + 1)
		return 1 - gamma_p_series(a, h);
	return gamma_q_fraction(a, h);
}

/* lr_test(restricted_loglik, full_loglik, df) RETURNS (statistic, df, p_value) */
Datum
lr_test(PG_FUNCTION_ARGS)
{
	double		restricted = PG_GETARG_FLOAT8(0);
	double		full = PG_GETARG_FLOAT8(1);
	int32		df = PG_GETARG_INT32(2);
	double		stat;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	persona_check_finite(restricted, "restricted_loglik");
	persona_check_finite(full, "full_loglik");
	if (df < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("df must be >= 1, not %d", df),
				 errhint("df is the number of parameters the full model adds to the restricted one.")));
	stat = 2 * (full - restricted);
	/* the full model nests the restricted one: a lower maximum is rounding, or a failed fit */
	if (stat < 0)
	{
		if (stat < -1e-6 * Max(1.0, fabs(full)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the full model's log-likelihood (%g) is below the restricted model's (%g)", full, restricted),
					 errdetail("A model that nests another cannot fit worse at its maximum."),
					 errhint("Pass the restricted model first; check that both fits converged and are identified.")));
		stat = 0;
	}
	values[0] = Float8GetDatum(stat);
	values[1] = Int32GetDatum(df);
	values[2] = Float8GetDatum(chisq_upper(stat, df));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(persona_result_desc(fcinfo), values, nulls)));
}
