/*
 * fit_times.c — the distinct t_x and T of a fit's rows, with each row's
 * position among them (fit_times.h), for the likelihoods that take
 * ln(alpha + t) of them (BG/NBD, MBG/NBD, NBD).
 */
#include "persona.h"

#include "fit_times.h"
#include "miscadmin.h"

/* splitmix64's finaliser: spreads the bits of a time over the table's slots */
static inline uint64
time_hash(double t)
{
	uint64		x;

	memcpy(&x, &t, sizeof(x));
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* sort of (value, first-seen id) pairs by value */
typedef struct TimeSeen
{
	double		value;
	int32		id;
} TimeSeen;

#define ST_SORT sort_time_seen
#define ST_ELEMENT_TYPE TimeSeen
#define ST_COMPARE(a, b) (((a)->value > (b)->value) - ((a)->value < (b)->value))
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The distinct values of column col (1 = k2, 2 = k3) of d's rows, or false
 * when there are too many (more than an eighth of the rows).  One pass
 * with an open-addressing table of the values seen (times are never NaN:
 * the rows were checked), then a sort of the few distinct ones.
 */
static bool
fit_time_column(const FitData *d, int col, FitTimeColumn *c)
{
	int64		limit = Min(d->n / 8, PG_INT32_MAX / 4);
	int64		cap = 1024;
	double	   *keys = palloc(cap * sizeof(double));
	int32	   *ids = palloc(cap * sizeof(int32));	/* -1: empty slot */
	TimeSeen   *seen = palloc(cap / 2 * sizeof(TimeSeen));
	int32	   *rank;
	int			m = 0;

	c->index = palloc_extended(d->n * sizeof(int32), MCXT_ALLOC_HUGE);
	memset(ids, -1, cap * sizeof(int32));
	for (int64 i = 0; i < d->n; i++)
	{
		double		t = col == 1 ? d->rows[i].k2 : d->rows[i].k3;
		uint64		slot;

		if (t == 0)
			t = 0;				/* -0 and 0 are one time */
		for (slot = time_hash(t) & (cap - 1); ids[slot] >= 0 && keys[slot] != t; slot = (slot + 1) & (cap - 1))
			;
		if (ids[slot] < 0)
		{
			if (m >= limit)
			{
				pfree(keys);
				pfree(ids);
				pfree(seen);
				pfree(c->index);
				return false;
			}
			keys[slot] = t;
			ids[slot] = m;
			seen[m].value = t;
			seen[m].id = m;
			m++;
			if (m > cap / 2 - 1)
			{
				/* grow: rehash the distinct values seen so far (their ids stay) */
				cap *= 2;
				keys = repalloc(keys, cap * sizeof(double));
				ids = repalloc(ids, cap * sizeof(int32));
				seen = repalloc(seen, cap / 2 * sizeof(TimeSeen));
				memset(ids, -1, cap * sizeof(int32));
				for (int j = 0; j < m; j++)
				{
					uint64		s2;

					for (s2 = time_hash(seen[j].value) & (cap - 1); ids[s2] >= 0; s2 = (s2 + 1) & (cap - 1))
						;
					keys[s2] = seen[j].value;
					ids[s2] = j;
				}
				for (slot = time_hash(t) & (cap - 1); keys[slot] != t || ids[slot] < 0; slot = (slot + 1) & (cap - 1))
					;
			}
		}
		c->index[i] = ids[slot];
		PERSONA_CHECK_INTERRUPTS_EVERY(i + 1, 14);
	}
	/* ids in order of first sight -> positions among the sorted values */
	sort_time_seen(seen, m);
	rank = palloc(Max(m, 1) * sizeof(int32));
	c->values = palloc(Max(m, 1) * sizeof(double));
	for (int j = 0; j < m; j++)
	{
		rank[seen[j].id] = j;
		c->values[j] = seen[j].value;
	}
	for (int64 i = 0; i < d->n; i++)
		c->index[i] = rank[c->index[i]];
	c->n = m;
	pfree(keys);
	pfree(ids);
	pfree(seen);
	pfree(rank);
	return true;
}

/* d's distinct times, built on the first evaluation of a fit over many rows. */
FitTimes *
fit_times(const FitData *d)
{
	FitData    *md = (FitData *) d;	/* a cache of the same rows, not a change of them */
	FitTimes   *t;

	if (d->n < 4096)			/* few rows (a single customer's loglik): not worth it */
		return NULL;
	if (md->times)
		return md->times->used ? md->times : NULL;
	t = palloc0(sizeof(FitTimes));
	md->times = t;
	if (!fit_time_column(d, 1, &t->tx) || !fit_time_column(d, 2, &t->T))
		return NULL;
	t->log_tx = palloc(t->tx.n * sizeof(double));
	t->log_T = palloc(t->T.n * sizeof(double));
	t->used = true;
	return t;
}

