/*
 * profile.c — customer_profile(orders, as_of, ...): statistics, RFM scores
 * and segments of every customer in one call.
 *
 * Instead of GROUP BY (a generic hash table, one aggregate call per row and
 * an OVER () window for the cut points) this scans the orders once through
 * SPI into its own hash table of 128-byte customer states, then computes the
 * cut points over all customers, scores and labels them, and returns the
 * rows.  Same rules and results as order_stats + rfm_breaks + rfm_score +
 * rfm_segment; the regression tests compare the two.
 */
#include "persona.h"

#include "custstate.h"
#include "relation.h"
#include "rfm.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/hsearch.h"
#include "utils/typcache.h"

/*
 * Hash table of customers keyed by their bigint id.  An entry is the
 * customer's state (key and status live in spare bytes of its first cache
 * line) followed by one cache line of habit counters, in a 64-byte aligned
 * array: a row touches three adjacent cache lines, prefetched together.
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
	uint16		by_weekday[7];	/* orders per ISO weekday (Monday first) */
	uint16		by_hour[24];	/* orders per local hour */
	uint16		flags;			/* HABITS_* */
} CustEntry;

#define HABITS_SPILLED	1		/* some counter wrapped: see HabitOverflow */
#define HABITS_TIMED	2		/* some order is not at local midnight */

StaticAssertDecl(sizeof(CustEntry) == 192, "a profile entry should be three cache lines");

/* Counts beyond the 16-bit counters of very heavy buyers, by customer. */
typedef struct HabitOverflow
{
	int64		key;
	int64		by_weekday[7];
	int64		by_hour[24];
} HabitOverflow;

/* splitmix64's finaliser: spreads sequential ids over the table. */
static inline uint32
hash_customer(int64 key)
{
	uint64		x = (uint64) key;

	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return (uint32) x;
}

/*
 * The table hashes a stored key when it moves the entry: while growing,
 * once per customer, with no interrupt check of its own.  Rows arrive with
 * their hash already computed, so this costs the scan nothing.
 */
static inline uint32
hash_customer_cfi(int64 key)
{
	static uint32 calls = 0;

	PERSONA_CHECK_INTERRUPTS_EVERY(++calls, 14);
	return hash_customer(key);
}

#define SH_PREFIX custhash
#define SH_ELEMENT_TYPE CustEntry
#define SH_KEY_TYPE int64
#define SH_KEY cs.key
#define SH_HASH_KEY(tb, k) hash_customer_cfi(k)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_USE_NONDEFAULT_ALLOCATOR
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * Zeroed entry arrays aligned to 64 bytes; the real start is kept before
 * them.  (Zeroing GiBs checks for interrupts.)
 */
static inline void *
custhash_allocate(custhash_hash *tb, Size size)
{
	char	   *raw = persona_alloc_zero_huge((MemoryContext) tb->private_data, size + 64 + sizeof(void *));
	char	   *aligned = (char *) TYPEALIGN(64, raw + sizeof(void *));

	((void **) aligned)[-1] = raw;
	return aligned;
}

static inline void
custhash_free(custhash_hash *tb, void *pointer)
{
	pfree(((void **) pointer)[-1]);
}

/*
 * Rows are decoded as they arrive and applied in batches: the table slots
 * of a whole batch are prefetched first, so their cache misses overlap
 * instead of stalling one row at a time.
 */
#define PROFILE_BATCH 16

typedef struct PendingRow
{
	int64		key;
	uint32		hash;
	int32		day;
	int8		isodow;			/* 1 = Monday */
	int8		hour;
	bool		amount_null;
	bool		no_order;		/* NULL time: the customer exists, no order */
	bool		midnight;		/* at exactly local midnight */
	TimestampTz t;
	DecAmount	amount;
} PendingRow;

/* The receiver that folds each scanned order into the hash table. */
typedef struct ProfileReceiver
{
	DestReceiver pub;
	custhash_hash *table;
	MemoryContext ctx;			/* for day arrays and side sums */
	pg_tz	   *zone;			/* calendar days, weekdays and hours are this zone's */
	int32		as_of_day;
	int64		skipped;		/* rows with a NULL customer */
	HTAB	   *overflow;		/* HabitOverflow by customer, created on demand */
	bool		habits;			/* count habits at all */
	int			npending;
	PendingRow	pending[PROFILE_BATCH];
} ProfileReceiver;

