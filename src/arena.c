/*
 * arena.c — cache-aligned aggregate states for GROUP BY with many groups.
 */
#include "persona.h"

#include <sys/mman.h>

#include "utils/memutils.h"
#include "miscadmin.h"

/*
 * Per-group states are carved from 64-byte aligned blocks of the aggregate
 * context: a palloc per group would misalign the hot cache lines and add a
 * chunk header to every customer.  A reset callback
 * forgets the block when the context is reset (hash aggregation spilling).
 */
#define ARENA_BLOCK (64 * 1024)

/* Tables from this size on are asked for huge pages (two 2 MB pages). */
#define HUGE_TABLE_BYTES (4 * 1024 * 1024)
#define THP_PAGE_ALIGN 4096

typedef struct StateArena
{
	MemoryContext ctx;			/* context the current block lives in */
	char	   *next;
	char	   *end;
} StateArena;

typedef struct ArenaReset
{
	MemoryContextCallback cb;
	StateArena *arena;
	MemoryContext ctx;
} ArenaReset;

/* Context reset: drop the arena's block if it was in that context. */
static void
arena_forget(void *arg)
{
	ArenaReset *r = (ArenaReset *) arg;

	if (r->arena->ctx == r->ctx)
		r->arena->ctx = NULL;
}

/*
 * A zeroed, 64-byte aligned aggregate state of the given size in ctx (the
 * aggregate context).  Uses the transition function's fn_extra.
 */
void *
persona_state_alloc(FunctionCallInfo fcinfo, MemoryContext ctx, Size size)
{
	StateArena *a = (StateArena *) fcinfo->flinfo->fn_extra;
	char	   *st;

	size = TYPEALIGN(64, size);
	if (a == NULL)
	{
		a = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(StateArena));
		fcinfo->flinfo->fn_extra = a;
	}
	if (a->ctx != ctx || a->next + size > a->end)
	{
		char	   *block = MemoryContextAlloc(ctx, ARENA_BLOCK + 64);

		if (a->ctx != ctx)
		{
			ArenaReset *r = MemoryContextAlloc(ctx, sizeof(ArenaReset));

			r->arena = a;
			r->ctx = ctx;
			r->cb.func = arena_forget;
			r->cb.arg = r;
			MemoryContextRegisterResetCallback(ctx, &r->cb);
		}
		a->ctx = ctx;
		a->next = (char *) TYPEALIGN(64, block);
		a->end = block + ARENA_BLOCK + 64;
	}
	st = a->next;
	a->next += size;
	memset(st, 0, size);
	return st;
}


/*
 * A zeroed allocation of any size in ctx (hash tables of millions of
 * customers take GiBs), zeroed 32 MiB at a time with an interrupt check
 * before each piece so that a cancel is not held up.
 */
void *
persona_alloc_zero_huge(MemoryContext ctx, Size size)
{
	const Size	piece = 32 * 1024 * 1024;
	char	   *p = MemoryContextAllocExtended(ctx, size, MCXT_ALLOC_HUGE);

#ifdef MADV_HUGEPAGE
	/*
	 * A big table is probed at random: with 4 kB pages nearly every probe
	 * also misses the TLB.  Ask for transparent huge pages before the
	 * pages are first touched (systems in THP "madvise" mode give them only
	 * when asked; "never" ignores it).
	 */
	if (size >= HUGE_TABLE_BYTES)
	{
		uintptr_t	start = TYPEALIGN(THP_PAGE_ALIGN, (uintptr_t) p);
		uintptr_t	end = TYPEALIGN_DOWN(THP_PAGE_ALIGN, (uintptr_t) p + size);

		if (end > start)
			(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
	}
#endif
	for (Size done = 0; done < size; done += piece)
	{
		CHECK_FOR_INTERRUPTS();
		memset(p + done, 0, Min(piece, size - done));
	}
	return p;
}
