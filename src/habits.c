/*
 * habits.c — the habits aggregate: when a customer buys.
 *
 * Counts orders per ISO weekday and per hour in the session time zone, then
 * reports weekday/weekend shares, daypart shares and the favourite daypart,
 * weekday and hour.  Dayparts (local time): morning 05:00-10:59, lunch
 * 11:00-13:59, afternoon 14:00-16:59, evening 17:00-20:59, night
 * 21:00-04:59.  Ties go to the earliest daypart, weekday (Monday first) and
 * hour.  NULL times are skipped; infinite ones are errors.
 */
#include "persona.h"

#include "tzspan.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

/* 128 bytes: two cache lines per group; the order count is the weekday sum. */
typedef struct HabitsState
{
	int32		by_weekday[7];	/* ISO weekday 1..7 at index 0..6 */
	int32		by_hour[24];
	int32		padding;
} HabitsState;

/* Error out before a counter overflows (2^31 orders in one group). */
static inline void
check_room(int32 count)
{
	if (unlikely(count == PG_INT32_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many orders in one group for habits"),
				 errdetail("A group can count at most 2147483647 orders per weekday and per hour.")));
}

enum
{
	DP_MORNING, DP_LUNCH, DP_AFTERNOON, DP_EVENING, DP_NIGHT, DP_COUNT
};

/* Enum labels of persona.daypart, in order. */
static const char *const daypart_names[DP_COUNT] = {"morning", "lunch", "afternoon", "evening", "night"};

PG_FUNCTION_INFO_V1(habits_transfn);
PG_FUNCTION_INFO_V1(habits_combinefn);
PG_FUNCTION_INFO_V1(habits_serialfn);
PG_FUNCTION_INFO_V1(habits_deserialfn);
PG_FUNCTION_INFO_V1(habits_finalfn);
PG_FUNCTION_INFO_V1(daypart_of);

/* The daypart of a local hour. */
static int
daypart_of_hour(int hour)
{
	if (hour >= 5 && hour < 11)
		return DP_MORNING;
	if (hour >= 11 && hour < 14)
		return DP_LUNCH;
	if (hour >= 14 && hour < 17)
		return DP_AFTERNOON;
	if (hour >= 17 && hour < 21)
		return DP_EVENING;
	return DP_NIGHT;
}

/* habits_transfn(state, ordered_at) */
Datum
habits_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	HabitsState *st;
	int32		day;
	int			dow, hour;

	aggctx = persona_agg_context(fcinfo);
	st = PG_ARGISNULL(0) ? persona_state_alloc(fcinfo, aggctx, sizeof(HabitsState))
		: (HabitsState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	persona_local_time(PG_GETARG_TIMESTAMPTZ(1), "ordered_at", &day, &dow, &hour);
	check_room(st->by_weekday[dow - 1]);
	check_room(st->by_hour[hour]);
	st->by_weekday[dow - 1]++;
	st->by_hour[hour]++;
	PG_RETURN_POINTER(st);
}

/* Add b's counts to a. */
Datum
habits_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	HabitsState *a;
	HabitsState *b;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (HabitsState *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggctx, sizeof(HabitsState))
		: (HabitsState *) PG_GETARG_POINTER(0);
	for (int i = 0; i < 7; i++)
	{
		if (pg_add_s32_overflow(a->by_weekday[i], b->by_weekday[i], &a->by_weekday[i]))
			check_room(PG_INT32_MAX);
	}
	for (int i = 0; i < 24; i++)
	{
		if (pg_add_s32_overflow(a->by_hour[i], b->by_hour[i], &a->by_hour[i]))
			check_room(PG_INT32_MAX);
	}
	PG_RETURN_POINTER(a);
}