/* Move a heavy buyer's 16-bit habit counters to the overflow table. */
static void
habits_spill(ProfileReceiver *pr, CustEntry *e)
{
	HabitOverflow *o;
	bool		found;

	if (pr->overflow == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(HabitOverflow);
		ctl.hcxt = pr->ctx;
		pr->overflow = hash_create("persona habit overflow", 64, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	o = hash_search(pr->overflow, &e->cs.key, HASH_ENTER, &found);
	if (!found)
		memset(o->by_weekday, 0, sizeof(o->by_weekday) + sizeof(o->by_hour));
	for (int i = 0; i < 7; i++)
		o->by_weekday[i] += e->by_weekday[i];
	for (int i = 0; i < 24; i++)
		o->by_hour[i] += e->by_hour[i];
	memset(e->by_weekday, 0, sizeof(e->by_weekday));
	memset(e->by_hour, 0, sizeof(e->by_hour));
	e->flags |= HABITS_SPILLED;
}

/* Apply the pending rows to the table. */
static void
profile_flush(ProfileReceiver *pr)
{
	for (int i = 0; i < pr->npending; i++)
	{
		PendingRow *row = &pr->pending[i];
		bool		found;
		CustEntry  *e = custhash_insert_hash(pr->table, row->key, row->hash, &found);

		if (!found)
		{
			char		status = e->status;

			memset(e, 0, sizeof(CustEntry));
			cust_init(&e->cs);
			e->cs.key = row->key;
			e->status = status;
		}
		/* After as_of the customer exists but has no orders yet. */
		if (row->no_order || row->day > pr->as_of_day)
			continue;
		cust_add(&e->cs, row->t, row->day, row->amount_null, &row->amount, pr->ctx);
		/* Habits count the orders order_stats counts (refunds are not orders). */
		if (pr->habits && (row->amount_null || row->amount.sign >= 0))
		{
			if (unlikely(e->by_weekday[row->isodow - 1] == PG_UINT16_MAX ||
						 e->by_hour[row->hour] == PG_UINT16_MAX))
				habits_spill(pr, e);
			e->by_weekday[row->isodow - 1]++;
			e->by_hour[row->hour]++;
			if (!row->midnight)
				e->flags |= HABITS_TIMED;
		}
	}
	pr->npending = 0;
}

/* Take one row (customer bigint, ordered_at timestamptz, amount numeric). */
static bool
profile_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ProfileReceiver *pr = (ProfileReceiver *) self;
	PendingRow *row = &pr->pending[pr->npending];
	CustEntry  *slotp;

	slot_getallattrs(slot);
	if (slot->tts_isnull[0])
	{
		pr->skipped++;
		return true;
	}
	row->key = DatumGetInt64(slot->tts_values[0]);
	row->hash = hash_customer(row->key);
	row->no_order = slot->tts_isnull[1];
	if (row->no_order)
		goto queue;				/* like order_stats: ignored, customer kept */
	row->t = DatumGetTimestampTz(slot->tts_values[1]);
	{
		PersonaLocal l;

		persona_zone_local(pr->zone, row->t, "ordered_at", &l);
		row->day = l.day;
		row->isodow = l.isodow;
		row->hour = l.hour;
		row->midnight = l.midnight;
	}
	row->amount_null = slot->tts_isnull[2];
	if (!row->amount_null)
	{
		dec_decode(slot->tts_values[2], &row->amount);
		/* The slot's memory goes away with the next row: keep a copy. */
		if (!row->amount.fast)
		{
			MemoryContext old = MemoryContextSwitchTo(pr->ctx);

			row->amount.datum = datumCopy(row->amount.datum, false, -1);
			MemoryContextSwitchTo(old);
		}
	}
queue:
	slotp = &pr->table->data[row->hash & pr->table->sizemask];
	__builtin_prefetch(slotp, 1);
	__builtin_prefetch((char *) slotp + 64, 1);
	if (pr->habits)
		__builtin_prefetch((char *) slotp + 128, 1);
	if (++pr->npending == PROFILE_BATCH)
		profile_flush(pr);
	return true;
}

static void
profile_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
profile_shutdown(DestReceiver *self)
{
	profile_flush((ProfileReceiver *) self);
}

static void
profile_destroy(DestReceiver *self)
{
}

/* The persona.habits value of a customer. */
static Datum
profile_habits(ProfileReceiver *pr, CustEntry *e, const HabitsMaker *m)
{
	int64		wd[7], hr[24];
	HabitOverflow *o = NULL;

	if (e->flags & HABITS_SPILLED)
		o = hash_search(pr->overflow, &e->cs.key, HASH_FIND, NULL);
	for (int i = 0; i < 7; i++)
		wd[i] = e->by_weekday[i] + (o ? o->by_weekday[i] : 0);
	for (int i = 0; i < 24; i++)
		hr[i] = e->by_hour[i] + (o ? o->by_hour[i] : 0);
	return habits_make(m, wd, hr, !(e->flags & HABITS_TIMED));
}

/* Name of a column of rel that must exist; returns its type. */
static Oid
column_type(const PersonaRelation *rel, const char *col, const char *what)
{
	AttrNumber	att = get_attnum(rel->relid, col);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, rel->relname),
				 errhint("Name the %s column with %s => '...'.", what,
						 strcmp(what, "customer") == 0 ? "customer_col" :
						 strcmp(what, "order time") == 0 ? "time_col" : "amount_col")));
	return get_atttype(rel->relid, att);
}

