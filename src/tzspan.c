/*
 * tzspan.c — time zones as values, and the calendar day, weekday and hour
 * of a timestamptz in a zone without a timestamp2tm() call per row.
 */
#include "persona.h"

#include "tzspan.h"

#include "catalog/namespace.h"
#include "datatype/timestamp.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

/* ------------------------------------------------------------------ zones */

/*
 * The last zone looked up by name.  Per-row calls (a time_zone column, or
 * a constant the planner did not fold) mostly repeat the same name, so one
 * entry saves pg_tzset()'s upper-casing and hash lookup and the
 * abbreviation check.  (A name accepted here stays accepted for the
 * backend's life even if timezone_abbreviations changes later.)
 */
static char cached_name[TZ_STRLEN_MAX + 1];
static int	cached_len = -1;
static pg_tz *cached_zone = NULL;

/* Error: a zone name persona does not take. */
static void pg_attribute_noreturn()
unknown_zone(const char *name, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("time zone \"%s\" not recognized", name),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("Use a full time zone name such as 'Asia/Shanghai' or 'America/New_York'.")));
}

/*
 * Whether name is a time zone abbreviation of the session's
 * timezone_abbreviations (CST, EST, IST, CET ...).  PostgreSQL reads such a
 * name as the abbreviation in AT TIME ZONE and in timestamp input but as
 * a zone file in SET TimeZone, and the abbreviation itself means different
 * things in different abbreviation sets (EST: UTC-5 or UTC+10), so a
 * profile must not record one.  Names that mean UTC both ways (UTC, GMT)
 * are not ambiguous.  tz is pg_tzset's reading of name, or NULL.
 */
static bool
is_ambiguous_abbreviation(const char *name, pg_tz *tz)
{
	char		low[TOKMAXLEN + 1];
	size_t		len = strlen(name);
	int			offset = 0;
	pg_tz	   *dyn = NULL;
	long		gmtoff;
	int			type;

	if (len > TOKMAXLEN)
		return false;			/* abbreviations are at most TOKMAXLEN long */
	for (size_t i = 0; i <= len; i++)
		low[i] = pg_tolower((unsigned char) name[i]);
	type = DecodeTimezoneAbbrev(0, low, &offset, &dyn);
	if (type == UNKNOWN_FIELD)
		return false;
	if (type == TZ && offset == 0 && tz != NULL && pg_get_timezone_offset(tz, &gmtoff) && gmtoff == 0)
		return false;
	return true;
}

/*
 * The zone named by a text value: anything pg_tzset() accepts (IANA names
 * such as 'Asia/Shanghai', 'UTC', POSIX specs such as '<+08>-8') except
 * ambiguous abbreviations and zones with leap seconds; 22023 otherwise.
 * The pg_tz lives as long as the backend (pg_tzset's cache never frees).
 */
pg_tz *
persona_zone(text *name)
{
	const char *p = VARDATA_ANY(name);
	int			len = VARSIZE_ANY_EXHDR(name);
	char		buf[TZ_STRLEN_MAX + 1];
	pg_tz	   *tz;

	if (len == cached_len && memcmp(p, cached_name, len) == 0)
		return cached_zone;
	if (len == 0 || len > TZ_STRLEN_MAX || memchr(p, '\0', len) != NULL)
		unknown_zone(text_to_cstring(name), NULL);
	memcpy(buf, p, len);
	buf[len] = '\0';
	tz = pg_tzset(buf);
	if (is_ambiguous_abbreviation(buf, tz))
		unknown_zone(buf, "It is a time zone abbreviation, whose meaning depends on the timezone_abbreviations setting.");
	if (tz == NULL)
		unknown_zone(buf, NULL);
	if (!pg_tz_acceptable(tz))
		unknown_zone(buf, "It uses leap seconds, which PostgreSQL's timestamps do not have.");
	memcpy(cached_name, buf, len + 1);
	cached_len = len;
	cached_zone = tz;
	return tz;
}

