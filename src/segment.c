/*
 * segment.c — rfm_segment(rfm, scheme): named segments from RFM scores.
 *
 * Built-in schemes live here in C (fast, no table access):
 *  - standard: the common 11-segment grid of R against FM = round((F+M)/2),
 *    on a 5-point scale (other scales are rescaled: s5 = ceil(5 s / bins)).
 *  - cn8: the Chinese 8-class scheme; each of R, F, M is high (高) when the
 *    score lies above the middle of the scale (2 s > bins + 1).  With
 *    rfm_breaks(..., 2, 'mean') this is exactly "above the mean" (均值法).
 * User schemes are rows of persona.segment_rules, read once per query.
 * Without a monetary score (R and F only, '54-'): standard takes FM = F,
 * cn8 (which needs M) gives NULL, a user rule matches only if it does not
 * restrict M (m_min <= 1 and m_max >= the scale).
 */
#include "persona.h"
#include "rfm.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(rfm_segment);
PG_FUNCTION_INFO_V1(rfm_segment_in);

typedef struct SegmentName
{
	const char *en;
	const char *zh;
} SegmentName;

enum
{
	SEG_CHAMPIONS, SEG_LOYAL, SEG_POTENTIAL, SEG_NEW, SEG_PROMISING,
	SEG_ATTENTION, SEG_ABOUT_TO_SLEEP, SEG_AT_RISK, SEG_CANT_LOSE,
	SEG_HIBERNATING, SEG_LOST
};

static const SegmentName standard_names[] = {
	[SEG_CHAMPIONS] = {"Champions", "冠军客户"},
	[SEG_LOYAL] = {"Loyal Customers", "忠诚客户"},
	[SEG_POTENTIAL] = {"Potential Loyalist", "潜力忠诚客户"},
	[SEG_NEW] = {"New Customers", "新客户"},
	[SEG_PROMISING] = {"Promising", "有潜力客户"},
	[SEG_ATTENTION] = {"Need Attention", "需要关注客户"},
	[SEG_ABOUT_TO_SLEEP] = {"About To Sleep", "即将沉睡客户"},
	[SEG_AT_RISK] = {"At Risk", "流失风险客户"},
	[SEG_CANT_LOSE] = {"Can't Lose Them", "不能失去的客户"},
	[SEG_HIBERNATING] = {"Hibernating", "沉睡客户"},
	[SEG_LOST] = {"Lost", "已流失客户"},
};

/* standard_grid[5 - R][FM - 1] */
static const int standard_grid[5][5] = {
	/* R=5 */ {SEG_NEW, SEG_POTENTIAL, SEG_POTENTIAL, SEG_CHAMPIONS, SEG_CHAMPIONS},
	/* R=4 */ {SEG_PROMISING, SEG_POTENTIAL, SEG_POTENTIAL, SEG_LOYAL, SEG_LOYAL},
	/* R=3 */ {SEG_ABOUT_TO_SLEEP, SEG_ABOUT_TO_SLEEP, SEG_ATTENTION, SEG_LOYAL, SEG_LOYAL},
	/* R=2 */ {SEG_HIBERNATING, SEG_HIBERNATING, SEG_AT_RISK, SEG_AT_RISK, SEG_CANT_LOSE},
	/* R=1 */ {SEG_LOST, SEG_LOST, SEG_AT_RISK, SEG_AT_RISK, SEG_CANT_LOSE},
};

/* cn8_names[R high][F high][M high] */
static const SegmentName cn8_names[2][2][2] = {
	{	/* R low */
		{{"General Win-back", "一般挽留客户"}, {"Important Win-back", "重要挽留客户"}},
		{{"General Retention", "一般保持客户"}, {"Important Retention", "重要保持客户"}},
	},
	{	/* R high */
		{{"General Development", "一般发展客户"}, {"Important Development", "重要发展客户"}},
		{{"General Value", "一般价值客户"}, {"Important Value", "重要价值客户"}},
	},
};

/* One row of persona.segment_rules. */
typedef struct UserRule
{
	int			lo[3];
	int			hi[3];
	char	   *en;
	char	   *zh;				/* NULL: use en */
} UserRule;

typedef enum SchemeKind
{
	SCHEME_STANDARD, SCHEME_CN8, SCHEME_USER
} SchemeKind;

/* A loaded scheme: built in, or the rules of a user scheme. */
struct SegmentScheme
{
	char	   *name;
	SchemeKind	kind;
	int			nrules;
	UserRule   *rules;
};

/* Rescale a score from bins points to 5 points. */
static inline int
to_five(int s, int bins)
{
	return (5 * s + bins - 1) / bins;
}

