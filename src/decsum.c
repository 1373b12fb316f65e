/*
 * decsum.c — exact sums of numeric amounts (see decsum.h).
 *
 * Reading the digits straight out of a numeric datum relies on numeric's
 * on-disk format, which PostgreSQL keeps stable across major versions
 * (pg_upgrade depends on it): a uint16 header word, then base-10000 digits.
 */
#include "decsum.h"
#include "state.h"

#include "common/int.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#define NBASE				10000
#define FAST_MAX_WEIGHT		2		/* values below 10000^3 = 1e12 */

#define NUMERIC_SIGN_MASK	0xC000
#define NUMERIC_NEG			0x4000
#define NUMERIC_SHORT		0x8000
#define NUMERIC_SPECIAL		0xC000
#define NUMERIC_DSCALE_MASK 0x3FFF
#define NUMERIC_SHORT_SIGN_MASK			0x2000
#define NUMERIC_SHORT_DSCALE_MASK		0x1F80
#define NUMERIC_SHORT_DSCALE_SHIFT		7
#define NUMERIC_SHORT_WEIGHT_SIGN_MASK	0x0040
#define NUMERIC_SHORT_WEIGHT_MASK		0x003F

/* Decode a numeric datum once; NaN and Infinity are errors. */
void
dec_decode(Datum amount, DecAmount *a)
{
	if (!dec_decode_finite(amount, a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be a finite number"),
				 errdetail("Got NaN or Infinity."),
				 errhint("Filter out or fix the row before profiling it.")));
}

/* Decode a numeric datum once; false (a untouched) for NaN and Infinity. */
bool
dec_decode_finite(Datum amount, DecAmount *a)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(amount);
	const char *p = VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int			weight;
	int			hdr;
	int			ndigits;
	bool		neg;
	int64		u = 0;

	memcpy(&header, p, sizeof(uint16));
	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SPECIAL)
		return false;

	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SHORT)
	{
		neg = (header & NUMERIC_SHORT_SIGN_MASK) != 0;
		a->dscale = (header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
		weight = (header & NUMERIC_SHORT_WEIGHT_SIGN_MASK) ? ~NUMERIC_SHORT_WEIGHT_MASK : 0;
		weight |= header & NUMERIC_SHORT_WEIGHT_MASK;
		hdr = sizeof(uint16);
	}
	else
	{
		int16		w;

		neg = (header & NUMERIC_SIGN_MASK) == NUMERIC_NEG;
		a->dscale = header & NUMERIC_DSCALE_MASK;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		hdr = 2 * sizeof(uint16);
	}
	ndigits = (len - hdr) / (int) sizeof(int16);
	a->datum = amount;
	if (ndigits == 0)
	{
		a->fast = true;
		a->units = 0;
		a->sign = 0;
		return true;
	}
	a->sign = neg ? -1 : 1;
	/* Fast path: at most one base-10000 digit after the point, not huge. */
	a->fast = weight <= FAST_MAX_WEIGHT && ndigits <= weight + 2;
	if (!a->fast)
		return true;
	for (int i = 0; i < ndigits; i++)
	{
		int16		d;

		memcpy(&d, p + hdr + i * sizeof(int16), sizeof(int16));
		u = u * NBASE + d;
	}
	for (int e = weight + 2 - ndigits; e > 0; e--)
		u *= NBASE;
	a->units = neg ? -u : u;
	return true;
}

/* extra += x, allocating the result in ctx. */
static void
extra_add(Numeric *extra, Numeric x, MemoryContext ctx)
{
	MemoryContext old = MemoryContextSwitchTo(ctx);

	*extra = *extra ? numeric_add_opt_error(*extra, x, NULL)
		: DatumGetNumericCopy(NumericGetDatum(x));
	MemoryContextSwitchTo(old);
}

/* Add a decoded amount to the sum (units, extra). */
void
dec_add(int64 *units, Numeric *extra, const DecAmount *a, MemoryContext ctx)
{
	int64		sum;

	if (a->fast)
	{
		if (likely(!pg_add_s64_overflow(*units, a->units, &sum)))
			*units = sum;
		else
		{
			/* Spill the integer part to the exact side sum. */
			extra_add(extra, int64_div_fast_to_numeric(*units, DEC_UNIT_DIGITS), ctx);
			*units = a->units;
		}
	}
	else
		extra_add(extra, DatumGetNumeric(a->datum), ctx);
}

