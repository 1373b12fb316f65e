/*
 * custscan.c — one scan of an orders relation into a hash table of
 * customers (see custscan.h).
 *
 * Instead of GROUP BY (a generic hash table, one aggregate call per row
 * and group) the orders are read once through SPI into a simplehash table
 * of 192-byte customer entries.  Rows are decoded as they arrive and
 * applied in batches whose table slots are prefetched first, so the cache
 * misses of a batch overlap.
 *
 * Keys: an integer customer id is the entry's key itself.  Any other key
 * (text, uuid, numeric, ...) is copied once per customer into the pass's
 * key store; the entry's key is then its 32-bit hash and its index there,
 * so a probe compares hashes in the entry and reads the stored key only
 * when they agree.
 *
 * Memory: the table of one pass stays within work_mem x hash_mem_multiplier
 * as a hash aggregate does.  When it is full, the pass stops admitting new
 * customers: their rows go to 32 temporary files by the hash of the
 * customer, while the customers already in the table go on being updated.
 * The caller walks the finished customers, then each file is read back as
 * a pass of its own (one that can spill again, on the next hash bits).
 * Every customer is in exactly one pass, with all its rows.
 */
#include "persona.h"

#include "custscan.h"

#include "catalog/pg_collation.h"
#include "access/transam.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "storage/buffile.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "parser/parse_coerce.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
#include "tzspan.h"

#define CUSTSCAN_SPILLED	1	/* some habit counter wrapped: see HabitOverflow */

StaticAssertDecl(sizeof(CustEntry) == 192, "a customer entry should be three cache lines");

/* Counts beyond the 16-bit counters of very heavy buyers, by customer. */
typedef struct HabitOverflow
{
	int64		key;
	int64		by_weekday[6];
	int64		by_hour[24];
	int64		at_midnight;
} HabitOverflow;

/* The last day of a refund, by customer (refunds are rare: a side table). */
typedef struct RefundDay
{
	int64		key;
	int32		day;
} RefundDay;

/* How customers are told apart. */
typedef enum KeyKind
{
	KEY_INT,					/* an integer: the entry's key is the id */
	KEY_BYTES,					/* equal exactly when their bytes are (text in a deterministic collation, bytea, uuid) */
	KEY_TYPED					/* any other hashable type: its hash function and = */
} KeyKind;

/* The index of the key being looked up (CustKeys.probe) in a lookup key. */
#define KEY_PROBE PG_UINT32_MAX

/* Blocks of the key store's copies of keys too long for their slot. */
#define KEY_BLOCK (64 * 1024)

/*
 * A stored key: a by-value key's Datum in ref; a by-reference key of at
 * most 16 bytes (a uuid; text of up to 15 bytes as a short varlena) in
 * bytes, where a probe finds it with the one cache miss of the slot;
 * longer keys by reference (ref) to a copy, bytes[0] then 0 (never a short
 * varlena's header).
 */
#define KEY_INLINE 16
typedef union KeySlot
{
	char		bytes[KEY_INLINE];
	struct
	{
		char		marker[8];
		Datum		ref;
	};
} KeySlot;

/*
 * The keys of a pass.  With KEY_INT only kind and ctx are used; otherwise
 * a customer's entry holds (hash << 32 | index) and slots[index] its key.
 */
typedef struct CustKeys
{
	MemoryContext ctx;			/* the pass's: the table, the stored keys */
	KeyKind		kind;
	Oid			type;			/* the keys' type (int8 for KEY_INT without customer_key) */
	int16		typlen;
	bool		typbyval;
	Oid			collation;
	Oid			int_column;		/* KEY_INT read as the column is: its type (int2, int4, int8); else int8 */
	FmgrInfo	hash;			/* KEY_TYPED */
	FmgrInfo	eq;
	MemoryContext calls;		/* what hash and eq allocate (detoasted copies), emptied by each flush */
	const KeySlot *probe;		/* the key being looked up (a pending row's) */
	KeySlot    *slots;
	uint32		n;
	uint32		cap;
	char	   *next;			/* free space of the current block */
	char	   *end;
	/* the pending rows' keys (by reference), emptied by each flush */
	char	   *batch;
	Size		batch_used;
	Size		batch_cap;
} CustKeys;

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

/* Whether a slot holds its key inline. */
static inline bool
slot_inline(const CustKeys *k, const KeySlot *slot)
{
	return !k->typbyval && (k->typlen == -1 ? VARATT_IS_1B(slot->bytes) : k->typlen <= KEY_INLINE);
}

/* The key a slot holds. */
static inline Datum
slot_key(const CustKeys *k, const KeySlot *slot)
{
	return slot_inline(k, slot) ? PointerGetDatum(slot->bytes) : slot->ref;
}

/* The hash an entry's or lookup key of a non-integer kind carries. */
static inline uint32
stored_key_hash(int64 key)
{
	return (uint32) ((uint64) key >> 32);
}

/* The slot of an entry's or lookup key. */
static inline const KeySlot *
key_slot(const CustKeys *k, int64 key)
{
	uint32		i = (uint32) key;

	return i == KEY_PROBE ? k->probe : &k->slots[i];
}

/*
 * A key as a slot holds it, zero padded: two keys that are inline are
 * equal exactly when their slots are (KEY_BYTES); a long one is left by
 * reference to key (key_store copies it).
 */
static inline void
key_to_slot(const CustKeys *k, Datum key, KeySlot *slot)
{
	memset(slot, 0, sizeof(KeySlot));
	if (k->typbyval)
		slot->ref = key;
	else if (k->typlen == -1)
	{
		const struct varlena *v = (const struct varlena *) DatumGetPointer(key);
		Size		len = VARSIZE_ANY_EXHDR(v);

		if (len + VARHDRSZ_SHORT <= KEY_INLINE)
		{
			SET_VARSIZE_SHORT(slot->bytes, len + VARHDRSZ_SHORT);
			memcpy(slot->bytes + VARHDRSZ_SHORT, VARDATA_ANY(v), len);
		}
		else
			slot->ref = key;
	}
	else if (k->typlen <= KEY_INLINE)
		memcpy(slot->bytes, DatumGetPointer(key), k->typlen);
	else
		slot->ref = key;
}

/* Two keys of a non-integer kind with equal hashes. */
static bool
key_datums_equal(const CustKeys *k, Datum a, Datum b)
{
	if (k->kind == KEY_TYPED)
	{
		MemoryContext old = MemoryContextSwitchTo(k->calls);
		bool		equal = DatumGetBool(FunctionCall2Coll((FmgrInfo *) &k->eq, k->collation, a, b));

		MemoryContextSwitchTo(old);
		return equal;
	}
	if (k->typlen == -1)
	{
		const struct varlena *x = (const struct varlena *) DatumGetPointer(a);
		const struct varlena *y = (const struct varlena *) DatumGetPointer(b);
		Size		len = VARSIZE_ANY_EXHDR(x);

		return len == VARSIZE_ANY_EXHDR(y) && memcmp(VARDATA_ANY(x), VARDATA_ANY(y), len) == 0;
	}
	return memcmp(DatumGetPointer(a), DatumGetPointer(b), k->typlen) == 0;
}

