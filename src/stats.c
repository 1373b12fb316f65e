/*
 * stats.c — the order_stats aggregate: one pass over a customer's orders.
 *
 * Rules (also in the README):
 * - A row with a NULL ordered_at is ignored.
 * - Days are calendar days in the session TimeZone; as_of names a day and
 *   orders on later days are ignored (so as_of doubles as a calibration end).
 * - amount >= 0 or NULL: an order.  NULL amounts count as orders but not
 *   toward revenue or avg_amount.  amount < 0: a refund; it lowers revenue
 *   (revenue is net) but is not an order and not a purchase day.
 *   avg_amount and repeat_revenue use order amounts only (before refunds):
 *   they describe buying behaviour, which a later refund does not undo.
 * - NaN/Infinity amounts and infinite timestamps are errors.
 * - Without as_of the transaction start time is used.
 */
#include "persona.h"

#include <math.h>

#include "decsum.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "access/xact.h"

#define INLINE_DAYS 4

typedef struct OrderStatsState
{
	TimestampTz as_of;			/* the reference time */
	int32		as_of_day;		/* its calendar day (days since 2000-01-01) */
	int64		orders;			/* rows with amount >= 0 or NULL */
	int64		priced_orders;	/* orders with a non-NULL amount */
	int64		refunds;		/* rows with amount < 0 */
	TimestampTz first_at;		/* earliest order (valid if orders > 0) */
	TimestampTz last_at;		/* latest order */
	int32		first_day;		/* day of first_at */
	DecSum		spent;			/* sum of order amounts (>= 0) */
	DecSum		refunded;		/* sum of refund amounts (< 0) */
	DecSum		first_day_spent;	/* order amounts on first_day */
	int32		ndays;			/* entries used in days[] */
	int32		maxdays;		/* capacity of days[] */
	int32	   *days;			/* purchase days, deduplicated lazily */
	int32		inline_days[INLINE_DAYS];
} OrderStatsState;

PG_FUNCTION_INFO_V1(order_stats_transfn);
PG_FUNCTION_INFO_V1(order_stats_combinefn);
PG_FUNCTION_INFO_V1(order_stats_serialfn);
PG_FUNCTION_INFO_V1(order_stats_deserialfn);
PG_FUNCTION_INFO_V1(order_stats_finalfn);
PG_FUNCTION_INFO_V1(btyd_summary);

