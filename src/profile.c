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
#include "parallel.h"
#include "relation.h"
#include "rfm.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "utils/tuplestore.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

/* Columns of the result: customer_id, the 13 order_stats columns, rfm, segment, lifecycle, habits. */
#define PROFILE_NATTS (1 + OS_NATTS + 4)

PG_FUNCTION_INFO_V1(customer_profile);
PG_FUNCTION_INFO_V1(customer_profile_text);
PG_FUNCTION_INFO_V1(customer_profile_keyed);

static Datum profile_run(FunctionCallInfo fcinfo, const PersonaRelation *rel, TimestampTz as_of,
						 pg_tz *zone, PersonaLanguage lang, int first, Oid key_type);

/* Error unless arguments 0..n-1 but skip are all non-NULL. */
static void
check_args(FunctionCallInfo fcinfo, int n, int skip)
{
	for (int i = 0; i < n; i++)
		if (i != skip && PG_ARGISNULL(i))
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

	check_args(fcinfo, 8, -1);
	/* First: a bad relation must not get as far as the catalogs or SPI. */
	persona_resolve_relation(PG_GETARG_OID(0), &rel);
	return profile_run(fcinfo, &rel, PG_GETARG_TIMESTAMPTZ(1), session_timezone,
					   (PersonaLanguage) persona_language, 2, InvalidOid);
}

/* as_of text read in zone (argument zone_arg, NULL: the session's), labels in argument zone_arg + 1. */
static Datum
profile_in_zone(FunctionCallInfo fcinfo, const PersonaRelation *rel, int zone_arg, int first, Oid key_type)
{
	pg_tz	   *zone = persona_zone_or_session(fcinfo, zone_arg);
	PersonaLanguage lang = PG_ARGISNULL(zone_arg + 1) ? (PersonaLanguage) persona_language
		: persona_language_of(PG_GETARG_TEXT_PP(zone_arg + 1));
	TimestampTz as_of = persona_timestamptz_in_zone(text_to_cstring(PG_GETARG_TEXT_PP(1)), zone);

	return profile_run(fcinfo, rel, as_of, zone, lang, first, key_type);
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

	check_args(fcinfo, 8, -1);
	persona_resolve_relation(PG_GETARG_OID(0), &rel);
	return profile_in_zone(fcinfo, &rel, 8, 2, InvalidOid);
}

/*
 * customer_profile(orders regclass, as_of text, customer_key anyelement,
 * customer_col, ..., language): as customer_profile_text, customers keyed
 * by the column's own type, customer_key's (its value is not read: NULL::text
 * names the type), which customer_id has.
 */
Datum
customer_profile_keyed(PG_FUNCTION_ARGS)
{
	PersonaRelation rel;

	check_args(fcinfo, 9, 2);
	persona_resolve_relation(PG_GETARG_OID(0), &rel);
	return profile_in_zone(fcinfo, &rel, 9, 3, cust_scan_key_arg(fcinfo, 2));
}

/* The persona.habits value of a customer. */
static Datum
profile_habits(const CustScan *scan, const CustEntry *e, const HabitsMaker *m)
{
	int64		wd[7], hr[24];
	int64		at_midnight = cust_scan_habits(scan, e, wd, hr);

	return habits_make(m, wd, hr, e->cs.orders > 0 && at_midnight == e->cs.orders);
}

/* Everything profile_run's rows need besides the customers. */
typedef struct ProfileRun
{
	int			bins;
	int32		as_of_day;
	bool		want_habits;
	SegmentScheme *scheme;
	PersonaLanguage lang;
	const Datum *stages;
	HabitsMaker *habits;
	double	   *cuts;			/* R, F, M cut points, bins - 1 each */
	/* R, F, M of the customers with orders (M: of those with an amount) */
	double	   *r, *f, *m;
	int64		n, nm, cap;
	TupleDesc	held_desc;		/* rows held while the customers come in several passes */
} ProfileRun;

