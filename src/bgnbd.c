/*
 * bgnbd.c — the BG/NBD model (Fader, Hardie & Lee 2005): fitting by maximum
 * likelihood inside the database, P(alive) and expected purchases.
 *
 * Per customer with x repeat purchases, last at t_x, observed for T:
 *   LL = lnΓ(r+x) − lnΓ(r) + r ln α
 *      + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
 *      + ln[ (α+T)^−(r+x) + [x>0] a/(b+x−1) (α+t_x)^−(r+x) ]
 * The last term is a log-sum-exp.  Parameters are optimised on the log
 * scale (so they stay positive) with BFGS and central-difference gradients;
 * the data are reduced to distinct (x, t_x, T) with counts, which is also
 * what parallel workers combine.
 */
#include "persona.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "executor/executor.h"
#include "utils/builtins.h"

typedef struct Obs
{
	double		x, tx, T, w;
} Obs;

typedef struct BgState
{
	int64		n;
	int64		cap;
	Obs		   *obs;
} BgState;

PG_FUNCTION_INFO_V1(bgnbd_transfn);
PG_FUNCTION_INFO_V1(bgnbd_combinefn);
PG_FUNCTION_INFO_V1(bgnbd_serialfn);
PG_FUNCTION_INFO_V1(bgnbd_deserialfn);
PG_FUNCTION_INFO_V1(bgnbd_finalfn);
PG_FUNCTION_INFO_V1(bgnbd_p_alive);
PG_FUNCTION_INFO_V1(bgnbd_expected);
PG_FUNCTION_INFO_V1(bgnbd_loglik);

/* Append one observation (combining is plain concatenation). */
static void
push(BgState *st, Obs o, MemoryContext ctx)
{
	if (st->n == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 1024;
		st->obs = st->obs ? repalloc_huge(st->obs, st->cap * sizeof(Obs))
			: MemoryContextAllocHuge(ctx, st->cap * sizeof(Obs));
	}
	st->obs[st->n++] = o;
}

/* bgnbd_transfn(state, x, t_x, T [, weight]) */
Datum
bgnbd_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	BgState    *st;
	Obs			o;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "bgnbd_transfn called in non-aggregate context");
	st = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggctx, sizeof(BgState)) : (BgState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_POINTER(st);
	o.x = PG_GETARG_FLOAT8(1);
	o.tx = PG_GETARG_FLOAT8(2);
	o.T = PG_GETARG_FLOAT8(3);
	o.w = PG_NARGS() > 4 && !PG_ARGISNULL(4) ? PG_GETARG_FLOAT8(4) : 1.0;
	persona_check_finite(o.x, "x");
	persona_check_finite(o.tx, "t_x");
	persona_check_finite(o.T, "T");
	persona_check_finite(o.w, "weight");
	if (o.x < 0 || o.x != rint(o.x) || o.tx < 0 || o.T <= 0 || o.tx > o.T || o.w < 0 ||
		(o.x > 0 && o.tx <= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid BG/NBD observation (x = %g, t_x = %g, T = %g, weight = %g)",
						o.x, o.tx, o.T, o.w),
				 errdetail("Need a whole x >= 0, 0 <= t_x <= T, T > 0, t_x > 0 when x > 0, weight >= 0."),
				 errhint("Compute them with persona.btyd(persona.order_stats(...))." )));
	push(st, o, aggctx);
	PG_RETURN_POINTER(st);
}

/* Concatenate partial states. */
Datum
bgnbd_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	BgState    *a;
	BgState    *b;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "bgnbd_combinefn called in non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (BgState *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? MemoryContextAllocZero(aggctx, sizeof(BgState)) : (BgState *) PG_GETARG_POINTER(0);
	for (int64 i = 0; i < b->n; i++)
		push(a, b->obs[i], aggctx);
	PG_RETURN_POINTER(a);
}

