/*
 * data_quality.c — data_quality(orders, ...): what is messy in an orders
 * table and how persona's profiles treat it (seed 003, step 3 数据清洗).
 *
 * One query through SPI: the relation is read once into a materialised CTE,
 * which the checks then read — one pass for the row counts, duplicates,
 * mean, standard deviation and median; one for the 3-sd outliers and the
 * median absolute deviation; one for the MAD outliers; one grouping by
 * customer.  The counts come back as one row, and the result rows (fixed
 * order, stable check names) get their labels here, in C, so that the
 * Chinese ones are converted to the server encoding like every persona
 * label (label.c).
 *
 * Which rows are orders follows order_stats (stats.c): a row with a
 * customer and a finite time on or before the day of as_of, and an amount
 * that is NULL or finite and >= 0.  Time of day and the as_of day are read
 * in time_zone (NULL: the session TimeZone), and a timestamp or date column
 * holds local times of time_zone (quality_time_sql).
 */
#include "persona.h"

#include "quality_scan.h"
#include "relation.h"

#include "access/xact.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(data_quality);

/* A check: the counts' column in the query, and how it is shown. */
typedef struct QualityCheck
{
	const char *name;			/* check_name, and the query's column */
	bool		per_customer;	/* share of customers rather than of orders */
	const char *en;
	const char *zh;
	const char *treatment_en;
	const char *treatment_zh;
} QualityCheck;

static const QualityCheck checks[] = {
	{"orders", false, "Orders (all rows)", "订单（全部行）",
	 "the rows persona reads", "persona 读取的全部行"},
	{"duplicate_orders", false, "Duplicate orders (share of orders)", "重复订单（占订单比例）",
	 "counted, not removed", "照常计入，不去重"},
	{"missing_customer", false, "Missing customer (share of orders)", "缺少客户（占订单比例）",
	 "excluded", "排除"},
	{"missing_time", false, "Missing order time (share of orders)", "缺少下单时间（占订单比例）",
	 "excluded", "排除"},
	{"missing_amount", false, "Missing amount (share of orders)", "缺少金额（占订单比例）",
	 "an order without revenue", "计为订单，不计收入"},
	{"zero_amount", false, "Zero amount (share of orders)", "金额为零（占订单比例）",
	 "an order with no revenue", "计为订单，收入为零"},
	{"negative_amount", false, "Negative amount (share of orders)", "负金额（占订单比例）",
	 "a refund: lowers revenue, not an order", "退款：冲减收入，不计为订单"},
	{"nonfinite_amount", false, "NaN or infinite amount (share of orders)", "金额为 NaN 或无穷（占订单比例）",
	 "an error (22023) in persona's statistics: fix or filter the rows", "persona 统计报错（22023）：请修正或过滤"},
	{"future_time", false, "Order time after as_of (share of orders)", "下单时间晚于统计日（占订单比例）",
	 "excluded: statistics are as of the day of as_of", "排除：按统计日计算"},
	{"infinite_time", false, "Infinite order time (share of orders)", "下单时间为无穷（占订单比例）",
	 "an error (22008) in persona's statistics: fix or filter the rows", "persona 统计报错（22008）：请修正或过滤"},
	{"date_only_orders", false, "Date-only orders at midnight (share of orders)", "只有日期的订单（零点，占订单比例）",
	 "counted; a customer whose orders are all at midnight has NULL hours and dayparts",
	 "照常计入；订单全在零点的客户，其时段为空"},
	{"date_only_customers", true, "Customers with only date-only orders (share of customers with orders)", "订单全在零点的客户（占有订单客户比例）",
	 "hours and dayparts NULL", "小时与时段为空"},
	{"amount_beyond_3sd", false, "Amount beyond mean +/- 3 sd (share of orders)", "金额超出均值±3倍标准差（占订单比例）",
	 "counted, flagged", "照常计入，标记"},
	{"amount_beyond_mad", false, "Amount beyond median +/- 3 scaled MAD (share of orders)", "金额超出中位数±3倍MAD（占订单比例）",
	 "counted, flagged", "照常计入，标记"},
	{"one_time_buyers", true, "One-time buyers (share of customers with orders)", "一次性购买客户（占有订单客户比例）",
	 "profiled; no repeat purchase for the BTYD models, skipped by the Gamma-Gamma fit",
	 "照常画像；BTYD 模型中无复购，Gamma-Gamma 拟合跳过"},
};

#define NCHECKS lengthof(checks)
StaticAssertDecl(lengthof(checks) == QI_NCHECKS, "checks and QualityIndex differ");

/* Error unless argument argno is not NULL. */
static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

