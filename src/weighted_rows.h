/*
 * weighted_rows.h — distinct weighted rows in a float8[][]: the
 * per-customer values a profile's global parts are computed from, kept
 * between refreshes so that an incremental refresh merges the rows of the
 * customers that changed instead of reading every customer again.
 */
#ifndef PERSONA_WEIGHTED_ROWS_H
#define PERSONA_WEIGHTED_ROWS_H

#include "postgres.h"
#include "utils/array.h"

/* widest row: four keys and the weight */
#define WROWS_MAX_WIDTH 5

/*
 * Rows of width values each (width - 1 keys, then the weight), sorted by
 * key with no key twice and every weight > 0 (see wrows_read).  The values
 * are read only: they may be the argument array's own.
 */
typedef struct WeightedRows
{
	const double *v;			/* n * width values, row-major */
	int64		n;
	int			width;
	double		total;			/* sum of the weights */
} WeightedRows;

/*
 * The rows of a float8[][] argument (NULL or empty: no rows), validated
 * (finite, weights > 0, width as given or any of 2..5 when width is 0)
 * and brought into key order with equal keys combined.  whole: the weights
 * must be whole numbers (counts of customers).  Rows already so (what a
 * profile stores, what weighted_rows returns) are read in place, not copied.
 */
extern WeightedRows wrows_read(ArrayType *a, int width, bool whole, const char *what);

/*
 * The row holding 0-based position pos of the (value, count) rows r
 * expanded by their counts, searching on from *row (with *before counts in
 * the rows ahead of it): positions asked in ascending order cost one pass.
 * r->n when pos is past the end.
 */
extern int64 wrows_row_at(const WeightedRows *r, int64 pos, int64 *row, int64 *before);

/*
 * Rows being collected (weighted_rows_agg's state): wagg_add appends a row
 * of the state's width (keys, then a weight of any sign; -0 is 0, every
 * value must be finite), kept in ctx; wagg_result gives what the
 * aggregate gives, the rows sorted with equal keys combined and zero
 * weights left out, or NULL for none.
 */
typedef struct WRowsAgg WRowsAgg;

extern WRowsAgg *wagg_new(MemoryContext ctx, int width);
extern void wagg_add(MemoryContext ctx, WRowsAgg *st, const double *values);
extern ArrayType *wagg_result(const WRowsAgg *st);

#endif							/* PERSONA_WEIGHTED_ROWS_H */
