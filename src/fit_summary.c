/*
 * fit_summary.c — standard errors and identification of a fitted model.
 *
 * At the maximum p (log-parameters) the observed information is minus the
 * Hessian of the log-likelihood, taken here by central differences of the
 * analytic gradient (2k gradient evaluations on the distinct-row state,
 * cheap next to the fit).  Its inverse is the asymptotic covariance of the
 * log-parameters; SE(θ) = SE(ln θ)·θ by the delta method.  Working on the
 * log scale keeps the differences well scaled whatever the parameters'
 * size, and it is the scale the optimiser searched.
 *
 * A fit is not identified when the information is not positive definite
 * (Cholesky fails) or some log-parameter's SE exceeds FIT_SE_LOG_MAX: the
 * likelihood is (almost) flat along a direction, which the eigenvector of
 * the smallest eigenvalue names ("a and b move together").  A parameter
 * at the search bound e^±15 is a boundary optimum: no SE for it, the
 * others are conditional on it.
 */
#include "fit_summary.h"

#include <math.h>

#include "lib/stringinfo.h"

/* step on the log scale: truncation error ~h², rounding ~ε/h of the gradient */
#define HESS_STEP 1e-4

/*
 * Cholesky factor L of the k×k matrix A (L Lᵀ = A); false when A is not
 * positive definite (a pivot at or below 1e-12 of its diagonal element,
 * i.e. singular to working precision).
 */
static bool
cholesky(double A[][OPTIM_MAX_PARAMS], int k, double L[][OPTIM_MAX_PARAMS])
{
	for (int j = 0; j < k; j++)
	{
		double		d = A[j][j];

		for (int m = 0; m < j; m++)
			d -= L[j][m] * L[j][m];
		if (!(d > 1e-12 * fabs(A[j][j])) || !isfinite(d))
			return false;
		L[j][j] = sqrt(d);
		for (int i = j + 1; i < k; i++)
		{
			double		s = A[i][j];

			for (int m = 0; m < j; m++)
				s -= L[i][m] * L[j][m];
			L[i][j] = s / L[j][j];
		}
	}
	return true;
}

/* A⁻¹ from its Cholesky factor L: (A⁻¹)_ij = Σ_m (L⁻¹)_mi (L⁻¹)_mj. */
static void
inverse_from_cholesky(double L[][OPTIM_MAX_PARAMS], int k, double Ainv[][OPTIM_MAX_PARAMS])
{
	double		Li[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS] = {{0}};

	for (int i = 0; i < k; i++)
	{
		Li[i][i] = 1 / L[i][i];
		for (int j = 0; j < i; j++)
		{
			double		s = 0;

			for (int m = j; m < i; m++)
				s -= L[i][m] * Li[m][j];
			Li[i][j] = s / L[i][i];
		}
	}
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++)
		{
			Ainv[i][j] = 0;
			for (int m = Max(i, j); m < k; m++)
				Ainv[i][j] += Li[m][i] * Li[m][j];
		}
}

/* Diagonal of A⁻¹ from its Cholesky factor. */
static void
inverse_diagonal(double L[][OPTIM_MAX_PARAMS], int k, double *diag)
{
	double		Ainv[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];

	inverse_from_cholesky(L, k, Ainv);
	for (int i = 0; i < k; i++)
		diag[i] = Ainv[i][i];
}

/*
 * Eigenvector of the smallest eigenvalue of the symmetric k×k matrix A
 * (cyclic Jacobi rotations; k <= 4, so a few sweeps): the direction along
 * which the likelihood is flattest.
 */
static void
flattest_direction(double A[][OPTIM_MAX_PARAMS], int k, double *v)
{
	double		a[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];
	double		V[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS] = {{0}};
	int			best = 0;

	memcpy(a, A, sizeof(a));
	for (int i = 0; i < k; i++)
		V[i][i] = 1;
	for (int sweep = 0; sweep < 50; sweep++)
	{
		double		off = 0;

		for (int p = 0; p < k; p++)
			for (int q = p + 1; q < k; q++)
				off += a[p][q] * a[p][q];
		if (off < 1e-30)
			break;
		for (int p = 0; p < k; p++)
			for (int q = p + 1; q < k; q++)
			{
				double		theta, t, c, s;

				if (a[p][q] == 0)
					continue;
				theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
				t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
				c = 1 / sqrt(t * t + 1);
				s = t * c;
				for (int m = 0; m < k; m++)
				{
					double		amp = a[m][p], amq = a[m][q];

					a[m][p] = c * amp - s * amq;
					a[m][q] = s * amp + c * amq;
				}
				for (int m = 0; m < k; m++)
				{
					double		apm = a[p][m], aqm = a[q][m];

					a[p][m] = c * apm - s * aqm;
					a[q][m] = s * apm + c * aqm;
				}
				for (int m = 0; m < k; m++)
				{
					double		vmp = V[m][p], vmq = V[m][q];

					V[m][p] = c * vmp - s * vmq;
					V[m][q] = s * vmp + c * vmq;
				}
			}
	}
	for (int i = 1; i < k; i++)
		if (a[i][i] < a[best][best])
			best = i;
	for (int i = 0; i < k; i++)
		v[i] = V[i][best];
}

