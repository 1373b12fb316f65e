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
#include "fit_summary.h"
#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(btyd_fit_transfn);

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

/*
 * Transition function of the purchase-model fits:
 * (state, x, t_x, T [, weight [, penalty [, start]]]), each row validated
 * by check.
 */
Datum
btyd_fit_trans(FunctionCallInfo fcinfo, void (*check) (double, double, double))
{
	FitState   *st = fitstate_get(fcinfo);
	double		x, tx, T, w = 1;

	/*
	 * Like other aggregates, skip rows with a NULL x, t_x or T.  A NULL
	 * weight means "no weight": the row counts once, so that
	 * bgnbd_fit(x, t_x, T, NULL, penalty) is the unweighted penalised fit.
	 */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_POINTER(st);
	x = PG_GETARG_FLOAT8(1);
	tx = PG_GETARG_FLOAT8(2);
	T = PG_GETARG_FLOAT8(3);
	check(x, tx, T);
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
	{
		w = PG_GETARG_FLOAT8(4);
		persona_check_finite(w, "weight");
		if (w < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weight must be >= 0, not %g", w)));
	}
	fitstate_penalty_arg(st, fcinfo, 5);
	fitstate_start_arg(st, fcinfo, 6, 4, "start model");
	fitstate_count_row(st);
	fitstate_add(st, x, tx, T, w);
	PG_RETURN_POINTER(st);
}

/* Transition function of bgnbd_fit, mbgnbd_fit and pareto_nbd_fit. */
Datum
btyd_fit_transfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_trans(fcinfo, btyd_check_summary);
}

/*
 * Set the attribute called name if the row type has it.  Model rows are
 * filled by name (after the k parameters, which come first), so attributes
 * added to the types later stay NULL until their code fills them.
 */
static void
model_row_set(TupleDesc desc, Datum *values, bool *nulls, const char *name, Datum v)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
		{
			values[i] = v;
			nulls[i] = false;
			return;
		}
	}
}

/* Set a float8 attribute, NULL when v is NaN (an undefined standard error). */
static void
model_row_set_float8(TupleDesc desc, Datum *values, bool *nulls, const char *name, double v)
{
	if (!isnan(v))
		model_row_set(desc, values, nulls, name, Float8GetDatum(v));
}

/*
 * Warn about a fit the data do not identify, or one that did not converge:
 * the row says so too (identified, status, converged).
 */
static void
warn_fit(const char *model, const FitSummary *sum, OptimResult res)
{
	if (sum->problem == FIT_NOT_IDENTIFIED || sum->problem == FIT_BOUNDARY)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%s fit is %s", model,
						sum->problem == FIT_BOUNDARY ? "at a boundary of the parameter space" : "not identified"),
				 errdetail("%s%s", sum->detail,
						   res.converged ? "" : " The optimiser also stopped before meeting its tolerance."),
				 sum->towards_zero ?
				 errhint("The fit's identified column is false and status says why. A penalty pulls parameters towards 0, so it does not help here; use a longer calibration period or a simpler model.") :
				 errhint("The fit's identified column is false and status says why. A small penalty (the last argument, e.g. 0.01) keeps large parameters finite; a longer calibration period or a simpler model may identify them.")));
	else if (!res.converged)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%s fit did not converge after %d iterations", model, res.iterations),
				 errdetail("The parameters are identified (standard errors are finite) but the optimiser stopped before meeting its tolerance."),
				 errhint("The fit's converged column is false. Check the input for extreme values.")));
}

/*
 * Build a persona.bgnbd / pareto_nbd / gamma_gamma row: the k parameters,
 * then by name loglik, customers, iterations, converged, the standard
 * errors se_<param> and se_log_<param>, identified and status.
 */
