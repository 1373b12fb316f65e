/*
 * clv.c — customer lifetime value from a purchase model (BG/NBD, MBG/NBD,
 * Pareto/NBD or NBD) and the Gamma-Gamma spend model.
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
#include "executor/executor.h"

PG_FUNCTION_INFO_V1(bgnbd_clv);
PG_FUNCTION_INFO_V1(mbgnbd_clv);
PG_FUNCTION_INFO_V1(pareto_nbd_clv);
PG_FUNCTION_INFO_V1(bgnbd_clv_summary);
PG_FUNCTION_INFO_V1(pareto_nbd_clv_summary);
PG_FUNCTION_INFO_V1(mbgnbd_clv_summary);
PG_FUNCTION_INFO_V1(nbd_clv);
PG_FUNCTION_INFO_V1(nbd_clv_summary);

/*
 * The CLV of (x, t_x, T, mean spend) in a unit of unit_days days under
 * purchase parameters m[model->k] and spend parameters gg[3].
 */
static double
clv_value(const BtydModel *model, const double *m, const double *gg, double x, double tx, double T,
		  double spend, double unit_days, int32 months, double d)
{
	double		month = BTYD_DAYS_PER_MONTH / unit_days;
	double		total = 0, prev = 0;

	btyd_check_summary(x, tx, T);
	gamma_gamma_check_spend(x, spend);
	spend = btyd_in_domain(gamma_gamma_spend_value(gg, x, spend), 0, DBL_MAX, "expected spend");
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
	return btyd_in_domain(spend * total, 0, DBL_MAX, "clv");
}

/*
 * clv(model, gg, x, t_x, T, mean_spend, unit, months, monthly_discount):
 * unit NULL is the model's.  NULL elsewhere (a repeat buyer's mean spend
 * included) gives NULL; a one-time buyer's mean spend is not used.
 */
static Datum
clv(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS], gg[3];
	double		x, unit_days;

	for (int i = 0; i < 9; i++)
		if (PG_ARGISNULL(i) && i != 5 && i != 6)
			PG_RETURN_NULL();
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(1), 3, gg, "Gamma-Gamma");
	x = PG_GETARG_FLOAT8(2);
	unit_days = btyd_scoring_unit(btyd_model_unit(PG_GETARG_HEAPTUPLEHEADER(0)), btyd_unit_arg(fcinfo, 6),
								  model->name);
	btyd_check_summary(x, PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4));
	if (x > 0 && PG_ARGISNULL(5))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(clv_value(model, m, gg, x, PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4),
							   x > 0 ? PG_GETARG_FLOAT8(5) : 0, unit_days,
							   PG_GETARG_INT32(7), PG_GETARG_FLOAT8(8)));
}

/*
 * clv(model, gg, summary, months, monthly_discount): x, t_x, T, mean spend
 * and the unit from a persona.btyd_summary (its unit must be the model's).
 */
static Datum
clv_summary(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS], gg[3];
	double		x, tx, T, unit_days;
	bool		spend_null;
	Datum		spend;
	HeapTupleHeader s;

	for (int i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(1), 3, gg, "Gamma-Gamma");
	s = PG_GETARG_HEAPTUPLEHEADER(2);
	if (!btyd_read_summary(s, &x, &tx, &T, &unit_days))
		PG_RETURN_NULL();
	unit_days = btyd_scoring_unit(btyd_model_unit(PG_GETARG_HEAPTUPLEHEADER(0)), unit_days, model->name);
	btyd_check_summary(x, tx, T);
	spend = GetAttributeByNum(s, BTYD_SUMMARY_SPEND, &spend_null);
	if (x > 0 && spend_null)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(clv_value(model, m, gg, x, tx, T, x > 0 ? DatumGetFloat8(spend) : 0, unit_days,
							   PG_GETARG_INT32(3), PG_GETARG_FLOAT8(4)));
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

Datum
bgnbd_clv_summary(PG_FUNCTION_ARGS)
{
	return clv_summary(fcinfo, &bgnbd_model);
}

Datum
pareto_nbd_clv_summary(PG_FUNCTION_ARGS)
{
	return clv_summary(fcinfo, &pareto_nbd_model);
}

Datum
mbgnbd_clv_summary(PG_FUNCTION_ARGS)
{
	return clv_summary(fcinfo, &mbgnbd_model);
}

Datum
nbd_clv(PG_FUNCTION_ARGS)
{
	return clv(fcinfo, &nbd_model);
}

Datum
nbd_clv_summary(PG_FUNCTION_ARGS)
{
	return clv_summary(fcinfo, &nbd_model);
}
