/*
 * expstate.c — expanded-object wrappers of C aggregate states (see
 * expstate.h).
 */
#include "expstate.h"

#include "persona.h"
#include "utils/memutils.h"

static Size expstate_get_flat_size(ExpandedObjectHeader *eohptr);
static void expstate_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods expstate_methods = {
	expstate_get_flat_size,
	expstate_flatten_into
};

ExpState *
expstate_create(MemoryContext parent, const ExpStateMethods *m)
{
	MemoryContext ctx = AllocSetContextCreate(parent, "persona expanded state", ALLOCSET_DEFAULT_SIZES);
	ExpState   *es = MemoryContextAllocZero(ctx, sizeof(ExpState));

	EOH_init_header(&es->hdr, &expstate_methods, ctx);
	es->methods = m;
	return es;
}

/*
 * The executor asks for the size and then, with nothing in between that
 * changes the state, for the bytes: build the flat form once, here.
 */
static Size
expstate_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ExpState   *es = (ExpState *) eohptr;
	MemoryContext old;

	if (es->flat != NULL)
		pfree(es->flat);
	old = MemoryContextSwitchTo(es->hdr.eoh_context);
	es->flat = expstate_flatten(es->state, es->methods);
	MemoryContextSwitchTo(old);
	return VARSIZE(es->flat);
}

static void
expstate_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpState   *es = (ExpState *) eohptr;

	Assert(es->flat != NULL && allocated_size == VARSIZE(es->flat));
	memcpy(result, es->flat, allocated_size);
	pfree(es->flat);
	es->flat = NULL;
}

/* A new expanded state in aggctx read from a flat form's data. */
static ExpState *
expstate_from_flat(const char *data, Size len, MemoryContext aggctx, const ExpStateMethods *m)
{
	ExpState   *es = expstate_create(aggctx, m);

	es->state = m->read(data, len, es->hdr.eoh_context);
	return es;
}

ExpState *
expstate_for_update(Datum d, MemoryContext aggctx, const ExpStateMethods *m)
{
	ExpState   *es;
	struct varlena *flat;

	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
	{
		es = (ExpState *) DatumGetEOHP(d);
		Assert(es->methods == m);
		return es;
	}
	/* flat, toasted or someone else's read-only copy: detoasting flattens */
	flat = PG_DETOAST_DATUM(d);
	es = expstate_from_flat(VARDATA(flat), VARSIZE(flat) - VARHDRSZ, aggctx, m);
	if ((Pointer) flat != DatumGetPointer(d))
		pfree(flat);
	return es;
}

void *
expstate_read(Datum d, const ExpStateMethods *m)
{
	struct varlena *flat;

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		ExpState   *es = (ExpState *) DatumGetEOHP(d);

		Assert(es->methods == m);
		return es->state;
	}
	flat = PG_DETOAST_DATUM(d);
	return m->read(VARDATA(flat), VARSIZE(flat) - VARHDRSZ, CurrentMemoryContext);
}

Datum
expstate_combine(FunctionCallInfo fcinfo, const ExpStateMethods *m,
				 void (*merge) (void *into, const void *from))
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	ExpState   *a;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_DATUM(expstate_datum(expstate_for_update(PG_GETARG_DATUM(PG_ARGISNULL(0) ? 1 : 0), aggctx, m)));
	a = expstate_for_update(PG_GETARG_DATUM(0), aggctx, m);
	merge(a->state, expstate_read(PG_GETARG_DATUM(1), m));
	PG_RETURN_DATUM(expstate_datum(a));
}

Datum
expstate_serial(FunctionCallInfo fcinfo, const ExpStateMethods *m)
{
	PG_RETURN_BYTEA_P(expstate_flatten(expstate_read(PG_GETARG_DATUM(0), m), m));
}

Datum
expstate_deserial(FunctionCallInfo fcinfo, const ExpStateMethods *m)
{
	MemoryContext aggctx = persona_agg_context(fcinfo);
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_DATUM(expstate_datum(expstate_from_flat(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), aggctx, m)));
}

struct varlena *
expstate_flatten(void *state, const ExpStateMethods *m)
{
	StringInfoData buf;

	/* a StringInfo stops at 1 GB (54000), the limit of a value too */
	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	m->write(state, &buf);
	SET_VARSIZE(buf.data, buf.len);
	return (struct varlena *) buf.data;
}