/* Load the rules of a user scheme with SPI into mcxt; error if none. */
static void
load_user_scheme(SegmentScheme *c, MemoryContext mcxt)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	uint64		n;

	args[0] = CStringGetTextDatum(c->name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT r_min, r_max, f_min, f_max, m_min, m_max, segment, segment_zh"
							  " FROM persona.segment_rules WHERE scheme = $1 ORDER BY priority",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read persona.segment_rules");
	n = SPI_processed;
	/*
	 * On a Citus worker the rules table is the worker's, empty: the rules
	 * live on the coordinator, where the query must label the scores.
	 */
	if (n == 0 && persona_in_citus_task())
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("segment scheme \"%s\" does not exist on this Citus worker", c->name),
				 errdetail("Citus ran rfm_segment on a worker; user schemes are rows of persona.segment_rules on the coordinator."),
				 errhint("Label the scores on the coordinator: compute them in a MATERIALIZED CTE and call rfm_segment in the outer query.")));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("segment scheme \"%s\" does not exist", c->name),
				 errhint("Built-in schemes are 'standard' and 'cn8'; define your own as rows of persona.segment_rules.")));
	c->rules = MemoryContextAllocZero(mcxt, n * sizeof(UserRule));
	c->nrules = (int) n;
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *zh;

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		for (int d = 0; d < 3; d++)
		{
			c->rules[i].lo[d] = DatumGetInt32(SPI_getbinval(tup, desc, 2 * d + 1, &isnull));
			c->rules[i].hi[d] = DatumGetInt32(SPI_getbinval(tup, desc, 2 * d + 2, &isnull));
		}
		c->rules[i].en = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 7));
		zh = SPI_getvalue(tup, desc, 8);
		c->rules[i].zh = zh ? MemoryContextStrdup(mcxt, zh) : NULL;
	}
	SPI_finish();
}

/* Look up a scheme by name; user schemes are read from persona.segment_rules. */
SegmentScheme *
segment_scheme_load(const char *name, MemoryContext mcxt)
{
	SegmentScheme *c = MemoryContextAllocZero(mcxt, sizeof(SegmentScheme));

	c->name = MemoryContextStrdup(mcxt, name);
	if (strcmp(name, "standard") == 0)
		c->kind = SCHEME_STANDARD;
	else if (strcmp(name, "cn8") == 0)
		c->kind = SCHEME_CN8;
	else
	{
		c->kind = SCHEME_USER;
		load_user_scheme(c, mcxt);
	}
	return c;
}

/* The label of x in the scheme and language lang; NULL if no rule matches. */
const char *
segment_label(const SegmentScheme *c, Rfm x, PersonaLanguage lang)
{
	int			bins = RFM_BINS(x);
	int			s[3] = {RFM_R(x), RFM_F(x), RFM_M(x)};

	switch (c->kind)
	{
		case SCHEME_STANDARD:
			{
				int			r = to_five(s[0], bins);
				int			fm = s[2] == RFM_NO_M ? to_five(s[1], bins)
					: (to_five(s[1], bins) + to_five(s[2], bins) + 1) / 2;
				const SegmentName *n = &standard_names[standard_grid[5 - r][fm - 1]];

				return persona_label_in(lang, n->en, n->zh);
			}
		case SCHEME_CN8:
			{
				const SegmentName *n;

				if (s[2] == RFM_NO_M)
					return NULL;	/* high or low spend is the point of the scheme */
				n = &cn8_names[2 * s[0] > bins + 1]
				[2 * s[1] > bins + 1][2 * s[2] > bins + 1];

				return persona_label_in(lang, n->en, n->zh);
			}
		case SCHEME_USER:
			for (int i = 0; i < c->nrules; i++)
			{
				UserRule   *u = &c->rules[i];

				if (s[0] >= u->lo[0] && s[0] <= u->hi[0] &&
					s[1] >= u->lo[1] && s[1] <= u->hi[1] &&
					(s[2] == RFM_NO_M ? u->lo[2] <= 1 && u->hi[2] >= bins
					 : s[2] >= u->lo[2] && s[2] <= u->hi[2]))
					return (lang == PERSONA_LANG_ZH && u->zh) ? u->zh : u->en;
			}
			break;
	}
	return NULL;				/* no rule matched: unclassified */
}

/*
 * The label of argument 0 in the scheme of argument 1 and language lang.
 * The scheme is loaded once per call site (re-read by the next query, so
 * rule changes show up at once) and again only when the name changes.
 */
static Datum
segment_of(FunctionCallInfo fcinfo, PersonaLanguage lang)
{
	Rfm			x = PG_GETARG_RFM(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	SegmentScheme *c = (SegmentScheme *) fcinfo->flinfo->fn_extra;
	const char *label;

	if (c == NULL || strcmp(c->name, name) != 0)
	{
		c = segment_scheme_load(name, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = c;
	}
	label = segment_label(c, x, lang);
	if (label == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(label));
}

/* rfm_segment(rfm, scheme = 'standard') -> label in persona.language. */
Datum
rfm_segment(PG_FUNCTION_ARGS)
{
	return segment_of(fcinfo, persona_language);
}

/* rfm_segment(rfm, scheme, language) -> label in that language. */
Datum
rfm_segment_in(PG_FUNCTION_ARGS)
{
	return segment_of(fcinfo, persona_language_of(PG_GETARG_TEXT_PP(2)));
}
