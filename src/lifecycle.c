/*
 * lifecycle.c — lifecycle_stage(): where a customer is in their life with
 * the shop: prospect, new, growing, mature, declining, churned
 * (潜在客户/新手期/成长期/成熟期/衰退期/流失期).
 *
 * Rules, first match wins (silence = days since the last purchase):
 *   prospect   no orders
 *   churned    silence > churn_after
 *   declining  silence > decline_after
 *   new        one purchase day so far, or first purchase within new_days
 *   mature     at least mature_purchases purchase days
 *   growing    otherwise (a repeat buyer not yet mature)
 * For repeat buyers the thresholds follow their own cadence (mean gap g
 * between purchase days): decline_after = max(decline_factor * g, min_days),
 * churn_after = max(churn_factor * g, 2 * min_days).  One-time buyers have
 * no cadence, so absolute fallbacks apply: decline_days and churn_days.
 * Every threshold is a GUC (persona.lifecycle_*) and a named argument.
 */
#include "persona.h"

#include <math.h>

#include "custstate.h"
#include "tzspan.h"
#include "access/htup_details.h"
#include "executor/executor.h"
#include "utils/date.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(lifecycle_stage_stats);
PG_FUNCTION_INFO_V1(lifecycle_stage_raw);
PG_FUNCTION_INFO_V1(lifecycle_stage_dates);

int			lifecycle_new_days = 30;
int			lifecycle_mature_purchases = 4;
double		lifecycle_decline_factor = 2.0;
double		lifecycle_churn_factor = 4.0;
int			lifecycle_min_days = 30;
int			lifecycle_decline_days = 90;
int			lifecycle_churn_days = 180;

typedef struct LifecycleParams
{
	int			new_days;
	int			mature_purchases;
	double		decline_factor;
	double		churn_factor;
	int			min_days;
	int			decline_days;
	int			churn_days;
} LifecycleParams;

static const char *const stage_names[] = {"prospect", "new", "growing", "mature", "declining", "churned"};

StaticAssertDecl(lengthof(stage_names) == PERSONA_LIFECYCLE_STAGES, "PERSONA_LIFECYCLE_STAGES counts the stages");

enum
{
	LC_PROSPECT, LC_NEW, LC_GROWING, LC_MATURE, LC_DECLINING, LC_CHURNED
};

/* The persona.lifecycle value of a stage. */
static Datum
stage_value(FunctionCallInfo fcinfo, int stage)
{
	return persona_enum_values(fcinfo, "lifecycle", stage_names, lengthof(stage_names))[stage];
}

/* Error unless a threshold is sensible. */
static void
check_param(bool ok, const char *name)
{
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lifecycle parameter %s is out of range", name),
				 errhint("Day counts and purchase counts must be positive; factors must be finite and positive, with churn_factor >= decline_factor.")));
}

/* GUC values overridden by the non-NULL named arguments from argument first. */
static LifecycleParams
read_params(FunctionCallInfo fcinfo, int first)
{
	LifecycleParams p = {lifecycle_new_days, lifecycle_mature_purchases, lifecycle_decline_factor,
		lifecycle_churn_factor, lifecycle_min_days, lifecycle_decline_days, lifecycle_churn_days};

	if (!PG_ARGISNULL(first))
		p.new_days = PG_GETARG_INT32(first);
	if (!PG_ARGISNULL(first + 1))
		p.mature_purchases = PG_GETARG_INT32(first + 1);
	if (!PG_ARGISNULL(first + 2))
		p.decline_factor = PG_GETARG_FLOAT8(first + 2);
	if (!PG_ARGISNULL(first + 3))
		p.churn_factor = PG_GETARG_FLOAT8(first + 3);
	if (!PG_ARGISNULL(first + 4))
		p.min_days = PG_GETARG_INT32(first + 4);
	if (!PG_ARGISNULL(first + 5))
		p.decline_days = PG_GETARG_INT32(first + 5);
	if (!PG_ARGISNULL(first + 6))
		p.churn_days = PG_GETARG_INT32(first + 6);
	check_param(p.new_days >= 0, "new_days");
	check_param(p.mature_purchases >= 2, "mature_purchases");
	check_param(isfinite(p.decline_factor) && p.decline_factor > 0, "decline_factor");
	check_param(isfinite(p.churn_factor) && p.churn_factor >= p.decline_factor, "churn_factor");
	check_param(p.min_days >= 0, "min_days");
	check_param(p.decline_days > 0, "decline_days");
	check_param(p.churn_days >= p.decline_days, "churn_days");
	return p;
}