static bool
stored_keys_equal(const CustKeys *k, int64 a, int64 b)
{
	const KeySlot *x;
	const KeySlot *y;

	if (stored_key_hash(a) != stored_key_hash(b))
		return false;
	x = key_slot(k, a);
	y = key_slot(k, b);
	/* inline bytes: equal slots (an inline and a long key differ in length) */
	if (k->kind == KEY_BYTES && (slot_inline(k, x) || slot_inline(k, y)))
		return memcmp(x, y, sizeof(KeySlot)) == 0;
	return key_datums_equal(k, slot_key(k, x), slot_key(k, y));
}

static inline bool
keys_equal(const CustKeys *k, int64 a, int64 b)
{
	if (likely(k->kind == KEY_INT))
		return a == b;
	return stored_keys_equal(k, a, b);
}

/*
 * The table hashes a stored key when it moves the entry: while growing,
 * once per customer, with no interrupt check of its own.  Rows arrive with
 * their hash already computed, so this costs the scan nothing.
 */
static inline uint32
hash_entry_key_cfi(const CustKeys *k, int64 key)
{
	static uint32 calls = 0;

	PERSONA_CHECK_INTERRUPTS_EVERY(++calls, 14);
	return likely(k->kind == KEY_INT) ? hash_customer(key) : stored_key_hash(key);
}

#define SH_PREFIX custhash
#define SH_ELEMENT_TYPE CustEntry
#define SH_KEY_TYPE int64
#define SH_KEY cs.key
#define SH_HASH_KEY(tb, k) hash_entry_key_cfi((const CustKeys *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) keys_equal((const CustKeys *) (tb)->private_data, a, b)
#define SH_SCOPE static inline
#define SH_USE_NONDEFAULT_ALLOCATOR
#define CUSTHASH_FILLFACTOR 0.9		/* simplehash's default, named for pass_grow */
#define CUSTHASH_EARLY_FILL 0.6		/* pass_grow looks ahead from this fill on */
#define GROWTH_WINDOW 65536			/* rows over which pass_grow measures how often customers are new */
#define SH_FILLFACTOR CUSTHASH_FILLFACTOR
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
	MemoryContext ctx = ((CustKeys *) tb->private_data)->ctx;
	char	   *raw = persona_alloc_zero_huge(ctx, size + 64 + sizeof(void *));
	char	   *aligned = (char *) TYPEALIGN(64, raw + sizeof(void *));

	((void **) aligned)[-1] = raw;
	return aligned;
}

static inline void
custhash_free(custhash_hash *tb, void *pointer)
{
	pfree(((void **) pointer)[-1]);
}

#define SCAN_BATCH 16

/* Spill files of a full pass: 2^SPILL_BITS by the next bits of the customer's hash. */
#define SPILL_BITS 5
#define SPILL_FANOUT (1 << SPILL_BITS)
#define SPILL_MAX_LEVEL 5		/* 6 levels of 5 bits: 2^30 partitions */

