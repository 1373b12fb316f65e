/*
 * profile_rows.c — the changes an incremental refresh makes to a
 * profile's weighted rows (weighted_rows.c), read from the changed
 * customers' values before and after.
 *
 * persona.profile_rows_changes(old_values, new_values, models) reads the
 * two tables of state values the refresh fills (profile_merge_orders and
 * the recomputed customers with updated or deleted orders write them) and
 * gives the rows of the five multisets the globals row keeps: each old
 * customer's values with weight -1, each new one's with +1.  What
 * persona.profile_rows_sql's five weighted_rows_agg calls give over
 * (old with w = -1 UNION ALL new with w = 1), the same expressions in C:
 * for 84,000 changed customers the aggregates took 120-150 ms (their
 * transition calls and sorts), this 85-100 ms.  profile_rows_sql stays
 * the definition for the full refresh (parallel workers aggregate every
 * state row there); the two must agree, and the regression tests compare
 * an incremental refresh's rows with a rebuild's.
 */
#include "persona.h"

#include "decsum.h"
#include "relation.h"
#include "weighted_rows.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(profile_rows_changes);

/* The state columns the rows are made of, their types, and the rows. */
enum
{
	V_ORDERS, V_PURCHASE_DAYS, V_REVENUE, V_REPEAT_REVENUE, V_FIRST_ON, V_LAST_ON, V_NCOLS
};

static const struct
{
	const char *name;
	Oid			type;
}			value_columns[V_NCOLS] =
{
	{"orders", INT8OID},
	{"purchase_days", INT4OID},
	{"revenue", NUMERICOID},
	{"repeat_revenue", NUMERICOID},
	{"first_order_on", DATEOID},
	{"last_order_on", DATEOID}
};

/* the five multisets, in the order of the result's columns */
enum
{
	R_ROWS, F_ROWS, M_ROWS, HISTORY_ROWS, GAMMA_GAMMA_ROWS, N_ROWS
};

static const int row_widths[N_ROWS] = {2, 2, 2, 4, 3};

typedef struct RowsChanges
{
	MemoryContext ctx;
	bool		models;			/* history and Gamma-Gamma rows too (a models profile's) */
	WRowsAgg   *rows[N_ROWS];
	Datum		zero;			/* numeric 0 */
} RowsChanges;

/* days since 2000-01-01 as float8, what (d - DATE '2000-01-01')::float8 gives */
static double
day_number(DateADT d)
{
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cannot subtract infinite dates")));
	return (double) d;
}

static double
amount_float8(Datum amount)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_to_float8, amount));
}

/*
 * One customer's values (by V_*; NULL where isnull) with weight w, as the
 * aggregates of profile_rows_sql take them: only customers with orders,
 * and an aggregate skips a row with a NULL argument.
 */
static void
add_customer(RowsChanges *c, const Datum *v, const bool *isnull, double w)
{
	int64		orders;
	double		row[4];

	if (isnull[V_ORDERS] || (orders = DatumGetInt64(v[V_ORDERS])) <= 0)
		return;
	if (!isnull[V_LAST_ON])
	{
		row[0] = day_number(DatumGetDateADT(v[V_LAST_ON]));
		row[1] = w;
		wagg_add(c->ctx, c->rows[R_ROWS], row);
	}
	row[0] = (double) orders;
	row[1] = w;
	wagg_add(c->ctx, c->rows[F_ROWS], row);
	if (!isnull[V_REVENUE])
	{
		row[0] = amount_float8(v[V_REVENUE]);
		row[1] = w;
		wagg_add(c->ctx, c->rows[M_ROWS], row);
	}
	if (!c->models || isnull[V_PURCHASE_DAYS])
		return;
	if (!isnull[V_FIRST_ON] && !isnull[V_LAST_ON])
	{
		/* (x, t_x in weeks, first order day) */
		double		first = day_number(DatumGetDateADT(v[V_FIRST_ON]));
		double		last = day_number(DatumGetDateADT(v[V_LAST_ON]));

		row[0] = (double) (DatumGetInt32(v[V_PURCHASE_DAYS]) - 1);
		row[1] = (last - first) / 7.0;	/* whole days: exact, as the date difference is */
		row[2] = first;
		row[3] = w;
		wagg_add(c->ctx, c->rows[HISTORY_ROWS], row);
	}
	if (DatumGetInt32(v[V_PURCHASE_DAYS]) > 1 && !isnull[V_REPEAT_REVENUE] &&
		DatumGetBool(DirectFunctionCall2(numeric_gt, v[V_REPEAT_REVENUE], c->zero)))
	{
		/* (x, mean repeat spend) */
		int32		x = DatumGetInt32(v[V_PURCHASE_DAYS]) - 1;

		row[0] = (double) x;
		row[1] = amount_float8(v[V_REPEAT_REVENUE]) / (double) x;
		row[2] = w;
		wagg_add(c->ctx, c->rows[GAMMA_GAMMA_ROWS], row);
	}
}

