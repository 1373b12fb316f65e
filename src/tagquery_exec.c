/*
 * tagquery_exec.c — evaluating a tagquery: tag_match(text[], tagquery) and
 * the operators text[] @@ tagquery, tagquery ~~ text[].
 *
 * Each call reads the tag array once and looks every tag up in a small hash
 * table of the query's operands: O(n + q), not a scan per operand.  NULL
 * elements of the array are not tags; a NULL array gives NULL.
 */
#include "persona.h"
#include "tagquery.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/arrayaccess.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(tag_match);
PG_FUNCTION_INFO_V1(tag_match_commutator);

/* Kleene AND / OR / NOT on three values. */
static inline TqTri
tri_and(TqTri a, TqTri b)
{
	if (a == TQ_FALSE || b == TQ_FALSE)
		return TQ_FALSE;
	return (a == TQ_TRUE && b == TQ_TRUE) ? TQ_TRUE : TQ_MAYBE;
}

static inline TqTri
tri_or(TqTri a, TqTri b)
{
	if (a == TQ_TRUE || b == TQ_TRUE)
		return TQ_TRUE;
	return (a == TQ_FALSE && b == TQ_FALSE) ? TQ_FALSE : TQ_MAYBE;
}

/*
 * Evaluate the postfix items with a stack; operands may be unknown
 * (TQ_MAYBE), as in an index search that does not look at every tag.
 */
TqTri
tagquery_eval3(const TagQuery *q, TagQueryCheck3 check, void *arg)
{
	TqTri		small[64] = {TQ_FALSE};
	TqTri	   *stack = q->nitems <= lengthof(small) ? small : palloc(q->nitems * sizeof(TqTri));
	int			top = 0;
	TqTri		result;

	for (int i = 0; i < q->nitems; i++)
	{
		const TagQueryItem *it = &q->items[i];

		if (it->type == TQ_VAL)
			stack[top++] = check(q, i, arg);
		else if (it->oper == '!')
			stack[top - 1] = stack[top - 1] == TQ_MAYBE ? TQ_MAYBE :
				(stack[top - 1] == TQ_TRUE ? TQ_FALSE : TQ_TRUE);
		else
		{
			TqTri		r = stack[--top];
			TqTri		l = stack[top - 1];

			stack[top - 1] = it->oper == '&' ? tri_and(l, r) : tri_or(l, r);
		}
	}
	result = stack[0];
	if (stack != small)
		pfree(stack);
	return result;
}

/* A two-valued check seen as a three-valued one. */
typedef struct BoolCheck
{
	TagQueryCheck check;
	void	   *arg;
} BoolCheck;

static TqTri
bool_check(const TagQuery *q, int item, void *arg)
{
	const BoolCheck *b = (const BoolCheck *) arg;

	return b->check(q, item, b->arg) ? TQ_TRUE : TQ_FALSE;
}

/* Evaluate with every operand known: check(q, i, arg) says whether operand item i is present. */
bool
tagquery_eval(const TagQuery *q, TagQueryCheck check, void *arg)
{
	BoolCheck	b = {check, arg};

	return tagquery_eval3(q, bool_check, &b) == TQ_TRUE;
}

/* negated[i] for operand items: under an odd number of !. */
static void
polarity_walk(const TagQuery *q, int i, bool neg, bool *negated)
{
	const TagQueryItem *it = &q->items[i];

	check_stack_depth();
	if (it->type == TQ_VAL)
		negated[i] = neg;
	else if (it->oper == '!')
		polarity_walk(q, i - 1, !neg, negated);
	else
	{
		polarity_walk(q, i - it->left, neg, negated);
		polarity_walk(q, i - 1, neg, negated);
	}
}

/* Which operands are negated (under an odd number of !), by item index. */
void
tagquery_polarity(const TagQuery *q, bool *negated)
{
	memset(negated, 0, q->nitems * sizeof(bool));
	polarity_walk(q, q->nitems - 1, false, negated);
}

/* Every operand absent (used to ask whether an empty tag set matches). */
static bool
check_false(const TagQuery *q, int item, void *arg)
{
	return false;
}

/*
 * Whether every match needs at least one of the query's operands present:
 * false for queries such as '!churn' that an empty tag set satisfies (GIN
 * then has to look at every row).
 */
bool
tagquery_requires_operand(const TagQuery *q)
{
	return !tagquery_eval(q, check_false, NULL);
}