typedef struct PendingRow
{
	Datum		key;			/* KEY_INT: the id (int8); else the key (in slot, or the batch when long) */
	KeySlot		slot;			/* a non-integer key as the key store holds it */
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

/* A row as it is written to a spill file (a numeric off the fast path follows it). */
typedef struct SpillRow
{
	Datum		key;			/* an integer or by-value key */
	TimestampTz t;
	int64		units;
	int32		day;
	int32		numeric_bytes;	/* 0: fast amount (or none) */
	int32		key_bytes;		/* > 0: a by-reference key of this size follows */
	int16		dscale;
	int8		isodow;
	int8		hour;
	int8		sign;
	bool		fast;
	bool		amount_null;
	bool		no_order;
	bool		midnight;
} SpillRow;

/* A spill file waiting to be read as a pass, and the hash level of its customers. */
typedef struct SpillFile
{
	BufFile    *file;
	int			level;
	int64		rows;
} SpillFile;

/* The scan: a receiver that folds each order into the table, then the table. */
struct CustScan
{
	DestReceiver pub;
	custhash_hash *table;
	CustKeys	keys;
	MemoryContext ctx;			/* the scan itself and its spill bookkeeping */
	MemoryContext pass_ctx;		/* the table of this pass, day arrays, side sums and tables */
	Size		mem_limit;		/* bytes a pass may hold before it spills */
	int			level;			/* hash level of this pass (0: the first, over every customer) */
	bool		spilling;		/* this pass admits no new customers */
	SpillFile	out[SPILL_FANOUT];	/* this pass's spill files (file NULL: none yet) */
	List	   *todo;			/* SpillFile * still to read */
	int64		spilled_rows;	/* rows written to spill files, every pass */
	int64		rows_seen;		/* rows this pass has read */
	double		rows_total;		/* rows it will read (estimated for the first pass; 0: unknown) */
	int64		window_rows;	/* rows_seen when the current window of GROWTH_WINDOW rows began */
	uint32		window_members;	/* customers then */
	double		new_rate;		/* new customers a row in the last whole window; < 0: none yet */
	int			passes;
	const char *caller;
	pg_tz	   *zone;
	int32		as_of_day;
	bool		habits;
	bool		last_days;
	int64		skipped;		/* rows with a NULL customer */
	int			share;			/* this participant takes the customers of share ... */
	int			shares;			/* ... of shares (1: every customer) */
	SPIPlanPtr	plan;			/* the scan's query, between cust_scan_begin and cust_scan_read */
	bool		has_until;
	TimestampTz until;
	uint32		expected;		/* customers the statistics expect, every share */
	bool		parallel_safe;	/* workers may run the query and the key's functions */
	HTAB	   *overflow;		/* HabitOverflow by customer, created on demand */
	HTAB	   *refund_days;	/* RefundDay by customer, created on demand */
	custhash_iterator it;
	int			npending;
	PendingRow	pending[SCAN_BATCH];
};

/* A hash table of int64 keys in ctx. */
static HTAB *
side_table(const char *name, Size entrysize, MemoryContext ctx)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(int64);
	ctl.entrysize = entrysize;
	ctl.hcxt = ctx;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* A row's hash: of the id, of the key's bytes, or by the type's hash function. */
static inline uint32
row_key_hash(const CustKeys *k, Datum key)
{
	if (likely(k->kind == KEY_INT))
		return hash_customer(DatumGetInt64(key));
	if (k->kind == KEY_TYPED)
	{
		MemoryContext old = MemoryContextSwitchTo(k->calls);
		uint32		h = DatumGetUInt32(FunctionCall1Coll((FmgrInfo *) &k->hash, k->collation, key));

		MemoryContextSwitchTo(old);
		return murmurhash32(h);
	}
	if (k->typlen == -1)
	{
		const struct varlena *v = (const struct varlena *) DatumGetPointer(key);

		return hash_bytes((const unsigned char *) VARDATA_ANY(v), (int) VARSIZE_ANY_EXHDR(v));
	}
	return hash_bytes((const unsigned char *) DatumGetPointer(key), k->typlen);
}

/* The table key a row is looked up by (a non-integer key is the probe meanwhile). */
static inline int64
lookup_key(CustKeys *k, const PendingRow *row)
{
	if (likely(k->kind == KEY_INT))
		return DatumGetInt64(row->key);
	k->probe = &row->slot;
	return (int64) (((uint64) row->hash << 32) | KEY_PROBE);
}

/* A copy of len bytes of a long key, in the key store's blocks. */
static Datum
key_copy(CustKeys *k, const char *bytes, Size len)
{
	char	   *copy;

	if (k->next == NULL || (Size) (k->end - k->next) < MAXALIGN(len))
	{
		Size		size = Max(KEY_BLOCK, MAXALIGN(len));

		k->next = MemoryContextAllocHuge(k->ctx, size);
		k->end = k->next + size;
	}
	copy = k->next;
	memcpy(copy, bytes, len);
	k->next += MAXALIGN(len);
	return PointerGetDatum(copy);
}

/*
 * Keep a new customer's non-integer key for the pass (the probe, which
 * lookup_key made of row): its entry's key.
 */
static int64
key_store(CustKeys *k, const PendingRow *row)
{
	KeySlot    *slot;

	if (k->n == k->cap)
	{
		if (k->cap >= KEY_PROBE / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many customers in one pass of a persona scan")));
		k->cap = Max(1024, k->cap * 2);
		k->slots = k->slots == NULL ? MemoryContextAllocHuge(k->ctx, sizeof(KeySlot) * k->cap)
			: repalloc_huge(k->slots, sizeof(KeySlot) * k->cap);
	}
	slot = &k->slots[k->n];
	*slot = *k->probe;
	if (!k->typbyval && !slot_inline(k, slot))
		slot->ref = key_copy(k, DatumGetPointer(row->key), datumGetSize(row->key, false, k->typlen));
	return (int64) (((uint64) row->hash << 32) | k->n++);
}

/* Move a heavy buyer's 16-bit habit counters to the overflow table. */
static void
habits_spill(CustScan *s, CustEntry *e)
{
	HabitOverflow *o;
	bool		found;

	if (s->overflow == NULL)
		s->overflow = side_table("persona habit overflow", sizeof(HabitOverflow), s->pass_ctx);
	o = hash_search(s->overflow, &e->cs.key, HASH_ENTER, &found);
	if (!found)
		memset((char *) o + sizeof(int64), 0, sizeof(HabitOverflow) - sizeof(int64));
	for (int i = 0; i < 6; i++)
		o->by_weekday[i] += e->by_weekday[i];
	for (int i = 0; i < 24; i++)
		o->by_hour[i] += e->by_hour[i];
	o->at_midnight += e->at_midnight;
	memset(e->by_weekday, 0, sizeof(e->by_weekday));
	memset(e->by_hour, 0, sizeof(e->by_hour));
	e->at_midnight = 0;
	e->flags |= CUSTSCAN_SPILLED;
}

/* Count one order's weekday, hour and midnight. */
static inline void
habits_add(CustScan *s, CustEntry *e, const PendingRow *row)
{
	bool		sunday = row->isodow == 7;

	if (unlikely((!sunday && e->by_weekday[row->isodow - 1] == PG_UINT16_MAX) ||
				 e->by_hour[row->hour] == PG_UINT16_MAX ||
				 (row->midnight && e->at_midnight == PG_UINT16_MAX)))
		habits_spill(s, e);
	if (!sunday)
		e->by_weekday[row->isodow - 1]++;
	e->by_hour[row->hour]++;
	e->at_midnight += row->midnight;
}

/* Remember the latest day of a refund. */
static void
note_refund_day(CustScan *s, int64 key, int32 day)
{
	RefundDay  *r;
	bool		found;

	if (s->refund_days == NULL)
		s->refund_days = side_table("persona refund days", sizeof(RefundDay), s->pass_ctx);
	r = hash_search(s->refund_days, &key, HASH_ENTER, &found);
	if (!found || day > r->day)
		r->day = day;
}

/*
 * Whether the pass has to stop admitting customers: its memory is at the
 * limit; or growing the table (old and new arrays at once) would pass it;
 * or the customers it holds will pass it with the rows still to come (their
 * purchase days grow with their orders, which are spread over the scan):
 * their memory beyond the table's array, scaled from the share of the rows
 * read so far.
 */
static bool
pass_full(const CustScan *s)
{
	Size		used;
	Size		array;

	if (s->mem_limit == 0 || s->table->members == 0)
		return false;			/* every pass admits its first customer: progress */
	used = MemoryContextMemAllocated(s->pass_ctx, true);
	if (used >= s->mem_limit)
		return true;
	array = (Size) s->table->size * sizeof(CustEntry);
	if (s->table->members + SCAN_BATCH >= s->table->grow_threshold && used + 2 * array > s->mem_limit)
		return true;
	if (s->rows_total > 0 && s->rows_seen >= 1024 && used > array)
	{
		double		read = Min(1.0, s->rows_seen / s->rows_total);

		if (array + (used - array) / read > s->mem_limit)
			return true;
	}
	return false;
}

/*
 * Grow a filling table before simplehash doubles it (at 90% full, or at
 * about 70% when a probe runs long): to the customers so far and those the
 * rows still to come bring at the rate new customers came in the last
 * GROWTH_WINDOW rows (from the start until there is such a window), at most
 * 8 times and within the memory limit.  The planner's count of distinct
 * customers the first table is sized by is often several times too small,
 * and each doubling zeroes a new array and moves every entry.  Called from
 * CUSTHASH_EARLY_FILL on; a table the projection fits in is left alone
 * until simplehash's threshold.
 */
static void
pass_grow(CustScan *s)
{
	custhash_hash *tb = s->table;
	uint64		size = tb->size * 2;
	double		projected = 0;
	bool		must = tb->members + s->npending >= tb->grow_threshold;
	Size		used;

	if (tb->size >= (uint64) PG_UINT32_MAX / 2 + 1)
		return;					/* near simplehash's limit: it grows itself */
	if (s->rows_total > s->rows_seen && s->rows_seen > 0)
		projected = tb->members + (s->new_rate >= 0 ? s->new_rate : (double) tb->members / s->rows_seen) *
			(s->rows_total - s->rows_seen);
	if (!must && projected <= tb->size * CUSTHASH_FILLFACTOR)
		return;
	used = MemoryContextMemAllocated(s->pass_ctx, true);
	/* no room for the doubled array beside the pass's memory: left to simplehash and pass_full */
	if (s->mem_limit > 0 && used + size * sizeof(CustEntry) > s->mem_limit)
		return;
	while (size < tb->size * 8 && size < projected / CUSTHASH_FILLFACTOR &&
		   (s->mem_limit == 0 || used + 2 * size * sizeof(CustEntry) <= s->mem_limit))
		size *= 2;
	custhash_grow(tb, size);
}

/* Write a row of a customer this pass does not hold to its spill file. */
static void
spill_row(CustScan *s, const PendingRow *row)
{
	int			shift = 32 - SPILL_BITS * (s->level + 1);
	int			part = (row->hash >> shift) & (SPILL_FANOUT - 1);
	SpillFile  *f = &s->out[part];
	SpillRow	r;

	if (f->file == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(s->ctx);

		f->file = BufFileCreateTemp(false);
		f->level = s->level + 1;
		f->rows = 0;
		MemoryContextSwitchTo(old);
	}
	memset(&r, 0, sizeof(r));
	if (s->keys.kind == KEY_INT || s->keys.typbyval)
		r.key = row->key;
	else
		r.key_bytes = (int32) datumGetSize(row->key, false, s->keys.typlen);
	r.t = row->t;
	r.day = row->day;
	r.isodow = row->isodow;
	r.hour = row->hour;
	r.amount_null = row->amount_null;
	r.no_order = row->no_order;
	r.midnight = row->midnight;
	if (!row->no_order && !row->amount_null)
	{
		r.fast = row->amount.fast;
		r.sign = (int8) row->amount.sign;
		r.dscale = row->amount.dscale;
		r.units = row->amount.units;
		if (!r.fast)
			r.numeric_bytes = VARSIZE_ANY(DatumGetPointer(row->amount.datum));
	}
	BufFileWrite(f->file, &r, sizeof(r));
	if (r.key_bytes > 0)
		BufFileWrite(f->file, DatumGetPointer(row->key), r.key_bytes);
	if (r.numeric_bytes > 0)
		BufFileWrite(f->file, DatumGetPointer(row->amount.datum), r.numeric_bytes);
	f->rows++;
	s->spilled_rows++;
}

/*
 * The table slot of a pending row was prefetched as the row came: where it
 * holds a customer of the row's hash (the row's, all but always), prefetch
 * the stored key the probe will compare.  Done KEY_PREFETCH_LAG rows
 * later, when the slot is likely in cache (the batch's last rows, at the
 * flush).
 */
#define KEY_PREFETCH_LAG 8

static inline void
prefetch_stored_key(const CustScan *s, const PendingRow *row)
{
	const CustEntry *e = &s->table->data[row->hash & s->table->sizemask];

	if (e->status == custhash_SH_IN_USE && stored_key_hash(e->cs.key) == row->hash)
		__builtin_prefetch(&s->keys.slots[(uint32) e->cs.key]);
}

/* Apply the pending rows to the table (or, for customers it cannot take, to the spill files). */
static void
scan_flush(CustScan *s)
{
	if (!s->spilling && s->npending > 0 && pass_full(s))
	{
		if (s->level > SPILL_MAX_LEVEL)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s cannot fit its customers into work_mem", s->caller),
					 errdetail("Customers were split %d times into %d parts and a part still needs more than %zu kB.",
							   s->level, SPILL_FANOUT, s->mem_limit / 1024),
					 errhint("Raise work_mem or hash_mem_multiplier.")));
		s->spilling = true;
	}
	if (s->rows_seen - s->window_rows >= GROWTH_WINDOW)
	{
		s->new_rate = (double) (s->table->members - s->window_members) / (s->rows_seen - s->window_rows);
		s->window_rows = s->rows_seen;
		s->window_members = s->table->members;
	}
	if (!s->spilling && s->table->members + s->npending >= s->table->size * CUSTHASH_EARLY_FILL)
		pass_grow(s);
	if (s->keys.kind != KEY_INT)
		for (int i = Max(0, s->npending - KEY_PREFETCH_LAG); i < s->npending; i++)
			prefetch_stored_key(s, &s->pending[i]);
	for (int i = 0; i < s->npending; i++)
	{
		PendingRow *row = &s->pending[i];
		int64		key = lookup_key(&s->keys, row);
		bool		found;
		CustEntry  *e;
		bool		refund;

		if (s->spilling)
		{
			e = custhash_lookup_hash(s->table, key, row->hash);
			if (e == NULL)
			{
				spill_row(s, row);
				continue;
			}
			found = true;
		}
		else
			e = custhash_insert_hash(s->table, key, row->hash, &found);
		if (!found)
		{
			char		status = e->status;

			memset(e, 0, sizeof(CustEntry));
			cust_init(&e->cs);
			e->cs.key = s->keys.kind == KEY_INT ? key : key_store(&s->keys, row);
			e->status = status;
		}
		/* After as_of the customer exists but has no orders yet. */
		if (row->no_order || row->day > s->as_of_day)
			continue;
		cust_add(&e->cs, row->t, row->day, row->amount_null, &row->amount, s->pass_ctx);
		/* Habits count the orders order_stats counts (refunds are not orders). */
		refund = !row->amount_null && row->amount.sign < 0;
		if (s->habits && !refund)
			habits_add(s, e, row);
		if (s->last_days && refund)
			note_refund_day(s, e->cs.key, row->day);
	}
	s->npending = 0;
	s->keys.batch_used = 0;
	if (s->keys.calls != NULL)
		MemoryContextReset(s->keys.calls);
}

