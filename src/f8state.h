/*
 * f8state.h — float8[] aggregate states of distinct values with counts, for
 * global aggregates over every customer's values (quantile cuts, Lorenz
 * curves).
 *
 * The state is a real float8[], so it prints and re-reads exactly and
 * Citus can ship partial states between nodes as text; and it is compact:
 *
 *		header[nheader]				the aggregate's parameters
 *		count[nd]					runs per dimension
 *		runs of dimension 0 .. nd-1	(value, customers) pairs, values ascending
 *		pending rows				nd values each, not yet counted into runs
 *
 * Transition functions append a pending row; once the pending rows reach an
 * eighth of the runs (at least 64) they are sorted and merged into the
 * runs, so a state holds about as many numbers as there are distinct values
 * and appending stays amortised O(log n).  Inside one aggregate the state
 * is an expanded array.
 */
#ifndef PERSONA_F8STATE_H
#define PERSONA_F8STATE_H

#include "postgres.h"
#include "fmgr.h"
#include "weighted_rows.h"

#define F8STATE_MAX_DIMS 3

/* A state read back: its header and every dimension's (value, count) runs. */
typedef struct F8State
{
	const double *header;
	WeightedRows dim[F8STATE_MAX_DIMS];	/* width 2, pending rows counted in */
} F8State;

/*
 * Add one row of nd values (NaN in column nan_col: missing from that
 * dimension); a NULL state starts from header; row NULL: add nothing.  Returns the expanded,
 * read-write state to hand back to the executor.
 */
extern Datum f8state_add(Datum state, bool state_null, MemoryContext aggctx,
						 const double *header, int nheader, int nd, int nan_col,
						 const double *row, const char *what);
/* Add x to header value i of a state f8state_add returned. */
extern Datum f8state_header_add(Datum state, int i, double x);
/*
 * Merge b into a: the first nfixed header values must be equal, the other
 * header values are added.
 */
extern Datum f8state_combine(Datum a, bool a_null, Datum b, MemoryContext aggctx,
							 int nheader, int nfixed, int nd, int nan_col, const char *what);
/* A state validated and read back, pending rows merged into the runs. */
extern F8State f8state_read(Datum state, int nheader, int nd, int nan_col, const char *what);
/* Sort n values (never NaN) ascending, checking for interrupts: millions of customers. */
extern void f8state_sort(double *v, size_t n);
/* Header value i of a state (expanded or flat), checked. */
extern double f8state_header(Datum state, int i, const char *what);
/* Whether header values first .. first + n - 1 of a state are those of header. */
extern bool f8state_header_equals(Datum state, const double *header, int first, int n, const char *what);

/*
 * Quantisation of the approximate (sketch) mode: the largest value of the
 * grid {0, +-gamma^k} not above v, gamma = (1 + accuracy) / (1 - accuracy)
 * (-DBL_MAX below the most negative finite grid value).
 * It is monotone and keeps grid values, so scoring raw values against a
 * grid cut agrees with the counts of the quantised ones.
 */
extern double f8state_quantise(double v, double accuracy);
/* A value of the bucket [q, next grid value) within relative accuracy of all of it. */
extern double f8state_representative(double q, double accuracy);
/* The accuracy argument argno (absent: 0, exact); NULL is an error. */
extern double f8state_accuracy_arg(FunctionCallInfo fcinfo, int argno);
/* Error unless accuracy is 0 (exact) or between 1e-6 and 0.1. */
extern void f8state_check_accuracy(double accuracy);

#endif							/* PERSONA_F8STATE_H */
