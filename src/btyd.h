/*
 * btyd.h — shared pieces of the BTYD models (bgnbd.c, mbgnbd.c,
 * pareto_nbd.c, bgbb.c, gamma_gamma.c, clv.c).
 */
#ifndef PERSONA_BTYD_H
#define PERSONA_BTYD_H

#include "access/htup.h"
#include "fitstate.h"
#include "optim.h"

/*
 * A purchase model (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, NBD): its
 * likelihood over a FitData and its scoring formulas over its k parameters
 * m[k] (4, or 2 for NBD).  The
 * SQL-callable functions of all of them are these applied to one
 * descriptor.  check validates one customer summary (x, t_x, T) — for the
 * discrete BG/BB, (x, t_x, n) — and check_horizon a prediction horizon.
 */
typedef struct BtydModel
{
	const char *name;
	int			k;				/* parameters, first in its row type */
	double		(*value) (void *data, const double *p);
	double		(*value_grad) (void *data, const double *p, double *g);	/* or NULL */
	double		(*p_alive) (const double *m, double x, double tx, double T);
	double		(*expected) (const double *m, double t, double x, double tx, double T);
	void		(*check) (double x, double tx, double T);
	void		(*check_horizon) (double t);
	/* P(X(t) = n) of a new customer, or NULL (no purchase_count_probability) */
	double		(*count_probability) (const double *m, double t, int n);
} BtydModel;

extern const BtydModel bgnbd_model;
extern const BtydModel mbgnbd_model;
extern const BtydModel pareto_nbd_model;
extern const BtydModel bgbb_model;
extern const BtydModel nbd_model;

/* fit aggregate final function; P(alive); conditional, unconditional expectation; loglik */
extern Datum btyd_fit_final(FunctionCallInfo fcinfo, const BtydModel *model);
/* (rows, penalty, start): the fit over weighted (x, t_x, T, weight) rows */
extern Datum btyd_fit_rows_call(FunctionCallInfo fcinfo, const BtydModel *model);
extern Datum btyd_p_alive_call(FunctionCallInfo fcinfo, const BtydModel *model);
extern Datum btyd_expected_call(FunctionCallInfo fcinfo, const BtydModel *model);
extern Datum btyd_expected_new_call(FunctionCallInfo fcinfo, const BtydModel *model);
extern Datum btyd_loglik_call(FunctionCallInfo fcinfo, const BtydModel *model);
/* (model, t, n): P(X(t) = n) of a new customer */
extern Datum btyd_count_probability_call(FunctionCallInfo fcinfo, const BtydModel *model);
/* the same with a persona.btyd_summary argument instead of x, t_x, T: (model, summary), (model, t, summary) */
extern Datum btyd_p_alive_summary_call(FunctionCallInfo fcinfo, const BtydModel *model);
extern Datum btyd_expected_summary_call(FunctionCallInfo fcinfo, const BtydModel *model);

/* Attributes of persona.btyd_summary (unit added in 0.5.0, last). */
#define BTYD_SUMMARY_X 1
#define BTYD_SUMMARY_T_X 2
#define BTYD_SUMMARY_T_CAL 3
#define BTYD_SUMMARY_SPEND 4
#define BTYD_SUMMARY_UNIT 5
/* Read a summary row: false when x, t_x or t_cal is NULL; unit_days 0 when not stated. */
extern bool btyd_read_summary(HeapTupleHeader s, double *x, double *tx, double *T, double *unit_days);

/* Maximise a k-parameter likelihood over d from all-ones and return the model row. */
extern Datum fit_model_datum(FunctionCallInfo fcinfo, FitData *d, int k,
							 double (*value) (void *, const double *),
							 double (*value_grad) (void *, const double *, double *),
							 const char *name);

/* One row's log-likelihood under model parameters m[k] (the *_loglik functions). */
extern double fit_row_loglik(double (*value) (void *, const double *), int k, const double *m,
							 double k1, double k2, double k3);

extern void btyd_check_summary(double x, double tx, double T);
/* Transition function of a fit aggregate whose rows check validates. */
extern Datum btyd_fit_trans(FunctionCallInfo fcinfo, FitKind kind);
extern FitData *btyd_fit_data(FunctionCallInfo fcinfo, const BtydModel *model);
extern void btyd_check_horizon(double t);
extern void btyd_check_count(int n);
extern double btyd_in_domain(double v, double lo, double hi, const char *what);
/* A month in days: the mean Gregorian month. */
#define BTYD_DAYS_PER_MONTH (365.25 / 12)

/* Time units (days, weeks, months; any case): days in one, its name, of an argument. */
extern double btyd_unit_days(const char *unit);
extern const char *btyd_unit_name(double days);
extern bool btyd_unit_known(double days);
extern double btyd_unit_arg(FunctionCallInfo fcinfo, int argno);
/* The unit a model records (0: none); the unit to score in (error if none or a mismatch). */
extern double btyd_model_unit(HeapTupleHeader m);
extern double btyd_scoring_unit(double model_days, double given_days, const char *model);
extern void btyd_model_params(HeapTupleHeader m, int k, double *out, const char *model);


/* gamma_gamma.c: expected mean spend (x = 0: the population mean) */
extern double gamma_gamma_spend_value(const double *gg, double x, double m);
/* Error unless x is a whole number >= 0 and a repeat buyer's mean spend >= 0. */
extern void gamma_gamma_check_spend(double x, double m);

#endif							/* PERSONA_BTYD_H */