/* State to bytea. */
Datum
bgnbd_serialfn(PG_FUNCTION_ARGS)
{
	BgState    *st = (BgState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->n);
	for (int64 i = 0; i < st->n; i++)
	{
		pq_sendfloat8(&buf, st->obs[i].x);
		pq_sendfloat8(&buf, st->obs[i].tx);
		pq_sendfloat8(&buf, st->obs[i].T);
		pq_sendfloat8(&buf, st->obs[i].w);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* bytea to state. */
Datum
bgnbd_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	StringInfoData buf;
	BgState    *st;
	int64		n;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "bgnbd_deserialfn called in non-aggregate context");
	persona_bytea_reader(&buf, PG_GETARG_BYTEA_PP(0));
	st = MemoryContextAllocZero(aggctx, sizeof(BgState));
	n = pq_getmsgint64(&buf);
	if (n < 0 || n > (buf.len - buf.cursor) / 32)
		elog(ERROR, "invalid serialised bgnbd state");
	for (int64 i = 0; i < n; i++)
	{
		Obs			o;

		o.x = pq_getmsgfloat8(&buf);
		o.tx = pq_getmsgfloat8(&buf);
		o.T = pq_getmsgfloat8(&buf);
		o.w = pq_getmsgfloat8(&buf);
		push(st, o, aggctx);
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/* ln(e^u + e^v) without overflow. */
static inline double
logsumexp(double u, double v)
{
	double		m = Max(u, v);

	if (m == -INFINITY)
		return -INFINITY;
	return m + log(exp(u - m) + exp(v - m));
}

/* Log-likelihood at log-parameters p = (ln r, ln α, ln a, ln b). */
static double
bg_loglik(const BgState *st, const double *p)
{
	double		r, alpha, a, b, base;
	double		ll = 0;

	/* Keep to exp(±15): beyond it lgamma differences lose all precision. */
	for (int k = 0; k < 4; k++)
		if (!(fabs(p[k]) <= 15))
			return -INFINITY;
	r = exp(p[0]);
	alpha = exp(p[1]);
	a = exp(p[2]);
	b = exp(p[3]);
	base = -lgamma(r) + r * log(alpha) + lgamma(a + b) - lgamma(b);

	for (int64 i = 0; i < st->n; i++)
	{
		const Obs  *o = &st->obs[i];
		double		x = o->x;
		double		a1 = lgamma(r + x) + base + lgamma(b + x) - lgamma(a + b + x);
		double		a3 = -(r + x) * log(alpha + o->T);
		double		a4 = x > 0 ? log(a) - log(b + x - 1) - (r + x) * log(alpha + o->tx) : -INFINITY;

		ll += o->w * (a1 + logsumexp(a3, a4));
	}
	return ll;
}

/* Gradient by central differences. */
static void
bg_grad(const BgState *st, const double *p, double *g)
{
	for (int k = 0; k < 4; k++)
	{
		double		q[4];
		double		h = 1e-5;

		memcpy(q, p, sizeof(q));
		q[k] = p[k] + h;
		g[k] = bg_loglik(st, q);
		q[k] = p[k] - h;
		g[k] = (g[k] - bg_loglik(st, q)) / (2 * h);
	}
}

/*
 * Maximise the log-likelihood with BFGS and a backtracking line search.
 * Returns iterations; *converged when the gradient is small.
 */
static int
bg_fit(const BgState *st, double *p, double *ll, bool *converged)
{
	double		H[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
	double		g[4], gn[4], d[4], s[4], y[4], pn[4];
	double		f = bg_loglik(st, p);
	int			it;
	double		wsum = 0;
	bool		restarted = false;

	for (int64 i = 0; i < st->n; i++)
		wsum += st->obs[i].w;
	bg_grad(st, p, g);
	/* First steps of about 0.1 on the log scale, whatever the data size. */
	{
		double		gmax = 0;

		for (int k = 0; k < 4; k++)
			gmax = Max(gmax, fabs(g[k]));
		for (int k = 0; k < 4; k++)
			H[k][k] = 0.1 / Max(gmax, 1e-12);
	}
	*converged = false;
	for (it = 1; it <= 500; it++)
	{
		double		step = 1, fn, sy = 0, gnorm = 0;

		CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < 4; k++)
			gnorm = Max(gnorm, fabs(g[k]));
		if (gnorm < 1e-6 * Max(1.0, wsum))
		{
			*converged = true;
			break;
		}
		/* ascent direction d = H g */
		for (int i = 0; i < 4; i++)
		{
			d[i] = 0;
			for (int j = 0; j < 4; j++)
				d[i] += H[i][j] * g[j];
		}
		for (;;)
		{
			double		slope = 0;

			for (int k = 0; k < 4; k++)
			{
				pn[k] = p[k] + step * d[k];
				slope += g[k] * d[k];
			}
			fn = bg_loglik(st, pn);
			if (isfinite(fn) && fn >= f + 1e-4 * step * slope)
				break;
			step /= 2;
			if (step < 1e-12)
				break;
		}
		if (step < 1e-12)
		{
			/* no progress along H g: restart from the gradient, once */
			double		gmax = 0;

			if (restarted)
				break;
			restarted = true;

			for (int k = 0; k < 4; k++)
				gmax = Max(gmax, fabs(g[k]));
			memset(H, 0, sizeof(H));
			for (int k = 0; k < 4; k++)
				H[k][k] = 0.01 / Max(gmax, 1e-12);
			continue;
		}
		restarted = false;
		bg_grad(st, pn, gn);
		for (int k = 0; k < 4; k++)
		{
			s[k] = pn[k] - p[k];
			y[k] = g[k] - gn[k];	/* minimising -LL: y = grad(-LL) change */
			sy += s[k] * y[k];
		}
		if (sy > 1e-12)
		{
			/* BFGS update of the inverse Hessian of -LL */
			double		Hy[4], yHy = 0;

			for (int i = 0; i < 4; i++)
			{
				Hy[i] = 0;
				for (int j = 0; j < 4; j++)
					Hy[i] += H[i][j] * y[j];
				yHy += y[i] * Hy[i];
			}
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++)
					H[i][j] += ((sy + yHy) * s[i] * s[j]) / (sy * sy) - (Hy[i] * s[j] + s[i] * Hy[j]) / sy;
		}
		memcpy(p, pn, sizeof(pn));
		memcpy(g, gn, sizeof(gn));
		if (fabs(fn - f) < 1e-12 * Max(1.0, fabs(f)) && step == 1)
		{
			f = fn;
			*converged = true;
			break;
		}
		f = fn;
	}
	*ll = f;
	return it;
}

/* The persona.bgnbd model: (r, alpha, a, b, loglik, customers, iterations, converged). */
Datum
bgnbd_finalfn(PG_FUNCTION_ARGS)
{
	BgState    *st;
	double		p[4] = {0, 0, 0, 0};
	double		ll;
	bool		converged;
	int			iterations;
	int64		repeaters = 0;
	double		wsum = 0;
	Datum		values[8];
	bool		nulls[8] = {false, false, false, false, false, false, false, false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BgState *) PG_GETARG_POINTER(0);
	for (int64 i = 0; i < st->n; i++)
	{
		repeaters += st->obs[i].x > 0 && st->obs[i].w > 0;
		wsum += st->obs[i].w;
	}
	if (st->n == 0 || wsum == 0)
		PG_RETURN_NULL();
	if (repeaters == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot fit BG/NBD: no customer made a repeat purchase"),
				 errhint("The model needs some customers with x > 0.")));
	iterations = bg_fit(st, p, &ll, &converged);
	values[0] = Float8GetDatum(exp(p[0]));
	values[1] = Float8GetDatum(exp(p[1]));
	values[2] = Float8GetDatum(exp(p[2]));
	values[3] = Float8GetDatum(exp(p[3]));
	values[4] = Float8GetDatum(ll);
	values[5] = Int64GetDatum(st->n);
	values[6] = Int32GetDatum(iterations);
	values[7] = BoolGetDatum(converged);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(persona_result_desc(fcinfo), values, nulls)));
}

