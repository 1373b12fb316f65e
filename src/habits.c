/*
 * habits.c — the habits aggregate: when a customer buys.
 *
 * Counts orders per ISO weekday and per hour in the time_zone argument
 * (or, without it, the session time zone), then reports weekday/weekend
 * shares, daypart shares and the favourite daypart, weekday and hour.  Dayparts (local time): morning 05:00-10:59, lunch
 * 11:00-13:59, afternoon 14:00-16:59, evening 17:00-20:59, night
 * 21:00-04:59.  Ties go to the earliest daypart, weekday (Monday first) and
 * hour.  NULL times are skipped; infinite ones are errors.  When every
 * order is at exactly local midnight (dates stored as timestamps) the
 * hour-based fields are NULL.  habits_state / habits_merge / habits_of keep
 * a customer's counts as bytea for incremental refresh.
 */
#include "persona.h"

#include "state.h"
#include "tzspan.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

/*
 * 128 bytes: two cache lines per group; the order count is the weekday sum.
 * at_midnight counts orders at exactly local midnight: when every order is,
 * the data has dates only and the hours mean nothing.
 */
typedef struct HabitsState
{
	int32		by_weekday[7];	/* ISO weekday 1..7 at index 0..6 */
	int32		by_hour[24];
	int32		at_midnight;
} HabitsState;

StaticAssertDecl(sizeof(HabitsState) == 128, "a habits state should be two cache lines");

/*
 * The flags byte of a habits state's header (state.h): the counts in their
 * compact form (counts_send).  States of earlier builds (persona 0.5.0
 * and before) have flags 0 and the 32 counts in full; they are read as they were.
 */
#define HABITS_COMPACT 1

/*
 * The state of the aggregates given a time zone value (habits(t, zone),
 * habits_state, habits_merge): the counts, then the zone every row of the
 * group must share.  The session-zone habits(t) keeps the 128-byte state.
 */
typedef struct HabitsZoneState
{
	HabitsState counts;			/* first: habits_finalfn reads either state */
	pg_tz	   *zone;
} HabitsZoneState;

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
PG_FUNCTION_INFO_V1(habits_zone_transfn);
PG_FUNCTION_INFO_V1(habits_merge_transfn);
PG_FUNCTION_INFO_V1(habits_merge_pair);
PG_FUNCTION_INFO_V1(habits_combinefn);
PG_FUNCTION_INFO_V1(habits_zone_combinefn);
PG_FUNCTION_INFO_V1(habits_serialfn);
PG_FUNCTION_INFO_V1(habits_zone_serialfn);
PG_FUNCTION_INFO_V1(habits_deserialfn);
PG_FUNCTION_INFO_V1(habits_zone_deserialfn);
PG_FUNCTION_INFO_V1(habits_finalfn);
PG_FUNCTION_INFO_V1(habits_state_finalfn);
PG_FUNCTION_INFO_V1(habits_of);
PG_FUNCTION_INFO_V1(daypart_of);
PG_FUNCTION_INFO_V1(daypart_of_zone);

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

/* Count one order at local time l. */
static void
counts_add(HabitsState *st, const PersonaLocal *l)
{
	check_room(st->by_weekday[l->isodow - 1]);
	check_room(st->by_hour[l->hour]);
	st->by_weekday[l->isodow - 1]++;
	st->by_hour[l->hour]++;
	st->at_midnight += l->midnight;		/* at most by_hour[0]: no overflow */
}

/* Add b's counts to a. */
static void
counts_merge(HabitsState *a, const HabitsState *b)
{
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
	a->at_midnight += b->at_midnight;	/* at most by_hour[0], which did not overflow */
}

/*
 * The counts' bytes: a mask of the weekdays (bits 0-6, Monday first) and
 * hours (bits 7-30) that have orders, each of those counts as a varint,
 * then the midnight orders as a varint.  A customer's few weekdays and
 * hours take a dozen bytes where the 32 counts in full took 128 (a
 * profile keeps a state for every customer, and rewrites the changed ones
 * at each refresh).
 */
static void
counts_send(StringInfo buf, const HabitsState *st)
{
	uint32		mask = 0;

	for (int i = 0; i < 7; i++)
		if (st->by_weekday[i] != 0)
			mask |= (uint32) 1 << i;
	for (int i = 0; i < 24; i++)
		if (st->by_hour[i] != 0)
			mask |= (uint32) 1 << (7 + i);
	pq_sendint32(buf, mask);
	for (int i = 0; i < 7; i++)
		if (st->by_weekday[i] != 0)
			state_send_varint(buf, st->by_weekday[i]);
	for (int i = 0; i < 24; i++)
		if (st->by_hour[i] != 0)
			state_send_varint(buf, st->by_hour[i]);
	state_send_varint(buf, st->at_midnight);
}

