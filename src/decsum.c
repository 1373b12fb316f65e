/*
 * decsum.c — exact running sum of numeric amounts (see decsum.h).
 *
 * Reading the digits straight out of a numeric datum relies on numeric's
 * on-disk format, which PostgreSQL keeps stable across major versions
 * (pg_upgrade depends on it): a uint16 header word, then base-10000 digits.
 */
#include "decsum.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#define NBASE				10000
#define UNIT_DIGITS			4		/* the fast path counts 1/10000 units */
#define FAST_MAX_WEIGHT		4		/* values below 10000^5 = 1e20 */

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

/* Start an empty sum. */
void
decsum_init(DecSum *s)
{
	s->units = 0;
	s->extra = NULL;
	s->dscale = 0;
}

/*
 * Decode a (possibly short-header) numeric; returns false for values the
 * fast path cannot hold exactly.  Sets *dscale and *neg always.
 */
static bool
numeric_to_units(struct varlena *v, int128 *units, int16 *dscale, bool *neg)
{
	const char *p = VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int			weight;
	int			hdr;
	int			ndigits;
	int128		u = 0;

	memcpy(&header, p, sizeof(uint16));
	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be a finite number"),
				 errdetail("Got NaN or Infinity."),
				 errhint("Filter out or fix the row before profiling it.")));

	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SHORT)
	{
		*neg = (header & NUMERIC_SHORT_SIGN_MASK) != 0;
		*dscale = (header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
		weight = (header & NUMERIC_SHORT_WEIGHT_SIGN_MASK) ? ~NUMERIC_SHORT_WEIGHT_MASK : 0;
		weight |= header & NUMERIC_SHORT_WEIGHT_MASK;
		hdr = sizeof(uint16);
	}
	else
	{
		int16		w;

		*neg = (header & NUMERIC_SIGN_MASK) == NUMERIC_NEG;
		*dscale = header & NUMERIC_DSCALE_MASK;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		hdr = 2 * sizeof(uint16);
	}
	ndigits = (len - hdr) / (int) sizeof(int16);
	if (ndigits == 0)
	{
		*units = 0;
		*neg = false;
		return true;
	}
	/* Fast path: at most one base-10000 digit after the point, not huge. */
	if (weight > FAST_MAX_WEIGHT || ndigits > weight + 2)
		return false;
	for (int i = 0; i < ndigits; i++)
	{
		int16		d;

		memcpy(&d, p + hdr + i * sizeof(int16), sizeof(int16));
		u = u * NBASE + d;
	}
	for (int e = weight + 2 - ndigits; e > 0; e--)
		u *= NBASE;
	*units = *neg ? -u : u;
	return true;
}

/* Decode a numeric datum once; errors for NaN and Infinity. */
void
decsum_decode(Datum amount, DecAmount *a)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(amount);
	bool		neg;

	a->datum = amount;
	a->fast = numeric_to_units(v, &a->units, &a->dscale, &neg);
	if (a->fast)
		a->sign = a->units > 0 ? 1 : (a->units < 0 ? -1 : 0);
	else
		a->sign = neg ? -1 : 1;
}

/* Add a decoded amount; a side sum is allocated in ctx (the state's context). */
void
decsum_add(DecSum *s, const DecAmount *a, MemoryContext ctx)
{
	if (a->fast)
	{
		s->units += a->units;
		if (a->dscale > s->dscale)
			s->dscale = Min(a->dscale, UNIT_DIGITS);
	}
	else
	{
		MemoryContext old = MemoryContextSwitchTo(ctx);
		Numeric		num = DatumGetNumericCopy(a->datum);

		s->extra = s->extra ? numeric_add_opt_error(s->extra, num, NULL) : num;
		MemoryContextSwitchTo(old);
	}
}

