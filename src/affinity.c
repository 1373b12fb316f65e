/*
 * affinity.c — tag_affinity(tags text[] [, min_support]): how often tags go
 * together ("65% of 育儿 buyers also buy 绘本").
 *
 * One row per customer with their tags (or categories).  Tags get small
 * integer ids; pair counts live in a dense triangular matrix, so a customer
 * with k distinct tags costs k(k-1)/2 array increments.  The result is an
 * array of persona.tag_pair, both directions of every pair whose support
 * (share of customers with both) is at least min_support (default 0.01):
 *   confidence(a -> b) = customers with a and b / customers with a
 *   lift(a -> b)       = confidence / share of customers with b
 */
#include "persona.h"
#include "tagquery.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "expstate.h"
#include "mb/pg_wchar.h"
#include "utils/fmgroids.h"
#include "utils/float.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#define AFFINITY_MAX_TAGS 4096

typedef struct AffinityState
{
	MemoryContext ctx;
	double		min_support;	/* pairs rarer than this are not reported */
	int64		customers;
	int			ntags;
	int			cap;			/* capacity of tags/single and side of the matrix */
	char	  **tags;			/* NUL-terminated texts by id */
	int32	   *lens;
	int64	   *single;			/* customers with each tag */
	int64	   *pairs;			/* cap x cap, used where i < j */
	int			slots;			/* open-addressing table of ids by text */
	int32	   *slot_id;		/* -1 empty */
	uint32	   *slot_hash;
} AffinityState;

static void affinity_write(void *state, StringInfo buf);
static void *affinity_read_flat(const char *data, Size len, MemoryContext ctx);

static const ExpStateMethods affinity_methods = {
	affinity_write, affinity_read_flat
};

/* The format word that starts the flat and binary forms. */
#define AFFINITY_FORMAT 1

PG_FUNCTION_INFO_V1(affinity_transfn);
PG_FUNCTION_INFO_V1(affinity_combinefn);
PG_FUNCTION_INFO_V1(affinity_finalfn);
PG_FUNCTION_INFO_V1(affinity_state_in);
PG_FUNCTION_INFO_V1(affinity_state_out);
PG_FUNCTION_INFO_V1(affinity_state_recv);
PG_FUNCTION_INFO_V1(affinity_state_send);
/* the support functions of 0.5.0 and earlier (internal state), until ALTER EXTENSION persona UPDATE */
PG_FUNCTION_INFO_V1(affinity_serialfn);
PG_FUNCTION_INFO_V1(affinity_deserialfn);

/* An empty state in ctx. */
static AffinityState *
state_new(MemoryContext ctx, double min_support)
{
	AffinityState *st = MemoryContextAllocZero(ctx, sizeof(AffinityState));

	if (!(min_support >= 0 && min_support <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_support must be between 0 and 1"),
				 errdetail("Got %g.", min_support)));
	st->min_support = min_support;
	st->ctx = ctx;
	st->cap = 16;
	st->tags = MemoryContextAlloc(ctx, st->cap * sizeof(char *));
	st->lens = MemoryContextAlloc(ctx, st->cap * sizeof(int32));
	st->single = MemoryContextAllocZero(ctx, st->cap * sizeof(int64));
	st->pairs = MemoryContextAllocZero(ctx, (Size) st->cap * st->cap * sizeof(int64));
	st->slots = 64;
	st->slot_id = MemoryContextAlloc(ctx, st->slots * sizeof(int32));
	st->slot_hash = MemoryContextAlloc(ctx, st->slots * sizeof(uint32));
	memset(st->slot_id, -1, st->slots * sizeof(int32));
	return st;
}

/* Put id into the open-addressing table. */
static void
slot_put(AffinityState *st, uint32 hash, int id)
{
	int			i = hash & (st->slots - 1);

	while (st->slot_id[i] >= 0)
		i = (i + 1) & (st->slots - 1);
	st->slot_id[i] = id;
	st->slot_hash[i] = hash;
}

