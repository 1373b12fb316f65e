/*
 * parallel.c — persona's own parallel workers for customer_profile and
 * customer_states (see parallel.h).
 *
 * Why not a parallel plan: the scan's rows go into one hash table of
 * customers, which PostgreSQL's parallel aggregation would split between
 * processes and merge again.  Here every participant reads every row (a
 * sequential scan from shared buffers costs a fraction of what the table
 * work does) and keeps only the customers of its hash share, so each
 * customer is built, finished and emitted by one process, and the shares
 * need no merge.  The number of workers follows PostgreSQL's rule for a
 * parallel sequential scan of the relation (max_parallel_workers_per_gather,
 * min_parallel_table_scan_size, the parallel_workers storage parameter).
 *
 * Dynamic shared memory holds the job (plain bytes the job's worker side
 * reads), the types of the result's columns, a value the leader publishes
 * (the cut points) and a message queue per worker: first the messages a
 * job sends to the leader, then its result tuples.
 */
#include "persona.h"

#include <unistd.h>

#include "parallel.h"

#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "postmaster/bgworker.h"
#include "executor/tqueue.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "optimizer/cost.h"
#include "optimizer/paths.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "storage/bufmgr.h"
#include "storage/spin.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"

#define KEY_SHARED		UINT64CONST(0xB0E5A00000000001)
#define KEY_JOB			UINT64CONST(0xB0E5A00000000002)
#define KEY_RESULT		UINT64CONST(0xB0E5A00000000003)
#define KEY_QUEUES		UINT64CONST(0xB0E5A00000000004)

/* Each worker's queue: a worker waits less for the leader than with a Gather's 64 kB. */
#define QUEUE_SIZE		(1024 * 1024)

/* What the leader publishes (3 x 9 cut points) fits easily. */
#define PUBLISH_MAX		1024

/*
 * Messages to the leader are sent in pieces of at most this many bytes: a
 * piece that wraps around the queue is copied into a buffer of its size
 * that the leader keeps until the end.
 */
#define MESSAGE_MAX		(QUEUE_SIZE / 4)

typedef struct SharedState
{
	slock_t		mutex;
	ConditionVariable cv;		/* shares set, or published */
	int			shares;			/* 0 until the leader knows how many workers started */
	int			done;			/* workers that finished their share */
	int			published;		/* 1 once the leader published its value */
	Size		published_len;
	char		published_data[PUBLISH_MAX];
	PersonaJobKind kind;
	Size		job_len;
} SharedState;

/* The result's column types: natts, then (type, typmod) pairs. */
typedef struct ResultTypes
{
	int			natts;
	struct
	{
		Oid			type;
		int32		typmod;
	}			atts[FLEXIBLE_ARRAY_MEMBER];
} ResultTypes;

struct PersonaParallel
{
	SharedState *shared;
	/* leader */
	ParallelContext *pcxt;
	int			launched;
	shm_mq_handle **queues;
	TupleQueueReader **readers;
	bool	   *finished;
	TupleTableSlot *slot;
	/* worker */
	shm_mq_handle *queue;
	DestReceiver *dest;
	TupleTableSlot *out;
};

/*
 * Workers for reading rel in parallel, 0 when it has to be read by one
 * process: in a parallel worker or a parallel query already; a view,
 * foreign or partitioned table or one with inheritance children (their
 * scans may not be parallel safe);
 * temporary tables (workers cannot read them); row security in force (its
 * policies may call anything).  Otherwise the table's parallel_workers
 * storage parameter when set, else PostgreSQL's rule for a parallel
 * sequential scan of it, and at most one participant per CPU: every
 * participant reads all rows, so one more than the CPUs only adds a scan.
 */
int
persona_parallel_workers(const PersonaRelation *rel)
{
	Relation	r;
	RelOptInfo *info;
	int			n;
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!IsUnderPostmaster || IsParallelWorker() || IsInParallelMode() ||
		max_parallel_workers_per_gather <= 0 || max_parallel_workers <= 0)
		return 0;
	if (rel->relkind != RELKIND_RELATION && rel->relkind != RELKIND_MATVIEW)
		return 0;
	/* (inheritance children are read too: they may be temporary or foreign) */
	if (get_rel_persistence(rel->relid) == RELPERSISTENCE_TEMP || has_subclass(rel->relid) ||
		check_enable_rls(rel->relid, InvalidOid, true) == RLS_ENABLED)
		return 0;
	r = table_open(rel->relid, AccessShareLock);
	info = makeNode(RelOptInfo);
	info->reloptkind = RELOPT_BASEREL;
	info->rel_parallel_workers = RelationGetParallelWorkers(r, -1);
	n = compute_parallel_worker(info, (double) RelationGetNumberOfBlocks(r), -1,
								max_parallel_workers_per_gather);
	if (info->rel_parallel_workers < 0 && cpus > 0)
		n = Min(n, (int) Max(cpus - 1, 0));
	table_close(r, AccessShareLock);
	pfree(info);
	return n;
}