/* Calendar day of a timestamptz in the session time zone. */
static int32
local_day(TimestampTz t, const char *what)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (TIMESTAMP_NOT_FINITE(t) || timestamp2tm(t, &tz, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", what),
				 errhint("Filter out rows with infinite timestamps.")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
}

/* A fresh state in the aggregate context. */
static OrderStatsState *
state_new(MemoryContext ctx, TimestampTz as_of)
{
	OrderStatsState *st = MemoryContextAllocZero(ctx, sizeof(OrderStatsState));

	st->as_of = as_of;
	st->as_of_day = local_day(as_of, "as_of");
	st->maxdays = INLINE_DAYS;
	st->days = st->inline_days;
	decsum_init(&st->spent);
	decsum_init(&st->refunded);
	decsum_init(&st->first_day_spent);
	return st;
}

static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Sort days[] and drop duplicates. */
static void
days_compact(OrderStatsState *st)
{
	int			n = 0;

	if (st->ndays < 2)
		return;
	qsort(st->days, st->ndays, sizeof(int32), cmp_int32);
	for (int i = 1; i < st->ndays; i++)
		if (st->days[i] != st->days[n])
			st->days[++n] = st->days[i];
	st->ndays = n + 1;
}

/* Append a purchase day; compact before growing so heavy buyers stay small. */
static void
days_add(OrderStatsState *st, int32 day, MemoryContext ctx)
{
	if (st->ndays > 0 && st->days[st->ndays - 1] == day)
		return;					/* same day as the previous row: common */
	if (st->ndays == st->maxdays)
	{
		days_compact(st);
		if (st->ndays > st->maxdays / 2)
		{
			int32	   *bigger = MemoryContextAlloc(ctx, sizeof(int32) * st->maxdays * 2);

			memcpy(bigger, st->days, sizeof(int32) * st->ndays);
			if (st->days != st->inline_days)
				pfree(st->days);
			st->days = bigger;
			st->maxdays *= 2;
		}
	}
	st->days[st->ndays++] = day;
}

/* Fold one purchase at time t on day into the first/last bookkeeping. */
static void
note_purchase(OrderStatsState *st, TimestampTz t, int32 day)
{
	if (st->orders == 0 || t < st->first_at)
		st->first_at = t;
	if (st->orders == 0 || t > st->last_at)
		st->last_at = t;
	if (st->orders == 0 || day < st->first_day)
	{
		st->first_day = day;
		decsum_init(&st->first_day_spent);
	}
}

/*
 * order_stats_transfn(state, ordered_at, amount [, as_of])
 */
Datum
order_stats_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	OrderStatsState *st;
	TimestampTz t;
	TimestampTz as_of;
	int32		day;
	DecAmount	amount;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "order_stats_transfn called in non-aggregate context");

	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		as_of = PG_GETARG_TIMESTAMPTZ(3);
	else if (PG_NARGS() > 3)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be NULL"),
				 errhint("Omit the argument to use the current time.")));
	else
		as_of = GetCurrentTransactionStartTimestamp();

	st = PG_ARGISNULL(0) ? state_new(aggctx, as_of) : (OrderStatsState *) PG_GETARG_POINTER(0);
	if (st->as_of != as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for every row of a group"),
				 errhint("Pass a constant, e.g. order_stats(ordered_at, amount, '2024-01-01').")));

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	t = PG_GETARG_TIMESTAMPTZ(1);
	day = local_day(t, "ordered_at");
	if (day > st->as_of_day)
		PG_RETURN_POINTER(st);	/* after as_of: not yet known */

	if (!PG_ARGISNULL(2))
	{
		decsum_decode(PG_GETARG_DATUM(2), &amount);
		if (amount.sign < 0)
		{
			/* A refund: lowers net revenue, is not a purchase. */
			st->refunds++;
			decsum_add(&st->refunded, &amount, aggctx);
			PG_RETURN_POINTER(st);
		}
	}

	note_purchase(st, t, day);
	st->orders++;
	if (!PG_ARGISNULL(2))
	{
		st->priced_orders++;
		decsum_add(&st->spent, &amount, aggctx);
		if (day == st->first_day)
			decsum_add(&st->first_day_spent, &amount, aggctx);
	}
	days_add(st, day, aggctx);
	PG_RETURN_POINTER(st);
}

/* Merge two partial states (parallel query). */
Datum
order_stats_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	OrderStatsState *a;
	OrderStatsState *b;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "order_stats_combinefn called in non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (OrderStatsState *) PG_GETARG_POINTER(1);
	if (PG_ARGISNULL(0))
	{
		/* Copy b into the aggregate context. */
		a = state_new(aggctx, b->as_of);
	}
	else
		a = (OrderStatsState *) PG_GETARG_POINTER(0);

	if (a->as_of != b->as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for every row of a group")));

	if (b->orders > 0)
	{
		if (a->orders == 0 || b->first_day < a->first_day)
		{
			a->first_day = b->first_day;
			decsum_init(&a->first_day_spent);
			decsum_combine(&a->first_day_spent, &b->first_day_spent, aggctx);
		}
		else if (b->first_day == a->first_day)
			decsum_combine(&a->first_day_spent, &b->first_day_spent, aggctx);
		if (a->orders == 0 || b->first_at < a->first_at)
			a->first_at = b->first_at;
		if (a->orders == 0 || b->last_at > a->last_at)
			a->last_at = b->last_at;
		for (int i = 0; i < b->ndays; i++)
			days_add(a, b->days[i], aggctx);
	}
	a->orders += b->orders;
	a->priced_orders += b->priced_orders;
	a->refunds += b->refunds;
	decsum_combine(&a->spent, &b->spent, aggctx);
	decsum_combine(&a->refunded, &b->refunded, aggctx);
	PG_RETURN_POINTER(a);
}