/*
 * Name the parameters that move along the flat direction v (over the free
 * parameters idx[0..n-1]): "a and b move together", "r and alpha move
 * in opposite directions", "r, alpha and b move together".
 */
static void
describe_direction(const double *v, const int *idx, int n, const char *const *names,
				   StringInfo buf)
{
	int			who[OPTIM_MAX_PARAMS], m = 0;

	for (int i = 0; i < n; i++)
		if (fabs(v[i]) >= 0.3)
			who[m++] = i;
	if (m == 1)
		appendStringInfo(buf, "%s is not determined", names[idx[who[0]]]);
	else if (m == 2)
	{
		if (v[who[0]] * v[who[1]] > 0)
			appendStringInfo(buf, "%s and %s move together", names[idx[who[0]]], names[idx[who[1]]]);
		else
			appendStringInfo(buf, "%s and %s move in opposite directions", names[idx[who[0]]], names[idx[who[1]]]);
	}
	else
	{
		for (int i = 0; i < m; i++)
			appendStringInfo(buf, "%s%s", i == 0 ? "" : (i == m - 1 ? " and " : ", "), names[idx[who[i]]]);
		appendStringInfoString(buf, " move together");
	}
}

/* Copy a message into a fixed buffer (truncating; they are short). */
static void
set_text(char *dst, size_t size, const char *src)
{
	strlcpy(dst, src, size);
}

/*
 * The observed information over the free parameters idx[0..n-1] at p;
 * false when the gradient is not finite around p.
 */
static bool
information(const Objective *obj, const double *p, const int *idx, int n,
			double I[][OPTIM_MAX_PARAMS])
{
	double		G[2][OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];

	for (int j = 0; j < n; j++)
		for (int side = 0; side < 2; side++)
		{
			double		q[OPTIM_MAX_PARAMS], g[OPTIM_MAX_PARAMS];

			memcpy(q, p, sizeof(double) * obj->k);
			q[idx[j]] += side == 0 ? HESS_STEP : -HESS_STEP;
			if (!isfinite(optim_objective(obj, q, g)))
				return false;
			for (int i = 0; i < n; i++)
			{
				if (!isfinite(g[idx[i]]))
					return false;
				G[side][j][i] = g[idx[i]];
			}
		}
	/* I_ij = −∂g_i/∂p_j, symmetrised */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			I[i][j] = -((G[0][j][i] - G[1][j][i]) + (G[0][i][j] - G[1][i][j])) / (4 * HESS_STEP);
	return true;
}

/*
 * The data the information is summed over: d itself, or above
 * FIT_HESSIAN_ROWS distinct rows a systematic sample with probability
 * proportional to weight: walking the sorted rows' cumulative weight, a
 * row is taken each time it passes a point (i + ½)·W/R, and carries W/R
 * per point.  A heavy row (all one-time buyers of a cohort) is taken as
 * often as its weight says, so its share is kept almost exactly, and the
 * sort order stratifies the rest by x, t_x, T.
 */
static const FitData *
information_data(const FitData *d)
{
	FitData    *s;
	double		unit = d->weight / FIT_HESSIAN_ROWS, cum = 0, next = unit / 2;

	if (d->n <= FIT_HESSIAN_ROWS)
		return d;
	s = palloc0(sizeof(FitData));
	*s = *d;
	s->times = NULL;			/* the sample's rows are others */
	s->log_k2 = NULL;
	s->rows = palloc(sizeof(FitRow) * FIT_HESSIAN_ROWS);
	s->n = 0;
	for (int64 i = 0; i < d->n && s->n < FIT_HESSIAN_ROWS; i++)
	{
		double		picks = 0;

		cum += d->rows[i].w;
		while (next < cum && picks + s->n < FIT_HESSIAN_ROWS + 1)
		{
			picks++;
			next += unit;
		}
		if (picks > 0)
		{
			s->rows[s->n] = d->rows[i];
			s->rows[s->n].w = picks * unit;
			s->n++;
		}
	}
	return s;
}