/* Make room for one more tag: grow the arrays, the matrix and the table. */
static void
grow(AffinityState *st)
{
	int			cap = st->cap * 2;
	int64	   *pairs;

	if (st->ntags >= AFFINITY_MAX_TAGS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tag_affinity supports at most %d distinct tags", AFFINITY_MAX_TAGS),
				 errhint("Keep the tags or categories you want to compare, e.g. with array intersections.")));
	st->tags = repalloc(st->tags, cap * sizeof(char *));
	st->lens = repalloc(st->lens, cap * sizeof(int32));
	st->single = repalloc(st->single, cap * sizeof(int64));
	memset(st->single + st->cap, 0, (cap - st->cap) * sizeof(int64));
	pairs = MemoryContextAllocZero(st->ctx, (Size) cap * cap * sizeof(int64));
	for (int i = 0; i < st->ntags; i++)
		memcpy(pairs + (Size) i * cap, st->pairs + (Size) i * st->cap, st->ntags * sizeof(int64));
	pfree(st->pairs);
	st->pairs = pairs;
	st->cap = cap;

	st->slots = cap * 4;
	st->slot_id = repalloc(st->slot_id, st->slots * sizeof(int32));
	st->slot_hash = repalloc(st->slot_hash, st->slots * sizeof(uint32));
	memset(st->slot_id, -1, st->slots * sizeof(int32));
	for (int id = 0; id < st->ntags; id++)
		slot_put(st, tagquery_hash_text(st->tags[id], st->lens[id]), id);
}

/* The id of a tag, added if new. */
static int
tag_id(AffinityState *st, const char *s, int len)
{
	uint32		hash = tagquery_hash_text(s, len);
	int			i = hash & (st->slots - 1);
	int			id;

	for (; st->slot_id[i] >= 0; i = (i + 1) & (st->slots - 1))
	{
		id = st->slot_id[i];
		if (st->slot_hash[i] == hash && st->lens[id] == len && memcmp(st->tags[id], s, len) == 0)
			return id;
	}
	if (st->ntags == st->cap)
	{
		grow(st);
		return tag_id(st, s, len);
	}
	id = st->ntags++;
	st->tags[id] = MemoryContextAlloc(st->ctx, len + 1);
	memcpy(st->tags[id], s, len);
	st->tags[id][len] = '\0';
	st->lens[id] = len;
	slot_put(st, hash, id);
	return id;
}

/* sort_ids(data, n): tag ids of one customer, interruptible (arrays can be huge). */
#define ST_SORT sort_ids
#define ST_ELEMENT_TYPE int
#define ST_COMPARE(a, b) ((*(a) > *(b)) - (*(a) < *(b)))
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* Count one customer with the given distinct-ified tag ids. */
static void
count_customer(AffinityState *st, int *ids, int n)
{
	int			k = 0;

	sort_ids(ids, n);
	for (int i = 0; i < n; i++)
		if (k == 0 || ids[i] != ids[k - 1])
			ids[k++] = ids[i];
	st->customers++;
	for (int i = 0; i < k; i++)
	{
		int64	   *row = st->pairs + (Size) ids[i] * st->cap;

		/* up to 4096 x 4096 / 2 increments for one customer */
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 6);
		st->single[ids[i]]++;
		for (int j = i + 1; j < k; j++)
			row[ids[j]]++;
	}
}

