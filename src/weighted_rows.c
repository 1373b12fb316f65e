/*
 * weighted_rows.c — distinct weighted rows kept in a float8[][] and
 * persona.weighted_rows(rows, changes), which adds weights to them.
 *
 * A profile's global parts (RFM cut points, value tiers, the Pareto
 * summary, the model fits) are functions of multisets of per-customer
 * values: last order days, order counts, revenues, purchase histories
 * (x, t_x, first order day; history_rows_at makes them the (x, t_x, T)
 * rows of a day).  Kept
 * as distinct values with counts, such a multiset is small where customers
 * tie (a few hundred order counts) and never larger than the customers;
 * when orders change, the changed customers' old values go out with weight
 * -1 and their new values come in with +1, which is a merge of two sorted
 * lists instead of a read of every customer.  The functions computing from
 * rows (rfm_breaks_from_rows, weighted_percentile_cont, pareto_from_rows,
 * bgnbd_fit_rows, gamma_gamma_fit_rows) give what their aggregates give
 * over the same values, expanded.
 */
#include "weighted_rows.h"
#include "persona.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(weighted_rows_merge);

/* Order of two rows by their first `keys` values (the keys of a row). */
static inline int
wrow_keys_cmp(const double *a, const double *b, int keys)
{
	for (int i = 0; i < keys; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* Key order of two rows of width values (the last is the weight). */
static inline int
wrow_cmp(const double *a, const double *b, int *width)
{
	return wrow_keys_cmp(a, b, *width - 1);
}

/* sort_wrows_any(data, n, element_size, &width): interruptible; short inputs of any width */
#define ST_SORT sort_wrows_any
#define ST_ELEMENT_TYPE_VOID
#define ST_COMPARE_ARG_TYPE int
#define ST_COMPARE(a, b, arg) wrow_cmp((const double *) (a), (const double *) (b), (arg))
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * A key's bits as an unsigned integer in the key's order: positive doubles
 * order as their bits with the sign bit set, negative ones as their bits
 * inverted; -0 is 0, one key with it (as the comparisons have it).
 */
static inline uint64
wkey_order_bits(double x)
{
	uint64		u;

	x += 0.0;
	memcpy(&u, &x, sizeof(u));
	return (u >> 63) ? ~u : u | (UINT64CONST(1) << 63);
}

/* One pass: the rows of src into dst by byte shift of key k, at the offsets c (advanced). */
static pg_attribute_always_inline void
radix_scatter(const double *src, double *dst, int64 n, int width, int k, int shift, int64 *c)
{
	for (int64 i = 0; i < n; i++)
	{
		const double *row = src + i * width;
		double	   *to = dst + c[(wkey_order_bits(row[k]) >> shift) & 0xFF]++ * width;

		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		for (int j = 0; j < width; j++)
			to[j] = row[j];
	}
}

/* Below this many rows the comparison sort is the quicker. */
#define WROWS_RADIX_MIN 512
#define WROWS_RADIX_MAX_BYTES ((Size) 256 * 1024 * 1024)

/*
 * Sort n rows of width values by their keys: a least-significant-digit
 * radix sort, a byte of a key a pass, last key first, each pass a stable
 * scatter of whole rows into a second buffer.  The counts of every pass
 * are taken in one read first, and a pass whose byte is the same in every
 * row (the low bytes of whole-number keys, the high bytes of keys of one
 * magnitude) is skipped: a profile's 10^5 to 10^6 rows of day numbers,
 * counts and amounts take a few passes a key.  The five sorts of an
 * incremental refresh's 170,000 changed rows took ~65 ms by comparison,
 * ~28 ms so.  Rows of one key compare equal and stay in input order.
 */
static void
sort_wrows(double *v, int64 n, int width)
{
	int			keys = width - 1;
	int64	   *counts;
	double	   *buf,
			   *src = v,
			   *dst;
	size_t		row_bytes = width * sizeof(double);

	/* (the second buffer doubles the rows' memory: beyond 256 MB of rows they are sorted in place) */
	if (n < WROWS_RADIX_MIN || n * row_bytes > WROWS_RADIX_MAX_BYTES)
	{
		sort_wrows_any(v, n, row_bytes, &width);
		return;
	}
	counts = palloc0(keys * 8 * 256 * sizeof(int64));
	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		for (int k = 0; k < keys; k++)
		{
			uint64		u = wkey_order_bits(v[i * width + k]);
			int64	   *c = counts + k * 8 * 256;

			for (int b = 0; b < 8; b++)
				c[b * 256 + ((u >> (8 * b)) & 0xFF)]++;
		}
	}
	buf = palloc_extended(n * row_bytes, MCXT_ALLOC_HUGE);
	dst = buf;
	for (int k = keys - 1; k >= 0; k--)
	{
		for (int b = 0; b < 8; b++)
		{
			int64	   *c = counts + (k * 8 + b) * 256;
			int64		offset = 0;
			int			shift = 8 * b;
			double	   *swap;

			/* a byte every row shares orders nothing */
			if (c[(wkey_order_bits(src[k]) >> shift) & 0xFF] == n)
				continue;
			for (int d = 0; d < 256; d++)
			{
				int64		count = c[d];

				c[d] = offset;
				offset += count;
			}
			/* a constant width each: the rows are copied by fixed-size moves, not memcpy calls */
			switch (width)
			{
				case 2:
					radix_scatter(src, dst, n, 2, k, shift, c);
					break;
				case 3:
					radix_scatter(src, dst, n, 3, k, shift, c);
					break;
				case 4:
					radix_scatter(src, dst, n, 4, k, shift, c);
					break;
				default:
					radix_scatter(src, dst, n, width, k, shift, c);
			}
			swap = src;
			src = dst;
			dst = swap;
		}
	}
	if (src != v)
		memcpy(v, src, n * row_bytes);
	pfree(buf);
	pfree(counts);
}

static void pg_attribute_noreturn()
invalid_rows(const char *what, const char *detail, int64 row)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s", what),
			 row >= 0 ? errdetail("Row %lld: %s", (long long) row + 1, detail) : errdetail("%s", detail),
			 errhint("Pass an n x k float8[][] of keys then a weight per row, as persona.weighted_rows returns.")));
}

