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
#include "f8vec.h"
#include "libpq/pqformat.h"

typedef struct ParetoState
{
	double		top_share;
	double		revenue_share;
	F8Vec		amounts;
} ParetoState;

PG_FUNCTION_INFO_V1(pareto_transfn);
PG_FUNCTION_INFO_V1(pareto_combinefn);
PG_FUNCTION_INFO_V1(pareto_serialfn);
PG_FUNCTION_INFO_V1(pareto_deserialfn);
PG_FUNCTION_INFO_V1(pareto_finalfn);

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

/* A new state. */
static ParetoState *
state_new(MemoryContext ctx, double top_share, double revenue_share)
{
	ParetoState *st = MemoryContextAllocZero(ctx, sizeof(ParetoState));

	check_share(top_share, "top_share");
	check_share(revenue_share, "revenue_share");
	st->top_share = top_share;
	st->revenue_share = revenue_share;
	return st;
}

/* pareto_transfn(state, amount [, top_share, revenue_share]) */
Datum
pareto_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	ParetoState *st;
	double		top = 0.2, rev = 0.8;
	double		v;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "pareto_transfn called in non-aggregate context");
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("top_share and revenue_share must not be NULL")));
		top = PG_GETARG_FLOAT8(2);
		rev = PG_GETARG_FLOAT8(3);
	}
	if (PG_ARGISNULL(0))
		st = state_new(aggctx, top, rev);
	else
	{
		st = (ParetoState *) PG_GETARG_POINTER(0);
		if (st->top_share != top || st->revenue_share != rev)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("top_share and revenue_share must be the same for every row")));
	}
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	v = PG_GETARG_FLOAT8(1);
	persona_check_finite(v, "amount");
	f8vec_push(&st->amounts, v, aggctx);
	PG_RETURN_POINTER(st);
}

/* Append b's amounts to a. */
Datum
pareto_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	ParetoState *a;
	ParetoState *b;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "pareto_combinefn called in non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (ParetoState *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? state_new(aggctx, b->top_share, b->revenue_share)
		: (ParetoState *) PG_GETARG_POINTER(0);
	if (a->top_share != b->top_share || a->revenue_share != b->revenue_share)
		elog(ERROR, "pareto partial states with different parameters");
	f8vec_append(&a->amounts, &b->amounts, aggctx);
	PG_RETURN_POINTER(a);
}

/* State to bytea. */
Datum
pareto_serialfn(PG_FUNCTION_ARGS)
{
	ParetoState *st = (ParetoState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendfloat8(&buf, st->top_share);
	pq_sendfloat8(&buf, st->revenue_share);
	f8vec_send(&buf, &st->amounts);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* bytea to state. */
Datum
pareto_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx;
	StringInfoData buf;
	ParetoState *st;
	double		top, rev;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "pareto_deserialfn called in non-aggregate context");
	persona_bytea_reader(&buf, in);
	top = pq_getmsgfloat8(&buf);
	rev = pq_getmsgfloat8(&buf);
	st = state_new(aggctx, top, rev);
	f8vec_recv(&buf, &st->amounts, aggctx);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

static int
cmp_desc(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x < y) - (x > y);
}

/* The persona.pareto_summary row; NULL for no input. */
Datum
pareto_finalfn(PG_FUNCTION_ARGS)
{
	ParetoState *st;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	double	   *v;
	double		total = 0;
	int64		n;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (ParetoState *) PG_GETARG_POINTER(0);
	n = st->amounts.n;
	if (n == 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	v = f8vec_copy(&st->amounts);
	qsort(v, n, sizeof(double), cmp_desc);
	for (int64 i = 0; i < n; i++)
		total += v[i];

	values[0] = Int64GetDatum(n);
	values[1] = Float8GetDatum(total);
	values[2] = Float8GetDatum(st->top_share);
	values[4] = Float8GetDatum(st->revenue_share);
	if (total > 0)
	{
		double		k = st->top_share * n;
		int64		whole = (int64) floor(k);
		double		top = 0;
		double		target = st->revenue_share * total;
		double		cum = 0;
		double		cust = (double) n;

		for (int64 i = 0; i < whole; i++)
			top += v[i];
		if (whole < n)
			top += (k - whole) * v[whole];
		values[3] = Float8GetDatum(top / total);

		for (int64 i = 0; i < n; i++)
		{
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
