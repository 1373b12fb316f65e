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
#include "expstate.h"
#include "weighted_rows.h"
#include "executor/executor.h"
#include "fit_summary.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(btyd_fit_transfn);
PG_FUNCTION_INFO_V1(btyd_fit_summary_transfn);
PG_FUNCTION_INFO_V1(time_unit_days);
PG_FUNCTION_INFO_V1(btyd_model_unit_sql);

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
 * Add one (x, t_x, T) row, validated for the state's kind, with the weight,
 * penalty and start model of arguments wargno, wargno + 1 and wargno + 2 if
 * given (a NULL weight: 1).
 */
static void
btyd_fit_add(FitState *st, FunctionCallInfo fcinfo, double x, double tx, double T, int wargno)
{
	double		w = 1;

	fitstate_check_row(st, x, tx, T);
	if (PG_NARGS() > wargno && !PG_ARGISNULL(wargno))
	{
		w = PG_GETARG_FLOAT8(wargno);
		persona_check_finite(w, "weight");
		if (w < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weight must be >= 0, not %g", w)));
	}
	fitstate_penalty_arg(st, fcinfo, wargno + 1);
	fitstate_start_arg(st, fcinfo, wargno + 2, 4, "start model");
	fitstate_count_row(st);
	fitstate_add(st, x, tx, T, w);
}

/*
 * Transition function of the purchase-model fits:
 * (state, x, t_x, T [, weight [, penalty [, start]]]), each row validated
 * as a row of a state of this kind.
 */
Datum
btyd_fit_trans(FunctionCallInfo fcinfo, FitKind kind)
{
	ExpState   *es = fitstate_begin(fcinfo, kind);
	FitState   *st = es->state;

	/*
	 * Like other aggregates, skip rows with a NULL x, t_x or T.  A NULL
	 * weight means "no weight": the row counts once, so that
	 * bgnbd_fit(x, t_x, T, NULL, penalty) is the unweighted penalised fit.
	 */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_DATUM(expstate_datum(es));
	btyd_fit_add(st, fcinfo, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3), 4);
	PG_RETURN_DATUM(expstate_datum(es));
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
 * pareto_nbd_fit(...): the summary's unit becomes the model's; a NULL
 * summary (or x, t_x, T) is skipped, a NULL weight is 1.
 */
Datum
btyd_fit_summary_transfn(PG_FUNCTION_ARGS)
{
	ExpState   *es = fitstate_begin(fcinfo, FIT_HISTORIES);
	FitState   *st = es->state;
	double		x, tx, T, unit_days;

	if (PG_ARGISNULL(1) ||
		!btyd_read_summary(PG_GETARG_HEAPTUPLEHEADER(1), &x, &tx, &T, &unit_days))
		PG_RETURN_DATUM(expstate_datum(es));
	fitstate_unit(st, unit_days);
	btyd_fit_add(st, fcinfo, x, tx, T, 2);
	PG_RETURN_DATUM(expstate_datum(es));
}

/* Transition function of bgnbd_fit, mbgnbd_fit and pareto_nbd_fit. */
Datum
btyd_fit_transfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_trans(fcinfo, FIT_HISTORIES);
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
 * The purchase models with a no-dropout limit: r, alpha, then two dropout
 * parameters, a and b (BG/NBD, MBG/NBD: a customer drops out after a
 * purchase with probability a / (a + b)) or s and beta (Pareto/NBD: mean
 * dropout rate s / beta).
 */
static bool
has_dropout_limit(const char *model)
{
	return strcmp(model, "BG/NBD") == 0 || strcmp(model, "MBG/NBD") == 0 || strcmp(model, "Pareto/NBD") == 0;
}

typedef enum FitLimit
{
	LIMIT_NONE,
	LIMIT_NBD,					/* no dropout */
	LIMIT_POISSON				/* no dropout, one purchase rate */
} FitLimit;

/*
 * What a purchase model whose log-parameters p ran to the search bounds
 * reduces to: without dropout (BG/NBD and MBG/NBD a -> 0 or b -> infinity,
 * Pareto/NBD s -> 0 or beta -> infinity) the NBD model, and with
 * alpha -> infinity as well (r too, r / alpha the rate every customer has)
 * a Poisson process; so does the NBD model with alpha -> infinity.
 */
static FitLimit
fit_limit(const char *model, const double *p)
{
	double		edge = OPTIM_LOG_BOUND - FIT_BOUND_MARGIN;
	bool		nbd = strcmp(model, "NBD") == 0;

	if (!nbd && !(has_dropout_limit(model) && (p[2] <= -edge || p[3] >= edge)))
		return LIMIT_NONE;
	if (p[1] >= edge)
		return LIMIT_POISSON;
	return nbd ? LIMIT_NONE : LIMIT_NBD;
}

/*
 * The NBD fit of obj's rows from r and alpha in q (the first two of a
 * dropout model's parameters), its search begun with the inverse observed
 * information there: it starts near the optimum.
 */
static OptimResult
fit_nbd_limit(const Objective *obj, double *q)
{
	Objective	nbd = *obj;
	double		H0[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];

	nbd.k = nbd_model.k;
	nbd.value = nbd_model.value;
	nbd.value_grad = nbd_model.value_grad;
	nbd.start_inverse_hessian = NULL;
	if (fit_start_inverse_hessian(&nbd, obj->data, q, H0))
		nbd.start_inverse_hessian = H0;
	return optim_maximise(&nbd, q);
}

/*
 * The supremum of the likelihood in the Poisson limit: every customer buys
 * at the rate lambda = sum w x / sum w T, and each contributes
 * x ln lambda - lambda T (the NBD likelihood as r, alpha -> infinity with
 * r / alpha = lambda), so the total is X (ln lambda - 1) with X = sum w x.
 */
static double
poisson_limit_loglik(const FitData *d)
{
	double		X = 0, T = 0;

	for (int64 i = 0; i < d->n; i++)
	{
		X += d->rows[i].w * d->rows[i].k1;
		T += d->rows[i].w * d->rows[i].k3;
	}
	return X > 0 && T > 0 ? X * (log(X / T) - 1) : -INFINITY;
}

/*
 * A fit that ran to a limit reports the limit model's likelihood, not that
 * of the point on the bounds it stopped at (on the way there, the last
 * digits still rise): the NBD fit of the same rows from the r and alpha
 * reached (they replace them when it is better), and the Poisson limit's
 * supremum in closed form (then the fit has converged: nothing above it
 * remains).  Unpenalised fits only: a penalty keeps parameters finite.
 */
static OptimResult
reach_limit_model(const Objective *obj, const FitData *d, double *p, OptimResult res, const char *model)
{
	FitLimit	limit = obj->penalty > 0 ? LIMIT_NONE : fit_limit(model, p);

	if (limit == LIMIT_NBD)
	{
		double		q[OPTIM_MAX_PARAMS] = {p[0], p[1]};
		OptimResult at_limit = fit_nbd_limit(obj, q);

		if (at_limit.loglik > res.loglik)
		{
			p[0] = q[0];
			p[1] = q[1];
			at_limit.iterations += res.iterations;
			res = at_limit;
		}
		limit = fit_limit("NBD", p);
	}
	if (limit == LIMIT_POISSON)
	{
		double		ll = poisson_limit_loglik(d);

		if (ll >= res.loglik)
		{
			res.loglik = ll;
			res.converged = true;
		}
	}
	return res;
}

/*
 * A warm start at the no-dropout limit (a previous fit that reduced to
 * NBD, its dropout parameter on the search bound): refit the NBD model
 * from its r and alpha, and stay at the limit if the likelihood still
 * pushes the dropout parameter out of the box there.  The full search
 * from such a start is ill-conditioned (the other dropout parameter no
 * longer changes the likelihood) and can spend hundreds of evaluations
 * to get where this gets in a few.  False (p unchanged) when the data now
 * show dropout: then the full search runs.
 */
static bool
stay_at_nbd_limit(const Objective *obj, double *p, OptimResult *res)
{
	double		q[OPTIM_MAX_PARAMS] = {p[0], p[1]};
	double		at[OPTIM_MAX_PARAMS], g[OPTIM_MAX_PARAMS];
	OptimResult at_limit;
	bool		pushed_out;

	if (obj->k != 4 || obj->penalty > 0)
		return false;
	at_limit = fit_nbd_limit(obj, q);
	memcpy(at, p, sizeof(double) * obj->k);
	at[0] = q[0];
	at[1] = q[1];
	(void) optim_objective(obj, at, g);
	/* a (or s) held at 0, or b (or beta) at infinity, by a likelihood rising outwards */
	pushed_out = (at[2] <= -OPTIM_LOG_BOUND + 1e-9 && g[2] <= 0) ||
		(at[3] >= OPTIM_LOG_BOUND - 1e-9 && g[3] >= 0);
	if (!pushed_out)
		return false;
	memcpy(p, at, sizeof(double) * obj->k);
	*res = at_limit;
	return true;
}

/*
 * Warn about a fit the data do not identify, or one that did not converge:
 * the row says so too (identified, status, converged).  The hint of a fit
 * at a limit names the simpler model.
 */
static void
warn_fit(const char *model, const FitSummary *sum, OptimResult res, FitLimit limit)
{
	if (sum->problem == FIT_NOT_IDENTIFIED || sum->problem == FIT_BOUNDARY)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%s fit is %s", model,
						sum->problem == FIT_BOUNDARY ? "at a boundary of the parameter space" : "not identified"),
				 errdetail("%s%s", sum->detail,
						   res.converged ? "" : " The optimiser also stopped before meeting its tolerance."),
				 limit == LIMIT_POISSON ?
				 errhint("The fit's identified column is false and status says why. The data show neither dropout nor differences in purchase rates: every customer buys at the rate sum(x) / sum(T).") :
				 limit == LIMIT_NBD ?
				 errhint("The fit's identified column is false and status says why. The data show no dropout: persona.nbd_fit fits that model itself, with standard errors.") :
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

/* The status and warning of a fit at a limit name the model it reduces to. */
static FitLimit
note_limit_model(const char *model, const double *p, FitSummary *sum)
{
	FitLimit	limit = fit_limit(model, p);
	const char *what;

	if (sum->problem != FIT_BOUNDARY || limit == LIMIT_NONE)
		return LIMIT_NONE;
	what = limit == LIMIT_POISSON ? "a Poisson process (no dropout, one purchase rate)" : "the NBD model (no dropout)";
	strlcat(sum->status, limit == LIMIT_POISSON ? "; reduces to Poisson" : "; reduces to NBD", sizeof(sum->status));
	strlcat(sum->detail, " The model reduces to ", sizeof(sum->detail));
	strlcat(sum->detail, what, sizeof(sum->detail));
	strlcat(sum->detail, ", and its log-likelihood is that limit's.", sizeof(sum->detail));
	return limit;
}

/*
 * Build a persona.bgnbd / pareto_nbd / gamma_gamma row: the k parameters,
 * then by name loglik, customers, iterations, converged, the standard
 * errors se_<param> and se_log_<param>, identified, status and unit.
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
	FitLimit	limit;
	int			k = obj->k;

	/* weights are any float8 >= 0: their sum must still fit the bigint customers */
	if (!(d->weight < 9.2e18))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the total weight %g is out of range for customers (bigint)", d->weight),
				 errhint("Weights are customer counts; scale them down.")));
	for (int i = 0; i < desc->natts; i++)
		nulls[i] = true;
	for (int i = 0; i < k; i++)
	{
		values[i] = Float8GetDatum(exp(p[i]));
		nulls[i] = false;
		names[i] = NameStr(TupleDescAttr(desc, i)->attname);
	}
	fit_summary(obj, d, p, res.converged, names, &sum);
	limit = note_limit_model(model, p, &sum);
	/*
	 * In a limit the parameters that went there are not identified one by
	 * one: without dropout neither dropout parameter (the likelihood no
	 * longer depends on the one left finite), in the Poisson limit neither
	 * r nor alpha (only r / alpha); they have no standard errors.
	 */
	for (int i = 0; i < k; i++)
		if ((limit != LIMIT_NONE && i >= 2) || (limit == LIMIT_POISSON && i < 2))
			sum.se[i] = sum.se_log[i] = NAN;
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
	if (d->unit_days != 0)
		model_row_set(desc, values, nulls, "unit", CStringGetTextDatum(btyd_unit_name(d->unit_days)));
	warn_fit(model, &sum, res, limit);
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* d, or NULL when there is nothing to fit; errors when no one repeated. */
static FitData *
btyd_fit_check_repeaters(FitData *d, const char *model)
{
	bool		repeaters = false;

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

/* The data of a BTYD fit aggregate, or NULL when there is nothing to fit; errors when no one repeated. */
FitData *
btyd_fit_data(FunctionCallInfo fcinfo, const BtydModel *model)
{
	FitKind		kind = model == &bgbb_model ? FIT_OPPORTUNITIES : FIT_HISTORIES;

	if (PG_ARGISNULL(0))
		return NULL;
	return btyd_fit_check_repeaters(fitstate_data(PG_GETARG_DATUM(0), kind, model->name), model->name);
}

/*
 * Read the k parameters from a model row; they must be positive and finite
 * (a hand-written model row can hold anything).  Every model type begins
 * with its k float8 parameters: without NULLs among them they are read
 * straight from the row (a scoring query calls this once per customer, and
 * GetAttributeByNum looks the row type up on every call).
 */
void
btyd_model_params(HeapTupleHeader m, int k, double *out, const char *model)
{
	bool		direct = HeapTupleHeaderGetNatts(m) >= k;

	for (int i = 0; i < k && direct && (m->t_infomask & HEAP_HASNULL); i++)
		direct = !att_isnull(i, m->t_bits);
	for (int i = 0; i < k; i++)
	{
		bool		isnull = false;

		if (direct)
			memcpy(&out[i], (const char *) m + m->t_hoff + i * sizeof(double), sizeof(double));
		else
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
/* Whether days is the length of one of the time units. */
bool
btyd_unit_known(double days)
{
	for (int i = 0; i < lengthof(btyd_units); i++)
		if (btyd_units[i].days == days)
			return true;
	return false;
}

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
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(m), HeapTupleHeaderGetTypMod(m));
	bool		has_unit = false;
	bool		isnull = true;
	Datum		d = (Datum) 0;

	/* a model type without the attribute (none yet, or not time-based) states no unit */
	for (int i = 0; i < desc->natts && !has_unit; i++)
		has_unit = !TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), "unit") == 0;
	ReleaseTupleDesc(desc);
	if (has_unit)
		d = GetAttributeByName(m, "unit", &isnull);
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

