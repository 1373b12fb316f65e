/*
 * time_zone.c — persona.time_zone, a time zone name as a value of its own
 * type.  It holds the name as text does (the zone-taking aggregates read
 * either), but it is not collatable: postgres_fdw ships an aggregate to the
 * remote server only if every collatable input comes from a column of the
 * foreign table, so order_stats(..., 'Asia/Shanghai'::persona.time_zone)
 * runs whole on the shards where order_stats(..., 'Asia/Shanghai') (text)
 * fetches every row.  Input checks the name as every zone argument does.
 */
#include "persona.h"

#include "libpq/pqformat.h"
#include "tzspan.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(time_zone_in);
PG_FUNCTION_INFO_V1(time_zone_out);
PG_FUNCTION_INFO_V1(time_zone_recv);
PG_FUNCTION_INFO_V1(time_zone_send);

/* A zone name persona accepts (tzspan.c), as a varlena of its bytes. */
static Datum
time_zone_make(const char *name, int len)
{
	text	   *t = cstring_to_text_with_len(name, len);

	(void) persona_zone(t);
	PG_RETURN_TEXT_P(t);
}

Datum
time_zone_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);

	return time_zone_make(s, strlen(s));
}

Datum
time_zone_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(text_to_cstring(PG_GETARG_TEXT_PP(0)));
}

/* Binary input: the name's bytes, checked as the text input checks them. */
Datum
time_zone_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len;
	char	   *s = pq_getmsgtext(buf, buf->len - buf->cursor, &len);

	return time_zone_make(s, len);
}

Datum
time_zone_send(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
