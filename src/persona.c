/*
 * persona.c — module entry point: PG_MODULE_MAGIC, GUCs and small shared helpers.
 */
#include "persona.h"

#include <math.h>

#include "utils/guc.h"

PG_MODULE_MAGIC;

int			persona_language = PERSONA_LANG_EN;

static const struct config_enum_entry language_options[] = {
	{"en", PERSONA_LANG_EN, false},
	{"zh", PERSONA_LANG_ZH, false},
	{NULL, 0, false}
};

void		_PG_init(void);

/* Register the GUCs once per backend. */
void
_PG_init(void)
{
	DefineCustomEnumVariable("persona.language",
							 "Language of persona's segment and stage labels.",
							 "en = English, zh = Chinese (简体中文).",
							 &persona_language,
							 PERSONA_LANG_EN,
							 language_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("persona");
}

/* Error out unless x is a finite number. */
void
persona_check_finite(double x, const char *what)
{
	if (isnan(x) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what),
				 errdetail("Got %s.", isnan(x) ? "NaN" : (x > 0 ? "Infinity" : "-Infinity")),
				 errhint("Filter out or fix the row before profiling it.")));
}

/* Point a read-only StringInfo at the contents of a bytea. */
void
persona_bytea_reader(StringInfo buf, bytea *b)
{
	buf->data = VARDATA_ANY(b);
	buf->len = VARSIZE_ANY_EXHDR(b);
	buf->maxlen = buf->len;
	buf->cursor = 0;
}
