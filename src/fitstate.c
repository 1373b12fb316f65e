/*
 * fitstate.c — the shared state of the model-fitting aggregates
 * (bgnbd_fit, mbgnbd_fit, pareto_nbd_fit, bgbb_fit, gamma_gamma_fit): a
 * hash table of distinct rows with summed weights, and the
 * combine/serial/deserial functions they all use.
 */
#include "fitstate.h"
#include "btyd.h"

#include <math.h>

#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "btyd.h"
#include "persona.h"
#include "weighted_rows.h"
#include "utils/memutils.h"

typedef struct FitKey
{
	double		k1, k2, k3;
} FitKey;

typedef struct FitEntry
{
	FitKey		key;
	double		w;
	char		status;
} FitEntry;

/*
 * Hash of a key.  The table also rehashes every stored key while it grows,
 * with no interrupt check of its own: count calls and check here.
 */
static inline uint32
fitkey_hash(FitKey k)
{
	static uint32 calls = 0;

	PERSONA_CHECK_INTERRUPTS_EVERY(++calls, 14);
	return hash_bytes((const unsigned char *) &k, sizeof(k));
}

#define SH_PREFIX fittab
#define SH_ELEMENT_TYPE FitEntry
#define SH_KEY_TYPE FitKey
#define SH_KEY key
#define SH_HASH_KEY(tb, key) fitkey_hash(key)
#define SH_EQUAL(tb, a, b) ((a).k1 == (b).k1 && (a).k2 == (b).k2 && (a).k3 == (b).k3)
#define SH_SCOPE static inline
#define SH_USE_NONDEFAULT_ALLOCATOR
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Zeroed entry arrays (interruptible while zeroing: tables can take GiBs). */
static inline void *
fittab_allocate(fittab_hash *tb, Size size)
{
	return persona_alloc_zero_huge(tb->ctx, size);
}

static inline void
fittab_free(fittab_hash *tb, void *pointer)
{
	pfree(pointer);
}

struct FitState
{
	fittab_hash *tab;
	int64		input_rows;
	double		penalty;
	bool		has_penalty;
	double		unit_days;		/* time unit of the rows' summaries; 0: not stated */
	int64		skipped;		/* rows left out of the fit that the final function reports */
	int			start_k;		/* 0: no start given */
	double		start[4];
};

PG_FUNCTION_INFO_V1(fit_combinefn);
PG_FUNCTION_INFO_V1(fit_serialfn);
PG_FUNCTION_INFO_V1(fit_deserialfn);
/* the 0.1.0 names of the same functions, until ALTER EXTENSION persona UPDATE */
PG_FUNCTION_INFO_V1(bgnbd_transfn);
PG_FUNCTION_INFO_V1(bgnbd_combinefn);
PG_FUNCTION_INFO_V1(bgnbd_serialfn);
PG_FUNCTION_INFO_V1(bgnbd_deserialfn);

static FitState *
fitstate_new(MemoryContext ctx)
{
	FitState   *st = MemoryContextAllocZero(ctx, sizeof(FitState));

	st->tab = fittab_create(ctx, 1024, NULL);
	return st;
}

FitState *
fitstate_get(FunctionCallInfo fcinfo)
{
	MemoryContext aggctx;

	aggctx = persona_agg_context(fcinfo);
	if (!PG_ARGISNULL(0))
		return (FitState *) PG_GETARG_POINTER(0);
	return fitstate_new(aggctx);
}

void
fitstate_add(FitState *st, double k1, double k2, double k3, double w)
{
	FitKey		key;
	bool		found;
	FitEntry   *e;

	/* +0.0 turns -0 into 0 so that the two hash alike */
	key.k1 = k1 + 0.0;
	key.k2 = k2 + 0.0;
	key.k3 = k3 + 0.0;
	e = fittab_insert(st->tab, key, &found);
	e->w = found ? e->w + w : w;
}

static void
set_penalty(FitState *st, double penalty)
{
	if (st->has_penalty && st->penalty != penalty)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the penalty must be the same on every row"),
				 errdetail("Saw %g and %g.", st->penalty, penalty)));
	st->penalty = penalty;
	st->has_penalty = true;
}

void
fitstate_penalty_arg(FitState *st, FunctionCallInfo fcinfo, int argno)
{
	double		penalty;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return;
	penalty = PG_GETARG_FLOAT8(argno);
	persona_check_finite(penalty, "penalty");
	if (penalty < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("penalty must be >= 0, not %g", penalty)));
	set_penalty(st, penalty);
}

