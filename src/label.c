/*
 * label.c — persona's enum types: looking their values up from C, and
 * label(anyenum), their display name in English or Chinese.  Every label
 * persona writes in C goes through persona_label(): the Chinese forms are
 * UTF-8 string literals, converted here to the server encoding (as is in
 * UTF8 and SQL_ASCII databases; an error where the encoding lacks them,
 * never mojibake).
 */
#include "persona.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(enum_label);
PG_FUNCTION_INFO_V1(enum_label_in);

typedef struct EnumLabel
{
	const char *type;
	const char *value;
	const char *en;
	const char *zh;
} EnumLabel;

static const EnumLabel labels[] = {
	{"lifecycle", "prospect", "Prospect", "潜在客户"},
	{"lifecycle", "new", "New", "新手期"},
	{"lifecycle", "growing", "Growing", "成长期"},
	{"lifecycle", "mature", "Mature", "成熟期"},
	{"lifecycle", "declining", "Declining", "衰退期"},
	{"lifecycle", "churned", "Churned", "流失期"},
	{"funnel", "stranger", "Stranger", "陌生人"},
	{"funnel", "visitor", "Visitor", "访客"},
	{"funnel", "lead", "Lead", "潜客"},
	{"funnel", "customer", "Customer", "客户"},
	{"funnel", "member", "Member", "会员"},
	{"funnel", "advocate", "Advocate", "倡导者"},
	{"daypart", "morning", "Morning", "早上"},
	{"daypart", "lunch", "Lunch", "午餐"},
	{"daypart", "afternoon", "Afternoon", "下午"},
	{"daypart", "evening", "Evening", "晚上"},
	{"daypart", "night", "Night", "深夜"},
	{"value_tier", "regular", "Regular", "普通"},
	{"value_tier", "gold", "Gold", "黄金"},
	{"value_tier", "diamond", "Diamond", "钻石"},
	{"tag_layer", "basic", "Basic", "基础"},
	{"tag_layer", "behavior", "Behavior", "行为"},
	{"tag_layer", "preference", "Preference", "偏好"},
	{"tag_layer", "value", "Value", "价值"},
	{"tag_layer", "predictive", "Predictive", "预测"},
};

/* Converted labels, kept for the backend (the labels are a fixed set of literals). */
typedef struct ConvertedLabel
{
	const char *utf8;
	const char *server;
} ConvertedLabel;

#define MAX_CONVERTED 128
static ConvertedLabel converted[MAX_CONVERTED];
static int	nconverted = 0;

/*
 * A string literal written in UTF-8, in the server encoding.  Error
 * 22P05 if the server encoding has no equivalent for its characters.
 */
const char *
persona_from_utf8(const char *utf8)
{
	int			enc = GetDatabaseEncoding();
	int			len = strlen(utf8);
	Oid			proc;
	char	   *buf;
	int			done;

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return utf8;
	for (int i = 0; i < nconverted; i++)
		if (converted[i].utf8 == utf8)
			return converted[i].server;
	proc = FindDefaultConversionProc(PG_UTF8, enc);
	buf = palloc((Size) len * MAX_CONVERSION_GROWTH + 1);
	done = OidIsValid(proc)
		? pg_do_encoding_conversion_buf(proc, PG_UTF8, enc, (unsigned char *) utf8, len,
										(unsigned char *) buf, len * MAX_CONVERSION_GROWTH + 1, true)
		: 0;
	/* some mapping tables (EUC_TW) yield bytes the encoding's own check rejects */
	if (done < len || !pg_verify_mbstr(enc, buf, strlen(buf), true))
		ereport(ERROR,
				(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
				 errmsg("label cannot be represented in server encoding \"%s\"",
						GetDatabaseEncodingName()),
				 errdetail("The Chinese label has characters with no equivalent in encoding \"%s\".",
						   GetDatabaseEncodingName()),
				 errhint("Set persona.language = 'en' (or pass the language 'en'), or use a database with encoding UTF8.")));
	if (nconverted == MAX_CONVERTED)
		return buf;
	converted[nconverted].utf8 = utf8;
	converted[nconverted].server = MemoryContextStrdup(TopMemoryContext, buf);
	pfree(buf);
	return converted[nconverted++].server;
}

