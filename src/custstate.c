/*
 * custstate.c — one customer's running order statistics (see custstate.h).
 */
#include "persona.h"
#include "custstate.h"

#include <math.h>

#include "common/int.h"
#include "datatype/timestamp.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "state.h"

StaticAssertDecl(sizeof(CustState) == 128, "CustState should span two cache lines");
StaticAssertDecl(offsetof(CustState, null_amounts) == 64, "hot fields should fill the first cache line");

/* An empty customer. */
void
cust_init(CustState *cs)
{
	memset(cs, 0, sizeof(CustState));
	cs->maxdays = CUST_INLINE_DAYS;
}

/* The cold part, created on first use. */
static CustCold *
cold_of(CustState *cs, MemoryContext ctx)
{
	if (cs->cold == NULL)
		cs->cold = MemoryContextAllocZero(ctx, sizeof(CustCold));
	return cs->cold;
}

/* sort_int32(data, n): an inlined-comparison sort for purchase days. */
#define ST_SORT sort_int32
#define ST_ELEMENT_TYPE int32
#define ST_COMPARE(a, b) ((*(a) > *(b)) - (*(a) < *(b)))
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* The length of the increasing (sorted and distinct) run days[] starts with. */
static int
days_run(const int32 *days, int n)
{
	int			run = 1;

	while (run < n && days[run] > days[run - 1])
		run++;
	return Min(run, n);
}

/* Drop repeated days from sorted days[0..n-1]; returns the new count. */
static int
days_unique(int32 *days, int n)
{
	int			out = 0;

	for (int i = 1; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		if (days[i] != days[out])
			days[++out] = days[i];
	}
	return n > 0 ? out + 1 : 0;
}

/*
 * Sort days[] and drop duplicates.  Orders usually arrive in time order:
 * then there is nothing to sort.  Otherwise the days are most often a
 * sorted run (a stored state's, or the orders read so far) and a few days
 * added after it (a merge's new orders, late orders): only those are
 * sorted, and merged into the run from its end in one linear pass, instead
 * of sorting a heavy buyer's hundreds of days again for every few new ones.
 */
static void
days_compact(CustState *cs)
{
	int32	   *days = CUST_DAYS(cs);
	int			n = cs->ndays;
	int			run = days_run(days, n);
	int			tail;
	int32	   *added;
	int			i,
				j,
				k;

	if (run == n)
		return;
	tail = n - run;
	if (tail > run / 4)
	{
		sort_int32(days, n);
		cs->ndays = days_unique(days, n);
		return;
	}
	added = palloc(sizeof(int32) * tail);
	memcpy(added, days + run, sizeof(int32) * tail);
	sort_int32(added, tail);
	/* merge from the end: the run's days move up at most tail places */
	i = run - 1;
	j = tail - 1;
	k = n - 1;
	while (j >= 0)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(k, 16);
		if (i >= 0 && days[i] > added[j])
			days[k--] = days[i--];
		else
			days[k--] = added[j--];
	}
	pfree(added);
	cs->ndays = days_unique(days, n);
}

/* Room for at least n days in cs, the capacity doubled as often as needed. */
static void
days_reserve(CustState *cs, int n, MemoryContext ctx)
{
	int			cap = cs->maxdays;
	int32	   *bigger;

	if (n <= cap)
		return;
	while (cap < n)
		cap *= 2;
	bigger = MemoryContextAlloc(ctx, sizeof(int32) * cap);
	memcpy(bigger, CUST_DAYS(cs), sizeof(int32) * cs->ndays);
	if (cs->heap_days)
		pfree(cs->heap_days);
	cs->heap_days = bigger;
	cs->maxdays = cap;
}

/* Append a purchase day; compact before growing so heavy buyers stay small. */
static void
days_add(CustState *cs, int32 day, MemoryContext ctx)
{
	if (cs->ndays > 0 && CUST_DAYS(cs)[cs->ndays - 1] == day)
		return;
	if (cs->ndays == cs->maxdays)
	{
		days_compact(cs);
		if (cs->ndays > cs->maxdays / 2)
			days_reserve(cs, cs->maxdays * 2, ctx);
	}
	CUST_DAYS(cs)[cs->ndays++] = day;
}

/*
 * Add b's purchase days to a's.  Stored states keep their days sorted and
 * distinct, so two of them merge in one linear pass (new orders usually
 * fall after every known day: then they are appended); days of b out of
 * order are added one by one and sorted when a is next compacted.
 */
