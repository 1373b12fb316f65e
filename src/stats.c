/*
 * stats.c — the order_stats aggregate: one pass over a customer's orders.
 *
 * Rules (also in the README):
 * - A row with a NULL ordered_at is ignored.
 * - Days are calendar days in the time_zone argument, or without it in the
 *   session TimeZone; as_of names a day and orders on later days are
 *   ignored (so as_of doubles as a calibration end).
 * - order_stats_state keeps a customer's state as bytea (no as_of, nothing
 *   ignored); order_stats_merge combines such states and order_stats_of
 *   finishes one as of a local date.
 * - amount >= 0 or NULL: an order.  NULL amounts count as orders but not
 *   toward revenue or avg_amount; a customer none of whose rows has an
 *   amount has revenue NULL (not 0), and without an order amount
 *   repeat_revenue and avg_amount are NULL.  amount < 0: a refund; it lowers revenue
 *   (revenue is net) but is not an order and not a purchase day.
 *   avg_amount and repeat_revenue use order amounts only (before refunds):
 *   they describe buying behaviour, which a later refund does not undo.
 * - NaN/Infinity amounts and infinite timestamps are errors.
 * - Without as_of the transaction start time is used.
 */
#include "persona.h"
#include "btyd.h"

#include <math.h>

#include "custstate.h"
#include "state.h"
#include "tzspan.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/memutils.h"

/* No day yet: the state has no row with a time (last_day). */
#define NO_DAY PG_INT32_MIN

/* Plausible calendar days: those of finite timestamps, with room for any UTC offset. */
#define MIN_PLAUSIBLE_DAY ((int32) (MIN_TIMESTAMP / USECS_PER_DAY) - 2)
#define MAX_PLAUSIBLE_DAY ((int32) (END_TIMESTAMP / USECS_PER_DAY) + 2)

#define OS_FLAG_AS_OF 1			/* serialised flag: the state has a reference time */
#define OS_FLAG_COMPACT 2		/* the customer in varints (cust_send); earlier builds wrote fixed-width fields */

/*
 * Aggregate state: a customer, the zone its days are counted in and the
 * reference day.  A state for incremental refresh (order_stats_state,
 * order_stats_merge) has no reference day and ignores no order; last_day
 * then tells order_stats_of whether an as_of is too early.
 */
typedef struct OrderStatsState
{
	CustState	cust;			/* first: its hot line stays cache aligned */
	pg_tz	   *zone;			/* calendar days are this zone's */
	TimestampTz as_of;
	int32		as_of_day;
	int32		last_day;		/* latest day of an order or refund, or NO_DAY */
	bool		has_as_of;
} OrderStatsState;

PG_FUNCTION_INFO_V1(order_stats_transfn);
PG_FUNCTION_INFO_V1(order_stats_state_transfn);
PG_FUNCTION_INFO_V1(order_stats_merge_transfn);
PG_FUNCTION_INFO_V1(order_stats_merge_pair);
PG_FUNCTION_INFO_V1(order_stats_combinefn);
PG_FUNCTION_INFO_V1(order_stats_serialfn);
PG_FUNCTION_INFO_V1(order_stats_deserialfn);
PG_FUNCTION_INFO_V1(order_stats_finalfn);
PG_FUNCTION_INFO_V1(order_stats_state_finalfn);
PG_FUNCTION_INFO_V1(order_stats_of);
PG_FUNCTION_INFO_V1(btyd_summary);

/* Set up an empty state in zone (with reference time as_of when has_as_of). */
static void
state_init(OrderStatsState *st, pg_tz *zone, bool has_as_of, TimestampTz as_of)
{
	cust_init(&st->cust);
	st->zone = zone;
	st->has_as_of = has_as_of;
	st->as_of = has_as_of ? as_of : 0;
	st->as_of_day = has_as_of ? persona_zone_day(zone, as_of, "as_of") : 0;
	st->last_day = NO_DAY;
}