/* Room for R, F and M of cap customers. */
static void
reserve_rfm(ProfileRun *p, int64 cap)
{
	p->cap = Max(cap, 1024);
	p->r = repalloc_huge(p->r, sizeof(double) * p->cap);
	p->f = repalloc_huge(p->f, sizeof(double) * p->cap);
	p->m = repalloc_huge(p->m, sizeof(double) * p->cap);
}

/* Keep a customer's R, F and M for the cut points. */
static void
note_rfm(ProfileRun *p, const CustResult *cr)
{
	if (!cr->has_orders)
		return;
	if (p->n == p->cap)
		reserve_rfm(p, p->cap * 2);
	p->r[p->n] = cr->recency_days;
	p->f[p->n] = (double) cr->orders;
	if (cr->has_revenue)
		p->m[p->nm++] = cr->revenue_float;
	p->n++;
}

/* Cut points over all customers with orders, as rfm_breaks computes them. */
static void
compute_cuts(ProfileRun *p)
{
	int			k = p->bins - 1;

	p->cuts = palloc0(sizeof(double) * 3 * k);
	if (p->n > 0)
	{
		rfm_quantile_cuts(p->r, p->n, p->bins, true, p->cuts);
		rfm_quantile_cuts(p->f, p->n, p->bins, false, p->cuts + k);
	}
	/* M over the customers with an amount; without any, no value reaches a cut (as rfm_breaks) */
	if (p->nm > 0)
		rfm_quantile_cuts(p->m, p->nm, p->bins, false, p->cuts + 2 * k);
	else
		for (int i = 0; i < k; i++)
			p->cuts[2 * k + i] = INFINITY;
}

/* The columns of a customer's row but its score and segment (left NULL). */
static void
fill_row(const ProfileRun *p, const CustScan *scan, CustEntry *e, const CustResult *cr,
		 Datum *values, bool *nulls)
{
	values[0] = cust_scan_key(scan, e);
	nulls[0] = false;
	persona_stats_values(&e->cs, cr, values + 1, nulls + 1);
	nulls[OS_NATTS + 1] = nulls[OS_NATTS + 2] = true;
	values[OS_NATTS + 3] = persona_lifecycle_value(cr, p->stages);
	nulls[OS_NATTS + 3] = false;
	if (p->want_habits)
		values[OS_NATTS + 4] = profile_habits(scan, e, p->habits);
	nulls[OS_NATTS + 4] = !p->want_habits;
}

/* Score and label a customer with orders, recency r, frequency f, monetary m (NaN: none). */
static void
fill_score(const ProfileRun *p, double r, double f, double m, Datum *values, bool *nulls)
{
	int			k = p->bins - 1;
	Rfm			x = rfm_score_cuts(r, f, m, p->cuts, p->cuts + k, p->cuts + 2 * k, p->bins);
	const char *label = segment_label(p->scheme, x, p->lang);

	values[OS_NATTS + 1] = RfmGetDatum(x);
	nulls[OS_NATTS + 1] = false;
	if (label)
	{
		values[OS_NATTS + 2] = CStringGetTextDatum(label);
		nulls[OS_NATTS + 2] = false;
	}
}

/*
 * Note R, F, M of the scan's customers.  When they came in one pass they
 * stay in the table until profile_emit; returns NULL.  When they came in
 * several (they did not fit in work_mem) each pass's rows wait, with the
 * R, F and M they are scored on, in a tuplestore (which spills to disk as
 * well) until the cut points are known: returns it.
 */
