/*
 * custstate.h — one customer's running order statistics.
 *
 * Shared by the order_stats aggregate (one state per GROUP BY group) and
 * persona.profile (a hash table of states).  The rules for NULLs, refunds
 * and orders after as_of are documented in stats.c and the README.
 */
#ifndef PERSONA_CUSTSTATE_H
#define PERSONA_CUSTSTATE_H

#include "postgres.h"

#include "decsum.h"
#include "lib/stringinfo.h"
#include "tzspan.h"
#include "utils/timestamp.h"

#define CUST_INLINE_DAYS 6

/* Rarely used parts: exact side sums for amounts off the integer path. */
typedef struct CustCold
{
	Numeric		spent;
	Numeric		first_day_spent;
	Numeric		refunded;
} CustCold;

/*
 * 128 bytes; the first 64 hold everything a typical order touches (and the
 * hash key and status profile.c's table needs), so a row costs about one
 * cache miss even with millions of customers.  No pointer into itself: a
 * state may be moved with memcpy (hash tables grow that way).
 */
typedef struct CustState
{
	int64		orders;			/* rows with amount >= 0 or NULL */
	TimestampTz first_at;		/* earliest order (valid if orders > 0) */
	TimestampTz last_at;		/* latest order */
	int64		spent;			/* order amounts (>= 0), 1/10000 units */
	int64		first_day_spent;	/* order amounts on first_day */
	int32		first_day;		/* calendar day of the first order */
	int32		ndays;			/* entries used in days[] */
	int32		maxdays;		/* capacity of days[] */
	int16		dscale;			/* largest display scale seen (<= 4) */
	char		status;			/* profile.c: hash table slot status */
	char		padding;
	int64		key;			/* custscan.c: integer id, or hash and index of the key */
	/* second cache line: rarely touched, but for the days */
	int64		null_amounts;	/* orders with a NULL amount */
	int64		refunds;		/* rows with amount < 0 */
	int64		refunded;		/* refund amounts (< 0), 1/10000 units */
	CustCold   *cold;			/* NULL unless some amount was off the fast path */
	int32	   *heap_days;		/* purchase days when more than fit inline */
	int32		inline_days[CUST_INLINE_DAYS];
} CustState;

/* The purchase days (deduplicated lazily); the state stays movable. */
#define CUST_DAYS(cs) ((cs)->heap_days ? (cs)->heap_days : (cs)->inline_days)

/* The finished statistics of one customer, ready for a tuple. */
typedef struct CustResult
{
	int64		orders;
	int32		purchase_days;
	int64		refunds;
	bool		has_orders;		/* false: every timing field is NULL */
	TimestampTz first_at;
	TimestampTz last_at;
	int32		recency_days;
	int32		tenure_days;
	bool		has_avg;
	double		avg_amount;
	bool		has_gap;
	double		mean_gap_days;
	bool		has_gap_sd;
	double		gap_sd_days;
	double		revenue_float;	/* for ranking */
	bool		has_revenue;	/* false: rows, but none with an amount (revenue NULL) */
} CustResult;

extern void cust_init(CustState *cs);
extern void cust_add(CustState *cs, TimestampTz t, int32 day, bool amount_null,
					 const DecAmount *amount, MemoryContext ctx);
extern void cust_merge(CustState *a, const CustState *b, MemoryContext ctx);
extern void cust_finish(CustState *cs, int32 as_of_day, CustResult *r);
extern Numeric cust_revenue(const CustState *cs);
extern Numeric cust_repeat_revenue(const CustState *cs);
extern void cust_send(StringInfo buf, CustState *cs);
struct StateReader;
extern void cust_recv(struct StateReader *r, CustState *cs, MemoryContext ctx, bool dense);

#endif							/* PERSONA_CUSTSTATE_H */