/* A fresh aggregate state. */
static OrderStatsState *
state_new(FunctionCallInfo fcinfo, MemoryContext ctx, pg_tz *zone, bool has_as_of, TimestampTz as_of)
{
	OrderStatsState *st = persona_state_alloc(fcinfo, ctx, sizeof(OrderStatsState));

	state_init(st, zone, has_as_of, as_of);
	return st;
}

/* Error unless two reference times agree. */
static inline void
check_same_as_of(TimestampTz a, TimestampTz b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be the same for every row of a group"),
				 errhint("Pass a constant, e.g. order_stats(ordered_at, amount, '2024-01-01').")));
}

/* Add an order (ordered_at t, amount), unless its time is NULL or after as_of. */
static void
state_add(OrderStatsState *st, bool t_null, TimestampTz t, bool amount_null, Datum amount_datum,
		  MemoryContext ctx)
{
	int32		day;
	DecAmount	amount;

	if (t_null)
		return;
	day = persona_zone_day(st->zone, t, "ordered_at");
	if (st->has_as_of && day > st->as_of_day)
		return;					/* after as_of: not yet known */
	if (!amount_null)
		dec_decode(amount_datum, &amount);
	cust_add(&st->cust, t, day, amount_null, &amount, ctx);
	st->last_day = Max(st->last_day, day);
}

/* Add the row (ordered_at, amount) of arguments 1 and 2. */
static inline void
state_add_row(OrderStatsState *st, FunctionCallInfo fcinfo, MemoryContext aggctx)
{
	state_add(st, PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
			  PG_ARGISNULL(2), PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), aggctx);
}

/*
 * order_stats_transfn(state, ordered_at, amount [, as_of [, time_zone]]):
 * without time_zone, days are the session TimeZone's.
 */
Datum
order_stats_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	OrderStatsState *st;
	TimestampTz as_of;
	pg_tz	   *zone;

	aggctx = persona_agg_context(fcinfo);

	if (PG_NARGS() > 3)
	{
		if (PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("as_of must not be NULL"),
					 errhint("Omit the argument to use the current time.")));
		as_of = PG_GETARG_TIMESTAMPTZ(3);
	}
	else
		as_of = GetCurrentTransactionStartTimestamp();
	zone = PG_NARGS() > 4 ? persona_zone_arg(fcinfo, 4) : session_timezone;

	if (PG_ARGISNULL(0))
	{
		if (PG_NARGS() <= 4)
			persona_check_session_zone_here("persona.order_stats",
											"Pass the zone as a value: persona.order_stats(ordered_at, amount, as_of, 'Asia/Shanghai'::persona.time_zone).");
		st = state_new(fcinfo, aggctx, zone, true, as_of);
	}
	else
	{
		st = (OrderStatsState *) PG_GETARG_POINTER(0);
		check_same_as_of(st->as_of, as_of);
		persona_check_same_zone(st->zone, zone);
	}
	state_add_row(st, fcinfo, aggctx);
	PG_RETURN_POINTER(st);
}

/* order_stats_state_transfn(state, ordered_at, amount, time_zone): no as_of, nothing ignored. */
Datum
order_stats_state_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	pg_tz	   *zone = persona_zone_arg(fcinfo, 3);
	OrderStatsState *st;

	if (PG_ARGISNULL(0))
		st = state_new(fcinfo, aggctx, zone, false, 0);
	else
	{
		st = (OrderStatsState *) PG_GETARG_POINTER(0);
		persona_check_same_zone(st->zone, zone);
	}
	state_add_row(st, fcinfo, aggctx);
	PG_RETURN_POINTER(st);
}

/* Merge customer state b into a (same zone and reference time). */
static void
state_merge(OrderStatsState *a, const OrderStatsState *b, MemoryContext ctx)
{
	check_same_as_of(a->as_of, b->as_of);
	persona_check_same_zone(a->zone, b->zone);
	cust_merge(&a->cust, &b->cust, ctx);
	a->last_day = Max(a->last_day, b->last_day);
}

/* Merge two partial states (parallel query). */
Datum
order_stats_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	OrderStatsState *a;
	OrderStatsState *b;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (OrderStatsState *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? state_new(fcinfo, aggctx, b->zone, b->has_as_of, b->as_of)
		: (OrderStatsState *) PG_GETARG_POINTER(0);
	state_merge(a, b, aggctx);
	PG_RETURN_POINTER(a);
}

