/*
 * persona.c — module entry point: PG_MODULE_MAGIC, GUCs and small shared helpers.
 */
#include "persona.h"

#include <math.h>

#include "utils/guc.h"
#include "utils/lsyscache.h"

PG_MODULE_MAGIC;

int			persona_language = PERSONA_LANG_EN;
static bool persona_progress = true;

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
							 "en = English, zh = Chinese (Simplified).",
							 &persona_language,
							 PERSONA_LANG_EN,
							 language_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("persona.lifecycle_new_days",
							"Customers whose first purchase is at most this many days old are new.",
							NULL, &lifecycle_new_days, 30, 0, 36500, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("persona.lifecycle_mature_purchases",
							"Purchase days from which a repeat buyer is mature.",
							NULL, &lifecycle_mature_purchases, 4, 2, 1000000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("persona.lifecycle_decline_factor",
							 "A repeat buyer silent for more than this many mean gaps is declining.",
							 NULL, &lifecycle_decline_factor, 2.0, 0.01, 1000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("persona.lifecycle_churn_factor",
							 "A repeat buyer silent for more than this many mean gaps has churned.",
							 NULL, &lifecycle_churn_factor, 4.0, 0.01, 1000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("persona.lifecycle_min_days",
							"Repeat buyers are not declining before this many silent days, nor churned before twice it.",
							NULL, &lifecycle_min_days, 30, 0, 36500, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("persona.lifecycle_decline_days",
							"A one-time buyer silent for more than this many days is declining.",
							NULL, &lifecycle_decline_days, 90, 1, 36500, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("persona.lifecycle_churn_days",
							"A one-time buyer silent for more than this many days has churned.",
							NULL, &lifecycle_churn_days, 180, 1, 36500, PGC_USERSET, 0, NULL, NULL, NULL);
	/* Read by the profile builder (SQL) through current_setting(). */
	DefineCustomBoolVariable("persona.progress",
							 "Report the steps of create_profile and refresh_profile as NOTICEs.",
							 NULL, &persona_progress, true, PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("persona");
}

/* The aggregate context, or 0A000 when a support function is called directly. */
MemoryContext
persona_agg_context(FunctionCallInfo fcinfo)
{
	MemoryContext aggctx;
	char	   *name = NULL;

	if (AggCheckCallContext(fcinfo, &aggctx))
		return aggctx;
	if (fcinfo->flinfo != NULL && OidIsValid(fcinfo->flinfo->fn_oid))
		name = get_func_name(fcinfo->flinfo->fn_oid);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("function %s can only be called as part of an aggregate",
					name ? name : "persona support function"),
			 errdetail("It is a support function of one of persona's aggregates."),
			 errhint("Call the aggregate instead.")));
	pg_unreachable();
}

/*
 * Whether this backend runs a task a Citus coordinator sent it: Citus
 * names those sessions citus_internal (gpid ...).  Their settings are the
 * worker's, and tables such as persona.segment_rules are the worker's too.
 */
bool
persona_in_citus_task(void)
{
	return application_name != NULL && strncmp(application_name, "citus_internal", 14) == 0;
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

void
persona_append_quoted(StringInfo buf, const char *s, int len)
{
	appendStringInfoChar(buf, '"');
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '"' || s[i] == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, s[i]);
	}
	appendStringInfoChar(buf, '"');
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
