/*
 * persona.h — declarations shared by persona's source files.
 */
#ifndef PERSONA_H
#define PERSONA_H

#include "postgres.h"
#include "fmgr.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"

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

/* Pick the English or Chinese form of a label according to persona.language. */
static inline const char *
persona_label(const char *en, const char *zh)
{
	return persona_language == PERSONA_LANG_ZH ? zh : en;
}

/* Columns of the persona.order_stats composite, in order. */
enum
{
	OS_FIRST_AT, OS_LAST_AT, OS_ORDERS, OS_PURCHASE_DAYS, OS_REVENUE, OS_AVG_AMOUNT,
	OS_RECENCY_DAYS, OS_TENURE_DAYS, OS_MEAN_GAP, OS_GAP_SD, OS_REPEAT_ORDERS,
	OS_REPEAT_REVENUE, OS_REFUNDS, OS_NATTS
};

struct CustState;
struct CustResult;
extern void persona_stats_values(struct CustState *cs, const struct CustResult *r,
								 Datum *values, bool *nulls);
extern TupleDesc persona_result_desc(FunctionCallInfo fcinfo);
extern Datum persona_lifecycle_value(const struct CustResult *r, const Datum *stage_values);
extern const Datum *persona_lifecycle_values(FunctionCallInfo fcinfo);

/* label.c: values of persona's enum types */
extern Datum persona_enum_value(const char *typname, const char *label);
extern const Datum *persona_enum_values(FunctionCallInfo fcinfo, const char *typname,
										const char *const *names, int n);

/* habits.c: building persona.habits rows (also for customer_profile) */
typedef struct HabitsMaker HabitsMaker;
extern HabitsMaker *habits_maker(MemoryContext mcxt, TupleDesc desc);
extern Datum habits_make(const HabitsMaker *m, const int64 *wd, const int64 *hr);

/* arena.c: a zeroed, 64-byte aligned per-group aggregate state */
extern void *persona_state_alloc(FunctionCallInfo fcinfo, MemoryContext ctx, Size size);
/* arena.c: a zeroed allocation of any size, interruptible while it is zeroed */
extern void *persona_alloc_zero_huge(MemoryContext ctx, Size size);

/* Point a read-only StringInfo at the contents of a bytea (deserial functions). */
extern void persona_bytea_reader(StringInfo buf, bytea *b);

/* Error out unless x is a finite float8; what names the argument in the message. */
extern void persona_check_finite(double x, const char *what);

#endif							/* PERSONA_H */
