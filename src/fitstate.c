/*
 * fitstate.c — the shared state of the model-fitting aggregates
 * (bgnbd_fit, mbgnbd_fit, pareto_nbd_fit, nbd_fit, bgbb_fit,
 * gamma_gamma_fit): a hash table of distinct rows with summed weights, the
 * SQL type persona.fit_state that carries it between processes and nodes,
 * and the combine function they all use.
 */
#include "fitstate.h"

#include <math.h>

#include "btyd.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "expstate.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "persona.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "weighted_rows.h"

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
	FitKind		kind;
	fittab_hash *tab;
	int64		input_rows;
	double		penalty;
	bool		has_penalty;
	double		unit_days;		/* time unit of the rows' summaries; 0: not stated */
	int64		skipped;		/* rows left out of the fit that the final function reports */
	int			start_k;		/* 0: no start given */
	double		start[4];
};

/*
 * A persona.fit_state is a list of numbers, the same in its text form (a
 * float8 array literal), its binary form and on disk:
 *
 *	kind, input rows, skipped rows, has penalty (0/1), penalty, unit (days),
 *	start parameters given (0, 3 or 4), 4 start parameters (0 when unused),
 *	distinct rows, then (k1, k2, k3, weight) per distinct row
 *
 * The flat form stores them as native float8 after a format word.
 */
#define FIT_HEADER 12
#define FIT_FORMAT 1

static void fitstate_write(void *state, StringInfo buf);
static void *fitstate_read_flat(const char *data, Size len, MemoryContext ctx);

static const ExpStateMethods fitstate_methods = {
	fitstate_write, fitstate_read_flat
};

PG_FUNCTION_INFO_V1(fit_state_in);
PG_FUNCTION_INFO_V1(fit_state_out);
PG_FUNCTION_INFO_V1(fit_state_recv);
PG_FUNCTION_INFO_V1(fit_state_send);
PG_FUNCTION_INFO_V1(fit_combinefn);
/* the support functions of 0.5.0 and earlier (internal state), until ALTER EXTENSION persona UPDATE */
PG_FUNCTION_INFO_V1(fit_serialfn);
PG_FUNCTION_INFO_V1(fit_deserialfn);
PG_FUNCTION_INFO_V1(bgnbd_transfn);
PG_FUNCTION_INFO_V1(bgnbd_combinefn);
PG_FUNCTION_INFO_V1(bgnbd_serialfn);
PG_FUNCTION_INFO_V1(bgnbd_deserialfn);

static FitState *
fitstate_new(MemoryContext ctx, FitKind kind)
{
	FitState   *st = MemoryContextAllocZero(ctx, sizeof(FitState));

	st->kind = kind;
	st->tab = fittab_create(ctx, 1024, NULL);
	return st;
}

static const char *
kind_name(FitKind kind)
{
	switch (kind)
	{
		case FIT_HISTORIES:
			return "purchase histories (x, t_x, T)";
		case FIT_OPPORTUNITIES:
			return "discrete-time histories (x, t_x, n)";
		case FIT_SPEND:
			return "spend summaries (x, mean spend)";
	}
	return "?";
}

/* Validate one row of a state of this kind as the transition function would. */
static void
check_row(FitKind kind, double k1, double k2, double k3)
{
	switch (kind)
	{
		case FIT_HISTORIES:
			btyd_check_summary(k1, k2, k3);
			break;
		case FIT_OPPORTUNITIES:
			bgbb_model.check(k1, k2, k3);
			break;
		case FIT_SPEND:
			gamma_gamma_check_spend(k1, k2);
			if (k1 <= 0 || k2 <= 0 || k3 != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid persona.fit_state row (%g, %g, %g)", k1, k2, k3),
						 errdetail("A spend state holds repeat buyers (x > 0) with a mean spend > 0, and 0 third.")));
			break;
	}
}

ExpState *
fitstate_begin(FunctionCallInfo fcinfo, FitKind kind)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	ExpState   *es;

	if (PG_ARGISNULL(0))
	{
		es = expstate_create(aggctx, &fitstate_methods);
		es->state = fitstate_new(es->hdr.eoh_context, kind);
		return es;
	}
	es = expstate_for_update(PG_GETARG_DATUM(0), aggctx, &fitstate_methods);
	fitstate_check_kind((FitState *) es->state, kind, "this aggregate");
	return es;
}

