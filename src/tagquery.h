/*
 * tagquery.h — persona.tagquery: a boolean query over tags, '育儿 & (vip | !churn_risk)'.
 *
 * Stored in postfix order (operands before their operator, the root last),
 * so evaluation is a loop with a small stack, and every item knows where
 * its left operand starts for printing.  Operand texts follow the items.
 */
#ifndef PERSONA_TAGQUERY_H
#define PERSONA_TAGQUERY_H

#include "postgres.h"
#include "fmgr.h"

#define TQ_VAL	1
#define TQ_OPR	2

#define TQ_MAX_ITEMS		8192	/* operands + operators */
#define TQ_MAX_DEPTH		256		/* nesting of parentheses and ! */
#define TQ_MAX_OPERAND		1024	/* bytes */

typedef struct TagQueryItem
{
	int8		type;			/* TQ_VAL or TQ_OPR */
	char		oper;			/* '&', '|' or '!' for TQ_OPR */
	int16		padding;
	int32		left;			/* binary operator: distance back to its left operand's root */
	uint32		hash;			/* TQ_VAL: hash of the operand text */
	int32		offset;			/* TQ_VAL: byte offset of the text in the operand area */
	int32		length;			/* TQ_VAL: byte length of the text */
} TagQueryItem;

typedef struct TagQuery
{
	int32		vl_len_;
	int32		nitems;
	TagQueryItem items[FLEXIBLE_ARRAY_MEMBER];
	/* then the operand texts, each followed by a NUL */
} TagQuery;

#define TQ_HDRSIZE			offsetof(TagQuery, items)
#define TQ_ITEMS(q)			((q)->items)
#define TQ_OPERANDS(q)		((char *) ((q)->items + (q)->nitems))
#define DatumGetTagQueryP(d)	((TagQuery *) PG_DETOAST_DATUM(d))
#define PG_GETARG_TAGQUERY_P(n)	DatumGetTagQueryP(PG_GETARG_DATUM(n))

extern uint32 tagquery_hash_text(const char *s, int len);

/* Evaluate a query given a callback that says whether operand item i is present. */
typedef bool (*TagQueryCheck) (const TagQuery *q, int item, void *arg);
extern bool tagquery_eval(const TagQuery *q, TagQueryCheck check, void *arg);
extern bool tagquery_requires_operand(const TagQuery *q);

/* Three-valued evaluation (Kleene logic) for index searches with unknown operands. */
typedef enum TqTri
{
	TQ_FALSE, TQ_TRUE, TQ_MAYBE
} TqTri;
typedef TqTri (*TagQueryCheck3) (const TagQuery *q, int item, void *arg);
extern TqTri tagquery_eval3(const TagQuery *q, TagQueryCheck3 check, void *arg);
extern void tagquery_polarity(const TagQuery *q, bool *negated);

#endif							/* PERSONA_TAGQUERY_H */