/*
 * Room for a by-reference key of len bytes in the batch, taken: when it is
 * full the pending rows are applied first (which empties it).
 */
static char *
batch_room(CustScan *s, Size len)
{
	CustKeys   *k = &s->keys;
	char	   *room;

	if (k->batch_used + MAXALIGN(len) > k->batch_cap)
	{
		scan_flush(s);
		if (MAXALIGN(len) > k->batch_cap)
		{
			k->batch_cap = 2 * MAXALIGN(len);
			k->batch = repalloc_huge(k->batch, k->batch_cap);
		}
	}
	room = k->batch + k->batch_used;
	k->batch_used += MAXALIGN(len);
	return room;
}

/*
 * A row's key, safe until the batch is applied: integers and by-value keys
 * as they are; by-reference keys detoasted, and copied into the batch
 * unless their slot will hold them (the slot's memory goes with the next
 * row).  May apply the batch first.
 */
static Datum
batch_key(CustScan *s, Datum d)
{
	CustKeys   *k = &s->keys;
	Pointer		plain = DatumGetPointer(d);
	Size		len;
	char	   *copy;

	if (k->kind == KEY_INT || k->typbyval)
		return d;
	if (k->typlen == -1)
	{
		if (VARATT_IS_EXTERNAL(plain) || VARATT_IS_COMPRESSED(plain))
			plain = (Pointer) pg_detoast_datum_packed((struct varlena *) plain);
		else if (VARSIZE_ANY_EXHDR(plain) + VARHDRSZ_SHORT <= KEY_INLINE)
			return d;
	}
	else if (k->typlen <= KEY_INLINE)
		return d;
	len = datumGetSize(PointerGetDatum(plain), false, k->typlen);
	copy = batch_room(s, len);
	memcpy(copy, plain, len);
	if (plain != DatumGetPointer(d))
		pfree(plain);
	return PointerGetDatum(copy);
}