/* The English or Chinese form of a label in language lang, in the server encoding. */
const char *
persona_label_in(PersonaLanguage lang, const char *en, const char *zh)
{
	return lang == PERSONA_LANG_ZH ? persona_from_utf8(zh) : en;
}

/* The English or Chinese form of a label in persona.language. */
const char *
persona_label(const char *en, const char *zh)
{
	return persona_label_in(persona_language, en, zh);
}

/*
 * A language given as a value: 'en' or 'zh', case-insensitive as the
 * persona.language setting takes them; 22023 otherwise.
 */
PersonaLanguage
persona_language_of(text *name)
{
	char	   *s = text_to_cstring(name);

	if (pg_strcasecmp(s, "en") == 0)
		return PERSONA_LANG_EN;
	if (pg_strcasecmp(s, "zh") == 0)
		return PERSONA_LANG_ZH;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("language \"%s\" not recognized", s),
			 errhint("Use 'en' (English) or 'zh' (Chinese).")));
	pg_unreachable();
}

/* The value (pg_enum OID) of a label of enum type persona.typname. */
Datum
persona_enum_value(const char *typname, const char *label)
{
	Oid			nsp = get_namespace_oid("persona", false);
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum(typname), ObjectIdGetDatum(nsp));
	HeapTuple	tup;
	Oid			result;

	tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(typid), CStringGetDatum(label));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "enum persona.%s has no label \"%s\"", typname, label);
	result = ((Form_pg_enum) GETSTRUCT(tup))->oid;
	ReleaseSysCache(tup);
	return ObjectIdGetDatum(result);
}

/*
 * The values of persona.typname for labels[0..n-1], looked up once per call
 * site (kept in fn_extra, which the caller must not use otherwise).
 */
const Datum *
persona_enum_values(FunctionCallInfo fcinfo, const char *typname, const char *const *names, int n)
{
	Datum	   *v = (Datum *) fcinfo->flinfo->fn_extra;

	if (v == NULL)
	{
		v = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, n * sizeof(Datum));
		for (int i = 0; i < n; i++)
			v[i] = persona_enum_value(typname, names[i]);
		fcinfo->flinfo->fn_extra = v;
	}
	return v;
}

/* The display name of enum value value in language lang; other enums give their label. */
static text *
label_of(Oid value, PersonaLanguage lang)
{
	HeapTuple	etup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(value));
	Form_pg_enum e;
	char	   *label;
	char	   *typname = NULL;
	bool		ours = false;

	if (!HeapTupleIsValid(etup))
		elog(ERROR, "cache lookup failed for enum value %u", value);
	e = (Form_pg_enum) GETSTRUCT(etup);
	label = pstrdup(NameStr(e->enumlabel));
	{
		HeapTuple	ttup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(e->enumtypid));

		if (HeapTupleIsValid(ttup))
		{
			Form_pg_type t = (Form_pg_type) GETSTRUCT(ttup);

			ours = t->typnamespace == get_namespace_oid("persona", true);
			typname = pstrdup(NameStr(t->typname));
			ReleaseSysCache(ttup);
		}
	}
	ReleaseSysCache(etup);
	if (ours)
		for (int i = 0; i < lengthof(labels); i++)
			if (strcmp(labels[i].type, typname) == 0 && strcmp(labels[i].value, label) == 0)
				return cstring_to_text(persona_label_in(lang, labels[i].en, labels[i].zh));
	return cstring_to_text(label);
}

/* label(anyenum): display name in persona.language. */
Datum
enum_label(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(label_of(PG_GETARG_OID(0), persona_language));
}

/* label(anyenum, language): display name in the given language. */
Datum
enum_label_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(label_of(PG_GETARG_OID(0), persona_language_of(PG_GETARG_TEXT_PP(1))));
}
