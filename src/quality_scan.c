/*
 * quality_scan.c — data_quality's counts in one pass over the orders.
 *
 * data_quality() used to be one SQL query: the rows materialised in a CTE,
 * four percentile_disc sorts of numerics (median and MAD, low and high
 * middle), a DISTINCT over whole rows and a GROUP BY customer.  Here one
 * plain SELECT of the four columns feeds a DestReceiver that counts as the
 * rows arrive, so nothing is sorted and no numeric arithmetic is done per
 * row:
 *
 *  - amounts (finite, >= 0) are kept as int64 1/10000 units (decsum.h); the
 *    medians come from a selection (quickselect, 3-way partition, random
 *    pivot), the MAD from a second selection over the deviations, computed
 *    in place in half units (|2a - (lo + hi)|) so that the median of an even
 *    count stays an integer.  Mean and standard deviation are computed from
 *    the exact int128 sums with the same numeric operations avg() and
 *    stddev_samp() apply (numeric_avg, numeric_stddev_internal), so the
 *    3-sd cut is the same numeric; the MAD cut 3 * 1.4826 * (lo + hi) / 2 is
 *    exact in numeric (4.4478 is even), so integers give the same answer.
 *  - customers (int2/int4/int8) go into a hash table: per customer with
 *    an order, whether it has exactly one and whether all are at midnight.
 *  - duplicates by order_col (int2/int4/int8): a hash set of the order ids,
 *    exact.  Duplicates of whole rows: a hash set of 64-bit fingerprints of
 *    (customer, time, amount); distinct fingerprints prove there is no
 *    duplicate.  A repeated one (a duplicate or a collision) notes the
 *    row's customer, and one exact GROUP BY over the rows of the noted
 *    customers (all rows beyond DUP_CUSTOMERS_MAX) counts the duplicates.
 *  - the local day (future_time) and midnight (date_only_*) need the time
 *    zone only for rows within ZONE_BOUND of the as_of day's end, and for
 *    whole-second times (a UTC offset is whole seconds, so nothing else can
 *    be midnight); those rows are converted by the same functions the SQL
 *    casts call (timestamptz_zone / timestamptz_timestamp, timestamp_date,
 *    timestamp_time), so the answers are theirs.
 *
 * Memory (charged against work_mem): 8 bytes per amount kept (an array that
 * doubles, so up to 16), the customer table (16-byte entries, at most 2x
 * the customers with orders) and the duplicate set (8-byte slots at most
 * 3/4 full, doubling: 11 to 21 bytes per distinct order id or row; the
 * same for the noted customers).  On make bench's data at 200k
 * customers (2.1M orders, no duplicates) that is 75 MB: 34 amounts, 34
 * fingerprints, 8 customers.  When the budget is exceeded (checked every
 * 1024 rows and at the end), an amount does not fit the integer path, or a
 * column type is not one handled here, quality_scan() returns false and
 * data_quality() runs its general SQL query instead, with the same results.
 */
#include "persona.h"

#include <math.h>

#include "decsum.h"
#include "quality_scan.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

/*
 * The order time as timestamptz in the SQL of both paths.  A timestamp or
 * date column holds local times: with a zone they are read in it (as the
 * profile builder reads them), not in the session's TimeZone, which would
 * move every midnight and day of a reader in another zone.
 */
char *
quality_time_sql(const QualityInput *in)
{
	Oid			base = getBaseType(in->time_type);

	if (in->has_zone && (base == TIMESTAMPOID || base == DATEOID))
		return psprintf("(%s::pg_catalog.timestamp AT TIME ZONE %s)", quote_identifier(in->time),
						quote_literal_cstr(TextDatumGetCString(in->zone)));
	return psprintf("%s::pg_catalog.timestamptz", quote_identifier(in->time));
}

#ifdef HAVE_INT128

/*
 * Largest UTC offset a time zone can have: tzcode's POSIX rules allow up to
 * 167 hours; full zone names and abbreviations stay within a day.
 */
#define ZONE_BOUND		((int64) 8 * USECS_PER_DAY)

