/*
 * rfm_breaks.c — cut points for RFM scores and the scoring function.
 *
 * Scores run 1..N with N best.  With the 'quantile' method a customer's
 * score in a dimension is
 *
 *		1 + floor(N * share of customers strictly worse in that dimension)
 *
 * (capped at N), where worse means older last purchase, fewer orders, less
 * money.  The score depends only on the value, so ties always share a
 * score: a tie group gets the score of its lowest-ranked member, the worst
 * value always scores 1, and when many customers tie (60% with exactly one
 * order) the scores the tie group spans stay empty instead of being dealt
 * out arbitrarily as ntile() does.  Stored as cut points so new customers
 * can be scored against an old population:
 *
 *		F, M:	score = 1 + #{k : value >= cut[k]}		(cuts ascending)
 *		R:		score = 1 + #{k : days  <= cut[k]}		(cuts descending)
 *
 * A cut of NULL in the text form (infinite internally) means no value
 * reaches that score.  The 'mean' method (2 bins) cuts at the mean, the
 * classic 高/低 split of the Chinese 8-class scheme; persona.rfm_thresholds
 * builds breaks from business rules.
 */
#include "persona.h"
#include "rfm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "f8state.h"
#include "weighted_rows.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/supportnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

typedef enum BreaksMethod
{
	BREAKS_QUANTILE,
	BREAKS_MEAN,
	BREAKS_THRESHOLDS
} BreaksMethod;

static const char *const method_names[] = {"quantile", "mean", "thresholds"};

/* What the rows of each dimension are called in errors. */
static const char *const dim_rows_names[] = {"recency rows", "frequency rows", "monetary rows"};

/* The persona.rfm_breaks varlena. */
typedef struct RfmBreaks
{
	int32		vl_len_;
	int32		bins;
	int32		method;
	int32		padding;
	int64		n;				/* customers the cuts were computed from */
	double		cuts[FLEXIBLE_ARRAY_MEMBER];	/* r[bins-1], f[bins-1], m[bins-1] */
} RfmBreaks;

#define BREAKS_SIZE(bins)	(offsetof(RfmBreaks, cuts) + sizeof(double) * 3 * ((bins) - 1))
#define R_CUTS(b)	((b)->cuts)
#define F_CUTS(b)	((b)->cuts + ((b)->bins - 1))
#define M_CUTS(b)	((b)->cuts + 2 * ((b)->bins - 1))

/*
 * Aggregate state (f8state.h): header [bins, method, accuracy], then the
 * distinct recency, frequency and monetary values with their customers;
 * pending rows (r, f, m) have m NaN when the customer has no amount.
 * accuracy > 0 quantises monetary values (f8state_quantise).
 */
#define BREAKS_HEADER 3

PG_FUNCTION_INFO_V1(rfm_breaks_in);
PG_FUNCTION_INFO_V1(rfm_breaks_out);
PG_FUNCTION_INFO_V1(rfm_breaks_recv);
PG_FUNCTION_INFO_V1(rfm_breaks_send);
PG_FUNCTION_INFO_V1(rfm_breaks_transfn);
PG_FUNCTION_INFO_V1(rfm_breaks_combinefn);
PG_FUNCTION_INFO_V1(rfm_breaks_finalfn);
PG_FUNCTION_INFO_V1(rfm_breaks_from_rows);
PG_FUNCTION_INFO_V1(rfm_thresholds);
PG_FUNCTION_INFO_V1(rfm_score_breaks);

/* ---------- validation shared by in, recv and the constructors ---------- */

/* Index of a method name in method_names, or -1. */
static int
method_index(const char *name)
{
	for (int i = 0; i < lengthof(method_names); i++)
		if (strcmp(name, method_names[i]) == 0)
			return i;
	return -1;
}

/* Parse a method name (an aggregate argument). */
static BreaksMethod
method_from_name(const char *name)
{
	int			m = method_index(name);

	if (m >= 0)
		return (BreaksMethod) m;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown rfm_breaks method \"%s\"", name),
			 errhint("Use 'quantile' (the default) or 'mean'.")));
	pg_unreachable();
}

/*
 * The valid rfm_breaks values (the README's "Reference" lists the same
 * rules); in, recv, the aggregate, rfm_thresholds and rfm_score all check
 * with breaks_problem.  They are what the 0.2.0 text input accepted, plus
 * subnormal cuts, so every value in a 0.2.0 text dump still restores:
 *  - bins 2..10; method quantile, mean or thresholds;
 *  - n, the customers the cuts came from: an integer 0..9e15 (every such
 *    integer is exact in a float8 and in the text form);
 *  - cuts are float8 values, subnormals and -0 included, never NaN.  R
 *    (days) is non-increasing, F and M non-decreasing.  A cut no value
 *    reaches is -Infinity for R and +Infinity for F and M, printed as null,
 *    so by the ordering it can only trail its dimension; the other infinity
 *    has no text form and is never valid.
 */