/* affinity_transfn(state, tags text[] [, min_support]) */
Datum
affinity_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	ExpState   *es;
	AffinityState *st;
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int		   *ids;
	int			k = 0;

	double		min_support = 0.01;

	aggctx = persona_agg_context(fcinfo);
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("min_support must not be NULL")));
		min_support = PG_GETARG_FLOAT8(2);
	}
	if (PG_ARGISNULL(0))
	{
		es = expstate_create(aggctx, &affinity_methods);
		es->state = state_new(es->hdr.eoh_context, min_support);
	}
	else
		es = expstate_for_update(PG_GETARG_DATUM(0), aggctx, &affinity_methods);
	st = es->state;
	if (st->min_support != min_support)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_support must be the same for every row")));
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(expstate_datum(es));	/* a customer without a tag set is not counted */
	a = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("tags must be a one-dimensional array")));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	ids = palloc(Max(n, 1) * sizeof(int));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
		{
			text	   *t = DatumGetTextPP(elems[i]);

			PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
			ids[k++] = tag_id(st, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
	count_customer(st, ids, k);
	pfree(ids);
	PG_RETURN_DATUM(expstate_datum(es));
}

/* Add b's counts to a, mapping b's tag ids to a's. */
static void
merge(void *into, const void *from)
{
	AffinityState *a = into;
	const AffinityState *b = from;
	int		   *map;

	if (a->min_support != b->min_support)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_support must be the same for every row"),
				 errdetail("Partial states with min_support %g and %g.", a->min_support, b->min_support)));
	map = palloc(Max(b->ntags, 1) * sizeof(int));
	for (int i = 0; i < b->ntags; i++)
		map[i] = tag_id(a, b->tags[i], b->lens[i]);
	a->customers += b->customers;
	for (int i = 0; i < b->ntags; i++)
	{
		CHECK_FOR_INTERRUPTS();
		a->single[map[i]] += b->single[i];
		for (int j = i + 1; j < b->ntags; j++)
		{
			int64		c = b->pairs[(Size) i * b->cap + j];
			int			x = Min(map[i], map[j]);
			int			y = Max(map[i], map[j]);

			if (c != 0)
				a->pairs[(Size) x * a->cap + y] += c;
		}
	}
	pfree(map);
}

Datum
affinity_combinefn(PG_FUNCTION_ARGS)
{
	return expstate_combine(fcinfo, &affinity_methods, merge);
}

/* Number of pairs counted at least once. */
static int64
nonzero_pairs(const AffinityState *st)
{
	int64		npairs = 0;

	for (int i = 0; i < st->ntags; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int j = i + 1; j < st->ntags; j++)
			npairs += st->pairs[(Size) i * st->cap + j] != 0;
	}
	return npairs;
}

/*
 * Flat and binary form: a format word, min_support, customers, the tags
 * (length, bytes, customers with it), then the pairs counted at least once
 * (tag ids i < j from 0, customers with both).
 */
static void
affinity_write(void *state, StringInfo buf)
{
	AffinityState *st = (AffinityState *) state;
	int64		npairs = nonzero_pairs(st);

	pq_sendint32(buf, AFFINITY_FORMAT);
	pq_sendfloat8(buf, st->min_support);
	pq_sendint64(buf, st->customers);
	pq_sendint32(buf, st->ntags);
	for (int i = 0; i < st->ntags; i++)
	{
		pq_sendint32(buf, st->lens[i]);
		pq_sendbytes(buf, st->tags[i], st->lens[i]);
		pq_sendint64(buf, st->single[i]);
	}
	pq_sendint64(buf, npairs);
	for (int i = 0; i < st->ntags; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int j = i + 1; j < st->ntags; j++)
			if (st->pairs[(Size) i * st->cap + j] != 0)
			{
				pq_sendint32(buf, i);
				pq_sendint32(buf, j);
				pq_sendint64(buf, st->pairs[(Size) i * st->cap + j]);
			}
	}
}

/* Error sqlstate "invalid persona.affinity_state" with a detail. */
static void pg_attribute_noreturn()
invalid_state(int sqlstate, const char *detail)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid persona.affinity_state"),
			 errdetail_internal("%s", detail)));
	pg_unreachable();
}