/* One count of the mask's: present (> 0) and within int32. */
static int32
count_recv(StateReader *r)
{
	int32		v = (int32) state_get_varint_max(r, PG_INT32_MAX);

	if (v == 0)
		persona_bad_state(r, "A count the mask says is there is zero.");
	return v;
}

/*
 * Read counts written by counts_send (dense: the 32 counts as int32, as
 * earlier builds wrote them): non-negative, as many orders by
 * weekday as by hour, midnight orders at most those of hour 0.
 */
static void
counts_recv(StateReader *r, HabitsState *st, bool dense)
{
	int64		wd = 0, hr = 0;

	if (dense)
	{
		for (int i = 0; i < 7; i++)
			wd += st->by_weekday[i] = state_get_int32(r);
		for (int i = 0; i < 24; i++)
			hr += st->by_hour[i] = state_get_int32(r);
		st->at_midnight = state_get_int32(r);
	}
	else
	{
		uint32		mask = (uint32) state_get_int32(r);

		if (mask >> 31)
			persona_bad_state(r, "Its mask has a bit beyond the 7 weekdays and 24 hours.");
		for (int i = 0; i < 7; i++)
			wd += st->by_weekday[i] = (mask >> i) & 1 ? count_recv(r) : 0;
		for (int i = 0; i < 24; i++)
			hr += st->by_hour[i] = (mask >> (7 + i)) & 1 ? count_recv(r) : 0;
		st->at_midnight = (int32) state_get_varint_max(r, PG_INT32_MAX);
	}
	state_get_end(r);
	for (int i = 0; i < 7; i++)
		if (st->by_weekday[i] < 0)
			persona_bad_state(r, "Its counts must not be negative.");
	for (int i = 0; i < 24; i++)
		if (st->by_hour[i] < 0)
			persona_bad_state(r, "Its counts must not be negative.");
	if (wd != hr)
		persona_bad_state(r, "It counts different numbers of orders by weekday and by hour.");
	if (st->at_midnight < 0 || st->at_midnight > st->by_hour[0])
		persona_bad_state(r, "It counts more orders at midnight than in hour 0.");
}

/* habits_transfn(state, ordered_at): the session TimeZone. */
Datum
habits_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	HabitsState *st;
	PersonaLocal l;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(0))
		persona_check_session_zone_here("persona.habits", "Pass the zone as a value: persona.habits(ordered_at, 'Asia/Shanghai'::persona.time_zone).");
	st = PG_ARGISNULL(0) ? persona_state_alloc(fcinfo, aggctx, sizeof(HabitsState))
		: (HabitsState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	persona_zone_local(session_timezone, PG_GETARG_TIMESTAMPTZ(1), "ordered_at", &l);
	counts_add(st, &l);
	PG_RETURN_POINTER(st);
}

/* A fresh zone state. */
static HabitsZoneState *
zone_state_new(FunctionCallInfo fcinfo, MemoryContext aggctx, pg_tz *zone)
{
	HabitsZoneState *st = persona_state_alloc(fcinfo, aggctx, sizeof(HabitsZoneState));

	st->zone = zone;
	return st;
}

/* habits_zone_transfn(state, ordered_at, time_zone): habits(t, zone) and habits_state. */
Datum
habits_zone_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	pg_tz	   *zone = persona_zone_arg(fcinfo, 2);
	HabitsZoneState *st;
	PersonaLocal l;

	if (PG_ARGISNULL(0))
		st = zone_state_new(fcinfo, aggctx, zone);
	else
	{
		st = (HabitsZoneState *) PG_GETARG_POINTER(0);
		persona_check_same_zone(st->zone, zone);
	}
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	persona_zone_local(zone, PG_GETARG_TIMESTAMPTZ(1), "ordered_at", &l);
	counts_add(&st->counts, &l);
	PG_RETURN_POINTER(st);
}

/* Add b's counts to a. */
Datum
habits_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	HabitsState *a;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	a = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggctx, sizeof(HabitsState))
		: (HabitsState *) PG_GETARG_POINTER(0);
	counts_merge(a, (HabitsState *) PG_GETARG_POINTER(1));
	PG_RETURN_POINTER(a);
}

/* Add b's counts to a, in the same zone. */
Datum
habits_zone_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	HabitsZoneState *a;
	HabitsZoneState *b;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (HabitsZoneState *) PG_GETARG_POINTER(1);
	if (PG_ARGISNULL(0))
	{
		a = MemoryContextAllocZero(aggctx, sizeof(HabitsZoneState));
		a->zone = b->zone;
	}
	else
		a = (HabitsZoneState *) PG_GETARG_POINTER(0);
	persona_check_same_zone(a->zone, b->zone);
	counts_merge(&a->counts, &b->counts);
	PG_RETURN_POINTER(a);
}

