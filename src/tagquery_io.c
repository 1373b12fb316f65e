/*
 * tagquery_io.c — parsing and printing persona.tagquery.
 *
 * Grammar (precedence: ! binds tighter than &, & tighter than |):
 *   query  := term ('|' term)*
 *   term   := factor ('&' factor)*
 *   factor := '!' factor | '(' query ')' | operand
 * An operand is a run of characters other than white space and & | ! ( ) " \,
 * or a double-quoted string in which \" and \\ stand for " and \.  Any text
 * in the database encoding can be a tag: operands are copied a whole
 * character (pg_mblen) at a time, so no byte inside a multibyte character is
 * read as an operator or quote.  Output is canonical: minimal parentheses (a right
 * operand of the same operator keeps its parentheses, so the tree
 * re-parses identically) and quotes only where needed.
 */
#include "persona.h"
#include "tagquery.h"

#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(tagquery_in);
PG_FUNCTION_INFO_V1(tagquery_out);
PG_FUNCTION_INFO_V1(tagquery_recv);
PG_FUNCTION_INFO_V1(tagquery_send);

/* Hash of an operand or tag text (the same for both). */
uint32
tagquery_hash_text(const char *s, int len)
{
	return DatumGetUInt32(hash_any((const unsigned char *) s, len));
}

/* Parser state. */
typedef struct TqParser
{
	const char *input;
	const char *p;
	int			depth;
	int			nitems;
	int			maxitems;
	TagQueryItem *items;
	StringInfoData operands;
} TqParser;

static void tq_parse_query(TqParser *ps);

/* Report a syntax error at the current position (in characters). */
static void pg_attribute_noreturn()
tq_error(TqParser *ps, const char *what)
{
	int			pos = pg_mbstrlen_with_len(ps->input, ps->p - ps->input) + 1;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type tagquery: \"%s\"", ps->input),
			 errdetail("%s at character %d.", what, pos),
			 errhint("Write tags joined by & (and), | (or), ! (not) and parentheses; quote tags with spaces or operators: '\"new york\" & !churn'.")));
}

static void
skip_space(TqParser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

/* Whether c ends a bare operand. */
static inline bool
is_special(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '&' || c == '|' || c == '!' || c == '(' || c == ')' || c == '"' || c == '\\';
}

/* Append the character at the current position to text and step over it. */
static inline void
tq_copy_char(TqParser *ps, StringInfo text)
{
	int			len = strnlen(ps->p, pg_mblen(ps->p));	/* never past the end */

	appendBinaryStringInfo(text, ps->p, len);
	ps->p += len;
}

/* Append one item, checking the size limit. */
static TagQueryItem *
tq_push(TqParser *ps)
{
	if (ps->nitems >= TQ_MAX_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tagquery is too large"),
				 errdetail("A tagquery can have at most %d operands and operators.", TQ_MAX_ITEMS)));
	if (ps->nitems == ps->maxitems)
	{
		ps->maxitems *= 2;
		ps->items = repalloc(ps->items, ps->maxitems * sizeof(TagQueryItem));
	}
	memset(&ps->items[ps->nitems], 0, sizeof(TagQueryItem));
	return &ps->items[ps->nitems++];
}

/* Read an operand (bare or quoted) and append it. */
static void
tq_operand(TqParser *ps)
{
	StringInfoData text;
	TagQueryItem *it;

	initStringInfo(&text);
	if (*ps->p == '"')
	{
		ps->p++;
		for (;;)
		{
			if (*ps->p == '\0')
				tq_error(ps, "Unterminated quoted tag");
			if (*ps->p == '"')
				break;
			if (*ps->p == '\\')
			{
				ps->p++;
				if (*ps->p == '\0')
					tq_error(ps, "Unterminated quoted tag");
			}
			tq_copy_char(ps, &text);
		}
		ps->p++;
	}
	else
	{
		if (is_special(*ps->p))
			tq_error(ps, *ps->p == '\0' ? "Expected a tag, found the end" : "Expected a tag");
		while (!is_special(*ps->p))
			tq_copy_char(ps, &text);
		if (*ps->p == '\\')
			tq_error(ps, "A backslash is only allowed inside a quoted tag");
		if (*ps->p == '"')
			tq_error(ps, "A quote cannot start in the middle of a tag");
	}
	if (text.len > TQ_MAX_OPERAND)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tag in tagquery is too long"),
				 errdetail("A tag can be at most %d bytes; this one has %d.", TQ_MAX_OPERAND, text.len)));
	it = tq_push(ps);
	it->type = TQ_VAL;
	it->offset = ps->operands.len;
	it->length = text.len;
	it->hash = tagquery_hash_text(text.data, text.len);
	appendBinaryStringInfo(&ps->operands, text.data, text.len);
	appendStringInfoChar(&ps->operands, '\0');
	pfree(text.data);
}

/* Enter a nesting level (parentheses or !), bounded. */
static void
tq_enter(TqParser *ps)
{
	check_stack_depth();
	if (++ps->depth > TQ_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tagquery is nested too deeply"),
				 errdetail("At most %d levels of parentheses and ! are allowed.", TQ_MAX_DEPTH)));
}

