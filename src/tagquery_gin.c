/*
 * tagquery_gin.c — GIN support for persona.gin_tag_ops on text[]: the
 * array operators &&, @>, <@, = (delegated to PostgreSQL's array support)
 * and text[] @@ tagquery.
 *
 * For @@ the index keys are the query's operands that are not negated:
 * the query is monotone in them, so when it needs some operand at all, an
 * item without any of them cannot match, and a negated tag (often a common
 * one, '!churn') costs no posting-list read.  consistent evaluates the
 * query in three-valued logic with the negated operands unknown and asks
 * for a recheck when the answer depends on them.  A query that an empty tag
 * set satisfies ('!churn') needs every row: it asks for
 * GIN_SEARCH_MODE_ALL, as contrib/intarray does, with every operand a key
 * so the answer is exact.
 */
#include "persona.h"
#include "tagquery.h"

#include "access/gin.h"
#include "access/stratnum.h"
#include "utils/builtins.h"

#define TAGQUERY_STRATEGY 20

PG_FUNCTION_INFO_V1(gin_tag_extract_query);
PG_FUNCTION_INFO_V1(gin_tag_consistent);
PG_FUNCTION_INFO_V1(gin_tag_triconsistent);

/* Which GIN key each operand item is (the rest -1), passed in extra_data[0]. */
typedef struct KeyMap
{
	TagQuery   *query;
	int		   *key_of_item;
} KeyMap;

/* gin_tag_extract_query(query, nkeys, strategy, partial, extra_data, null_flags, search_mode) */
Datum
gin_tag_extract_query(PG_FUNCTION_ARGS)
{
	StrategyNumber strategy = PG_GETARG_UINT16(2);
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);
	Pointer   **extra_data = (Pointer **) PG_GETARG_POINTER(4);
	int32	   *search_mode = (int32 *) PG_GETARG_POINTER(6);
	TagQuery   *q;
	Datum	   *keys;
	KeyMap	   *map;
	bool	   *negated;
	bool		all;
	int			n = 0;

	if (strategy != TAGQUERY_STRATEGY)
		return DirectFunctionCall7(ginqueryarrayextract, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1),
								   PG_GETARG_DATUM(2), PG_GETARG_DATUM(3), PG_GETARG_DATUM(4),
								   PG_GETARG_DATUM(5), PG_GETARG_DATUM(6));

	q = PG_GETARG_TAGQUERY_P(0);
	keys = palloc(q->nitems * sizeof(Datum));
	map = palloc(sizeof(KeyMap));
	map->query = q;
	map->key_of_item = palloc(q->nitems * sizeof(int));
	negated = palloc(q->nitems * sizeof(bool));
	all = !tagquery_requires_operand(q);
	if (all)
		memset(negated, 0, q->nitems * sizeof(bool));
	else
		tagquery_polarity(q, negated);
	for (int i = 0; i < q->nitems; i++)
	{
		const TagQueryItem *it = &q->items[i];

		map->key_of_item[i] = -1;
		if (it->type != TQ_VAL || negated[i])
			continue;
		map->key_of_item[i] = n;
		keys[n++] = PointerGetDatum(cstring_to_text_with_len(TQ_OPERANDS(q) + it->offset, it->length));
	}
	*nkeys = n;
	*extra_data = palloc0(Max(n, 1) * sizeof(Pointer));
	(*extra_data)[0] = (Pointer) map;
	*search_mode = all ? GIN_SEARCH_MODE_ALL : GIN_SEARCH_MODE_DEFAULT;
	PG_RETURN_POINTER(keys);
}

/* Is operand item i's key present in the indexed item (unknown if it is no key)? */
static TqTri
check_key(const TagQuery *q, int i, void *arg)
{
	void	  **ctx = (void **) arg;
	const KeyMap *map = (const KeyMap *) ctx[0];
	const bool *check = (const bool *) ctx[1];
	int			k = map->key_of_item[i];

	if (k < 0)
		return TQ_MAYBE;
	return check[k] ? TQ_TRUE : TQ_FALSE;
}

/* gin_tag_consistent(check, strategy, query, nkeys, extra_data, recheck, query_keys, null_flags) */
Datum
gin_tag_consistent(PG_FUNCTION_ARGS)
{
	bool	   *check = (bool *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	Pointer    *extra_data = (Pointer *) PG_GETARG_POINTER(4);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	void	   *ctx[2];
	KeyMap	   *map;
	TqTri		result;

	if (strategy != TAGQUERY_STRATEGY)
		return DirectFunctionCall8(ginarrayconsistent, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1),
								   PG_GETARG_DATUM(2), PG_GETARG_DATUM(3), PG_GETARG_DATUM(4),
								   PG_GETARG_DATUM(5), PG_GETARG_DATUM(6), PG_GETARG_DATUM(7));
	map = (KeyMap *) extra_data[0];
	ctx[0] = map;
	ctx[1] = check;
	result = tagquery_eval3(map->query, check_key, ctx);
	*recheck = result == TQ_MAYBE;
	PG_RETURN_BOOL(result != TQ_FALSE);
}

/* Operand item i's key in the ternary check array (unknown if it is no key). */
static TqTri
check_key3(const TagQuery *q, int i, void *arg)
{
	void	  **ctx = (void **) arg;
	const KeyMap *map = (const KeyMap *) ctx[0];
	const GinTernaryValue *check = (const GinTernaryValue *) ctx[1];
	int			k = map->key_of_item[i];

	if (k < 0 || check[k] == GIN_MAYBE)
		return TQ_MAYBE;
	return check[k] == GIN_TRUE ? TQ_TRUE : TQ_FALSE;
}

/*
 * gin_tag_triconsistent(check, strategy, query, nkeys, extra_data, query_keys, null_flags):
 * the same three-valued evaluation, which lets GIN skip items that lack a
 * required key instead of trying them one by one.
 */
Datum
gin_tag_triconsistent(PG_FUNCTION_ARGS)
{
	GinTernaryValue *check = (GinTernaryValue *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	Pointer    *extra_data = (Pointer *) PG_GETARG_POINTER(4);
	void	   *ctx[2];
	TqTri		result;

	if (strategy != TAGQUERY_STRATEGY)
		return DirectFunctionCall7(ginarraytriconsistent, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1),
								   PG_GETARG_DATUM(2), PG_GETARG_DATUM(3), PG_GETARG_DATUM(4),
								   PG_GETARG_DATUM(5), PG_GETARG_DATUM(6));
	ctx[0] = extra_data[0];
	ctx[1] = check;
	result = tagquery_eval3(((KeyMap *) extra_data[0])->query, check_key3, ctx);
	PG_RETURN_GIN_TERNARY_VALUE(result == TQ_TRUE ? GIN_TRUE : (result == TQ_FALSE ? GIN_FALSE : GIN_MAYBE));
}