/* State to bytea (internal to parallel plans). */
Datum
habits_serialfn(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	counts_send(&buf, (HabitsState *) PG_GETARG_POINTER(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* bytea to state. */
Datum
habits_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	StateReader r;
	HabitsState *st;

	aggctx = persona_agg_context(fcinfo);
	state_reader_init(&r, PG_GETARG_BYTEA_PP(0), "habits");
	st = MemoryContextAllocZero(aggctx, sizeof(HabitsState));
	counts_recv(&r, st, false);
	PG_RETURN_POINTER(st);
}

/* The bytea form of a zone state (state.h): header, then the counts. */
static bytea *
zone_state_serialize(const HabitsZoneState *st)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	state_send_header(&buf, STATE_KIND_HABITS, HABITS_COMPACT, st->zone);
	counts_send(&buf, &st->counts);
	return pq_endtypsend(&buf);
}

/*
 * What habits_state(t, zone) returns for orders counted per ISO weekday
 * (wd[0] = Monday) and local hour, at_midnight of them at exactly local
 * midnight; for builders that keep their own counts (customer_states).
 * Counts beyond the state's are the aggregate's error.
 */
bytea *
habits_state_bytes(pg_tz *zone, const int64 *wd, const int64 *hr, int64 at_midnight)
{
	HabitsZoneState st;

	memset(&st, 0, sizeof(st));
	st.zone = zone;
	for (int i = 0; i < 7; i++)
	{
		if (wd[i] > PG_INT32_MAX)
			check_room(PG_INT32_MAX);
		st.counts.by_weekday[i] = (int32) wd[i];
	}
	for (int i = 0; i < 24; i++)
	{
		if (hr[i] > PG_INT32_MAX)
			check_room(PG_INT32_MAX);
		st.counts.by_hour[i] = (int32) hr[i];
	}
	st.counts.at_midnight = (int32) at_midnight;	/* at most hr[0] */
	return zone_state_serialize(&st);
}

/* Read a zone state into *st. */
static void
zone_state_deserialize(bytea *b, HabitsZoneState *st)
{
	StateReader r;
	int			flags;

	state_reader_init(&r, b, "habits");
	st->zone = state_get_header(&r, STATE_KIND_HABITS, &flags);
	if (flags != HABITS_COMPACT && flags != 0)
		persona_bad_state(&r, "Its flags are not those of a habits state.");
	counts_recv(&r, &st->counts, flags == 0);
}

Datum
habits_zone_serialfn(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(zone_state_serialize((HabitsZoneState *) PG_GETARG_POINTER(0)));
}

Datum
habits_zone_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	HabitsZoneState *st = MemoryContextAllocZero(aggctx, sizeof(HabitsZoneState));

	zone_state_deserialize(PG_GETARG_BYTEA_PP(0), st);
	PG_RETURN_POINTER(st);
}

/* habits_merge_transfn(state, bytea): add a stored state's counts; NULLs are skipped. */
Datum
habits_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	HabitsZoneState *st = PG_ARGISNULL(0) ? NULL : (HabitsZoneState *) PG_GETARG_POINTER(0);
	HabitsZoneState in;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();	/* still no state: not a NULL pointer */
		PG_RETURN_POINTER(st);
	}
	memset(&in, 0, sizeof(in));
	zone_state_deserialize(PG_GETARG_BYTEA_PP(1), &in);
	if (st == NULL)
		st = zone_state_new(fcinfo, aggctx, in.zone);
	persona_check_same_zone(st->zone, in.zone);
	counts_merge(&st->counts, &in.counts);
	PG_RETURN_POINTER(st);
}

/* habits_merge(a bytea, b bytea): both states' counts; a NULL side is skipped. */
Datum
habits_merge_pair(PG_FUNCTION_ARGS)
{
	HabitsZoneState a;
	HabitsZoneState b;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	memset(&a, 0, sizeof(a));
	zone_state_deserialize(PG_GETARG_BYTEA_PP(PG_ARGISNULL(0) ? 1 : 0), &a);
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
	{
		memset(&b, 0, sizeof(b));
		zone_state_deserialize(PG_GETARG_BYTEA_PP(1), &b);
		persona_check_same_zone(a.zone, b.zone);
		counts_merge(&a.counts, &b.counts);
	}
	PG_RETURN_BYTEA_P(zone_state_serialize(&a));
}

/* The state as bytea (habits_state, habits_merge); NULL for no rows. */
Datum
habits_state_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(zone_state_serialize((HabitsZoneState *) PG_GETARG_POINTER(0)));
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

