/*
 * decsum.h — exact sums of numeric amounts, fast for money-like values.
 */
#ifndef PERSONA_DECSUM_H
#define PERSONA_DECSUM_H

#include "postgres.h"
#include "lib/stringinfo.h"
#include "utils/numeric.h"

struct StateReader;

/*
 * A sum is kept as an int64 count of 1/10000 units plus an exact numeric
 * side sum ("extra", NULL almost always).  Amounts with at most four
 * decimals and below 1e12 (every real price) take the integer path; other
 * amounts, and integer overflow, go to the side sum.  The total is exact
 * either way; the integer path only avoids numeric arithmetic per row.
 */
#define DEC_UNIT_DIGITS 4

/* One decoded amount, ready to be added to one or more sums. */
typedef struct DecAmount
{
	bool		fast;			/* units holds the value exactly */
	int			sign;			/* -1, 0 or 1 */
	int16		dscale;			/* display scale of the input */
	int64		units;			/* value in 1/10000 units when fast */
	Datum		datum;			/* the original numeric */
} DecAmount;

extern void dec_decode(Datum amount, DecAmount *a);
extern bool dec_decode_finite(Datum amount, DecAmount *a);
extern void dec_add(int64 *units, Numeric *extra, const DecAmount *a, MemoryContext ctx);
extern void dec_add_sum(int64 *units, Numeric *extra, int64 other_units, Numeric other_extra,
						MemoryContext ctx);
extern Numeric dec_numeric(int64 units, Numeric extra, int dscale);
extern double dec_float8(int64 units, Numeric extra);

/* persona.numeric_to_float8(numeric): numeric::float8, the same value (decsum.c) */
extern Datum numeric_to_float8(PG_FUNCTION_ARGS);
extern void dec_send_numeric(StringInfo buf, Numeric extra);
extern Numeric dec_recv_numeric(struct StateReader *r, MemoryContext ctx);

#endif							/* PERSONA_DECSUM_H */
