/*
 * clv.c — customer lifetime value from a purchase model (BG/NBD, MBG/NBD
 * or Pareto/NBD) and the Gamma-Gamma spend model.
 *
 * As in lifetimes' customer_lifetime_value: the expected purchases of each
 * month of the horizon, times the expected mean spend, discounted monthly:
 *   CLV = Σ_{i=1..months} spend · (E[X(i·M)] − E[X((i−1)·M)]) / (1+d)^i
 * with E[X(t)] the conditional expectation given (x, t_x, T) and M the
 * length of a month (365.25/12 days) in the model's time unit.
 */
#include "persona.h"

#include <float.h>
#include <math.h>

#include "btyd.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(bgnbd_clv);
PG_FUNCTION_INFO_V1(mbgnbd_clv);
PG_FUNCTION_INFO_V1(pareto_nbd_clv);

#define DAYS_PER_MONTH (365.25 / 12)

/* clv(model, gg, x, t_x, T, mean_spend, unit, months, monthly_discount) */
static Datum
clv(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4], gg[3];
	double		x, tx, T, spend, month, d, total = 0, prev = 0;
	int32		months;

	for (int i = 0; i < 9; i++)
		if (PG_ARGISNULL(i) && i != 5)
			PG_RETURN_NULL();
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(1), 3, gg, "Gamma-Gamma");
	x = PG_GETARG_FLOAT8(2);
	tx = PG_GETARG_FLOAT8(3);
	T = PG_GETARG_FLOAT8(4);
	btyd_check_summary(x, tx, T);
	if (x > 0 && PG_ARGISNULL(5))
		PG_RETURN_NULL();
	spend = x > 0 ? PG_GETARG_FLOAT8(5) : 0;
	if (x > 0 && !(spend > 0 && isfinite(spend)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean_spend must be a positive finite number, not %g", spend)));
	spend = btyd_in_domain(gamma_gamma_spend_value(gg, x, spend), 0, DBL_MAX, "expected spend");
	month = DAYS_PER_MONTH / btyd_unit_days(text_to_cstring(PG_GETARG_TEXT_PP(6)));
	months = PG_GETARG_INT32(7);
	d = PG_GETARG_FLOAT8(8);
	if (months < 0 || months > 1200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("months must be between 0 and 1200, not %d", months)));
	if (!(d > -1) || isinf(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("monthly_discount must be a finite number > -1, not %g", d)));
	for (int i = 1; i <= months; i++)
	{
		double		e = btyd_in_domain(model->expected(m, i * month, x, tx, T), 0, DBL_MAX,
									   "expected purchases");

		total += (e - prev) / pow(1 + d, i);
		prev = e;
	}
	PG_RETURN_FLOAT8(btyd_in_domain(spend * total, 0, DBL_MAX, "clv"));
}

Datum
bgnbd_clv(PG_FUNCTION_ARGS)
{
	return clv(fcinfo, &bgnbd_model);
}

Datum
mbgnbd_clv(PG_FUNCTION_ARGS)
{
	return clv(fcinfo, &mbgnbd_model);
}

Datum
pareto_nbd_clv(PG_FUNCTION_ARGS)
{
	return clv(fcinfo, &pareto_nbd_model);
}