/*
 * Start nworkers on a job of kind (len bytes, copied) whose rows have the
 * columns of result, for caller (a function name, for a DEBUG1 message): NULL when none could start (the caller then does it
 * all itself).  The leader's share is 0; worker i's is i + 1.  What the
 * leader keeps is in the current memory context, which must last until
 * persona_parallel_end (the queues' buffers are allocated there too).
 */
PersonaParallel *
persona_parallel_begin(PersonaJobKind kind, const void *job, Size len, int nworkers, TupleDesc result,
					   const char *caller)
{
	PersonaParallel *par;
	ParallelContext *pcxt;
	SharedState *shared;
	ResultTypes *types;
	Size		types_len = offsetof(ResultTypes, atts) + sizeof(types->atts[0]) * result->natts;
	char	   *job_copy;
	char	   *queues;

	EnterParallelMode();
	pcxt = CreateParallelContext("persona", "persona_parallel_main", nworkers);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(SharedState));
	shm_toc_estimate_chunk(&pcxt->estimator, len);
	shm_toc_estimate_chunk(&pcxt->estimator, types_len);
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(QUEUE_SIZE, nworkers));
	shm_toc_estimate_keys(&pcxt->estimator, 4);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL || pcxt->nworkers == 0)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}

	shared = shm_toc_allocate(pcxt->toc, sizeof(SharedState));
	memset(shared, 0, sizeof(SharedState));
	SpinLockInit(&shared->mutex);
	ConditionVariableInit(&shared->cv);
	shared->kind = kind;
	shared->job_len = len;
	shm_toc_insert(pcxt->toc, KEY_SHARED, shared);
	job_copy = shm_toc_allocate(pcxt->toc, len);
	memcpy(job_copy, job, len);
	shm_toc_insert(pcxt->toc, KEY_JOB, job_copy);
	types = shm_toc_allocate(pcxt->toc, types_len);
	types->natts = result->natts;
	for (int i = 0; i < result->natts; i++)
	{
		types->atts[i].type = TupleDescAttr(result, i)->atttypid;
		types->atts[i].typmod = TupleDescAttr(result, i)->atttypmod;
	}
	shm_toc_insert(pcxt->toc, KEY_RESULT, types);
	queues = shm_toc_allocate(pcxt->toc, mul_size(QUEUE_SIZE, pcxt->nworkers));
	for (int i = 0; i < pcxt->nworkers; i++)
		shm_mq_set_receiver(shm_mq_create(queues + (Size) i * QUEUE_SIZE, QUEUE_SIZE), MyProc);
	shm_toc_insert(pcxt->toc, KEY_QUEUES, queues);

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}
	par = palloc0(sizeof(PersonaParallel));
	par->shared = shared;
	par->pcxt = pcxt;
	par->launched = pcxt->nworkers_launched;
	par->queues = palloc0(sizeof(shm_mq_handle *) * par->launched);
	par->readers = palloc0(sizeof(TupleQueueReader *) * par->launched);
	par->finished = palloc0(sizeof(bool) * par->launched);
	par->slot = MakeSingleTupleTableSlot(result, &TTSOpsMinimalTuple);
	/* (workers number 0 .. launched - 1: registration stops at the first that fails) */
	for (int i = 0; i < par->launched; i++)
	{
		par->queues[i] = shm_mq_attach((shm_mq *) (queues + (Size) i * QUEUE_SIZE), pcxt->seg,
									   pcxt->worker[i].bgwhandle);
		/* (read first by persona_parallel_receive, then as tuples: the reader only wraps the queue) */
		par->readers[i] = CreateTupleQueueReader(par->queues[i]);
	}
	SpinLockAcquire(&shared->mutex);
	shared->shares = par->launched + 1;
	SpinLockRelease(&shared->mutex);
	ConditionVariableBroadcast(&shared->cv);
	ereport(DEBUG1,
			(errmsg_internal("%s reads with %d parallel workers of %d planned", caller, par->launched, nworkers)));
	return par;
}

