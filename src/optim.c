/*
 * optim.c — maximum likelihood for persona's models.
 *
 * BFGS on log-parameters (so every parameter stays positive) with a
 * backtracking Armijo line search.  Models supply the log-likelihood and,
 * when they can, its gradient; otherwise central differences are used.
 * The log-parameters are kept within ±OPTIM_LOG_BOUND: outside, lgamma
 * differences lose all precision and the optimum is degenerate anyway.  A
 * parameter on a bound that the likelihood pushes outwards is held there
 * and the others move (a projected step), so boundary optima (no dropout:
 * a -> 0) are reached instead of line-searched at.
 *
 * An optional L2 penalty, the one lifetimes calls penalizer_coef, is
 * subtracted from the mean log-likelihood: LL/W − λ Σ θ² on the natural
 * parameters θ = e^p.  It pulls estimates of ill-determined models towards
 * zero; the reported log-likelihood is the unpenalised one.
 */
#include "optim.h"

#include <math.h>

#include "miscadmin.h"

#define MAXIT 500
/*
 * No step changes a parameter by more than e^2: on flat likelihoods (data
 * that barely identify a parameter) BFGS proposes huge steps, and cutting
 * them down by halving alone costs dozens of evaluations per iteration.
 */
#define MAXSTEP 2.0
/* Give up when the likelihood gained less than 1e-10 (relative) in this many iterations. */
#define STALL_ITERATIONS 20

/* The penalised objective and (optionally) its gradient; -inf outside the bounds. */
double
optim_objective(const Objective *obj, const double *p, double *g)
{
	double		f;
	double		pen = obj->penalty * obj->weight;

	for (int k = 0; k < obj->k; k++)
		if (!(fabs(p[k]) <= OPTIM_LOG_BOUND))
			return -INFINITY;
	if (g == NULL)
		f = obj->value(obj->data, p);
	else if (obj->value_grad)
		f = obj->value_grad(obj->data, p, g);
	else
	{
		f = obj->value(obj->data, p);
		for (int k = 0; k < obj->k; k++)
		{
			double		q[OPTIM_MAX_PARAMS];
			double		h = 1e-5;
			double		up, down;

			memcpy(q, p, sizeof(double) * obj->k);
			q[k] = p[k] + h;
			up = obj->value(obj->data, q);
			q[k] = p[k] - h;
			down = obj->value(obj->data, q);
			g[k] = (up - down) / (2 * h);
		}
	}
	if (pen > 0)
		for (int k = 0; k < obj->k; k++)
		{
			double		theta2 = exp(2 * p[k]);

			f -= pen * theta2;
			if (g)
				g[k] -= 2 * pen * theta2;
		}
	if (isnan(f))
		return -INFINITY;
	return f;
}

static bool
finite_vector(const double *g, int k)
{
	for (int i = 0; i < k; i++)
		if (!isfinite(g[i]))
			return false;
	return true;
}

/* Scale the identity so the first step moves about 0.1 on the log scale. */
static void
initial_inverse_hessian(double H[][OPTIM_MAX_PARAMS], const double *g, int k, double size)
{
	double		gmax = 0;

	for (int i = 0; i < k; i++)
		gmax = Max(gmax, fabs(g[i]));
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++)
			H[i][j] = i == j ? size / Max(gmax, 1e-12) : 0;
}

/*
 * A parameter held on a search bound: it is on the bound (within BOUND_TOL)
 * and the gradient pushes it further out.  The search then moves the other
 * parameters only (a projected BFGS): without this, every trial step of
 * the line search would leave the box and be halved a few dozen times.
 */
#define BOUND_TOL 1e-9

static bool
held_on_bound(double p, double g)
{
	return (p >= OPTIM_LOG_BOUND - BOUND_TOL && g > 0) ||
		(p <= -OPTIM_LOG_BOUND + BOUND_TOL && g < 0);
}

/* The longest step (at most 1) along d from p that stays within the bounds. */
static double
step_to_bounds(const double *p, const double *d, int k)
{
	double		t = 1;

	for (int i = 0; i < k; i++)
	{
		if (d[i] > 0)
			t = Min(t, (OPTIM_LOG_BOUND - p[i]) / d[i]);
		else if (d[i] < 0)
			t = Min(t, (-OPTIM_LOG_BOUND - p[i]) / d[i]);
	}
	return Max(t, 0);
}