/* Tag i's customer count, checked against the customers. */
static void
set_single(AffinityState *st, int i, int64 c, int sqlstate)
{
	if (c < 1 || c > st->customers)
		invalid_state(sqlstate, psprintf("Tag %d has %lld customers of %lld; a stored tag has at least one.",
										 i + 1, (long long) c, (long long) st->customers));
	st->single[i] = c;
}

/* A new tag of the state being read: distinct from the ones before it. */
static void
add_read_tag(AffinityState *st, const char *s, int len, int sqlstate)
{
	int			i = st->ntags;

	if (len < 0 || (len > 0 && memchr(s, '\0', len) != NULL))
		invalid_state(sqlstate, psprintf("Tag %d has a length of %d or a zero byte.", i + 1, len));
	if (tag_id(st, s, len) != i)
		invalid_state(sqlstate, psprintf("Tag %d, \"%.*s\", appears twice.", i + 1, Min(len, 40), s));
}

/* Pair (i, j) of the state being read, 0-based, with c customers with both. */
static void
set_pair(AffinityState *st, int64 i, int64 j, int64 c, int sqlstate)
{
	int64	   *cell;

	if (i < 0 || j <= i || j >= st->ntags)
		invalid_state(sqlstate, psprintf("Pair (%lld, %lld) of %d tags; pairs are (i, j) with i < j.",
										 (long long) i + 1, (long long) j + 1, st->ntags));
	cell = &st->pairs[(Size) i * st->cap + j];
	if (*cell != 0)
		invalid_state(sqlstate, psprintf("Pair (%lld, %lld) appears twice.", (long long) i + 1, (long long) j + 1));
	if (c < 1 || c > Min(st->single[i], st->single[j]))
		invalid_state(sqlstate, psprintf("Pair (%lld, %lld) has %lld customers; the tags have %lld and %lld.",
										 (long long) i + 1, (long long) j + 1, (long long) c,
										 (long long) st->single[i], (long long) st->single[j]));
	*cell = c;
}

/* A state of customers (checked) with min_support (checked by state_new). */
static AffinityState *
read_header(double min_support, int64 customers, MemoryContext ctx, int sqlstate)
{
	AffinityState *st;

	if (isnan(min_support))
		invalid_state(sqlstate, "min_support is NaN.");
	st = state_new(ctx, min_support);
	if (customers < 0)
		invalid_state(sqlstate, psprintf("%lld customers.", (long long) customers));
	st->customers = customers;
	return st;
}

/* Read the flat (or binary) form in buf, validated. */
static AffinityState *
read_binary(StringInfo buf, MemoryContext ctx, int sqlstate)
{
	AffinityState *st;
	int			format;
	int			ntags;
	int64		npairs;
	double		min_support;

	if (buf->len < 4 + 8 + 8 + 4 + 8)
		invalid_state(sqlstate, psprintf("%d bytes.", buf->len));
	format = pq_getmsgint(buf, 4);
	if (format != AFFINITY_FORMAT)
		invalid_state(sqlstate, psprintf("Unknown format %d.", format));
	min_support = pq_getmsgfloat8(buf);
	st = read_header(min_support, pq_getmsgint64(buf), ctx, sqlstate);
	ntags = pq_getmsgint(buf, 4);
	if (ntags < 0 || ntags > AFFINITY_MAX_TAGS)
		invalid_state(sqlstate, psprintf("%d tags; at most %d.", ntags, AFFINITY_MAX_TAGS));
	for (int i = 0; i < ntags; i++)
	{
		int			len = pq_getmsgint(buf, 4);
		const char *s;

		if (len < 0 || len > buf->len - buf->cursor)
			invalid_state(sqlstate, psprintf("Tag %d has a length of %d.", i + 1, len));
		s = pq_getmsgbytes(buf, len);
		if (!pg_verifymbstr(s, len, true))
			invalid_state(sqlstate, psprintf("Tag %d is not valid in the database encoding.", i + 1));
		add_read_tag(st, s, len, sqlstate);
		set_single(st, i, pq_getmsgint64(buf), sqlstate);
	}
	npairs = pq_getmsgint64(buf);
	if (npairs < 0 || npairs > (buf->len - buf->cursor) / 16)
		invalid_state(sqlstate, psprintf("%lld pairs in %d bytes.", (long long) npairs, buf->len - buf->cursor));
	for (int64 k = 0; k < npairs; k++)
	{
		int			i = pq_getmsgint(buf, 4);
		int			j = pq_getmsgint(buf, 4);

		PERSONA_CHECK_INTERRUPTS_EVERY(k + 1, 12);
		set_pair(st, i, j, pq_getmsgint64(buf), sqlstate);
	}
	if (buf->cursor != buf->len)
		invalid_state(sqlstate, psprintf("%d bytes after the last pair.", buf->len - buf->cursor));
	return st;
}