/*
 * Matching: the query's operands go into a small open-addressing table,
 * built once per call site (the query is nearly always a constant); the
 * tag array is then read once, each tag looked up by a cheap hash of its
 * length and edge bytes, and the query evaluated on which operands were
 * seen.  O(n + q) per row, no sorting, no allocation.
 */
typedef struct MatchCache
{
	TagQuery   *query;			/* private copy, also the cache key */
	int			mask;			/* table size - 1 */
	int16	   *slot_item;		/* operand item index, -1 empty */
	bool	   *seen;			/* by item index, reset per row */
} MatchCache;

/* A quick hash for the table: tags are short, collisions are rare and checked. */
static inline uint32
quick_hash(const char *s, int len)
{
	uint32		h = (uint32) len * 0x9E3779B1u;

	if (len > 0)
	{
		h ^= (unsigned char) s[0] * 0x85EBCA77u;
		h ^= (unsigned char) s[len - 1] * 0xC2B2AE3Du;
		h ^= (unsigned char) s[len / 2] * 0x27D4EB2Fu;
	}
	return h ^ (h >> 15);
}

/* The cache for this call site and query (rebuilt when the query changes). */
static MatchCache *
match_cache(FunctionCallInfo fcinfo, TagQuery *q)
{
	MatchCache *c = (MatchCache *) fcinfo->flinfo->fn_extra;
	int			size = 8;

	if (c && VARSIZE(c->query) == VARSIZE(q) && memcmp(c->query, q, VARSIZE(q)) == 0)
		return c;
	c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(MatchCache));
	c->query = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(q));
	memcpy(c->query, q, VARSIZE(q));
	while (size < 2 * q->nitems)
		size *= 2;
	c->mask = size - 1;
	c->slot_item = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, size * sizeof(int16));
	memset(c->slot_item, -1, size * sizeof(int16));
	c->seen = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, q->nitems * sizeof(bool));
	for (int i = 0; i < q->nitems; i++)
	{
		const TagQueryItem *it = &q->items[i];
		int			h;

		if (it->type != TQ_VAL)
			continue;
		h = quick_hash(TQ_OPERANDS(q) + it->offset, it->length) & c->mask;
		while (c->slot_item[h] >= 0)
			h = (h + 1) & c->mask;
		c->slot_item[h] = i;
	}
	fcinfo->flinfo->fn_extra = c;
	return c;
}

/* Was operand item i seen in the current row? */
static bool
check_seen(const TagQuery *q, int i, void *arg)
{
	return ((const MatchCache *) arg)->seen[i];
}

/* Does the tag array match the cached query? */
static bool
match_array(FunctionCallInfo fcinfo, ArrayType *a, TagQuery *query)
{
	MatchCache *c = match_cache(fcinfo, query);
	const TagQuery *q = c->query;
	const char *ops = TQ_OPERANDS(q);
	array_iter	iter;
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("tags must be a one-dimensional array")));
	if (ARR_ELEMTYPE(a) != TEXTOID)
		elog(ERROR, "tags must be a text array");
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	memset(c->seen, 0, q->nitems * sizeof(bool));
	array_iter_setup(&iter, (AnyArrayType *) a);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d = array_iter_next(&iter, &isnull, i, -1, false, TYPALIGN_INT);
		const char *s;
		int			len;
		int			h;

		/* every 256 tags: a probe can walk the whole operand table */
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 8);
		if (isnull)
			continue;
		s = VARDATA_ANY(DatumGetPointer(d));
		len = VARSIZE_ANY_EXHDR(DatumGetPointer(d));
		for (h = quick_hash(s, len) & c->mask; c->slot_item[h] >= 0; h = (h + 1) & c->mask)
		{
			const TagQueryItem *it = &q->items[c->slot_item[h]];

			if (it->length == len && memcmp(ops + it->offset, s, len) == 0)
				c->seen[c->slot_item[h]] = true;
		}
	}
	return tagquery_eval(q, check_seen, c);
}

/* tag_match(tags text[], query tagquery), also text[] @@ tagquery */
Datum
tag_match(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match_array(fcinfo, PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_TAGQUERY_P(1)));
}

/* tagquery ~~ text[] */
Datum
tag_match_commutator(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match_array(fcinfo, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_TAGQUERY_P(0)));
}
