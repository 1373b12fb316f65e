/*
 * pareto.c — the pareto aggregate: how concentrated revenue is (80/20).
 *
 * Input is one amount per customer (usually their revenue).  Customers are
 * ranked by amount, high first, and the Lorenz curve is interpolated
 * linearly inside a customer, so the answers do not jump with n:
 *   top_revenue_share = share of total revenue from the top top_share of
 *                       customers (default 20%);
 *   customer_share    = smallest share of customers that makes
 *                       revenue_share of total revenue (default 80%).
 * NULL amounts are skipped; NaN/Infinity are errors; when total revenue is
 * not positive the shares are NULL (a share of nothing is undefined).
 */
#include "persona.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "f8state.h"
#include "weighted_rows.h"

/*
 * Aggregate state (f8state.h): header [top_share, revenue_share, accuracy,
 * sum of the amounts], then the distinct amounts with their customers.
 * accuracy > 0 quantises the amounts (f8state_quantise); the header's sum
 * then keeps the exact total revenue.
 */
#define PARETO_HEADER 4
#define PARETO_FIXED 3

PG_FUNCTION_INFO_V1(pareto_transfn);
PG_FUNCTION_INFO_V1(pareto_combinefn);
PG_FUNCTION_INFO_V1(pareto_finalfn);
PG_FUNCTION_INFO_V1(pareto_from_rows);
PG_FUNCTION_INFO_V1(lorenz_transfn);
PG_FUNCTION_INFO_V1(lorenz_finalfn);

/* Error unless 0 < share < 1. */
static void
check_share(double x, const char *name)
{
	if (!(x > 0 && x < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and 1 (exclusive)", name),
				 errdetail("Got %g.", x),
				 errhint("Write 20%% as 0.2.")));
}

/*
 * The state with argument 1 (an amount) added, or as it is for a NULL
 * amount; a first row starts it with header.
 */
static Datum
amount_add(FunctionCallInfo fcinfo, MemoryContext aggctx, const double *header, const char *what)
{
	double		v, q;
	Datum		state;

	if (PG_ARGISNULL(1))
		return f8state_add(PG_GETARG_DATUM(0), PG_ARGISNULL(0), aggctx, header, PARETO_HEADER, 1, -1, NULL, what);
	v = PG_GETARG_FLOAT8(1);
	persona_check_finite(v, "amount");
	q = header[2] > 0 ? f8state_quantise(v, header[2]) : v;
	state = f8state_add(PG_GETARG_DATUM(0), PG_ARGISNULL(0), aggctx, header, PARETO_HEADER, 1, -1, &q, what);
	return f8state_header_add(state, 3, v);
}

/* pareto_transfn(state float8[], amount [, top_share, revenue_share [, accuracy]]) */
Datum
pareto_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	double		header[PARETO_HEADER] = {0.2, 0.8, 0, 0};

	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("top_share and revenue_share must not be NULL")));
		header[0] = PG_GETARG_FLOAT8(2);
		header[1] = PG_GETARG_FLOAT8(3);
	}
	header[2] = f8state_accuracy_arg(fcinfo, 4);
	if (PG_ARGISNULL(0))
	{
		check_share(header[0], "top_share");
		check_share(header[1], "revenue_share");
		f8state_check_accuracy(header[2]);
	}
	else if (!f8state_header_equals(PG_GETARG_DATUM(0), header, 0, PARETO_FIXED, "pareto"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_share, revenue_share and accuracy must be the same for every row")));
	PG_RETURN_DATUM(amount_add(fcinfo, aggctx, header, "pareto"));
}

/* Merge b's amounts into a. */
Datum
pareto_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	PG_RETURN_DATUM(f8state_combine(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1),
									aggctx, PARETO_HEADER, PARETO_FIXED, 1, -1, "pareto"));
}


/* The sum of n amounts, added in order; an error when it overflows. */
static double
amounts_total(const double *v, int64 n)
{
	double		total = 0;

	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		total += v[i];
	}
	if (!isfinite(total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total amount is out of range for type double precision"),
				 errhint("Scale the amounts down, e.g. to thousands.")));
	return total;
}

/* The persona.pareto_summary row of n > 0 amounts v sorted high first. */
static Datum
pareto_summary_of(FunctionCallInfo fcinfo, const double *v, int64 n, double top_share, double revenue_share,
				  double revenue)
{
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	double		total;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	total = amounts_total(v, n);

	values[0] = Int64GetDatum(n);
	values[1] = Float8GetDatum(isnan(revenue) ? total : revenue);
	values[2] = Float8GetDatum(top_share);
	values[4] = Float8GetDatum(revenue_share);
	if (total > 0)
	{
		double		k = top_share * n;
		int64		whole = (int64) floor(k);
		double		top = 0;
		double		target = revenue_share * total;
		double		cum = 0;
		double		cust = (double) n;

		for (int64 i = 0; i < whole; i++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
			top += v[i];
		}
		if (whole < n)
			top += (k - whole) * v[whole];
		if (!isfinite(top / total))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("total amount is out of range for type double precision"),
					 errdetail("The top customers' amount overflows."),
					 errhint("Scale the amounts down, e.g. to thousands.")));
		values[3] = Float8GetDatum(top / total);

		for (int64 i = 0; i < n; i++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
			if (cum + v[i] >= target && v[i] > 0)
			{
				cust = i + (target - cum) / v[i];
				break;
			}
			cum += v[i];
		}
		values[5] = Float8GetDatum(cust / n);
	}
	else
		nulls[3] = nulls[5] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * The amounts of (amount, customers) runs r, ascending, expanded high
 * first; accuracy > 0: each quantised amount's representative.  *n counts
 * them.
 */