#define BREAKS_MAX_N	INT64CONST(9000000000000000)

/* Why b is not a valid rfm_breaks value (a detail sentence), or NULL. */
static const char *
breaks_problem(const RfmBreaks *b)
{
	if (b->bins < RFM_MIN_BINS || b->bins > RFM_MAX_BINS)
		return "The number of bins must be between 2 and 10.";
	if (b->method < 0 || b->method >= lengthof(method_names))
		return "Unknown method.";
	if (b->n < 0 || b->n > BREAKS_MAX_N)
		return "The customer count must be an integer from 0 to 9000000000000000.";
	for (int d = 0; d < 3; d++)
	{
		const double *c = b->cuts + d * (b->bins - 1);

		for (int k = 0; k < b->bins - 1; k++)
		{
			if (isnan(c[k]))
				return "Cut points must not be NaN.";
			if (d == 0 ? c[k] == INFINITY : c[k] == -INFINITY)
				return d == 0 ? "A recency cut point may be -Infinity (null: no value reaches it), never +Infinity."
					: "A frequency or monetary cut point may be +Infinity (null: no value reaches it), never -Infinity.";
			if (k > 0 && (d == 0 ? c[k] > c[k - 1] : c[k] < c[k - 1]))
				return d == 0 ? "Recency cut points (days) must not increase."
					: "Frequency and monetary cut points must not decrease.";
		}
	}
	return NULL;
}

/* Error with errcode and errmsg unless b is a valid rfm_breaks value. */
static void
breaks_check(const RfmBreaks *b, int sqlerrcode, const char *message)
{
	const char *problem = breaks_problem(b);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(sqlerrcode),
				 errmsg("%s", message),
				 errdetail("%s", problem)));
}

/* A new breaks value with all cuts zero. */
static RfmBreaks *
breaks_alloc(int bins, BreaksMethod method, int64 n)
{
	RfmBreaks  *b = palloc0(BREAKS_SIZE(bins));

	SET_VARSIZE(b, BREAKS_SIZE(bins));
	b->bins = bins;
	b->method = method;
	b->n = n;
	return b;
}

/* ---------- text I/O: a JSON object ---------- */

/* Append a JSON array of cuts; infinite cuts are written as null. */
static void
append_cuts(StringInfo out, const char *key, const double *c, int n)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	appendStringInfo(out, ", \"%s\": [", key);
	for (int k = 0; k < n; k++)
	{
		if (k > 0)
			appendStringInfoString(out, ", ");
		if (isinf(c[k]))
			appendStringInfoString(out, "null");
		else
		{
			double_to_shortest_decimal_buf(c[k], num);
			appendStringInfoString(out, num);
		}
	}
	appendStringInfoChar(out, ']');
}

/* rfm_breaks_out: {"bins": 5, "method": "quantile", "n": 100, "r": [...], "f": [...], "m": [...]} */
Datum
rfm_breaks_out(PG_FUNCTION_ARGS)
{
	RfmBreaks  *b = (RfmBreaks *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfo(&out, "{\"bins\": %d, \"method\": \"%s\", \"n\": " INT64_FORMAT,
					 b->bins, method_names[b->method], b->n);
	append_cuts(&out, "r", R_CUTS(b), b->bins - 1);
	append_cuts(&out, "f", F_CUTS(b), b->bins - 1);
	append_cuts(&out, "m", M_CUTS(b), b->bins - 1);
	appendStringInfoChar(&out, '}');
	PG_RETURN_CSTRING(out.data);
}

/* A tiny cursor over the input text of rfm_breaks_in. */
typedef struct Scanner
{
	const char *input;
	const char *p;
} Scanner;

static void pg_attribute_noreturn()
scan_error(Scanner *sc, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type rfm_breaks: \"%s\"", sc->input),
			 errdetail("%s at character %d.", what, (int) (sc->p - sc->input) + 1),
			 errhint("Use the form printed by rfm_breaks, e.g. {\"bins\": 2, \"method\": \"mean\", \"n\": 10, \"r\": [30], \"f\": [2], \"m\": [100]}.")));
}

