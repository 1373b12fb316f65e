/*
 * state.h — the bytea form of per-customer aggregate states.
 *
 * order_stats_state / habits_state return a customer's aggregate state as
 * bytea so that a profile can keep it and merge the state of new orders
 * into it later.  The same bytes are the aggregates' serialised partial
 * states, so there is one format and one strict reader: these values are
 * reachable from SQL, and a crafted one must be an error (22P03), never a
 * crash or a silently wrong statistic.
 *
 * Layout (network byte order): kind byte, version byte, flags byte, the
 * canonical time zone name NUL-terminated, then the kind's payload.
 */
#ifndef PERSONA_STATE_H
#define PERSONA_STATE_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "pgtime.h"

#define STATE_KIND_ORDER_STATS	'o'
#define STATE_KIND_HABITS		'h'
#define STATE_VERSION			1

/* A bounds-checked reader over a state's bytes. */
typedef struct StateReader
{
	const char *data;
	int			len;
	int			cursor;
	const char *what;			/* aggregate name for errors: "order_stats", "habits" */
} StateReader;

extern void persona_bad_state(const StateReader *r, const char *detail) pg_attribute_noreturn();

extern void state_reader_init(StateReader *r, bytea *b, const char *what);
extern int	state_get_byte(StateReader *r);
extern int16 state_get_int16(StateReader *r);
extern int32 state_get_int32(StateReader *r);
extern int64 state_get_int64(StateReader *r);
extern const char *state_get_string(StateReader *r, int maxlen);
extern uint64 state_get_varint(StateReader *r);
extern uint64 state_get_varint_max(StateReader *r, uint64 max);
extern int64 state_get_svarint(StateReader *r);
extern int	state_remaining(const StateReader *r);
extern void state_get_end(StateReader *r);

extern void state_send_header(StringInfo buf, char kind, int flags, pg_tz *zone);
extern void state_send_varint(StringInfo buf, uint64 v);
extern void state_send_svarint(StringInfo buf, int64 v);

/* The states of one customer from counts kept elsewhere (stats.c, habits.c). */
struct CustState;
extern bytea *order_stats_state_bytes(pg_tz *zone, struct CustState *cs, int32 last_day);
extern bytea *habits_state_bytes(pg_tz *zone, const int64 *wd, const int64 *hr, int64 at_midnight);
extern pg_tz *state_get_header(StateReader *r, char kind, int *flags);

#endif							/* PERSONA_STATE_H */