/* The bytea form of a state (state.h): header, [as_of], last_day, customer. */
static bytea *
serialize(pg_tz *zone, bool has_as_of, TimestampTz as_of, int32 last_day, CustState *cs)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	state_send_header(&buf, STATE_KIND_ORDER_STATS, (has_as_of ? OS_FLAG_AS_OF : 0) | OS_FLAG_COMPACT, zone);
	if (has_as_of)
		pq_sendint64(&buf, as_of);
	pq_sendint32(&buf, last_day);
	cust_send(&buf, cs);
	return pq_endtypsend(&buf);
}

static bytea *
state_serialize(OrderStatsState *st)
{
	return serialize(st->zone, st->has_as_of, st->as_of, st->last_day, &st->cust);
}

/*
 * What order_stats_state(t, amount, zone) returns for the rows folded into
 * cs, whose latest day (of an order or refund) is last_day; for builders
 * that keep their own customers (customer_states).
 */
bytea *
order_stats_state_bytes(pg_tz *zone, CustState *cs, int32 last_day)
{
	return serialize(zone, false, 0, last_day, cs);
}

/*
 * Read a state into an initialised *st, allocating in ctx.  A state for
 * incremental refresh (public) must have no reference time.  Besides what
 * cust_recv checks, the first and last order must fall on the first and
 * last purchase day in the state's zone, and last_day must fit them.
 */
static void
state_deserialize(bytea *b, OrderStatsState *st, MemoryContext ctx, bool public)
{
	StateReader r;
	int			flags;
	pg_tz	   *zone;
	TimestampTz as_of = 0;
	const CustState *cs = &st->cust;

	state_reader_init(&r, b, "order_stats");
	zone = state_get_header(&r, STATE_KIND_ORDER_STATS, &flags);
	if (flags & ~(OS_FLAG_AS_OF | OS_FLAG_COMPACT) || (public && (flags & OS_FLAG_AS_OF)))
		persona_bad_state(&r, "Its flags are not those of a state for incremental refresh.");
	if (flags & OS_FLAG_AS_OF)
	{
		as_of = state_get_int64(&r);
		if (!IS_VALID_TIMESTAMP(as_of))
			persona_bad_state(&r, "Its as_of is not a finite timestamp.");
	}
	state_init(st, zone, (flags & OS_FLAG_AS_OF) != 0, as_of);
	st->last_day = state_get_int32(&r);
	cust_recv(&r, &st->cust, ctx, !(flags & OS_FLAG_COMPACT));
	state_get_end(&r);
	if (cs->orders > 0 &&
		(persona_zone_day(zone, cs->first_at, "first_at") != CUST_DAYS(cs)[0] ||
		 persona_zone_day(zone, cs->last_at, "last_at") != CUST_DAYS(cs)[cs->ndays - 1]))
		persona_bad_state(&r, "Its first and last order do not fall on its first and last purchase day in its time zone.");
	if ((st->last_day == NO_DAY) != (cs->orders == 0 && cs->refunds == 0) ||
		(st->last_day != NO_DAY && (st->last_day < MIN_PLAUSIBLE_DAY || st->last_day > MAX_PLAUSIBLE_DAY)) ||
		(cs->orders > 0 && st->last_day < CUST_DAYS(cs)[cs->ndays - 1]) ||
		(st->has_as_of && st->last_day != NO_DAY && st->last_day > st->as_of_day))
		persona_bad_state(&r, "Its last day disagrees with its orders and refunds.");
}

/* State to bytea. */
Datum
order_stats_serialfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(state_serialize((OrderStatsState *) PG_GETARG_POINTER(0)));
}

/* bytea to state. */
Datum
order_stats_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	OrderStatsState *st = persona_state_alloc(fcinfo, aggctx, sizeof(OrderStatsState));

	state_deserialize(PG_GETARG_BYTEA_PP(0), st, aggctx, false);
	PG_RETURN_POINTER(st);
}

