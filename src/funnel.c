/*
 * funnel.c — the AARRR funnel: funnel_stage() and the funnel_counts
 * aggregate behind funnel_report().
 *
 * Stages (seed 004), highest reached wins:
 *   advocate  bought and referred someone          倡导者
 *   member    bought and is a member               会员
 *   customer  bought                               客户
 *   lead      signed up, has not bought            潜客
 *   visitor   visited, has not signed up           访客
 *   stranger  nothing known                        陌生人
 * NULL counts and flags count as 0 / false; negative counts are errors.
 */
#include "persona.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/array.h"

#define FUNNEL_STAGES 6

static const char *const funnel_names[FUNNEL_STAGES] =
{"stranger", "visitor", "lead", "customer", "member", "advocate"};

PG_FUNCTION_INFO_V1(funnel_stage);
PG_FUNCTION_INFO_V1(funnel_counts_transfn);
PG_FUNCTION_INFO_V1(funnel_counts_combinefn);
PG_FUNCTION_INFO_V1(funnel_counts_check);

/* A non-negative count argument (NULL is 0). */
static int64
count_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	int64		v;

	if (PG_ARGISNULL(n))
		return 0;
	v = PG_GETARG_INT64(n);
	if (v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", name),
				 errdetail("Got " INT64_FORMAT ".", v)));
	return v;
}

/* funnel_stage(visits int, signed_up bool, orders bigint, is_member bool, referrals int) */
Datum
funnel_stage(PG_FUNCTION_ARGS)
{
	int64		visits = count_arg(fcinfo, 0, "visits");
	bool		signed_up = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	int64		orders = count_arg(fcinfo, 2, "orders");
	bool		member = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	int64		referrals = count_arg(fcinfo, 4, "referrals");
	int			stage;

	if (orders > 0)
		stage = referrals > 0 ? 5 : (member ? 4 : 3);
	else if (signed_up)
		stage = 2;
	else
		stage = visits > 0 ? 1 : 0;
	return persona_enum_values(fcinfo, "funnel", funnel_names, FUNNEL_STAGES)[stage];
}

/*
 * The bigint[6] state or a funnel_counts result, checked like an input: a
 * one-dimensional bigint array of six non-NULL, non-negative counts.
 */
static ArrayType *
counts_array(Datum d)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	const int64 *c;

	if (ARR_ELEMTYPE(a) != INT8OID || ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != FUNNEL_STAGES ||
		ARR_LBOUND(a)[0] != 1 || ARR_HASNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("funnel counts must be a bigint array of %d elements without NULLs", FUNNEL_STAGES),
				 errdetail(ARR_HASNULL(a) ? "The array contains NULL." :
						   "Expected a one-dimensional bigint array of %d elements from index 1, got %d dimensions, %d elements from index %d.",
						   FUNNEL_STAGES, ARR_NDIM(a), ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)),
						   ARR_NDIM(a) > 0 ? ARR_LBOUND(a)[0] : 1),
				 errhint("Pass the result of persona.funnel_counts(stage).")));
	c = (const int64 *) ARR_DATA_PTR(a);
	for (int i = 0; i < FUNNEL_STAGES; i++)
		if (c[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("funnel counts must not be negative"),
					 errdetail("Count %d (%s) is negative: " INT64_FORMAT ".", i + 1, funnel_names[i], c[i]),
					 errhint("Pass the result of persona.funnel_counts(stage).")));
	return a;
}

/*
 * funnel_counts_transfn(bigint[6], persona.funnel): count one customer at
 * their stage.  The state is a real bigint[] (so partial states print and
 * re-read exactly), updated in place inside an aggregate like float8_accum.
 */
Datum
funnel_counts_transfn(PG_FUNCTION_ARGS)
{
	ArrayType  *a;
	int64	   *c;
	const Datum *stages;

	(void) persona_agg_context(fcinfo);
	a = counts_array(PG_GETARG_DATUM(0));
	c = (int64 *) ARR_DATA_PTR(a);
	if (PG_ARGISNULL(1))
		PG_RETURN_ARRAYTYPE_P(a);
	stages = persona_enum_values(fcinfo, "funnel", funnel_names, FUNNEL_STAGES);
	for (int i = 0; i < FUNNEL_STAGES; i++)
		if (stages[i] == PG_GETARG_DATUM(1) && pg_add_s64_overflow(c[i], 1, &c[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range")));
	PG_RETURN_ARRAYTYPE_P(a);
}

/* Add two bigint[6] states. */
Datum
funnel_counts_combinefn(PG_FUNCTION_ARGS)
{
	ArrayType  *a;
	ArrayType  *b;
	int64	   *ca;
	const int64 *cb;

	(void) persona_agg_context(fcinfo);
	a = counts_array(PG_GETARG_DATUM(0));
	b = counts_array(PG_GETARG_DATUM(1));
	ca = (int64 *) ARR_DATA_PTR(a);
	cb = (const int64 *) ARR_DATA_PTR(b);
	for (int i = 0; i < FUNNEL_STAGES; i++)
		if (pg_add_s64_overflow(ca[i], cb[i], &ca[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range")));
	PG_RETURN_ARRAYTYPE_P(a);
}

/* funnel_counts_check(bigint[]): the array if it is six non-negative counts, else an error. */
Datum
funnel_counts_check(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(counts_array(PG_GETARG_DATUM(0)));
}