/*
 * SQL btyd_model_unit(model anyelement, unit text): the unit a check of a
 * model value (holdout, tracking, period_transactions) works in, with
 * scoring's rules and wording: the given unit must be the model's when it
 * records one; none given is the model's, or weeks when it records none.
 */
Datum
btyd_model_unit_sql(PG_FUNCTION_ARGS)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);
	double		model_days = 0;
	double		given_days = btyd_unit_arg(fcinfo, 1);

	if (!type_is_rowtype(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s is not a purchase model", format_type_be(type))));
	if (!PG_ARGISNULL(0))
		model_days = btyd_model_unit(PG_GETARG_HEAPTUPLEHEADER(0));
	if (given_days == 0 && model_days == 0)
		given_days = 7;
	PG_RETURN_TEXT_P(cstring_to_text(btyd_unit_name(btyd_scoring_unit(model_days, given_days,
																		  format_type_be(type)))));
}

/*
 * A purchase-model search that stopped on the ridge towards the
 * no-dropout limit (BG/NBD and MBG/NBD a / (a + b), Pareto/NBD s / beta
 * below 1e-5, the dropout parameter not on its bound: the likelihood is
 * almost flat along a ridge that only ends at the limit) is searched again
 * from the limit itself, the dropout parameter on its lower bound, where
 * the search holds it while the likelihood pushes outwards; the better of
 * the two ends is kept (p and the result are replaced).
 */
static OptimResult
try_no_dropout_limit(const Objective *obj, double *p, OptimResult res, const char *model)
{
	double		dropout;
	double		q[OPTIM_MAX_PARAMS];
	Objective	again = *obj;
	OptimResult at_limit;

	if (!has_dropout_limit(model) || obj->k != 4 || obj->penalty > 0 || !(p[2] > -OPTIM_LOG_BOUND + FIT_BOUND_MARGIN))
		return res;
	/* a / (a + b), or s / beta */
	dropout = strcmp(model, "Pareto/NBD") == 0 ? exp(p[2] - p[3]) : 1 / (1 + exp(p[3] - p[2]));
	if (!(dropout < 1e-5))
		return res;
	memcpy(q, p, sizeof(double) * obj->k);
	q[2] = -OPTIM_LOG_BOUND;
	again.start_inverse_hessian = NULL;
	at_limit = optim_maximise(&again, q);
	if (!(at_limit.loglik > res.loglik))
		return res;
	memcpy(p, q, sizeof(double) * obj->k);
	at_limit.iterations += res.iterations;
	return at_limit;
}

/*
 * Whether the likelihood at a start p rises into the box from a parameter
 * on its lower bound: a search begun there would not leave it (see
 * fit_model_datum), so the fit starts cold instead.
 */
static bool
leaves_lower_bound(const Objective *obj, const double *p)
{
	double		g[OPTIM_MAX_PARAMS];
	bool		on_bound = false;

	for (int i = 0; i < obj->k; i++)
		on_bound |= p[i] <= -OPTIM_LOG_BOUND + 1e-9;
	if (!on_bound)
		return false;
	(void) optim_objective(obj, p, g);
	for (int i = 0; i < obj->k; i++)
		if (p[i] <= -OPTIM_LOG_BOUND + 1e-9 && g[i] > 0)
			return true;
	return false;
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
	double		H0[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];
	bool		warm = d->start_k > 0;

	/*
	 * or where the caller's start model is, within the search bounds (a
	 * previous fit that ran to a bound starts there: the search holds it
	 * while the likelihood still pushes outwards; where it now rises into
	 * the box from a lower bound, the fit starts cold, below)
	 */
	for (int i = 0; i < d->start_k && i < k; i++)
		p[i] = Max(-OPTIM_LOG_BOUND, Min(OPTIM_LOG_BOUND, log(d->start[i])));

	obj.k = k;
	obj.data = d;
	obj.value = value;
	obj.value_grad = value_grad;
	obj.weight = d->weight;
	obj.penalty = d->penalty;
	if (warm && fit_limit(name, p) == LIMIT_NBD)
	{
		if (stay_at_nbd_limit(&obj, p, &res))
			return btyd_model_datum(fcinfo, &obj, p, d, res, name);
		/*
		 * The data now show dropout, but a search begun on the bound would
		 * not leave it: on the log scale the gradient there is a times the
		 * slope, which vanishes at a = e^-15.  Start cold.
		 */
		memset(p, 0, sizeof(p));
		warm = false;
	}
	else if (warm && leaves_lower_bound(&obj, p))
	{
		memset(p, 0, sizeof(p));
		warm = false;
	}
	if (warm && fit_start_inverse_hessian(&obj, d, p, H0))
		obj.start_inverse_hessian = H0;
	res = optim_maximise(&obj, p);
	res = try_no_dropout_limit(&obj, p, res, name);
	res = reach_limit_model(&obj, d, p, res, name);
	return btyd_model_datum(fcinfo, &obj, p, d, res, name);
}

/*
 * (rows float8[][], penalty, start): the fit over (x, t_x, T, weight) rows
 * that the fit aggregate makes of the same customers, each row checked as
 * the aggregate checks its input.  NULL for no rows.
 */
Datum
btyd_fit_rows_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	WeightedRows r = wrows_read(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0), 4, false, "fit rows");
	FitData    *d;

	for (int64 i = 0; i < r.n; i++)
		model->check(r.v[4 * i], r.v[4 * i + 1], r.v[4 * i + 2]);
	d = btyd_fit_check_repeaters(fitdata_from_rows(&r, fcinfo, 1, 2, model->k, "start model"), model->name);
	if (d == NULL)
		PG_RETURN_NULL();
	return fit_model_datum(fcinfo, d, model->k, model->value, model->value_grad, model->name);
}

