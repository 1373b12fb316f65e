/*
 * btyd.c — what the BTYD ("buy till you die") models share: checking a
 * customer summary (x, t_x, T), the transition function of the fit
 * aggregates, and reading/building model rows.
 */
#include "persona.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "btyd.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(btyd_fit_transfn);
PG_FUNCTION_INFO_V1(btyd_fit_summary_transfn);
PG_FUNCTION_INFO_V1(time_unit_days);

/*
 * Check one customer's summary: a whole x >= 0, 0 <= t_x <= T, t_x > 0
 * when x > 0.  T = 0 (a customer first seen at the end of the period) is
 * valid: its likelihood is 1 and it changes nothing.
 */
void
btyd_check_summary(double x, double tx, double T)
{
	persona_check_finite(x, "x");
	persona_check_finite(tx, "t_x");
	persona_check_finite(T, "T");
	if (x < 0 || x != rint(x) || tx < 0 || T < 0 || tx > T || (x > 0 && tx <= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid customer summary (x = %g, t_x = %g, T = %g)", x, tx, T),
				 errdetail("Need a whole x >= 0, 0 <= t_x <= T, and t_x > 0 when x > 0."),
				 errhint("Compute them with persona.btyd(persona.order_stats(...)).")));
}

/* Add one (x, t_x, T) row, with the weight and penalty of arguments wargno and wargno + 1 if given. */
static void
btyd_fit_add(FitState *st, FunctionCallInfo fcinfo, double x, double tx, double T, int wargno)
{
	double		w = 1;

	btyd_check_summary(x, tx, T);
	if (PG_NARGS() > wargno)
	{
		w = PG_GETARG_FLOAT8(wargno);
		persona_check_finite(w, "weight");
		if (w < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weight must be >= 0, not %g", w)));
	}
	fitstate_penalty_arg(st, fcinfo, wargno + 1);
	fitstate_count_row(st);
	fitstate_add(st, x, tx, T, w);
}

/*
 * Transition function of bgnbd_fit and pareto_nbd_fit:
 * (state, x, t_x, T [, weight [, penalty]]).
 */
Datum
btyd_fit_transfn(PG_FUNCTION_ARGS)
{
	FitState   *st = fitstate_get(fcinfo);

	/* like other aggregates, skip rows with a NULL input (weight included) */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		(PG_NARGS() > 4 && PG_ARGISNULL(4)))
		PG_RETURN_POINTER(st);
	btyd_fit_add(st, fcinfo, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3), 4);
	PG_RETURN_POINTER(st);
}

/*
 * A persona.btyd_summary row: (x, t_x, t_cal) and its unit (0: not
 * stated); false when x, t_x or t_cal is NULL.
 */
bool
btyd_read_summary(HeapTupleHeader s, double *x, double *tx, double *T, double *unit_days)
{
	Datum		v[BTYD_SUMMARY_UNIT];
	bool		isnull[BTYD_SUMMARY_UNIT];

	/* a fit reads millions of summaries: deform once */
	persona_deform_row(s, BTYD_SUMMARY_UNIT, v, isnull, "persona.btyd_summary");
	if (isnull[BTYD_SUMMARY_X - 1] || isnull[BTYD_SUMMARY_T_X - 1] || isnull[BTYD_SUMMARY_T_CAL - 1])
		return false;
	*x = DatumGetInt32(v[BTYD_SUMMARY_X - 1]);
	*tx = DatumGetFloat8(v[BTYD_SUMMARY_T_X - 1]);
	*T = DatumGetFloat8(v[BTYD_SUMMARY_T_CAL - 1]);
	*unit_days = isnull[BTYD_SUMMARY_UNIT - 1] ? 0 :
		btyd_unit_days(TextDatumGetCString(v[BTYD_SUMMARY_UNIT - 1]));
	return true;
}

/*
 * Transition function of bgnbd_fit(summary [, weight [, penalty]]) and
 * pareto_nbd_fit(...): the summary's unit becomes the model's.
 */