/* Participants: the leader and the workers that started (in the leader and in a worker). */
int
persona_parallel_shares(const PersonaParallel *par)
{
	return par->shared->shares;
}

/* Workers that started. */
int
persona_parallel_launched(const PersonaParallel *par)
{
	return par->launched;
}

/*
 * A worker's queue ended before it should have: rethrow the worker's error
 * (waiting for the workers processes their messages); if there was none,
 * this one.
 */
static void
worker_vanished(PersonaParallel *par, int worker)
{
	/*
	 * Only this worker: waiting for all of them would wait for siblings
	 * that wait for the leader.  Its error, if any, was signalled before it
	 * exited and is rethrown here.
	 */
	WaitForBackgroundWorkerShutdown(par->pcxt->worker[worker].bgwhandle);
	CHECK_FOR_INTERRUPTS();
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("persona parallel worker %d ended before sending its result", worker)));
}

/* The next message of worker (0 .. launched - 1), in the caller's memory; waits for it. */
void *
persona_parallel_receive(PersonaParallel *par, int worker, Size *len)
{
	Size		total;
	Size		got = 0;
	char	   *buf;

	Assert(worker >= 0 && worker < par->launched);
	/* a header with the length, then pieces of at most MESSAGE_MAX bytes */
	for (int piece = -1; piece < 0 || got < total; piece++)
	{
		Size		n;
		void	   *data;

		if (shm_mq_receive(par->queues[worker], &n, &data, false) != SHM_MQ_SUCCESS)
			worker_vanished(par, worker);
		if (piece < 0)
		{
			if (n != sizeof(Size))
				elog(ERROR, "persona parallel worker %d sent a malformed message", worker);
			memcpy(&total, data, sizeof(Size));
			buf = palloc_extended(Max(total, 1), MCXT_ALLOC_HUGE);
			continue;
		}
		if (n > total - got)
			elog(ERROR, "persona parallel worker %d sent a malformed message", worker);
		memcpy(buf + got, data, n);
		got += n;
	}
	*len = total;
	return buf;
}

/* Give every worker the same value (at most PUBLISH_MAX bytes); once. */
void
persona_parallel_publish(PersonaParallel *par, const void *data, Size len)
{
	SharedState *shared = par->shared;

	if (len > PUBLISH_MAX)
		elog(ERROR, "persona parallel value of %zu bytes is too large", len);
	SpinLockAcquire(&shared->mutex);
	Assert(!shared->published);
	memcpy(shared->published_data, data, len);
	shared->published_len = len;
	shared->published = 1;
	SpinLockRelease(&shared->mutex);
	ConditionVariableBroadcast(&shared->cv);
}

/*
 * Move the workers' result rows into the tuplestore: those already queued,
 * or (wait) every row until each worker is done.  Returns whether every
 * worker is done.
 */
bool
persona_parallel_drain(PersonaParallel *par, Tuplestorestate *into, bool wait)
{
	bool		all = true;

	for (int i = 0; i < par->launched; i++)
	{
		if (par->finished[i])
			continue;
		for (;;)
		{
			bool		done;
			MinimalTuple tup = TupleQueueReaderNext(par->readers[i], !wait, &done);

			if (done)
			{
				par->finished[i] = true;
				break;
			}
			if (tup == NULL)
			{
				all = false;
				break;
			}
			ExecStoreMinimalTuple(tup, par->slot, false);
			tuplestore_puttupleslot(into, par->slot);
		}
	}
	return all;
}

/*
 * Wait for the workers (rethrowing any error of theirs), check each did
 * its share, and leave parallel mode.
 */
void
persona_parallel_end(PersonaParallel *par)
{
	int			done;

	WaitForParallelWorkersToFinish(par->pcxt);
	SpinLockAcquire(&par->shared->mutex);
	done = par->shared->done;
	SpinLockRelease(&par->shared->mutex);
	if (done != par->launched)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%d of %d persona parallel workers finished their share", done, par->launched)));
	for (int i = 0; i < par->launched; i++)
		DestroyTupleQueueReader(par->readers[i]);
	ExecDropSingleTupleTableSlot(par->slot);
	DestroyParallelContext(par->pcxt);
	ExitParallelMode();
}

/* A worker's share: 1 .. launched. */
int
persona_parallel_share(const PersonaParallel *par)
{
	return ParallelWorkerNumber + 1;
}