static void *
affinity_read_flat(const char *data, Size len, MemoryContext ctx)
{
	StringInfoData buf;

	buf.data = (char *) data;
	buf.len = (int) len;
	buf.maxlen = buf.len;
	buf.cursor = 0;
	return read_binary(&buf, ctx, ERRCODE_DATA_CORRUPTED);
}

/* The state's 0.5.0-style serial function: the flat form as bytea. */
Datum
affinity_serialfn(PG_FUNCTION_ARGS)
{
	return expstate_serial(fcinfo, &affinity_methods);
}

Datum
affinity_deserialfn(PG_FUNCTION_ARGS)
{
	return expstate_deserial(fcinfo, &affinity_methods);
}

/*
 * affinity_state_out: a text[] literal of min_support, customers, the
 * number of tags, each tag and its customers, the number of pairs, and
 * each pair as (tag number i < j from 1, customers with both).
 */
Datum
affinity_state_out(PG_FUNCTION_ARGS)
{
	AffinityState *st = expstate_read(PG_GETARG_DATUM(0), &affinity_methods);
	StringInfoData buf;
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	initStringInfo(&buf);
	double_to_shortest_decimal_buf(st->min_support, num);
	appendStringInfo(&buf, "{%s,%lld,%d", num, (long long) st->customers, st->ntags);
	for (int i = 0; i < st->ntags; i++)
	{
		appendStringInfoChar(&buf, ',');
		persona_append_quoted(&buf, st->tags[i], st->lens[i]);
		appendStringInfo(&buf, ",%lld", (long long) st->single[i]);
	}
	appendStringInfo(&buf, ",%lld", (long long) nonzero_pairs(st));
	for (int i = 0; i < st->ntags; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int j = i + 1; j < st->ntags; j++)
			if (st->pairs[(Size) i * st->cap + j] != 0)
				appendStringInfo(&buf, ",%d,%d,%lld", i + 1, j + 1, (long long) st->pairs[(Size) i * st->cap + j]);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* Element k of the parsed literal as a whole number, or a syntax error. */
static int64
element_int(Datum *elems, bool *nulls, int n, int k)
{
	if (k >= n)
		invalid_state(ERRCODE_INVALID_TEXT_REPRESENTATION, psprintf("It ends after %d elements.", n));
	if (nulls[k])
		invalid_state(ERRCODE_INVALID_TEXT_REPRESENTATION, psprintf("Element %d is NULL.", k + 1));
	return pg_strtoint64(TextDatumGetCString(elems[k]));
}

/* affinity_state_in: the text[] literal affinity_state_out writes. */
Datum
affinity_state_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			k = 0;
	int64		ntags;
	int64		npairs;
	char	   *ms;
	AffinityState *st;
	const int	sqlstate = ERRCODE_INVALID_TEXT_REPRESENTATION;

	a = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, s, TEXTOID, -1));
	if (ARR_NDIM(a) != 1)
		invalid_state(sqlstate, "The literal is not a one-dimensional list.");
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n < 4 || nulls[0])
		invalid_state(sqlstate, psprintf("It has %d elements; the shortest state has 4.", n));
	ms = TextDatumGetCString(elems[k++]);
	st = read_header(float8in_internal(ms, NULL, "persona.affinity_state", s), element_int(elems, nulls, n, k),
					 CurrentMemoryContext, sqlstate);
	k++;
	ntags = element_int(elems, nulls, n, k++);
	if (ntags < 0 || ntags > AFFINITY_MAX_TAGS)
		invalid_state(sqlstate, psprintf("%lld tags; at most %d.", (long long) ntags, AFFINITY_MAX_TAGS));
	for (int i = 0; i < ntags; i++)
	{
		text	   *t;

		if (k >= n || nulls[k])
			invalid_state(sqlstate, psprintf("Tag %d is missing or NULL.", i + 1));
		t = DatumGetTextPP(elems[k++]);
		add_read_tag(st, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), sqlstate);
		set_single(st, i, element_int(elems, nulls, n, k++), sqlstate);
	}
	npairs = element_int(elems, nulls, n, k++);
	if (npairs < 0 || npairs != (n - k) / 3 || (n - k) % 3 != 0)
		invalid_state(sqlstate, psprintf("%lld pairs, with %d elements after the count.", (long long) npairs, n - k));
	for (int64 p = 0; p < npairs; p++)
	{
		int64		i = element_int(elems, nulls, n, k++);
		int64		j = element_int(elems, nulls, n, k++);

		PERSONA_CHECK_INTERRUPTS_EVERY(p + 1, 12);
		set_pair(st, i - 1, j - 1, element_int(elems, nulls, n, k++), sqlstate);
	}
	PG_RETURN_POINTER(expstate_flatten(st, &affinity_methods));
}