/* The stage from the customer's numbers. */
static int
stage_of(int64 purchase_days, int32 silence, int32 tenure, double mean_gap, const LifecycleParams *p)
{
	double		decline_after, churn_after;

	if (purchase_days <= 0)
		return LC_PROSPECT;
	if (purchase_days == 1 || isnan(mean_gap))
	{
		decline_after = p->decline_days;
		churn_after = p->churn_days;
	}
	else
	{
		decline_after = Max(p->decline_factor * mean_gap, (double) p->min_days);
		churn_after = Max(p->churn_factor * mean_gap, 2.0 * p->min_days);
	}
	if (silence > churn_after)
		return LC_CHURNED;
	if (silence > decline_after)
		return LC_DECLINING;
	if (purchase_days == 1 || tenure <= p->new_days)
		return LC_NEW;
	if (purchase_days >= p->mature_purchases)
		return LC_MATURE;
	return LC_GROWING;
}

/*
 * The one definition behind lifecycle_of and lifecycle_stage: the stage of
 * a customer with purchase_days purchase days, the first span days before
 * the last, silence days before as_of, and mean gap gap (NaN: from span).
 */
static int
customer_stage(int64 purchase_days, int64 span, int64 silence, double gap, const LifecycleParams *p)
{
	if (purchase_days <= 0)
		return LC_PROSPECT;
	if (isnan(gap) && purchase_days >= 2)
		gap = (double) span / (purchase_days - 1);
	return stage_of(purchase_days, (int32) silence, (int32) (silence + span), gap, p);
}

/*
 * The stage of a finished customer with the persona.lifecycle_* settings,
 * as a persona.lifecycle value (customer_profile).
 */
Datum
persona_lifecycle_value(const CustResult *r, const Datum *stage_values)
{
	LifecycleParams p = {lifecycle_new_days, lifecycle_mature_purchases, lifecycle_decline_factor,
		lifecycle_churn_factor, lifecycle_min_days, lifecycle_decline_days, lifecycle_churn_days};

	if (!r->has_orders)
		return stage_values[LC_PROSPECT];
	return stage_values[customer_stage(r->purchase_days, (int64) r->tenure_days - r->recency_days,
									   r->recency_days, r->has_gap ? r->mean_gap_days : NAN, &p)];
}

/* The persona.lifecycle values in stage order, looked up once per call site. */
const Datum *
persona_lifecycle_values(FunctionCallInfo fcinfo)
{
	return persona_enum_values(fcinfo, "lifecycle", stage_names, lengthof(stage_names));
}

/* lifecycle_of(stats persona.order_stats, params...) */
Datum
lifecycle_stage_stats(PG_FUNCTION_ARGS)
{
	LifecycleParams p = read_params(fcinfo, 1);
	OrderStatsRow os;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	persona_read_order_stats(PG_GETARG_HEAPTUPLEHEADER(0), &os);
	return stage_value(fcinfo, customer_stage(os.purchase_days, os.span_days, os.recency_days,
											  os.mean_gap_days, &p));
}

/* Argument names of a lifecycle_stage overload, for its messages. */
typedef struct StageArgNames
{
	const char *first;
	const char *last;
	const char *count;
} StageArgNames;

static const StageArgNames timestamp_names = {"first_at", "last_at", "orders"};
static const StageArgNames date_names = {"first_on", "last_on", "purchase_days"};

/*
 * The checks and the stage shared by both lifecycle_stage overloads, once
 * the first and last purchase day and the as_of day are local calendar
 * days: days purchase days must fit between them.
 */