/* order_stats_merge_transfn(state, bytea): merge a customer's stored state; NULLs are skipped. */
Datum
order_stats_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	OrderStatsState *st = PG_ARGISNULL(0) ? NULL : (OrderStatsState *) PG_GETARG_POINTER(0);
	OrderStatsState in;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();	/* still no state: not a NULL pointer */
		PG_RETURN_POINTER(st);
	}
	/* decoded in the per-row context; cust_merge copies what it keeps */
	state_deserialize(PG_GETARG_BYTEA_PP(1), &in, CurrentMemoryContext, true);
	if (st == NULL)
		st = state_new(fcinfo, aggctx, in.zone, false, 0);
	state_merge(st, &in, aggctx);
	PG_RETURN_POINTER(st);
}

/*
 * order_stats_merge(a bytea, b bytea): the state of both states' orders, as
 * the aggregate over the two would give it; a NULL side is skipped.  An
 * incremental refresh merges a customer's stored state with the state of
 * its new orders row by row, without a GROUP BY.
 */
Datum
order_stats_merge_pair(PG_FUNCTION_ARGS)
{
	OrderStatsState a;
	OrderStatsState b;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	/* a lone side is read and written again: as checked as a merged one */
	state_deserialize(PG_GETARG_BYTEA_PP(PG_ARGISNULL(0) ? 1 : 0), &a, CurrentMemoryContext, true);
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
	{
		state_deserialize(PG_GETARG_BYTEA_PP(1), &b, CurrentMemoryContext, true);
		state_merge(&a, &b, CurrentMemoryContext);
	}
	PG_RETURN_BYTEA_P(state_serialize(&a));
}

/* The state as bytea (order_stats_state, order_stats_merge); NULL for no rows. */
Datum
order_stats_state_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(state_serialize((OrderStatsState *) PG_GETARG_POINTER(0)));
}

/* Cached, blessed result descriptor of the calling function. */
TupleDesc
persona_result_desc(FunctionCallInfo fcinfo)
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

/*
 * Fill the 13 persona.order_stats columns from a finished customer;
 * revenue and repeat_revenue are exact numerics.
 */
void
persona_stats_values(CustState *cs, const CustResult *r, Datum *values, bool *nulls)
{
	for (int i = 0; i < OS_NATTS; i++)
		nulls[i] = true;
	values[OS_ORDERS] = Int64GetDatum(r->orders);
	values[OS_PURCHASE_DAYS] = Int32GetDatum(r->purchase_days);
	values[OS_REVENUE] = NumericGetDatum(cust_revenue(cs));
	values[OS_REFUNDS] = Int64GetDatum(r->refunds);
	nulls[OS_ORDERS] = nulls[OS_PURCHASE_DAYS] = nulls[OS_REFUNDS] = false;
	nulls[OS_REVENUE] = !r->has_revenue;
	if (!r->has_orders)
		return;
	values[OS_FIRST_AT] = TimestampTzGetDatum(r->first_at);
	values[OS_LAST_AT] = TimestampTzGetDatum(r->last_at);
	values[OS_RECENCY_DAYS] = Int32GetDatum(r->recency_days);
	values[OS_TENURE_DAYS] = Int32GetDatum(r->tenure_days);
	values[OS_REPEAT_ORDERS] = Int64GetDatum(r->orders - 1);
	values[OS_REPEAT_REVENUE] = NumericGetDatum(cust_repeat_revenue(cs));
	nulls[OS_FIRST_AT] = nulls[OS_LAST_AT] = nulls[OS_RECENCY_DAYS] = false;
	nulls[OS_TENURE_DAYS] = nulls[OS_REPEAT_ORDERS] = false;
	nulls[OS_REPEAT_REVENUE] = !r->has_avg;	/* no order amount known: no spend either */
	values[OS_AVG_AMOUNT] = Float8GetDatum(r->avg_amount);
	nulls[OS_AVG_AMOUNT] = !r->has_avg;
	values[OS_MEAN_GAP] = Float8GetDatum(r->mean_gap_days);
	nulls[OS_MEAN_GAP] = !r->has_gap;
	values[OS_GAP_SD] = Float8GetDatum(r->gap_sd_days);
	nulls[OS_GAP_SD] = !r->has_gap_sd;
}

