/*
 * simulate.c — seeded simulation of customers from known BG/NBD, MBG/NBD,
 * Pareto/NBD, NBD, BG/BB and Gamma-Gamma parameters.  The tests fit the
 * simulated data and check that the fit recovers the parameters; analysts
 * can use the same functions to see how much data a stable fit needs.
 *
 * Each customer has one purchase at time 0 (the first, not counted in x),
 * then repeat purchases over (0, period] (x, t_x) and over
 * (period, period + holdout] (holdout_purchases).  BG/BB customers have
 * opportunities 1..n instead, then the holdout's.
 */
#include "persona.h"
#include "btyd.h"

#include <float.h>
#include <math.h>

#include "common/pg_prng.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(simulate_bgnbd);
PG_FUNCTION_INFO_V1(simulate_mbgnbd);
PG_FUNCTION_INFO_V1(simulate_bgbb);
PG_FUNCTION_INFO_V1(simulate_pareto_nbd);
PG_FUNCTION_INFO_V1(simulate_nbd);
PG_FUNCTION_INFO_V1(simulate_mean_spend);

/* uniform on (0, 1) */
static double
uniform(pg_prng_state *rng)
{
	double		u;

	do
		u = pg_prng_double(rng);
	while (u == 0);
	return u;
}

static double
normal(pg_prng_state *rng)
{
	return sqrt(-2 * log(uniform(rng))) * cos(2 * M_PI * uniform(rng));
}

/* Gamma(shape k, scale 1): Marsaglia & Tsang (2000); k < 1 by boosting. */
static double
gamma_variate(pg_prng_state *rng, double k)
{
	double		d, c;

	if (k < 1)
		return gamma_variate(rng, k + 1) * pow(uniform(rng), 1 / k);
	d = k - 1.0 / 3;
	c = 1 / sqrt(9 * d);
	for (;;)
	{
		double		z = normal(rng), v = 1 + c * z, u;

		if (v <= 0)
			continue;
		v = v * v * v;
		u = uniform(rng);
		if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
			return d * v;
	}
}

static double
exponential(pg_prng_state *rng, double rate)
{
	return -log(uniform(rng)) / rate;
}

static void
check_positive(double v, const char *what)
{
	if (!(v > 0) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive finite number, not %g", what, v)));
}

typedef struct SimArgs
{
	double		par[4];
	int32		customers;
	double		period, holdout;
	pg_prng_state rng;
} SimArgs;

/* (k parameters named names, customers, period, seed, holdout) */
static void
sim_args(FunctionCallInfo fcinfo, SimArgs *a, const char *const *names, int k)
{
	for (int i = 0; i < k; i++)
	{
		a->par[i] = PG_GETARG_FLOAT8(i);
		check_positive(a->par[i], names[i]);
	}
	a->customers = PG_GETARG_INT32(k);
	a->period = PG_GETARG_FLOAT8(k + 1);
	a->holdout = PG_GETARG_FLOAT8(k + 3);
	check_positive(a->period, "period");
	if (a->customers < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customers must be >= 0, not %d", a->customers)));
	if (!(a->holdout >= 0) || isinf(a->holdout))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout must be a finite number >= 0, not %g", a->holdout)));
	pg_prng_seed(&a->rng, (uint64) PG_GETARG_INT64(k + 2));
	InitMaterializedSRF(fcinfo, 0);
}

/*
 * Count one purchase at time t.  A customer can make up to 10^8 of them,
 * so the purchase loops check for interrupts here too.
 */
static inline void
purchase(const SimArgs *a, double t, int32 *x, double *tx, int32 *hx)
{
	PERSONA_CHECK_INTERRUPTS_EVERY(*x + *hx + 1, 12);
	if (*x + *hx >= 100000000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a simulated customer made over 100,000,000 purchases"),
				 errhint("Purchase rates r/alpha this high are not customer data; check the parameters.")));
	if (t <= a->period)
	{
		(*x)++;
		*tx = t;
	}
	else
		(*hx)++;
}

static void
emit(FunctionCallInfo fcinfo, int64 id, int32 x, double tx, double T, int32 hx)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	values[0] = Int64GetDatum(id);
	values[1] = Int32GetDatum(x);
	values[2] = Float8GetDatum(tx);
	values[3] = Float8GetDatum(T);
	values[4] = Int32GetDatum(hx);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* beta(a, b) from two gamma variates */
static double
beta_variate(pg_prng_state *rng, double a, double b)
{
	double		ga = gamma_variate(rng, a);

	return ga / (ga + gamma_variate(rng, b));
}

/*
 * BG/NBD customers, or MBG/NBD ones (modified), who may also leave right
 * after the first purchase, at time 0.
 */
static Datum
simulate_bg_family(FunctionCallInfo fcinfo, bool modified)
{
	static const char *const names[] = {"r", "alpha", "a", "b"};
	SimArgs		a;

	sim_args(fcinfo, &a, names, 4);
	for (int32 c = 1; c <= a.customers; c++)
	{
		double		lambda = gamma_variate(&a.rng, a.par[0]) / a.par[1];
		double		p = beta_variate(&a.rng, a.par[2], a.par[3]);
		double		t = 0, tx = 0;
		int32		x = 0, hx = 0;

		CHECK_FOR_INTERRUPTS();
		if (!modified || uniform(&a.rng) >= p)
			for (;;)
			{
				t += exponential(&a.rng, lambda);
				if (t > a.period + a.holdout)
					break;
				purchase(&a, t, &x, &tx, &hx);
				if (uniform(&a.rng) < p)
					break;		/* dropped out after this purchase */
			}
		emit(fcinfo, c, x, tx, a.period, hx);
	}
	return (Datum) 0;
}

/* simulate_bgnbd(r, alpha, a, b, customers, period, seed, holdout) */
Datum
simulate_bgnbd(PG_FUNCTION_ARGS)
{
	return simulate_bg_family(fcinfo, false);
}

/* simulate_mbgnbd(r, alpha, a, b, customers, period, seed, holdout) */
Datum
simulate_mbgnbd(PG_FUNCTION_ARGS)
{
	return simulate_bg_family(fcinfo, true);
}

/* simulate_pareto_nbd(r, alpha, s, beta, customers, period, seed, holdout) */
Datum
simulate_pareto_nbd(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"r", "alpha", "s", "beta"};
	SimArgs		a;

	sim_args(fcinfo, &a, names, 4);
	for (int32 c = 1; c <= a.customers; c++)
	{
		double		lambda = gamma_variate(&a.rng, a.par[0]) / a.par[1];
		double		mu = gamma_variate(&a.rng, a.par[2]) / a.par[3];
		double		lifetime = exponential(&a.rng, mu);	/* not inside Min(): a macro */
		double		end = Min(lifetime, a.period + a.holdout);
		double		t = 0, tx = 0;
		int32		x = 0, hx = 0;

		CHECK_FOR_INTERRUPTS();
		for (;;)
		{
			t += exponential(&a.rng, lambda);
			if (t > end)
				break;
			purchase(&a, t, &x, &tx, &hx);
		}
		emit(fcinfo, c, x, tx, a.period, hx);
	}
	return (Datum) 0;
}

