/*
 * tzspan.h — local calendar fields of timestamps in a time zone.
 *
 * Every function takes the zone as a value (pg_tz *): a profile records the
 * shop's zone and passes it, so the answer does not depend on the client's
 * session TimeZone (JDBC sets it from the JVM, postgres_fdw forces GMT).  The
 * persona_local_* wrappers use the session TimeZone, for the functions that
 * have always read it.
 */
#ifndef PERSONA_TZSPAN_H
#define PERSONA_TZSPAN_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "pgtime.h"

/* The local calendar fields of one instant. */
typedef struct PersonaLocal
{
	int32		day;			/* days since 2000-01-01, local */
	int			isodow;			/* 1 = Monday .. 7 = Sunday */
	int			hour;			/* 0..23 */
	bool		midnight;		/* exactly 00:00:00.000000 local */
} PersonaLocal;

/* Zones by name */
extern pg_tz *persona_zone(text *name);
extern pg_tz *persona_zone_arg(FunctionCallInfo fcinfo, int argno);
extern pg_tz *persona_zone_or_session(FunctionCallInfo fcinfo, int argno);
/* Error when a session-zone aggregate runs in a postgres_fdw remote session or a Citus worker task. */
extern void persona_check_session_zone_here(const char *what, const char *hint);
extern void persona_check_same_zone(pg_tz *a, pg_tz *b);
extern TimestampTz persona_timestamptz_in_zone(const char *str, pg_tz *tz);

/* Calendar fields in a given zone; what names the argument in errors */
extern int64 persona_zone_offset(pg_tz *tz, TimestampTz t, const char *what);
extern int32 persona_zone_day(pg_tz *tz, TimestampTz t, const char *what);
extern void persona_zone_local(pg_tz *tz, TimestampTz t, const char *what, PersonaLocal *out);

/* The same in the session TimeZone */
extern int64 persona_local_offset(TimestampTz t, const char *what);
extern int32 persona_local_day(TimestampTz t, const char *what);
extern void persona_local_time(TimestampTz t, const char *what, int32 *day, int *isodow, int *hour);

#endif							/* PERSONA_TZSPAN_H */
