/*
 * bucket.c — quantisation (量化): bucket(value, breaks, labels) and value
 * tiers.  breaks are inclusive upper bounds, strictly ascending:
 * value <= breaks[1] -> labels[1]; breaks[i-1] < value <= breaks[i] ->
 * labels[i]; value > breaks[n] -> labels[n+1].  So '{2,4}' reads as the
 * seed's "<= 2 / 3-4 / >= 5" for counts.  The ready-made buckets
 * (purchase_count_bucket, price_sensitivity, ltv_bucket) label in
 * persona.language through persona_label().
 */
#include "persona.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(bucket_float8);
PG_FUNCTION_INFO_V1(purchase_count_bucket);
PG_FUNCTION_INFO_V1(price_sensitivity);
PG_FUNCTION_INFO_V1(ltv_bucket);
PG_FUNCTION_INFO_V1(value_tier);

/* Breaks and labels decoded and validated once per call site. */
typedef struct BucketCache
{
	ArrayType  *breaks_raw;		/* copies, to recognise the same arguments */
	ArrayType  *labels_raw;
	int			nbreaks;
	double	   *breaks;
	Datum	   *labels;			/* text datums, NULL allowed (NULL result) */
	bool	   *label_null;
} BucketCache;

/* Whether two arrays are byte-for-byte the same value. */
static bool
same_array(ArrayType *a, ArrayType *b)
{
	return a && b && VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

/* Decode and check breaks and labels. */
static BucketCache *
bucket_cache(FunctionCallInfo fcinfo, ArrayType *breaks, ArrayType *labels)
{
	BucketCache *c = (BucketCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;
	Datum	   *bd;
	bool	   *bn;
	int			nb, nl;

	if (c && same_array(c->breaks_raw, breaks) && same_array(c->labels_raw, labels))
		return c;
	if (ARR_NDIM(breaks) > 1 || ARR_NDIM(labels) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("breaks and labels must be one-dimensional arrays")));
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	c = palloc0(sizeof(BucketCache));
	c->breaks_raw = (ArrayType *) pg_detoast_datum_copy((struct varlena *) breaks);
	c->labels_raw = (ArrayType *) pg_detoast_datum_copy((struct varlena *) labels);
	deconstruct_array(c->breaks_raw, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &bd, &bn, &nb);
	deconstruct_array(c->labels_raw, TEXTOID, -1, false, TYPALIGN_INT, &c->labels, &c->label_null, &nl);
	MemoryContextSwitchTo(old);
	if (nb < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("breaks must not be empty")));
	if (nl != nb + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("need one more label than breaks"),
				 errdetail("Got %d breaks and %d labels.", nb, nl),
				 errhint("n breaks cut values into n + 1 buckets.")));
	c->breaks = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, nb * sizeof(double));
	for (int i = 0; i < nb; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 16);
		if (bn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("breaks must not contain NULL")));
		c->breaks[i] = DatumGetFloat8(bd[i]);
		if (isnan(c->breaks[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("breaks must not contain NaN")));
		if (i > 0 && !(c->breaks[i] > c->breaks[i - 1]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("breaks must be strictly ascending"),
					 errdetail("Element %d (%g) is not greater than element %d (%g).",
							   i + 1, c->breaks[i], i, c->breaks[i - 1])));
	}
	c->nbreaks = nb;
	fcinfo->flinfo->fn_extra = c;
	return c;
}

/* Index of the bucket of v among ascending inclusive upper bounds b[0..n-1]. */
static int
value_bucket(double v, const double *b, int n)
{
	int			i = 0,
				hi = n;

	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value must not be NaN")));
	/* i = the number of breaks below v, by binary search (there can be millions) */
	while (i < hi)
	{
		int			mid = i + (hi - i) / 2;

		if (v > b[mid])
			i = mid + 1;
		else
			hi = mid;
	}
	return i;
}

/* bucket(value float8, breaks float8[], labels text[]) -> text */
Datum
bucket_float8(PG_FUNCTION_ARGS)
{
	double		v = PG_GETARG_FLOAT8(0);
	BucketCache *c = bucket_cache(fcinfo, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2));
	int			i = value_bucket(v, c->breaks, c->nbreaks);

	if (c->label_null[i])
		PG_RETURN_NULL();
	PG_RETURN_DATUM(c->labels[i]);
}

/* purchase_count_bucket(orders bigint): 1-2 / 3-5 / more than 5 orders; NULL below 1. */
Datum
purchase_count_bucket(PG_FUNCTION_ARGS)
{
	static const double breaks[] = {2, 5};
	static const char *const en[] = {"1-2 orders", "3-5 orders", "more than 5 orders"};
	static const char *const zh[] = {"1-2次", "3-5次", "5次以上"};
	int64		orders = PG_GETARG_INT64(0);
	int			i;

	if (orders < 1)
		PG_RETURN_NULL();
	i = value_bucket((double) orders, breaks, lengthof(breaks));
	PG_RETURN_TEXT_P(cstring_to_text(persona_label(en[i], zh[i])));
}

/* price_sensitivity(promotion_uses bigint): <= 2 low, 3-4 medium, >= 5 high. */
Datum
price_sensitivity(PG_FUNCTION_ARGS)
{
	static const double breaks[] = {2, 4};
	static const char *const en[] = {"low", "medium", "high"};
	static const char *const zh[] = {"低敏感", "中敏感", "高敏感"};
	int			i = value_bucket((double) PG_GETARG_INT64(0), breaks, lengthof(breaks));

	PG_RETURN_TEXT_P(cstring_to_text(persona_label(en[i], zh[i])));
}

/* ltv_bucket(value numeric): 0-500 low, 500-2000 medium, over 2000 high. */
Datum
ltv_bucket(PG_FUNCTION_ARGS)
{
	static const double breaks[] = {500, 2000};
	static const char *const en[] = {"low", "medium", "high"};
	static const char *const zh[] = {"低价值", "中价值", "高价值"};
	double		v = DatumGetFloat8(DirectFunctionCall1(numeric_float8, PG_GETARG_DATUM(0)));
	int			i = value_bucket(v, breaks, lengthof(breaks));

	PG_RETURN_TEXT_P(cstring_to_text(persona_label(en[i], zh[i])));
}

static const char *const tier_names[] = {"regular", "gold", "diamond"};

/* value_tier(value, gold_min, diamond_min) -> persona.value_tier (普通/黄金/钻石) */
Datum
value_tier(PG_FUNCTION_ARGS)
{
	double		v = PG_GETARG_FLOAT8(0);
	double		gold = PG_GETARG_FLOAT8(1);
	double		diamond = PG_GETARG_FLOAT8(2);
	int			tier;

	persona_check_finite(v, "value");
	persona_check_finite(gold, "gold_min");
	persona_check_finite(diamond, "diamond_min");
	/*
	 * Equal thresholds are the percentiles of tied values (the 80th and 95th
	 * of revenues that many customers share): value >= both is diamond and no
	 * customer is gold, as the inclusive thresholds say.
	 */
	if (diamond < gold)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("diamond_min must not be less than gold_min"),
				 errdetail("Got gold_min %g and diamond_min %g.", gold, diamond)));
	tier = v >= diamond ? 2 : (v >= gold ? 1 : 0);
	return persona_enum_values(fcinfo, "value_tier", tier_names, lengthof(tier_names))[tier];
}
