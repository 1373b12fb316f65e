/*
 * f8state.h — float8[] aggregate states for global aggregates that must see
 * every value (quantiles, Lorenz curves).
 *
 * The state is a real float8[]: a few header values (the aggregate's
 * parameters) followed by the data.  Unlike an internal state it prints and
 * re-reads exactly, so Citus can ship partial states between nodes; inside
 * one aggregate it stays an expanded array, so appending is amortised O(1).
 */
#ifndef PERSONA_F8STATE_H
#define PERSONA_F8STATE_H

#include "postgres.h"
#include "fmgr.h"

extern Datum f8state_append(Datum state, bool state_null, MemoryContext aggctx,
							const double *header, int nheader, const double *values, int n);
extern Datum f8state_combine(Datum a, bool a_null, Datum b, MemoryContext aggctx, int nheader,
							 int stride, int nan_col, const char *what);
extern const double *f8state_read(Datum state, int nheader, int64 *n, const char *what);
/* Data in rows of stride values whose column nan_col may be NaN (missing). */
extern const double *f8state_read_missing(Datum state, int nheader, int stride, int nan_col,
										  int64 *n, const char *what);
extern double f8state_header(Datum state, int i, const char *what);

#endif							/* PERSONA_F8STATE_H */