/*
 * The type of column col of rel: 42703 naming it and the argument if there
 * is no such column, 42501 (as a SELECT would say) if the caller may not
 * read it, so that user errors come from here rather than from inside the
 * counting query.
 */
static Oid
column_type(const PersonaRelation *rel, const char *col, const char *argname)
{
	AttrNumber	att = get_attnum(rel->relid, col);
	Oid			role = GetUserId();

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, rel->relname),
				 errhint("Name the column with %s => '...'.", argname)));
	if (pg_class_aclcheck(rel->relid, role, ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck(rel->relid, att, role, ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error_col(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->relkind), rel->relname, col);
	return get_atttype(rel->relid, att);
}

/* 42804 naming the column, its type and what it must be. */
static void pg_attribute_noreturn()
wrong_type(const char *what, const char *col, Oid type, const char *must)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s column \"%s\" must be %s", what, col, must),
			 errdetail("It is %s.", format_type_be(type)),
			 errhint("Convert the column in a view and pass the view.")));
}

/* Error unless values of type can be compared (grouping, DISTINCT). */
static void
check_comparable(const char *what, const char *col, Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_LT_OPR);

	if (!OidIsValid(tc->lt_opr))
		wrong_type(what, col, type, "of a type with a btree operator class");
}

/* Error unless a value of type converts to target without an explicit cast. */
static void
check_coercible(const char *what, const char *col, Oid type, Oid target,
				CoercionContext ctx, const char *must)
{
	if (!can_coerce_type(1, &type, &target, ctx))
		wrong_type(what, col, type, must);
}

/* persona.language, or the language argument ('en' or 'zh'). */
static PersonaLanguage
quality_language(FunctionCallInfo fcinfo, int argno)
{
	char	   *lang;

	if (PG_ARGISNULL(argno))
		return (PersonaLanguage) persona_language;
	lang = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(lang, "en") == 0)
		return PERSONA_LANG_EN;
	if (strcmp(lang, "zh") == 0)
		return PERSONA_LANG_ZH;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown language \"%s\"", lang),
			 errhint("Use 'en' or 'zh', or NULL for the persona.language setting.")));
	pg_unreachable();
}

/*
 * The counting query.  $1 is the time zone (text), $2 as_of (timestamptz,
 * NULL: now()).  The columns are bigint: the checks in order, then the
 * number of customers with at least one order.  p (the as_of day) is in the FROM list so that a bad
 * time zone is an error even on an empty table.
 */