static void
days_merge(CustState *a, const CustState *b, MemoryContext ctx)
{
	const int32 *bd = CUST_DAYS(b);
	int			nb = b->ndays;
	int32	   *ad;
	int32	   *merged;
	int			na;
	int			i = 0;
	int			j = 0;
	int			n = 0;

	if (days_run(bd, nb) < nb)
	{
		for (int k = 0; k < nb; k++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(k + 1, 12);
			days_add(a, bd[k], ctx);
		}
		return;
	}
	if (nb == 0)
		return;
	days_compact(a);
	na = a->ndays;
	ad = CUST_DAYS(a);
	if (na == 0 || bd[0] > ad[na - 1])
	{
		days_reserve(a, na + nb, ctx);
		memcpy(CUST_DAYS(a) + na, bd, sizeof(int32) * nb);
		a->ndays = na + nb;
		return;
	}
	merged = palloc(sizeof(int32) * (na + nb));
	while (i < na || j < nb)
	{
		int32		d = (j >= nb || (i < na && ad[i] <= bd[j])) ? ad[i] : bd[j];

		PERSONA_CHECK_INTERRUPTS_EVERY(i + j + 1, 12);
		if (i < na && ad[i] == d)
			i++;
		if (j < nb && bd[j] == d)
			j++;
		merged[n++] = d;
	}
	days_reserve(a, n, ctx);
	memcpy(CUST_DAYS(a), merged, sizeof(int32) * n);
	a->ndays = n;
	pfree(merged);
}

/* Track the display scale of fast-path amounts. */
static inline void
note_dscale(CustState *cs, const DecAmount *a)
{
	if (a->fast && a->dscale > cs->dscale)
		cs->dscale = Min(a->dscale, DEC_UNIT_DIGITS);
}

/* Side sum of the cold part at cold_off, or NULL. */
static inline Numeric
cold_sum(const CustState *cs, size_t cold_off)
{
	return cs->cold ? *(Numeric *) ((char *) cs->cold + cold_off) : NULL;
}

/*
 * *units += a; amounts off the integer path, and overflow, go to the cold
 * side sum at byte offset cold_off of CustCold.
 */
static inline void
sum_add(CustState *cs, int64 *units, size_t cold_off, const DecAmount *a, MemoryContext ctx)
{
	int64		sum;

	if (likely(a->fast && !pg_add_s64_overflow(*units, a->units, &sum)))
		*units = sum;
	else
		dec_add(units, (Numeric *) ((char *) cold_of(cs, ctx) + cold_off), a, ctx);
}

/* *units += other_units plus an optional exact side sum (merging states). */
static void
sum_merge(CustState *cs, int64 *units, size_t cold_off, int64 other_units, Numeric other_extra,
		  MemoryContext ctx)
{
	DecAmount	a = {.fast = true, .units = other_units};

	sum_add(cs, units, cold_off, &a, ctx);
	if (other_extra)
		dec_add_sum(units, (Numeric *) ((char *) cold_of(cs, ctx) + cold_off), 0, other_extra, ctx);
}

/*
 * Add one row that is not after as_of.  amount is ignored when amount_null.
 * A negative amount is a refund: it lowers revenue and is not an order.
 */
void
cust_add(CustState *cs, TimestampTz t, int32 day, bool amount_null,
		 const DecAmount *amount, MemoryContext ctx)
{
	if (!amount_null && amount->sign < 0)
	{
		cs->refunds++;
		note_dscale(cs, amount);
		sum_add(cs, &cs->refunded, offsetof(CustCold, refunded), amount, ctx);
		return;
	}
	if (cs->orders == 0 || t < cs->first_at)
		cs->first_at = t;
	if (cs->orders == 0 || t > cs->last_at)
		cs->last_at = t;
	if (cs->orders == 0 || day < cs->first_day)
	{
		cs->first_day = day;
		cs->first_day_spent = 0;
		if (cs->cold)
			cs->cold->first_day_spent = NULL;
	}
	cs->orders++;
	if (amount_null)
		cs->null_amounts++;
	else
	{
		note_dscale(cs, amount);
		sum_add(cs, &cs->spent, offsetof(CustCold, spent), amount, ctx);
		if (day == cs->first_day)
			sum_add(cs, &cs->first_day_spent, offsetof(CustCold, first_day_spent), amount, ctx);
	}
	days_add(cs, day, ctx);
}


