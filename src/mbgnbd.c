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
 * P(alive) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)) for every x.  The
 * formulas are BG/NBD's with b+x shifted by one, so the model (likelihood,
 * gradient, scoring) is computed by bgnbd.c; this file holds its SQL
 * functions.
 */
#include "persona.h"

#include "btyd.h"

PG_FUNCTION_INFO_V1(mbgnbd_finalfn);
PG_FUNCTION_INFO_V1(mbgnbd_p_alive);
PG_FUNCTION_INFO_V1(mbgnbd_expected);
PG_FUNCTION_INFO_V1(mbgnbd_expected_new);
PG_FUNCTION_INFO_V1(mbgnbd_loglik);
PG_FUNCTION_INFO_V1(mbgnbd_p_alive_summary);
PG_FUNCTION_INFO_V1(mbgnbd_expected_summary);

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

Datum
mbgnbd_p_alive_summary(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_summary_call(fcinfo, &mbgnbd_model);
}

Datum
mbgnbd_expected_summary(PG_FUNCTION_ARGS)
{
	return btyd_expected_summary_call(fcinfo, &mbgnbd_model);
}
