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
#include "utils/memutils.h"

typedef struct ParetoState
{
	double		top_share;
	double		revenue_share;
	int64		n;
	int64		cap;
	double	   *v;
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

/* Make room for need values. */
static void
state_reserve(ParetoState *st, int64 need, MemoryContext ctx)
{
	int64		cap = Max(st->cap * 2, 1024);

	if (need <= st->cap)
		return;
	while (cap < need)
		cap *= 2;
	st->v = st->cap == 0 ? MemoryContextAllocHuge(ctx, cap * sizeof(double))
		: repalloc_huge(st->v, cap * sizeof(double));
	st->cap = cap;
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
	state_reserve(st, st->n + 1, aggctx);
	st->v[st->n++] = v;
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
	state_reserve(a, a->n + b->n, aggctx);
	memcpy(a->v + a->n, b->v, b->n * sizeof(double));
	a->n += b->n;
	PG_RETURN_POINTER(a);
}

/* State to bytea. */
Datum
pareto_serialfn(PG_FUNCTION_ARGS)
{
	ParetoState *st = (ParetoState *) PG_GETARG_POINTER(0);
	Size		len = VARHDRSZ + 24 + st->n * sizeof(double);
	bytea	   *out;
	char	   *p;

	if (len > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many customers for a parallel pareto"),
				 errhint("SET max_parallel_workers_per_gather = 0 for this query.")));
	out = palloc(len);
	SET_VARSIZE(out, len);
	p = VARDATA(out);
	memcpy(p, &st->top_share, 8);
	memcpy(p + 8, &st->revenue_share, 8);
	memcpy(p + 16, &st->n, 8);
	memcpy(p + 24, st->v, st->n * sizeof(double));
	PG_RETURN_BYTEA_P(out);
}

/* bytea to state. */
Datum
pareto_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx;
	const char *p = VARDATA_ANY(in);
	Size		len = VARSIZE_ANY_EXHDR(in);
	double		top, rev;
	int64		n;
	ParetoState *st;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "pareto_deserialfn called in non-aggregate context");
	if (len < 24)
		elog(ERROR, "invalid serialised pareto state");
	memcpy(&top, p, 8);
	memcpy(&rev, p + 8, 8);
	memcpy(&n, p + 16, 8);
	if (n < 0 || len != 24 + (Size) n * sizeof(double))
		elog(ERROR, "invalid serialised pareto state");
	st = state_new(aggctx, top, rev);
	state_reserve(st, n, aggctx);
	memcpy(st->v, p + 24, n * sizeof(double));
	st->n = n;
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

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (ParetoState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	v = palloc(st->n * sizeof(double));
	memcpy(v, st->v, st->n * sizeof(double));
	qsort(v, st->n, sizeof(double), cmp_desc);
	for (int64 i = 0; i < st->n; i++)
		total += v[i];

	values[0] = Int64GetDatum(st->n);
	values[1] = Float8GetDatum(total);
	values[2] = Float8GetDatum(st->top_share);
	values[4] = Float8GetDatum(st->revenue_share);
	if (total > 0)
	{
		double		k = st->top_share * st->n;
		int64		whole = (int64) floor(k);
		double		top = 0;
		double		target = st->revenue_share * total;
		double		cum = 0;
		double		cust = (double) st->n;

		for (int64 i = 0; i < whole; i++)
			top += v[i];
		if (whole < st->n)
			top += (k - whole) * v[whole];
		values[3] = Float8GetDatum(top / total);

		for (int64 i = 0; i < st->n; i++)
		{
			if (cum + v[i] >= target && v[i] > 0)
			{
				cust = i + (target - cum) / v[i];
				break;
			}
			cum += v[i];
		}
		values[5] = Float8GetDatum(cust / st->n);
	}
	else
		nulls[3] = nulls[5] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