/*
 * Record the time unit (days in it) of a row's summary: every row that
 * states one must state the same, or the fit would mix days and weeks.
 */
void
fitstate_unit(FitState *st, double unit_days)
{
	if (unit_days == 0)
		return;
	if (st->unit_days != 0 && st->unit_days != unit_days)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("summaries in different time units in one fit"),
				 errdetail("Saw %s and %s.", btyd_unit_name(Min(st->unit_days, unit_days)),
						   btyd_unit_name(Max(st->unit_days, unit_days))),
				 errhint("Compute every summary with the same unit: persona.btyd(stats, unit).")));
	st->unit_days = unit_days;
}

/*
 * A warm start: the first non-NULL start row gives the point the search
 * begins at (an incremental refresh passes the previous fit, which is
 * usually a few iterations from the new optimum).  It changes where the
 * search starts, not what it converges to.
 */
void
fitstate_start_arg(FitState *st, FunctionCallInfo fcinfo, int argno, int k, const char *model)
{
	if (st->start_k > 0 || PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return;
	btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(argno), k, st->start, model);
	st->start_k = k;
}

static void
copy_start(FitState *to, const FitState *from)
{
	if (to->start_k == 0 && from->start_k > 0)
	{
		memcpy(to->start, from->start, sizeof(to->start));
		to->start_k = from->start_k;
	}
}

static inline int
fitrow_cmp(const FitRow *x, const FitRow *y)
{
	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	if (x->k3 != y->k3)
		return x->k3 < y->k3 ? -1 : 1;
	return 0;
}

/* sort_fitrows(data, n): by k1, k2, k3; interruptible (millions of distinct histories). */
#define ST_SORT sort_fitrows
#define ST_ELEMENT_TYPE FitRow
#define ST_COMPARE(a, b) fitrow_cmp(a, b)
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

FitData *
fitstate_data(FitState *st)
{
	FitData    *d = palloc0(sizeof(FitData));
	fittab_iterator it;
	FitEntry   *e;
	uint64		visited = 0;

	d->rows = palloc_extended(Max(st->tab->members, 1) * sizeof(FitRow), MCXT_ALLOC_HUGE);
	d->input_rows = st->input_rows;
	d->penalty = st->has_penalty ? st->penalty : 0;
	d->unit_days = st->unit_days;
	d->skipped = st->skipped;
	d->start_k = st->start_k;
	memcpy(d->start, st->start, sizeof(d->start));
	fittab_start_iterate(st->tab, &it);
	while ((e = fittab_iterate(st->tab, &it)) != NULL)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(++visited, 12);
		if (e->w == 0)
			continue;
		d->rows[d->n].k1 = e->key.k1;
		d->rows[d->n].k2 = e->key.k2;
		d->rows[d->n].k3 = e->key.k3;
		d->rows[d->n].w = e->w;
		d->weight += e->w;
		d->n++;
	}
	/* a fixed order makes the summed likelihood, and so the fit, reproducible */
	sort_fitrows(d->rows, d->n);
	return d;
}

/* Count one aggregated row (the transition functions call this). */
void
fitstate_count_row(FitState *st)
{
	st->input_rows++;
}

/* Count one row left out of the fit (Gamma-Gamma: a repeat buyer with mean spend 0). */
void
fitstate_skip_row(FitState *st)
{
	st->skipped++;
}

Datum
fit_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	FitState   *a;
	FitState   *b;
	fittab_iterator it;
	FitEntry   *e;
	uint64		visited = 0;

	aggctx = persona_agg_context(fcinfo);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	b = (FitState *) PG_GETARG_POINTER(1);
	a = PG_ARGISNULL(0) ? fitstate_new(aggctx) : (FitState *) PG_GETARG_POINTER(0);
	fittab_start_iterate(b->tab, &it);
	while ((e = fittab_iterate(b->tab, &it)) != NULL)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(++visited, 12);
		fitstate_add(a, e->key.k1, e->key.k2, e->key.k3, e->w);
	}
	a->input_rows += b->input_rows;
	a->skipped += b->skipped;
	if (b->has_penalty)
		set_penalty(a, b->penalty);
	fitstate_unit(a, b->unit_days);
	copy_start(a, b);
	PG_RETURN_POINTER(a);
}

