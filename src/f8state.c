/*
 * f8state.c — float8[] states of distinct values with counts (see f8state.h).
 */
#include "persona.h"
#include "f8state.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

/* Pending rows are merged into the runs once they reach max(MIN_PENDING, runs / PENDING_SHARE). */
#define MIN_PENDING		64
#define PENDING_SHARE	8

/* Where the parts of a state are. */
typedef struct Layout
{
	int64		nruns[F8STATE_MAX_DIMS];
	int64		runs_at[F8STATE_MAX_DIMS];
	int64		pending_at;
	int64		npending;
} Layout;

static void pg_attribute_noreturn()
bad_state(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s state", what),
			 errdetail("%s", detail),
			 errhint("Pass the state of the %s aggregate.", what)));
}

/*
 * The elements of a one-dimensional float8[] state without NULLs: in place
 * for a flat array, copied for an expanded one.
 */
static const double *
elements(Datum state, int *len, const char *what)
{
	static const char *shape = "Expected a one-dimensional float8[] without NULLs.";

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(state)))
	{
		ExpandedArrayHeader *eah = (ExpandedArrayHeader *) DatumGetEOHP(state);
		double	   *v;

		if (eah->ea_magic != EA_MAGIC || eah->element_type != FLOAT8OID || eah->ndims > 1)
			bad_state(what, shape);
		deconstruct_expanded_array(eah);
		*len = eah->nelems;
		v = palloc_extended(Max(*len, 1) * sizeof(double), MCXT_ALLOC_HUGE);
		for (int i = 0; i < *len; i++)
		{
			PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
			if (eah->dnulls && eah->dnulls[i])
				bad_state(what, shape);
			v[i] = DatumGetFloat8(eah->dvalues[i]);
		}
		return v;
	}
	else
	{
		ArrayType  *a = DatumGetArrayTypeP(state);

		if (ARR_ELEMTYPE(a) != FLOAT8OID || ARR_NDIM(a) > 1 || ARR_HASNULL(a))
			bad_state(what, shape);
		*len = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		return (const double *) ARR_DATA_PTR(a);
	}
}

/* The layout of a state's len elements v, checked against its run counts. */
static void
layout_of(const double *v, int len, int nheader, int nd, Layout *l, const char *what)
{
	int64		pos = nheader + nd;

	if (len < nheader + nd)
		bad_state(what, psprintf("Expected the aggregate's %d parameters, then the number of runs of each of its %d dimensions.",
								 nheader, nd));
	for (int d = 0; d < nd; d++)
	{
		double		c = v[nheader + d];

		if (!(c >= 0 && c <= len && c == rint(c)))
			bad_state(what, psprintf("Element %d, a run count, must be a whole number from 0 to the state's length.",
									 nheader + d + 1));
		l->nruns[d] = (int64) c;
		l->runs_at[d] = pos;
		pos += 2 * l->nruns[d];
		if (pos > len)
			bad_state(what, "The state is shorter than its run counts say.");
	}
	if ((len - pos) % nd != 0)
		bad_state(what, psprintf("After the runs, the state must hold rows of %d values.", nd));
	l->pending_at = pos;
	l->npending = (len - pos) / nd;
}

/*
 * Check what no transition function writes: runs of finite values in
 * ascending order with whole counts from 1 to 2^53, and finite pending
 * values (NaN allowed in column nan_col).
 */
static void
check_values(const double *v, const Layout *l, int nd, int nan_col, const char *what)
{
	for (int d = 0; d < nd; d++)
		for (int64 i = 0; i < l->nruns[d]; i++)
		{
			int64		at = l->runs_at[d] + 2 * i;
			double		c = v[at + 1];

			PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
			if (!isfinite(v[at]))
				bad_state(what, psprintf("Element %lld is not a finite number.", (long long) at + 1));
			if (i > 0 && !(v[at] > v[at - 2]))
				bad_state(what, psprintf("Element %lld: the values of a dimension's runs must ascend.", (long long) at + 1));
			if (!(c >= 1 && c <= 9007199254740992.0 && c == rint(c)))
				bad_state(what, psprintf("Element %lld: a run's count must be a whole number from 1 to 2^53.", (long long) at + 2));
		}
	for (int64 i = l->pending_at; i < l->pending_at + l->npending * nd; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		if (!isfinite(v[i]) && !(isnan(v[i]) && (i - l->pending_at) % nd == nan_col))
			bad_state(what, psprintf("Element %lld is not a finite number.", (long long) i + 1));
	}
}

/* f8state_sort(data, n): an inlined-comparison sort that checks for interrupts. */
#define ST_SORT f8state_sort
#define ST_ELEMENT_TYPE double
#define ST_COMPARE(a, b) ((*(a) > *(b)) - (*(a) < *(b)))
#define ST_SCOPE
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

