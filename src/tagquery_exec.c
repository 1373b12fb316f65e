/*
 * tagquery_exec.c — evaluating a tagquery: tag_match(text[], tagquery) and
 * the operators text[] @@ tagquery, tagquery ~~ text[].
 *
 * The tag array is hashed and sorted once per call, then every operand is
 * a binary search: O((n + q) log n) instead of a scan per operand.  NULL
 * elements of the array are not tags; a NULL array gives NULL.
 */
#include "persona.h"
#include "tagquery.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(tag_match);
PG_FUNCTION_INFO_V1(tag_match_commutator);

/*
 * Evaluate the postfix items with a stack of booleans; check(q, i, arg) says
 * whether operand item i is present.
 */
bool
tagquery_eval(const TagQuery *q, TagQueryCheck check, void *arg)
{
	bool		small[64] = {false};
	bool	   *stack = q->nitems <= lengthof(small) ? small : palloc(q->nitems * sizeof(bool));
	int			top = 0;
	bool		result;

	for (int i = 0; i < q->nitems; i++)
	{
		const TagQueryItem *it = &q->items[i];

		if (it->type == TQ_VAL)
			stack[top++] = check(q, i, arg);
		else if (it->oper == '!')
			stack[top - 1] = !stack[top - 1];
		else
		{
			bool		r = stack[--top];
			bool		l = stack[top - 1];

			stack[top - 1] = it->oper == '&' ? (l && r) : (l || r);
		}
	}
	Assert(top == 1);
	result = stack[0];
	if (stack != small)
		pfree(stack);
	return result;
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

/* One tag of the array. */
typedef struct TagEntry
{
	uint32		hash;
	int			len;
	const char *s;
} TagEntry;

static int
cmp_tag(const void *a, const void *b)
{
	const TagEntry *x = (const TagEntry *) a;
	const TagEntry *y = (const TagEntry *) b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->s, y->s, x->len);
}

typedef struct TagSet
{
	int			n;
	TagEntry   *tags;
} TagSet;

/* Is operand item i of q in the sorted tag set? */
static bool
check_in_set(const TagQuery *q, int i, void *arg)
{
	const TagSet *set = (const TagSet *) arg;
	const TagQueryItem *it = &q->items[i];
	TagEntry	key = {it->hash, it->length, TQ_OPERANDS(q) + it->offset};

	return bsearch(&key, set->tags, set->n, sizeof(TagEntry), cmp_tag) != NULL;
}

/* Does the tag array match the query? */
static bool
match_array(ArrayType *a, const TagQuery *q)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	TagSet		set;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("tags must be a one-dimensional array")));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	set.tags = palloc(Max(n, 1) * sizeof(TagEntry));
	set.n = 0;
	for (int i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			continue;
		t = (text *) DatumGetPointer(elems[i]);
		set.tags[set.n].s = VARDATA_ANY(t);
		set.tags[set.n].len = VARSIZE_ANY_EXHDR(t);
		set.tags[set.n].hash = tagquery_hash_text(set.tags[set.n].s, set.tags[set.n].len);
		set.n++;
	}
	if (set.n > 1)
		qsort(set.tags, set.n, sizeof(TagEntry), cmp_tag);
	return tagquery_eval(q, check_in_set, &set);
}

/* tag_match(tags text[], query tagquery), also text[] @@ tagquery */
Datum
tag_match(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match_array(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_TAGQUERY_P(1)));
}

/* tagquery ~~ text[] */
Datum
tag_match_commutator(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match_array(PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_TAGQUERY_P(0)));
}
