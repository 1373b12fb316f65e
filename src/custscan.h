/*
 * custscan.h — one scan of an orders relation into a hash table of
 * customers, keyed by integers or by any hashable type (text, uuid, ...).
 *
 * Shared by customer_profile (statistics, RFM, habits of every customer)
 * and customer_states (every customer's order_stats and habits states):
 * both read (customer, time, amount) once through SPI into their own table
 * instead of a GROUP BY, then walk the table.
 */
#ifndef PERSONA_CUSTSCAN_H
#define PERSONA_CUSTSCAN_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "custstate.h"
#include "fmgr.h"
#include "pgtime.h"
#include "relation.h"

/*
 * A customer: its statistics (key and hash-table status live in spare
 * bytes of the state's first cache line), then one cache line of habit
 * counters, in a 64-byte aligned array: a row touches three adjacent cache
 * lines.  Sunday's count is not stored: it is the rest of cs.orders, since
 * habits count exactly the rows that are orders (see cust_scan_habits).
 */
typedef struct CustEntry
{
	union
	{
		CustState	cs;
		struct					/* simplehash wants entry->status: the state's */
		{
			char		before_status[offsetof(CustState, status)];
			char		status;
		};
	};
	uint16		by_weekday[6];	/* orders per ISO weekday, Monday to Saturday */
	uint16		by_hour[24];	/* orders per local hour */
	uint16		at_midnight;	/* orders at exactly local midnight */
	uint16		flags;			/* CUSTSCAN_* (custscan.c) */
} CustEntry;

/* What to read and how. */
typedef struct CustScanSpec
{
	const char *cust_col;
	/*
	 * The type customers are keyed and returned by: the column's type (or
	 * bigint for an integer column); InvalidOid: an integer column, as
	 * bigint (the functions without customer_key).
	 */
	Oid			key_type;
	const char *time_col;
	const char *amount_col;
	pg_tz	   *zone;			/* calendar days, weekdays and hours are this zone's */
	/*
	 * Non-NULL: timestamp and date columns are local times in this zone
	 * (AT TIME ZONE zone_name, as a profile reads them); NULL: the time
	 * column is cast to timestamptz, in the session TimeZone.
	 */
	const char *zone_name;
	/*
	 * has_until: only rows with a customer and a time before until are read
	 * (rows with a NULL time then make no customer); otherwise every row,
	 * and a customer with only NULL times exists without orders.
	 */
	bool		has_until;
	TimestampTz until;
	int32		as_of_day;		/* rows on later days are not orders yet (PG_INT32_MAX: none are) */
	bool		habits;			/* count habits */
	bool		last_days;		/* keep each customer's last day of a refund (cust_scan_last_day) */
	const char *caller;			/* function name for errors */
} CustScanSpec;

typedef struct CustScan CustScan;

/* A scan's relation and spec as plain bytes, for a parallel worker. */
typedef struct CustScanJob
{
	Oid			relid;
	Oid			key_type;
	char		cust_col[NAMEDATALEN];
	char		time_col[NAMEDATALEN];
	char		amount_col[NAMEDATALEN];
	char		zone[TZ_STRLEN_MAX + 1];	/* pg_get_timezone_name of spec->zone */
	char		zone_name[TZ_STRLEN_MAX + 1];
	bool		has_zone_name;
	bool		has_until;
	TimestampTz until;
	int32		as_of_day;
	bool		habits;
	bool		last_days;
} CustScanJob;

/*
 * The first pass over rel: walk its customers (rewind, next), then call
 * cust_scan_next_pass until it returns false.  A pass holds at most
 * work_mem x hash_mem_multiplier; customers beyond it wait in temporary
 * files for a later pass.  Each customer comes in exactly one pass.
 */
extern CustScan *cust_scan(const PersonaRelation *rel, const CustScanSpec *spec, MemoryContext ctx);
extern CustScan *cust_scan_begin(const PersonaRelation *rel, const CustScanSpec *spec, MemoryContext ctx);
extern void cust_scan_read(CustScan *s, int share, int shares);
extern void cust_scan_job_pack(const PersonaRelation *rel, const CustScanSpec *spec, CustScanJob *job);
extern void cust_scan_job_unpack(const CustScanJob *job, const char *caller, PersonaRelation *rel,
								 CustScanSpec *spec);
extern bool cust_scan_next_pass(CustScan *s);
extern bool cust_scan_spilled(const CustScan *s);
extern void cust_scan_spill_stats(const CustScan *s, int *passes, int64 *rows);
extern uint64 cust_scan_customers(const CustScan *s);
extern Oid	cust_scan_key_arg(FunctionCallInfo fcinfo, int argno);
extern void cust_scan_check_result(const CustScan *s, TupleDesc desc);
extern Oid	cust_scan_key_type(const CustScan *s);
extern bool cust_scan_parallel_safe(const CustScan *s);
extern Datum cust_scan_key(const CustScan *s, const CustEntry *e);
extern void cust_scan_rewind(CustScan *s);
extern CustEntry *cust_scan_next(CustScan *s);
extern int64 cust_scan_habits(const CustScan *s, const CustEntry *e, int64 *wd, int64 *hr);
extern int32 cust_scan_last_day(const CustScan *s, const CustEntry *e);

#endif							/* PERSONA_CUSTSCAN_H */