/*
 * The shape of a float8[][] argument of weighted rows, checked; *n rows of
 * *width (width 0: any of 2..WROWS_MAX_WIDTH).  NULL or empty: no rows.
 */
static bool
wrows_shape(ArrayType *a, int *width, int64 *n, const char *what)
{
	int			w;

	*n = 0;
	if (a == NULL || ARR_NDIM(a) == 0)
		return false;
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		invalid_rows(what, "The array must be of float8.", -1);
	if (ARR_NDIM(a) != 2)
		invalid_rows(what, psprintf("The array has %d dimensions; it must have 2 (rows x columns).", ARR_NDIM(a)), -1);
	if (array_contains_nulls(a))
		invalid_rows(what, "The array contains NULLs.", -1);
	w = ARR_DIMS(a)[1];
	if (w < 2 || w > WROWS_MAX_WIDTH || (*width != 0 && w != *width))
		invalid_rows(what, *width != 0 ? psprintf("Rows have %d columns; expected %d.", w, *width)
					 : psprintf("Rows have %d columns; expected 2 to %d (keys, then a weight).", w, WROWS_MAX_WIDTH), -1);
	*width = w;
	*n = ARR_DIMS(a)[0];
	return true;
}

/*
 * Copy of a float8[][] argument's values, checked for shape and finite
 * values; *n rows of *width.  width 0: any of 2..WROWS_MAX_WIDTH.
 */
static double *
wrows_copy(ArrayType *a, int *width, int64 *n, const char *what)
{
	double	   *v;
	int64		count;

	if (!wrows_shape(a, width, n, what))
		return NULL;
	count = *n * *width;
	v = palloc_extended(count * sizeof(double), MCXT_ALLOC_HUGE);
	memcpy(v, ARR_DATA_PTR(a), count * sizeof(double));
	for (int64 i = 0; i < count; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		if (!isfinite(v[i]))
			invalid_rows(what, "Values must be finite.", i / *width);
		v[i] += 0.0;			/* -0 and 0 are one key */
	}
	return v;
}

/*
 * Whether n rows of width values are as wrows_read leaves them: finite,
 * no -0, keys strictly ascending, weights > 0 (whole numbers if whole).
 * Rows a profile stores, or weighted_rows returns, are.
 */