void
fitstate_check_kind(const FitState *st, FitKind kind, const char *model)
{
	if (st->kind != kind)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a persona.fit_state of %s cannot be used by %s", kind_name(st->kind), model),
				 errdetail("%s needs a state of %s.", model, kind_name(kind))));
}

/* The table's key of a row: +0.0 turns -0 into 0 so that the two hash alike. */
static inline FitKey
fit_key(double k1, double k2, double k3)
{
	FitKey		key = {k1 + 0.0, k2 + 0.0, k3 + 0.0};

	return key;
}

void
fitstate_add(FitState *st, double k1, double k2, double k3, double w)
{
	bool		found;
	FitEntry   *e = fittab_insert(st->tab, fit_key(k1, k2, k3), &found);

	e->w = found ? e->w + w : w;
}

void
fitstate_check_row(const FitState *st, double k1, double k2, double k3)
{
	check_row(st->kind, k1, k2, k3);
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

static void
check_penalty(double penalty)
{
	persona_check_finite(penalty, "penalty");
	if (penalty < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("penalty must be >= 0, not %g", penalty)));
}

void
fitstate_penalty_arg(FitState *st, FunctionCallInfo fcinfo, int argno)
{
	double		penalty;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return;
	penalty = PG_GETARG_FLOAT8(argno);
	check_penalty(penalty);
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

/* The rows of positive weight, sorted (a fixed order makes the summed likelihood reproducible). */
static FitRow *
sorted_rows(const FitState *st, int64 *n, double *weight)
{
	FitRow	   *rows = palloc_extended(Max(st->tab->members, 1) * sizeof(FitRow), MCXT_ALLOC_HUGE);
	fittab_iterator it;
	FitEntry   *e;
	uint64		visited = 0;

	*n = 0;
	*weight = 0;
	fittab_start_iterate(st->tab, &it);
	while ((e = fittab_iterate(st->tab, &it)) != NULL)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(++visited, 12);
		if (e->w == 0)
			continue;
		rows[*n].k1 = e->key.k1;
		rows[*n].k2 = e->key.k2;
		rows[*n].k3 = e->key.k3;
		rows[*n].w = e->w;
		*weight += e->w;
		(*n)++;
	}
	sort_fitrows(rows, *n);
	return rows;
}

FitData *
fitstate_data(Datum state, FitKind kind, const char *model)
{
	FitState   *st = expstate_read(state, &fitstate_methods);
	FitData    *d = palloc0(sizeof(FitData));

	fitstate_check_kind(st, kind, model);
	d->input_rows = st->input_rows;
	d->penalty = st->has_penalty ? st->penalty : 0;
	d->unit_days = st->unit_days;
	d->skipped = st->skipped;
	d->start_k = st->start_k;
	memcpy(d->start, st->start, sizeof(d->start));
	d->rows = sorted_rows(st, &d->n, &d->weight);
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

/* Merge b into a: add weights and counts; penalty, unit and kind must agree. */
static void
merge(void *into, const void *from)
{
	FitState   *a = into;
	const FitState *b = from;
	fittab_iterator it;
	FitEntry   *e;
	uint64		visited = 0;

	fitstate_check_kind(b, a->kind, "this aggregate");
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
}

/* fit_combinefn(a, b): the combine function of every fit aggregate. */
Datum
fit_combinefn(PG_FUNCTION_ARGS)
{
	return expstate_combine(fcinfo, &fitstate_methods, merge);
}

/* The state as its list of numbers (see the layout above); *n gets their count. */
static double *
state_numbers(const FitState *st, int64 *n)
{
	int64		nrows;
	double		weight;
	FitRow	   *rows = sorted_rows(st, &nrows, &weight);
	double	   *v;

	*n = FIT_HEADER + 4 * nrows;
	if (!AllocSizeIsValid((Size) *n * sizeof(double) + 2 * VARHDRSZ))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("persona.fit_state would take more than 1 GB"),
				 errdetail("It holds %lld distinct histories.", (long long) nrows),
				 errhint("Round t_x and T to whole days or weeks: customers with equal histories share a row.")));
	v = palloc_extended(*n * sizeof(double), MCXT_ALLOC_HUGE);
	v[0] = st->kind;
	v[1] = (double) st->input_rows;
	v[2] = (double) st->skipped;
	v[3] = st->has_penalty;
	v[4] = st->has_penalty ? st->penalty : 0;
	v[5] = st->unit_days;
	v[6] = st->start_k;
	for (int i = 0; i < 4; i++)
		v[7 + i] = i < st->start_k ? st->start[i] : 0;
	v[11] = (double) nrows;
	memcpy(v + FIT_HEADER, rows, nrows * sizeof(FitRow));
	pfree(rows);
	return v;
}

