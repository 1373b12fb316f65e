/*
 * rfm.c — the persona.rfm type: text/binary I/O, accessors, comparison.
 *
 * Text form: three digits '545' when every score is at most 9, otherwise
 * dash separated '10-3-5'; a scale other than the default 5 follows a
 * slash: '545/7', '10-3-5/10'.  Input accepts both forms for any scale.
 * Without a monetary score (no amounts: R and F only) M is 0, written as a
 * dash in the digit form, '54-', and left empty in the dash form, '10-3-'.
 */
#include "persona.h"
#include "rfm.h"

#include <ctype.h>

#include "libpq/pqformat.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(rfm_in);
PG_FUNCTION_INFO_V1(rfm_out);
PG_FUNCTION_INFO_V1(rfm_recv);
PG_FUNCTION_INFO_V1(rfm_send);
PG_FUNCTION_INFO_V1(rfm_r);
PG_FUNCTION_INFO_V1(rfm_f);
PG_FUNCTION_INFO_V1(rfm_m);
PG_FUNCTION_INFO_V1(rfm_bins);
PG_FUNCTION_INFO_V1(rfm_score_code);
PG_FUNCTION_INFO_V1(rfm_construct);
PG_FUNCTION_INFO_V1(rfm_cmp);
PG_FUNCTION_INFO_V1(rfm_lt);
PG_FUNCTION_INFO_V1(rfm_le);
PG_FUNCTION_INFO_V1(rfm_eq);
PG_FUNCTION_INFO_V1(rfm_ne);
PG_FUNCTION_INFO_V1(rfm_ge);
PG_FUNCTION_INFO_V1(rfm_gt);
PG_FUNCTION_INFO_V1(rfm_hash);

/* Error unless bins is within 2..10. */
void
rfm_check_bins(int bins)
{
	if (bins < RFM_MIN_BINS || bins > RFM_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of bins must be between %d and %d", RFM_MIN_BINS, RFM_MAX_BINS),
				 errdetail("Got %d.", bins)));
}

/* Whether r, f lie in 1..bins, m in 1..bins or is RFM_NO_M, and bins in 2..10. */
static inline bool
rfm_valid(int r, int f, int m, int bins)
{
	return bins >= RFM_MIN_BINS && bins <= RFM_MAX_BINS &&
		r >= 1 && r <= bins && f >= 1 && f <= bins && ((m >= 1 && m <= bins) || m == RFM_NO_M);
}

/* Pack validated scores. */
Rfm
rfm_make(int r, int f, int m, int bins)
{
	Assert(rfm_valid(r, f, m, bins));
	return (Rfm) ((r << 24) | (f << 16) | (m << 8) | bins);
}

/* Report a malformed literal. */
static void
rfm_syntax_error(const char *str, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type rfm: \"%s\"", str),
			 errdetail("%s", detail),
			 errhint("Write three scores such as '545', or with a scale other than 5 bins '212/3' or '10-3-5/10'.")));
}

/* Parse a small decimal number; returns -1 if none. */
static int
parse_small_int(const char **p)
{
	int			v = 0;
	int			ndigits = 0;

	while (isdigit((unsigned char) **p) && ndigits < 3)
	{
		v = v * 10 + (**p - '0');
		(*p)++;
		ndigits++;
	}
	return ndigits == 0 || isdigit((unsigned char) **p) ? -1 : v;
}

/* rfm_in(cstring) */
Datum
rfm_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);
	const char *p = str;
	int			s[3];
	int			bins = RFM_DEFAULT_BINS;

	while (isspace((unsigned char) *p))
		p++;
	if (isdigit((unsigned char) p[0]) && isdigit((unsigned char) p[1]) &&
		(isdigit((unsigned char) p[2]) || p[2] == '-') &&
		!isdigit((unsigned char) p[3]) && p[3] != '-')
	{
		/* '545', or '54-' without M */
		for (int i = 0; i < 3; i++)
			s[i] = p[i] == '-' ? RFM_NO_M : p[i] - '0';
		p += 3;
	}
	else
	{
		for (int i = 0; i < 3; i++)
		{
			if (i > 0)
			{
				if (*p != '-')
					rfm_syntax_error(str, "Expected three digits or three numbers separated by \"-\".");
				p++;
			}
			/* '10-3-' (nothing after the second dash): no M */
			if (i == 2 && !isdigit((unsigned char) *p))
			{
				s[i] = RFM_NO_M;
				break;
			}
			s[i] = parse_small_int(&p);
			if (s[i] < 0)
				rfm_syntax_error(str, "Expected three digits or three numbers separated by \"-\".");
		}
	}
	if (*p == '/')
	{
		p++;
		bins = parse_small_int(&p);
		if (bins < RFM_MIN_BINS || bins > RFM_MAX_BINS)
			rfm_syntax_error(str, "The scale after \"/\" must be a number of bins from 2 to 10.");
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		rfm_syntax_error(str, "Unexpected characters after the scores.");
	if (!rfm_valid(s[0], s[1], s[2], bins))
	{
		int			m = s[2] == RFM_NO_M ? 1 : s[2];	/* a missing M is valid */
		bool		too_big = Max(s[0], Max(s[1], m)) > bins;
		bool		in_range = Min(s[0], Min(s[1], m)) >= 1 &&
			Max(s[0], Max(s[1], m)) <= RFM_MAX_BINS;

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm: \"%s\"", str),
				 errdetail("Each score must be between 1 and the number of bins (%d).", bins),
				 (too_big && in_range) ?
				 (s[2] == RFM_NO_M ?
				  errhint("Write the scale after a slash, e.g. '%d-%d-/%d'.", s[0], s[1], RFM_MAX_BINS) :
				  errhint("Write the scale after a slash, e.g. '%d-%d-%d/%d'.",
						  s[0], s[1], s[2], RFM_MAX_BINS)) : 0));
	}
	PG_RETURN_RFM(rfm_make(s[0], s[1], s[2], bins));
}