/* factor := '!' factor | '(' query ')' | operand */
static void
tq_parse_factor(TqParser *ps)
{
	skip_space(ps);
	if (*ps->p == '!')
	{
		TagQueryItem *it;

		ps->p++;
		tq_enter(ps);
		tq_parse_factor(ps);
		ps->depth--;
		it = tq_push(ps);
		it->type = TQ_OPR;
		it->oper = '!';
	}
	else if (*ps->p == '(')
	{
		ps->p++;
		tq_enter(ps);
		tq_parse_query(ps);
		ps->depth--;
		skip_space(ps);
		if (*ps->p != ')')
			tq_error(ps, "Expected \")\"");
		ps->p++;
	}
	else
		tq_operand(ps);
}

/* A binary operator over the last two subtrees; right_start is where the right one began. */
static void
tq_binary(TqParser *ps, char oper, int right_start)
{
	TagQueryItem *it = tq_push(ps);

	it->type = TQ_OPR;
	it->oper = oper;
	it->left = (ps->nitems - 1) - (right_start - 1);
}

/* term := factor ('&' factor)* */
static void
tq_parse_term(TqParser *ps)
{
	tq_parse_factor(ps);
	for (;;)
	{
		int			right_start;

		skip_space(ps);
		if (*ps->p != '&')
			return;
		ps->p++;
		right_start = ps->nitems;
		tq_parse_factor(ps);
		tq_binary(ps, '&', right_start);
	}
}

/* query := term ('|' term)* */
static void
tq_parse_query(TqParser *ps)
{
	tq_parse_term(ps);
	for (;;)
	{
		int			right_start;

		skip_space(ps);
		if (*ps->p != '|')
			return;
		ps->p++;
		right_start = ps->nitems;
		tq_parse_term(ps);
		tq_binary(ps, '|', right_start);
	}
}

/* Parse text into a TagQuery. */
static TagQuery *
tq_parse(const char *input)
{
	TqParser	ps;
	TagQuery   *q;
	Size		size;

	memset(&ps, 0, sizeof(ps));
	ps.input = input;
	ps.p = input;
	ps.maxitems = 16;
	ps.items = palloc(ps.maxitems * sizeof(TagQueryItem));
	initStringInfo(&ps.operands);

	skip_space(&ps);
	if (*ps.p == '\0')
		tq_error(&ps, "The query is empty");
	tq_parse_query(&ps);
	skip_space(&ps);
	if (*ps.p == ')')
		tq_error(&ps, "Unbalanced \")\"");
	if (*ps.p != '\0')
		tq_error(&ps, "Expected & or | between tags");

	size = TQ_HDRSIZE + ps.nitems * sizeof(TagQueryItem) + ps.operands.len;
	q = palloc0(size);
	SET_VARSIZE(q, size);
	q->nitems = ps.nitems;
	memcpy(q->items, ps.items, ps.nitems * sizeof(TagQueryItem));
	memcpy(TQ_OPERANDS(q), ps.operands.data, ps.operands.len);
	return q;
}

/* tagquery_in(cstring) */
Datum
tagquery_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(tq_parse(PG_GETARG_CSTRING(0)));
}

/* Precedence of the subtree rooted at item i: | 1, & 2, ! 3, operand 4. */
static int
tq_prec(const TagQuery *q, int i)
{
	const TagQueryItem *it = &q->items[i];

	if (it->type == TQ_VAL)
		return 4;
	return it->oper == '|' ? 1 : (it->oper == '&' ? 2 : 3);
}

/* Append an operand, quoted when needed. */
static void
tq_print_operand(StringInfo out, const char *s, int len)
{
	bool		quote = len == 0;

	for (int i = 0; i < len && !quote; i++)
		quote = is_special(s[i]);
	if (!quote)
	{
		appendBinaryStringInfo(out, s, len);
		return;
	}
	persona_append_quoted(out, s, len);
}

/* Print the subtree rooted at item i, parenthesised if asked. */
static void
tq_print(const TagQuery *q, int i, StringInfo out, bool parens)
{
	const TagQueryItem *it = &q->items[i];

	check_stack_depth();
	if (parens)
		appendStringInfoChar(out, '(');
	if (it->type == TQ_VAL)
		tq_print_operand(out, TQ_OPERANDS(q) + it->offset, it->length);
	else if (it->oper == '!')
	{
		appendStringInfoChar(out, '!');
		tq_print(q, i - 1, out, tq_prec(q, i - 1) < 3);
	}
	else
	{
		int			p = tq_prec(q, i);
		int			l = i - it->left;

		tq_print(q, l, out, tq_prec(q, l) < p);
		appendStringInfo(out, " %c ", it->oper);
		tq_print(q, i - 1, out, tq_prec(q, i - 1) <= p);
	}
	if (parens)
		appendStringInfoChar(out, ')');
}

/* tagquery_out(tagquery) */
Datum
tagquery_out(PG_FUNCTION_ARGS)
{
	TagQuery   *q = PG_GETARG_TAGQUERY_P(0);
	StringInfoData out;

	initStringInfo(&out);
	tq_print(q, q->nitems - 1, &out, false);
	PG_RETURN_CSTRING(out.data);
}

/* tagquery_recv(internal): a version byte, then the text, parsed like input. */
Datum
tagquery_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	char	   *text;
	int			nbytes;

	if (version != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported tagquery version number %d", version)));
	text = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	PG_RETURN_POINTER(tq_parse(text));
}

/* tagquery_send(tagquery) */
Datum
tagquery_send(PG_FUNCTION_ARGS)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(tagquery_out, PG_GETARG_DATUM(0)));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, 1);
	pq_sendtext(&buf, text, strlen(text));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