static Tuplestorestate *
profile_collect(ProfileRun *p, CustScan *scan, TupleDesc result, MemoryContext work)
{
	MemoryContext rowctx;
	Tuplestorestate *held;
	CustEntry  *e;
	uint64		visited = 0;

	if (!cust_scan_spilled(scan))
	{
		reserve_rfm(p, (int64) cust_scan_customers(scan));	/* every customer at once: one allocation */
		cust_scan_rewind(scan);
		while ((e = cust_scan_next(scan)) != NULL)
		{
			CustResult	cr;

			PERSONA_CHECK_INTERRUPTS_EVERY(++visited, 12);
			cust_finish(&e->cs, p->as_of_day, &cr);
			note_rfm(p, &cr);
		}
		return NULL;
	}
	rowctx = AllocSetContextCreate(work, "persona customer_profile row", ALLOCSET_SMALL_SIZES);
	p->held_desc = CreateTemplateTupleDesc(PROFILE_NATTS + 3);
	for (int i = 0; i < PROFILE_NATTS; i++)
		TupleDescCopyEntry(p->held_desc, i + 1, result, i + 1);
	for (int i = 0; i < 3; i++)
		TupleDescInitEntry(p->held_desc, PROFILE_NATTS + i + 1, NULL, FLOAT8OID, -1, 0);
	/*
	 * An eighth of work_mem: the table of a pass takes work_mem x
	 * hash_mem_multiplier meanwhile, the result tuplestore work_mem at the end.
	 */
	held = tuplestore_begin_heap(false, false, Max(64, work_mem / 8));
	do
	{
		cust_scan_rewind(scan);
		while ((e = cust_scan_next(scan)) != NULL)
		{
			Datum		values[PROFILE_NATTS + 3];
			bool		nulls[PROFILE_NATTS + 3];
			CustResult	cr;

			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(rowctx);
			MemoryContextSwitchTo(rowctx);
			cust_finish(&e->cs, p->as_of_day, &cr);
			note_rfm(p, &cr);
			fill_row(p, scan, e, &cr, values, nulls);
			/* the scoring inputs, exactly as the one-pass path reads them */
			values[PROFILE_NATTS] = Float8GetDatum(cr.recency_days);
			values[PROFILE_NATTS + 1] = Float8GetDatum((double) cr.orders);
			values[PROFILE_NATTS + 2] = Float8GetDatum(cr.has_revenue ? cr.revenue_float : NAN);
			nulls[PROFILE_NATTS] = !cr.has_orders;
			nulls[PROFILE_NATTS + 1] = nulls[PROFILE_NATTS + 2] = false;
			tuplestore_putvalues(held, p->held_desc, values, nulls);
			MemoryContextSwitchTo(work);
		}
	} while (cust_scan_next_pass(scan));
	MemoryContextDelete(rowctx);
	return held;
}

/* Score, label and emit the customers profile_collect noted, once the cut points are known. */
static void
profile_emit(ProfileRun *p, CustScan *scan, Tuplestorestate *held, PersonaRowSink *sink, MemoryContext work)
{
	MemoryContext rowctx = AllocSetContextCreate(work, "persona customer_profile row", ALLOCSET_SMALL_SIZES);
	TupleTableSlot *slot;
	CustEntry  *e;

	if (held == NULL)
	{
		cust_scan_rewind(scan);
		while ((e = cust_scan_next(scan)) != NULL)
		{
			Datum		values[PROFILE_NATTS];
			bool		nulls[PROFILE_NATTS];
			CustResult	cr;

			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(rowctx);
			MemoryContextSwitchTo(rowctx);
			cust_finish(&e->cs, p->as_of_day, &cr);
			fill_row(p, scan, e, &cr, values, nulls);
			if (cr.has_orders)
				fill_score(p, cr.recency_days, (double) cr.orders,
						   cr.has_revenue ? cr.revenue_float : NAN, values, nulls);
			persona_sink_put(sink, values, nulls);
			MemoryContextSwitchTo(work);
		}
		return;
	}
	slot = MakeSingleTupleTableSlot(p->held_desc, &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(held, true, false, slot))
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(rowctx);
		MemoryContextSwitchTo(rowctx);
		slot_getallattrs(slot);
		if (!slot->tts_isnull[PROFILE_NATTS])
			fill_score(p, DatumGetFloat8(slot->tts_values[PROFILE_NATTS]),
					   DatumGetFloat8(slot->tts_values[PROFILE_NATTS + 1]),
					   DatumGetFloat8(slot->tts_values[PROFILE_NATTS + 2]),
					   slot->tts_values, slot->tts_isnull);
		persona_sink_put(sink, slot->tts_values, slot->tts_isnull);
		MemoryContextSwitchTo(work);
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(held);
}

/*
 * A profile's arguments but the scan's, as plain bytes for a worker: the
 * scheme's name follows.
 */