static void
skip_space(Scanner *sc)
{
	while (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r')
		sc->p++;
}

/* Consume the character c (after spaces) or fail. */
static void
expect_char(Scanner *sc, char c)
{
	char		msg[64];

	skip_space(sc);
	if (*sc->p != c)
	{
		snprintf(msg, sizeof(msg), "Expected \"%c\"", c);
		scan_error(sc, msg);
	}
	sc->p++;
}

/* A double-quoted string without escapes (keys and the method name). */
static char *
scan_string(Scanner *sc)
{
	const char *start;

	expect_char(sc, '"');
	start = sc->p;
	while (*sc->p && *sc->p != '"' && *sc->p != '\\')
		sc->p++;
	if (*sc->p != '"')
		scan_error(sc, "Unterminated or escaped string");
	sc->p++;
	return pnstrdup(start, sc->p - 1 - start);
}

/* A finite JSON number; null when null_ok (returned as NaN). */
static double
scan_number(Scanner *sc, bool null_ok)
{
	char	   *end;
	double		v;

	skip_space(sc);
	if (null_ok && strncmp(sc->p, "null", 4) == 0)
	{
		sc->p += 4;
		return NAN;
	}
	if (!(*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9')))
		scan_error(sc, "Expected a number");
	/* a JSON number: strtod alone would also take hexadecimal */
	if (strncmp(sc->p + (*sc->p == '-'), "0x", 2) == 0 || strncmp(sc->p + (*sc->p == '-'), "0X", 2) == 0)
		scan_error(sc, "Expected a decimal number");
	errno = 0;
	v = strtod(sc->p, &end);
	/* like float8in: ERANGE on a subnormal is fine, on underflow to 0 or overflow not */
	if (end == sc->p || isinf(v) || isnan(v) || (errno == ERANGE && v == 0) ||
		(errno != 0 && errno != ERANGE))
		scan_error(sc, "Expected a finite number");
	sc->p = end;
	return v;
}

/* A JSON array of cuts into c[0..n-1]; null becomes the "unreachable" cut. */
static void
scan_cuts(Scanner *sc, double *c, int n, double unreachable)
{
	expect_char(sc, '[');
	for (int k = 0; k < n; k++)
	{
		if (k > 0)
			expect_char(sc, ',');
		c[k] = scan_number(sc, true);
		if (isnan(c[k]))
			c[k] = unreachable;
	}
	skip_space(sc);
	if (*sc->p != ']')
		scan_error(sc, "Expected \"]\" (each array holds bins - 1 cut points)");
	sc->p++;
}

/* rfm_breaks_in(cstring); keys in the order rfm_breaks_out writes them. */
Datum
rfm_breaks_in(PG_FUNCTION_ARGS)
{
	Scanner		sc = {PG_GETARG_CSTRING(0), PG_GETARG_CSTRING(0)};
	static const char *const keys[] = {"bins", "method", "n", "r", "f", "m"};
	RfmBreaks  *b = NULL;
	int			bins = 0;
	BreaksMethod method = BREAKS_QUANTILE;

	expect_char(&sc, '{');
	for (int i = 0; i < lengthof(keys); i++)
	{
		char	   *key;

		if (i > 0)
			expect_char(&sc, ',');
		key = scan_string(&sc);
		if (strcmp(key, keys[i]) != 0)
			scan_error(&sc, psprintf("Expected key \"%s\"", keys[i]));
		expect_char(&sc, ':');
		switch (i)
		{
			case 0:
				{
					double		v = scan_number(&sc, false);

					if (v != rint(v) || v < RFM_MIN_BINS || v > RFM_MAX_BINS)
						scan_error(&sc, "The number of bins must be an integer from 2 to 10");
					bins = (int) v;
					break;
				}
			case 1:
				{
					int			m = method_index(scan_string(&sc));

					if (m < 0)
						scan_error(&sc, "Unknown method (use \"quantile\", \"mean\" or \"thresholds\")");
					method = (BreaksMethod) m;
					break;
				}
			case 2:
				{
					double		v = scan_number(&sc, false);

					if (v != rint(v) || v < 0 || v > (double) BREAKS_MAX_N)
						scan_error(&sc, "The customer count must be an integer from 0 to 9000000000000000");
					b = breaks_alloc(bins, method, (int64) v);
					break;
				}
			case 3:
				scan_cuts(&sc, R_CUTS(b), bins - 1, -INFINITY);
				break;
			case 4:
				scan_cuts(&sc, F_CUTS(b), bins - 1, INFINITY);
				break;
			case 5:
				scan_cuts(&sc, M_CUTS(b), bins - 1, INFINITY);
				break;
		}
	}
	expect_char(&sc, '}');
	skip_space(&sc);
	if (*sc.p != '\0')
		scan_error(&sc, "Unexpected characters after the object");
	breaks_check(b, ERRCODE_INVALID_TEXT_REPRESENTATION,
				 psprintf("invalid input syntax for type rfm_breaks: \"%s\"", sc.input));
	PG_RETURN_POINTER(b);
}

/* rfm_breaks_recv(internal): the fields rfm_breaks_send writes, checked as in rfm_breaks_in. */
Datum
rfm_breaks_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			bins = pq_getmsgint(buf, 4);
	int			method = pq_getmsgint(buf, 4);
	int64		n = pq_getmsgint64(buf);
	RfmBreaks  *b;

	if (bins < RFM_MIN_BINS || bins > RFM_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external rfm_breaks value"),
				 errdetail("The number of bins must be between 2 and 10.")));
	b = breaks_alloc(bins, BREAKS_QUANTILE, n);
	b->method = method;
	for (int i = 0; i < 3 * (bins - 1); i++)
		b->cuts[i] = pq_getmsgfloat8(buf);
	breaks_check(b, ERRCODE_INVALID_BINARY_REPRESENTATION, "invalid external rfm_breaks value");
	PG_RETURN_POINTER(b);
}

/* rfm_breaks_send(rfm_breaks) */
Datum
rfm_breaks_send(PG_FUNCTION_ARGS)
{
	RfmBreaks  *b = (RfmBreaks *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, b->bins);
	pq_sendint32(&buf, b->method);
	pq_sendint64(&buf, b->n);
	for (int i = 0; i < 3 * (b->bins - 1); i++)
		pq_sendfloat8(&buf, b->cuts[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------- the aggregate ---------- */

/* Check the aggregate's parameters. */
static void
check_params(int bins, int method)
{
	rfm_check_bins(bins);
	if (method == BREAKS_MEAN && bins != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"mean\" needs exactly 2 bins"),
				 errdetail("Got %d bins.", bins),
				 errhint("The mean splits each dimension into low and high.")));
	if (method == BREAKS_THRESHOLDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"thresholds\" is not computed from data"),
				 errhint("Use persona.rfm_thresholds(r_days, f_counts, m_amounts).")));
}