/* The columns of persona.habits. */
#define HABITS_NATTS 11

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
 * The persona.habits values (HABITS_NATTS of them) of orders counted per
 * ISO weekday (wd[0] = Monday) and local hour: orders, weekday_share,
 * weekend_share, the five daypart shares, daypart (mode),
 * favourite_weekday, favourite_hour.  With no orders the shares and
 * favourites are NULL.  date_only (every order at exactly local midnight:
 * dates without times) makes the hour-based fields NULL, since they would
 * all say "night"; the weekday fields stay.
 */
static void
habits_values(const HabitsMaker *m, const int64 *wd, const int64 *hr, bool date_only,
			  Datum *values, bool *nulls)
{
	int64		dp[DP_COUNT] = {0};
	int64		orders = 0;
	int64		weekend;
	double		n;

	for (int i = 0; i < 7; i++)
		orders += wd[i];
	memset(nulls, orders == 0, HABITS_NATTS * sizeof(bool));
	values[0] = Int64GetDatum(orders);
	nulls[0] = false;
	if (orders == 0)
		return;

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
	if (date_only)
	{
		for (int i = 3; i <= 8; i++)
			nulls[i] = true;
		nulls[10] = true;
	}
}

/* Those values as a persona.habits row. */
Datum
habits_make(const HabitsMaker *m, const int64 *wd, const int64 *hr, bool date_only)
{
	Datum		values[HABITS_NATTS];
	bool		nulls[HABITS_NATTS];

	habits_values(m, wd, hr, date_only, values, nulls);
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

/* The persona.habits values of counts (HABITS_NATTS each). */
static void
counts_values(const HabitsMaker *m, const HabitsState *st, Datum *values, bool *nulls)
{
	int64		wd[7], hr[24];
	int64		orders = 0;

	for (int i = 0; i < 7; i++)
		orders += wd[i] = st->by_weekday[i];
	for (int h = 0; h < 24; h++)
		hr[h] = st->by_hour[h];
	habits_values(m, wd, hr, orders > 0 && st->at_midnight == orders, values, nulls);
}

/* The persona.habits row of counts. */
static Datum
counts_row(FunctionCallInfo fcinfo, const HabitsState *st)
{
	HabitsMaker *m = call_maker(fcinfo, true);
	Datum		values[HABITS_NATTS];
	bool		nulls[HABITS_NATTS];

	counts_values(m, st, values, nulls);
	return HeapTupleGetDatum(heap_form_tuple(m->desc, values, nulls));
}

/* The persona.habits row of either state (the counts come first); NULL for no input. */
Datum
habits_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(counts_row(fcinfo, (HabitsState *) PG_GETARG_POINTER(0)));
}

/* habits_of(state bytea): the persona.habits row of a stored state. */
Datum
habits_of(PG_FUNCTION_ARGS)
{
	HabitsZoneState st;

	memset(&st, 0, sizeof(st));
	zone_state_deserialize(PG_GETARG_BYTEA_PP(0), &st);
	PG_RETURN_DATUM(counts_row(fcinfo, &st.counts));
}

/*
 * An incremental refresh extends a customer's stored habits state with
 * the new orders (habits_state's rows), then writes it back and decodes it
 * into persona.habits values: habits_of(habits_merge(stored, habits_state(
 * new orders, zone))).  stored NULL: none yet.
 */
HabitsZoneState *
persona_habits_open(bytea *stored, pg_tz *zone)
{
	HabitsZoneState *st = palloc0(sizeof(HabitsZoneState));

	st->zone = zone;
	if (stored != NULL)
	{
		zone_state_deserialize(stored, st);
		persona_check_same_zone(st->zone, zone);
	}
	return st;
}

void
persona_habits_add(HabitsZoneState *st, TimestampTz t)
{
	PersonaLocal l;

	persona_zone_local(st->zone, t, "ordered_at", &l);
	counts_add(&st->counts, &l);
}

/* The state as stored, and its values (m built without a descriptor will do). */
bytea *
persona_habits_close(const HabitsMaker *m, HabitsZoneState *st, Datum *values, bool *nulls)
{
	counts_values(m, &st->counts, values, nulls);
	return zone_state_serialize(st);
}

/* daypart_of(timestamptz) -> persona.daypart of one time, in the session time zone. */
Datum
daypart_of(PG_FUNCTION_ARGS)
{
	PersonaLocal l;

	persona_zone_local(session_timezone, PG_GETARG_TIMESTAMPTZ(0), "time", &l);
	return call_maker(fcinfo, false)->daypart[daypart_of_hour(l.hour)];
}

/* daypart_of(timestamptz, time_zone) -> persona.daypart of one time in that zone. */
Datum
daypart_of_zone(PG_FUNCTION_ARGS)
{
	PersonaLocal l;

	persona_zone_local(persona_zone(PG_GETARG_TEXT_PP(1)), PG_GETARG_TIMESTAMPTZ(0), "time", &l);
	return call_maker(fcinfo, false)->daypart[daypart_of_hour(l.hour)];
}