/* Error unless v is a whole number in [lo, hi]. */
static void
check_whole(double v, double lo, double hi, int sqlstate, const char *what)
{
	if (!(v >= lo && v <= hi && v == rint(v)))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid persona.fit_state"),
				 errdetail("%s must be a whole number from %.17g to %.17g, not %g.", what, lo, hi, v)));
}

/*
 * A state from its list of numbers, every one checked as strictly as the
 * transition function checks its input: a hand-made state is a user's
 * input like any other.
 */
static FitState *
state_from_numbers(const double *v, int64 n, MemoryContext ctx, int sqlstate)
{
	FitState   *st;
	int64		nrows;
	const double max_count = 9007199254740992.0;	/* 2^53 */

	if (n < FIT_HEADER)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid persona.fit_state"),
				 errdetail("It has %lld numbers; its header alone has %d.", (long long) n, FIT_HEADER)));
	check_whole(v[0], FIT_HISTORIES, FIT_SPEND, sqlstate, "the kind (1: (x, t_x, T), 2: (x, t_x, n), 3: (x, mean spend))");
	check_whole(v[1], 0, max_count, sqlstate, "the input row count");
	check_whole(v[2], 0, v[1], sqlstate, "the skipped row count");
	check_whole(v[3], 0, 1, sqlstate, "whether a penalty is given");
	check_whole(v[6], 0, 4, sqlstate, "the number of start parameters");
	check_whole(v[11], 0, v[1], sqlstate, "the number of distinct rows");
	nrows = (int64) v[11];
	if (n != FIT_HEADER + 4 * nrows)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid persona.fit_state"),
				 errdetail("It has %lld numbers; a header and %lld rows of 4 are %lld.",
						   (long long) n, (long long) nrows, (long long) (FIT_HEADER + 4 * nrows))));
	st = fitstate_new(ctx, (FitKind) v[0]);
	st->input_rows = (int64) v[1];
	st->skipped = (int64) v[2];
	if (v[3] == 1)
	{
		check_penalty(v[4]);
		set_penalty(st, v[4]);
	}
	else if (v[4] != 0)
		check_whole(v[4], 0, 0, sqlstate, "the penalty of a state without one");
	if (v[5] != 0 && !btyd_unit_known(v[5]))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid persona.fit_state"),
				 errdetail("The unit is %g days: 0 (not stated) or the days of a day, week or month.", v[5])));
	st->unit_days = v[5];
	st->start_k = (int) v[6];
	if (st->start_k != 0 && st->start_k != (st->kind == FIT_SPEND ? 3 : 4))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid persona.fit_state"),
				 errdetail("A state of %s has %d start parameters or none, not %d.",
						   kind_name(st->kind), st->kind == FIT_SPEND ? 3 : 4, st->start_k)));
	for (int i = 0; i < 4; i++)
	{
		if (i < st->start_k)
		{
			persona_check_finite(v[7 + i], "start parameter");
			if (v[7 + i] <= 0)
				ereport(ERROR,
						(errcode(sqlstate),
						 errmsg("invalid persona.fit_state"),
						 errdetail("Start parameter %d is %g; parameters are > 0.", i + 1, v[7 + i])));
		}
		else if (v[7 + i] != 0)
			check_whole(v[7 + i], 0, 0, sqlstate, "an unused start parameter");
		st->start[i] = v[7 + i];
	}
	for (int64 i = 0; i < nrows; i++)
	{
		const double *r = v + FIT_HEADER + 4 * i;
		bool		found;
		FitEntry   *e;

		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		check_row(st->kind, r[0], r[1], r[2]);
		persona_check_finite(r[3], "weight");
		if (r[3] <= 0)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("invalid persona.fit_state"),
					 errdetail("Row %lld has weight %g; stored rows have a weight > 0.", (long long) i + 1, r[3])));
		e = fittab_insert(st->tab, fit_key(r[0], r[1], r[2]), &found);
		if (found)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("invalid persona.fit_state"),
					 errdetail("Row %lld, (%g, %g, %g), appears twice.", (long long) i + 1, r[0], r[1], r[2])));
		e->w = r[3];
	}
	return st;
}