/* rfm_out(rfm) */
Datum
rfm_out(PG_FUNCTION_ARGS)
{
	Rfm			x = PG_GETARG_RFM(0);
	char		buf[32];
	int			len;

	if (RFM_R(x) <= 9 && RFM_F(x) <= 9 && RFM_M(x) <= 9)
		len = RFM_M(x) == RFM_NO_M ? snprintf(buf, sizeof(buf), "%d%d-", RFM_R(x), RFM_F(x))
			: snprintf(buf, sizeof(buf), "%d%d%d", RFM_R(x), RFM_F(x), RFM_M(x));
	else if (RFM_M(x) == RFM_NO_M)
		len = snprintf(buf, sizeof(buf), "%d-%d-", RFM_R(x), RFM_F(x));
	else
		len = snprintf(buf, sizeof(buf), "%d-%d-%d", RFM_R(x), RFM_F(x), RFM_M(x));
	if (RFM_BINS(x) != RFM_DEFAULT_BINS)
		snprintf(buf + len, sizeof(buf) - len, "/%d", RFM_BINS(x));
	PG_RETURN_CSTRING(pstrdup(buf));
}

/* rfm_recv(internal): four bytes r, f, m, bins, validated like text input. */
Datum
rfm_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			r = pq_getmsgbyte(buf);
	int			f = pq_getmsgbyte(buf);
	int			m = pq_getmsgbyte(buf);
	int			bins = pq_getmsgbyte(buf);

	if (!rfm_valid(r, f, m, bins))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external rfm value"),
				 errdetail("Scores %d, %d, %d on %d bins.", r, f, m, bins)));
	PG_RETURN_RFM(rfm_make(r, f, m, bins));
}

/* rfm_send(rfm) */
Datum
rfm_send(PG_FUNCTION_ARGS)
{
	Rfm			x = PG_GETARG_RFM(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, RFM_R(x));
	pq_sendbyte(&buf, RFM_F(x));
	pq_sendbyte(&buf, RFM_M(x));
	pq_sendbyte(&buf, RFM_BINS(x));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Accessors. */
Datum
rfm_r(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(RFM_R(PG_GETARG_RFM(0)));
}

Datum
rfm_f(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(RFM_F(PG_GETARG_RFM(0)));
}

/* m(rfm): NULL without a monetary score. */
Datum
rfm_m(PG_FUNCTION_ARGS)
{
	Rfm			x = PG_GETARG_RFM(0);

	if (RFM_M(x) == RFM_NO_M)
		PG_RETURN_NULL();
	PG_RETURN_INT32(RFM_M(x));
}

Datum
rfm_bins(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(RFM_BINS(PG_GETARG_RFM(0)));
}

/* score(rfm) = 100 r + 10 f + m, the usual numeric code ('545' -> 545); NULL without M. */
Datum
rfm_score_code(PG_FUNCTION_ARGS)
{
	Rfm			x = PG_GETARG_RFM(0);

	if (RFM_M(x) == RFM_NO_M)
		PG_RETURN_NULL();
	PG_RETURN_INT32(100 * RFM_R(x) + 10 * RFM_F(x) + RFM_M(x));
}

/* rfm(r, f, m, bins = 5): build a value from scores, validating them; m NULL: no M. */
Datum
rfm_construct(PG_FUNCTION_ARGS)
{
	int32		r, f, m, bins;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	r = PG_GETARG_INT32(0);
	f = PG_GETARG_INT32(1);
	m = PG_ARGISNULL(2) ? RFM_NO_M : PG_GETARG_INT32(2);
	bins = PG_GETARG_INT32(3);
	rfm_check_bins(bins);
	if (!rfm_valid(r, f, m, bins) || (!PG_ARGISNULL(2) && m == RFM_NO_M))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("rfm scores must be between 1 and %d", bins),
				 errdetail("Got r = %d, f = %d, m = %d.", r, f, m)));
	PG_RETURN_RFM(rfm_make(r, f, m, bins));
}

/* Comparison: by r, then f, then m, then bins (the packed integer order). */
static inline int
rfm_compare(Rfm a, Rfm b)
{
	return (a > b) - (a < b);
}

Datum
rfm_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rfm_compare(PG_GETARG_RFM(0), PG_GETARG_RFM(1)));
}

Datum
rfm_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_compare(PG_GETARG_RFM(0), PG_GETARG_RFM(1)) < 0);
}

Datum
rfm_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_compare(PG_GETARG_RFM(0), PG_GETARG_RFM(1)) <= 0);
}

Datum
rfm_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) == PG_GETARG_RFM(1));
}

Datum
rfm_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_RFM(0) != PG_GETARG_RFM(1));
}

Datum
rfm_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_compare(PG_GETARG_RFM(0), PG_GETARG_RFM(1)) >= 0);
}

Datum
rfm_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_compare(PG_GETARG_RFM(0), PG_GETARG_RFM(1)) > 0);
}

/* Hash support (GROUP BY, hash joins). */
Datum
rfm_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint4, Int32GetDatum(PG_GETARG_RFM(0)));
}
