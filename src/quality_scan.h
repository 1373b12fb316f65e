/*
 * quality_scan.h — data_quality's counts in one pass over the orders, in C.
 */
#ifndef PERSONA_QUALITY_SCAN_H
#define PERSONA_QUALITY_SCAN_H

#include "postgres.h"

#include "relation.h"

/* The checks, in the order data_quality() shows them. */
typedef enum QualityIndex
{
	QI_ORDERS,
	QI_DUPLICATE_ORDERS,
	QI_MISSING_CUSTOMER,
	QI_MISSING_TIME,
	QI_MISSING_AMOUNT,
	QI_ZERO_AMOUNT,
	QI_NEGATIVE_AMOUNT,
	QI_NONFINITE_AMOUNT,
	QI_FUTURE_TIME,
	QI_INFINITE_TIME,
	QI_DATE_ONLY_ORDERS,
	QI_DATE_ONLY_CUSTOMERS,
	QI_AMOUNT_BEYOND_3SD,
	QI_AMOUNT_BEYOND_MAD,
	QI_ONE_TIME_BUYERS,
	QI_NCHECKS
} QualityIndex;

typedef struct QualityCounts
{
	int64		counts[QI_NCHECKS];
	bool		isnull[QI_NCHECKS];
	int64		customers;		/* customers with at least one order */
} QualityCounts;

/* What the scan reads: columns already checked by data_quality(). */
typedef struct QualityInput
{
	const PersonaRelation *rel;
	const char *cust;
	Oid			cust_type;
	const char *time;
	Oid			time_type;		/* timestamptz, timestamp, date or a domain */
	const char *amount;
	const char *order_col;		/* NULL: duplicates are equal rows */
	Oid			order_type;
	bool		has_zone;
	Datum		zone;			/* text, when has_zone */
	bool		has_as_of;
	Datum		as_of;			/* timestamptz, when has_as_of */
} QualityInput;

extern char *quality_time_sql(const QualityInput *in);
extern bool quality_scan_supported(const QualityInput *in);
extern bool quality_scan(const QualityInput *in, QualityCounts *out);

#endif							/* PERSONA_QUALITY_SCAN_H */
