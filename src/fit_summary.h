/*
 * fit_summary.h — what a fit reports besides its estimates: standard
 * errors from the observed information at the optimum, and whether the
 * data identify the parameters (bgnbd, pareto_nbd and gamma_gamma share it).
 */
#ifndef PERSONA_FIT_SUMMARY_H
#define PERSONA_FIT_SUMMARY_H

#include "fitstate.h"
#include "optim.h"

/*
 * A log-parameter whose standard error exceeds this is not identified: its
 * 95% interval spans more than a factor e^(±1.96·2) ≈ 50 either way.
 */
#define FIT_SE_LOG_MAX 2.0
/*
 * Above this many distinct histories the information is summed over a
 * systematic sample of them (every n/FIT_HESSIAN_ROWS-th in the sort order,
 * so stratified by x, t_x, T), weights scaled to the total: the SEs then
 * cost a fixed ~8 gradient passes over 32,768 rows however large the data.
 */
#define FIT_HESSIAN_ROWS 32768
/* A log-parameter this close to ±OPTIM_LOG_BOUND ran to the search bound. */
#define FIT_BOUND_MARGIN 0.5

typedef enum FitProblem
{
	FIT_OK,
	FIT_NOT_CONVERGED,			/* identified, but the optimiser missed its tolerance */
	FIT_NOT_IDENTIFIED,			/* information singular or some SE above FIT_SE_LOG_MAX */
	FIT_BOUNDARY				/* a parameter ran to e^±15 */
} FitProblem;

typedef struct FitSummary
{
	double		se_log[OPTIM_MAX_PARAMS];	/* SE of ln θ_i; NaN when undefined */
	double		se[OPTIM_MAX_PARAMS];	/* SE of θ_i = e^p_i (delta method); NaN when undefined */
	FitProblem	problem;
	bool		towards_zero;	/* some parameter ran to the lower bound (a penalty cannot help) */
	char		status[160];	/* 'ok', 'not converged', 'not identified: …', 'boundary: …' */
	char		detail[400];	/* a sentence for the WARNING's errdetail */
} FitSummary;

/*
 * Standard errors and identification of the maximum p of obj over the
 * data d (names[i] names parameter i in messages).  The information is
 * that of obj's objective, so with a penalty it is the penalised one.
 */
extern void fit_summary(const Objective *obj, const FitData *d, const double *p, bool converged,
						const char *const *names, FitSummary *out);

/* The inverse observed information at p, to start a warm-started search with; false: none. */
extern bool fit_start_inverse_hessian(const Objective *obj, const FitData *d, const double *p,
									  double H[][OPTIM_MAX_PARAMS]);

#endif							/* PERSONA_FIT_SUMMARY_H */