static double *
expand_high_first(const WeightedRows *r, double accuracy, int64 *n, const char *what)
{
	double	   *v;

	if (!(r->total < (double) (MaxAllocHugeSize / sizeof(double))))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s count too many customers (%g)", what, r->total)));
	v = palloc_extended(Max(r->total, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	*n = 0;
	for (int64 i = r->n - 1; i >= 0; i--)
	{
		double		x = accuracy > 0 ? f8state_representative(r->v[2 * i], accuracy) : r->v[2 * i];

		PERSONA_CHECK_INTERRUPTS_EVERY(i, 12);
		for (int64 c = 0; c < (int64) r->v[2 * i + 1]; c++)
			v[(*n)++] = x;
	}
	return v;
}

/* The persona.pareto_summary row; NULL for no input. */
Datum
pareto_finalfn(PG_FUNCTION_ARGS)
{
	F8State		s;
	double	   *v;
	int64		n;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = f8state_read(PG_GETARG_DATUM(0), PARETO_HEADER, 1, -1, "pareto");
	check_share(s.header[0], "top_share");
	check_share(s.header[1], "revenue_share");
	f8state_check_accuracy(s.header[2]);
	if (s.dim[0].n == 0)
		PG_RETURN_NULL();
	v = expand_high_first(&s.dim[0], s.header[2], &n, "pareto state");
	/* approximate: the exact total kept in the header */
	if (s.header[2] > 0 && !isfinite(s.header[3]))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total amount is out of range for type double precision"),
				 errhint("Scale the amounts down, e.g. to thousands.")));
	return pareto_summary_of(fcinfo, v, n, s.header[0], s.header[1], s.header[2] > 0 ? s.header[3] : NAN);
}

/*
 * pareto_from_rows(rows float8[][], top_share, revenue_share): the pareto
 * aggregate over (amount, customers) rows, each amount counted as many
 * times as its customers.  NULL for no rows.
 */
Datum
pareto_from_rows(PG_FUNCTION_ARGS)
{
	WeightedRows r;
	double	   *v;
	int64		n;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("top_share and revenue_share must not be NULL")));
	check_share(PG_GETARG_FLOAT8(1), "top_share");
	check_share(PG_GETARG_FLOAT8(2), "revenue_share");
	r = wrows_read(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0), 2, true, "pareto rows");
	if (r.n == 0)
		PG_RETURN_NULL();
	/* expanded high first: the same additions, in the same order, as the aggregate's */
	v = expand_high_first(&r, 0, &n, "pareto rows");
	return pareto_summary_of(fcinfo, v, n, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), NAN);
}

/*
 * lorenz_curve(amount): the Lorenz curve in 1% steps, as pareto measures
 * it: element k + 1 is the share of total revenue from the top k% of
 * customers (k = 0..100), interpolated inside a customer.  The state is
 * pareto's with a header of zeros (no shares to check), so pareto's
 * combine function merges it; with an accuracy the amounts are quantised
 * as pareto's.  NULL for no amounts or a total that is not positive.
 */
#define LORENZ_STEPS 100

Datum
lorenz_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	double		header[PARETO_HEADER] = {0, 0, 0, 0};

	header[2] = f8state_accuracy_arg(fcinfo, 2);
	if (PG_ARGISNULL(0))
		f8state_check_accuracy(header[2]);
	else if (!f8state_header_equals(PG_GETARG_DATUM(0), header, 2, 1, "lorenz_curve"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("accuracy must be the same for every row")));
	PG_RETURN_DATUM(amount_add(fcinfo, aggctx, header, "lorenz_curve"));
}

Datum
lorenz_finalfn(PG_FUNCTION_ARGS)
{
	F8State		s;
	double	   *v;
	int64		n, whole = 0;
	double		total, cum = 0;
	Datum		out[LORENZ_STEPS + 1];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = f8state_read(PG_GETARG_DATUM(0), PARETO_HEADER, 1, -1, "lorenz_curve");
	if (s.header[0] != 0 || s.header[1] != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid lorenz_curve state"),
				 errdetail("Its header is not that of a lorenz_curve state.")));
	f8state_check_accuracy(s.header[2]);
	if (s.dim[0].n == 0)
		PG_RETURN_NULL();
	/* approximate: the shares of the representatives' total, as pareto's */
	v = expand_high_first(&s.dim[0], s.header[2], &n, "lorenz_curve state");
	total = amounts_total(v, n);
	if (!(total > 0))
		PG_RETURN_NULL();
	for (int k = 0; k <= LORENZ_STEPS; k++)
	{
		double		c = (double) k * n / LORENZ_STEPS;	/* customers in the top k% */
		int64		upto = Min((int64) floor(c), n);

		for (; whole < upto; whole++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(whole, 16);
			cum += v[whole];
		}
		out[k] = Float8GetDatum((cum + (whole < n ? (c - whole) * v[whole] : 0)) / total);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, LORENZ_STEPS + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