/* Set a pending row's key (from batch_key) and hash. */
static inline void
row_set_key(CustScan *s, PendingRow *row, Datum key)
{
	CustKeys   *k = &s->keys;

	if (k->kind != KEY_INT)
	{
		key_to_slot(k, key, &row->slot);
		key = slot_key(k, &row->slot);
	}
	row->key = key;
	row->hash = row_key_hash(k, key);
}

/*
 * Which of shares participants takes the customer of a hash: its own
 * mixing of the hash, so that the table's low bits and the spill files'
 * high bits stay evenly used within a share.
 */
static inline int
customer_share(uint32 hash, int shares)
{
	return (int) (((uint64) murmurhash32(hash ^ 0x5bd1e995) * (uint64) shares) >> 32);
}

/* Take one row (customer key, time timestamptz, amount numeric). */
static bool
scan_receive(TupleTableSlot *slot, DestReceiver *self)
{
	CustScan   *s = (CustScan *) self;
	PendingRow *row;
	CustEntry  *slotp;
	Datum		key;
	bool		isnull;

	s->rows_seen++;
	/* the key first: another participant's row needs nothing else */
	key = slot_getattr(slot, 1, &isnull);
	if (isnull)
	{
		s->skipped++;
		return true;
	}
	if (s->keys.kind == KEY_INT)
		key = Int64GetDatum(s->keys.int_column == INT2OID ? (int64) DatumGetInt16(key) :
							s->keys.int_column == INT4OID ? (int64) DatumGetInt32(key) : DatumGetInt64(key));
	key = batch_key(s, key);	/* (may apply the batch first) */
	row = &s->pending[s->npending];
	row_set_key(s, row, key);
	if (s->shares > 1 && customer_share(row->hash, s->shares) != s->share)
		return true;			/* another participant's customer */
	slot_getallattrs(slot);
	row->no_order = slot->tts_isnull[1];
	if (row->no_order)
		goto queue;				/* like order_stats: ignored, customer kept */
	row->t = DatumGetTimestampTz(slot->tts_values[1]);
	{
		PersonaLocal l;

		persona_zone_local(s->zone, row->t, "ordered_at", &l);
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
			MemoryContext old = MemoryContextSwitchTo(s->pass_ctx);

			row->amount.datum = datumCopy(row->amount.datum, false, -1);
			MemoryContextSwitchTo(old);
		}
	}
queue:
	slotp = &s->table->data[row->hash & s->table->sizemask];
	__builtin_prefetch(slotp, 1);
	__builtin_prefetch((char *) slotp + 64, 1);
	if (s->habits)
		__builtin_prefetch((char *) slotp + 128, 1);
	if (s->keys.kind != KEY_INT && s->npending >= KEY_PREFETCH_LAG)
		prefetch_stored_key(s, &s->pending[s->npending - KEY_PREFETCH_LAG]);
	if (++s->npending == SCAN_BATCH)
		scan_flush(s);
	return true;
}

static void
scan_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
scan_shutdown(DestReceiver *self)
{
	scan_flush((CustScan *) self);
}

static void
scan_destroy(DestReceiver *self)
{
}

/* Name of a column of rel that must exist; returns its type. */
static Oid
column_type(const PersonaRelation *rel, const char *col, const char *what, const char *argname)
{
	AttrNumber	att = get_attnum(rel->relid, col);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, rel->relname),
				 errhint("Name the %s column with %s => '...'.", what, argname)));
	return get_atttype(rel->relid, att);
}

/* Whether a type is one of the integers. */
static inline bool
is_integer_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

/*
 * How the scan tells customers apart, from the customer column and
 * spec->key_type; returns the select-list expression of the key.
 */