/*
 * The persona.order_stats row.  A group whose rows were all ignored (NULL
 * timestamps, later than as_of, only refunds) yields orders = 0 with the
 * timing fields NULL; an empty input yields NULL.
 */
Datum
order_stats_finalfn(PG_FUNCTION_ARGS)
{
	OrderStatsState *st;
	CustResult	r;
	Datum		values[OS_NATTS];
	bool		nulls[OS_NATTS];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (OrderStatsState *) PG_GETARG_POINTER(0);
	cust_finish(&st->cust, st->as_of_day, &r);
	persona_stats_values(&st->cust, &r, values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(persona_result_desc(fcinfo), values, nulls)));
}

/*
 * Deform a composite value of one of persona's row types, which has natts
 * columns, once (GetAttributeByNum per field looks the type up every time,
 * which millions of rows notice).
 */
void
persona_deform_row(HeapTupleHeader s, int natts, Datum *values, bool *isnull, const char *type)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(s), HeapTupleHeaderGetTypMod(s));
	HeapTupleData tuple;

	if (desc->natts != natts)
		elog(ERROR, "%s has %d columns, expected %d", type, desc->natts, natts);
	tuple.t_len = HeapTupleHeaderGetDatumLength(s);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = s;
	heap_deform_tuple(&tuple, desc, values, isnull);
	ReleaseTupleDesc(desc);
}

/* A date as text, for messages. */
static char *
date_text(int32 day)
{
	return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum((DateADT) day)));
}

/*
 * The order_stats values (persona.order_stats column order) of a state as
 * of a local calendar day (the state's days are already in its zone).  A
 * state with an order or refund after that day cannot answer: order_stats
 * would have ignored those rows, the state can no longer tell them apart.
 */
static void
stats_values_as_of(OrderStatsState *st, DateADT as_of, Datum *values, bool *nulls)
{
	CustResult	r;

	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("as_of must be a finite date")));
	if (st->last_day != NO_DAY && st->last_day > as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("state holds orders after as_of"),
				 errdetail("Its last order or refund is on %s, as_of is %s.",
						   date_text(st->last_day), date_text(as_of)),
				 errhint("Pass an as_of on or after the day of the last order, or build the state from the orders up to as_of only.")));
	cust_finish(&st->cust, as_of, &r);
	persona_stats_values(&st->cust, &r, values, nulls);
}

/* order_stats_of(state, as_of date): the statistics of a stored state as of a local day. */
Datum
order_stats_of(PG_FUNCTION_ARGS)
{
	OrderStatsState st;
	Datum		values[OS_NATTS];
	bool		nulls[OS_NATTS];

	state_deserialize(PG_GETARG_BYTEA_PP(0), &st, CurrentMemoryContext, true);
	stats_values_as_of(&st, PG_GETARG_DATEADT(1), values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(persona_result_desc(fcinfo), values, nulls)));
}

/*
 * An incremental refresh extends a customer's stored state with the new
 * orders as order_stats_state counts them, then writes it back and decodes
 * it: what order_stats_of(order_stats_merge(stored, order_stats_state(new
 * orders, zone)), as_of) gives, without a state of the new orders alone.
 * stored NULL: a new customer.
 */
OrderStatsState *
persona_order_stats_open(bytea *stored, pg_tz *zone)
{
	OrderStatsState *st = palloc(sizeof(OrderStatsState));

	if (stored == NULL)
	{
		state_init(st, zone, false, 0);
		return st;
	}
	state_deserialize(stored, st, CurrentMemoryContext, true);
	check_same_as_of(st->as_of, 0);		/* as merging with a state of no as_of checks */
	persona_check_same_zone(st->zone, zone);
	return st;
}

void
persona_order_stats_add(OrderStatsState *st, bool t_null, TimestampTz t, bool amount_null, Datum amount)
{
	state_add(st, t_null, t, amount_null, amount, CurrentMemoryContext);
}

