/*
 * fit_times.h — the distinct purchase times of a fit's rows (bgnbd.c,
 * nbd.c): customers share first and last purchase days, so a million rows
 * hold a few hundred distinct t_x and T, and ln(alpha + t) is computed
 * once per time instead of once per row.
 */
#ifndef PERSONA_FIT_TIMES_H
#define PERSONA_FIT_TIMES_H

#include "fitstate.h"

/*
 * Distinct values of a time column (t_x or T), kept only when it saves
 * work; the same operations on the same values, so a likelihood computed
 * with them is bit for bit the one computed per row.
 */
typedef struct FitTimeColumn
{
	double	   *values;			/* sorted, distinct */
	int32	   *index;			/* per row: its value's position */
	int			n;
} FitTimeColumn;

typedef struct FitTimes
{
	bool		used;			/* false: too many distinct times, compute per row */
	FitTimeColumn tx, T;
	double	   *log_tx, *log_T;	/* ln(alpha + value) of the current evaluation */
} FitTimes;

/* d's distinct times, built on its first use and kept with it; NULL when too many or too few rows */
extern FitTimes *fit_times(const FitData *d);

#endif							/* PERSONA_FIT_TIMES_H */