/* 64-bit mixer (splitmix64 finaliser): the hash of integer keys. */
static inline uint64
mix64(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/*
 * A customer with at least one order: 16 bytes, as only "exactly one
 * order" and "every order at midnight" are asked of it.
 */
typedef struct CustEntry
{
	int64		key;
	uint8		orders;			/* 1, or 2 for two or more */
	bool		all_midnight;	/* every order at local midnight */
	char		status;
} CustEntry;

#define SH_PREFIX qcust
#define SH_ELEMENT_TYPE CustEntry
#define SH_KEY_TYPE int64
#define SH_KEY key
#define SH_HASH_KEY(tb, key) ((uint32) mix64((uint64) (key)))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * A set of order ids or of row fingerprints: open addressing with linear
 * probing over bare uint64 slots (0 marks a free slot; the key 0 is kept
 * aside), at most 3/4 full, so 11 to 21 bytes per distinct key.
 */
typedef struct U64Set
{
	uint64	   *slots;
	uint64		mask;			/* slots - 1, a power of two minus one */
	uint64		members;		/* nonzero keys held */
	bool		has_zero;
	MemoryContext cxt;
} U64Set;

static void
u64set_init(U64Set *s, MemoryContext cxt, uint64 nslots)
{
	s->cxt = cxt;
	s->mask = nslots - 1;
	s->members = 0;
	s->has_zero = false;
	s->slots = MemoryContextAllocExtended(cxt, nslots * sizeof(uint64),
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
u64set_put(U64Set *s, uint64 key)
{
	uint64		i = mix64(key) & s->mask;

	while (s->slots[i] != 0)
		i = (i + 1) & s->mask;
	s->slots[i] = key;
}

/* Start loading the slot where key would go. */
static inline void
u64set_prefetch(const U64Set *s, uint64 key)
{
	__builtin_prefetch(&s->slots[mix64(key) & s->mask]);
}

/* Add key; true if it was there already. */
static bool
u64set_add(U64Set *s, uint64 key)
{
	uint64		i;

	if (key == 0)
	{
		bool		had = s->has_zero;

		s->has_zero = true;
		return had;
	}
	if ((s->members + 1) * 4 > (s->mask + 1) * 3)
	{
		uint64	   *old = s->slots;
		uint64		oldn = s->mask + 1;
		bool		had_zero = s->has_zero;

		u64set_init(s, s->cxt, oldn * 2);
		s->has_zero = had_zero;
		for (uint64 j = 0; j < oldn; j++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(j, 16);
			if (old[j] != 0)
			{
				u64set_put(s, old[j]);
				s->members++;
			}
		}
		pfree(old);
	}
	for (i = mix64(key) & s->mask; s->slots[i] != 0; i = (i + 1) & s->mask)
		if (s->slots[i] == key)
			return true;
	s->slots[i] = key;
	s->members++;
	return false;
}

static Size
u64set_bytes(const U64Set *s)
{
	return s->slots ? (s->mask + 1) * sizeof(uint64) : 0;
}

static void
u64set_free(U64Set *s)
{
	if (s->slots)
		pfree(s->slots);
	s->slots = NULL;
	s->mask = 0;
	s->members = 0;
}

#define PENDING_ROWS	16
#define DUP_CUSTOMERS_MAX	100000	/* listed in the exact duplicate query */
#define EXACT_CACHE		4096

/* A time converted the exact way, and its answers. */
typedef struct ExactTime
{
	TimestampTz t;
	bool		valid;
	bool		future;
	bool		midnight;
} ExactTime;

typedef enum FutureMode
{
	FUTURE_NEVER,				/* as_of is +infinity */
	FUTURE_ALWAYS,				/* as_of is -infinity */
	FUTURE_CUTOFF				/* future: local time >= cutoff */
} FutureMode;

typedef struct QualityReceiver
{
	DestReceiver pub;
	const QualityInput *in;
	MemoryContext rowcxt;		/* per-row garbage, reset every 1024 rows */
	Size		budget;			/* work_mem in bytes */

	FutureMode	future_mode;
	DateADT		as_of_day;
	Timestamp	cutoff;			/* local start of the day after as_of */

	uint64		rows;
	int64		counts[QI_NCHECKS];
	int64		ord_dups;		/* order ids seen before */
	bool		maybe_dup;		/* a row fingerprint seen before */
	U64Set		dup_custs;		/* the customers of those rows */
	bool		dup_null_cust;	/* one of them had no customer */
	bool		dup_many;		/* too many customers to list: count all */

	int64	   *amounts;		/* finite amounts >= 0, 1/10000 units */
	int64		namounts;
	int64		cap;
	int			max_dscale;
	int128		sumx;			/* 1/10000 units */
	int128		sumx2;			/* 1/10^8 units */

	qcust_hash *cust;
	U64Set		dups;
	bool		give_up;

	/*
	 * Rows wait PENDING_ROWS rows between the prefetch of their hash slots
	 * and the update, so that the cache misses of the tables (megabytes,
	 * hit in no order) overlap instead of stalling each row.
	 */
	struct
	{
		int64		cust;
		bool		cust_null;
		uint64		dupkey;
		uint32		cust_hash;
		bool		counted;
		bool		midnight;
		bool		has_dupkey;
	}			pending[PENDING_ROWS];
	int			npending;
	int			next;			/* oldest pending row */

	ExactTime	exact[EXACT_CACHE];	/* direct-mapped by t */
} QualityReceiver;

/* Whether quality_scan() handles these column types. */
bool
quality_scan_supported(const QualityInput *in)
{
	Oid			c = in->cust_type;

	if (c != INT2OID && c != INT4OID && c != INT8OID)
		return false;
	if (in->order_col)
	{
		c = in->order_type;
		if (c != INT2OID && c != INT4OID && c != INT8OID)
			return false;
	}
	return true;
}

static int64
int_datum(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/* The local timestamp of t as the SQL cast or AT TIME ZONE gives it. */
static Timestamp
local_timestamp(const QualityInput *in, TimestampTz t)
{
	if (in->has_zone)
		return DatumGetTimestamp(DirectFunctionCall2(timestamptz_zone, in->zone,
													 TimestampTzGetDatum(t)));
	return DatumGetTimestamp(DirectFunctionCall1(timestamptz_timestamp, TimestampTzGetDatum(t)));
}

/* future (local day after as_of's) and midnight of a finite time t. */
static void
time_flags(QualityReceiver *r, TimestampTz t, bool *future, bool *midnight)
{
	bool		near_limit = t < MIN_TIMESTAMP + ZONE_BOUND || t >= END_TIMESTAMP - ZONE_BOUND;
	bool		near_cutoff = r->future_mode == FUTURE_CUTOFF &&
		!near_limit && t + ZONE_BOUND >= r->cutoff && t - ZONE_BOUND < r->cutoff;

	if (near_limit || near_cutoff || t % USECS_PER_SEC == 0)
	{
		/* a pure function of t: remember recent answers (date-only data repeats) */
		ExactTime  *c = &r->exact[mix64((uint64) t) % EXACT_CACHE];

		if (!c->valid || c->t != t)
		{
			/* the exact way, as the SQL casts do it (errors included) */
			Timestamp	local = local_timestamp(r->in, t);
			DateADT		day = DatumGetDateADT(DirectFunctionCall1(timestamp_date, TimestampGetDatum(local)));

			if (!TIMESTAMP_NOT_FINITE(local) && (local - t > ZONE_BOUND || t - local > ZONE_BOUND))
				elog(ERROR, "UTC offset of more than 8 days at %s",
					 timestamptz_to_str(t));
			c->t = t;
			c->valid = true;
			c->future = day > r->as_of_day;
			c->midnight = DatumGetTimeADT(DirectFunctionCall1(timestamp_time, TimestampGetDatum(local))) == 0;
		}
		*future = c->future;
		*midnight = c->midnight;
		return;
	}
	*midnight = false;
	switch (r->future_mode)
	{
		case FUTURE_NEVER:
			*future = false;
			break;
		case FUTURE_ALWAYS:
			*future = true;
			break;
		default:
			/* more than ZONE_BOUND from the cutoff: the zone cannot matter */
			*future = t >= r->cutoff;
	}
}

/* Memory held by the arrays and tables. */
static Size
held_bytes(const QualityReceiver *r)
{
	return (Size) r->cap * sizeof(int64) + u64set_bytes(&r->dup_custs) +
		(Size) r->cust->size * sizeof(CustEntry) +
		u64set_bytes(&r->dups);
}

/* Keep a finite amount >= 0; false if it does not fit the integer path. */
static bool
keep_amount(QualityReceiver *r, const DecAmount *a)
{
	int128		sq;

	if (!a->fast)
		return false;
	if (r->namounts == r->cap)
	{
		int64		newcap = r->cap * 2;

		if ((Size) newcap * sizeof(int64) > MaxAllocHugeSize)
			return false;
		r->amounts = repalloc_huge(r->amounts, newcap * sizeof(int64));
		r->cap = newcap;
	}
	r->amounts[r->namounts++] = a->units;
	r->max_dscale = Max(r->max_dscale, a->dscale);
	r->sumx += a->units;
	sq = (int128) a->units * a->units;
	/* units < 1e16, so only the sum of squares can overflow */
	if (__builtin_add_overflow(r->sumx2, sq, &r->sumx2))
		return false;
	return true;
}

/* 64-bit fingerprint of a whole row: equal rows, equal fingerprints. */
static uint64
row_fingerprint(bool cnull, int64 cust, bool tnull, TimestampTz t,
				bool anull, bool afinite, const DecAmount *a, Datum araw)
{
	uint64		h = cnull ? UINT64CONST(0x5bd1e995) : mix64((uint64) cust);
	uint64		ha;

	h = hash_combine64(h, tnull ? UINT64CONST(0x27d4eb2f) : mix64((uint64) t));
	if (anull)
		ha = UINT64CONST(0x165667b1);
	else if (afinite && a->fast)
		ha = mix64((uint64) a->units);	/* a value has one digit string */
	else
		ha = mix64((uint64) DatumGetUInt32(DirectFunctionCall1(hash_numeric, araw)) ^
				   UINT64CONST(0x9e3779b97f4a7c15));
	return hash_combine64(h, ha);
}

/* Update the tables for the oldest pending row. */
static void
apply_oldest(QualityReceiver *r)
{
	int			i = r->next;

	if (r->pending[i].counted)
	{
		bool		found;
		CustEntry  *e = qcust_insert_hash(r->cust, r->pending[i].cust, r->pending[i].cust_hash, &found);

		if (!found)
		{
			e->orders = 0;
			e->all_midnight = true;
		}
		if (e->orders < 2)
			e->orders++;
		if (!r->pending[i].midnight)
			e->all_midnight = false;
	}
	if (r->pending[i].has_dupkey && u64set_add(&r->dups, r->pending[i].dupkey))
	{
		if (r->in->order_col)
			r->ord_dups++;
		else
		{
			/*
			 * A duplicate or a collision: the exact query will count the
			 * duplicates among the rows of this row's customer (a duplicate
			 * has the customer of the row it repeats).
			 */
			r->maybe_dup = true;
			if (r->pending[i].cust_null)
				r->dup_null_cust = true;
			else if (!r->dup_many)
			{
				(void) u64set_add(&r->dup_custs, (uint64) r->pending[i].cust);
				if (r->dup_custs.members > DUP_CUSTOMERS_MAX)
				{
					r->dup_many = true;
					u64set_free(&r->dup_custs);
				}
			}
		}
	}
	r->next = (i + 1) % PENDING_ROWS;
	r->npending--;
}

/* Queue a row's table updates, prefetching the slots they will touch. */
static void
pend_row(QualityReceiver *r, bool counted, bool cust_null, int64 cust, bool midnight,
		 bool has_dupkey, uint64 dupkey)
{
	int			i;

	if (r->npending == PENDING_ROWS)
		apply_oldest(r);
	i = (r->next + r->npending) % PENDING_ROWS;
	r->pending[i].counted = counted;
	r->pending[i].cust = cust;
	r->pending[i].cust_null = cust_null;
	r->pending[i].midnight = midnight;
	r->pending[i].has_dupkey = has_dupkey;
	r->pending[i].dupkey = dupkey;
	if (counted)
	{
		r->pending[i].cust_hash = (uint32) mix64((uint64) cust);
		__builtin_prefetch(&r->cust->data[r->pending[i].cust_hash & r->cust->sizemask]);
	}
	if (has_dupkey)
		u64set_prefetch(&r->dups, dupkey);
	r->npending++;
}

static bool
quality_receive(TupleTableSlot *slot, DestReceiver *self)
{
	QualityReceiver *r = (QualityReceiver *) self;
	const QualityInput *in = r->in;
	MemoryContext old;
	bool		cnull, tnull, anull, onull = true;
	Datum		cd, td, ad, od = (Datum) 0;
	int64		cust = 0;
	TimestampTz t = 0;
	bool		t_bad = false, future = false, midnight = false;
	bool		afinite = false, a_ok = false;
	DecAmount	a = {0};
	bool		counted;
	uint64		dupkey = 0;
	bool		has_dupkey = false;

	r->rows++;
	PERSONA_CHECK_INTERRUPTS_EVERY(r->rows, 14);
	if ((r->rows & 1023) == 0)
	{
		MemoryContextReset(r->rowcxt);
		if (held_bytes(r) > r->budget)
		{
			r->give_up = true;
			return false;
		}
	}
	old = MemoryContextSwitchTo(r->rowcxt);

	slot_getallattrs(slot);
	cd = slot->tts_values[0];
	cnull = slot->tts_isnull[0];
	td = slot->tts_values[1];
	tnull = slot->tts_isnull[1];
	ad = slot->tts_values[2];
	anull = slot->tts_isnull[2];
	if (in->order_col)
	{
		od = slot->tts_values[3];
		onull = slot->tts_isnull[3];
	}

	r->counts[QI_ORDERS]++;
	if (cnull)
		r->counts[QI_MISSING_CUSTOMER]++;
	else
		cust = int_datum(cd, in->cust_type);

	if (tnull)
		r->counts[QI_MISSING_TIME]++;
	else
	{
		t = DatumGetTimestampTz(td);
		t_bad = TIMESTAMP_NOT_FINITE(t);
		if (t_bad)
			r->counts[QI_INFINITE_TIME]++;
		else
		{
			time_flags(r, t, &future, &midnight);
			if (future)
				r->counts[QI_FUTURE_TIME]++;
		}
	}

	if (anull)
		r->counts[QI_MISSING_AMOUNT]++;
	else if (!(afinite = dec_decode_finite(ad, &a)))
		r->counts[QI_NONFINITE_AMOUNT]++;
	else if (a.sign < 0)
		r->counts[QI_NEGATIVE_AMOUNT]++;
	else
	{
		if (a.sign == 0)
			r->counts[QI_ZERO_AMOUNT]++;
		a_ok = true;
	}

	/* an order: customer, finite time not after as_of, amount NULL or ok */
	counted = !cnull && !tnull && !t_bad && !future && (anull || a_ok);
	if (counted && midnight)
		r->counts[QI_DATE_ONLY_ORDERS]++;

	if (a_ok && !keep_amount(r, &a))
	{
		r->give_up = true;
		MemoryContextSwitchTo(old);
		return false;
	}
	if (in->order_col)
	{
		if (!onull)
		{
			dupkey = (uint64) int_datum(od, in->order_type);
			has_dupkey = true;
		}
	}
	else
	{
		dupkey = row_fingerprint(cnull, cust, tnull, t, anull, afinite, &a, ad);
		has_dupkey = true;
	}
	if (counted || has_dupkey)
		pend_row(r, counted, cnull, cust, midnight, has_dupkey, dupkey);
	MemoryContextSwitchTo(old);
	return true;
}

static void
quality_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
quality_shutdown(DestReceiver *self)
{
}

static void
quality_destroy(DestReceiver *self)
{
}

/*
 * Rearrange v[0..n-1] so that v[k] is the k-th smallest (0-based), no
 * larger value before it and no smaller one after it; return v[k].
 */
static int64
select_kth(int64 *v, int64 n, int64 k)
{
	int64		lo = 0, hi = n - 1;
	uint64		steps = 0;

	while (lo < hi)
	{
		int64		p = v[(int64) pg_prng_uint64_range(&pg_global_prng_state, (uint64) lo, (uint64) hi)];
		int64		lt = lo, i = lo, gt = hi;

		/* three-way partition: many amounts are equal */
		while (i <= gt)
		{
			int64		x = v[i];

			PERSONA_CHECK_INTERRUPTS_EVERY(++steps, 16);
			if (x < p)
			{
				v[i++] = v[lt];
				v[lt++] = x;
			}
			else if (x > p)
			{
				v[i] = v[gt];
				v[gt--] = x;
			}
			else
				i++;
		}
		if (k < lt)
			hi = lt - 1;
		else if (k > gt)
			lo = gt + 1;
		else
			return p;
	}
	return v[k];
}

/*
 * The values percentile_disc(0.5) gives over v in ascending and in
 * descending order (the low and the high middle); reorders v.
 */
static void
middle_pair(int64 *v, int64 n, int64 *lo, int64 *hi)
{
	int64		rank = (int64) ceil(0.5 * (double) n);	/* as percentile_disc */
	int64		klo = rank - 1, khi = n - rank;

	*lo = select_kth(v, n, klo);
	*hi = *lo;
	if (khi > klo)
	{
		/* khi = klo + 1: the smallest value after v[klo] */
		*hi = v[klo + 1];
		for (int64 i = klo + 2; i < n; i++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
			if (v[i] < *hi)
				*hi = v[i];
		}
	}
}

/* An int128 as a numeric with scale decimals (value / 10^scale). */
static Numeric
int128_numeric(int128 v, int scale)
{
	char		buf[64];
	char	   *p = buf + sizeof(buf) - 1;
	bool		neg = v < 0;
	uint128		u = neg ? -(uint128) v : (uint128) v;
	int			digits = 0;

	*p = '\0';
	do
	{
		if (digits == scale && scale > 0)
			*--p = '.';
		*--p = '0' + (int) (u % 10);
		u /= 10;
		digits++;
	} while (u > 0 || digits <= scale);
	if (neg)
		*--p = '-';
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(p),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* x with display scale dscale: exact, x has no more decimals than that. */
static Numeric
with_dscale(Numeric x, int dscale)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_round, NumericGetDatum(x),
											   Int32GetDatum(dscale)));
}

static int
num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

static int
num_dscale(Numeric x)
{
	return DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(x)));
}

