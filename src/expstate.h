/*
 * expstate.h — aggregate states of a real SQL type kept as expanded
 * objects.
 *
 * Citus combines partial aggregates across nodes only when the state type
 * is a real type whose text form re-reads exactly: `internal` states make
 * it gather every row to the coordinator.  persona's fit and affinity
 * states are such types (persona.fit_state, persona.affinity_state), but
 * inside one aggregate they stay C structures (hash tables, count
 * matrices): an ExpState wraps the structure as an expanded object, which
 * the executor keeps in place between transitions and flattens only when
 * the state leaves the aggregate (parallel workers, Citus, casts).
 */
#ifndef PERSONA_EXPSTATE_H
#define PERSONA_EXPSTATE_H

#include "postgres.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/expandeddatum.h"

typedef struct ExpStateMethods
{
	/* Append the state's flat form (without the varlena header) to buf. */
	void		(*write) (void *state, StringInfo buf);
	/* Read a flat form into a new state in ctx, validated. */
	void	   *(*read) (const char *data, Size len, MemoryContext ctx);
} ExpStateMethods;

typedef struct ExpState
{
	ExpandedObjectHeader hdr;
	const ExpStateMethods *methods;
	void	   *state;			/* allocated in hdr.eoh_context */
	struct varlena *flat;		/* the flat form built by get_flat_size, for flatten_into */
} ExpState;

/* A new expanded state under parent; allocate the C state in es->hdr.eoh_context. */
extern ExpState *expstate_create(MemoryContext parent, const ExpStateMethods *m);
/* The read-write datum to return from a transition or combine function. */
#define expstate_datum(es) EOHPGetRWDatum(&(es)->hdr)

/*
 * The state a transition or combine function updates: d itself when it is
 * this aggregate's read-write expanded state, else a new expanded copy in
 * aggctx (a flat state from a parallel worker, Citus or a cast).
 */
extern ExpState *expstate_for_update(Datum d, MemoryContext aggctx, const ExpStateMethods *m);
/* The C state of d for reading: in place when expanded, else read into CurrentMemoryContext. */
extern void *expstate_read(Datum d, const ExpStateMethods *m);
/*
 * A combine function over states of m: NULL and NULL is NULL, NULL and b a
 * copy of b, otherwise merge(a's C state, b's C state) updates a in place.
 */
extern Datum expstate_combine(FunctionCallInfo fcinfo, const ExpStateMethods *m,
							  void (*merge) (void *into, const void *from));
/*
 * The serial and deserial functions of aggregates that declare this state
 * internal (persona 0.5.0 and earlier, until ALTER EXTENSION UPDATE): the
 * flat form as bytea, and back.
 */
extern Datum expstate_serial(FunctionCallInfo fcinfo, const ExpStateMethods *m);
extern Datum expstate_deserial(FunctionCallInfo fcinfo, const ExpStateMethods *m);
/* The flat varlena of a C state (input and receive functions). */
extern struct varlena *expstate_flatten(void *state, const ExpStateMethods *m);

#endif							/* PERSONA_EXPSTATE_H */