/* rfm_breaks_transfn(state float8[], recency, frequency, monetary [, bins [, method [, accuracy]]]) */
Datum
rfm_breaks_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	int			bins = RFM_DEFAULT_BINS;
	int			method = BREAKS_QUANTILE;
	double		accuracy;
	double		header[BREAKS_HEADER];
	double		v[3];

	aggctx = persona_agg_context(fcinfo);
	if (PG_NARGS() > 4)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("number of bins must not be NULL")));
		bins = PG_GETARG_INT32(4);
	}
	if (PG_NARGS() > 5)
	{
		if (PG_ARGISNULL(5))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("method must not be NULL")));
		method = method_from_name(text_to_cstring(PG_GETARG_TEXT_PP(5)));
	}
	accuracy = f8state_accuracy_arg(fcinfo, 6);
	header[0] = bins;
	header[1] = method;
	header[2] = accuracy;
	if (PG_ARGISNULL(0))
	{
		check_params(bins, method);
		f8state_check_accuracy(accuracy);
	}
	else if (!f8state_header_equals(PG_GETARG_DATUM(0), header, 0, BREAKS_HEADER, "rfm_breaks"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins, method and accuracy must be the same for every row"),
				 errhint("Pass constants.")));

	/*
	 * A customer with a NULL recency or frequency is not ranked; a NULL
	 * monetary (no amounts) is ranked on R and F only, kept as NaN.
	 */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_DATUM(f8state_add(PG_GETARG_DATUM(0), PG_ARGISNULL(0), aggctx, header,
									BREAKS_HEADER, 3, 2, NULL, "rfm_breaks"));
	v[0] = PG_GETARG_FLOAT8(1);
	v[1] = PG_GETARG_FLOAT8(2);
	v[2] = PG_ARGISNULL(3) ? NAN : PG_GETARG_FLOAT8(3);
	persona_check_finite(v[0], "recency");
	persona_check_finite(v[1], "frequency");
	if (!PG_ARGISNULL(3))
	{
		persona_check_finite(v[2], "monetary");
		if (accuracy > 0)
			v[2] = f8state_quantise(v[2], accuracy);
	}
	PG_RETURN_DATUM(f8state_add(PG_GETARG_DATUM(0), PG_ARGISNULL(0), aggctx, header,
								BREAKS_HEADER, 3, 2, v, "rfm_breaks"));
}

