/*
 * btyd.h — shared pieces of the BTYD models (bgnbd.c, pareto_nbd.c,
 * gamma_gamma.c, clv.c).
 */
#ifndef PERSONA_BTYD_H
#define PERSONA_BTYD_H

#include "access/htup.h"
#include "fitstate.h"
#include "optim.h"

extern void btyd_check_summary(double x, double tx, double T);
extern FitData *btyd_fit_data(FunctionCallInfo fcinfo, const char *model);
extern Datum btyd_model_datum(FunctionCallInfo fcinfo, int k, const double *p,
							  const FitData *d, OptimResult res, const char *model);
extern void btyd_check_horizon(double t);
/* Days in the time unit 'days' or 'weeks' (btyd() and clv() take it). */
extern double btyd_unit_days(const char *unit);
extern void btyd_model_params(HeapTupleHeader m, int k, double *out, const char *model);

/* Conditional expected purchases in the next t periods (clv.c sums them). */
extern double bgnbd_expected_value(const double *m, double t, double x, double tx, double T);
extern double pareto_nbd_expected_value(const double *m, double t, double x, double tx, double T);

/* gamma_gamma.c: expected mean spend (x = 0: the population mean) */
extern double gamma_gamma_spend_value(const double *gg, double x, double m);

#endif							/* PERSONA_BTYD_H */