typedef struct ProfileJob
{
	CustScanJob scan;
	int			bins;
	int32		as_of_day;
	bool		want_habits;
	PersonaLanguage lang;
	Datum		stages[PERSONA_LIFECYCLE_STAGES];
	char		scheme[FLEXIBLE_ARRAY_MEMBER];
} ProfileJob;

/* Everything but the scan, from a job; result is the rows' descriptor. */
static void
profile_setup(ProfileRun *p, const ProfileJob *job, TupleDesc result, MemoryContext work)
{
	memset(p, 0, sizeof(*p));
	p->bins = job->bins;
	p->as_of_day = job->as_of_day;
	p->want_habits = job->want_habits;
	p->lang = job->lang;
	p->stages = job->stages;
	p->scheme = segment_scheme_load(job->scheme, work);
	p->habits = habits_maker(work, lookup_rowtype_tupdesc_copy(
		TupleDescAttr(result, OS_NATTS + 4)->atttypid, -1));
	p->cap = 1024;
	p->r = MemoryContextAllocHuge(work, sizeof(double) * p->cap);
	p->f = MemoryContextAllocHuge(work, sizeof(double) * p->cap);
	p->m = MemoryContextAllocHuge(work, sizeof(double) * p->cap);
}

/* The R, F and M a worker noted, for the leader's cut points: n, nm, r[n], f[n], m[nm]. */
static void
send_rfm(PersonaParallel *par, const ProfileRun *p)
{
	Size		len = 2 * sizeof(int64) + sizeof(double) * (2 * p->n + p->nm);
	char	   *buf = palloc_extended(len, MCXT_ALLOC_HUGE);
	char	   *w = buf;

	memcpy(w, &p->n, sizeof(int64));
	memcpy(w + sizeof(int64), &p->nm, sizeof(int64));
	w += 2 * sizeof(int64);
	memcpy(w, p->r, sizeof(double) * p->n);
	w += sizeof(double) * p->n;
	memcpy(w, p->f, sizeof(double) * p->n);
	w += sizeof(double) * p->n;
	memcpy(w, p->m, sizeof(double) * p->nm);
	persona_parallel_send(par, buf, len);
	pfree(buf);
}

/* Add a worker's R, F and M (send_rfm) to the leader's. */
static void
receive_rfm(PersonaParallel *par, int worker, ProfileRun *p)
{
	Size		len;
	char	   *buf = persona_parallel_receive(par, worker, &len);
	int64		n, nm;
	const char *r;

	if (len < 2 * sizeof(int64))
		elog(ERROR, "persona parallel worker %d sent a malformed message", worker);
	memcpy(&n, buf, sizeof(int64));
	memcpy(&nm, buf + sizeof(int64), sizeof(int64));
	if (n < 0 || nm < 0 || nm > n || len != 2 * sizeof(int64) + sizeof(double) * (2 * n + nm))
		elog(ERROR, "persona parallel worker %d sent a malformed message", worker);
	if (p->n + n > p->cap)
		reserve_rfm(p, p->n + n);
	r = buf + 2 * sizeof(int64);
	memcpy(p->r + p->n, r, sizeof(double) * n);
	memcpy(p->f + p->n, r + sizeof(double) * n, sizeof(double) * n);
	memcpy(p->m + p->nm, r + sizeof(double) * 2 * n, sizeof(double) * nm);
	p->n += n;
	p->nm += nm;
	pfree(buf);
}