/* Merge customer b into a (parallel combine, or the same customer twice). */
void
cust_merge(CustState *a, const CustState *b, MemoryContext ctx)
{
	if (b->orders > 0)
	{
		if (a->orders == 0 || b->first_day < a->first_day)
		{
			a->first_day = b->first_day;
			a->first_day_spent = 0;
			if (a->cold)
				a->cold->first_day_spent = NULL;
		}
		if (b->first_day == a->first_day)
			sum_merge(a, &a->first_day_spent, offsetof(CustCold, first_day_spent),
					  b->first_day_spent, cold_sum(b, offsetof(CustCold, first_day_spent)), ctx);
		if (a->orders == 0 || b->first_at < a->first_at)
			a->first_at = b->first_at;
		if (a->orders == 0 || b->last_at > a->last_at)
			a->last_at = b->last_at;
		days_merge(a, b, ctx);
	}
	/* only stored states (order_stats_merge) can hold counts this large */
	if (pg_add_s64_overflow(a->orders, b->orders, &a->orders) ||
		pg_add_s64_overflow(a->null_amounts, b->null_amounts, &a->null_amounts) ||
		pg_add_s64_overflow(a->refunds, b->refunds, &a->refunds))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many orders in one group"),
				 errdetail("The order or refund count exceeds the range of bigint.")));
	a->dscale = Max(a->dscale, b->dscale);
	sum_merge(a, &a->spent, offsetof(CustCold, spent), b->spent,
			  cold_sum(b, offsetof(CustCold, spent)), ctx);
	sum_merge(a, &a->refunded, offsetof(CustCold, refunded), b->refunded,
			  cold_sum(b, offsetof(CustCold, refunded)), ctx);
}

/* Net revenue: order amounts plus (negative) refunds, exact. */
Numeric
cust_revenue(const CustState *cs)
{
	int64		units;
	Numeric		r;

	if (!pg_add_s64_overflow(cs->spent, cs->refunded, &units))
		r = dec_numeric(units, NULL, cs->dscale);
	else
		r = numeric_add_opt_error(dec_numeric(cs->spent, NULL, cs->dscale),
								  dec_numeric(cs->refunded, NULL, cs->dscale), NULL);
	if (cold_sum(cs, offsetof(CustCold, spent)))
		r = numeric_add_opt_error(r, cs->cold->spent, NULL);
	if (cold_sum(cs, offsetof(CustCold, refunded)))
		r = numeric_add_opt_error(r, cs->cold->refunded, NULL);
	return r;
}

/* Spend on days after the first purchase day (refunds not deducted), exact. */
Numeric
cust_repeat_revenue(const CustState *cs)
{
	int64		units;
	Numeric		r;

	if (!pg_sub_s64_overflow(cs->spent, cs->first_day_spent, &units))
		r = dec_numeric(units, NULL, cs->dscale);
	else
		r = numeric_sub_opt_error(dec_numeric(cs->spent, NULL, cs->dscale),
								  dec_numeric(cs->first_day_spent, NULL, cs->dscale), NULL);
	if (cold_sum(cs, offsetof(CustCold, spent)))
		r = numeric_add_opt_error(r, cs->cold->spent, NULL);
	if (cold_sum(cs, offsetof(CustCold, first_day_spent)))
		r = numeric_sub_opt_error(r, cs->cold->first_day_spent, NULL);
	return r;
}

/* Final statistics as of a calendar day. */
void
cust_finish(CustState *cs, int32 as_of_day, CustResult *r)
{
	int			k;
	int32	   *days;

	days_compact(cs);
	k = cs->ndays;
	days = CUST_DAYS(cs);
	memset(r, 0, sizeof(CustResult));
	r->orders = cs->orders;
	r->purchase_days = k;
	r->refunds = cs->refunds;
	/* no counted row at all keeps revenue 0; rows without any amount make it unknown */
	r->has_revenue = cs->orders == 0 || cs->orders > cs->null_amounts || cs->refunds > 0;
	r->revenue_float = dec_float8(cs->spent, cold_sum(cs, offsetof(CustCold, spent))) +
		dec_float8(cs->refunded, cold_sum(cs, offsetof(CustCold, refunded)));
	if (cs->orders == 0)
		return;
	r->has_orders = true;
	r->first_at = cs->first_at;
	r->last_at = cs->last_at;
	r->recency_days = as_of_day - days[k - 1];
	r->tenure_days = as_of_day - days[0];
	if (cs->orders > cs->null_amounts)
	{
		double		spent = dec_float8(cs->spent, cold_sum(cs, offsetof(CustCold, spent)));

		r->has_avg = true;
		r->avg_amount = spent / (cs->orders - cs->null_amounts);
	}
	if (k >= 2)
	{
		double		mean = (double) (days[k - 1] - days[0]) / (k - 1);

		r->has_gap = true;
		r->mean_gap_days = mean;
		if (k >= 3)
		{
			double		ss = 0;

			for (int i = 1; i < k; i++)
			{
				double		d = (days[i] - days[i - 1]) - mean;

				PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
				ss += d * d;
			}
			r->has_gap_sd = true;
			r->gap_sd_days = sqrt(ss / (k - 2));
		}
	}
}

