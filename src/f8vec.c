/*
 * f8vec.c — growable float8 arrays for aggregate states (see f8vec.h).
 */
#include "f8vec.h"

#include "libpq/pqformat.h"
#include "utils/memutils.h"

/* Make room for need values, doubling (huge allocations allowed). */
static void
f8vec_reserve(F8Vec *a, int64 need, MemoryContext ctx)
{
	int64		cap = Max(a->cap * 2, 1024);

	if (need <= a->cap)
		return;
	while (cap < need)
		cap *= 2;
	a->v = a->cap == 0 ? MemoryContextAllocHuge(ctx, cap * sizeof(double))
		: repalloc_huge(a->v, cap * sizeof(double));
	a->cap = cap;
}

/* Append one value. */
void
f8vec_push(F8Vec *a, double x, MemoryContext ctx)
{
	if (a->n == a->cap)
		f8vec_reserve(a, a->n + 1, ctx);
	a->v[a->n++] = x;
}

/* Append all of b to a (combine functions). */
void
f8vec_append(F8Vec *a, const F8Vec *b, MemoryContext ctx)
{
	f8vec_reserve(a, a->n + b->n, ctx);
	memcpy(a->v + a->n, b->v, b->n * sizeof(double));
	a->n += b->n;
}

/*
 * Serialise: count, then the raw values (partial states only travel
 * between processes of one server, so the byte order is the same).
 */
void
f8vec_send(StringInfo buf, const F8Vec *a)
{
	if ((Size) buf->len + a->n * sizeof(double) > MaxAllocSize - 64)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many values to pass between parallel workers"),
				 errhint("SET max_parallel_workers_per_gather = 0 for this query.")));
	pq_sendint64(buf, a->n);
	pq_sendbytes(buf, (const char *) a->v, a->n * sizeof(double));
}

/* Read values written by f8vec_send into an empty array. */
void
f8vec_recv(StringInfo buf, F8Vec *a, MemoryContext ctx)
{
	int64		n = pq_getmsgint64(buf);

	if (n < 0 || n > (buf->len - buf->cursor) / (int64) sizeof(double))
		elog(ERROR, "invalid serialised persona state");
	f8vec_reserve(a, n, ctx);
	memcpy(a->v, pq_getmsgbytes(buf, n * sizeof(double)), n * sizeof(double));
	a->n = n;
}

/* A palloc'd copy of the values (sorting it leaves the state intact). */
double *
f8vec_copy(const F8Vec *a)
{
	double	   *c = palloc_extended(Max(a->n, 1) * sizeof(double), MCXT_ALLOC_HUGE);

	memcpy(c, a->v, a->n * sizeof(double));
	return c;
}