/* Add another sum into s. */
void
decsum_combine(DecSum *s, const DecSum *other, MemoryContext ctx)
{
	s->units += other->units;
	s->dscale = Max(s->dscale, other->dscale);
	if (other->extra)
	{
		MemoryContext old = MemoryContextSwitchTo(ctx);

		s->extra = s->extra ? numeric_add_opt_error(s->extra, other->extra, NULL)
			: DatumGetNumericCopy(NumericGetDatum(other->extra));
		MemoryContextSwitchTo(old);
	}
}

/* Format an int128 as decimal text with four implied decimals. */
static Numeric
units_to_numeric(int128 units, int dscale)
{
	char		buf[64];
	char	   *p = buf + sizeof(buf) - 1;
	bool		neg = units < 0;
	unsigned __int128 u = neg ? -(unsigned __int128) units : (unsigned __int128) units;
	int64		scaled;
	int			drop = UNIT_DIGITS - dscale;

	/* Common case: fits in int64 after dropping the unused decimals. */
	for (int i = 0; i < drop; i++)
		u /= 10;				/* exact: every input had <= dscale decimals */
	if (u <= (unsigned __int128) PG_INT64_MAX)
	{
		scaled = (int64) u;
		return int64_div_fast_to_numeric(neg ? -scaled : scaled, dscale);
	}

	*p = '\0';
	for (int i = 0; u > 0 || i <= dscale; i++)
	{
		if (i == dscale && dscale > 0)
			*--p = '.';
		*--p = '0' + (int) (u % 10);
		u /= 10;
	}
	if (neg)
		*--p = '-';
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(p),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* The exact sum as a numeric (allocated in the current context). */
Numeric
decsum_numeric(const DecSum *s)
{
	Numeric		r = units_to_numeric(s->units, s->dscale);

	if (s->extra)
		r = numeric_add_opt_error(r, s->extra, NULL);
	return r;
}

/* The exact difference a - b as a numeric. */
Numeric
decsum_numeric_diff(const DecSum *a, const DecSum *b)
{
	DecSum		d;

	d.units = a->units - b->units;
	d.dscale = Max(a->dscale, b->dscale);
	d.extra = a->extra;
	if (b->extra)
		d.extra = a->extra ? numeric_sub_opt_error(a->extra, b->extra, NULL)
			: numeric_sub_opt_error(int64_to_numeric(0), b->extra, NULL);
	return decsum_numeric(&d);
}

/* The sum rounded to float8. */
double
decsum_float8(const DecSum *s)
{
	double		r = (double) s->units / 1e4;

	if (s->extra)
		r += DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(s->extra)));
	return r;
}

/* Append the sum to a serialisation buffer. */
void
decsum_send(StringInfo buf, const DecSum *s)
{
	pq_sendint64(buf, (int64) (s->units >> 64));
	pq_sendint64(buf, (int64) (uint64) s->units);
	pq_sendint16(buf, s->dscale);
	if (s->extra)
	{
		char	   *txt = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(s->extra)));

		pq_sendbyte(buf, 1);
		pq_sendstring(buf, txt);
	}
	else
		pq_sendbyte(buf, 0);
}

/* Read a sum written by decsum_send, allocating the side sum in ctx. */
void
decsum_recv(StringInfo buf, DecSum *s, MemoryContext ctx)
{
	uint64		hi = (uint64) pq_getmsgint64(buf);
	uint64		lo = (uint64) pq_getmsgint64(buf);

	s->units = (int128) (((unsigned __int128) hi << 64) | lo);
	s->dscale = pq_getmsgint(buf, 2);
	if (s->dscale < 0 || s->dscale > UNIT_DIGITS)
		elog(ERROR, "invalid dscale in serialised persona state");
	if (pq_getmsgbyte(buf))
	{
		const char *txt = pq_getmsgstring(buf);
		MemoryContext old = MemoryContextSwitchTo(ctx);

		s->extra = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(txt),
													   ObjectIdGetDatum(InvalidOid),
													   Int32GetDatum(-1)));
		MemoryContextSwitchTo(old);
	}
	else
		s->extra = NULL;
}
