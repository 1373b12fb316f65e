/*
 * mbgnbd.c — the MBG/NBD model (Batislam, Denizel & Filiztekin 2007;
 * lifetimes' ModifiedBetaGeoFitter): BG/NBD in which a customer may also
 * leave right after the first purchase, so a customer with no repeat
 * purchase is not taken to be alive for sure.
 *
 * Per customer with x repeat purchases, last at t_x, observed for T:
 *   LL = lnΓ(r+x) − lnΓ(r) + r ln α
 *      + lnΓ(a+b) + lnΓ(b+x+1) − lnΓ(b) − lnΓ(a+b+x+1)
 *      + ln[ (α+T)^−(r+x) + a/(b+x) (α+t_x)^−(r+x) ]
 * evaluated with its gradient by the BG/NBD code (bgnbd.c), which differs
 * only in the shifted beta terms and the dropout term's x > 0 condition.
 */
#include "persona.h"

#include <math.h>

#include "btyd.h"

PG_FUNCTION_INFO_V1(mbgnbd_finalfn);
PG_FUNCTION_INFO_V1(mbgnbd_p_alive);
PG_FUNCTION_INFO_V1(mbgnbd_expected);
PG_FUNCTION_INFO_V1(mbgnbd_expected_new);
PG_FUNCTION_INFO_V1(mbgnbd_loglik);

static double
mbg_value_grad(void *data, const double *p, double *g)
{
	return bg_family_value_grad(data, p, g, true);
}

static double
mbg_value(void *data, const double *p)
{
	return bg_family_value_grad(data, p, NULL, true);
}

/* P(alive) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)), for every x */
static double
mbg_p_alive(const double *m, double x, double tx, double T)
{
	double		r = m[0], alpha = m[1], a = m[2], b = m[3];

	return 1.0 / (1.0 + exp(log(a) - log(b + x) + (r + x) * (log(alpha + T) - log(alpha + tx))));
}

/*
 * Expected purchases in the next t periods given (x, t_x, T) (Batislam et
 * al. 2007):
 *   (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
 *   · P(alive).
 * With x = t_x = T = 0 it is the unconditional E[X(t)] of a new customer,
 * b/(a−1) · [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))].
 */
static double
mbg_expected(const double *m, double t, double x, double tx, double T)
{
	double		r = m[0], alpha = m[1], a = m[2], b = m[3];
	double		num;

	if (t == 0)
		return 0.0;
	if (a == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("MBG/NBD expected purchases are undefined for a = 1 exactly")));
	num = (a + b + x) / (a - 1) *
		-expm1((r + x) * (log(alpha + T) - log(alpha + T + t)) +
			   persona_log_hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t)));
	return num * mbg_p_alive(m, x, tx, T);
}

const BtydModel mbgnbd_model = {"MBG/NBD", mbg_value, mbg_value_grad, mbg_p_alive, mbg_expected,
	btyd_check_summary, btyd_check_horizon};

/* SQL: the fit's final function and the scoring functions */
Datum
mbgnbd_finalfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_final(fcinfo, &mbgnbd_model);
}

Datum
mbgnbd_p_alive(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_call(fcinfo, &mbgnbd_model);
}

Datum
mbgnbd_expected(PG_FUNCTION_ARGS)
{
	return btyd_expected_call(fcinfo, &mbgnbd_model);
}

Datum
mbgnbd_expected_new(PG_FUNCTION_ARGS)
{
	return btyd_expected_new_call(fcinfo, &mbgnbd_model);
}

Datum
mbgnbd_loglik(PG_FUNCTION_ARGS)
{
	return btyd_loglik_call(fcinfo, &mbgnbd_model);
}