/* State to bytea. */
Datum
habits_serialfn(PG_FUNCTION_ARGS)
{
	HabitsState *st = (HabitsState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	for (int i = 0; i < 7; i++)
		pq_sendint32(&buf, st->by_weekday[i]);
	for (int i = 0; i < 24; i++)
		pq_sendint32(&buf, st->by_hour[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* bytea to state. */
Datum
habits_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	StringInfoData buf;
	HabitsState *st;

	aggctx = persona_agg_context(fcinfo);
	persona_bytea_reader(&buf, PG_GETARG_BYTEA_PP(0));
	st = MemoryContextAllocZero(aggctx, sizeof(HabitsState));
	for (int i = 0; i < 7; i++)
		st->by_weekday[i] = pq_getmsgint(&buf, 4);
	for (int i = 0; i < 24; i++)
		st->by_hour[i] = pq_getmsgint(&buf, 4);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* Index of the first maximum of v[0..n-1]. */
static int
first_max(const int64 *v, int n)
{
	int			best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* What building persona.habits rows needs: their descriptor and the daypart values. */
struct HabitsMaker
{
	TupleDesc	desc;			/* blessed persona.habits descriptor, or NULL */
	Datum		daypart[DP_COUNT];
};

/* Look the daypart values up (and copy desc, if given) into mcxt. */
HabitsMaker *
habits_maker(MemoryContext mcxt, TupleDesc desc)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	HabitsMaker *m = palloc0(sizeof(HabitsMaker));

	for (int d = 0; d < DP_COUNT; d++)
		m->daypart[d] = persona_enum_value("daypart", daypart_names[d]);
	if (desc)
		m->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
	MemoryContextSwitchTo(old);
	return m;
}

/*
 * The persona.habits row of orders counted per ISO weekday (wd[0] = Monday)
 * and local hour: orders, weekday_share, weekend_share, the five daypart
 * shares, daypart (mode), favourite_weekday, favourite_hour.  With no
 * orders the shares and favourites are NULL.
 */
Datum
habits_make(const HabitsMaker *m, const int64 *wd, const int64 *hr)
{
	Datum		values[11];
	bool		nulls[11];
	int64		dp[DP_COUNT] = {0};
	int64		orders = 0;
	int64		weekend;
	double		n;

	for (int i = 0; i < 7; i++)
		orders += wd[i];
	memset(nulls, orders == 0, sizeof(nulls));
	values[0] = Int64GetDatum(orders);
	nulls[0] = false;
	if (orders == 0)
		return HeapTupleGetDatum(heap_form_tuple(m->desc, values, nulls));

	n = (double) orders;
	for (int h = 0; h < 24; h++)
		dp[daypart_of_hour(h)] += hr[h];
	weekend = wd[5] + wd[6];
	values[1] = Float8GetDatum((n - weekend) / n);
	values[2] = Float8GetDatum(weekend / n);
	for (int d = 0; d < DP_COUNT; d++)
		values[3 + d] = Float8GetDatum(dp[d] / n);
	values[8] = m->daypart[first_max(dp, DP_COUNT)];
	values[9] = Int32GetDatum(first_max(wd, 7) + 1);
	values[10] = Int32GetDatum(first_max(hr, 24));
	return HeapTupleGetDatum(heap_form_tuple(m->desc, values, nulls));
}

/* The maker of this call site (fn_extra), with the call's result descriptor if want_desc. */
static HabitsMaker *
call_maker(FunctionCallInfo fcinfo, bool want_desc)
{
	HabitsMaker *m = (HabitsMaker *) fcinfo->flinfo->fn_extra;

	if (m == NULL)
	{
		TupleDesc	desc = NULL;

		if (want_desc && get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		m = habits_maker(fcinfo->flinfo->fn_mcxt, desc);
		fcinfo->flinfo->fn_extra = m;
	}
	return m;
}

/* The persona.habits row of the state; NULL for no input. */
Datum
habits_finalfn(PG_FUNCTION_ARGS)
{
	HabitsState *st;
	int64		wd[7], hr[24];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (HabitsState *) PG_GETARG_POINTER(0);
	for (int i = 0; i < 7; i++)
		wd[i] = st->by_weekday[i];
	for (int h = 0; h < 24; h++)
		hr[h] = st->by_hour[h];
	PG_RETURN_DATUM(habits_make(call_maker(fcinfo, true), wd, hr));
}

/* daypart(timestamptz) -> persona.daypart of one time, in the session time zone. */
Datum
daypart_of(PG_FUNCTION_ARGS)
{
	int32		day;
	int			dow, hour;

	persona_local_time(PG_GETARG_TIMESTAMPTZ(0), "time", &day, &dow, &hour);
	return call_maker(fcinfo, false)->daypart[daypart_of_hour(hour)];
}
