/*
 * f8state.c — float8[] aggregate states (see f8state.h).
 */
#include "persona.h"
#include "f8state.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/expandeddatum.h"

/* A writable expanded copy of the state in aggctx (or the state itself if it is one). */
static Datum
writable(Datum state, MemoryContext aggctx)
{
	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(state)))
		return state;
	return expand_array(state, aggctx, NULL);
}

/* Number of elements of a writable state. */
static int
length_of(Datum state)
{
	ExpandedArrayHeader *eah = (ExpandedArrayHeader *) DatumGetEOHP(state);

	return eah->ndims == 0 ? 0 : eah->dims[0];
}

/* Append values to a writable state. */
static Datum
append(Datum state, const double *values, int n)
{
	int			idx = length_of(state);

	for (int i = 0; i < n; i++)
	{
		/* combining appends whole partial states: millions of values */
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 16);
		idx++;
		state = array_set_element(state, 1, &idx, Float8GetDatum(values[i]), false,
								  -1, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	}
	return state;
}

/*
 * Append n values; a NULL state starts as the header values.  Returns the
 * (expanded, read-write) state to hand back to the executor.
 */
Datum
f8state_append(Datum state, bool state_null, MemoryContext aggctx,
			   const double *header, int nheader, const double *values, int n)
{
	if (state_null)
	{
		MemoryContext old = MemoryContextSwitchTo(aggctx);

		state = expand_array(PointerGetDatum(construct_empty_array(FLOAT8OID)), aggctx, NULL);
		MemoryContextSwitchTo(old);
		state = append(state, header, nheader);
	}
	else
		state = writable(state, aggctx);
	return append(state, values, n);
}

/*
 * Validated contents of a state (flattened if needed): a one-dimensional
 * float8[] without NULLs holding at least the header, every data value
 * finite (the transition functions accept nothing else), except that with
 * nan_col >= 0 the data are rows of stride values whose column nan_col may
 * be NaN (a missing value).  *n counts the data.
 */
const double *
f8state_read_missing(Datum state, int nheader, int stride, int nan_col, int64 *n, const char *what)
{
	ArrayType  *a = DatumGetArrayTypeP(state);
	const double *v;
	int			len;

	if (ARR_ELEMTYPE(a) != FLOAT8OID || ARR_NDIM(a) > 1 || ARR_HASNULL(a) ||
		(len = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a))) < nheader)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s state", what),
				 errdetail("Expected a float8[] of at least %d elements without NULLs.", nheader),
				 errhint("Pass the state of the %s aggregate.", what)));
	v = (const double *) ARR_DATA_PTR(a);
	for (int i = nheader; i < len; i++)
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(i, 16);
		if (!isfinite(v[i]) && !(isnan(v[i]) && nan_col >= 0 && (i - nheader) % stride == nan_col))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s state", what),
					 errdetail("Element %d is not a finite number.", i + 1),
					 errhint("Pass the state of the %s aggregate.", what)));
	}
	*n = len - nheader;
	return v;
}

/* The same, every data value finite. */
const double *
f8state_read(Datum state, int nheader, int64 *n, const char *what)
{
	return f8state_read_missing(state, nheader, 1, -1, n, what);
}

/* Error: a state that no transition function made (e.g. a user aggregate's INITCOND). */
static void pg_attribute_noreturn()
bad_state(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s state", what),
			 errdetail("Expected a one-dimensional float8[] of the aggregate's parameters, then its data, without NULLs."),
			 errhint("Pass the state of the %s aggregate.", what)));
}

/*
 * Header value i of a state (expanded or flat), checked: a user aggregate
 * can hand a transition function any float8[] as its initial state.
 */
double
f8state_header(Datum state, int i, const char *what)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(state)))
	{
		ExpandedArrayHeader *eah = (ExpandedArrayHeader *) DatumGetEOHP(state);

		if (eah->element_type != FLOAT8OID || eah->ndims != 1 || eah->dims[0] <= i)
			bad_state(what);
		deconstruct_expanded_array(eah);
		if (eah->dnulls && eah->dnulls[i])
			bad_state(what);
		return DatumGetFloat8(eah->dvalues[i]);
	}
	else
	{
		ArrayType  *a = DatumGetArrayTypeP(state);

		if (ARR_ELEMTYPE(a) != FLOAT8OID || ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_DIMS(a)[0] <= i)
			bad_state(what);
		return ((const double *) ARR_DATA_PTR(a))[i];
	}
}

/* Append b's data to a; both must have the same header (stride, nan_col: f8state_read_missing). */
Datum
f8state_combine(Datum a, bool a_null, Datum b, MemoryContext aggctx, int nheader, int stride,
				int nan_col, const char *what)
{
	int64		nb;
	const double *vb = f8state_read_missing(b, nheader, stride, nan_col, &nb, what);

	if (a_null)
		return f8state_append((Datum) 0, true, aggctx, vb, nheader, vb + nheader, (int) nb);
	a = writable(a, aggctx);
	for (int i = 0; i < nheader; i++)
		if (f8state_header(a, i, what) != vb[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("partial %s states with different parameters", what)));
	return append(a, vb + nheader, (int) nb);
}