static char *
keys_init(CustKeys *k, const PersonaRelation *rel, const CustScanSpec *spec, MemoryContext ctx)
{
	AttrNumber	att = get_attnum(rel->relid, spec->cust_col);
	const char *cust = quote_identifier(spec->cust_col);
	Oid			key = OidIsValid(spec->key_type) ? getBaseType(spec->key_type) : InvalidOid;
	Oid			col_type;
	Oid			base;
	int32		typmod;
	Oid			collation;

	if (att == InvalidAttrNumber)
		column_type(rel, spec->cust_col, "customer", "customer_col");	/* raises the error */
	get_atttypetypmodcoll(rel->relid, att, &col_type, &typmod, &collation);
	base = getBaseType(col_type);
	memset(k, 0, sizeof(*k));
	if (!OidIsValid(key) && !is_integer_type(base))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("customer column \"%s\" must be smallint, integer or bigint", spec->cust_col),
				 errdetail("It is %s.", format_type_be(col_type)),
				 errhint("Pass customer_key => NULL::%s to key customers by it.", format_type_be(base))));
	/*
	 * A bigint key takes any integer column, as the functions without
	 * customer_key do; other keys a column of their type, or of one that is
	 * binary coercible to it (varchar to text).  A domain key only a column
	 * of that domain: customer_id has the domain's type, whose constraints
	 * its values must meet.
	 */
	if (OidIsValid(key) &&
		((key != spec->key_type && col_type != spec->key_type) ||
		 (base != key && !(key == INT8OID && is_integer_type(base)) &&
		  (is_integer_type(key) || !IsBinaryCoercible(base, key)))))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("customer column \"%s\" is %s, not %s", spec->cust_col,
						format_type_be(col_type), format_type_be(spec->key_type)),
				 errdetail("customer_key gives the type of the customer keys and of the customer_id column."),
				 errhint("Pass customer_key => NULL::%s.", format_type_be(col_type))));
	if (!OidIsValid(key) || is_integer_type(key))
	{
		k->kind = KEY_INT;
		k->type = OidIsValid(key) ? key : INT8OID;
		/*
		 * A plain column, not a cast: a select list of the table's columns
		 * as they are needs no projection, and the receiver deforms only
		 * the key of another participant's rows (parallel.c).
		 */
		k->int_column = col_type == base ? base : INT8OID;
		return col_type == base ? pstrdup(cust) : psprintf("%s::pg_catalog.int8", cust);
	}
	k->type = key;
	get_typlenbyval(k->type, &k->typlen, &k->typbyval);
	/* (a view's column of conflicting collations has none: the default's, as for an uncollated literal) */
	k->collation = !type_is_collatable(k->type) ? InvalidOid : OidIsValid(collation) ? collation : DEFAULT_COLLATION_OID;
	if (k->type == BYTEAOID || k->type == UUIDOID ||
		((k->type == TEXTOID || k->type == VARCHAROID) && get_collation_isdeterministic(k->collation)))
		k->kind = KEY_BYTES;
	else
	{
		TypeCacheEntry *tc = lookup_type_cache(k->type, TYPECACHE_HASH_PROC_FINFO | TYPECACHE_EQ_OPR_FINFO);

		if (!OidIsValid(tc->hash_proc) || !OidIsValid(tc->eq_opr) || k->typlen == -2)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("customer key type %s has no hash function", format_type_be(k->type)),
					 errdetail("customer_profile and customer_states tell customers apart by hashing their keys: the type needs a default hash operator class."),
					 errhint("Key customers by a hashable type (integers, text, uuid, numeric, ...), e.g. a cast in a view.")));
		fmgr_info_copy(&k->hash, &tc->hash_proc_finfo, ctx);
		fmgr_info_copy(&k->eq, &tc->eq_opr_finfo, ctx);
		k->calls = AllocSetContextCreate(ctx, "persona customer keys", ALLOCSET_SMALL_SIZES);
		k->kind = KEY_TYPED;
	}
	if (!k->typbyval)
	{
		k->batch_cap = 8192;
		k->batch = MemoryContextAllocHuge(ctx, k->batch_cap);
	}
	/* a domain's values are read as its base type's, a coercible type's as the key's */
	return col_type == k->type ? pstrdup(cust) : psprintf("%s::%s", cust, format_type_be_qualified(k->type));
}

/*
 * The SQL that reads (customer, time, amount) from the relation, the key
 * as key_sql; $1 is spec->until when has_until.
 */
static char *
scan_query(const PersonaRelation *rel, const CustScanSpec *spec, const char *key_sql)
{
	Oid			time_type = column_type(rel, spec->time_col, "order time", "time_col");
	const char *cust = quote_identifier(spec->cust_col);
	StringInfoData t;
	StringInfoData q;

	Oid			amount_type = column_type(rel, spec->amount_col, "amount", "amount_col");
	const char *amount = quote_identifier(spec->amount_col);

	initStringInfo(&t);
	/* A profile reads timestamps and dates as local times in its zone. */
	if (spec->zone_name && (time_type == TIMESTAMPOID || time_type == DATEOID))
		appendStringInfo(&t, "(%s::pg_catalog.timestamp AT TIME ZONE %s)",
						 quote_identifier(spec->time_col), quote_literal_cstr(spec->zone_name));
	else if (time_type == TIMESTAMPTZOID)
		appendStringInfoString(&t, quote_identifier(spec->time_col));	/* (no cast: see keys_init) */
	else
		appendStringInfo(&t, "%s::pg_catalog.timestamptz", quote_identifier(spec->time_col));
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s, %s, %s%s FROM %s",
					 key_sql, t.data, amount, amount_type == NUMERICOID ? "" : "::pg_catalog.numeric",
					 rel->qualified);
	if (spec->has_until)
		appendStringInfo(&q, " WHERE NOT (%s IS NULL) AND %s < $1", cust, t.data);
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

/* Start a pass: a fresh context and table of about n customers (within the memory limit). */
static void
pass_begin(CustScan *s, uint32 n)
{
	if (s->pass_ctx != NULL)
		MemoryContextDelete(s->pass_ctx);
	s->pass_ctx = AllocSetContextCreate(s->ctx, "persona customer pass", ALLOCSET_DEFAULT_SIZES);
	s->overflow = NULL;
	s->refund_days = NULL;
	s->spilling = false;
	s->rows_seen = 0;
	s->window_rows = 0;
	s->window_members = 0;
	s->new_rate = -1;
	memset(s->out, 0, sizeof(s->out));
	/* a table bigger than the limit would spill before its first customer */
	if (s->mem_limit > 0)
		n = (uint32) Min((Size) n, Max(s->mem_limit / (4 * sizeof(CustEntry)), 64));
	s->keys.ctx = s->pass_ctx;
	s->keys.slots = NULL;
	s->keys.n = s->keys.cap = 0;
	s->keys.next = s->keys.end = NULL;
	s->table = custhash_create(s->pass_ctx, n, &s->keys);
	s->passes++;
}

/* The files this pass spilled go on the list of passes to come. */
static void
pass_end(CustScan *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->ctx);

	scan_flush(s);
	for (int i = 0; i < SPILL_FANOUT; i++)
		if (s->out[i].file != NULL)
		{
			SpillFile  *f = palloc(sizeof(SpillFile));

			*f = s->out[i];
			/*
			 * Depth first: the files of this pass are read before older
			 * ones, so at most 32 per level are open (8 kB of buffer each).
			 */
			s->todo = lcons(f, s->todo);
		}
	memset(s->out, 0, sizeof(s->out));
	MemoryContextSwitchTo(old);
}

/* The planner's count of rel's rows (pg_class.reltuples), 0 when unknown (a view, never analysed). */
static double
relation_rows(const PersonaRelation *rel)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(rel->relid)};
	double		n = 0;

	if (SPI_execute_with_args("SELECT reltuples::pg_catalog.float8 FROM pg_catalog.pg_class WHERE oid = $1",
							  1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			n = DatumGetFloat8(d);
	}
	return Max(n, 0);
}

/*
 * Whether parallel workers may run the scan: a key hashed by its type's
 * functions needs them parallel safe, and the time and amount columns
 * built-in types (their casts to timestamptz and numeric are; a user
 * type's cast may not be).
 */