static pg_attribute_always_inline bool
wrows_normal_width(const double *v, int64 n, int width, bool whole)
{
	for (int64 i = 0; i < n; i++)
	{
		const double *row = v + i * width;
		double		w = row[width - 1];

		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		for (int k = 0; k < width; k++)
			if (!isfinite(row[k]) || (row[k] == 0 && signbit(row[k])))
				return false;
		/* (a whole weight below 2^53 is its int64 conversion; rint would be a libm call a row) */
		if (!(w > 0) || (whole && (w >= 9007199254740992.0 || w != (double) (int64) w)))
			return false;
		if (i > 0 && wrow_keys_cmp(row - width, row, width - 1) >= 0)
			return false;
	}
	return true;
}

/* (the check read every stored row of a refresh several times: a constant width each) */
static bool
wrows_normal(const double *v, int64 n, int width, bool whole)
{
	switch (width)
	{
		case 2:
			return wrows_normal_width(v, n, 2, whole);
		case 3:
			return wrows_normal_width(v, n, 3, whole);
		case 4:
			return wrows_normal_width(v, n, 4, whole);
		default:
			return wrows_normal_width(v, n, width, whole);
	}
}

/* Whether the keys of n rows strictly ascend (sorted, no key twice). */
static bool
wrows_ascending(const double *v, int64 n, int width)
{
	for (int64 i = 1; i < n; i++)
		if (wrow_cmp(v + (i - 1) * width, v + i * width, &width) >= 0)
			return false;
	return true;
}

/* Sort rows by key and combine equal keys, summing their weights; returns the new count. */
static int64
wrows_normalise(double *v, int64 n, int width)
{
	int64		out = 0;

	if (wrows_ascending(v, n, width))
		return n;
	sort_wrows(v, n, width);
	for (int64 i = 0; i < n; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		if (out > 0 && wrow_cmp(v + (out - 1) * width, v + i * width, &width) == 0)
			v[out * width - 1] += v[i * width + width - 1];
		else
		{
			if (out != i)
				memmove(v + out * width, v + i * width, width * sizeof(double));
			out++;
		}
	}
	return out;
}

WeightedRows
wrows_read(ArrayType *a, int width, bool whole, const char *what)
{
	WeightedRows r = {0};
	double	   *v;

	r.width = width;
	if (wrows_shape(a, &r.width, &r.n, what) && wrows_normal((double *) ARR_DATA_PTR(a), r.n, r.width, whole))
	{
		/* already normal (a stored profile's 30 MB of rows): read in place */
		r.v = (double *) ARR_DATA_PTR(a);
		for (int64 i = 0; i < r.n; i++)
			r.total += r.v[i * r.width + r.width - 1];
		return r;
	}
	r.width = width;
	v = wrows_copy(a, &r.width, &r.n, what);
	for (int64 i = 0; i < r.n; i++)
	{
		double		w = v[i * r.width + r.width - 1];

		if (!(w > 0))
			invalid_rows(what, psprintf("Weight %g; weights must be > 0.", w), i);
		if (whole && w != rint(w))
			invalid_rows(what, psprintf("Weight %g; these weights count customers and must be whole numbers.", w), i);
	}
	r.n = wrows_normalise(v, r.n, r.width);
	for (int64 i = 0; i < r.n; i++)
		r.total += v[i * r.width + r.width - 1];
	r.v = v;
	return r;
}

/* A float8[][] with room for n > 0 rows of width, its values to be written. */
static ArrayType *
wrows_array_alloc(int64 n, int width)
{
	int			dims[2];
	int			lbs[2] = {1, 1};
	ArrayType  *a;
	Size		bytes;

	if (n > MaxAllocHugeSize / (width * sizeof(double)) || n * width > MaxArraySize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many weighted rows (%lld)", (long long) n)));
	dims[0] = (int) n;
	dims[1] = width;
	bytes = ARR_OVERHEAD_NONULLS(2) + n * width * sizeof(double);
	a = palloc_extended(bytes, MCXT_ALLOC_HUGE);
	SET_VARSIZE(a, bytes);
	a->ndim = 2;
	a->dataoffset = 0;
	a->elemtype = FLOAT8OID;
	memcpy(ARR_DIMS(a), dims, sizeof(dims));
	memcpy(ARR_LBOUND(a), lbs, sizeof(lbs));
	return a;
}

/* A float8[][] of wrows_array_alloc cut to its first n > 0 rows (fewer than it was made for). */
static void
wrows_array_cut(ArrayType *a, int64 n, int width)
{
	ARR_DIMS(a)[0] = (int) n;
	SET_VARSIZE(a, ARR_OVERHEAD_NONULLS(2) + n * width * sizeof(double));
}

/*
 * The sum of two weights of one key: exactly zero drops the row, a
 * negative sum is an error (more removed than the rows hold).  Weights
 * that are not whole numbers may not cancel exactly in floating point:
 * what is left within 1e-12 of the terms counts as zero.
 */
static bool
wrows_add(double *w, double change, const double *key, int width)
{
	double		sum = *w + change;

	if (fabs(sum) <= 1e-12 * (fabs(*w) + fabs(change)))
		return false;
	if (sum < 0)
	{
		StringInfoData k;

		initStringInfo(&k);
		for (int i = 0; i < width - 1; i++)
			appendStringInfo(&k, "%s%g", i ? ", " : "", key[i]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weighted rows would get a negative weight"),
				 errdetail("Key (%s) holds weight %g; the change is %g.", k.data, *w, change),
				 errhint("Remove only rows that are in the rows (weight -1 for a row added with weight 1).")));
	}
	*w = sum;
	return true;
}