Datum
btyd_fit_final(FunctionCallInfo fcinfo, const BtydModel *model)
{
	FitData    *d = btyd_fit_data(fcinfo, model);

	if (d == NULL)
		PG_RETURN_NULL();
	return fit_model_datum(fcinfo, d, model->k, model->value, model->value_grad, model->name);
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
	double		m[OPTIM_MAX_PARAMS], x, tx, T;

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	if (!btyd_summary_arg(fcinfo, 1, model, &x, &tx, &T))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(btyd_in_domain(model->p_alive(m, x, tx, T), 0, 1, "P(alive)"));
}

/* (model, t, summary): expected purchases in the next t units of the summary */
Datum
btyd_expected_summary_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS], x, tx, T;
	double		t = PG_GETARG_FLOAT8(1);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	if (!btyd_summary_arg(fcinfo, 2, model, &x, &tx, &T))
		PG_RETURN_NULL();
	btyd_check_horizon(t);
	PG_RETURN_FLOAT8(btyd_in_domain(model->expected(m, t, x, tx, T), 0, DBL_MAX, "expected purchases"));
}

/* (model, x, t_x, T) */
Datum
btyd_p_alive_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS];
	double		x = PG_GETARG_FLOAT8(1), tx = PG_GETARG_FLOAT8(2), T = PG_GETARG_FLOAT8(3);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	model->check(x, tx, T);
	PG_RETURN_FLOAT8(btyd_in_domain(model->p_alive(m, x, tx, T), 0, 1, "P(alive)"));
}