/* Flat form: a format word, then the numbers as native float8. */
static void
fitstate_write(void *state, StringInfo buf)
{
	int64		n;
	double	   *v = state_numbers((FitState *) state, &n);
	int32		format = FIT_FORMAT;

	appendBinaryStringInfo(buf, (char *) &format, sizeof(format));
	appendBinaryStringInfo(buf, (char *) v, n * sizeof(double));
	pfree(v);
}

static void *
fitstate_read_flat(const char *data, Size len, MemoryContext ctx)
{
	int32		format;
	double	   *v;
	int64		n;
	FitState   *st;

	if (len < sizeof(int32) || (len - sizeof(int32)) % sizeof(double) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid persona.fit_state"),
				 errdetail("A stored state of %zu bytes.", len)));
	memcpy(&format, data, sizeof(format));
	if (format != FIT_FORMAT)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid persona.fit_state"),
				 errdetail("Unknown stored format %d.", format)));
	n = (len - sizeof(int32)) / sizeof(double);
	v = palloc_extended(Max(n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	memcpy(v, data + sizeof(int32), n * sizeof(double));	/* aligned */
	st = state_from_numbers(v, n, ctx, ERRCODE_DATA_CORRUPTED);
	pfree(v);
	return st;
}

/* fit_state_in(cstring): a float8 array literal of the numbers (array_in reads it). */
Datum
fit_state_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	ArrayType  *a = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, s, FLOAT8OID, -1));
	FitState   *st;

	if (ARR_NDIM(a) > 1 || array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type persona.fit_state: \"%.40s\"", s),
				 errdetail("A state is a one-dimensional list of numbers without NULLs, as a float8[] literal.")));
	st = state_from_numbers((double *) ARR_DATA_PTR(a), ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)), CurrentMemoryContext,
							ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_POINTER(expstate_flatten(st, &fitstate_methods));
}

/*
 * fit_state_out(fit_state): every number in its shortest exact form, so
 * that the text re-reads to the same state whatever extra_float_digits is
 * (Citus ships partial states between nodes as text).
 */
Datum
fit_state_out(PG_FUNCTION_ARGS)
{
	FitState   *st = expstate_read(PG_GETARG_DATUM(0), &fitstate_methods);
	int64		n;
	double	   *v = state_numbers(st, &n);
	StringInfoData buf;
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 12);
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		double_to_shortest_decimal_buf(v[i], num);
		appendStringInfoString(&buf, num);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* fit_state_recv(internal): a format word and the numbers as float8. */
Datum
fit_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		format = pq_getmsgint(buf, 4);
	int64		n;
	double	   *v;
	FitState   *st;

	if (format != FIT_FORMAT || (buf->len - buf->cursor) % 8 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid persona.fit_state"),
				 errdetail("Format %d with %d bytes after it.", format, buf->len - buf->cursor)));
	n = (buf->len - buf->cursor) / 8;
	v = palloc_extended(Max(n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		v[i] = pq_getmsgfloat8(buf);
	st = state_from_numbers(v, n, CurrentMemoryContext, ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(expstate_flatten(st, &fitstate_methods));
}

Datum
fit_state_send(PG_FUNCTION_ARGS)
{
	FitState   *st = expstate_read(PG_GETARG_DATUM(0), &fitstate_methods);
	int64		n;
	double	   *v = state_numbers(st, &n);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, FIT_FORMAT);
	for (int64 i = 0; i < n; i++)
		pq_sendfloat8(&buf, v[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * The aggregates of persona 0.5.0 and earlier kept the state as internal
 * with these serial and deserial functions; a database that loads this
 * library before ALTER EXTENSION persona UPDATE still runs them (the
 * support functions work on the expanded state either way).
 */
Datum
fit_serialfn(PG_FUNCTION_ARGS)
{
	return expstate_serial(fcinfo, &fitstate_methods);
}

Datum
fit_deserialfn(PG_FUNCTION_ARGS)
{
	return expstate_deserial(fcinfo, &fitstate_methods);
}

/* persona 0.1.0's bgnbd_fit named its support functions bgnbd_*: the same, under the old names. */
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
	if (w == 4)
	{
		/*
		 * (x, t_x, T, weight) rows are FitRows already: the fit reads them
		 * where they are (they are only read), not a 17 MB copy for 1M
		 * customers
		 */
		StaticAssertStmt(sizeof(FitRow) == 4 * sizeof(double), "FitRow is four doubles");
		d->rows = (FitRow *) unconstify(double *, r->v);
		d->n = r->n;
		for (int64 i = 0; i < r->n; i++)
			d->weight += d->rows[i].w;
		d->input_rows = d->n;
		return d;
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