/* Add another sum (other_units, other_extra) to (units, extra). */
void
dec_add_sum(int64 *units, Numeric *extra, int64 other_units, Numeric other_extra, MemoryContext ctx)
{
	DecAmount	a = {.fast = true, .units = other_units};

	dec_add(units, extra, &a, ctx);
	if (other_extra)
		extra_add(extra, other_extra, ctx);
}

/* The exact sum as a numeric with at least dscale decimals shown. */
Numeric
dec_numeric(int64 units, Numeric extra, int dscale)
{
	Numeric		r;
	int			drop = DEC_UNIT_DIGITS - Min(dscale, DEC_UNIT_DIGITS);
	int64		scaled = units;

	/* Exact: every fast-path input had at most dscale decimals. */
	for (int i = 0; i < drop; i++)
		scaled /= 10;
	r = int64_div_fast_to_numeric(scaled, DEC_UNIT_DIGITS - drop);
	if (extra)
		r = numeric_add_opt_error(r, extra, NULL);
	return r;
}

/*
 * The sum rounded to float8, once: with a side sum the exact total is
 * rounded, so the result does not depend on how the sum was split between
 * units and extra (which an overflow of units decides, and so the order
 * the amounts came in).
 */
double
dec_float8(int64 units, Numeric extra)
{
	if (extra == NULL)
		return (double) units / 1e4;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(dec_numeric(units, extra, DEC_UNIT_DIGITS))));
}

/* Append an optional side sum to a serialisation buffer. */
void
dec_send_numeric(StringInfo buf, Numeric extra)
{
	if (extra)
	{
		pq_sendbyte(buf, 1);
		pq_sendstring(buf, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(extra))));
	}
	else
		pq_sendbyte(buf, 0);
}

/*
 * Whether s is a plain decimal as numeric_out writes a finite value: an
 * optional '-', digits, optionally '.' and digits, within numeric's limits
 * (131072 digits before the point, 16383 after).  Checked before numeric_in so that a crafted state cannot raise
 * numeric_in's own errors (22P02, 22003) or smuggle in NaN or Infinity.
 */
#define DEC_MAX_INT_DIGITS 131072
#define DEC_MAX_FRAC_DIGITS 16383

static bool
plain_decimal(const char *s)
{
	const char *p = s;
	int			before = 0, after = 0;

	if (*p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, before++;
	if (*p == '.')
	{
		p++;
		while (*p >= '0' && *p <= '9')
			p++, after++;
		if (after == 0)
			return false;
	}
	return *p == '\0' && before > 0 && before <= DEC_MAX_INT_DIGITS && after <= DEC_MAX_FRAC_DIGITS;
}

/*
 * Read a side sum written by dec_send_numeric, allocating it in ctx; a
 * malformed one is a 22P03 error of the state being read.
 */
Numeric
dec_recv_numeric(StateReader *r, MemoryContext ctx)
{
	MemoryContext old;
	Numeric		n;
	int			flag = state_get_byte(r);
	const char *digits;

	if (flag == 0)
		return NULL;
	if (flag != 1)
		persona_bad_state(r, "An exact side sum has a bad marker byte.");
	digits = state_get_string(r, DEC_MAX_INT_DIGITS + DEC_MAX_FRAC_DIGITS + 2);
	if (!plain_decimal(digits))
		persona_bad_state(r, "An exact side sum is not a finite decimal number.");
	old = MemoryContextSwitchTo(ctx);
	n = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(digits),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	MemoryContextSwitchTo(old);
	return n;
}

PG_FUNCTION_INFO_V1(numeric_to_float8);

/*
 * numeric_to_float8(numeric): numeric::float8, the same value.  An amount
 * with at most four decimals whose 1/10000 units are below 2^53 is an
 * exact integer divided by an exact 10^4, and IEEE division rounds that
 * quotient correctly, as float8in rounds the decimal numeric_float8 writes
 * and reads back; any other value takes numeric_float8 itself.  Saves the
 * text round trip (~0.3 us a value) where a profile turns every
 * customer's revenue into float8.
 */
Datum
numeric_to_float8(PG_FUNCTION_ARGS)
{
	DecAmount	a;

	if (dec_decode_finite(PG_GETARG_DATUM(0), &a) && a.fast &&
		a.units <= (INT64CONST(1) << 53) && a.units >= -(INT64CONST(1) << 53))
		PG_RETURN_FLOAT8((double) a.units / 1e4);
	return DirectFunctionCall1(numeric_float8, PG_GETARG_DATUM(0));
}