/* (model, t, x, t_x, T) */
Datum
btyd_expected_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS];
	double		t = PG_GETARG_FLOAT8(1);
	double		x = PG_GETARG_FLOAT8(2), tx = PG_GETARG_FLOAT8(3), T = PG_GETARG_FLOAT8(4);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	model->check(x, tx, T);
	model->check_horizon(t);
	PG_RETURN_FLOAT8(btyd_in_domain(model->expected(m, t, x, tx, T), 0, DBL_MAX, "expected purchases"));
}

/* (model, t): a customer just acquired is x = t_x = T = 0 */
Datum
btyd_expected_new_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS];
	double		t = PG_GETARG_FLOAT8(1);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
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

/* (model, t, n): P(X(t) = n) of a new customer */
Datum
btyd_count_probability_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS];
	double		t = PG_GETARG_FLOAT8(1);
	int32		n = PG_GETARG_INT32(2);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	btyd_check_horizon(t);
	btyd_check_count(n);
	PG_RETURN_FLOAT8(btyd_in_domain(model->count_probability(m, t, n), 0, 1, "purchase count probability"));
}

/* (model, x, t_x, T): one customer's log-likelihood term */
Datum
btyd_loglik_call(FunctionCallInfo fcinfo, const BtydModel *model)
{
	double		m[OPTIM_MAX_PARAMS];
	double		x = PG_GETARG_FLOAT8(1), tx = PG_GETARG_FLOAT8(2), T = PG_GETARG_FLOAT8(3);

	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(0), model->k, m, model->name);
	model->check(x, tx, T);
	PG_RETURN_FLOAT8(btyd_in_domain(fit_row_loglik(model->value, model->k, m, x, tx, T), -INFINITY, DBL_MAX,
									"log-likelihood"));
}
