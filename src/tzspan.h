/*
 * tzspan.h — local calendar fields of timestamps in the session time zone.
 *
 * persona reads every timestamptz in the session TimeZone (SET TimeZone, or
 * the database default): calendar days, weekdays and hours are the shop's
 * local ones when the session runs in the shop's zone.
 */
#ifndef PERSONA_TZSPAN_H
#define PERSONA_TZSPAN_H

#include "datatype/timestamp.h"

extern int64 persona_local_offset(TimestampTz t, const char *what);
extern int32 persona_local_day(TimestampTz t, const char *what);
extern void persona_local_time(TimestampTz t, const char *what, int32 *day, int *isodow, int *hour);

#endif							/* PERSONA_TZSPAN_H */