Datum
btyd_fit_summary_transfn(PG_FUNCTION_ARGS)
{
	FitState   *st = fitstate_get(fcinfo);
	double		x, tx, T, unit_days;

	if (PG_ARGISNULL(1) || (PG_NARGS() > 2 && PG_ARGISNULL(2)) ||
		!btyd_read_summary(PG_GETARG_HEAPTUPLEHEADER(1), &x, &tx, &T, &unit_days))
		PG_RETURN_POINTER(st);
	fitstate_unit(st, unit_days);
	btyd_fit_add(st, fcinfo, x, tx, T, 2);
	PG_RETURN_POINTER(st);
}

/* The attribute number of name in desc, or 0. */
static int
attnum_of(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
			return i + 1;
	return 0;
}

/*
 * Build a persona.bgnbd / pareto_nbd / gamma_gamma row: parameters, then
 * loglik, customers, iterations, converged; a "unit" attribute gets the
 * fit's unit, any other attribute is NULL (the row type may grow).
 */
static Datum
btyd_model_datum(FunctionCallInfo fcinfo, int k, const double *p, const FitData *d, OptimResult res,
				 const char *model)
{
	TupleDesc	desc = persona_result_desc(fcinfo);
	Datum	   *values = palloc0(desc->natts * sizeof(Datum));
	bool	   *nulls = palloc(desc->natts * sizeof(bool));
	int			unit = attnum_of(desc, "unit");

	Assert(desc->natts >= k + 4);
	/* weights are any float8 >= 0: their sum must still fit the bigint customers */
	if (!(d->weight < 9.2e18))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the total weight %g is out of range for customers (bigint)", d->weight),
				 errhint("Weights are customer counts; scale them down.")));
	memset(nulls, true, desc->natts * sizeof(bool));
	for (int i = 0; i < k + 4; i++)
		nulls[i] = false;
	for (int i = 0; i < k; i++)
		values[i] = Float8GetDatum(exp(p[i]));
	values[k] = Float8GetDatum(res.loglik);
	values[k + 1] = Int64GetDatum((int64) rint(d->weight));
	values[k + 2] = Int32GetDatum(res.iterations);
	values[k + 3] = BoolGetDatum(res.converged);
	if (unit > 0 && d->unit_days != 0)
	{
		values[unit - 1] = CStringGetTextDatum(btyd_unit_name(d->unit_days));
		nulls[unit - 1] = false;
	}
	if (!res.converged)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%s fit did not converge after %d iterations", model, res.iterations),
				 errdetail("The data may not identify the model, e.g. when customers are all alike; parameters drift towards 0 or infinity."),
				 errhint("The fit's converged column is false. A small penalty (the last argument, e.g. 0.001) keeps the parameters finite.")));
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* The data of a BTYD fit, or NULL when there is nothing to fit; errors when no one repeated. */
FitData *
btyd_fit_data(FunctionCallInfo fcinfo, const char *model)
{
	FitData    *d;
	bool		repeaters = false;

	if (PG_ARGISNULL(0))
		return NULL;
	d = fitstate_data((FitState *) PG_GETARG_POINTER(0));
	if (d->n == 0)
		return NULL;
	for (int64 i = 0; i < d->n && !repeaters; i++)
		repeaters = d->rows[i].k1 > 0;
	if (!repeaters)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit %s: no customer made a repeat purchase", model),
				 errhint("The model needs some customers with x > 0.")));
	return d;
}

/*
 * Read the k parameters from a model row; they must be positive and finite
 * (a hand-written model row can hold anything).
 */
void
btyd_model_params(HeapTupleHeader m, int k, double *out, const char *model)
{
	for (int i = 0; i < k; i++)
	{
		bool		isnull;

		out[i] = DatumGetFloat8(GetAttributeByNum(m, i + 1, &isnull));
		if (isnull || !(out[i] > 0) || isinf(out[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s parameters must be positive and finite", model),
					 isnull ? errdetail("Parameter %d is NULL.", i + 1) :
					 errdetail("Parameter %d is %g.", i + 1, out[i]),
					 errhint("Use a row returned by the fit aggregate.")));
	}
}

/*
 * A model's result kept in its domain [lo, hi]: rounding drift outside it
 * is clamped, NaN (and an infinity outside it) is an error, so no accepted
 * input gives a NaN, a P(alive) outside [0, 1] or a negative expectation.
 */
double
btyd_in_domain(double v, double lo, double hi, const char *what)
{
	if (isnan(v) || (isinf(v) && (v > 0 ? !isinf(hi) : !isinf(lo))))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range for these model parameters", what),
				 errdetail("The computation gave %s.", isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")),
				 errhint("Extreme parameters or customer summaries overflow; use a model row returned by the fit aggregate.")));
	return v < lo ? lo : (v > hi ? hi : v);
}