static Datum
btyd_model_datum(FunctionCallInfo fcinfo, const Objective *obj, const double *p, const FitData *d,
				 OptimResult res, const char *model)
{
	TupleDesc	desc = persona_result_desc(fcinfo);
	Datum	   *values = palloc0(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	const char *names[OPTIM_MAX_PARAMS];
	FitSummary	sum;
	int			k = obj->k;

	for (int i = 0; i < desc->natts; i++)
		nulls[i] = true;
	for (int i = 0; i < k; i++)
	{
		values[i] = Float8GetDatum(exp(p[i]));
		nulls[i] = false;
		names[i] = NameStr(TupleDescAttr(desc, i)->attname);
	}
	fit_summary(obj, d, p, res.converged, names, &sum);
	model_row_set(desc, values, nulls, "loglik", Float8GetDatum(res.loglik));
	model_row_set(desc, values, nulls, "customers", Int64GetDatum((int64) rint(d->weight)));
	model_row_set(desc, values, nulls, "iterations", Int32GetDatum(res.iterations));
	model_row_set(desc, values, nulls, "converged", BoolGetDatum(res.converged));
	for (int i = 0; i < k; i++)
	{
		char		se[NAMEDATALEN + 8];

		snprintf(se, sizeof(se), "se_%s", names[i]);
		model_row_set_float8(desc, values, nulls, se, sum.se[i]);
		snprintf(se, sizeof(se), "se_log_%s", names[i]);
		model_row_set_float8(desc, values, nulls, se, sum.se_log[i]);
	}
	model_row_set(desc, values, nulls, "identified",
				  BoolGetDatum(sum.problem == FIT_OK || sum.problem == FIT_NOT_CONVERGED));
	model_row_set(desc, values, nulls, "status", CStringGetTextDatum(sum.status));
	warn_fit(model, &sum, res);
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

/* A purchase count n of P(X(t) = n) must be >= 0. */
void
btyd_check_count(int n)
{
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the number of purchases must be >= 0, not %d", n)));
}

double
btyd_unit_days(const char *unit)
{
	if (strcmp(unit, "days") == 0 || strcmp(unit, "day") == 0)
		return 1.0;
	if (strcmp(unit, "weeks") == 0 || strcmp(unit, "week") == 0)
		return 7.0;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown time unit \"%s\"", unit),
			 errhint("Use 'days' or 'weeks'.")));
	pg_unreachable();
}

Datum
fit_model_datum(FunctionCallInfo fcinfo, FitData *d, int k,
				double (*value) (void *, const double *),
				double (*value_grad) (void *, const double *, double *),
				const char *name)
{
	double		p[OPTIM_MAX_PARAMS] = {0};	/* start at all parameters 1 */
	Objective	obj = {0};
	OptimResult res;

	/*
	 * or where the caller's start model is, a little inside the search
	 * bounds: a start on a bound (a previous fit that ran to it) leaves the
	 * line search no room and the fit would end unconverged
	 */
	for (int i = 0; i < d->start_k && i < k; i++)
		p[i] = Max(-OPTIM_LOG_BOUND + 1, Min(OPTIM_LOG_BOUND - 1, log(d->start[i])));

	obj.k = k;
	obj.data = d;
	obj.value = value;
	obj.value_grad = value_grad;
	obj.weight = d->weight;
	obj.penalty = d->penalty;
	res = optim_maximise(&obj, p);
	return btyd_model_datum(fcinfo, &obj, p, d, res, name);
}

Datum
btyd_fit_final(FunctionCallInfo fcinfo, const BtydModel *model)
{
	FitData    *d = btyd_fit_data(fcinfo, model->name);

	if (d == NULL)
		PG_RETURN_NULL();
	return fit_model_datum(fcinfo, d, 4, model->value, model->value_grad, model->name);
}

/* (model, x, t_x, T) */
Datum
btyd_p_alive_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4];
	double		x = PG_GETARG_FLOAT8(1), tx = PG_GETARG_FLOAT8(2), T = PG_GETARG_FLOAT8(3);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	model->check(x, tx, T);
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
	model->check(x, tx, T);
	model->check_horizon(t);
	PG_RETURN_FLOAT8(btyd_in_domain(model->expected(m, t, x, tx, T), 0, DBL_MAX, "expected purchases"));
}

/* (model, t): a customer just acquired is x = t_x = T = 0 */
Datum
btyd_expected_new_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[4];
	double		t = PG_GETARG_FLOAT8(1);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, m, model->name);
	model->check_horizon(t);
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
	model->check(x, tx, T);
	PG_RETURN_FLOAT8(btyd_in_domain(fit_row_loglik(model->value, 4, m, x, tx, T), -INFINITY, DBL_MAX,
									"log-likelihood"));
}