/*
 * weighted_rows(rows float8[][], changes float8[][]): rows plus the
 * weights of changes (negative: removed), in key order, equal keys
 * combined, rows of weight zero left out.  NULL rows or changes: none.
 */
Datum
weighted_rows_merge(PG_FUNCTION_ARGS)
{
	WeightedRows base;
	int			width;
	int64		nc, i = 0, j = 0, out = 0;
	double	   *c;
	double	   *res;
	ArrayType  *result;

	base = wrows_read(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0), 0, false, "weighted rows");
	width = base.width;
	c = wrows_copy(PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1), &width, &nc, "weighted row changes");
	if (base.n == 0 && nc == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT8OID));
	nc = wrows_normalise(c, nc, width);
	/* the merged rows go straight into the result, cut to length after */
	result = wrows_array_alloc(base.n + nc, width);
	res = (double *) ARR_DATA_PTR(result);
	while (i < base.n || j < nc)
	{
		const double *b = base.v + i * width;
		const double *d = c + j * width;
		int			cmp = i == base.n ? 1 : j == nc ? -1 : wrow_cmp(b, d, &width);
		double	   *o = res + out * width;

		PERSONA_CHECK_INTERRUPTS_EVERY(i + j, 16);
		if (cmp < 0)
		{
			memcpy(o, b, width * sizeof(double));
			out++;
			i++;
			continue;
		}
		memcpy(o, d, width * sizeof(double));
		o[width - 1] = 0;
		if (cmp == 0)
			o[width - 1] = b[width - 1];
		if (wrows_add(&o[width - 1], d[width - 1], d, width))
			out++;
		if (cmp == 0)
			i++;
		j++;
	}
	if (out == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT8OID));
	wrows_array_cut(result, out, width);
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(weighted_percentile_cont);

int64
wrows_row_at(const WeightedRows *r, int64 pos, int64 *row, int64 *before)
{
	while (*row < r->n && *before + (int64) r->v[2 * *row + 1] <= pos)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(*row, 16);
		*before += (int64) r->v[2 * *row + 1];
		(*row)++;
	}
	return *row;
}

/* The value at 0-based position pos of the expanded (value, count) rows (pos < total). */
static double
wrows_value_at(const WeightedRows *r, int64 pos, int64 *row, int64 *before)
{
	return r->v[2 * Min(wrows_row_at(r, pos, row, before), r->n - 1)];
}

/*
 * weighted_percentile_cont(rows float8[][], fractions float8[]): what
 * percentile_cont(fractions) WITHIN GROUP (ORDER BY value) gives over the
 * (value, count) rows, each value counted count times — the same
 * positions and the same interpolation.  NULL for no rows; a NULL
 * fraction gives NULL.
 */