/*
 * sqrt(v) rounded half away from zero to rscale decimals, as numeric's
 * sqrt_var() gives it inside stddev_samp(): numeric_sqrt() chooses its own
 * scale, so take its value and correct it by exact squares.
 */
static Numeric
sqrt_rounded(Numeric v, int rscale)
{
	Numeric		c = with_dscale(DatumGetNumeric(DirectFunctionCall1(numeric_sqrt, NumericGetDatum(v))),
								rscale);
	Numeric		ulp = int64_div_fast_to_numeric(1, rscale);
	Numeric		half = int64_div_fast_to_numeric(5, rscale + 1);

	for (;;)
	{
		Numeric		below = numeric_sub_opt_error(c, half, NULL);
		Numeric		above = numeric_add_opt_error(c, half, NULL);

		CHECK_FOR_INTERRUPTS();
		if (num_cmp(v, numeric_mul_opt_error(below, below, NULL)) < 0)
			c = numeric_sub_opt_error(c, ulp, NULL);
		else if (num_cmp(v, numeric_mul_opt_error(above, above, NULL)) >= 0)
			c = numeric_add_opt_error(c, ulp, NULL);
		else
			return c;
	}
}

/*
 * mean and sample standard deviation of the kept amounts, the numerics
 * avg() and stddev_samp() return (sd NULL for fewer than two amounts).
 */