/* A prediction horizon must be finite and >= 0. */
void
btyd_check_horizon(double t)
{
	if (!(t >= 0) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the horizon t must be a finite number >= 0, not %g", t)));
}

/*
 * The time units of x, t_x and T: a name (any case, surrounding blanks
 * ignored, singular or plural) and its length in days.  A month is
 * 365.25/12 days, the mean Gregorian month, as in clv().
 */
static const struct
{
	const char *name;			/* plural: the canonical name a model records */
	double		days;
}			btyd_units[] = {{"days", 1.0}, {"weeks", 7.0}, {"months", BTYD_DAYS_PER_MONTH}};

double
btyd_unit_days(const char *unit)
{
	const char *s = unit;
	size_t		len;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	for (int i = 0; i < lengthof(btyd_units); i++)
	{
		size_t		n = strlen(btyd_units[i].name);

		/* the plural name, or it without its final s */
		if ((len == n || len == n - 1) && pg_strncasecmp(s, btyd_units[i].name, len) == 0)
			return btyd_units[i].days;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown time unit \"%s\"", unit),
			 errhint("Use 'days', 'weeks' or 'months' (any case; a month is 365.25/12 days).")));
	pg_unreachable();
}

/* time_unit_days(unit): days in a unit, for SQL callers (holdout) with the same rules and wording. */
Datum
time_unit_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(btyd_unit_days(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/* The canonical name of a unit of days days (one btyd_unit_days returned). */
const char *
btyd_unit_name(double days)
{
	for (int i = 0; i < lengthof(btyd_units); i++)
		if (btyd_units[i].days == days)
			return btyd_units[i].name;
	elog(ERROR, "no time unit of %g days", days);
	pg_unreachable();
}

/* The days of a text unit argument, or 0 (not stated) when NULL. */
double
btyd_unit_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return 0;
	return btyd_unit_days(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}

/*
 * The unit a model row records (its attribute "unit"), or 0 when it states
 * none: fitted on plain numbers, or stored before models had a unit.
 */
double
btyd_model_unit(HeapTupleHeader m)
{
	bool		isnull;
	Datum		d = GetAttributeByName(m, "unit", &isnull);

	return isnull ? 0 : btyd_unit_days(TextDatumGetCString(d));
}

/*
 * The unit to score in: the one given (0: none) checked against the one the
 * model records (0: none).  Neither is an error; so are two that differ, as
 * x, t_x, T and t in another unit than the fit's give wrong answers.
 */
double
btyd_scoring_unit(double model_days, double given_days, const char *model)
{
	if (given_days == 0 && model_days == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the time unit is not known"),
				 errdetail("The %s model records no unit and none was given.", model),
				 errhint("Pass unit ('days', 'weeks' or 'months'), or fit the model on persona.btyd(...) summaries, which record it.")));
	if (given_days != 0 && model_days != 0 && given_days != model_days)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time unit \"%s\" does not match the model's unit \"%s\"",
						btyd_unit_name(given_days), btyd_unit_name(model_days)),
				 errdetail("The %s model was fitted on x, t_x and T in %s.", model, btyd_unit_name(model_days)),
				 errhint("Compute the summary in the model's unit: persona.btyd(stats, '%s').",
						 btyd_unit_name(model_days))));
	return given_days != 0 ? given_days : model_days;
}

Datum
fit_model_datum(FunctionCallInfo fcinfo, FitData *d, int k,
				double (*value) (void *, const double *),
				double (*value_grad) (void *, const double *, double *),
				const char *name)
{
	double		p[OPTIM_MAX_PARAMS] = {0};	/* start at all parameters 1 */
	Objective	obj = {0};

	obj.k = k;
	obj.data = d;
	obj.value = value;
	obj.value_grad = value_grad;
	obj.weight = d->weight;
	obj.penalty = d->penalty;
	return btyd_model_datum(fcinfo, k, p, d, optim_maximise(&obj, p), name);
}

