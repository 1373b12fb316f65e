/*
 * tag_rules.c — checking a tag rule before it is stored or compiled.
 *
 * A rule is user-written SQL, so it must be exactly one boolean expression:
 * the text is parsed as "SELECT (<rule>)" and anything but a single target
 * with no FROM, WHERE, second statement and so on is rejected.  That is
 * what lets build_tag_view() paste rules into a view definition without a
 * rule escaping its parentheses.  The expression is then planned against the
 * profile relation (as the calling user: no rights are borrowed), which
 * reports missing columns in PostgreSQL's words, and its type must be
 * boolean (not merely castable to it: build_tag_view writes CASE WHEN).
 */
#include "persona.h"
#include "relation.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(check_tag_rule);

typedef struct RuleContext
{
	const char *rule;
	const char *parsing;		/* the text being parsed, while parsing */
} RuleContext;

/*
 * Error context: which rule was being checked; a syntax error's position
 * refers to the text we parsed, not to the statement that called us.
 */
static void
rule_context(void *arg)
{
	RuleContext *c = (RuleContext *) arg;
	int			pos = geterrposition();

	if (pos > 0 && c->parsing)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(c->parsing);
	}
	errcontext("tag rule: %s", c->rule);
}

/* Error unless the parse tree is SELECT of one expression and nothing else. */
static void
check_single_expression(List *stmts, const char *rule)
{
	SelectStmt *s;

	if (list_length(stmts) == 1 && IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
	{
		s = (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
		if (s->op == SETOP_NONE && list_length(s->targetList) == 1 && s->fromClause == NIL &&
			s->whereClause == NULL && s->groupClause == NIL && s->havingClause == NULL &&
			s->windowClause == NIL && s->sortClause == NIL && s->limitCount == NULL &&
			s->limitOffset == NULL && s->lockingClause == NIL && s->withClause == NULL &&
			s->intoClause == NULL && s->distinctClause == NIL && s->valuesLists == NIL)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("a tag rule must be a single boolean expression"),
			 errdetail("Rule: %s", rule),
			 errhint("Write an expression over the profile's columns, e.g. recency_days > 90 AND orders >= 3.")));
}

/*
 * check_tag_rule(source regclass, rule text): error unless rule is one
 * boolean expression over source's columns.
 */
Datum
check_tag_rule(PG_FUNCTION_ARGS)
{
	PersonaRelation rel;
	char	   *rule = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ErrorContextCallback cb;
	RuleContext ctx = {rule, NULL};
	Oid			type;
	int			ret;

	/* First: a missing or unreadable source stops here. */
	persona_resolve_relation(PG_GETARG_OID(0), &rel);

	cb.callback = rule_context;
	cb.arg = &ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	ctx.parsing = psprintf("SELECT (%s\n)", rule);
	check_single_expression(raw_parser(ctx.parsing, RAW_PARSE_DEFAULT), rule);
	ctx.parsing = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute(psprintf("SELECT (%s\n) FROM %s WHERE false", rule, rel.qualified), true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not check tag rule: %s", SPI_result_code_string(ret));
	type = TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypid;
	if (getBaseType(type) != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("a tag rule must be of type boolean, not %s", format_type_be(type)),
				 errdetail("Rule: %s", rule),
				 errhint("Compare the value, e.g. orders >= 3 rather than orders.")));
	SPI_finish();

	error_context_stack = cb.previous;
	PG_RETURN_VOID();
}