/* Merge b's runs into a's. */
Datum
rfm_breaks_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	PG_RETURN_DATUM(f8state_combine(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1),
									aggctx, BREAKS_HEADER, BREAKS_HEADER, 3, 2, "rfm_breaks"));
}


/*
 * Put the value of rank nth (0-based) of v[lo..hi-1] at v[nth], the smaller
 * ones before it, the larger after: a quickselect with a three-way
 * partition, since RFM values tie massively (frequencies, days); after
 * 64 rounds the rest is sorted.
 */
static void
select_rank(double *v, int64 lo, int64 hi, int64 nth)
{
	int			rounds = 0;

	while (hi - lo > 16)
	{
		double		a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
		double		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		int64		lt = lo, i = lo, gt = hi;

		/* pivots an input defeats: sort what is left (O(n log n) at worst, as before) */
		if (++rounds > 64)
		{
			f8state_sort(v + lo, hi - lo);
			return;
		}

		CHECK_FOR_INTERRUPTS();
		/* [lo, lt) < pivot, [lt, i) = pivot, [gt, hi) > pivot */
		while (i < gt)
		{
			double		x = v[i];

			if (x < pivot)
			{
				v[i++] = v[lt];
				v[lt++] = x;
			}
			else if (x > pivot)
			{
				v[i] = v[--gt];
				v[gt] = x;
			}
			else
				i++;
		}
		if (nth < lt)
			hi = lt;
		else if (nth >= gt)
			lo = gt;
		else
			return;
	}
	for (int64 i = lo + 1; i < hi; i++)
	{
		double		x = v[i];
		int64		j = i;

		for (; j > lo && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * Quantile cuts of v[0..n-1] (reordered here, ascending = worst first):
 * cut[k-1] is the smallest value with at least k*n/bins values strictly
 * below it, or +Infinity when no such value exists.  That is the smallest
 * value above the one of rank ceil(k n / bins) - 1: no sort, a selection
 * per cut (each in the part right of the previous one) and a scan.
 */
static void
quantile_cuts_ascending(double *v, int64 n, int bins, double *cut)
{
	int64		lo = 0;

	for (int k = 1; k < bins; k++)
	{
		int64		j = (k * n + bins - 1) / bins;	/* ceil(k n / bins) */
		double		below;
		double		next = INFINITY;

		if (j >= n)
		{
			cut[k - 1] = INFINITY;
			continue;
		}
		select_rank(v, lo, n, j - 1);
		lo = j - 1;
		below = v[j - 1];
		for (int64 i = j; i < n; i++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
			if (v[i] > below && v[i] < next)
				next = v[i];
		}
		cut[k - 1] = next;
	}
}

/*
 * Tie-safe quantile cuts of v[0..n-1] (reordered or negated in place).
 * lower_is_better (recency): the cuts are days, descending, and an
 * unreachable cut is -Infinity.
 */
void
rfm_quantile_cuts(double *v, int64 n, int bins, bool lower_is_better, double *cut)
{
	if (!lower_is_better)
	{
		quantile_cuts_ascending(v, n, bins, cut);
		return;
	}
	/* Fewer days is better: rank the negated days. */
	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		v[i] = -v[i];
	}
	quantile_cuts_ascending(v, n, bins, cut);
	for (int k = 0; k < bins - 1; k++)
		cut[k] = -cut[k];
}

/*
 * The cuts of quantile_cuts_ascending over (value, count) rows r in
 * ascending order, as if each value were there count times: the j-th value
 * is a new value when it is the first of its row; else the cut is the next
 * row's.
 */
static void
quantile_cuts_rows(const WeightedRows *r, int64 total, int bins, double *cut)
{
	for (int k = 1; k < bins; k++)
	{
		int64		j = (k * total + bins - 1) / bins;	/* ceil(k n / bins) */
		int64		before = 0;
		int64		i = 0;

		i = wrows_row_at(r, j, &i, &before);
		if (i == r->n)
			cut[k - 1] = INFINITY;
		else if (j == before)
			cut[k - 1] = r->v[2 * i];
		else
			cut[k - 1] = i + 1 < r->n ? r->v[2 * (i + 1)] : INFINITY;
	}
}

/* The customers of (value, count) rows, which must fit a bigint. */
static int64
rows_customers(const WeightedRows *r, const char *what)
{
	if (!(r->total < 9.2e18))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s count %g customers, more than a bigint holds", what, r->total)));
	return (int64) r->total;
}

/* Mean of (value, count) runs, finite even when their sum overflows. */
static double
runs_mean(const WeightedRows *r)
{
	double		s = 0;

	for (int64 i = 0; i < r->n; i++)
		s += r->v[2 * i] * r->v[2 * i + 1];
	if (isfinite(s))
		return s / r->total;
	s = 0;
	for (int64 i = 0; i < r->n; i++)
		s += r->v[2 * i] * (r->v[2 * i + 1] / r->total);
	return s;
}

/*
 * The breaks of (value, customers) runs of each dimension, ascending:
 * recency and frequency must count the same customers, monetary as many
 * or fewer (customers without amounts are ranked on R and F only).  NULL
 * when no customer.  what names the input in errors.
 */
static RfmBreaks *
breaks_of_runs(WeightedRows *dim, int bins, int method, const char *what)
{
	int64		n = rows_customers(&dim[0], dim_rows_names[0]);
	RfmBreaks  *b;

	if (rows_customers(&dim[1], dim_rows_names[1]) != n || rows_customers(&dim[2], dim_rows_names[2]) > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency, frequency and monetary rows count different customers"),
				 errdetail("Recency rows count %lld, frequency rows %lld, monetary rows %lld.",
						   (long long) n, (long long) dim[1].total, (long long) dim[2].total),
				 errhint("Recency and frequency count every ranked customer; monetary those with an amount.")));
	if (n == 0)
		return NULL;
	b = breaks_alloc(bins, method, n);
	if (method == BREAKS_MEAN)
	{
		R_CUTS(b)[0] = runs_mean(&dim[0]);
		F_CUTS(b)[0] = runs_mean(&dim[1]);
		M_CUTS(b)[0] = dim[2].n == 0 ? INFINITY : runs_mean(&dim[2]);
	}
	else
	{
		/* fewer days is better: rank the negated days, the rows in reverse */
		WeightedRows *r = &dim[0];
		WeightedRows neg = *r;
		double	   *v = palloc_extended(Max(r->n, 1) * 2 * sizeof(double), MCXT_ALLOC_HUGE);

		for (int64 i = 0; i < r->n; i++)
		{
			v[2 * i] = -r->v[2 * (r->n - 1 - i)];
			v[2 * i + 1] = r->v[2 * (r->n - 1 - i) + 1];
		}
		neg.v = v;
		quantile_cuts_rows(&neg, n, bins, R_CUTS(b));
		for (int k = 0; k < bins - 1; k++)
			R_CUTS(b)[k] = -R_CUTS(b)[k];
		quantile_cuts_rows(&dim[1], n, bins, F_CUTS(b));
		/* M over the customers with a monetary value; none: no value reaches a cut */
		if (dim[2].n == 0)
			for (int k = 0; k < bins - 1; k++)
				M_CUTS(b)[k] = INFINITY;
		else
			quantile_cuts_rows(&dim[2], (int64) dim[2].total, bins, M_CUTS(b));
	}
	breaks_check(b, ERRCODE_INVALID_PARAMETER_VALUE, what);
	return b;
}

/* The persona.rfm_breaks value; NULL when no customer was ranked. */
Datum
rfm_breaks_finalfn(PG_FUNCTION_ARGS)
{
	F8State		s;
	RfmBreaks  *b;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = f8state_read(PG_GETARG_DATUM(0), BREAKS_HEADER, 3, 2, "rfm_breaks");
	/* a state can be written by hand: check it before casting to int */
	if (!(s.header[0] >= RFM_MIN_BINS && s.header[0] <= RFM_MAX_BINS && s.header[0] == rint(s.header[0])) ||
		!(s.header[1] == BREAKS_QUANTILE || s.header[1] == BREAKS_MEAN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid rfm_breaks state"),
				 errdetail("Expected the number of bins (2 to 10), the method (0 = quantile, 1 = mean) and the accuracy, then the runs of recency, frequency and monetary values."),
				 errhint("Pass the state of the rfm_breaks aggregate.")));
	check_params((int) s.header[0], (int) s.header[1]);
	f8state_check_accuracy(s.header[2]);
	b = breaks_of_runs(s.dim, (int) s.header[0], (int) s.header[1], "invalid rfm_breaks state");
	if (b == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(b);
}

/*
 * rfm_breaks_from_rows(recency, frequency, monetary, bins): the 'quantile'
 * breaks rfm_breaks computes, from (value, customers) rows of each
 * dimension instead of one row per customer.  NULL when no customer.
 */
Datum
rfm_breaks_from_rows(PG_FUNCTION_ARGS)
{
	WeightedRows dim[3];
	int			bins;
	RfmBreaks  *b;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("number of bins must not be NULL")));
	bins = PG_GETARG_INT32(3);
	check_params(bins, BREAKS_QUANTILE);
	for (int d = 0; d < 3; d++)
		dim[d] = wrows_read(PG_ARGISNULL(d) ? NULL : PG_GETARG_ARRAYTYPE_P(d), 2, true, dim_rows_names[d]);
	b = breaks_of_runs(dim, bins, BREAKS_QUANTILE, "invalid rfm_breaks rows");
	if (b == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(b);
}

/* ---------- business thresholds ---------- */

/* Read a float8[] of cut points: no NULLs, finite, strictly ascending. */
static int
read_thresholds(ArrayType *a, const char *name, double *out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n < 1 || n > RFM_MAX_BINS - 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must have between 1 and %d thresholds", name, RFM_MAX_BINS - 1),
				 errdetail("Got %d; n thresholds make n + 1 scores.", n)));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", name)));
		out[i] = DatumGetFloat8(elems[i]);
		persona_check_finite(out[i], name);
		if (i > 0 && out[i] <= out[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be strictly ascending", name),
					 errdetail("Element %d (%g) is not greater than element %d (%g).",
							   i + 1, out[i], i, out[i - 1])));
	}
	return n;
}