void
fit_summary(const Objective *full, const FitData *d, const double *p, bool converged,
			const char *const *names, FitSummary *out)
{
	Objective	sampled = *full;
	const Objective *obj = &sampled;

	int			k = obj->k, idx[OPTIM_MAX_PARAMS], n = 0;
	double		I[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS], L[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];
	double		var[OPTIM_MAX_PARAMS];
	StringInfoData status, detail;
	bool		pd = false, vague = false;

	sampled.data = (void *) information_data(d);
	initStringInfo(&status);
	initStringInfo(&detail);
	out->towards_zero = false;
	for (int i = 0; i < k; i++)
		out->se_log[i] = out->se[i] = NAN;

	/* parameters at the search bound: name them, keep them fixed */
	for (int i = 0; i < k; i++)
	{
		if (fabs(p[i]) < OPTIM_LOG_BOUND - FIT_BOUND_MARGIN)
		{
			idx[n++] = i;
			continue;
		}
		appendStringInfo(&status, "%s%s -> %s", status.len == 0 ? "boundary: " : ", ",
						 names[i], p[i] < 0 ? "0" : "infinity");
		appendStringInfo(&detail, "%s%s ran to the search bound (%s = %g)",
						 detail.len == 0 ? "" : "; ", names[i], names[i], exp(p[i]));
		out->towards_zero |= p[i] < 0;
	}
	if (n > 0 && information(obj, p, idx, n, I) && (pd = cholesky(I, n, L)))
	{
		inverse_diagonal(L, n, var);
		for (int i = 0; i < n; i++)
		{
			out->se_log[idx[i]] = sqrt(var[i]);
			out->se[idx[i]] = sqrt(var[i]) * exp(p[idx[i]]);
			vague |= !(sqrt(var[i]) <= FIT_SE_LOG_MAX);
		}
	}

	if (status.len > 0)
	{
		out->problem = FIT_BOUNDARY;
		appendStringInfoString(&detail, ", where the likelihood still increases; it has no standard error.");
	}
	else if (!pd || vague)
	{
		double		v[OPTIM_MAX_PARAMS];

		out->problem = FIT_NOT_IDENTIFIED;
		appendStringInfoString(&status, "not identified: ");
		if (pd || information(obj, p, idx, n, I))
			flattest_direction(I, n, v);
		else
			for (int i = 0; i < n; i++)
				v[i] = 1;
		describe_direction(v, idx, n, names, &status);
		appendStringInfo(&detail, "The likelihood is %s along a direction where %s",
						 pd ? "almost flat" : "flat or curved upwards", status.data + strlen("not identified: "));
		if (pd)
		{
			appendStringInfoString(&detail, " (standard errors of ln");
			for (int i = 0; i < n; i++)
				appendStringInfo(&detail, "%s %s %.3g", i ? "," : "", names[idx[i]], out->se_log[idx[i]]);
			appendStringInfoChar(&detail, ')');
		}
		else
			for (int i = 0; i < k; i++)
				out->se_log[i] = out->se[i] = NAN;
		appendStringInfoString(&detail, ": the data do not pin these parameters down and their estimates are arbitrary.");
	}
	else if (!converged)
	{
		out->problem = FIT_NOT_CONVERGED;
		appendStringInfoString(&status, "not converged");
	}
	else
	{
		out->problem = FIT_OK;
		appendStringInfoString(&status, "ok");
	}
	set_text(out->status, sizeof(out->status), status.data);
	set_text(out->detail, sizeof(out->detail), detail.data);
	pfree(status.data);
	pfree(detail.data);
}

/*
 * The inverse observed information at p (from the same sample as the
 * standard errors), for a search that starts at a previous fit: its first
 * step is then a Newton step instead of a short one along the gradient,
 * and a start a little off the optimum takes an iteration or two instead
 * of a dozen.  A parameter at a search bound (a boundary fit) is left out
 * of the information and gets the smallest curvature scale of the others,
 * uncoupled: the search holds it while the likelihood pushes outwards.
 * False (start as usual) when every parameter is at a bound or the
 * information is not positive definite.
 */
bool
fit_start_inverse_hessian(const Objective *full, const FitData *d, const double *p,
						  double H[][OPTIM_MAX_PARAMS])
{
	Objective	sampled = *full;
	int			k = full->k, idx[OPTIM_MAX_PARAMS], n = 0;
	double		I[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS], L[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];
	double		Hf[OPTIM_MAX_PARAMS][OPTIM_MAX_PARAMS];
	double		smallest = INFINITY;

	for (int i = 0; i < k; i++)
		if (fabs(p[i]) < OPTIM_LOG_BOUND - FIT_BOUND_MARGIN)
			idx[n++] = i;
	if (n == 0)
		return false;
	sampled.data = (void *) information_data(d);
	if (!information(&sampled, p, idx, n, I) || !cholesky(I, n, L))
		return false;
	inverse_from_cholesky(L, n, Hf);
	for (int i = 0; i < k; i++)
		for (int j = 0; j < k; j++)
			H[i][j] = 0;
	for (int i = 0; i < n; i++)
	{
		for (int j = 0; j < n; j++)
			H[idx[i]][idx[j]] = Hf[i][j];
		smallest = Min(smallest, Hf[i][i]);
	}
	for (int i = 0; i < k; i++)
		if (!(fabs(p[i]) < OPTIM_LOG_BOUND - FIT_BOUND_MARGIN))
			H[i][i] = smallest;
	return true;
}