/* Serialise a customer (days compacted first). */
void
cust_send(StringInfo buf, CustState *cs)
{
	const int32 *days;

	days_compact(cs);
	days = CUST_DAYS(cs);
	state_send_varint(buf, cs->orders);
	if (cs->orders > 0)
	{
		state_send_svarint(buf, cs->first_at);
		state_send_varint(buf, (uint64) (cs->last_at - cs->first_at));
	}
	state_send_varint(buf, cs->spent);
	state_send_varint(buf, cs->first_day_spent);
	state_send_varint(buf, cs->dscale);
	state_send_varint(buf, cs->null_amounts);
	state_send_varint(buf, cs->refunds);
	state_send_varint(buf, (uint64) 0 - (uint64) cs->refunded);
	dec_send_numeric(buf, cold_sum(cs, offsetof(CustCold, spent)));
	dec_send_numeric(buf, cold_sum(cs, offsetof(CustCold, first_day_spent)));
	dec_send_numeric(buf, cold_sum(cs, offsetof(CustCold, refunded)));
	state_send_varint(buf, cs->ndays);
	for (int i = 0; i < cs->ndays; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 16);
		if (i == 0)
			state_send_svarint(buf, days[0]);
		else
			state_send_varint(buf, (uint64) (days[i] - days[i - 1]));
	}
}

/*
 * The fields before the side sums in the compact form (cust_send): the
 * order count, then first order and the span to the last (none without
 * orders), the sums, the display scale and the other counts; the refunded
 * sum negated.  The first day is the first purchase day's, read after.
 */
static void
cust_recv_compact(StateReader *r, CustState *cs)
{
	cs->orders = (int64) state_get_varint_max(r, PG_INT64_MAX);
	cs->first_at = cs->last_at = 0;
	if (cs->orders > 0)
	{
		cs->first_at = state_get_svarint(r);
		if (pg_add_s64_overflow(cs->first_at, (int64) state_get_varint_max(r, PG_INT64_MAX), &cs->last_at))
			persona_bad_state(r, "Its first and last order must be finite timestamps, the first not after the last.");
	}
	cs->spent = (int64) state_get_varint_max(r, PG_INT64_MAX);
	cs->first_day_spent = (int64) state_get_varint_max(r, PG_INT64_MAX);
	cs->first_day = 0;
	cs->dscale = (int16) state_get_varint_max(r, PG_INT16_MAX);
	cs->null_amounts = (int64) state_get_varint_max(r, PG_INT64_MAX);
	cs->refunds = (int64) state_get_varint_max(r, PG_INT64_MAX);
	cs->refunded = -(int64) state_get_varint_max(r, PG_INT64_MAX);
}

/* Purchase day i of the compact form: the first, then each as a step up from the one before. */
static int32
compact_day(StateReader *r, const int32 *days, int i)
{
	int64		first;
	int32		day;

	if (i == 0)
	{
		first = state_get_svarint(r);
		if (first < PG_INT32_MIN || first > PG_INT32_MAX)
			persona_bad_state(r, "A number is beyond the range of its field.");
		return (int32) first;
	}
	/* (a step of 0 is the caller's "not sorted and distinct") */
	day = (int32) state_get_varint_max(r, PG_INT32_MAX);
	if (pg_add_s32_overflow(days[i - 1], day, &day))
		persona_bad_state(r, "A number is beyond the range of its field.");
	return day;
}

/* 10^(DEC_UNIT_DIGITS - dscale): fast-path sums are multiples of it. */
static int64
unit_step(int dscale)
{
	int64		step = 1;

	for (int i = dscale; i < DEC_UNIT_DIGITS; i++)
		step *= 10;
	return step;
}

/* The exact value of a sum: units plus an optional side sum. */
static Numeric
exact_sum(int64 units, Numeric extra)
{
	Numeric		n = int64_div_fast_to_numeric(units, DEC_UNIT_DIGITS);

	return extra ? numeric_add_opt_error(n, extra, NULL) : n;
}

/* Compare two exact sums: -1, 0 or 1. */
static int
sum_cmp(int64 a_units, Numeric a_extra, int64 b_units, Numeric b_extra)
{
	if (a_extra == NULL && b_extra == NULL)
		return (a_units > b_units) - (a_units < b_units);
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(exact_sum(a_units, a_extra)),
											 NumericGetDatum(exact_sum(b_units, b_extra))));
}

