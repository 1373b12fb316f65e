/*
 * parallel.h — persona's own parallel workers for the one-scan functions
 * (customer_profile, customer_states).
 *
 * Each participant (the leader and every worker) reads the whole relation
 * and keeps the customers of its hash share (cust_scan_read), so no
 * customer is split between processes and no partial state has to be
 * merged.  Workers send their result rows to the leader through a tuple
 * queue; a job that needs something global (the RFM cut points over every
 * customer) exchanges it through messages to the leader and a value the
 * leader publishes back.
 */
#ifndef PERSONA_PARALLEL_H
#define PERSONA_PARALLEL_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "relation.h"
#include "storage/dsm.h"
#include "storage/shm_toc.h"
#include "utils/tuplestore.h"

typedef enum PersonaJobKind
{
	PERSONA_JOB_PROFILE,
	PERSONA_JOB_STATES
} PersonaJobKind;

typedef struct PersonaParallel PersonaParallel;

/* Leader */
extern int	persona_parallel_workers(const PersonaRelation *rel);
extern PersonaParallel *persona_parallel_begin(PersonaJobKind kind, const void *job, Size len,
											   int nworkers, TupleDesc result, const char *caller);
extern int	persona_parallel_shares(const PersonaParallel *par);
extern int	persona_parallel_launched(const PersonaParallel *par);
extern void *persona_parallel_receive(PersonaParallel *par, int worker, Size *len);
extern void persona_parallel_publish(PersonaParallel *par, const void *data, Size len);
extern bool persona_parallel_drain(PersonaParallel *par, Tuplestorestate *into, bool wait);
extern void persona_parallel_end(PersonaParallel *par);

/* Worker */
extern int	persona_parallel_share(const PersonaParallel *par);
extern TupleDesc persona_parallel_result(const PersonaParallel *par);
extern void persona_parallel_send(PersonaParallel *par, const void *data, Size len);
extern const void *persona_parallel_published(PersonaParallel *par, Size *len);
extern void persona_parallel_put(PersonaParallel *par, const Datum *values, const bool *nulls);

/*
 * Where a participant's result rows go: the result (the leader, which
 * meanwhile moves the rows the workers have queued into it; par NULL when
 * serial) or, with result NULL, the leader (a worker).
 */
typedef struct PersonaRowSink
{
	Tuplestorestate *result;
	TupleDesc	desc;
	PersonaParallel *par;
	uint64		rows;
} PersonaRowSink;

extern void persona_sink_put(PersonaRowSink *sink, Datum *values, bool *nulls);

/* The jobs' worker sides (profile.c, customer_states.c) */
extern void profile_parallel_worker(PersonaParallel *par, const void *job, Size len);
extern void states_parallel_worker(PersonaParallel *par, const void *job, Size len);

PGDLLEXPORT void persona_parallel_main(dsm_segment *seg, shm_toc *toc);

#endif							/* PERSONA_PARALLEL_H */
