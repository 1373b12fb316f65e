/*
 * optim.h — maximum likelihood for persona's small models: a bounded BFGS
 * on log-parameters and the special functions the likelihoods need.
 */
#ifndef PERSONA_OPTIM_H
#define PERSONA_OPTIM_H

#include "postgres.h"

#include <math.h>

#define OPTIM_MAX_PARAMS 4
/* Log-parameters stay within ±OPTIM_LOG_BOUND (parameters in e^±15). */
#define OPTIM_LOG_BOUND 15.0

/*
 * A log-likelihood over log-parameters p[0..k-1].  gradient may be NULL:
 * the optimiser then uses central differences.  Both return/fill -INFINITY
 * or NaN freely when p is out of the model's domain; the optimiser backs off.
 */
typedef struct Objective
{
	int			k;
	void	   *data;
	double		(*value) (void *data, const double *p);
	/* value and gradient together; NULL to use numeric differences */
	double		(*value_grad) (void *data, const double *p, double *g);
	double		weight;			/* sum of row weights (scales the tolerance and penalty) */
	double		penalty;		/* L2 penalty on the parameters: LL - penalty * weight * sum(e^(2p)) */
	/* inverse Hessian of -f to begin with (e.g. at a previous fit); NULL: a scaled identity */
	const double (*start_inverse_hessian)[OPTIM_MAX_PARAMS];
} Objective;

typedef struct OptimResult
{
	double		loglik;			/* unpenalised log-likelihood at the optimum */
	int			iterations;
	bool		converged;
} OptimResult;

extern OptimResult optim_maximise(const Objective *obj, double *p);
/* The penalised objective at p and, when g is not NULL, its gradient (fit_summary.c differentiates it). */
extern double optim_objective(const Objective *obj, const double *p, double *g);

/* ψ(x), x > 0 */
extern double persona_digamma(double x);
/* ln of the Gauss hypergeometric 2F1(a, b; c; z), a, b, c > 0, 0 <= z < 1 */
extern double persona_log_hyp2f1(double a, double b, double c, double z);
/* ln sum_n (a)_n (b)_n / ((c)_n (d)_n) z^n, a, b, c, d > 0, 0 <= z < 1 */
extern double persona_log_hyp_series(double a, double b, double c, double d, double z);

/* ln(e^u + e^v) without overflow */
static inline double
logsumexp(double u, double v)
{
	double		m = u > v ? u : v;

	if (m == -INFINITY)
		return -INFINITY;
	return m + log(exp(u - m) + exp(v - m));
}

#endif							/* PERSONA_OPTIM_H */