static char *
quality_query(const PersonaRelation *rel, const char *cust, const char *time_sql,
			  const char *amount, const char *order_col, bool zone)
{
	StringInfoData q;
	const char *local = zone ? "(f.t AT TIME ZONE $1)" : "f.t::pg_catalog.timestamp";

	initStringInfo(&q);
	appendStringInfo(&q,
					 "WITH base AS MATERIALIZED ("
					 " SELECT %s AS cust, %s AS t, %s::pg_catalog.numeric AS a, %s AS ord FROM %s),",
					 quote_identifier(cust), time_sql, quote_identifier(amount),
					 order_col ? quote_identifier(order_col) : "NULL::pg_catalog.int4", rel->qualified);
	appendStringInfo(&q,
					 " p AS (SELECT (%s)::pg_catalog.date AS as_of_day),",
					 zone ? "COALESCE($2, pg_catalog.now()) AT TIME ZONE $1"
					 : "COALESCE($2, pg_catalog.now())::pg_catalog.timestamp");
	/* per-row flags; NULL where the value they test is NULL */
	appendStringInfo(&q,
					 " f AS NOT MATERIALIZED ("
					 "  SELECT b.*, NOT pg_catalog.isfinite(b.t) AS t_bad,"
					 "         b.a IN ('NaN', 'Infinity', '-Infinity') AS a_bad FROM base b),"
					 " g AS NOT MATERIALIZED ("
					 "  SELECT f.cust, f.t, f.a, f.ord, f.t_bad, f.a_bad,"
					 "         CASE WHEN NOT f.t_bad THEN %s::pg_catalog.date > (SELECT as_of_day FROM p) END AS future,"
					 "         CASE WHEN NOT f.t_bad THEN %s::pg_catalog.time = '00:00' END AS midnight,"
					 "         (NOT f.a_bad AND f.a >= 0) AS a_ok"
					 "  FROM f),"
					 " o AS NOT MATERIALIZED ("
					 "  SELECT g.*, (g.cust IS NOT NULL AND NOT g.t_bad AND NOT g.future"
					 "               AND (g.a IS NULL OR g.a_ok)) AS counted FROM g),",
					 local, local);
	appendStringInfo(&q,
					 " s1 AS (SELECT pg_catalog.count(*) AS orders,"
					 "  %s AS duplicate_orders,"
					 "  pg_catalog.count(*) FILTER (WHERE cust IS NULL) AS missing_customer,"
					 "  pg_catalog.count(*) FILTER (WHERE t IS NULL) AS missing_time,"
					 "  pg_catalog.count(*) FILTER (WHERE a IS NULL) AS missing_amount,"
					 "  pg_catalog.count(*) FILTER (WHERE a = 0) AS zero_amount,"
					 "  pg_catalog.count(*) FILTER (WHERE a < 0 AND NOT a_bad) AS negative_amount,"
					 "  pg_catalog.count(*) FILTER (WHERE a_bad) AS nonfinite_amount,"
					 "  pg_catalog.count(*) FILTER (WHERE future) AS future_time,"
					 "  pg_catalog.count(*) FILTER (WHERE t_bad) AS infinite_time,"
					 "  pg_catalog.count(*) FILTER (WHERE counted AND midnight) AS date_only_orders,"
					 "  pg_catalog.avg(a) FILTER (WHERE a_ok) AS mean,"
					 "  pg_catalog.stddev_samp(a) FILTER (WHERE a_ok) AS sd,"
					 "  pg_catalog.percentile_disc(0.5) WITHIN GROUP (ORDER BY a) FILTER (WHERE a_ok) AS med_lo,"
					 "  pg_catalog.percentile_disc(0.5) WITHIN GROUP (ORDER BY a DESC) FILTER (WHERE a_ok) AS med_hi"
					 "  FROM o),",
					 order_col ? "pg_catalog.count(ord) - pg_catalog.count(DISTINCT ord)"
					 : "pg_catalog.count(*) - pg_catalog.count(DISTINCT (cust, t, a))");
	/* deviations of the finite amounts >= 0 from the mean and the median */
	appendStringInfoString(&q,
						   " d AS MATERIALIZED (SELECT pg_catalog.abs(o.a - s1.mean) AS from_mean,"
						   "   pg_catalog.abs(o.a - (s1.med_lo + s1.med_hi) / 2) AS from_median, s1.sd"
						   "  FROM o, s1 WHERE o.a_ok),"
						   " s2 AS (SELECT pg_catalog.count(*) FILTER (WHERE from_mean > 3 * sd) AS amount_beyond_3sd,"
						   "  pg_catalog.count(*) FILTER (WHERE from_median > 0) AS off_median,"
						   "  pg_catalog.percentile_disc(0.5) WITHIN GROUP (ORDER BY from_median) AS mad_lo,"
						   "  pg_catalog.percentile_disc(0.5) WITHIN GROUP (ORDER BY from_median DESC) AS mad_hi"
						   "  FROM d),"
						   " s3 AS (SELECT pg_catalog.count(*) FILTER ("
						   "   WHERE d.from_median > 3 * 1.4826 * (s2.mad_lo + s2.mad_hi) / 2) AS beyond_mad"
						   "  FROM d, s2),"
						   " c AS (SELECT pg_catalog.count(*) FILTER (WHERE n > 0) AS customers,"
						   "  pg_catalog.count(*) FILTER (WHERE n > 0 AND n = midnight) AS date_only_customers,"
						   "  pg_catalog.count(*) FILTER (WHERE n = 1) AS one_time_buyers"
						   "  FROM (SELECT pg_catalog.count(*) FILTER (WHERE counted) AS n,"
						   "               pg_catalog.count(*) FILTER (WHERE counted AND midnight) AS midnight"
						   "        FROM o WHERE cust IS NOT NULL GROUP BY cust) x)"
						   " SELECT s1.orders, s1.duplicate_orders, s1.missing_customer, s1.missing_time,"
						   "  s1.missing_amount, s1.zero_amount, s1.negative_amount, s1.nonfinite_amount,"
						   "  s1.future_time, s1.infinite_time, s1.date_only_orders, c.date_only_customers,"
						   "  s2.amount_beyond_3sd,"
						   /* MAD 0 with amounts off the median: the rule is undefined */
						   "  CASE WHEN s2.mad_lo + s2.mad_hi = 0 AND s2.off_median > 0 THEN NULL"
						   "       ELSE s3.beyond_mad END AS amount_beyond_mad,"
						   "  c.one_time_buyers, c.customers"
						   " FROM s1, s2, s3, c, p");
	return q.data;
}

/*
 * The counts by the general query: any column types, any amounts.  The
 * fast path (quality_scan.c) gives the same counts for the common ones.
 */