Datum
weighted_percentile_cont(PG_FUNCTION_ARGS)
{
	WeightedRows r;
	ArrayType  *fa;
	Datum	   *fr;
	bool	   *frnull;
	int			nf;
	Datum	   *out;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	r = wrows_read(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0), 2, true, "percentile rows");
	fa = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(fa) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("fractions must be a one-dimensional array"),
				 errdetail("The array has %d dimensions.", ARR_NDIM(fa))));
	deconstruct_array(fa, FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &fr, &frnull, &nf);
	if (r.n == 0)
		PG_RETURN_NULL();
	out = palloc(Max(nf, 1) * sizeof(Datum));
	for (int i = 0; i < nf; i++)
	{
		double		p, pos;
		int64		first, second, row = 0, before = 0;
		double		lo, hi;

		if (frnull[i])
			continue;
		p = DatumGetFloat8(fr[i]);
		if (p < 0 || p > 1 || isnan(p))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("percentile value %g is not between 0 and 1", p)));
		pos = p * (r.total - 1);
		first = (int64) floor(pos);
		second = (int64) ceil(pos);
		lo = wrows_value_at(&r, first, &row, &before);
		hi = wrows_value_at(&r, second, &row, &before);
		out[i] = Float8GetDatum(first == second ? lo : lo + ((pos - first) * (hi - lo)));
	}
	{
		int			dims[1] = {nf};
		int			lbs[1] = {ARR_NDIM(fa) > 0 ? ARR_LBOUND(fa)[0] : 1};

		if (nf == 0)
			PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT8OID));
		PG_RETURN_ARRAYTYPE_P(construct_md_array(out, frnull, 1, dims, lbs, FLOAT8OID, sizeof(double),
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
}

PG_FUNCTION_INFO_V1(history_rows_at);

/*
 * history_rows_at(rows float8[][], as_of date): a profile's purchase
 * histories (x, t_x in weeks, first order day as days since 2000-01-01,
 * count), which no day they are read on changes, as the BG/NBD rows of
 * as_of: (x, t_x, T, count) with T = (as_of - first order day) / 7 weeks,
 * what (as_of - first_order_on) / 7::float8 gives; customers whose first
 * order is not before as_of have no calibration period and are left out.
 * In key order: among rows of one (x, t_x) a later first day is a smaller
 * T, so each such run is read backwards.  NULL when no row is left.
 */
Datum
history_rows_at(PG_FUNCTION_ARGS)
{
	WeightedRows h = wrows_read(PG_GETARG_ARRAYTYPE_P(0), 4, true, "purchase-history rows");
	DateADT		as_of = PG_GETARG_DATEADT(1);
	ArrayType  *result;
	double	   *out;
	int64		n = 0;

	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the as-of day of purchase-history rows must be a finite date")));
	if (h.n == 0)
		PG_RETURN_NULL();
	/* written in place: at most h.n rows, cut to length after (17 MB for 1M customers, not copied) */
	result = wrows_array_alloc(h.n, 4);
	out = (double *) ARR_DATA_PTR(result);
	for (int64 start = 0, end; start < h.n; start = end)
	{
		/* the run of rows with this row's x and t_x */
		for (end = start + 1; end < h.n && wrow_keys_cmp(h.v + start * 4, h.v + end * 4, 2) == 0; end++)
			PERSONA_CHECK_INTERRUPTS_EVERY(end, 16);
		for (int64 i = end - 1; i >= start; i--)
		{
			const double *row = h.v + i * 4;
			double	   *o = out + n * 4;

			/* days of the date type: whole, within its range (so the difference below is exact) */
			if (row[2] != rint(row[2]) || fabs(row[2]) > (double) PG_INT32_MAX)
				invalid_rows("purchase-history rows", psprintf("First order day %g; it must be a whole number of days since 2000-01-01.", row[2]), i);
			if (!(row[2] < (double) as_of))
				continue;
			o[0] = row[0];
			o[1] = row[1];
			o[2] = ((double) as_of - row[2]) / 7.0;
			o[3] = row[3];
			n++;
		}
	}
	if (n == 0)
		PG_RETURN_NULL();
	wrows_array_cut(result, n, 4);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * weighted_rows_agg(key, ..., weight): the weighted rows of a group, one
 * row per input row (1 to 4 keys, then its weight, any sign), in key
 * order with equal keys combined and rows whose weights cancel left out:
 * what weighted_rows(NULL, array_agg(ARRAY[key, ..., weight])) gives,
 * without building an array per row.  Rows with a NULL are skipped, as
 * other aggregates skip them; NULL when no row is left.
 */
struct WRowsAgg
{
	int			width;
	int64		n;
	int64		cap;			/* rows allocated */
	bool		normal;			/* keys strictly ascending (a partial state as sent) */
	double	   *v;
};

PG_FUNCTION_INFO_V1(weighted_rows_agg_transfn);
PG_FUNCTION_INFO_V1(weighted_rows_agg_combinefn);
PG_FUNCTION_INFO_V1(weighted_rows_agg_serialfn);
PG_FUNCTION_INFO_V1(weighted_rows_agg_deserialfn);
PG_FUNCTION_INFO_V1(weighted_rows_agg_finalfn);

WRowsAgg *
wagg_new(MemoryContext ctx, int width)
{
	WRowsAgg   *st = MemoryContextAllocZero(ctx, sizeof(WRowsAgg));

	st->width = width;
	return st;
}

/* Room for more rows, doubling (the state lives in ctx). */
static void
wagg_reserve(MemoryContext ctx, WRowsAgg *st, int64 more)
{
	int64		need = st->n + more;

	if (need <= st->cap)
		return;
	if (need > (int64) (MaxAllocHugeSize / (st->width * sizeof(double))) / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many weighted rows (%lld)", (long long) need)));
	st->cap = Max(Max(need, 2 * st->cap), 1024);
	st->v = st->v == NULL
		? MemoryContextAllocExtended(ctx, st->cap * st->width * sizeof(double), MCXT_ALLOC_HUGE)
		: repalloc_huge(st->v, st->cap * st->width * sizeof(double));
}

static MemoryContext
wagg_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", fn)));
	return ctx;
}

void
wagg_add(MemoryContext ctx, WRowsAgg *st, const double *values)
{
	int			width = st->width;
	double	   *row;

	wagg_reserve(ctx, st, 1);
	row = st->v + st->n * width;
	for (int i = 0; i < width; i++)
	{
		row[i] = values[i] + 0.0;	/* -0 and 0 are one key */
		if (!isfinite(row[i]))
			invalid_rows("weighted row changes", "Values must be finite.", st->n);
	}
	st->n++;
	st->normal = false;
}

Datum
weighted_rows_agg_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = wagg_context(fcinfo, "weighted_rows_agg_transfn");
	WRowsAgg   *st = PG_ARGISNULL(0) ? NULL : (WRowsAgg *) PG_GETARG_POINTER(0);
	int			width = PG_NARGS() - 1;
	double		row[WROWS_MAX_WIDTH];

	for (int i = 1; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_POINTER(st);
	if (st == NULL)
		st = wagg_new(ctx, width);
	for (int i = 0; i < width; i++)
		row[i] = PG_GETARG_FLOAT8(i + 1);
	wagg_add(ctx, st, row);
	PG_RETURN_POINTER(st);
}

/*
 * Two states whose keys ascend, merged into a (one pass, equal keys
 * combined): the partial states of parallel workers come sorted, so the
 * leader merges them instead of sorting every row again.
 */
static WRowsAgg *
wagg_merge(MemoryContext ctx, WRowsAgg *a, const WRowsAgg *b)
{
	int			width = a->width;
	int64		i = 0,
				j = 0,
				n = 0;
	int64		cap = a->n + b->n;
	double	   *v = MemoryContextAllocExtended(ctx, cap * width * sizeof(double), MCXT_ALLOC_HUGE);

	while (i < a->n || j < b->n)
	{
		const double *x = i < a->n ? a->v + i * width : NULL;
		const double *y = j < b->n ? b->v + j * width : NULL;
		int			c = x == NULL ? 1 : y == NULL ? -1 : wrow_cmp(x, y, &width);

		PERSONA_CHECK_INTERRUPTS_EVERY(n, 16);
		memcpy(v + n * width, c <= 0 ? x : y, width * sizeof(double));
		if (c == 0)
			v[n * width + width - 1] += y[width - 1];
		i += c <= 0;
		j += c >= 0;
		n++;
	}
	pfree(a->v);
	a->v = v;
	a->n = n;
	a->cap = cap;
	return a;
}

Datum
weighted_rows_agg_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = wagg_context(fcinfo, "weighted_rows_agg_combinefn");
	WRowsAgg   *a = PG_ARGISNULL(0) ? NULL : (WRowsAgg *) PG_GETARG_POINTER(0);
	WRowsAgg   *b = PG_ARGISNULL(1) ? NULL : (WRowsAgg *) PG_GETARG_POINTER(1);

	if (b == NULL || b->n == 0)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = wagg_new(ctx, b->width);
	if (a->width != b->width)
		invalid_rows("weighted row changes", psprintf("Rows have %d columns; expected %d.", b->width, a->width), -1);
	if (a->n > 0 && a->normal && b->normal)
		PG_RETURN_POINTER(wagg_merge(ctx, a, b));
	wagg_reserve(ctx, a, b->n);
	memcpy(a->v + a->n * a->width, b->v, b->n * b->width * sizeof(double));
	a->normal = a->n == 0 && b->normal;
	a->n += b->n;
	PG_RETURN_POINTER(a);
}

/*
 * The state as bytea: the row width (int32), then the values, the rows in
 * key order with equal keys combined (sorted here, on the copy: a parallel
 * worker sorts its share, the leader merges).
 */
Datum
weighted_rows_agg_serialfn(PG_FUNCTION_ARGS)
{
	WRowsAgg   *st = (WRowsAgg *) PG_GETARG_POINTER(0);
	Size		bytes = sizeof(int32) + st->n * st->width * sizeof(double);
	bytea	   *out = palloc_extended(VARHDRSZ + bytes, MCXT_ALLOC_HUGE);
	int32		width = st->width;
	int64		n = st->n;

	memcpy(VARDATA(out), &width, sizeof(int32));
	if (n > 0)
	{
		/* (the values start 8 bytes into the bytea: aligned as doubles) */
		double	   *v = (double *) (VARDATA(out) + sizeof(int32));

		memcpy(v, st->v, n * width * sizeof(double));
		if (!st->normal)
			n = wrows_normalise(v, n, width);
	}
	SET_VARSIZE(out, VARHDRSZ + sizeof(int32) + n * width * sizeof(double));
	PG_RETURN_BYTEA_P(out);
}

Datum
weighted_rows_agg_deserialfn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = wagg_context(fcinfo, "weighted_rows_agg_deserialfn");
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	Size		len = VARSIZE_ANY_EXHDR(in);
	int32		width;
	WRowsAgg   *st;
	int64		values;

	if (len < sizeof(int32))
		invalid_rows("weighted_rows_agg state", "The state is too short.", -1);
	memcpy(&width, VARDATA_ANY(in), sizeof(int32));
	if (width < 2 || width > WROWS_MAX_WIDTH || (len - sizeof(int32)) % (width * sizeof(double)) != 0)
		invalid_rows("weighted_rows_agg state", "The state's length does not match its row width.", -1);
	values = (len - sizeof(int32)) / sizeof(double);
	st = wagg_new(ctx, width);
	wagg_reserve(ctx, st, values / width);
	memcpy(st->v, VARDATA_ANY(in) + sizeof(int32), values * sizeof(double));
	for (int64 i = 0; i < values; i++)
		if (!isfinite(st->v[i]))
			invalid_rows("weighted_rows_agg state", "Values must be finite.", i / width);
	st->n = values / width;
	st->normal = wrows_ascending(st->v, st->n, width);
	PG_RETURN_POINTER(st);
}