/*
 * rfm_thresholds(r_days, f_counts, m_amounts): breaks from business rules.
 * Recency: days <= r_days[k] earn a point each ({30} = "bought within 30
 * days" scores 2).  Frequency and monetary: value >= threshold earns a point.
 */
Datum
rfm_thresholds(PG_FUNCTION_ARGS)
{
	double		r[RFM_MAX_BINS], f[RFM_MAX_BINS], m[RFM_MAX_BINS];
	int			nr = read_thresholds(PG_GETARG_ARRAYTYPE_P(0), "r_days", r);
	int			nf = read_thresholds(PG_GETARG_ARRAYTYPE_P(1), "f_counts", f);
	int			nm = read_thresholds(PG_GETARG_ARRAYTYPE_P(2), "m_amounts", m);
	RfmBreaks  *b;

	if (nr != nf || nf != nm)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("r_days, f_counts and m_amounts must have the same number of thresholds"),
				 errdetail("Got %d, %d and %d.", nr, nf, nm),
				 errhint("All three scores share one scale of n + 1 points.")));
	b = breaks_alloc(nr + 1, BREAKS_THRESHOLDS, 0);
	for (int k = 0; k < nr; k++)
	{
		R_CUTS(b)[k] = r[nr - 1 - k];	/* descending days */
		F_CUTS(b)[k] = f[k];
		M_CUTS(b)[k] = m[k];
	}
	breaks_check(b, ERRCODE_INVALID_PARAMETER_VALUE, "invalid rfm_breaks value");
	PG_RETURN_POINTER(b);
}