/*
 * Error when an aggregate reading the session TimeZone runs where the
 * session is not the caller's: in a postgres_fdw remote session or a Citus
 * worker task.  Both ship the aggregate whatever its support functions read
 * (an aggregate is always immutable to the planner): postgres_fdw's remote
 * sessions run with search_path = pg_catalog and TimeZone UTC, Citus's tasks
 * (application_name citus_internal ...) in the worker's own TimeZone, so the
 * calendar days would silently be another zone's.  Say so, with a hint that
 * names the form that carries the zone.  (A session of one's own with
 * exactly postgres_fdw's settings gets the same error; its hint is the
 * same fix.)
 */
void
persona_check_session_zone_here(const char *what, const char *hint)
{
	const char *zone;

	if (persona_in_citus_task())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s without a time zone cannot run on a Citus worker", what),
				 errdetail("It reads the session TimeZone, and Citus runs it on the worker in the worker's TimeZone (%s), not in the caller's.",
						   pg_get_timezone_name(session_timezone)),
				 errhint("%s", hint)));
	if (namespace_search_path == NULL || strcmp(namespace_search_path, "pg_catalog") != 0)
		return;
	zone = pg_get_timezone_name(session_timezone);
	if (zone == NULL || (pg_strcasecmp(zone, "UTC") != 0 && pg_strcasecmp(zone, "GMT") != 0))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s without a time zone cannot run in a postgres_fdw remote session", what),
			 errdetail("It reads the session TimeZone, and postgres_fdw runs it on the shard in UTC, not in the caller's zone (this session has search_path pg_catalog and TimeZone UTC, as postgres_fdw's do)."),
			 errhint("%s", hint)));
}

/* The zone of argument argno, which must not be NULL (22004). */
pg_tz *
persona_zone_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("time_zone must not be NULL"),
				 errhint("Pass a full time zone name such as 'Asia/Shanghai'.")));
	return persona_zone(PG_GETARG_TEXT_PP(argno));
}

/* The zone of argument argno; NULL means the session TimeZone. */
pg_tz *
persona_zone_or_session(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? session_timezone : persona_zone(PG_GETARG_TEXT_PP(argno));
}

/*
 * Error unless two rows (or states) of one group are in the same zone:
 * their calendar days could not be compared.  pg_tzset returns one pg_tz
 * per zone, so different spellings of a name compare equal.
 */
void
persona_check_same_zone(pg_tz *a, pg_tz *b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_zone must be the same for every row of a group"),
				 errdetail("Got \"%s\" and \"%s\".", pg_get_timezone_name(a), pg_get_timezone_name(b)),
				 errhint("Pass one zone per customer, and merge only states made in the same zone.")));
}

/*
 * Text read as timestamptz_in reads it, but with tz in place of the session
 * TimeZone: '2025-01-01' is midnight in tz, '2025-01-01 00:00+00' is still
 * midnight UTC, 'today' is today in tz.  The datetime input code reads the
 * zone from the global session_timezone; it is swapped for the call and
 * restored on every exit.
 */
TimestampTz
persona_timestamptz_in_zone(const char *str, pg_tz *tz)
{
	pg_tz	   *saved = session_timezone;
	volatile Datum d = (Datum) 0;

	session_timezone = tz;
	PG_TRY();
	{
		d = DirectFunctionCall3(timestamptz_in, CStringGetDatum(str),
								ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	}
	PG_FINALLY();
	{
		session_timezone = saved;
	}
	PG_END_TRY();
	return DatumGetTimestampTz(d);
}

/* ------------------------------------------------------------------ spans */

/*
 * timestamp2tm() per row is slow, so remember spans of UTC time with a
 * constant UTC offset (between two transitions of one zone) and compute
 * the day arithmetically inside them.  Each span belongs to one zone, so
 * rows alternating between zones find their own spans.
 */
#define TZ_SPANS 32

typedef struct TzSpan
{
	const pg_tz *zone;
	TimestampTz from;			/* first instant known to be in the span */
	TimestampTz until;			/* next transition (exclusive) */
	int64		offset;			/* UTC offset in microseconds */
} TzSpan;

static TzSpan spans[TZ_SPANS];
static int	nspans = 0;
static int	next_victim = 0;

/* floor(a / b) for b > 0. */
static inline int64
floor_div(int64 a, int64 b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Error for an infinite timestamp argument. */
static void pg_attribute_noreturn()
not_finite(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("%s must be a finite timestamp", what),
			 errhint("Filter out rows with infinite timestamps.")));
}