static Datum
stage_of_days(FunctionCallInfo fcinfo, const LifecycleParams *p, const StageArgNames *n,
			  int64 days, int32 first, int32 last, int32 as_of)
{
	double		gap = NAN;

	if (last < first)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be before %s", n->last, n->first)));
	if (as_of < last)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must not be before %s", n->last),
				 errhint("Compute the statistics as of the same day, e.g. with persona.order_stats(..., as_of).")));
	if ((days == 1) != (last == first) || days > (int64) last - first + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be the number of purchase days from %s to %s", n->count, n->first, n->last),
				 errdetail("Got " INT64_FORMAT " purchase days on %d calendar days; one purchase day means %s and %s fall on the same day.",
						   days, last - first + 1, n->first, n->last),
				 errhint("Pass the number of distinct order days, e.g. count(DISTINCT ordered_at::date), or use persona.lifecycle_of(persona.order_stats(...)).")));
	if (!PG_ARGISNULL(4))
	{
		gap = PG_GETARG_FLOAT8(4);
		persona_check_finite(gap, "mean_gap_days");
		if (gap < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mean_gap_days must not be negative"),
					 errdetail("Got %g.", gap)));
	}
	return stage_value(fcinfo, customer_stage(days, (int64) last - first, (int64) as_of - last, gap, p));
}

/*
 * The purchase-day count of argument 2 (NULL: 0); as_of (argument 3) must
 * not be NULL.  False when the customer is a prospect (no purchase days,
 * or no first or last purchase).
 */
static bool
stage_count(FunctionCallInfo fcinfo, const StageArgNames *n, int64 *days)
{
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be NULL")));
	*days = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	if (*days < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", n->count)));
	return *days > 0 && !PG_ARGISNULL(0) && !PG_ARGISNULL(1);
}

/*
 * lifecycle_stage(first_at, last_at, purchase_days, as_of, mean_gap_days,
 * params...): for your own columns, days in the session time zone.  The
 * third argument (named orders for compatibility) counts purchase days, as
 * lifecycle_of does: it must fit between the first and the last purchase
 * day.  Without mean_gap_days the cadence is (last - first) /
 * (purchase_days - 1).
 */
Datum
lifecycle_stage_raw(PG_FUNCTION_ARGS)
{
	LifecycleParams p = read_params(fcinfo, 5);
	int64		days;
	int32		first, last, as_of;

	if (!stage_count(fcinfo, &timestamp_names, &days))
		return stage_value(fcinfo, LC_PROSPECT);
	first = persona_local_day(PG_GETARG_TIMESTAMPTZ(0), "first_at");
	last = persona_local_day(PG_GETARG_TIMESTAMPTZ(1), "last_at");
	as_of = persona_local_day(PG_GETARG_TIMESTAMPTZ(3), "as_of");
	return stage_of_days(fcinfo, &p, &timestamp_names, days, first, last, as_of);
}

/* Error unless a date argument is finite. */
static int32
finite_date(DateADT d, const char *what)
{
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite date", what),
				 errhint("Filter out rows with infinite dates.")));
	return (int32) d;
}

/*
 * lifecycle_stage(first_on, last_on, purchase_days, as_of date, ...): the
 * same with local dates, so no time zone is involved at all (DateADT is
 * days since 2000-01-01, the day numbers used above).
 */
Datum
lifecycle_stage_dates(PG_FUNCTION_ARGS)
{
	LifecycleParams p = read_params(fcinfo, 5);
	int64		days;
	int32		first, last, as_of;

	if (!stage_count(fcinfo, &date_names, &days))
		return stage_value(fcinfo, LC_PROSPECT);
	first = finite_date(PG_GETARG_DATEADT(0), "first_on");
	last = finite_date(PG_GETARG_DATEADT(1), "last_on");
	as_of = finite_date(PG_GETARG_DATEADT(3), "as_of");
	return stage_of_days(fcinfo, &p, &date_names, days, first, last, as_of);
}