/* Read r, alpha, a, b from a persona.bgnbd row, checked. */
static void
model_params(HeapTupleHeader m, double *r, double *alpha, double *a, double *b)
{
	bool		isnull[4];

	*r = DatumGetFloat8(GetAttributeByNum(m, 1, &isnull[0]));
	*alpha = DatumGetFloat8(GetAttributeByNum(m, 2, &isnull[1]));
	*a = DatumGetFloat8(GetAttributeByNum(m, 3, &isnull[2]));
	*b = DatumGetFloat8(GetAttributeByNum(m, 4, &isnull[3]));
	if (isnull[0] || isnull[1] || isnull[2] || isnull[3] ||
		!(*r > 0) || !(*alpha > 0) || !(*a > 0) || !(*b > 0) ||
		isinf(*r) || isinf(*alpha) || isinf(*a) || isinf(*b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("BG/NBD parameters must be positive and finite")));
}

/* Check one customer's summary. */
static void
check_customer(double x, double tx, double T)
{
	if (!(x >= 0) || x != rint(x) || !(tx >= 0) || !(T > 0) || tx > T || isinf(T))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid customer summary (x = %g, t_x = %g, T = %g)", x, tx, T)));
}

/* P(alive) = 1 / (1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) */
static double
p_alive(double r, double alpha, double a, double b, double x, double tx, double T)
{
	if (x == 0)
		return 1.0;
	return 1.0 / (1.0 + exp(log(a) - log(b + x - 1) + (r + x) * (log(alpha + T) - log(alpha + tx))));
}

