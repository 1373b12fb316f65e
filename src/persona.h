/*
 * persona.h — declarations shared by persona's source files.
 */
#ifndef PERSONA_H
#define PERSONA_H

#include "postgres.h"
#include "fmgr.h"
#include "access/htup.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "datatype/timestamp.h"
#include "utils/date.h"

/*
 * CHECK_FOR_INTERRUPTS() once every 2^bits iterations of a hot loop over
 * counter i (cheap enough for per-row loops; the interval is what bounds
 * how late a cancel or statement_timeout arrives).  Needs miscadmin.h.
 */
#define PERSONA_CHECK_INTERRUPTS_EVERY(i, bits) \
	do { \
		if (((i) & ((UINT64CONST(1) << (bits)) - 1)) == 0) \
			CHECK_FOR_INTERRUPTS(); \
	} while (0)

/* Label language chosen by the GUC persona.language. */
typedef enum PersonaLanguage
{
	PERSONA_LANG_EN,
	PERSONA_LANG_ZH
} PersonaLanguage;

extern int	persona_language;

/* lifecycle.c thresholds, set by the persona.lifecycle_* GUCs */
extern int	lifecycle_new_days;
extern int	lifecycle_mature_purchases;
extern double lifecycle_decline_factor;
extern double lifecycle_churn_factor;
extern int	lifecycle_min_days;
extern int	lifecycle_decline_days;
extern int	lifecycle_churn_days;

/*
 * label.c: the English or Chinese form of a label according to
 * persona.language; Chinese forms are written in UTF-8 in the source and
 * returned in the server encoding (22P05 where it lacks the characters).
 */
extern const char *persona_label(const char *en, const char *zh);
extern const char *persona_label_in(PersonaLanguage lang, const char *en, const char *zh);
extern PersonaLanguage persona_language_of(text *name);
extern const char *persona_from_utf8(const char *utf8);

/* Columns of the persona.order_stats composite, in order. */
enum
{
	OS_FIRST_AT, OS_LAST_AT, OS_ORDERS, OS_PURCHASE_DAYS, OS_REVENUE, OS_AVG_AMOUNT,
	OS_RECENCY_DAYS, OS_TENURE_DAYS, OS_MEAN_GAP, OS_GAP_SD, OS_REPEAT_ORDERS,
	OS_REPEAT_REVENUE, OS_REFUNDS, OS_NATTS
};

/* The fields of a persona.order_stats row that functions taking one use, validated. */
typedef struct OrderStatsRow
{
	int64		orders;
	int32		purchase_days;
	/* the rest only when orders > 0 */
	int32		recency_days;
	int32		tenure_days;
	int64		span_days;		/* tenure_days - recency_days: first to last purchase day */
	double		mean_gap_days;	/* span_days / (purchase_days - 1); NaN for one purchase day */
	Datum		repeat_revenue; /* numeric */
	bool		repeat_revenue_null;	/* no order has an amount */
} OrderStatsRow;

extern void persona_read_order_stats(HeapTupleHeader s, OrderStatsRow *out);
/* Deform a value of a persona row type of natts columns (stats.c). */
extern void persona_deform_row(HeapTupleHeader s, int natts, Datum *values, bool *isnull, const char *type);

struct CustState;
struct CustResult;
extern void persona_stats_values(struct CustState *cs, const struct CustResult *r,
								 Datum *values, bool *nulls);
extern TupleDesc persona_result_desc(FunctionCallInfo fcinfo);
extern Datum persona_lifecycle_value(const struct CustResult *r, const Datum *stage_values);
extern const Datum *persona_lifecycle_values(FunctionCallInfo fcinfo);
#define PERSONA_LIFECYCLE_STAGES 6	/* values persona_lifecycle_values returns */

/* label.c: values of persona's enum types */
extern Datum persona_enum_value(const char *typname, const char *label);
extern const Datum *persona_enum_values(FunctionCallInfo fcinfo, const char *typname,
										const char *const *names, int n);

/* habits.c: building persona.habits rows (also for customer_profile) */
typedef struct HabitsMaker HabitsMaker;
extern HabitsMaker *habits_maker(MemoryContext mcxt, TupleDesc desc);
extern Datum habits_make(const HabitsMaker *m, const int64 *wd, const int64 *hr, bool date_only);

/*
 * stats.c, habits.c: a customer's stored state (NULL: none yet) extended
 * with new orders, written back, and decoded into its row type's values
 * (an incremental refresh; see profile_merge.c).
 */
typedef struct OrderStatsState OrderStatsState;
typedef struct HabitsZoneState HabitsZoneState;
struct pg_tz;
extern OrderStatsState *persona_order_stats_open(bytea *stored, struct pg_tz *zone);
extern void persona_order_stats_add(OrderStatsState *st, bool t_null, TimestampTz t, bool amount_null, Datum amount);
extern bytea *persona_order_stats_close(OrderStatsState *st, DateADT as_of, Datum *values, bool *nulls);
extern HabitsZoneState *persona_habits_open(bytea *stored, struct pg_tz *zone);
extern void persona_habits_add(HabitsZoneState *st, TimestampTz t);
extern bytea *persona_habits_close(const HabitsMaker *m, HabitsZoneState *st, Datum *values, bool *nulls);

/* arena.c: a zeroed, 64-byte aligned per-group aggregate state */
extern void *persona_state_alloc(FunctionCallInfo fcinfo, MemoryContext ctx, Size size);
/* arena.c: a zeroed allocation of any size, interruptible while it is zeroed */
extern void *persona_alloc_zero_huge(MemoryContext ctx, Size size);

/* Append s (len bytes) in double quotes, " and \ escaped by a backslash (array and tag query literals). */
extern void persona_append_quoted(StringInfo buf, const char *s, int len);

/* Point a read-only StringInfo at the contents of a bytea (deserial functions). */
extern void persona_bytea_reader(StringInfo buf, bytea *b);

/*
 * The aggregate memory context of a transition, combine or deserial
 * function; a user error (0A000) when it is called outside an aggregate.
 */
extern MemoryContext persona_agg_context(FunctionCallInfo fcinfo);

/* Error out unless x is a finite float8; what names the argument in the message. */
extern void persona_check_finite(double x, const char *what);
/* Whether this backend runs a Citus worker task (application_name citus_internal ...). */
extern bool persona_in_citus_task(void);

#endif							/* PERSONA_H */