/* The state as stored, and its statistics as of as_of in values/nulls (OS_NATTS each). */
bytea *
persona_order_stats_close(OrderStatsState *st, DateADT as_of, Datum *values, bool *nulls)
{
	/* written first: finishing is for the statistics, not the stored state */
	bytea	   *stored = state_serialize(st);

	stats_values_as_of(st, as_of, values, nulls);
	return stored;
}

/* Error: a persona.order_stats row that the aggregate cannot have made. */
static void pg_attribute_noreturn()
bad_order_stats(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid order_stats value"),
			 errdetail("%s", detail),
			 errhint("Compute it with persona.order_stats(ordered_at, amount, as_of).")));
}

/* Error unless the numeric d is finite (and >= 0 when nonneg). */
static void
check_os_numeric(Datum d, bool nonneg, const char *detail)
{
	Numeric		n = DatumGetNumeric(d);

	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		(nonneg && DatumGetBool(DirectFunctionCall2(numeric_lt, d,
													DirectFunctionCall1(int4_numeric, Int32GetDatum(0))))))
		bad_order_stats(detail);
}

/* Error unless a float8 field is NULL exactly when it should be, and otherwise finite and >= 0. */
static void
check_os_float(Datum d, bool isnull, bool want_null, const char *detail)
{
	if (isnull != want_null || (!isnull && !(DatumGetFloat8(d) >= 0 && isfinite(DatumGetFloat8(d)))))
		bad_order_stats(detail);
}

/*
 * Read and check a persona.order_stats row, which anyone can write by hand:
 * it must be one the aggregate could return (see the README's Reference).
 * Every function taking an order_stats reads it here.
 */
