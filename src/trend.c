/*
 * trend.c — frequency_trend(): is a customer buying less often?
 *
 * Counts orders in the recent window (as_of - window, as_of] and the one
 * before it (as_of - 2 window, as_of - window].  falling (消费频率下降) is
 * true when the previous window had at least 2 orders and the recent one at
 * most ratio (default 0.5) times as many.  Orders after as_of and NULL
 * times are ignored.  Window arithmetic with months or days follows the
 * session time zone, like timestamptz - interval.
 */
#include "persona.h"

#include "tzspan.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

typedef struct TrendState
{
	TimestampTz as_of;
	TimestampTz recent_from;	/* exclusive */
	TimestampTz previous_from;	/* exclusive */
	double		ratio;
	int64		recent;
	int64		previous;
} TrendState;

PG_FUNCTION_INFO_V1(trend_transfn);
PG_FUNCTION_INFO_V1(trend_combinefn);
PG_FUNCTION_INFO_V1(trend_serialfn);
PG_FUNCTION_INFO_V1(trend_deserialfn);
PG_FUNCTION_INFO_V1(trend_finalfn);

/* ts - n * window */
static TimestampTz
minus_windows(TimestampTz ts, Interval *window, int n)
{
	for (int i = 0; i < n; i++)
		ts = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(ts),
													 IntervalPGetDatum(window)));
	return ts;
}

/* A state for these parameters (validated). */
static TrendState *
state_new(MemoryContext ctx, TimestampTz as_of, Interval *window, double ratio)
{
	TrendState *st = MemoryContextAllocZero(ctx, sizeof(TrendState));

	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("as_of must be a finite timestamp")));
	if (window->month < 0 || window->day < 0 || window->time < 0 ||
		(window->month == 0 && window->day == 0 && window->time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window must be a positive interval"),
				 errhint("For example '90 days' or '3 months'.")));
	if (!(ratio > 0 && ratio < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ratio must be between 0 and 1 (exclusive)"),
				 errdetail("Got %g.", ratio)));
	st->as_of = as_of;
	st->ratio = ratio;
	st->recent_from = minus_windows(as_of, window, 1);
	st->previous_from = minus_windows(as_of, window, 2);
	return st;
}

/* trend_transfn(state, ordered_at, as_of, window [, ratio]) */
Datum
trend_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	TrendState *st;
	TimestampTz t;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || (PG_NARGS() > 4 && PG_ARGISNULL(4)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of, window and ratio must not be NULL")));
	if (PG_ARGISNULL(0))
	{
		Interval   *w = PG_GETARG_INTERVAL_P(3);

		/* days and months of a window are calendar ones, in the session TimeZone */
		if (w->day != 0 || w->month != 0)
			persona_check_session_zone_here("persona.frequency_trend with a window in days or months",
											"Give the window in hours, e.g. interval '720 hours', which no time zone changes.");
		st = state_new(aggctx, PG_GETARG_TIMESTAMPTZ(2), w, PG_NARGS() > 4 ? PG_GETARG_FLOAT8(4) : 0.5);
	}
	else
	{
		st = (TrendState *) PG_GETARG_POINTER(0);
		if (st->as_of != PG_GETARG_TIMESTAMPTZ(2))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("as_of must be the same for every row of a group")));
	}
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	t = PG_GETARG_TIMESTAMPTZ(1);
	if (t > st->as_of)
		PG_RETURN_POINTER(st);
	if (t > st->recent_from)
		st->recent++;
	else if (t > st->previous_from)
		st->previous++;
	PG_RETURN_POINTER(st);
}

/* Add b's counts to a. */
Datum
trend_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	TrendState *a;
	TrendState *b;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (TrendState *) PG_GETARG_POINTER(1);
	if (PG_ARGISNULL(0))
	{
		a = MemoryContextAlloc(aggctx, sizeof(TrendState));
		*a = *b;
		PG_RETURN_POINTER(a);
	}
	a = (TrendState *) PG_GETARG_POINTER(0);
	if (a->as_of != b->as_of || a->recent_from != b->recent_from || a->ratio != b->ratio)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of, window and ratio must be the same for every row of a group")));
	a->recent += b->recent;
	a->previous += b->previous;
	PG_RETURN_POINTER(a);
}

/* State to bytea. */
Datum
trend_serialfn(PG_FUNCTION_ARGS)
{
	TrendState *st = (TrendState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->as_of);
	pq_sendint64(&buf, st->recent_from);
	pq_sendint64(&buf, st->previous_from);
	pq_sendfloat8(&buf, st->ratio);
	pq_sendint64(&buf, st->recent);
	pq_sendint64(&buf, st->previous);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* bytea to state. */
Datum
trend_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	StringInfoData buf;
	TrendState *st;

	aggctx = persona_agg_context(fcinfo);
	persona_bytea_reader(&buf, PG_GETARG_BYTEA_PP(0));
	st = MemoryContextAlloc(aggctx, sizeof(TrendState));
	st->as_of = pq_getmsgint64(&buf);
	st->recent_from = pq_getmsgint64(&buf);
	st->previous_from = pq_getmsgint64(&buf);
	st->ratio = pq_getmsgfloat8(&buf);
	st->recent = pq_getmsgint64(&buf);
	st->previous = pq_getmsgint64(&buf);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* (recent_orders, previous_orders, change, falling); NULL for no input. */
Datum
trend_finalfn(PG_FUNCTION_ARGS)
{
	TrendState *st;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (TrendState *) PG_GETARG_POINTER(0);
	values[0] = Int64GetDatum(st->recent);
	values[1] = Int64GetDatum(st->previous);
	if (st->previous > 0)
		values[2] = Float8GetDatum((double) (st->recent - st->previous) / st->previous);
	else
		nulls[2] = true;
	values[3] = BoolGetDatum(st->previous >= 2 && st->recent <= st->ratio * st->previous);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(persona_result_desc(fcinfo), values, nulls)));
}