/* A worker's share of a profile: its rows, scored on the cut points the leader publishes. */
void
profile_parallel_worker(PersonaParallel *par, const void *data, Size len)
{
	const ProfileJob *job = data;
	TupleDesc	result = persona_parallel_result(par);
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "persona customer_profile",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);
	PersonaRelation rel;
	CustScanSpec spec;
	CustScan   *scan;
	ProfileRun	p;
	Tuplestorestate *held;
	PersonaRowSink sink = {NULL, result, par, 0};
	Size		cuts_len;
	const void *cuts;

	cust_scan_job_unpack(&job->scan, "customer_profile", &rel, &spec);
	profile_setup(&p, job, result, work);
	scan = cust_scan_begin(&rel, &spec, work);
	cust_scan_read(scan, persona_parallel_share(par), persona_parallel_shares(par));
	held = profile_collect(&p, scan, result, work);
	send_rfm(par, &p);
	cuts = persona_parallel_published(par, &cuts_len);
	if (cuts_len != sizeof(double) * 3 * (p.bins - 1))
		elog(ERROR, "persona parallel leader published %zu bytes of cut points", cuts_len);
	p.cuts = palloc(cuts_len);
	memcpy(p.cuts, cuts, cuts_len);
	profile_emit(&p, scan, held, &sink, work);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

/*
 * The profile of rel as of as_of, days in zone, labels in lang; arguments
 * first.. are customer_col, time_col, amount_col, bins, scheme, habits;
 * customers keyed by key_type (InvalidOid: integers as bigint).  With
 * parallel workers each participant profiles its share of the customers;
 * the cut points are the leader's, over the R, F and M of all of them.
 */
static Datum
profile_run(FunctionCallInfo fcinfo, const PersonaRelation *rel, TimestampTz as_of,
			pg_tz *zone, PersonaLanguage lang, int first, Oid key_type)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext old;
	CustScanSpec spec;
	CustScan   *scan;
	ProfileRun	p;
	ProfileJob *job;
	const char *scheme = text_to_cstring(PG_GETARG_TEXT_PP(first + 4));
	Size		job_len = offsetof(ProfileJob, scheme) + strlen(scheme) + 1;
	PersonaParallel *par = NULL;
	Tuplestorestate *held;
	PersonaRowSink sink;
	int			nworkers;

	memset(&spec, 0, sizeof(spec));
	spec.cust_col = text_to_cstring(PG_GETARG_TEXT_PP(first));
	spec.time_col = text_to_cstring(PG_GETARG_TEXT_PP(first + 1));
	spec.amount_col = text_to_cstring(PG_GETARG_TEXT_PP(first + 2));
	spec.key_type = key_type;
	rfm_check_bins(PG_GETARG_INT32(first + 3));

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "persona customer_profile",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	job = palloc0(job_len);
	job->bins = PG_GETARG_INT32(first + 3);
	job->want_habits = PG_GETARG_BOOL(first + 5);
	job->lang = lang;
	job->as_of_day = persona_zone_day(zone, as_of, "as_of");
	memcpy(job->stages, persona_lifecycle_values(fcinfo), sizeof(job->stages));
	strcpy(job->scheme, scheme);
	profile_setup(&p, job, rsinfo->setDesc, work);

	/* Scan: every order into the hash table (or, beyond work_mem, several passes). */
	spec.as_of_day = p.as_of_day;
	spec.zone = zone;
	spec.habits = p.want_habits;
	spec.caller = "customer_profile";
	scan = cust_scan_begin(rel, &spec, work);
	cust_scan_check_result(scan, rsinfo->setDesc);
	nworkers = cust_scan_parallel_safe(scan) ? persona_parallel_workers(rel) : 0;
	if (nworkers > 0)
	{
		cust_scan_job_pack(rel, &spec, &job->scan);
		par = persona_parallel_begin(PERSONA_JOB_PROFILE, job, job_len, nworkers, rsinfo->setDesc, "customer_profile");
	}
	cust_scan_read(scan, 0, par ? persona_parallel_shares(par) : 1);
	held = profile_collect(&p, scan, rsinfo->setDesc, work);
	if (par)
		for (int i = 0; i < persona_parallel_launched(par); i++)
			receive_rfm(par, i, &p);
	compute_cuts(&p);
	if (par)
		persona_parallel_publish(par, p.cuts, sizeof(double) * 3 * (p.bins - 1));
	sink.result = rsinfo->setResult;
	sink.desc = rsinfo->setDesc;
	sink.par = par;
	sink.rows = 0;
	profile_emit(&p, scan, held, &sink, work);
	if (par)
	{
		persona_parallel_drain(par, rsinfo->setResult, true);
		persona_parallel_end(par);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
