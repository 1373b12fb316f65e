/*
 * customer_states.c — customer_states(orders, until, time_zone, ...): every
 * customer's order_stats and habits states in one scan.
 *
 * A profile's full refresh needs, per customer, exactly what
 *   SELECT customer, order_stats_state(t, amount, zone),
 *          habits_state(t, zone) FILTER (WHERE amount IS NULL OR amount >= 0)
 *   FROM orders WHERE customer IS NOT NULL AND t < until GROUP BY customer
 * gives.  For integer keys this reads the orders once into custscan.c's
 * table (as customer_profile does) and writes the same bytes: the states
 * are serialised by stats.c and habits.c, the owners of their format.
 */
#include "persona.h"

#include "custscan.h"
#include "parallel.h"
#include "relation.h"
#include "state.h"
#include "tzspan.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(customer_states);
PG_FUNCTION_INFO_V1(customer_states_keyed);

/* Columns of the result: customer_id, stats_state, habits_state. */
#define STATES_NATTS 3

/* Emit the states of the scan's customers, every pass. */
static void
states_emit(CustScan *scan, pg_tz *zone, PersonaRowSink *sink, MemoryContext work)
{
	MemoryContext rowctx = AllocSetContextCreate(work, "persona customer_states row", ALLOCSET_SMALL_SIZES);
	CustEntry  *e;

	do
	{
		cust_scan_rewind(scan);
		while ((e = cust_scan_next(scan)) != NULL)
		{
			Datum		values[STATES_NATTS];
			bool		nulls[STATES_NATTS] = {false, false, false};

			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(rowctx);
			MemoryContextSwitchTo(rowctx);
			values[0] = cust_scan_key(scan, e);
			values[1] = PointerGetDatum(order_stats_state_bytes(zone, &e->cs,
																cust_scan_last_day(scan, e)));
			/* habits_state over no rows (only refunds) is NULL */
			if (e->cs.orders > 0)
			{
				int64		wd[7], hr[24];
				int64		at_midnight = cust_scan_habits(scan, e, wd, hr);

				values[2] = PointerGetDatum(habits_state_bytes(zone, wd, hr, at_midnight));
			}
			else
				nulls[2] = true;
			persona_sink_put(sink, values, nulls);
			MemoryContextSwitchTo(work);
		}
	} while (cust_scan_next_pass(scan));	/* customers beyond work_mem come in later passes */
	MemoryContextDelete(rowctx);
}

/* A worker's share of customer_states (the job is the scan's). */
void
states_parallel_worker(PersonaParallel *par, const void *data, Size len)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "persona customer_states",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);
	PersonaRelation rel;
	CustScanSpec spec;
	CustScan   *scan;
	PersonaRowSink sink = {NULL, persona_parallel_result(par), par, 0};

	Assert(len == sizeof(CustScanJob));
	cust_scan_job_unpack(data, "customer_states", &rel, &spec);
	scan = cust_scan_begin(&rel, &spec, work);
	cust_scan_read(scan, persona_parallel_share(par), persona_parallel_shares(par));
	states_emit(scan, spec.zone, &sink, work);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

/*
 * The states of rel's customers: arguments 0, 1, 2 are orders, until and
 * time_zone, first.. customer_col, time_col, amount_col; keys of key_type
 * (InvalidOid: integers as bigint).  With parallel workers each
 * participant emits its share of the customers.
 */
static Datum
states_run(FunctionCallInfo fcinfo, int first, Oid key_type)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PersonaRelation rel;
	CustScanSpec spec;
	CustScan   *scan;
	MemoryContext work;
	MemoryContext old;
	PersonaParallel *par = NULL;
	PersonaRowSink sink;
	int			nworkers;

	/* (customer_key, between time_zone and the columns, names a type: its value may be NULL) */
	for (int i = 0; i < first + 3; i++)
		if (PG_ARGISNULL(i) && (i < 3 || i >= first))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("arguments of customer_states must not be NULL")));
	/* First: a bad relation must not get as far as the catalogs or SPI. */
	persona_resolve_relation(PG_GETARG_OID(0), &rel);

	memset(&spec, 0, sizeof(spec));
	spec.has_until = true;
	spec.until = PG_GETARG_TIMESTAMPTZ(1);
	spec.zone = persona_zone(PG_GETARG_TEXT_PP(2));
	spec.zone_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	spec.cust_col = text_to_cstring(PG_GETARG_TEXT_PP(first));
	spec.time_col = text_to_cstring(PG_GETARG_TEXT_PP(first + 1));
	spec.amount_col = text_to_cstring(PG_GETARG_TEXT_PP(first + 2));
	spec.key_type = key_type;
	spec.as_of_day = PG_INT32_MAX;	/* until already bounds the rows */
	spec.habits = true;
	spec.last_days = true;
	spec.caller = "customer_states";

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "persona customer_states",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	scan = cust_scan_begin(&rel, &spec, work);
	cust_scan_check_result(scan, rsinfo->setDesc);
	nworkers = cust_scan_parallel_safe(scan) ? persona_parallel_workers(&rel) : 0;
	if (nworkers > 0)
	{
		CustScanJob job;

		cust_scan_job_pack(&rel, &spec, &job);
		par = persona_parallel_begin(PERSONA_JOB_STATES, &job, sizeof(job), nworkers, rsinfo->setDesc, "customer_states");
	}
	cust_scan_read(scan, 0, par ? persona_parallel_shares(par) : 1);
	sink.result = rsinfo->setResult;
	sink.desc = rsinfo->setDesc;
	sink.par = par;
	sink.rows = 0;
	states_emit(scan, spec.zone, &sink, work);
	if (par)
	{
		persona_parallel_drain(par, rsinfo->setResult, true);
		persona_parallel_end(par);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/*
 * customer_states(orders regclass, until timestamptz, time_zone text,
 * customer_col, time_col, amount_col): one row per customer with a
 * non-NULL key among the orders before until.  Timestamp and date columns
 * are local times in time_zone.  Every argument must be non-NULL.
 * Integer keys, as bigint.
 */
Datum
customer_states(PG_FUNCTION_ARGS)
{
	return states_run(fcinfo, 3, InvalidOid);
}

/*
 * customer_states(orders, until, time_zone, customer_key anyelement,
 * customer_col, time_col, amount_col): keys of customer_key's type (its
 * value is not read), which customer_id has.
 */
Datum
customer_states_keyed(PG_FUNCTION_ARGS)
{
	return states_run(fcinfo, 4, cust_scan_key_arg(fcinfo, 3));
}