static bool
scan_parallel_safe(const CustKeys *k, const PersonaRelation *rel, const CustScanSpec *spec)
{
	Oid			time_type = getBaseType(get_atttype(rel->relid, get_attnum(rel->relid, spec->time_col)));
	Oid			amount_type = getBaseType(get_atttype(rel->relid, get_attnum(rel->relid, spec->amount_col)));

	if (k->kind == KEY_TYPED &&
		(func_parallel(k->hash.fn_oid) != PROPARALLEL_SAFE || func_parallel(k->eq.fn_oid) != PROPARALLEL_SAFE))
		return false;
	return time_type < FirstNormalObjectId && amount_type < FirstNormalObjectId;
}

/*
 * A scan of rel in ctx (which must outlive the walk of the tables;
 * deleting it frees everything): checks the columns and plans the query,
 * reads nothing yet.  cust_scan_read reads it.  Between the two SPI is
 * connected.
 */
CustScan *
cust_scan_begin(const PersonaRelation *rel, const CustScanSpec *spec, MemoryContext ctx)
{
	CustScan   *s = MemoryContextAllocZero(ctx, sizeof(CustScan));
	Oid			argtype = TIMESTAMPTZOID;
	char	   *query;
	MemoryContext caller = CurrentMemoryContext;

	s->pub.receiveSlot = scan_receive;
	s->pub.rStartup = scan_startup;
	s->pub.rShutdown = scan_shutdown;
	s->pub.rDestroy = scan_destroy;
	s->pub.mydest = DestNone;
	s->ctx = ctx;
	s->zone = spec->zone;
	s->as_of_day = spec->as_of_day;
	s->habits = spec->habits;
	s->last_days = spec->last_days;
	s->mem_limit = get_hash_memory_limit();
	s->caller = spec->caller;
	s->has_until = spec->has_until;
	s->until = spec->until;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	query = scan_query(rel, spec, keys_init(&s->keys, rel, spec, ctx));
	s->parallel_safe = scan_parallel_safe(&s->keys, rel, spec);
	s->expected = expected_customers(rel, spec->cust_col);
	s->rows_total = relation_rows(rel);
	/* (no parallel plan: persona's own workers read a relation in parallel, parallel.c) */
	s->plan = SPI_prepare(query, spec->has_until ? 1 : 0, &argtype);
	if (s->plan == NULL)
		elog(ERROR, "%s scan could not be planned: %s", spec->caller, SPI_result_code_string(SPI_result));
	/* (SPI_connect switched to its own context, which goes at SPI_finish: the caller's, until then) */
	MemoryContextSwitchTo(caller);
	return s;
}

/*
 * The first pass of a scan from cust_scan_begin, over the customers of
 * share (0 .. shares - 1) of shares: participants of a parallel scan each
 * read every row and keep their share of the customers.  Walk its
 * customers, then call cust_scan_next_pass until it returns false.
 */
void
cust_scan_read(CustScan *s, int share, int shares)
{
	SPIExecuteOptions opts;
	int			ret;

	Assert(share >= 0 && share < shares);
	s->share = share;
	s->shares = shares;
	pass_begin(s, Max(s->expected / shares, 1024));
	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;
	opts.dest = &s->pub;
	if (s->has_until)
	{
		opts.params = makeParamList(1);
		opts.params->params[0].value = TimestampTzGetDatum(s->until);
		opts.params->params[0].isnull = false;
		opts.params->params[0].pflags = PARAM_FLAG_CONST;
		opts.params->params[0].ptype = TIMESTAMPTZOID;
	}
	ret = SPI_execute_plan_extended(s->plan, &opts);
	/* SPI reports a SELECT into a custom receiver as SPI_OK_UTILITY. */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "%s scan failed: %s", s->caller, SPI_result_code_string(ret));
	SPI_finish();
	s->plan = NULL;
	pass_end(s);
}

/* cust_scan_begin and cust_scan_read of every customer, in one process. */
CustScan *
cust_scan(const PersonaRelation *rel, const CustScanSpec *spec, MemoryContext ctx)
{
	CustScan   *s = cust_scan_begin(rel, spec, ctx);

	cust_scan_read(s, 0, 1);
	return s;
}

/*
 * A scan's relation and spec as plain bytes, for a parallel worker to
 * start the same scan (cust_scan_job_unpack).  The spec must have passed
 * cust_scan_begin: its column names fit a NAMEDATALEN name.
 */
void
cust_scan_job_pack(const PersonaRelation *rel, const CustScanSpec *spec, CustScanJob *job)
{
	memset(job, 0, sizeof(*job));
	job->relid = rel->relid;
	job->key_type = spec->key_type;
	strlcpy(job->cust_col, spec->cust_col, NAMEDATALEN);
	strlcpy(job->time_col, spec->time_col, NAMEDATALEN);
	strlcpy(job->amount_col, spec->amount_col, NAMEDATALEN);
	strlcpy(job->zone, pg_get_timezone_name(spec->zone), sizeof(job->zone));
	job->has_zone_name = spec->zone_name != NULL;
	if (spec->zone_name)
		strlcpy(job->zone_name, spec->zone_name, sizeof(job->zone_name));
	job->has_until = spec->has_until;
	job->until = spec->until;
	job->as_of_day = spec->as_of_day;
	job->habits = spec->habits;
	job->last_days = spec->last_days;
}

/* The relation and spec of a packed scan; caller names the function for errors. */
void
cust_scan_job_unpack(const CustScanJob *job, const char *caller, PersonaRelation *rel, CustScanSpec *spec)
{
	persona_resolve_relation(job->relid, rel);
	memset(spec, 0, sizeof(*spec));
	spec->key_type = job->key_type;
	spec->cust_col = pstrdup(job->cust_col);
	spec->time_col = pstrdup(job->time_col);
	spec->amount_col = pstrdup(job->amount_col);
	spec->zone = pg_tzset(job->zone);
	if (spec->zone == NULL)
		elog(ERROR, "parallel worker could not load time zone \"%s\"", job->zone);
	spec->zone_name = job->has_zone_name ? pstrdup(job->zone_name) : NULL;
	spec->has_until = job->has_until;
	spec->until = job->until;
	spec->as_of_day = job->as_of_day;
	spec->habits = job->habits;
	spec->last_days = job->last_days;
	spec->caller = caller;
}