static void
quality_by_query(const QualityInput *in, Oid *argtypes, Datum *args, char *argnulls,
				 QualityCounts *out)
{
	int			ret;
	bool		cnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args(quality_query(in->rel, in->cust, quality_time_sql(in), in->amount,
											  in->order_col, in->has_zone),
								2, argtypes, args, argnulls, true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "data_quality query failed: %s", SPI_result_code_string(ret));
	for (int i = 0; i < NCHECKS; i++)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1,
									  &out->isnull[i]);

		out->counts[i] = out->isnull[i] ? 0 : DatumGetInt64(d);
	}
	out->customers = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 NCHECKS + 1, &cnull));
	SPI_finish();
}

/*
 * data_quality(orders regclass, customer_col, time_col, amount_col,
 *              order_col, time_zone, as_of, language)
 */
Datum
data_quality(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PersonaRelation rel;
	char	   *cust, *time, *amount, *order_col = NULL;
	PersonaLanguage lang;
	Oid			argtypes[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		args[2] = {0, 0};
	char		argnulls[2] = {' ', ' '};
	int64		counts[NCHECKS];
	bool		isnull[NCHECKS];
	int64		customers;
	Oid			type;
	Oid			type_of_time;
	QualityInput in = {0};
	QualityCounts qc;

	require_arg(fcinfo, 0, "orders");
	require_arg(fcinfo, 1, "customer_col");
	require_arg(fcinfo, 2, "time_col");
	require_arg(fcinfo, 3, "amount_col");
	/* First: a bad relation must not get as far as the catalogs or SPI. */
	persona_resolve_relation(PG_GETARG_OID(0), &rel);
	cust = text_to_cstring(PG_GETARG_TEXT_PP(1));
	time = text_to_cstring(PG_GETARG_TEXT_PP(2));
	amount = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
		order_col = text_to_cstring(PG_GETARG_TEXT_PP(4));
	lang = quality_language(fcinfo, 7);

	in.cust_type = column_type(&rel, cust, "customer_col");
	check_comparable("customer", cust, in.cust_type);
	type_of_time = column_type(&rel, time, "time_col");
	check_coercible("time", time, type_of_time, TIMESTAMPTZOID, COERCION_IMPLICIT,
					"timestamptz (or timestamp or date)");
	type = column_type(&rel, amount, "amount_col");
	check_coercible("amount", amount, type, NUMERICOID, COERCION_ASSIGNMENT,
					"of a numeric type");
	if (order_col)
	{
		in.order_type = column_type(&rel, order_col, "order_col");
		check_comparable("order", order_col, in.order_type);
	}

	if (PG_ARGISNULL(5))
		argnulls[0] = 'n';
	else
	{
		/* an unknown zone is an error here, even for an empty table */
		args[0] = PG_GETARG_DATUM(5);
		(void) DirectFunctionCall2(timestamptz_zone, args[0],
								   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
	}
	if (PG_ARGISNULL(6))
		argnulls[1] = 'n';
	else
		args[1] = PG_GETARG_DATUM(6);

	InitMaterializedSRF(fcinfo, 0);
	in.rel = &rel;
	in.cust = cust;
	in.time = time;
	in.time_type = type_of_time;
	in.amount = amount;
	in.order_col = order_col;
	in.has_zone = !PG_ARGISNULL(5);
	in.zone = args[0];
	in.has_as_of = !PG_ARGISNULL(6);
	in.as_of = args[1];
	if (!quality_scan_supported(&in))
	{
		elog(DEBUG1, "data_quality: general query (column types)");
		quality_by_query(&in, argtypes, args, argnulls, &qc);
	}
	else if (!quality_scan(&in, &qc))
	{
		elog(DEBUG1, "data_quality: general query (memory or amounts)");
		quality_by_query(&in, argtypes, args, argnulls, &qc);
	}
	else
		elog(DEBUG1, "data_quality: one pass");
	customers = qc.customers;
	memcpy(counts, qc.counts, sizeof(counts));
	memcpy(isnull, qc.isnull, sizeof(isnull));

	for (int i = 0; i < NCHECKS; i++)
	{
		const QualityCheck *qc = &checks[i];
		int64		of = qc->per_customer ? customers : counts[0];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		bool		zh = lang == PERSONA_LANG_ZH;

		values[0] = CStringGetTextDatum(qc->name);
		values[1] = CStringGetTextDatum(zh ? persona_from_utf8(qc->zh) : qc->en);
		values[2] = Int64GetDatum(counts[i]);
		nulls[2] = isnull[i];
		values[3] = Float8GetDatum(of > 0 ? (double) counts[i] / (double) of : 0);
		nulls[3] = isnull[i] || of == 0;
		values[4] = CStringGetTextDatum(zh ? persona_from_utf8(qc->treatment_zh) : qc->treatment_en);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