Datum
btyd_fit_final(FunctionCallInfo fcinfo, const BtydModel *model)
{
	FitData    *d = btyd_fit_data(fcinfo, model->name);

	if (d == NULL)
		PG_RETURN_NULL();
	return fit_model_datum(fcinfo, d, 4, model->value, model->value_grad, model->name);
}

/*
 * A summary argument of a scoring function: (x, t_x, T) and the unit to
 * score in (the summary's, else the model's; they must agree).  False when
 * the summary or one of x, t_x, T is NULL.
 */
static bool
btyd_summary_arg(FunctionCallInfo fcinfo, int argno, const BtydModel *model,
				 double *x, double *tx, double *T)
{
	double		unit_days;

	if (PG_ARGISNULL(argno) ||
		!btyd_read_summary(PG_GETARG_HEAPTUPLEHEADER(argno), x, tx, T, &unit_days))
		return false;
	(void) btyd_scoring_unit(btyd_model_unit(PG_GETARG_HEAPTUPLEHEADER(0)), unit_days, model->name);
	btyd_check_summary(*x, *tx, *T);
	return true;
}

/* (model, summary), strict: P(alive) of a summary in the model's unit */
Datum
btyd_p_alive_summary_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4], x, tx, T;

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	if (!btyd_summary_arg(fcinfo, 1, model, &x, &tx, &T))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(btyd_in_domain(model->p_alive(m, x, tx, T), 0, 1, "P(alive)"));
}

/* (model, t, summary): expected purchases in the next t units of the summary */
Datum
btyd_expected_summary_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4], x, tx, T;
	double		t = PG_GETARG_FLOAT8(1);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	if (!btyd_summary_arg(fcinfo, 2, model, &x, &tx, &T))
		PG_RETURN_NULL();
	btyd_check_horizon(t);
	PG_RETURN_FLOAT8(btyd_in_domain(model->expected(m, t, x, tx, T), 0, DBL_MAX, "expected purchases"));
}

/* (model, x, t_x, T) */
Datum
btyd_p_alive_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4];
	double		x = PG_GETARG_FLOAT8(1), tx = PG_GETARG_FLOAT8(2), T = PG_GETARG_FLOAT8(3);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	btyd_check_summary(x, tx, T);
	PG_RETURN_FLOAT8(btyd_in_domain(model->p_alive(m, x, tx, T), 0, 1, "P(alive)"));
}

/* (model, t, x, t_x, T) */
Datum
btyd_expected_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4];
	double		t = PG_GETARG_FLOAT8(1);
	double		x = PG_GETARG_FLOAT8(2), tx = PG_GETARG_FLOAT8(3), T = PG_GETARG_FLOAT8(4);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	btyd_check_summary(x, tx, T);
	btyd_check_horizon(t);
	PG_RETURN_FLOAT8(btyd_in_domain(model->expected(m, t, x, tx, T), 0, DBL_MAX, "expected purchases"));
}

/* (model, t): a customer just acquired is x = t_x = T = 0 */
Datum
btyd_expected_new_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4];
	double		t = PG_GETARG_FLOAT8(1);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	btyd_check_horizon(t);
	PG_RETURN_FLOAT8(btyd_in_domain(model->expected(m, t, 0, 0, 0), 0, DBL_MAX, "expected purchases"));
}

/*
 * One row's log-likelihood under model parameters m[k]: the fit's own
 * likelihood over a one-row FitData (the *_loglik SQL functions).
 */
double
fit_row_loglik(double (*value) (void *, const double *), int k, const double *m,
			   double k1, double k2, double k3)
{
	double		p[OPTIM_MAX_PARAMS];
	FitRow		row = {k1, k2, k3, 1};
	FitData		one = {0};

	for (int i = 0; i < k; i++)
		p[i] = log(m[i]);
	one.n = 1;
	one.rows = &row;
	return value(&one, p);
}

/* (model, x, t_x, T): one customer's log-likelihood term */
Datum
btyd_loglik_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4];
	double		x = PG_GETARG_FLOAT8(1), tx = PG_GETARG_FLOAT8(2), T = PG_GETARG_FLOAT8(3);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	btyd_check_summary(x, tx, T);
	PG_RETURN_FLOAT8(btyd_in_domain(fit_row_loglik(model->value, 4, m, x, tx, T), -INFINITY, DBL_MAX,
									"log-likelihood"));
}