/* The SQL that reads (customer, time, amount) from the relation. */
static char *
scan_query(const PersonaRelation *rel, const char *cust_col, const char *time_col, const char *amount_col)
{
	Oid			cust_type = column_type(rel, cust_col, "customer");
	StringInfoData q;

	column_type(rel, time_col, "order time");
	column_type(rel, amount_col, "amount");
	if (cust_type != INT2OID && cust_type != INT4OID && cust_type != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("customer column \"%s\" must be smallint, integer or bigint", cust_col),
				 errdetail("It is %s.", format_type_be(cust_type)),
				 errhint("For other customer keys use persona.order_stats(...) with GROUP BY.")));
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s::pg_catalog.int8, %s::pg_catalog.timestamptz, %s::pg_catalog.numeric FROM %s",
					 quote_identifier(cust_col), quote_identifier(time_col), quote_identifier(amount_col),
					 rel->qualified);
	return q.data;
}

/*
 * Expected number of customers from the planner statistics of the customer
 * column (n_distinct), so the hash table is sized once instead of doubling
 * its way up; 1024 when there are no statistics.
 */
static uint32
expected_customers(const PersonaRelation *rel, const char *cust_col)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		args[3];
	double		n = 0;

	args[0] = CStringGetTextDatum(rel->nspname);
	args[1] = CStringGetTextDatum(rel->relname);
	args[2] = CStringGetTextDatum(cust_col);
	if (SPI_execute_with_args("SELECT (CASE WHEN s.n_distinct >= 0 THEN s.n_distinct"
							  " ELSE -s.n_distinct * greatest(c.reltuples, 0) END)::pg_catalog.float8"
							  " FROM pg_catalog.pg_stats s JOIN pg_catalog.pg_class c ON c.relname = s.tablename"
							  " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname"
							  " WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3",
							  3, argtypes, args, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			n = DatumGetFloat8(d);
	}
	return (uint32) Min(Max(n, 1024.0), 64.0 * 1024 * 1024);
}

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