/* Read one row back from a spill file into the pending batch; false at its end. */
static bool
read_spilled(CustScan *s, BufFile *file)
{
	PendingRow *row;
	SpillRow	r;
	Datum		key;
	size_t		got = BufFileRead(file, &r, sizeof(r));

	if (got == 0)
		return false;
	s->rows_seen++;
	if (got != sizeof(r))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read a persona spill file: read %zu of %zu bytes", got, sizeof(r))));
	key = r.key;
	if (r.key_bytes > 0)
	{
		char	   *copy = batch_room(s, r.key_bytes);

		if (BufFileRead(file, copy, r.key_bytes) != (size_t) r.key_bytes)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read a persona spill file")));
		key = PointerGetDatum(copy);
	}
	row = &s->pending[s->npending];
	memset(row, 0, sizeof(*row));
	row_set_key(s, row, key);
	row->t = r.t;
	row->day = r.day;
	row->isodow = r.isodow;
	row->hour = r.hour;
	row->amount_null = r.amount_null;
	row->no_order = r.no_order;
	row->midnight = r.midnight;
	row->amount.fast = r.fast;
	row->amount.sign = r.sign;
	row->amount.dscale = r.dscale;
	row->amount.units = r.units;
	if (r.numeric_bytes > 0)
	{
		char	   *num = MemoryContextAlloc(s->pass_ctx, r.numeric_bytes);

		if (BufFileRead(file, num, r.numeric_bytes) != (size_t) r.numeric_bytes)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read a persona spill file")));
		row->amount.datum = PointerGetDatum(num);
	}
	if (++s->npending == SCAN_BATCH)
		scan_flush(s);
	return true;
}

/*
 * Read the next spill file into a new table: true when there is one (walk
 * it as the first), false when every customer has been walked.  The
 * entries of the previous pass are gone.
 */
bool
cust_scan_next_pass(CustScan *s)
{
	SpillFile  *f;
	int64		read = 0;

	if (s->todo == NIL)
	{
		if (s->spilled_rows > 0)
			ereport(DEBUG1,
					(errmsg_internal("%s read its customers in %d passes, %lld rows through temporary files (limit %zu kB)",
									 s->caller, s->passes, (long long) s->spilled_rows, s->mem_limit / 1024)));
		if (s->pass_ctx != NULL)
			MemoryContextDelete(s->pass_ctx);
		s->pass_ctx = NULL;
		s->table = NULL;
		return false;
	}
	f = (SpillFile *) linitial(s->todo);
	s->todo = list_delete_first(s->todo);
	/* customers of a file are about rows / 4 (the first pass's orders per customer are unknown) */
	pass_begin(s, (uint32) Min(Max(f->rows / 4, 1024), 64 * 1024 * 1024));
	s->level = f->level;
	s->rows_total = (double) f->rows;
	if (BufFileSeek(f->file, 0, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rewind a persona spill file")));
	while (read_spilled(s, f->file))
		PERSONA_CHECK_INTERRUPTS_EVERY(++read, 12);
	BufFileClose(f->file);
	pfree(f);
	pass_end(s);
	return true;
}

/* Whether the scan spilled: its customers come in more than one pass. */
bool
cust_scan_spilled(const CustScan *s)
{
	return s->spilled_rows > 0;
}

/* Passes so far and rows written to spill files (for tests and NOTICEs). */
void
cust_scan_spill_stats(const CustScan *s, int *passes, int64 *rows)
{
	*passes = s->passes;
	*rows = s->spilled_rows;
}

/* Number of customers in the table. */
uint64
cust_scan_customers(const CustScan *s)
{
	return s->table->members;
}

/* The key type a customer_key argument names (its value is not read). */
Oid
cust_scan_key_arg(FunctionCallInfo fcinfo, int argno)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, argno);

	if (!OidIsValid(type))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not determine the type of customer_key")));
	return type;
}

/* The result's first column (customer_id) must have the keys' type. */
void
cust_scan_check_result(const CustScan *s, TupleDesc desc)
{
	Oid			type = getBaseType(TupleDescAttr(desc, 0)->atttypid);

	if (type != s->keys.type)
		elog(ERROR, "customer_id is %s, the customer keys %s",
			 format_type_be(type), format_type_be(s->keys.type));
}

/* Whether parallel workers may run this scan (see scan_parallel_safe). */
bool
cust_scan_parallel_safe(const CustScan *s)
{
	return s->parallel_safe;
}

/* The type of the keys cust_scan_key returns. */
Oid
cust_scan_key_type(const CustScan *s)
{
	return s->keys.type;
}

/* A customer's key, of cust_scan_key_type (by reference into the pass's memory). */
Datum
cust_scan_key(const CustScan *s, const CustEntry *e)
{
	if (s->keys.kind != KEY_INT)
		return slot_key(&s->keys, &s->keys.slots[(uint32) e->cs.key]);
	switch (s->keys.type)
	{
		case INT2OID:
			return Int16GetDatum((int16) e->cs.key);
		case INT4OID:
			return Int32GetDatum((int32) e->cs.key);
		default:
			return Int64GetDatum(e->cs.key);
	}
}

/* Start (again) a walk over the customers, in table order. */
void
cust_scan_rewind(CustScan *s)
{
	custhash_start_iterate(s->table, &s->it);
}

/* The next customer of the walk, or NULL at the end. */
CustEntry *
cust_scan_next(CustScan *s)
{
	return custhash_iterate(s->table, &s->it);
}

/*
 * A customer's habit counts by ISO weekday (wd[0] = Monday, 7 entries) and
 * local hour (24); returns the orders at exactly local midnight.  Sunday
 * is the customer's orders less the other days: habits are counted for
 * exactly the rows cust_add counts as orders.
 */
int64
cust_scan_habits(const CustScan *s, const CustEntry *e, int64 *wd, int64 *hr)
{
	HabitOverflow *o = NULL;
	int64		weekdays = 0;

	if (e->flags & CUSTSCAN_SPILLED)
		o = hash_search(s->overflow, &e->cs.key, HASH_FIND, NULL);
	for (int i = 0; i < 6; i++)
		weekdays += wd[i] = e->by_weekday[i] + (o ? o->by_weekday[i] : 0);
	wd[6] = e->cs.orders - weekdays;
	for (int i = 0; i < 24; i++)
		hr[i] = e->by_hour[i] + (o ? o->by_hour[i] : 0);
	return e->at_midnight + (o ? o->at_midnight : 0);
}

/*
 * The latest local day of any of a customer's orders and refunds (with
 * last_days), PG_INT32_MIN for none.  The days of orders are all in
 * days[] (deduplicated lazily, so not in order); not the day of last_at,
 * since a zone that moves its clocks back across midnight (Kwajalein in
 * 1969) can put a later order on an earlier day.
 */
int32
cust_scan_last_day(const CustScan *s, const CustEntry *e)
{
	const int32 *days = CUST_DAYS(&e->cs);
	int32		day = PG_INT32_MIN;
	RefundDay  *r;

	Assert(s->last_days);
	for (int i = 0; i < e->cs.ndays; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 16);
		day = Max(day, days[i]);
	}
	if (e->cs.refunds > 0 && s->refund_days &&
		(r = hash_search(s->refund_days, &e->cs.key, HASH_FIND, NULL)) != NULL)
		day = Max(day, r->day);
	return day;
}