/* bgnbd_p_alive(model, x, t_x, T) */
Datum
bgnbd_p_alive(PG_FUNCTION_ARGS)
{
	double		r, alpha, a, b;
	double		x = PG_GETARG_FLOAT8(1), tx = PG_GETARG_FLOAT8(2), T = PG_GETARG_FLOAT8(3);

	model_params(PG_GETARG_HEAPTUPLEHEADER(0), &r, &alpha, &a, &b);
	check_customer(x, tx, T);
	PG_RETURN_FLOAT8(p_alive(r, alpha, a, b, x, tx, T));
}

/* Gauss hypergeometric 2F1(a, b; c; z) for 0 <= z < 1 by its series. */
static double
hyp2f1(double a, double b, double c, double z)
{
	double		term = 1, sum = 1;

	for (int n = 0; n < 100000; n++)
	{
		term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z;
		sum += term;
		if (fabs(term) < 1e-15 * fabs(sum))
			return sum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("hypergeometric series did not converge"),
			 errdetail("2F1(%g, %g; %g; %g)", a, b, c, z)));
	pg_unreachable();
}

/*
 * bgnbd_expected(model, t, x, t_x, T): expected purchases in the next t
 * periods (the conditional expectation, FHL 2005 eq. 10).
 */
Datum
bgnbd_expected(PG_FUNCTION_ARGS)
{
	double		r, alpha, a, b;
	double		t = PG_GETARG_FLOAT8(1);
	double		x = PG_GETARG_FLOAT8(2), tx = PG_GETARG_FLOAT8(3), T = PG_GETARG_FLOAT8(4);
	double		num, den;

	model_params(PG_GETARG_HEAPTUPLEHEADER(0), &r, &alpha, &a, &b);
	check_customer(x, tx, T);
	if (!(t >= 0) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t must be a finite number >= 0")));
	if (a == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected purchases are undefined for a = 1 exactly")));
	num = (a + b + x - 1) / (a - 1) *
		(1 - exp((r + x) * (log(alpha + T) - log(alpha + T + t))) *
		 hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)));
	den = x > 0 ? 1 + exp(log(a) - log(b + x - 1) + (r + x) * (log(alpha + T) - log(alpha + tx))) : 1;
	PG_RETURN_FLOAT8(num == 0 ? 0.0 : num / den);	/* no -0 at t = 0 */
}

/* bgnbd_loglik(model, x, t_x, T): one customer's log-likelihood contribution. */
Datum
bgnbd_loglik(PG_FUNCTION_ARGS)
{
	double		r, alpha, a, b;
	double		p[4];
	BgState		one;
	Obs			o;

	model_params(PG_GETARG_HEAPTUPLEHEADER(0), &r, &alpha, &a, &b);
	o.x = PG_GETARG_FLOAT8(1);
	o.tx = PG_GETARG_FLOAT8(2);
	o.T = PG_GETARG_FLOAT8(3);
	o.w = 1;
	check_customer(o.x, o.tx, o.T);
	p[0] = log(r);
	p[1] = log(alpha);
	p[2] = log(a);
	p[3] = log(b);
	one.n = one.cap = 1;
	one.obs = &o;
	PG_RETURN_FLOAT8(bg_loglik(&one, p));
}
