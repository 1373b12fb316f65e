/*
 * profile.c — customer_profile(orders, as_of, ...): statistics, RFM scores
 * and segments of every customer in one call.
 *
 * Instead of GROUP BY (a generic hash table, one aggregate call per row and
 * an OVER () window for the cut points) this scans the orders once into its
 * own hash table of customers (custscan.c), then computes the cut points
 * over all customers, scores and labels them, and returns the rows.  Same
 * rules and results as order_stats + rfm_breaks + rfm_score + rfm_segment;
 * the regression tests compare the two.
 */
#include "persona.h"

#include <math.h>

#include "custscan.h"
#include "relation.h"
#include "rfm.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

/* Columns of the result: customer_id, the 13 order_stats columns, rfm, segment, lifecycle, habits. */
#define PROFILE_NATTS (1 + OS_NATTS + 4)

PG_FUNCTION_INFO_V1(customer_profile);
PG_FUNCTION_INFO_V1(customer_profile_text);

static Datum profile_run(FunctionCallInfo fcinfo, const PersonaRelation *rel, TimestampTz as_of,
						 pg_tz *zone, PersonaLanguage lang);

/* Error unless arguments 0..n-1 are all non-NULL. */
static void
check_args(FunctionCallInfo fcinfo, int n)
{
	for (int i = 0; i < n; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("arguments of customer_profile must not be NULL")));
}

/*
 * customer_profile(orders regclass, as_of timestamptz, customer_col,
 *                  time_col, amount_col, bins, scheme, habits):
 * days in the session time zone, segments in persona.language.
 */
Datum
customer_profile(PG_FUNCTION_ARGS)
{
	PersonaRelation rel;

	check_args(fcinfo, 8);
	/* First: a bad relation must not get as far as the catalogs or SPI. */
	persona_resolve_relation(PG_GETARG_OID(0), &rel);
	return profile_run(fcinfo, &rel, PG_GETARG_TIMESTAMPTZ(1), session_timezone,
					   (PersonaLanguage) persona_language);
}

/*
 * customer_profile(orders regclass, as_of text, ..., habits, time_zone,
 * language): as_of is read in time_zone ('2025-01-01' is midnight there),
 * days and habits are that zone's, segments in language; NULL time_zone or
 * language means the session's.  (A text as_of also lets JDBC bind it with
 * setString.)
 */
Datum
customer_profile_text(PG_FUNCTION_ARGS)
{
	PersonaRelation rel;
	pg_tz	   *zone;
	PersonaLanguage lang;
	TimestampTz as_of;

	check_args(fcinfo, 8);
	persona_resolve_relation(PG_GETARG_OID(0), &rel);
	zone = persona_zone_or_session(fcinfo, 8);
	lang = PG_ARGISNULL(9) ? (PersonaLanguage) persona_language : persona_language_of(PG_GETARG_TEXT_PP(9));
	as_of = persona_timestamptz_in_zone(text_to_cstring(PG_GETARG_TEXT_PP(1)), zone);
	return profile_run(fcinfo, &rel, as_of, zone, lang);
}

/* The persona.habits value of a customer. */
static Datum
profile_habits(const CustScan *scan, const CustEntry *e, const HabitsMaker *m)
{
	int64		wd[7], hr[24];
	int64		at_midnight = cust_scan_habits(scan, e, wd, hr);

	return habits_make(m, wd, hr, e->cs.orders > 0 && at_midnight == e->cs.orders);
}

