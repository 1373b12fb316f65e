/*
 * decsum.h — exact running sum of numeric values, fast for money-like amounts.
 */
#ifndef PERSONA_DECSUM_H
#define PERSONA_DECSUM_H

#include "postgres.h"
#include "lib/stringinfo.h"
#include "utils/numeric.h"

/*
 * Amounts with at most four decimals and below 1e20 in magnitude (every
 * real-world price) are added as integers counting 1/10000 units in an
 * int128; anything else goes to an exact numeric side sum.  The result is
 * exact either way; the integer path only avoids numeric arithmetic per row.
 */
typedef struct DecSum
{
	int128		units;			/* sum of fast-path amounts, in 1e-4 units */
	Numeric		extra;			/* exact sum of the other amounts, or NULL */
	int16		dscale;			/* largest display scale seen (for output) */
} DecSum;

/* One decoded amount, ready to be added to one or more sums. */
typedef struct DecAmount
{
	bool		fast;			/* units is exact; otherwise use datum */
	int128		units;
	int16		dscale;
	int			sign;			/* -1, 0 or 1 */
	Datum		datum;			/* the original numeric */
} DecAmount;

extern void decsum_init(DecSum *s);
extern void decsum_decode(Datum amount, DecAmount *a);
extern void decsum_add(DecSum *s, const DecAmount *a, MemoryContext ctx);
extern void decsum_combine(DecSum *s, const DecSum *other, MemoryContext ctx);
extern Numeric decsum_numeric(const DecSum *s);
extern Numeric decsum_numeric_diff(const DecSum *a, const DecSum *b);
extern double decsum_float8(const DecSum *s);
extern void decsum_send(StringInfo buf, const DecSum *s);
extern void decsum_recv(StringInfo buf, DecSum *s, MemoryContext ctx);

#endif							/* PERSONA_DECSUM_H */