Datum
affinity_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);

	PG_RETURN_POINTER(expstate_flatten(read_binary(buf, CurrentMemoryContext, ERRCODE_INVALID_BINARY_REPRESENTATION),
									   &affinity_methods));
}

Datum
affinity_state_send(PG_FUNCTION_ARGS)
{
	AffinityState *st = expstate_read(PG_GETARG_DATUM(0), &affinity_methods);
	StringInfoData buf;

	pq_begintypsend(&buf);
	affinity_write(st, &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Bytes a text of len bytes takes in a tuple at offset off, plus off. */
static Size
tuple_text_end(Size off, int len)
{
	if (len + VARHDRSZ_SHORT <= VARATT_SHORT_MAX)
		return off + len + VARHDRSZ_SHORT;	/* stored with a short header */
	return INTALIGN(off) + VARHDRSZ + len;
}

/* Bytes the persona.tag_pair (x, y) takes as an element of the result array. */
static Size
pair_element_size(const AffinityState *st, int x, int y)
{
	Size		off = SizeofHeapTupleHeader;

	off = tuple_text_end(off, st->lens[x]);
	off = tuple_text_end(off, st->lens[y]);
	/* pairs bigint, support, confidence, lift float8 */
	return DOUBLEALIGN(DOUBLEALIGN(off) + 4 * sizeof(int64));
}

/*
 * Number of result rows (both directions of every pair with enough
 * support); errors before anything is built when the array would exceed
 * the 1 GB limit of a value.
 */
static int64
affinity_rows(const AffinityState *st)
{
	double		n = (double) st->customers;
	int64		npairs = 0;
	Size		bytes = ARR_OVERHEAD_NONULLS(1);

	for (int i = 0; i < st->ntags && n > 0; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int j = i + 1; j < st->ntags; j++)
		{
			int64		both = st->pairs[(Size) i * st->cap + j];

			if (both == 0 || both / n < st->min_support)
				continue;
			npairs++;
			bytes += pair_element_size(st, i, j) + pair_element_size(st, j, i);
		}
		if (bytes > MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("array size exceeds the maximum allowed (%d)", (int) MaxAllocSize),
					 errdetail("tag_affinity would return over %lld tag pairs with support of at least %g.",
							   (long long) npairs, st->min_support),
					 errhint("Raise min_support (the second argument), or compare fewer tags.")));
	}
	return 2 * npairs;
}