/* The (value, count) runs of a and b merged (equal values: counts added). */
static WeightedRows
merge_runs(const double *a, int64 na, const double *b, int64 nb)
{
	WeightedRows r = {0};
	int64		i = 0, j = 0;
	double	   *v = palloc_extended((na + nb) * 2 * sizeof(double) + sizeof(double), MCXT_ALLOC_HUGE);

	r.width = 2;
	r.v = v;
	while (i < na || j < nb)
	{
		double	   *o = v + 2 * r.n;

		PERSONA_CHECK_INTERRUPTS_EVERY(i + j, 16);
		if (j == nb || (i < na && a[2 * i] < b[2 * j]))
		{
			o[0] = a[2 * i];
			o[1] = a[2 * i++ + 1];
		}
		else
		{
			o[0] = b[2 * j];
			o[1] = b[2 * j++ + 1];
			if (i < na && a[2 * i] == o[0])
				o[1] += a[2 * i++ + 1];
		}
		r.total += o[1];
		r.n++;
	}
	return r;
}

/* Dimension d's runs with the pending rows' values of d counted in. */
static WeightedRows
dimension(const double *v, const Layout *l, int d, int nd)
{
	double	   *p = palloc_extended(Max(l->npending, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	double	   *runs = palloc_extended(Max(l->npending, 1) * 2 * sizeof(double), MCXT_ALLOC_HUGE);
	int64		np = 0, nr = 0;
	WeightedRows r;

	for (int64 i = 0; i < l->npending; i++)
	{
		double		x = v[l->pending_at + i * nd + d];

		if (!isnan(x))
			p[np++] = x;
	}
	f8state_sort(p, np);
	for (int64 i = 0; i < np; nr++)
	{
		runs[2 * nr] = p[i];
		runs[2 * nr + 1] = 0;
		for (; i < np && p[i] == runs[2 * nr]; i++)
			runs[2 * nr + 1]++;
	}
	r = merge_runs(v + l->runs_at[d], l->nruns[d], runs, nr);
	pfree(p);
	pfree(runs);
	return r;
}

/* A new expanded state in aggctx of header and runs dim[0..nd-1]. */
static Datum
build(MemoryContext aggctx, const double *header, int nheader, int nd, const WeightedRows *dim, const char *what)
{
	int64		total = nheader + nd;
	Size		bytes;
	ArrayType  *a;
	double	   *o;
	Datum		result;

	for (int d = 0; d < nd; d++)
		total += 2 * dim[d].n;
	bytes = ARR_OVERHEAD_NONULLS(1) + total * sizeof(double);
	if (total > (int64) MaxArraySize || !AllocSizeIsValid(bytes))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s state would hold more than 1 GB", what),
				 errdetail("%lld numbers: the values have too many distinct values.", (long long) total),
				 errhint("Use the approximate mode (an accuracy such as 0.01) for amounts.")));
	a = palloc0(bytes);
	SET_VARSIZE(a, bytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT8OID;
	ARR_DIMS(a)[0] = (int) total;
	ARR_LBOUND(a)[0] = 1;
	o = (double *) ARR_DATA_PTR(a);
	memcpy(o, header, nheader * sizeof(double));
	o += nheader;
	for (int d = 0; d < nd; d++)
		*o++ = (double) dim[d].n;
	for (int d = 0; d < nd; d++)
	{
		if (dim[d].n > 0)		/* an empty dimension may have no array at all */
			memcpy(o, dim[d].v, 2 * dim[d].n * sizeof(double));
		o += 2 * dim[d].n;
	}
	result = expand_array(PointerGetDatum(a), aggctx, NULL);
	pfree(a);
	return result;
}

F8State
f8state_read(Datum state, int nheader, int nd, int nan_col, const char *what)
{
	F8State		s = {0};
	Layout		l;
	int			len;
	const double *v = elements(state, &len, what);

	layout_of(v, len, nheader, nd, &l, what);
	check_values(v, &l, nd, nan_col, what);
	s.header = v;
	for (int d = 0; d < nd; d++)
		s.dim[d] = dimension(v, &l, d, nd);
	return s;
}

/* The state's pending rows merged into its runs: a new state. */
static Datum
compact(Datum state, MemoryContext aggctx, int nheader, int nd, int nan_col, const char *what)
{
	F8State		s = f8state_read(state, nheader, nd, nan_col, what);

	return build(aggctx, s.header, nheader, nd, s.dim, what);
}

Datum
f8state_add(Datum state, bool state_null, MemoryContext aggctx,
			const double *header, int nheader, int nd, int nan_col, const double *row, const char *what)
{
	ExpandedArrayHeader *eah;
	int			len;
	int64		runs = 0, pending;

	if (state_null)
	{
		WeightedRows none[F8STATE_MAX_DIMS] = {{0}};

		state = build(aggctx, header, nheader, nd, none, what);
	}
	else if (!VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(state)))
		state = compact(state, aggctx, nheader, nd, nan_col, what);	/* e.g. an INITCOND: checked */
	if (row == NULL)
		return state;
	eah = (ExpandedArrayHeader *) DatumGetEOHP(state);
	deconstruct_expanded_array(eah);	/* nelems is set from here on */
	len = eah->nelems;
	for (int i = 0; i < nd; i++)
	{
		int			idx = len + i + 1;

		state = array_set_element(state, 1, &idx, Float8GetDatum(row[i]), false,
								  -1, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	}
	eah = (ExpandedArrayHeader *) DatumGetEOHP(state);
	for (int d = 0; d < nd; d++)
		runs += (int64) DatumGetFloat8(eah->dvalues[nheader + d]);
	pending = (eah->nelems - nheader - nd - 2 * runs) / nd;
	if (pending >= Max(MIN_PENDING, runs / PENDING_SHARE))
		return compact(state, aggctx, nheader, nd, nan_col, what);
	return state;
}

Datum
f8state_header_add(Datum state, int i, double x)
{
	int			idx = i + 1;
	double		v = f8state_header(state, i, "persona");

	return array_set_element(state, 1, &idx, Float8GetDatum(v + x), false,
							 -1, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

Datum
f8state_combine(Datum a, bool a_null, Datum b, MemoryContext aggctx,
				int nheader, int nfixed, int nd, int nan_col, const char *what)
{
	F8State		sb = f8state_read(b, nheader, nd, nan_col, what);
	F8State		sa;
	double	   *header;
	WeightedRows dim[F8STATE_MAX_DIMS];

	if (a_null)
		return build(aggctx, sb.header, nheader, nd, sb.dim, what);
	sa = f8state_read(a, nheader, nd, nan_col, what);
	header = palloc(nheader * sizeof(double));
	for (int i = 0; i < nheader; i++)
	{
		if (i < nfixed && sa.header[i] != sb.header[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("partial %s states with different parameters", what)));
		header[i] = i < nfixed ? sa.header[i] : sa.header[i] + sb.header[i];
	}
	for (int d = 0; d < nd; d++)
		dim[d] = merge_runs(sa.dim[d].v, sa.dim[d].n, sb.dim[d].v, sb.dim[d].n);
	return build(aggctx, header, nheader, nd, dim, what);
}

/* Error: a state that no transition function made (e.g. a user aggregate's INITCOND). */
static void pg_attribute_noreturn()
bad_header(const char *what)
{
	bad_state(what, "Expected a one-dimensional float8[] of the aggregate's parameters, then its data, without NULLs.");
}

double
f8state_header(Datum state, int i, const char *what)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(state)))
	{
		ExpandedArrayHeader *eah = (ExpandedArrayHeader *) DatumGetEOHP(state);

		if (eah->ea_magic != EA_MAGIC || eah->element_type != FLOAT8OID || eah->ndims != 1 || eah->dims[0] <= i)
			bad_header(what);
		deconstruct_expanded_array(eah);
		if (eah->dnulls && eah->dnulls[i])
			bad_header(what);
		return DatumGetFloat8(eah->dvalues[i]);
	}
	else
	{
		ArrayType  *a = DatumGetArrayTypeP(state);

		if (ARR_ELEMTYPE(a) != FLOAT8OID || ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_DIMS(a)[0] <= i)
			bad_header(what);
		return ((const double *) ARR_DATA_PTR(a))[i];
	}
}