/* State to bytea. */
Datum
order_stats_serialfn(PG_FUNCTION_ARGS)
{
	OrderStatsState *st = (OrderStatsState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	days_compact(st);
	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->as_of);
	pq_sendint64(&buf, st->orders);
	pq_sendint64(&buf, st->priced_orders);
	pq_sendint64(&buf, st->refunds);
	pq_sendint64(&buf, st->first_at);
	pq_sendint64(&buf, st->last_at);
	pq_sendint32(&buf, st->first_day);
	decsum_send(&buf, &st->spent);
	decsum_send(&buf, &st->refunded);
	decsum_send(&buf, &st->first_day_spent);
	pq_sendint32(&buf, st->ndays);
	for (int i = 0; i < st->ndays; i++)
		pq_sendint32(&buf, st->days[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* bytea to state. */
Datum
order_stats_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx;
	StringInfoData buf;
	OrderStatsState *st;
	int32		ndays;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "order_stats_deserialfn called in non-aggregate context");
	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	st = state_new(aggctx, (TimestampTz) pq_getmsgint64(&buf));
	st->orders = pq_getmsgint64(&buf);
	st->priced_orders = pq_getmsgint64(&buf);
	st->refunds = pq_getmsgint64(&buf);
	st->first_at = pq_getmsgint64(&buf);
	st->last_at = pq_getmsgint64(&buf);
	st->first_day = pq_getmsgint(&buf, 4);
	decsum_recv(&buf, &st->spent, aggctx);
	decsum_recv(&buf, &st->refunded, aggctx);
	decsum_recv(&buf, &st->first_day_spent, aggctx);
	ndays = pq_getmsgint(&buf, 4);
	if (ndays < 0 || (int64) ndays * 4 != buf.len - buf.cursor)
		elog(ERROR, "invalid serialised order_stats state");
	for (int i = 0; i < ndays; i++)
		days_add(st, pq_getmsgint(&buf, 4), aggctx);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* Cached, blessed result descriptor of the final function. */
static TupleDesc
result_desc(FunctionCallInfo fcinfo)
{
	TupleDesc	desc = (TupleDesc) fcinfo->flinfo->fn_extra;

	if (desc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		fcinfo->flinfo->fn_extra = desc;
		MemoryContextSwitchTo(old);
	}
	return desc;
}

enum
{
	OS_FIRST_AT, OS_LAST_AT, OS_ORDERS, OS_PURCHASE_DAYS, OS_REVENUE, OS_AVG_AMOUNT,
	OS_RECENCY_DAYS, OS_TENURE_DAYS, OS_MEAN_GAP, OS_GAP_SD, OS_REPEAT_ORDERS,
	OS_REPEAT_REVENUE, OS_REFUNDS, OS_NATTS
};

/*
 * The persona.order_stats row.  A group whose rows were all ignored (NULL
 * timestamps, later than as_of, only refunds) yields orders = 0 with the
 * timing fields NULL; an empty input yields NULL.
 */
Datum
order_stats_finalfn(PG_FUNCTION_ARGS)
{
	OrderStatsState *st;
	TupleDesc	desc;
	Datum		values[OS_NATTS];
	bool		nulls[OS_NATTS];
	int32		k;
	DecSum		net;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (OrderStatsState *) PG_GETARG_POINTER(0);
	net = st->spent;
	decsum_combine(&net, &st->refunded, CurrentMemoryContext);
	desc = result_desc(fcinfo);
	memset(nulls, true, sizeof(nulls));

	days_compact(st);
	k = st->ndays;

	values[OS_ORDERS] = Int64GetDatum(st->orders);
	values[OS_PURCHASE_DAYS] = Int32GetDatum(k);
	values[OS_REVENUE] = NumericGetDatum(decsum_numeric(&net));
	values[OS_REFUNDS] = Int64GetDatum(st->refunds);
	nulls[OS_ORDERS] = nulls[OS_PURCHASE_DAYS] = nulls[OS_REVENUE] = nulls[OS_REFUNDS] = false;

	if (st->orders > 0)
	{
		int32		first = st->days[0];
		int32		last = st->days[k - 1];

		values[OS_FIRST_AT] = TimestampTzGetDatum(st->first_at);
		values[OS_LAST_AT] = TimestampTzGetDatum(st->last_at);
		values[OS_RECENCY_DAYS] = Int32GetDatum(st->as_of_day - last);
		values[OS_TENURE_DAYS] = Int32GetDatum(st->as_of_day - first);
		values[OS_REPEAT_ORDERS] = Int64GetDatum(st->orders - 1);
		values[OS_REPEAT_REVENUE] = NumericGetDatum(decsum_numeric_diff(&st->spent, &st->first_day_spent));
		nulls[OS_FIRST_AT] = nulls[OS_LAST_AT] = nulls[OS_RECENCY_DAYS] = false;
		nulls[OS_TENURE_DAYS] = nulls[OS_REPEAT_ORDERS] = nulls[OS_REPEAT_REVENUE] = false;
		if (st->priced_orders > 0)
		{
			values[OS_AVG_AMOUNT] = Float8GetDatum(decsum_float8(&st->spent) / st->priced_orders);
			nulls[OS_AVG_AMOUNT] = false;
		}
		if (k >= 2)
		{
			double		mean = (double) (last - first) / (k - 1);

			values[OS_MEAN_GAP] = Float8GetDatum(mean);
			nulls[OS_MEAN_GAP] = false;
			if (k >= 3)
			{
				double		ss = 0;

				for (int i = 1; i < k; i++)
				{
					double		d = (st->days[i] - st->days[i - 1]) - mean;

					ss += d * d;
				}
				values[OS_GAP_SD] = Float8GetDatum(sqrt(ss / (k - 2)));
				nulls[OS_GAP_SD] = false;
			}
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * btyd(order_stats, unit) -> (x, t_x, t_cal, mean_repeat_spend): the summary
 * the BTYD models take, in days or weeks.  x counts repeat purchase days,
 * t_x is first to last purchase day, t_cal is first purchase day to as_of.
 */
Datum
btyd_summary(PG_FUNCTION_ARGS)
{
	HeapTupleHeader s = PG_GETARG_HEAPTUPLEHEADER(0);
	char	   *unit = text_to_cstring(PG_GETARG_TEXT_PP(1));
	double		scale;
	bool		isnull;
	int32		days;
	int64		orders;
	int32		recency;
	int32		tenure;
	Datum		repeat_rev;
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (strcmp(unit, "days") == 0 || strcmp(unit, "day") == 0)
		scale = 1.0;
	else if (strcmp(unit, "weeks") == 0 || strcmp(unit, "week") == 0)
		scale = 7.0;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown time unit \"%s\"", unit),
				 errhint("Use 'days' or 'weeks'.")));

	orders = DatumGetInt64(GetAttributeByNum(s, OS_ORDERS + 1, &isnull));
	if (isnull || orders == 0)
		PG_RETURN_NULL();
	days = DatumGetInt32(GetAttributeByNum(s, OS_PURCHASE_DAYS + 1, &isnull));
	recency = DatumGetInt32(GetAttributeByNum(s, OS_RECENCY_DAYS + 1, &isnull));
	tenure = DatumGetInt32(GetAttributeByNum(s, OS_TENURE_DAYS + 1, &isnull));
	repeat_rev = GetAttributeByNum(s, OS_REPEAT_REVENUE + 1, &isnull);
	if (isnull)
		PG_RETURN_NULL();

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	values[0] = Int32GetDatum(days - 1);
	values[1] = Float8GetDatum((tenure - recency) / scale);
	values[2] = Float8GetDatum(tenure / scale);
	if (days > 1)
		values[3] = Float8GetDatum(DatumGetFloat8(DirectFunctionCall1(numeric_float8, repeat_rev)) / (days - 1));
	else
		nulls[3] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