/* The profile of rel as of as_of, days in zone, labels in lang (arguments 2..7 as above). */
static Datum
profile_run(FunctionCallInfo fcinfo, const PersonaRelation *rel, TimestampTz as_of,
			pg_tz *zone, PersonaLanguage lang)
{
	char	   *cust_col, *time_col, *amount_col, *scheme_name;
	int			bins;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext work;
	MemoryContext rowctx;
	MemoryContext old;
	ProfileReceiver pr;
	SPIExecuteOptions opts;
	SegmentScheme *scheme;
	const Datum *stages;
	HabitsMaker *habits;
	custhash_iterator it;
	CustEntry  *e;
	double	   *r, *f, *m;
	double	   *cuts;
	int64		n = 0;
	uint64		visited = 0;
	int			ret;
	bool		want_habits;

	cust_col = text_to_cstring(PG_GETARG_TEXT_PP(2));
	time_col = text_to_cstring(PG_GETARG_TEXT_PP(3));
	amount_col = text_to_cstring(PG_GETARG_TEXT_PP(4));
	bins = PG_GETARG_INT32(5);
	scheme_name = text_to_cstring(PG_GETARG_TEXT_PP(6));
	want_habits = PG_GETARG_BOOL(7);
	rfm_check_bins(bins);

	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "persona customer_profile",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	/* Scan: every order into the hash table. */
	memset(&pr, 0, sizeof(pr));
	pr.pub.receiveSlot = profile_receive;
	pr.pub.rStartup = profile_startup;
	pr.pub.rShutdown = profile_shutdown;
	pr.pub.rDestroy = profile_destroy;
	pr.pub.mydest = DestNone;
	pr.ctx = work;
	pr.zone = zone;
	pr.as_of_day = persona_zone_day(zone, as_of, "as_of");
	pr.habits = want_habits;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pr.table = custhash_create(work, expected_customers(rel, cust_col), work);
	scheme = segment_scheme_load(scheme_name, work);
	stages = persona_lifecycle_values(fcinfo);
	habits = habits_maker(work, lookup_rowtype_tupdesc_copy(
		TupleDescAttr(rsinfo->setDesc, OS_NATTS + 4)->atttypid, -1));
	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;
	opts.dest = &pr.pub;
	ret = SPI_execute_extended(scan_query(rel, cust_col, time_col, amount_col), &opts);
	/* SPI reports a SELECT into a custom receiver as SPI_OK_UTILITY. */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "customer_profile scan failed: %s", SPI_result_code_string(ret));
	SPI_finish();
	profile_flush(&pr);

	/* R, F, M of every customer with orders (finishing is idempotent). */
	r = MemoryContextAllocHuge(work, sizeof(double) * Max(pr.table->members, 1));
	f = MemoryContextAllocHuge(work, sizeof(double) * Max(pr.table->members, 1));
	m = MemoryContextAllocHuge(work, sizeof(double) * Max(pr.table->members, 1));
	custhash_start_iterate(pr.table, &it);
	while ((e = custhash_iterate(pr.table, &it)) != NULL)
	{
		CustResult	cr;

		PERSONA_CHECK_INTERRUPTS_EVERY(++visited, 12);
		cust_finish(&e->cs, pr.as_of_day, &cr);
		if (cr.has_orders)
		{
			r[n] = cr.recency_days;
			f[n] = (double) cr.orders;
			m[n] = cr.revenue_float;
			n++;
		}
	}

	/* Cut points over all customers with orders, as rfm_breaks computes them. */
	cuts = palloc(sizeof(double) * 3 * (bins - 1));
	if (n > 0)
	{
		rfm_quantile_cuts(r, n, bins, true, cuts);
		rfm_quantile_cuts(f, n, bins, false, cuts + (bins - 1));
		rfm_quantile_cuts(m, n, bins, false, cuts + 2 * (bins - 1));
	}
	pfree(r);
	pfree(f);
	pfree(m);

	/* Emit one row per customer, in hash table order. */
	rowctx = AllocSetContextCreate(work, "persona customer_profile row", ALLOCSET_SMALL_SIZES);
	custhash_start_iterate(pr.table, &it);
	while ((e = custhash_iterate(pr.table, &it)) != NULL)
	{
		Datum		values[PROFILE_NATTS];
		bool		nulls[PROFILE_NATTS];
		CustResult	cr;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(rowctx);
		MemoryContextSwitchTo(rowctx);
		cust_finish(&e->cs, pr.as_of_day, &cr);
		values[0] = Int64GetDatum(e->cs.key);
		nulls[0] = false;
		persona_stats_values(&e->cs, &cr, values + 1, nulls + 1);
		nulls[OS_NATTS + 1] = nulls[OS_NATTS + 2] = true;
		values[OS_NATTS + 3] = persona_lifecycle_value(&cr, stages);
		nulls[OS_NATTS + 3] = false;
		if (want_habits)
			values[OS_NATTS + 4] = profile_habits(&pr, e, habits);
		nulls[OS_NATTS + 4] = !want_habits;
		if (cr.has_orders)
		{
			Rfm			x = rfm_score_cuts(cr.recency_days, (double) cr.orders, cr.revenue_float,
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
