/*
 * fitstate.h — the state of persona's model-fitting aggregates.
 */
#ifndef PERSONA_FITSTATE_H
#define PERSONA_FITSTATE_H

#include "postgres.h"
#include "fmgr.h"

/*
 * The fit aggregates' state: distinct (k1, k2, k3) rows with summed weights
 * — (x, t_x, T) for BG/NBD and Pareto/NBD, (x, mean spend, 0) for
 * Gamma-Gamma.  Customers with the same history are one row however many
 * there are, which is what makes fits on millions of customers cheap, and
 * partial states combine by adding weights.  In SQL the state is the type
 * persona.fit_state (its text form re-reads exactly, so Citus can combine
 * partial fits from its workers); inside an aggregate it is an expanded
 * object (expstate.h) around the hash table.
 */
typedef struct FitRow
{
	double		k1, k2, k3;
	double		w;
} FitRow;

typedef struct FitData
{
	FitRow	   *rows;			/* sorted by k1, k2, k3 */
	int64		n;
	double		weight;			/* total weight */
	int64		input_rows;		/* rows aggregated, zero-weight ones included */
	double		penalty;
	double		unit_days;		/* time unit of the summaries (days in it); 0: not stated */
	int64		skipped;		/* rows counted but left out (fitstate_skip_row) */
	int			start_k;		/* > 0: start the search at start[0..start_k-1] */
	double		start[4];		/* a previous fit's parameters (natural scale) */
	struct FitTimes *times;		/* fit_times.c: distinct t_x and T, built on first use; NULL: none yet */
	double	   *log_k2;			/* Gamma-Gamma: ln(mean spend) per row, built on first use; NULL: none yet */
} FitData;

/* What a state's rows are, and so how they are checked. */
typedef enum FitKind
{
	FIT_HISTORIES = 1,			/* (x, t_x, T): BG/NBD, MBG/NBD, Pareto/NBD, NBD */
	FIT_OPPORTUNITIES = 2,		/* (x, t_x, n): BG/BB */
	FIT_SPEND = 3				/* (x, mean spend, 0): Gamma-Gamma */
} FitKind;

typedef struct FitState FitState;
struct ExpState;
/* Count one aggregated row. */
extern void fitstate_count_row(FitState *st);
/* Count one row left out of the fit, for the final function to report. */
extern void fitstate_skip_row(FitState *st);
/* Add weight w to the row (k1, k2, k3). */
extern void fitstate_add(FitState *st, double k1, double k2, double k3, double w);
/* Error unless row (k1, k2, k3) is valid for the state's kind. */
extern void fitstate_check_row(const FitState *st, double k1, double k2, double k3);
/* Error unless the state is of this kind (model names the aggregate in the message). */
extern void fitstate_check_kind(const FitState *st, FitKind kind, const char *model);
/* The distinct rows of a persona.fit_state datum, sorted, for a final function. */
extern FitData *fitstate_data(Datum state, FitKind kind, const char *model);

/*
 * The state a fit aggregate's transition function updates (argument 0; a
 * new one of this kind on the first row): return expstate_datum() of it,
 * with the FitState in its ->state.
 */
extern struct ExpState *fitstate_begin(FunctionCallInfo fcinfo, FitKind kind);
/* Take the optional penalty argument (the same on every row). */
extern void fitstate_penalty_arg(FitState *st, FunctionCallInfo fcinfo, int argno);
/* Take the optional start argument, a model row whose first k attributes are its parameters. */
extern void fitstate_start_arg(FitState *st, FunctionCallInfo fcinfo, int argno, int k, const char *model);

/* Record the time unit of a row's summary (0: not stated); units must agree. */
extern void fitstate_unit(FitState *st, double unit_days);

/* btyd.c: transition function of bgnbd_fit, mbgnbd_fit and pareto_nbd_fit */
extern Datum btyd_fit_transfn(PG_FUNCTION_ARGS);

/*
 * The data of a fit from weighted rows (weighted_rows.h) of nkeys keys
 * each, with the penalty and start model of arguments penalty_argno and
 * start_argno (NULL: none); the caller validates the rows.
 */
struct WeightedRows;
extern FitData *fitdata_from_rows(const struct WeightedRows *r, FunctionCallInfo fcinfo,
								  int penalty_argno, int start_argno, int k, const char *model);

#endif							/* PERSONA_FITSTATE_H */