/* ---------- scoring ---------- */

/*
 * Decoded breaks cached across calls of one rfm_score call site: the breaks
 * argument is nearly always the same value for every row.
 */
typedef struct ScoreCache
{
	Size		len;
	RfmBreaks  *b;				/* aligned copy, also the comparison key */
} ScoreCache;

/* Breaks argument argno as an aligned struct, reusing the copy in cache. */
static const RfmBreaks *
breaks_from_cache(FunctionCallInfo fcinfo, int argno, ScoreCache *cache)
{
	struct varlena *raw = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(argno));
	Size		len = VARSIZE_ANY_EXHDR(raw);

	if (cache->b == NULL || cache->len != len ||
		memcmp(VARDATA(cache->b), VARDATA_ANY(raw), len) != 0)
	{
		RfmBreaks  *b = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len + VARHDRSZ);

		SET_VARSIZE(b, len + VARHDRSZ);
		memcpy(VARDATA(b), VARDATA_ANY(raw), len);
		/* checked before it is cached: a value stored by an older version may break today's rules */
		breaks_check(b, ERRCODE_INVALID_PARAMETER_VALUE, "invalid rfm_breaks value");
		if (cache->b)
			pfree(cache->b);
		cache->b = b;
		cache->len = len;
	}
	return cache->b;
}