/*
 * Open a table of values for reading, checked as a SELECT of it would be
 * (persona_open_table) and with what a scan here cannot honour refused
 * (row-level security, 0A000); its value columns' attribute numbers go to
 * atts.
 */
static Relation
open_values(Oid relid, AttrNumber *atts)
{
	Relation	rel = persona_open_table(relid, AccessShareLock, ACL_SELECT, "table of values");
	TupleDesc	desc;

	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table of values \"%s\" has row-level security", RelationGetRelationName(rel)),
				 errdetail("profile_rows_changes reads rows directly; a refresh's tables of values have none.")));
	desc = RelationGetDescr(rel);
	for (int c = 0; c < V_NCOLS; c++)
	{
		atts[c] = InvalidAttrNumber;
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), value_columns[c].name) == 0)
				atts[c] = att->attnum;
		}
		if (atts[c] == InvalidAttrNumber ||
			TupleDescAttr(desc, atts[c] - 1)->atttypid != value_columns[c].type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("table \"%s\" has no column \"%s\" of type %s", RelationGetRelationName(rel),
							value_columns[c].name, format_type_be(value_columns[c].type)),
					 errdetail("A table of values has the state columns orders, purchase_days, revenue, repeat_revenue, first_order_on and last_order_on.")));
	}
	return rel;
}

/* Every row of a table of values, with weight w. */
static void
add_table(RowsChanges *c, Oid relid, double w)
{
	AttrNumber	atts[V_NCOLS];
	Relation	rel = open_values(relid, atts);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	AttrNumber	last = 0;
	Datum		v[V_NCOLS];
	bool		isnull[V_NCOLS];
	uint64		n = 0;
	/* what reading a row's numerics allocates, emptied after each row (the rows themselves go to c->ctx) */
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "persona rows changes row", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(row_cxt);

	for (int i = 0; i < V_NCOLS; i++)
		last = Max(last, atts[i]);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		PERSONA_CHECK_INTERRUPTS_EVERY(n++, 10);
		slot_getsomeattrs(slot, last);
		for (int i = 0; i < V_NCOLS; i++)
		{
			v[i] = slot->tts_values[atts[i] - 1];
			isnull[i] = slot->tts_isnull[atts[i] - 1];
		}
		add_customer(c, v, isnull, w);
		MemoryContextReset(row_cxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(row_cxt);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
}

/*
 * profile_rows_changes(old_values regclass, new_values regclass, models
 * boolean) -> (r_rows, f_rows, m_rows, history_rows, gamma_gamma_rows):
 * the weighted-row changes of the customers in old_values (going out) and
 * new_values (coming in); history and Gamma-Gamma rows only for models
 * (else NULL, as profile_rows_sql leaves them).  A multiset without a
 * change is NULL.
 */
Datum
profile_rows_changes(PG_FUNCTION_ARGS)
{
	RowsChanges c;
	TupleDesc	desc;
	Datum		values[N_ROWS];
	bool		nulls[N_ROWS];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "profile_rows_changes must return a record of five arrays");
	c.ctx = CurrentMemoryContext;
	c.models = PG_GETARG_BOOL(2);
	c.zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	for (int i = 0; i < N_ROWS; i++)
		c.rows[i] = wagg_new(c.ctx, row_widths[i]);
	add_table(&c, PG_GETARG_OID(0), -1);
	add_table(&c, PG_GETARG_OID(1), 1);
	for (int i = 0; i < N_ROWS; i++)
	{
		ArrayType  *a = wagg_result(c.rows[i]);

		nulls[i] = a == NULL;
		values[i] = PointerGetDatum(a);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