static void
mean_sd(const QualityReceiver *r, Numeric *mean, Numeric *sd)
{
	int			s = r->max_dscale;
	Numeric		n = int64_to_numeric(r->namounts);
	Numeric		sumx = with_dscale(int128_numeric(r->sumx, DEC_UNIT_DIGITS), s);
	Numeric		sumx2 = with_dscale(int128_numeric(r->sumx2, 2 * DEC_UNIT_DIGITS), 2 * s);
	Numeric		num;

	*mean = numeric_div_opt_error(sumx, n, NULL);
	*sd = NULL;
	if (r->namounts < 2)
		return;
	/* numeric_stddev_internal: (N * sumX2 - sumX * sumX) / (N * (N - 1)) */
	num = numeric_sub_opt_error(numeric_mul_opt_error(n, sumx2, NULL),
								numeric_mul_opt_error(sumx, sumx, NULL), NULL);
	if (num_cmp(num, int64_to_numeric(0)) <= 0)
		*sd = int64_to_numeric(0);
	else
	{
		Numeric		var = numeric_div_opt_error(num,
												numeric_mul_opt_error(n, int64_to_numeric(r->namounts - 1), NULL),
												NULL);

		*sd = sqrt_rounded(var, num_dscale(var));
	}
}

/* floor (or ceil) of x * 10^4, clamped to int64. */
static int64
units_bound(Numeric x, bool ceiling)
{
	Numeric		scaled = numeric_mul_opt_error(x, int64_to_numeric(10000), NULL);
	Numeric		b = DatumGetNumeric(DirectFunctionCall1(ceiling ? numeric_ceil : numeric_floor,
														NumericGetDatum(scaled)));

	if (num_cmp(b, int64_to_numeric(PG_INT64_MAX)) >= 0)
		return PG_INT64_MAX;
	if (num_cmp(b, int64_to_numeric(PG_INT64_MIN)) <= 0)
		return PG_INT64_MIN;
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(b)));
}