/* The breaks argument as an aligned struct, reusing the cached copy. */
static const RfmBreaks *
cached_breaks(FunctionCallInfo fcinfo, int argno)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ScoreCache));
	return breaks_from_cache(fcinfo, argno, (ScoreCache *) fcinfo->flinfo->fn_extra);
}

/* 1 + number of cuts reached; R counts cuts at or above the value. */
static inline int
score_of(double v, const double *cut, int ncuts, bool lower_is_better)
{
	int			s = 1;

	for (int k = 0; k < ncuts; k++)
		s += lower_is_better ? (v <= cut[k]) : (v >= cut[k]);
	return s;
}

/* Scores against cut arrays of bins - 1 entries each; m NaN (no amount): no M score. */
Rfm
rfm_score_cuts(double r, double f, double m, const double *r_cuts,
			   const double *f_cuts, const double *m_cuts, int bins)
{
	return rfm_make(score_of(r, r_cuts, bins - 1, true),
					score_of(f, f_cuts, bins - 1, false),
					isnan(m) ? RFM_NO_M : score_of(m, m_cuts, bins - 1, false),
					bins);
}

/*
 * rfm_score(recency, frequency, monetary, breaks) -> rfm: NULL when
 * recency, frequency or breaks is NULL; R and F only ('54-') when monetary
 * is NULL.
 */
Datum
rfm_score_breaks(PG_FUNCTION_ARGS)
{
	double		r, f, m;
	const RfmBreaks *b;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	r = PG_GETARG_FLOAT8(0);
	f = PG_GETARG_FLOAT8(1);
	m = PG_ARGISNULL(2) ? NAN : PG_GETARG_FLOAT8(2);
	b = cached_breaks(fcinfo, 3);
	persona_check_finite(r, "recency");
	persona_check_finite(f, "frequency");
	if (!PG_ARGISNULL(2))
		persona_check_finite(m, "monetary");
	PG_RETURN_RFM(rfm_score_cuts(r, f, m, R_CUTS(b), F_CUTS(b), M_CUTS(b), b->bins));
}

PG_FUNCTION_INFO_V1(rfm_score_moves);

/*
 * rfm_score_moves(recency, frequency, monetary, old_breaks, new_breaks) ->
 * boolean: rfm_score(recency, frequency, monetary, old_breaks) IS DISTINCT
 * FROM rfm_score(..., new_breaks), the values checked as rfm_score checks
 * them.  An incremental profile refresh selects with it the customers whose
 * scores moved cut points change: one call a customer instead of two
 * rfm_score calls and the comparison of their results.
 */
Datum
rfm_score_moves(PG_FUNCTION_ARGS)
{
	ScoreCache *caches = (ScoreCache *) fcinfo->flinfo->fn_extra;
	const RfmBreaks *a = NULL;
	const RfmBreaks *b = NULL;
	double		r, f, m;

	/* no score either way: rfm_score is NULL without looking at the values */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || (PG_ARGISNULL(3) && PG_ARGISNULL(4)))
		PG_RETURN_BOOL(false);
	if (caches == NULL)
	{
		caches = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, 2 * sizeof(ScoreCache));
		fcinfo->flinfo->fn_extra = caches;
	}
	/* what the scoring against each breaks checks, in rfm_score's order */
	if (!PG_ARGISNULL(3))
		a = breaks_from_cache(fcinfo, 3, &caches[0]);
	if (!PG_ARGISNULL(4))
		b = breaks_from_cache(fcinfo, 4, &caches[1]);
	r = PG_GETARG_FLOAT8(0);
	f = PG_GETARG_FLOAT8(1);
	m = PG_ARGISNULL(2) ? NAN : PG_GETARG_FLOAT8(2);	/* NaN: no M score */
	persona_check_finite(r, "recency");
	persona_check_finite(f, "frequency");
	if (!PG_ARGISNULL(2))
		persona_check_finite(m, "monetary");
	/* a score against NULL */
	if (a == NULL || b == NULL)
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(rfm_score_cuts(r, f, m, R_CUTS(a), F_CUTS(a), M_CUTS(a), a->bins) !=
				   rfm_score_cuts(r, f, m, R_CUTS(b), F_CUTS(b), M_CUTS(b), b->bins));
}

PG_FUNCTION_INFO_V1(rfm_score_moves_support);

/*
 * Planner support of rfm_score_moves: a move of cut points changes few
 * customers' scores (a refresh's new cut points are next to the old ones),
 * so a filter on it keeps about 1% of the rows, not the default third that
 * would make the planner keep a scan of every customer off parallel workers.
 */
Datum
rfm_score_moves_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		req->selectivity = 0.01;
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