Datum
fit_serialfn(PG_FUNCTION_ARGS)
{
	FitState   *st = (FitState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	fittab_iterator it;
	FitEntry   *e;
	uint64		visited = 0;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->input_rows);
	pq_sendbyte(&buf, st->has_penalty);
	pq_sendfloat8(&buf, st->penalty);
	pq_sendfloat8(&buf, st->unit_days);
	pq_sendint64(&buf, st->skipped);
	pq_sendint32(&buf, st->start_k);
	for (int i = 0; i < st->start_k; i++)
		pq_sendfloat8(&buf, st->start[i]);
	pq_sendint64(&buf, st->tab->members);
	fittab_start_iterate(st->tab, &it);
	while ((e = fittab_iterate(st->tab, &it)) != NULL)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(++visited, 12);
		pq_sendfloat8(&buf, e->key.k1);
		pq_sendfloat8(&buf, e->key.k2);
		pq_sendfloat8(&buf, e->key.k3);
		pq_sendfloat8(&buf, e->w);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
fit_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	StringInfoData buf;
	FitState   *st;
	int64		n;

	aggctx = persona_agg_context(fcinfo);
	persona_bytea_reader(&buf, PG_GETARG_BYTEA_PP(0));
	st = fitstate_new(aggctx);
	st->input_rows = pq_getmsgint64(&buf);
	st->has_penalty = pq_getmsgbyte(&buf) != 0;
	st->penalty = pq_getmsgfloat8(&buf);
	st->unit_days = pq_getmsgfloat8(&buf);
	if (st->unit_days != 0)
		(void) btyd_unit_name(st->unit_days);	/* one of the known units */
	st->skipped = pq_getmsgint64(&buf);
	st->start_k = pq_getmsgint(&buf, 4);
	if (st->start_k < 0 || st->start_k > 4)
		elog(ERROR, "invalid serialised fit state");
	for (int i = 0; i < st->start_k; i++)
		st->start[i] = pq_getmsgfloat8(&buf);
	n = pq_getmsgint64(&buf);
	if (n < 0 || n > (buf.len - buf.cursor) / 32)
		elog(ERROR, "invalid serialised fit state");
	for (int64 i = 0; i < n; i++)
	{
		double		k1 = pq_getmsgfloat8(&buf);
		double		k2 = pq_getmsgfloat8(&buf);
		double		k3 = pq_getmsgfloat8(&buf);
		double		w = pq_getmsgfloat8(&buf);

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		fitstate_add(st, k1, k2, k3, w);
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/*
 * persona 0.1.0's bgnbd_fit named its support functions bgnbd_*.  A 0.1.0
 * database that loads this library before ALTER EXTENSION persona UPDATE
 * keeps working: the old names run the new state.
 */
Datum
bgnbd_transfn(PG_FUNCTION_ARGS)
{
	return btyd_fit_transfn(fcinfo);
}

Datum
bgnbd_combinefn(PG_FUNCTION_ARGS)
{
	return fit_combinefn(fcinfo);
}

Datum
bgnbd_serialfn(PG_FUNCTION_ARGS)
{
	return fit_serialfn(fcinfo);
}

Datum
bgnbd_deserialfn(PG_FUNCTION_ARGS)
{
	return fit_deserialfn(fcinfo);
}

FitData *
fitdata_from_rows(const WeightedRows *r, FunctionCallInfo fcinfo, int penalty_argno, int start_argno,
				  int k, const char *model)
{
	FitData    *d = palloc0(sizeof(FitData));
	int			w = r->width;

	if (!PG_ARGISNULL(penalty_argno))
	{
		d->penalty = PG_GETARG_FLOAT8(penalty_argno);
		persona_check_finite(d->penalty, "penalty");
		if (d->penalty < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("penalty must be >= 0, not %g", d->penalty)));
	}
	if (!PG_ARGISNULL(start_argno))
	{
		btyd_model_params(PG_GETARG_HEAPTUPLEHEADER(start_argno), k, d->start, "start model");
		d->start_k = k;
	}
	d->rows = palloc_extended(Max(r->n, 1) * sizeof(FitRow), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < r->n; i++)
	{
		const double *v = r->v + i * w;
		FitRow	   *row = &d->rows[d->n];

		row->k1 = v[0];
		row->k2 = w > 2 ? v[1] : 0;
		row->k3 = w > 3 ? v[2] : 0;
		row->w = v[w - 1];
		d->weight += row->w;
		d->n++;
	}
	d->input_rows = d->n;
	return d;
}