ArrayType *
wagg_result(const WRowsAgg *st)
{
	int			width;
	int64		n, out = 0;
	ArrayType  *a;
	double	   *v;

	if (st == NULL || st->n == 0)
		return NULL;
	width = st->width;
	/*
	 * Sorted on a copy (the state stays as it is, as a window aggregate may
	 * read it again): in the result itself when the rows as they came would
	 * fit an array, else in a buffer of their own (equal keys combined,
	 * fewer may remain than an array holds).
	 */
	if (st->n <= MaxArraySize / width)
	{
		a = wrows_array_alloc(st->n, width);
		v = (double *) ARR_DATA_PTR(a);
	}
	else
	{
		a = NULL;
		v = palloc_extended(st->n * width * sizeof(double), MCXT_ALLOC_HUGE);
	}
	memcpy(v, st->v, st->n * width * sizeof(double));
	n = wrows_normalise(v, st->n, width);
	for (int64 i = 0; i < n; i++)
	{
		double	   *w = v + i * width + width - 1;

		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		if (*w == 0)
			continue;
		if (out != i)
			memmove(v + out * width, v + i * width, width * sizeof(double));
		out++;
	}
	if (out == 0)
	{
		pfree(a ? (void *) a : (void *) v);
		return NULL;
	}
	if (a == NULL)
	{
		a = wrows_array_alloc(out, width);
		memcpy(ARR_DATA_PTR(a), v, out * width * sizeof(double));
		pfree(v);
		return a;
	}
	wrows_array_cut(a, out, width);
	return a;
}

Datum
weighted_rows_agg_finalfn(PG_FUNCTION_ARGS)
{
	ArrayType  *a = wagg_result(PG_ARGISNULL(0) ? NULL : (WRowsAgg *) PG_GETARG_POINTER(0));

	if (a == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(a);
}