/* The two outlier checks from the kept amounts (reorders and overwrites them). */
static void
amount_outliers(QualityReceiver *r, QualityCounts *out)
{
	int64	   *v = r->amounts;
	int64		n = r->namounts;
	Numeric		mean, sd;
	int64		lo, hi, m2, dlo, dhi, off = 0, beyond = 0;
	int128		cut;

	out->counts[QI_AMOUNT_BEYOND_3SD] = 0;
	out->counts[QI_AMOUNT_BEYOND_MAD] = 0;
	if (n == 0)
		return;

	mean_sd(r, &mean, &sd);
	elog(DEBUG2, "data_quality: mean %s sd %s",
		 DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(mean))),
		 sd ? DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(sd))) : "NULL");
	if (sd)
	{
		/* |a - mean| > 3 sd: a > mean + 3 sd or a < mean - 3 sd, exactly */
		Numeric		three_sd = numeric_mul_opt_error(int64_to_numeric(3), sd, NULL);
		int64		above = units_bound(numeric_add_opt_error(mean, three_sd, NULL), false);
		int64		below = units_bound(numeric_sub_opt_error(mean, three_sd, NULL), true);

		for (int64 i = 0; i < n; i++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
			if (v[i] > above || v[i] < below)
				beyond++;
		}
		out->counts[QI_AMOUNT_BEYOND_3SD] = beyond;
	}

	/* median (lo + hi) / 2; deviations in half units: |2a - (lo + hi)| */
	middle_pair(v, n, &lo, &hi);
	m2 = lo + hi;
	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		v[i] = v[i] * 2 >= m2 ? v[i] * 2 - m2 : m2 - v[i] * 2;
		if (v[i] > 0)
			off++;
	}
	middle_pair(v, n, &dlo, &dhi);
	if (dlo + dhi == 0 && off > 0)
	{
		/* MAD 0 with amounts off the median: the rule is undefined */
		out->isnull[QI_AMOUNT_BEYOND_MAD] = true;
		return;
	}
	/* d / 2 > 3 * 1.4826 * (dlo / 2 + dhi / 2) / 2  <=>  10000 d > 22239 (dlo + dhi) */
	cut = (int128) 22239 * ((int128) dlo + dhi);
	beyond = 0;
	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		if ((int128) v[i] * 10000 > cut)
			beyond++;
	}
	out->counts[QI_AMOUNT_BEYOND_MAD] = beyond;
}