/* A worker's result rows' tuple descriptor. */
TupleDesc
persona_parallel_result(const PersonaParallel *par)
{
	return par->out->tts_tupleDescriptor;
}

/* Send a message to the leader (persona_parallel_receive). */
void
persona_parallel_send(PersonaParallel *par, const void *data, Size len)
{
	Size		sent = 0;

	if (shm_mq_send(par->queue, sizeof(Size), &len, false, true) != SHM_MQ_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("persona parallel leader is gone")));
	while (sent < len)
	{
		Size		n = Min(len - sent, MESSAGE_MAX);

		if (shm_mq_send(par->queue, n, (const char *) data + sent, false, true) != SHM_MQ_SUCCESS)
			ereport(ERROR,
					(errcode(ERRCODE_ADMIN_SHUTDOWN),
					 errmsg("persona parallel leader is gone")));
		sent += n;
	}
}

/* Wait until the leader sets a field of the shared state (shares, published) to non-zero. */
static void
wait_for_leader(SharedState *shared, const int *field)
{
	ConditionVariablePrepareToSleep(&shared->cv);
	for (;;)
	{
		int			value;

		SpinLockAcquire(&shared->mutex);
		value = *field;
		SpinLockRelease(&shared->mutex);
		if (value != 0)
			break;
		ConditionVariableSleep(&shared->cv, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

/* Wait until the leader publishes its value; returns it (in shared memory). */
const void *
persona_parallel_published(PersonaParallel *par, Size *len)
{
	wait_for_leader(par->shared, &par->shared->published);
	*len = par->shared->published_len;
	return par->shared->published_data;
}

/* Send a result row to the leader. */
void
persona_parallel_put(PersonaParallel *par, const Datum *values, const bool *nulls)
{
	TupleTableSlot *slot = par->out;
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * natts);
	memcpy(slot->tts_isnull, nulls, sizeof(bool) * natts);
	ExecStoreVirtualTuple(slot);
	if (!par->dest->receiveSlot(slot, par->dest))
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("persona parallel leader is gone")));
}

/* A result row to where the participant's rows go. */
void
persona_sink_put(PersonaRowSink *sink, Datum *values, bool *nulls)
{
	if (sink->result == NULL)
	{
		persona_parallel_put(sink->par, values, nulls);
		return;
	}
	tuplestore_putvalues(sink->result, sink->desc, values, nulls);
	if (sink->par && (++sink->rows & 1023) == 0)
		persona_parallel_drain(sink->par, sink->result, false);
}

/* The result's tuple descriptor, from its column types. */
static TupleDesc
result_desc(const ResultTypes *types)
{
	TupleDesc	desc = CreateTemplateTupleDesc(types->natts);

	for (int i = 0; i < types->natts; i++)
		TupleDescInitEntry(desc, i + 1, NULL, types->atts[i].type, types->atts[i].typmod, 0);
	return desc;
}

/* A worker: wait for the number of shares, do the job's share, send the rows. */
void
persona_parallel_main(dsm_segment *seg, shm_toc *toc)
{
	PersonaParallel par;
	SharedState *shared = shm_toc_lookup(toc, KEY_SHARED, false);
	const char *job = shm_toc_lookup(toc, KEY_JOB, false);
	const ResultTypes *types = shm_toc_lookup(toc, KEY_RESULT, false);
	char	   *queues = shm_toc_lookup(toc, KEY_QUEUES, false);
	shm_mq	   *mq = (shm_mq *) (queues + (Size) ParallelWorkerNumber * QUEUE_SIZE);
	TupleDesc	desc = result_desc(types);

	memset(&par, 0, sizeof(par));
	par.shared = shared;
	shm_mq_set_sender(mq, MyProc);
	par.queue = shm_mq_attach(mq, seg, NULL);
	par.dest = CreateTupleQueueDestReceiver(par.queue);
	par.dest->rStartup(par.dest, CMD_SELECT, desc);
	par.out = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);

	wait_for_leader(shared, &shared->shares);

	switch (shared->kind)
	{
		case PERSONA_JOB_PROFILE:
			profile_parallel_worker(&par, job, shared->job_len);
			break;
		case PERSONA_JOB_STATES:
			states_parallel_worker(&par, job, shared->job_len);
			break;
	}
	SpinLockAcquire(&shared->mutex);
	shared->done++;
	SpinLockRelease(&shared->mutex);
	par.dest->rShutdown(par.dest);	/* (detaches the queue: the leader's reader is done) */
}