void
persona_read_order_stats(HeapTupleHeader s, OrderStatsRow *out)
{
	bool		isnull[OS_NATTS];
	Datum		v[OS_NATTS];
	int64		refunds;

	persona_deform_row(s, OS_NATTS, v, isnull, "persona.order_stats");
	memset(out, 0, sizeof(OrderStatsRow));
	if (isnull[OS_ORDERS] || isnull[OS_PURCHASE_DAYS] || isnull[OS_REFUNDS])
		bad_order_stats("orders, purchase_days and refunds must not be NULL.");
	out->orders = DatumGetInt64(v[OS_ORDERS]);
	out->purchase_days = DatumGetInt32(v[OS_PURCHASE_DAYS]);
	refunds = DatumGetInt64(v[OS_REFUNDS]);
	if (out->orders < 0 || out->purchase_days < 0 || refunds < 0)
		bad_order_stats("orders, purchase_days and refunds must not be negative.");
	if (!isnull[OS_REVENUE])
		check_os_numeric(v[OS_REVENUE], false, "revenue must be NULL or a finite number.");
	if (out->orders == 0)
	{
		if (out->purchase_days != 0)
			bad_order_stats("purchase_days must be 0 when orders is 0.");
		for (int i = 0; i < OS_NATTS; i++)
			if (!isnull[i] && i != OS_ORDERS && i != OS_PURCHASE_DAYS && i != OS_REVENUE && i != OS_REFUNDS)
				bad_order_stats("A customer without orders has only orders, purchase_days, revenue and refunds; the other fields are NULL.");
		out->mean_gap_days = NAN;
		return;
	}
	if (isnull[OS_FIRST_AT] || isnull[OS_LAST_AT] || isnull[OS_RECENCY_DAYS] ||
		isnull[OS_TENURE_DAYS] || isnull[OS_REPEAT_ORDERS])
		bad_order_stats("first_at, last_at, recency_days, tenure_days and repeat_orders must not be NULL when orders > 0.");
	if (isnull[OS_REPEAT_REVENUE] != isnull[OS_AVG_AMOUNT])
		bad_order_stats("repeat_revenue and avg_amount are both NULL (no order has an amount) or both set.");
	if (TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(v[OS_FIRST_AT])) ||
		TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(v[OS_LAST_AT])) ||
		DatumGetTimestampTz(v[OS_FIRST_AT]) > DatumGetTimestampTz(v[OS_LAST_AT]))
		bad_order_stats("first_at and last_at must be finite, first_at <= last_at.");
	if (out->purchase_days < 1 || out->purchase_days > out->orders)
		bad_order_stats("purchase_days must be between 1 and orders when orders > 0.");
	if (DatumGetInt64(v[OS_REPEAT_ORDERS]) != out->orders - 1)
		bad_order_stats("repeat_orders must be orders - 1.");
	out->recency_days = DatumGetInt32(v[OS_RECENCY_DAYS]);
	out->tenure_days = DatumGetInt32(v[OS_TENURE_DAYS]);
	if (out->recency_days < 0 || out->tenure_days < out->recency_days)
		bad_order_stats("Need 0 <= recency_days <= tenure_days.");
	out->span_days = (int64) out->tenure_days - out->recency_days;
	if ((out->purchase_days == 1) != (out->span_days == 0) || out->purchase_days > out->span_days + 1)
		bad_order_stats("purchase_days must be 1 when tenure_days = recency_days, and otherwise between 2 and tenure_days - recency_days + 1.");
	out->mean_gap_days = out->purchase_days >= 2 ? (double) out->span_days / (out->purchase_days - 1) : NAN;
	check_os_float(v[OS_MEAN_GAP], isnull[OS_MEAN_GAP], out->purchase_days < 2,
				   "mean_gap_days is NULL for one purchase day and otherwise (tenure_days - recency_days) / (purchase_days - 1).");
	if (!isnull[OS_MEAN_GAP] &&
		fabs(DatumGetFloat8(v[OS_MEAN_GAP]) - out->mean_gap_days) > 1e-9 * out->mean_gap_days)
		bad_order_stats("mean_gap_days is NULL for one purchase day and otherwise (tenure_days - recency_days) / (purchase_days - 1).");
	check_os_float(v[OS_GAP_SD], isnull[OS_GAP_SD], out->purchase_days < 3,
				   "gap_sd_days is NULL for fewer than 3 purchase days and otherwise finite and >= 0.");
	if (!isnull[OS_AVG_AMOUNT])
		check_os_float(v[OS_AVG_AMOUNT], false, false, "avg_amount must be NULL or a finite number >= 0.");
	out->repeat_revenue_null = isnull[OS_REPEAT_REVENUE];
	if (!out->repeat_revenue_null)
		check_os_numeric(v[OS_REPEAT_REVENUE], true, "repeat_revenue must be a finite number >= 0.");
	out->repeat_revenue = v[OS_REPEAT_REVENUE];
}

/*
 * btyd(order_stats, unit) -> (x, t_x, t_cal, mean_repeat_spend, unit): the
 * summary the BTYD models take, in days, weeks or months, with the unit's
 * name so that a fit on it records it.  x counts repeat purchase days, t_x
 * is first to last purchase day, t_cal is first purchase day to as_of; the
 * mean spend is NULL without repeat days or without any order amount.
 */
Datum
btyd_summary(PG_FUNCTION_ARGS)
{
	double		scale = btyd_unit_days(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	OrderStatsRow os;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	persona_read_order_stats(PG_GETARG_HEAPTUPLEHEADER(0), &os);
	if (os.orders == 0)
		PG_RETURN_NULL();
	values[BTYD_SUMMARY_X - 1] = Int32GetDatum(os.purchase_days - 1);
	values[BTYD_SUMMARY_T_X - 1] = Float8GetDatum(os.span_days / scale);
	values[BTYD_SUMMARY_T_CAL - 1] = Float8GetDatum(os.tenure_days / scale);
	if (os.purchase_days > 1 && !os.repeat_revenue_null)
		values[BTYD_SUMMARY_SPEND - 1] =
			Float8GetDatum(DatumGetFloat8(DirectFunctionCall1(numeric_float8, os.repeat_revenue)) /
						   (os.purchase_days - 1));
	else
		nulls[BTYD_SUMMARY_SPEND - 1] = true;
	values[BTYD_SUMMARY_UNIT - 1] = CStringGetTextDatum(btyd_unit_name(scale));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(persona_result_desc(fcinfo), values, nulls)));
}