/* simulate_nbd(r, alpha, customers, period, seed, holdout): no dropout */
Datum
simulate_nbd(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"r", "alpha"};
	SimArgs		a;

	sim_args(fcinfo, &a, names, 2);
	for (int32 c = 1; c <= a.customers; c++)
	{
		double		lambda = gamma_variate(&a.rng, a.par[0]) / a.par[1];
		double		t = 0, tx = 0;
		int32		x = 0, hx = 0;

		CHECK_FOR_INTERRUPTS();
		for (;;)
		{
			t += exponential(&a.rng, lambda);
			if (t > a.period + a.holdout)
				break;
			purchase(&a, t, &x, &tx, &hx);
		}
		emit(fcinfo, c, x, tx, a.period, hx);
	}
	return (Datum) 0;
}

/*
 * simulate_bgbb(alpha, beta, gamma, delta, customers, n, seed, holdout):
 * BG/BB customers over opportunities 1..n, then the holdout's n+1..n+holdout.
 * At each opportunity a living customer first leaves with probability θ,
 * else transacts with probability p.
 */
Datum
simulate_bgbb(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"alpha", "beta", "gamma", "delta"};
	double		par[4];
	int32		customers = PG_GETARG_INT32(4), n = PG_GETARG_INT32(5), holdout = PG_GETARG_INT32(7);
	pg_prng_state rng;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	for (int i = 0; i < 4; i++)
	{
		par[i] = PG_GETARG_FLOAT8(i);
		check_positive(par[i], names[i]);
	}
	if (customers < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customers must be >= 0, not %d", customers)));
	if (n < 0 || holdout < 0 || (int64) n + holdout > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("opportunities n and holdout must be >= 0 and at most 1000000 together, not %d and %d",
						n, holdout)));
	pg_prng_seed(&rng, (uint64) PG_GETARG_INT64(6));
	InitMaterializedSRF(fcinfo, 0);
	for (int32 c = 1; c <= customers; c++)
	{
		double		p = beta_variate(&rng, par[0], par[1]);
		double		theta = beta_variate(&rng, par[2], par[3]);
		int32		x = 0, tx = 0, hx = 0;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		CHECK_FOR_INTERRUPTS();
		for (int32 t = 1; t <= n + holdout; t++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(t, 16);
			if (uniform(&rng) < theta)
				break;			/* left before this opportunity */
			if (uniform(&rng) >= p)
				continue;
			if (t <= n)
			{
				x++;
				tx = t;
			}
			else
				hx++;
		}
		values[0] = Int64GetDatum(c);
		values[1] = Int32GetDatum(x);
		values[2] = Int32GetDatum(tx);
		values[3] = Int32GetDatum(n);
		values[4] = Int32GetDatum(hx);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * simulate_mean_spend(p, q, v, x, seed): the mean of x transaction values
 * of one customer drawn from the Gamma-Gamma model (NULL for x = 0).
 */
Datum
simulate_mean_spend(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0), q = PG_GETARG_FLOAT8(1), v = PG_GETARG_FLOAT8(2);
	int32		x = PG_GETARG_INT32(3);
	pg_prng_state rng;
	double		nu, sum = 0;

	check_positive(p, "p");
	check_positive(q, "q");
	check_positive(v, "v");
	if (x < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be >= 0, not %d", x)));
	if (x == 0)
		PG_RETURN_NULL();
	pg_prng_seed(&rng, (uint64) PG_GETARG_INT64(4));
	nu = gamma_variate(&rng, q) / v;
	for (int32 i = 0; i < x; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 12);
		sum += gamma_variate(&rng, p) / nu;
	}
	/* a tiny q can draw nu = 0 (or underflow): no finite mean spend */
	PG_RETURN_FLOAT8(btyd_in_domain(sum / x, 0, DBL_MAX, "simulated mean spend"));
}