/* UTC offset at t the slow, always-correct way. */
static int64
local_offset_slow(pg_tz *tz, TimestampTz t, const char *what)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			off;
	Timestamp	local;

	if (timestamp2tm(t, &off, &tm, &fsec, NULL, tz) != 0 ||
		tm2timestamp(&tm, fsec, NULL, &local) != 0)
		not_finite(what);
	return local - t;
}

/*
 * The UTC offset (microseconds) of zone tz at t; errors for infinite
 * timestamps naming the argument what.
 */
int64
persona_zone_offset(pg_tz *tz, TimestampTz t, const char *what)
{
	pg_time_t	unix_secs;
	long		before_off, after_off;
	int			before_dst, after_dst;
	pg_time_t	boundary;
	int			found;
	TimestampTz until;
	int			slot = -1;

	if (TIMESTAMP_NOT_FINITE(t))
		not_finite(what);
	for (int i = 0; i < nspans; i++)
		if (spans[i].zone == tz && t >= spans[i].from && t < spans[i].until)
			return spans[i].offset;

	unix_secs = (pg_time_t) floor_div(t, USECS_PER_SEC) +
		(pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	found = pg_next_dst_boundary(&unix_secs, &before_off, &before_dst, &boundary,
								 &after_off, &after_dst, tz);
	if (found < 0)
		return local_offset_slow(tz, t, what);
	until = found == 0 ? DT_NOEND :
		((TimestampTz) boundary - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC;

	/* Extend a known span of this zone ending at the same transition, or remember a new one. */
	for (int i = 0; i < nspans && slot < 0; i++)
		if (spans[i].zone == tz && spans[i].until == until)
			slot = i;
	if (slot < 0)
	{
		slot = nspans < TZ_SPANS ? nspans++ : (next_victim++ % TZ_SPANS);
		spans[slot].zone = tz;
		spans[slot].from = t;
		spans[slot].until = until;
		spans[slot].offset = (int64) before_off * USECS_PER_SEC;
	}
	else if (t < spans[slot].from)
		spans[slot].from = t;
	return (int64) before_off * USECS_PER_SEC;
}

/* The calendar day (days since 2000-01-01) of t in zone tz. */
int32
persona_zone_day(pg_tz *tz, TimestampTz t, const char *what)
{
	return (int32) floor_div(t + persona_zone_offset(tz, t, what), USECS_PER_DAY);
}

/* Day, ISO weekday, hour and whether it is local midnight, of t in zone tz. */
void
persona_zone_local(pg_tz *tz, TimestampTz t, const char *what, PersonaLocal *out)
{
	int64		local = t + persona_zone_offset(tz, t, what);
	int32		d = (int32) floor_div(local, USECS_PER_DAY);
	int64		since_midnight = local - (int64) d * USECS_PER_DAY;

	out->day = d;
	out->isodow = (int) ((d % 7 + 7 + 5) % 7) + 1;	/* 2000-01-01 was a Saturday */
	out->hour = (int) (since_midnight / USECS_PER_HOUR);
	out->midnight = since_midnight == 0;
}

/* ---------------------------------------------------- session TimeZone */

int64
persona_local_offset(TimestampTz t, const char *what)
{
	return persona_zone_offset(session_timezone, t, what);
}

int32
persona_local_day(TimestampTz t, const char *what)
{
	return persona_zone_day(session_timezone, t, what);
}

void
persona_local_time(TimestampTz t, const char *what, int32 *day, int *isodow, int *hour)
{
	PersonaLocal l;

	persona_zone_local(session_timezone, t, what, &l);
	*day = l.day;
	*isodow = l.isodow;
	*hour = l.hour;
}