/*
 * Equal whole rows, counted exactly by one GROUP BY over the rows of the
 * customers whose fingerprints repeated (all rows if there are too many).
 */
static int64
exact_row_duplicates(const QualityInput *in, QualityReceiver *r)
{
	StringInfoData q;
	bool		isnull;
	int			ret;
	Oid			argtype = INT8ARRAYOID;
	Datum		arg = (Datum) 0;

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT COALESCE(pg_catalog.sum(n - 1), 0)::pg_catalog.int8 FROM ("
					 " SELECT pg_catalog.count(*) AS n FROM ("
					 "  SELECT %s AS cust, %s AS t, %s::pg_catalog.numeric AS a FROM %s) b",
					 quote_identifier(in->cust), quality_time_sql(in),
					 quote_identifier(in->amount), in->rel->qualified);
	if (!r->dup_many)
	{
		U64Set	   *set = &r->dup_custs;
		Datum	   *custs = palloc((set->members + 1) * sizeof(Datum));
		int			n = 0;

		for (uint64 j = 0; set->slots && j <= set->mask; j++)
			if (set->slots[j] != 0)
				custs[n++] = Int64GetDatum((int64) set->slots[j]);
		if (set->has_zero)
			custs[n++] = Int64GetDatum(0);
		arg = PointerGetDatum(construct_array(custs, n, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
		appendStringInfo(&q, " WHERE cust = ANY ($1)%s",
						 r->dup_null_cust ? " OR cust IS NULL" : "");
	}
	appendStringInfoString(&q, " GROUP BY cust, t, a) x");
	ret = SPI_execute_with_args(q.data, r->dup_many ? 0 : 1, &argtype, &arg, NULL, true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "data_quality duplicate query failed: %s", SPI_result_code_string(ret));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* as_of's day in the zone, and how the future check is decided. */
static void
as_of_day(const QualityInput *in, QualityReceiver *r)
{
	TimestampTz as_of = in->has_as_of ? DatumGetTimestampTz(in->as_of)
		: GetCurrentTransactionStartTimestamp();	/* now() */
	Timestamp	local = local_timestamp(in, as_of);

	r->as_of_day = DatumGetDateADT(DirectFunctionCall1(timestamp_date, TimestampGetDatum(local)));
	if (DATE_IS_NOEND(r->as_of_day))
		r->future_mode = FUTURE_NEVER;
	else if (DATE_IS_NOBEGIN(r->as_of_day))
		r->future_mode = FUTURE_ALWAYS;
	else
	{
		r->future_mode = FUTURE_CUTOFF;
		r->cutoff = ((int64) r->as_of_day + 1) * USECS_PER_DAY;
	}
}

/*
 * Count everything data_quality() shows in one pass over the relation.
 * false: not done (over work_mem, or an amount beyond the integer path);
 * the caller then runs the general query.
 */
bool
quality_scan(const QualityInput *in, QualityCounts *out)
{
	QualityReceiver r;
	StringInfoData q;
	SPIExecuteOptions opts;
	MemoryContext cxt;
	bool		done;
	int			ret;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	r.pub.receiveSlot = quality_receive;
	r.pub.rStartup = quality_startup;
	r.pub.rShutdown = quality_shutdown;
	r.pub.rDestroy = quality_destroy;
	r.pub.mydest = DestNone;
	r.in = in;
	r.budget = (Size) work_mem * 1024;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "persona data_quality", ALLOCSET_DEFAULT_SIZES);
	r.rowcxt = AllocSetContextCreate(cxt, "persona data_quality row", ALLOCSET_SMALL_SIZES);
	r.cap = 1024;
	r.amounts = MemoryContextAllocHuge(cxt, r.cap * sizeof(int64));
	r.cust = qcust_create(cxt, 1024, NULL);
	u64set_init(&r.dups, cxt, 1024);
	u64set_init(&r.dup_custs, cxt, 64);
	as_of_day(in, &r);

	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s, %s, %s::pg_catalog.numeric",
					 quote_identifier(in->cust), quality_time_sql(in), quote_identifier(in->amount));
	if (in->order_col)
		appendStringInfo(&q, ", %s", quote_identifier(in->order_col));
	appendStringInfo(&q, " FROM %s", in->rel->qualified);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;
	opts.dest = &r.pub;
	ret = SPI_execute_extended(q.data, &opts);
	/* a SELECT sent to another receiver reports SPI_OK_UTILITY */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "data_quality scan failed: %s", SPI_result_code_string(ret));
	done = !r.give_up;
	while (done && r.npending > 0)
		apply_oldest(&r);
	/* the budget is checked every 1024 rows while reading, and at the end */
	if (held_bytes(&r) > r.budget)
		done = false;
	elog(DEBUG2, "data_quality: %zu bytes held for %lld amounts, %u customers", held_bytes(&r),
		 (long long) r.namounts, r.cust->members);
	if (done)
	{
		qcust_iterator it;
		CustEntry  *e;

		memcpy(out->counts, r.counts, sizeof(out->counts));
		out->counts[QI_DUPLICATE_ORDERS] = in->order_col ? r.ord_dups
			: r.maybe_dup ? exact_row_duplicates(in, &r) : 0;
		qcust_start_iterate(r.cust, &it);
		while ((e = qcust_iterate(r.cust, &it)) != NULL)
		{
			out->customers++;
			if (e->all_midnight)
				out->counts[QI_DATE_ONLY_CUSTOMERS]++;
			if (e->orders == 1)
				out->counts[QI_ONE_TIME_BUYERS]++;
		}
		amount_outliers(&r, out);
	}
	SPI_finish();
	MemoryContextDelete(cxt);
	return done;
}

#else							/* !HAVE_INT128 */

bool
quality_scan_supported(const QualityInput *in)
{
	return false;
}

bool
quality_scan(const QualityInput *in, QualityCounts *out)
{
	return false;
}

#endif