/*
 * Read a customer written by cust_send into an initialised state, checking
 * everything the writer guarantees (the state may be hand-made): counts
 * that agree, sums with the right signs, purchase days sorted and
 * distinct.  Errors are 22P03 of the reader's aggregate.
 */
void
cust_recv(StateReader *r, CustState *cs, MemoryContext ctx, bool dense)
{
	Numeric		spent, first, refunded;
	int32		ndays;
	int64		step;
	int32	   *days;

	if (dense)
	{
		cs->orders = state_get_int64(r);
		cs->first_at = state_get_int64(r);
		cs->last_at = state_get_int64(r);
		cs->spent = state_get_int64(r);
		cs->first_day_spent = state_get_int64(r);
		cs->first_day = state_get_int32(r);
		cs->dscale = state_get_int16(r);
		cs->null_amounts = state_get_int64(r);
		cs->refunds = state_get_int64(r);
		cs->refunded = state_get_int64(r);
	}
	else
		cust_recv_compact(r, cs);
	spent = dec_recv_numeric(r, ctx);
	first = dec_recv_numeric(r, ctx);
	refunded = dec_recv_numeric(r, ctx);
	if (spent || first || refunded)
	{
		CustCold   *cold = cold_of(cs, ctx);

		cold->spent = spent;
		cold->first_day_spent = first;
		cold->refunded = refunded;
	}
	ndays = dense ? state_get_int32(r) : (int32) state_get_varint_max(r, PG_INT32_MAX);

	if (cs->orders < 0 || cs->refunds < 0 || cs->null_amounts < 0 || cs->null_amounts > cs->orders)
		persona_bad_state(r, "Its counts are negative or disagree (orders with a NULL amount exceed orders).");
	if (cs->dscale < 0 || cs->dscale > DEC_UNIT_DIGITS)
		persona_bad_state(r, "Its display scale is out of range.");
	step = unit_step(cs->dscale);
	if (cs->spent % step != 0 || cs->first_day_spent % step != 0 || cs->refunded % step != 0)
		persona_bad_state(r, "Its sums have more decimals than its display scale.");
	if (cs->spent < 0 || cs->first_day_spent < 0 || cs->refunded > 0 ||
		sum_cmp(cs->spent, spent, 0, NULL) < 0 || sum_cmp(cs->first_day_spent, first, 0, NULL) < 0 ||
		sum_cmp(cs->refunded, refunded, 0, NULL) > 0)
		persona_bad_state(r, "Order sums must not be negative, refund sums not positive.");
	if ((cs->refunds == 0) != (sum_cmp(cs->refunded, refunded, 0, NULL) == 0))
		persona_bad_state(r, "It has refunds without a refunded amount, or a refunded amount without refunds.");
	if (cs->orders == cs->null_amounts && sum_cmp(cs->spent, spent, 0, NULL) != 0)
		persona_bad_state(r, "It has spend but no order with an amount.");
	if (sum_cmp(cs->first_day_spent, first, cs->spent, spent) > 0)
		persona_bad_state(r, "Its first-day spend exceeds its spend.");
	if (ndays < 0 || ndays > state_remaining(r) / (dense ? 4 : 1) || ndays > cs->orders || (cs->orders > 0) != (ndays > 0))
		persona_bad_state(r, "Its number of purchase days disagrees with its orders or its length.");
	if (cs->orders == 0)
	{
		if (cs->first_at != 0 || cs->last_at != 0 || cs->first_day != 0)
			persona_bad_state(r, "A customer without orders has no first or last order.");
	}
	else if (!IS_VALID_TIMESTAMP(cs->first_at) || !IS_VALID_TIMESTAMP(cs->last_at) ||
			 cs->first_at > cs->last_at)
		persona_bad_state(r, "Its first and last order must be finite timestamps, the first not after the last.");

	if (ndays > cs->maxdays)
	{
		cs->heap_days = MemoryContextAlloc(ctx, sizeof(int32) * ndays);
		cs->maxdays = ndays;
	}
	days = CUST_DAYS(cs);
	for (int i = 0; i < ndays; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		days[i] = dense ? state_get_int32(r) : compact_day(r, days, i);
		if (i > 0 && days[i] <= days[i - 1])
			persona_bad_state(r, "Its purchase days are not sorted and distinct.");
	}
	cs->ndays = ndays;
	if (!dense && ndays > 0)
		cs->first_day = days[0];
	if (ndays > 0 && days[0] != cs->first_day)
		persona_bad_state(r, "Its first purchase day is not the first of its purchase days.");
}