/*
 * Maximise from p (log-parameters, updated in place).  Converged means the
 * gradient vanished (relative to the total weight) in the parameters not
 * held on a bound, or the objective stopped changing at full steps.
 */
OptimResult
optim_maximise(const Objective *obj, double *p)
{
	int			k = obj->k;
	double		H[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];
	double		g[OPTIM_MAX_PARAMS], gn[OPTIM_MAX_PARAMS], d[OPTIM_MAX_PARAMS];
	double		s[OPTIM_MAX_PARAMS], y[OPTIM_MAX_PARAMS], pn[OPTIM_MAX_PARAMS];
	bool		held[OPTIM_MAX_PARAMS];
	double		f;
	double		history[STALL_ITERATIONS];	/* f of the last iterations */
	bool		restarted = false;
	OptimResult res = {0};

	Assert(k <= OPTIM_MAX_PARAMS);
	for (int i = 0; i < k; i++)
		p[i] = Max(-OPTIM_LOG_BOUND, Min(OPTIM_LOG_BOUND, p[i]));
	f = optim_objective(obj, p, g);
	if (!isfinite(f) || !finite_vector(g, k))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the log-likelihood is not finite at the starting point"),
				 errhint("Check the input for extreme values.")));
	if (obj->start_inverse_hessian)
		memcpy(H, obj->start_inverse_hessian, sizeof(H));
	else
		initial_inverse_hessian(H, g, k, 0.1);
	for (res.iterations = 1; res.iterations <= MAXIT; res.iterations++)
	{
		double		first, step, fn = -INFINITY, slope = 0, sy = 0, gnorm = 0;
		bool		have_grad = false;
		double		dmax;

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < k; i++)
		{
			held[i] = held_on_bound(p[i], g[i]);
			if (!held[i])
				gnorm = Max(gnorm, fabs(g[i]));
		}
		if (gnorm < 1e-6 * Max(1.0, obj->weight))
		{
			res.converged = true;
			break;
		}
		/* ascent direction d = H g in the free parameters, at most MAXSTEP on the log scale */
		for (int i = 0; i < k; i++)
		{
			d[i] = 0;
			for (int j = 0; j < k && !held[i]; j++)
				if (!held[j])
					d[i] += H[i][j] * g[j];
			/* a free parameter on a bound the direction points out of stays there */
			if ((p[i] >= OPTIM_LOG_BOUND - BOUND_TOL && d[i] > 0) ||
				(p[i] <= -OPTIM_LOG_BOUND + BOUND_TOL && d[i] < 0))
				d[i] = 0;
		}
		dmax = 0;
		for (int i = 0; i < k; i++)
			dmax = Max(dmax, fabs(d[i]));
		for (int i = 0; i < k; i++)
		{
			if (dmax > MAXSTEP)
				d[i] *= MAXSTEP / dmax;
			slope += g[i] * d[i];
		}
		/* the first trial goes at most to the nearest bound */
		first = step_to_bounds(p, d, k);
		for (step = first; step >= 1e-12; step /= 2)
		{
			for (int i = 0; i < k; i++)
				pn[i] = Max(-OPTIM_LOG_BOUND, Min(OPTIM_LOG_BOUND, p[i] + step * d[i]));
			/*
			 * With an analytic gradient, take it along on the first trial,
			 * which is mostly accepted; shorter trials are values only.
			 */
			have_grad = obj->value_grad && step == first;
			fn = optim_objective(obj, pn, have_grad ? gn : NULL);
			if (isfinite(fn) && fn >= f + 1e-4 * step * slope)
				break;
		}
		if (step < 1e-12 || slope <= 0)
		{
			/* no progress along H g: restart from the gradient, once */
			if (restarted)
				break;
			restarted = true;
			initial_inverse_hessian(H, g, k, 0.01);
			continue;
		}
		if (!have_grad)
			(void) optim_objective(obj, pn, gn);
		if (!finite_vector(gn, k))
			break;
		restarted = false;
		for (int i = 0; i < k; i++)
		{
			s[i] = pn[i] - p[i];
			/* change of the gradient of -f, in the free parameters only */
			y[i] = held[i] ? 0 : g[i] - gn[i];
			sy += s[i] * y[i];
		}
		if (sy > 1e-12)
		{
			/* BFGS update of the inverse Hessian of -f */
			double		Hy[OPTIM_MAX_PARAMS], yHy = 0;

			for (int i = 0; i < k; i++)
			{
				Hy[i] = 0;
				for (int j = 0; j < k; j++)
					Hy[i] += H[i][j] * y[j];
				yHy += y[i] * Hy[i];
			}
			for (int i = 0; i < k; i++)
				for (int j = 0; j < k; j++)
					H[i][j] += ((sy + yHy) * s[i] * s[j]) / (sy * sy) - (Hy[i] * s[j] + s[i] * Hy[j]) / sy;
		}
		memcpy(p, pn, sizeof(double) * k);
		memcpy(g, gn, sizeof(double) * k);
		if (fabs(fn - f) < 1e-12 * Max(1.0, fabs(f)) && step == first)
		{
			f = fn;
			res.converged = true;
			break;
		}
		f = fn;
		/*
		 * Drifting along a ridge (a parameter the data do not pin down runs
		 * off towards 0 or infinity while the likelihood barely moves): stop,
		 * not converged, instead of spending the remaining iterations.
		 */
		if (res.iterations > STALL_ITERATIONS &&
			f - history[res.iterations % STALL_ITERATIONS] < 1e-10 * Max(1.0, fabs(f)))
			break;
		history[res.iterations % STALL_ITERATIONS] = f;
	}
	res.iterations = Min(res.iterations, MAXIT);
	/*
	 * A "maximum" on the bound is where the likelihood still rises towards
	 * 0 or infinity and merely became flat: the data do not identify the
	 * model (e.g. MBG/NBD on customers all alike stops with a vanishing
	 * gradient at b = e^15).
	 */
	for (int i = 0; i < k; i++)
		if (fabs(p[i]) >= OPTIM_LOG_BOUND - 1e-3)
			res.converged = false;
	res.loglik = obj->value(obj->data, p);
	return res;
}