/* The profile of rel as of as_of, days in zone, labels in lang (arguments 2..7 as above). */
static Datum
profile_run(FunctionCallInfo fcinfo, const PersonaRelation *rel, TimestampTz as_of,
			pg_tz *zone, PersonaLanguage lang)
{
	char	   *scheme_name;
	int			bins;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext rowctx;
	MemoryContext old;
	CustScanSpec spec;
	CustScan   *scan;
	SegmentScheme *scheme;
	const Datum *stages;
	HabitsMaker *habits;
	CustEntry  *e;
	double	   *r, *f, *m;
	double	   *cuts;
	int64		n = 0,
				nm = 0;			/* customers with orders; of them, with an amount */
	uint64		visited = 0;
	uint64		customers;
	bool		want_habits;

	memset(&spec, 0, sizeof(spec));
	spec.cust_col = text_to_cstring(PG_GETARG_TEXT_PP(2));
	spec.time_col = text_to_cstring(PG_GETARG_TEXT_PP(3));
	spec.amount_col = text_to_cstring(PG_GETARG_TEXT_PP(4));
	bins = PG_GETARG_INT32(5);
	scheme_name = text_to_cstring(PG_GETARG_TEXT_PP(6));
	want_habits = PG_GETARG_BOOL(7);
	rfm_check_bins(bins);

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "persona customer_profile",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	spec.as_of_day = persona_zone_day(zone, as_of, "as_of");
	scheme = segment_scheme_load(scheme_name, work);
	stages = persona_lifecycle_values(fcinfo);
	habits = habits_maker(work, lookup_rowtype_tupdesc_copy(
		TupleDescAttr(rsinfo->setDesc, OS_NATTS + 4)->atttypid, -1));

	/* Scan: every order into the hash table. */
	spec.zone = zone;
	spec.habits = want_habits;
	spec.caller = "customer_profile";
	scan = cust_scan(rel, &spec, work);
	customers = cust_scan_customers(scan);

	/* R, F, M of every customer with orders (finishing is idempotent). */
	r = MemoryContextAllocHuge(work, sizeof(double) * Max(customers, 1));
	f = MemoryContextAllocHuge(work, sizeof(double) * Max(customers, 1));
	m = MemoryContextAllocHuge(work, sizeof(double) * Max(customers, 1));
	cust_scan_rewind(scan);
	while ((e = cust_scan_next(scan)) != NULL)
	{
		CustResult	cr;

		PERSONA_CHECK_INTERRUPTS_EVERY(++visited, 12);
		cust_finish(&e->cs, spec.as_of_day, &cr);
		if (cr.has_orders)
		{
			r[n] = cr.recency_days;
			f[n] = (double) cr.orders;
			if (cr.has_revenue)
				m[nm++] = cr.revenue_float;
			n++;
		}
	}

	/* Cut points over all customers with orders, as rfm_breaks computes them. */
	cuts = palloc(sizeof(double) * 3 * (bins - 1));
	if (n > 0)
	{
		rfm_quantile_cuts(r, n, bins, true, cuts);
		rfm_quantile_cuts(f, n, bins, false, cuts + (bins - 1));
	}
	/* M over the customers with an amount; without any, no value reaches a cut (as rfm_breaks) */
	if (nm > 0)
		rfm_quantile_cuts(m, nm, bins, false, cuts + 2 * (bins - 1));
	else
		for (int k = 0; k < bins - 1; k++)
			cuts[2 * (bins - 1) + k] = INFINITY;
	pfree(r);
	pfree(f);
	pfree(m);

	/* Emit one row per customer, in hash table order. */
	rowctx = AllocSetContextCreate(work, "persona customer_profile row", ALLOCSET_SMALL_SIZES);
	cust_scan_rewind(scan);
	while ((e = cust_scan_next(scan)) != NULL)
	{
		Datum		values[PROFILE_NATTS];
		bool		nulls[PROFILE_NATTS];
		CustResult	cr;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(rowctx);
		MemoryContextSwitchTo(rowctx);
		cust_finish(&e->cs, spec.as_of_day, &cr);
		values[0] = Int64GetDatum(e->cs.key);
		nulls[0] = false;
		persona_stats_values(&e->cs, &cr, values + 1, nulls + 1);
		nulls[OS_NATTS + 1] = nulls[OS_NATTS + 2] = true;
		values[OS_NATTS + 3] = persona_lifecycle_value(&cr, stages);
		nulls[OS_NATTS + 3] = false;
		if (want_habits)
			values[OS_NATTS + 4] = profile_habits(scan, e, habits);
		nulls[OS_NATTS + 4] = !want_habits;
		if (cr.has_orders)
		{
			Rfm			x = rfm_score_cuts(cr.recency_days, (double) cr.orders,
										   cr.has_revenue ? cr.revenue_float : NAN,
										   cuts, cuts + (bins - 1), cuts + 2 * (bins - 1), bins);
			const char *label = segment_label(scheme, x, lang);

			values[OS_NATTS + 1] = RfmGetDatum(x);
			nulls[OS_NATTS + 1] = false;
			if (label)
			{
				values[OS_NATTS + 2] = CStringGetTextDatum(label);
				nulls[OS_NATTS + 2] = false;
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(work);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