bool
f8state_header_equals(Datum state, const double *header, int first, int n, const char *what)
{
	for (int i = first; i < first + n; i++)
		if (f8state_header(state, i, what) != header[i])
			return false;
	return true;
}

/* ---------- the approximate mode ---------- */

double
f8state_accuracy_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno)
		return 0;
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("accuracy must not be NULL"),
				 errhint("Pass 0 for the exact result.")));
	return PG_GETARG_FLOAT8(argno);
}

void
f8state_check_accuracy(double accuracy)
{
	if (!(accuracy == 0 || (accuracy >= 1e-6 && accuracy <= 0.1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("accuracy must be 0 (exact) or between 0.000001 and 0.1"),
				 errdetail("Got %g.", accuracy),
				 errhint("0.01 represents every amount within 1%%.")));
}

/* gamma^k, the k-th grid value */
static double
grid(double k, double log_gamma)
{
	return exp(k * log_gamma);
}

double
f8state_quantise(double v, double accuracy)
{
	double		lg = log((1 + accuracy) / (1 - accuracy));
	double		a = fabs(v);
	double		k;

	if (v == 0)
		return 0;				/* -0 too */
	if (v > 0)
	{
		/* the largest gamma^k <= a; the estimate is off by at most one step */
		k = floor(log(a) / lg);
		for (int i = 0; i < 3 && grid(k, lg) > a; i++)
			k--;
		for (int i = 0; i < 3 && grid(k + 1, lg) <= a; i++)
			k++;
		return grid(k, lg);
	}
	/* the largest -gamma^k <= v: the smallest gamma^k >= a */
	k = ceil(log(a) / lg);
	for (int i = 0; i < 3 && grid(k, lg) < a; i++)
		k++;
	for (int i = 0; i < 3 && grid(k - 1, lg) >= a; i++)
		k--;
	/* below the last finite grid value: the bottom bucket starts at -DBL_MAX */
	return isinf(grid(k, lg)) ? -DBL_MAX : -grid(k, lg);
}

double
f8state_representative(double q, double accuracy)
{
	/* [q, q gamma) for q > 0, [q, q / gamma) for q < 0: both ends within accuracy */
	return q > 0 ? q * (1 + accuracy) : q * (1 - accuracy);
}
