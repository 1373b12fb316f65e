/*
 * tzspan.c — calendar day, weekday and hour of a timestamptz in the
 * session time zone, without a timestamp2tm() call per row.
 */
#include "postgres.h"

#include "tzspan.h"

#include "datatype/timestamp.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

/*
 * Calendar days in the session time zone.  timestamp2tm() per row is slow,
 * so remember spans of UTC time with a constant UTC offset (between two
 * time zone transitions) and compute the day arithmetically inside them.
 */
#define TZ_SPANS 32

typedef struct TzSpan
{
	TimestampTz from;			/* first instant known to be in the span */
	TimestampTz until;			/* next transition (exclusive) */
	int64		offset;			/* UTC offset in microseconds */
} TzSpan;

static pg_tz *span_zone = NULL;
static TzSpan spans[TZ_SPANS];
static int	nspans = 0;
static int	next_victim = 0;

/* floor(a / b) for b > 0. */
static inline int64
floor_div(int64 a, int64 b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* UTC offset at t the slow, always-correct way. */
static int64
local_offset_slow(TimestampTz t, const char *what)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	Timestamp	local;

	if (timestamp2tm(t, &tz, &tm, &fsec, NULL, NULL) != 0 ||
		tm2timestamp(&tm, fsec, NULL, &local) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", what),
				 errhint("Filter out rows with infinite timestamps.")));
	return local - t;
}

/*
 * The UTC offset (microseconds) of the session time zone at t; errors for
 * infinite timestamps naming the argument what.
 */
int64
persona_local_offset(TimestampTz t, const char *what)
{
	pg_time_t	unix_secs;
	long		before_off, after_off;
	int			before_dst, after_dst;
	pg_time_t	boundary;
	int			found;
	TimestampTz until;

	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", what),
				 errhint("Filter out rows with infinite timestamps.")));
	if (span_zone != session_timezone)
	{
		span_zone = session_timezone;
		nspans = 0;
	}
	for (int i = 0; i < nspans; i++)
		if (t >= spans[i].from && t < spans[i].until)
			return spans[i].offset;

	unix_secs = (pg_time_t) floor_div(t, USECS_PER_SEC) +
		(pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	found = pg_next_dst_boundary(&unix_secs, &before_off, &before_dst, &boundary,
								 &after_off, &after_dst, session_timezone);
	if (found < 0)
		return local_offset_slow(t, what);
	until = found == 0 ? DT_NOEND :
		((TimestampTz) boundary - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC;

	/* Extend a known span ending at the same transition, or remember a new one. */
	{
		int			slot = -1;

		for (int i = 0; i < nspans && slot < 0; i++)
			if (spans[i].until == until)
				slot = i;
		if (slot < 0)
		{
			slot = nspans < TZ_SPANS ? nspans++ : (next_victim++ % TZ_SPANS);
			spans[slot].from = t;
			spans[slot].until = until;
			spans[slot].offset = (int64) before_off * USECS_PER_SEC;
		}
		else if (t < spans[slot].from)
			spans[slot].from = t;
	}
	return (int64) before_off * USECS_PER_SEC;
}

/* The calendar day (days since 2000-01-01) of t in the session time zone. */
int32
persona_local_day(TimestampTz t, const char *what)
{
	return (int32) floor_div(t + persona_local_offset(t, what), USECS_PER_DAY);
}

/* Day, ISO weekday (1 = Monday) and hour of t in the session time zone. */
void
persona_local_time(TimestampTz t, const char *what, int32 *day, int *isodow, int *hour)
{
	int64		local = t + persona_local_offset(t, what);
	int32		d = (int32) floor_div(local, USECS_PER_DAY);

	*day = d;
	*isodow = (int) ((d % 7 + 7 + 5) % 7) + 1;	/* 2000-01-01 was a Saturday */
	*hour = (int) ((local - (int64) d * USECS_PER_DAY) / USECS_PER_HOUR);
}