/*
 * The one-dimensional array of the n composite datums rows[], laid out as
 * construct_array() would, but with interrupt checks: copying millions of
 * rows (hundreds of MB) in construct_array() held up a cancel for a second.
 * affinity_rows() has checked the size.
 */
static ArrayType *
pairs_array(Datum *rows, int64 n, Oid elemtype)
{
	Size		nbytes = 0;
	Size		pos = 0;
	Size		head = ARR_OVERHEAD_NONULLS(1);
	ArrayType  *a;
	char	   *data;

	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		nbytes += VARSIZE(DatumGetPointer(rows[i]));
		nbytes = att_align_nominal(nbytes, TYPALIGN_DOUBLE);
	}
	a = palloc_extended(head + nbytes, MCXT_ALLOC_HUGE);
	memset(a, 0, head);
	SET_VARSIZE(a, head + nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = elemtype;
	ARR_DIMS(a)[0] = (int) n;
	ARR_LBOUND(a)[0] = 1;
	data = ARR_DATA_PTR(a);
	for (int64 i = 0; i < n; i++)
	{
		char	   *row = DatumGetPointer(rows[i]);
		Size		len = VARSIZE(row);
		Size		next = att_align_nominal(pos + len, TYPALIGN_DOUBLE);

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		memcpy(data + pos, row, len);
		memset(data + pos + len, 0, next - pos - len);
		pos = next;
	}
	return a;
}

/* persona.tag_pair[] of every direction of every pair with enough support. */
Datum
affinity_finalfn(PG_FUNCTION_ARGS)
{
	AffinityState *st;
	double		min_support;
	/* the declared type: Citus's coordinator calls this without an expression */
	Oid			array_type = get_func_rettype(fcinfo->flinfo->fn_oid);
	Oid			pair_type = get_element_type(array_type);
	TupleDesc	desc;
	Datum	   *rows;
	int64		nrows = 0;
	int64		maxrows;
	double		n;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = expstate_read(PG_GETARG_DATUM(0), &affinity_methods);
	min_support = st->min_support;
	desc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(pair_type, -1));
	maxrows = affinity_rows(st);
	rows = palloc_extended(Max(maxrows, 1) * sizeof(Datum), MCXT_ALLOC_HUGE);
	n = (double) st->customers;
	for (int i = 0; i < st->ntags && n > 0; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (int j = i + 1; j < st->ntags; j++)
		{
			int64		both = st->pairs[(Size) i * st->cap + j];

			if (both == 0 || both / n < min_support)
				continue;
			for (int dir = 0; dir < 2; dir++)
			{
				int			x = dir == 0 ? i : j;
				int			y = dir == 0 ? j : i;
				Datum		values[6];
				bool		nulls[6] = {false, false, false, false, false, false};
				double		confidence = (double) both / st->single[x];

				values[0] = PointerGetDatum(cstring_to_text_with_len(st->tags[x], st->lens[x]));
				values[1] = PointerGetDatum(cstring_to_text_with_len(st->tags[y], st->lens[y]));
				values[2] = Int64GetDatum(both);
				values[3] = Float8GetDatum(both / n);
				values[4] = Float8GetDatum(confidence);
				values[5] = Float8GetDatum(confidence / (st->single[y] / n));
				if (nrows == maxrows)
					elog(ERROR, "tag_affinity counted %lld result rows, found more", (long long) maxrows);
				rows[nrows++] = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
				pfree(DatumGetPointer(values[0]));
				pfree(DatumGetPointer(values[1]));
			}
		}
	}
	PG_RETURN_ARRAYTYPE_P(pairs_array(rows, nrows, pair_type));
}