/*
 * Digamma ψ(x) for x > 0: the recurrence ψ(x) = ψ(x+1) − 1/x up to x >= 6,
 * then the asymptotic series (absolute error below 1e-13).
 */
double
persona_digamma(double x)
{
	double		acc = 0;
	double		x2;

	while (x < 6)
	{
		acc -= 1 / x;
		x += 1;
	}
	x2 = 1 / (x * x);
	return acc + log(x) - 0.5 / x
		- x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240 - x2 / 132))));
}

/*
 * ln of the series sum_n (a)_n (b)_n / ((c)_n (d)_n) z^n for a, b, c, d > 0
 * and 0 <= z < 1: d = 1 is 2F1(a, b; c; z), d = 2 is 3F2(a, b, 1; c, 2; z).
 * All terms are positive, so there is no cancellation; the running sum is
 * rescaled as it grows, so heavy buyers (large a, b: the series peaks near
 * term z·a/(1−z) at about (1−z)^-a) do not overflow.  z near 1 needs many
 * terms: past 10^6 it is an error rather than a slow answer.
 */
double
persona_log_hyp_series(double a, double b, double c, double d, double z)
{
	double		term = 1, sum = 1, logscale = 0;

	for (int n = 0; n < 1000000; n++)
	{
		term *= (a + n) * (b + n) / ((c + n) * (d + n)) * z;
		sum += term;
		if (term < 1e-16 * sum)
			return log(sum) + logscale;
		if (sum > 1e200)
		{
			sum *= 1e-200;
			term *= 1e-200;
			logscale += 200 * M_LN10;
		}
		if ((n & 0xffff) == 0xffff)
			CHECK_FOR_INTERRUPTS();
	}
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("hypergeometric series did not converge"),
			 d == 1 ? errdetail("2F1(%g, %g; %g; %g)", a, b, c, z)
			 : errdetail("3F2(%g, %g, 1; %g, %g; %g)", a, b, c, d, z),
			 errhint("The horizon is very long for the model's time scale.")));
	pg_unreachable();
}

/* ln 2F1(a, b; c; z) for a, b, c > 0 and 0 <= z < 1 (the power series) */
double
persona_log_hyp2f1(double a, double b, double c, double z)
{
	return persona_log_hyp_series(a, b, c, 1, z);
}
