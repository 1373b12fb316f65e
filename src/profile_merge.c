/*
 * profile_merge.c — an incremental refresh merges the new orders into a
 * profile's state rows, one customer at a time, without a plan per row.
 *
 * persona.profile_merge_orders(state, orders, time_zone, as_of,
 * old_values, new_values) reads the query orders: customer key, order
 * time and amount of the new orders, each customer's together and the
 * customers in ascending key order (checked).  For each customer it finds
 * the row of the state table by its primary key, adds the orders to the
 * stored states as order_stats_state and habits_state would count them
 * (what order_stats_merge and habits_merge of the stored states and the
 * new orders' give), decodes the states into the row's columns (what
 * order_stats_of and habits_of give) and updates the row where it is: on
 * an incremental profile's pages (fillfactor 85) the new version stays on
 * the page and gets no new index entry.  A customer without a row gets
 * one.  The values before and after go to old_values and new_values,
 * whose columns are state columns of the same names: the refresh's
 * globals and tallies read them.
 *
 * The SQL this replaces (the new orders grouped into states of their own,
 * a materialized CTE joining the state rows, a tid scan, UPDATE ...
 * RETURNING through a decoding subquery, and two INSERTs) spent more time
 * passing rows between plan nodes than merging them.
 * The state rows are updated and inserted through the executor's
 * single-row routines (as logical replication applies rows; the update's
 * outcome checked here): indexes, constraints and HOT as an UPDATE would
 * have them.  The old and new values are batched into multi-row inserts,
 * checked as an INSERT checks its rows.
 *
 * The state table's columns are those persona.profile_decode_sql gives it:
 * state_columns below says where each comes from; the two must agree (the
 * regression tests compare an incremental refresh with a full one).
 */
#include "persona.h"

#include "relation.h"
#include "tzspan.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/nbtree.h"
#include "access/stratnum.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/plancache.h"
#include "tcop/utility.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(profile_merge_orders);

/* Where a state column's value comes from. */
typedef enum ColumnSource
{
	FROM_KEY,					/* the customer key */
	FROM_STATS_STATE,			/* the merged order_stats state */
	FROM_HABITS_STATE,			/* the merged habits state */
	FROM_STATS,					/* a field of order_stats_of */
	FROM_STATS_DAY,				/* a timestamptz field's local day in the zone */
	FROM_HABITS,				/* a field of habits_of */
	FROM_HABITS_LABEL			/* an enum field of habits_of as text */
} ColumnSource;

static const struct
{
	const char *column;
	ColumnSource source;
	const char *field;
}			state_columns[] =
{
	{"customer_id", FROM_KEY, NULL},
	{"first_order_at", FROM_STATS, "first_at"},
	{"last_order_at", FROM_STATS, "last_at"},
	{"first_order_on", FROM_STATS_DAY, "first_at"},
	{"last_order_on", FROM_STATS_DAY, "last_at"},
	{"orders", FROM_STATS, "orders"},
	{"purchase_days", FROM_STATS, "purchase_days"},
	{"revenue", FROM_STATS, "revenue"},
	{"avg_amount", FROM_STATS, "avg_amount"},
	{"mean_gap_days", FROM_STATS, "mean_gap_days"},
	{"gap_sd_days", FROM_STATS, "gap_sd_days"},
	{"repeat_orders", FROM_STATS, "repeat_orders"},
	{"repeat_revenue", FROM_STATS, "repeat_revenue"},
	{"refunds", FROM_STATS, "refunds"},
	{"weekday_share", FROM_HABITS, "weekday_share"},
	{"weekend_share", FROM_HABITS, "weekend_share"},
	{"morning_share", FROM_HABITS, "morning"},
	{"lunch_share", FROM_HABITS, "lunch"},
	{"afternoon_share", FROM_HABITS, "afternoon"},
	{"evening_share", FROM_HABITS, "evening"},
	{"night_share", FROM_HABITS, "night"},
	{"daypart", FROM_HABITS_LABEL, "daypart"},
	{"favourite_weekday", FROM_HABITS, "favourite_weekday"},
	{"favourite_hour", FROM_HABITS, "favourite_hour"},
	{"stats_state", FROM_STATS_STATE, NULL},
	{"habits_state", FROM_HABITS_STATE, NULL}
};

#define N_STATE_COLUMNS lengthof(state_columns)

/* One column of the state table: its source and the field it reads. */
typedef struct StateColumn
{
	ColumnSource source;
	int			field;			/* attribute index in the composite */
} StateColumn;

/* Rows of old_values/new_values written at once (as COPY buffers them). */
#define VALUES_BATCH 1000

/* A table rows are written to, and where each of its columns comes from. */
typedef struct Target
{
	Relation	rel;
	ResultRelInfo *rri;
	TupleTableSlot *slot;		/* the state table's row: virtual, of its row type */
	AttrNumber *from;			/* old_values/new_values: state attribute index per column */
	/* old_values/new_values: rows waiting for one table_multi_insert */
	TupleTableSlot **batch;
	int			slots;			/* created so far, up to VALUES_BATCH */
	int			batched;
	BulkInsertState bistate;
} Target;

/* The fields of a decoded state: its row type's descriptor and this customer's values. */
typedef struct Decoded
{
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
} Decoded;

typedef struct Merger
{
	EState	   *estate;
	Target		state;
	Target		old_values;
	Target		new_values;
	StateColumn *columns;		/* per state attribute */
	int			key_att;
	int			stats_att;
	int			habits_att;
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData key;			/* key >= the customer's: where a walk starts */
	FmgrInfo	key_order;		/* the primary key's btree comparison */
	/* the walk along the index (find_row): the entry it is at */
	bool		positioned;		/* the scan is at an entry (or at the end) */
	bool		at_end;
	Datum		entry_key;		/* the entry's key, in the index tuple the scan returned */
	bool		have_last;
	Datum		last_key;		/* the previous customer's, copied */
	TupleTableSlot *found;		/* the customer's row as stored */
	Decoded		stats;			/* persona.order_stats */
	Decoded		habits;			/* persona.habits */
	HabitsMaker *habits_maker;
	pg_tz	   *tz;				/* the profile's zone: its days and states */
	DateADT		as_of;
	Datum		zero;			/* numeric 0: habits count orders of amount NULL or >= 0 */
	/* the customer whose orders are being read */
	bool		exists;			/* it has a row (in found) */
	OrderStatsState *stats_state;
	HabitsZoneState *habits_state;	/* NULL: no habits yet */
	MemoryContext scan_cxt;		/* lives as long as the scans: lookups run here */
	MemoryContext row_cxt;		/* emptied after each customer */
} Merger;

/* The OID of persona.<name>(args); the extension's own functions. */
static Oid
persona_function(const char *name, int nargs, const Oid *argtypes)
{
	return LookupFuncName(list_make2(makeString("persona"), makeString(pstrdup(name))),
						  nargs, argtypes, false);
}

/*
 * Open relid for the writes this function does, checked as the statement
 * doing them would be: a plain table (42809), the calling role's privileges
 * on it and its schema (42501), no row-level security, triggers or rules,
 * which these writes would bypass (0A000).
 */
static Relation
open_target(Oid relid, AclMode mode, const char *what)
{
	Relation	rel = persona_open_table(relid, RowExclusiveLock, mode, what);

	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED || rel->trigdesc != NULL || rel->rd_rules != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s \"%s\" has row-level security, triggers or rules", what, RelationGetRelationName(rel)),
				 errdetail("profile_merge_orders writes rows directly; a profile's internal tables have none of them.")));
	return rel;
}

/* Set up t for rel as range table entry rti of m's executor state. */
static void
init_target(Merger *m, Target *t, Relation rel, Index rti)
{
	t->rel = rel;
	t->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(t->rri, rel, rti, NULL, 0);
	ExecOpenIndices(t->rri, false);
	m->estate->es_opened_result_relations = lappend(m->estate->es_opened_result_relations, t->rri);
	t->slot = NULL;
	t->from = NULL;
	t->batch = NULL;
	t->slots = 0;
	t->batched = 0;
	t->bistate = NULL;
}

/* Error: the state table lacks what profile_decode_sql gives one. */
static void pg_attribute_noreturn()
not_a_state_table(Relation rel, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("\"%s\" is not a persona profile state table", RelationGetRelationName(rel)),
			 errdetail("%s", detail)));
}

/* The attribute index of the field called name in desc, or -1. */
static int
field_index(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
			return i;
	return -1;
}

/*
 * The type a state column of source c must have (InvalidOid: any) and, for
 * a field of a decoded row, the field's index.
 */
static Oid
source_type(Merger *m, int c, int *field)
{
	ColumnSource source = state_columns[c].source;
	TupleDesc	desc = source == FROM_STATS || source == FROM_STATS_DAY ? m->stats.desc : m->habits.desc;
	Oid			field_type;

	*field = -1;
	if (source == FROM_KEY)
		return InvalidOid;		/* the primary key's, whichever */
	if (source == FROM_STATS_STATE || source == FROM_HABITS_STATE)
		return BYTEAOID;
	*field = field_index(desc, state_columns[c].field);
	if (*field < 0)
		elog(ERROR, "persona row type has no field \"%s\"", state_columns[c].field);
	field_type = TupleDescAttr(desc, *field)->atttypid;
	if (source == FROM_STATS_DAY && field_type == TIMESTAMPTZOID)
		return DATEOID;
	if (source == FROM_HABITS_LABEL && type_is_enum(field_type))
		return TEXTOID;
	if (source == FROM_STATS || source == FROM_HABITS)
		return field_type;
	elog(ERROR, "persona row field \"%s\" has type %s", state_columns[c].field, format_type_be(field_type));
}

/* Where each column of the state table comes from; every column must be known. */
static void
map_state_columns(Merger *m)
{
	Relation	rel = m->state.rel;
	TupleDesc	desc = RelationGetDescr(rel);

	m->columns = palloc0(desc->natts * sizeof(StateColumn));
	m->key_att = m->stats_att = m->habits_att = -1;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			c;
		int			field;
		Oid			type;

		if (att->attisdropped)
			continue;
		for (c = 0; c < N_STATE_COLUMNS; c++)
			if (strcmp(NameStr(att->attname), state_columns[c].column) == 0)
				break;
		if (c == N_STATE_COLUMNS)
			not_a_state_table(rel, psprintf("Column \"%s\" is not one of a state table's.", NameStr(att->attname)));
		type = source_type(m, c, &field);
		if (OidIsValid(type) && (att->atttypid != type || att->atttypmod != -1))
			not_a_state_table(rel, psprintf("Column \"%s\" has type %s, not %s.", NameStr(att->attname),
											format_type_with_typemod(att->atttypid, att->atttypmod),
											format_type_be(type)));
		m->columns[i].source = state_columns[c].source;
		m->columns[i].field = field;
		if (state_columns[c].source == FROM_KEY)
			m->key_att = i;
		else if (state_columns[c].source == FROM_STATS_STATE)
			m->stats_att = i;
		else if (state_columns[c].source == FROM_HABITS_STATE)
			m->habits_att = i;
	}
	if (m->key_att < 0 || m->stats_att < 0 || m->habits_att < 0)
		not_a_state_table(rel, "It needs the columns customer_id, stats_state and habits_state.");
}

/* Each column of an old_values/new_values table is the state column of its name and type. */
static void
map_values(Merger *m, Target *t)
{
	TupleDesc	desc = RelationGetDescr(t->rel);
	TupleDesc	state = RelationGetDescr(m->state.rel);

	t->from = palloc(desc->natts * sizeof(AttrNumber));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			s;

		t->from[i] = -1;
		if (att->attisdropped)
			continue;
		s = field_index(state, NameStr(att->attname));
		if (s < 0 || TupleDescAttr(state, s)->atttypid != att->atttypid ||
			TupleDescAttr(state, s)->atttypmod != att->atttypmod)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of \"%s\" is not a column of \"%s\" of the same type",
							NameStr(att->attname), RelationGetRelationName(t->rel),
							RelationGetRelationName(m->state.rel))));
		t->from[i] = s;
	}
}

/* The primary key of the state table, on customer_id alone, and a scan of it. */
static void
open_key_index(Merger *m)
{
	Relation	rel = m->state.rel;
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
	Oid			op;

	if (!OidIsValid(pk))
		not_a_state_table(rel, "It has no primary key.");
	m->index = index_open(pk, RowExclusiveLock);
	if (m->index->rd_index->indnkeyatts != 1 || m->index->rd_index->indkey.values[0] != m->key_att + 1 ||
		m->index->rd_rel->relam != BTREE_AM_OID)
		not_a_state_table(rel, "Its primary key is not a btree index on customer_id.");
	op = get_opfamily_member(m->index->rd_opfamily[0], m->index->rd_opcintype[0],
							 m->index->rd_opcintype[0], BTGreaterEqualStrategyNumber);
	if (!OidIsValid(op))
		elog(ERROR, "missing >= operator for the primary key of \"%s\"", RelationGetRelationName(rel));
	ScanKeyEntryInitialize(&m->key, 0, 1, BTGreaterEqualStrategyNumber, InvalidOid,
						   m->index->rd_indcollation[0], get_opcode(op), (Datum) 0);
	fmgr_info(get_opfamily_proc(m->index->rd_opfamily[0], m->index->rd_opcintype[0],
								m->index->rd_opcintype[0], BTORDER_PROC), &m->key_order);
	m->scan = index_beginscan(rel, m->index, GetActiveSnapshot(), 1, 0);
	m->scan->xs_want_itup = true;	/* the entries' keys, for the walk */
	m->positioned = false;
	m->found = ExecInitExtraTupleSlot(m->estate, RelationGetDescr(rel), table_slot_callbacks(rel));
}

/* The row type persona.<fn> returns, and room for its values. */
static void
init_decoded(Decoded *d, const char *fn, int nargs, const Oid *argtypes)
{
	d->desc = lookup_rowtype_tupdesc_copy(get_func_rettype(persona_function(fn, nargs, argtypes)), -1);
	d->values = palloc(d->desc->natts * sizeof(Datum));
	d->nulls = palloc(d->desc->natts * sizeof(bool));
}

/* The state row of a customer with these merged (and decoded) states, in m->state.slot. */
static void
build_state_row(Merger *m, Datum key, Datum st, bool st_null, Datum hb, bool hb_null)
{
	TupleTableSlot *slot = m->state.slot;
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	for (int i = 0; i < natts; i++)
	{
		StateColumn *c = &m->columns[i];
		Datum	   *v = &slot->tts_values[i];
		bool	   *n = &slot->tts_isnull[i];

		*n = false;
		if (TupleDescAttr(slot->tts_tupleDescriptor, i)->attisdropped)
		{
			*n = true;
			continue;
		}
		switch (c->source)
		{
			case FROM_KEY:
				*v = key;
				break;
			case FROM_STATS_STATE:
				*v = st;
				*n = st_null;
				break;
			case FROM_HABITS_STATE:
				*v = hb;
				*n = hb_null;
				break;
			case FROM_STATS:
				*v = m->stats.values[c->field];
				*n = m->stats.nulls[c->field];
				break;
			case FROM_STATS_DAY:
				*n = m->stats.nulls[c->field];
				if (!*n)
					*v = DateADTGetDatum(persona_zone_day(m->tz, DatumGetTimestampTz(m->stats.values[c->field]), "ordered_at"));
				break;
			case FROM_HABITS:
				*v = m->habits.values[c->field];
				*n = m->habits.nulls[c->field];
				break;
			case FROM_HABITS_LABEL:
				*n = m->habits.nulls[c->field];
				if (!*n)
					*v = CStringGetTextDatum(DatumGetCString(DirectFunctionCall1(enum_out, m->habits.values[c->field])));
				break;
		}
	}
	ExecStoreVirtualTuple(slot);
}

/* Write t's batched rows: one multi-insert, then their index entries. */
static void
flush_values(Merger *m, Target *t)
{
	if (t->batched == 0)
		return;
	table_multi_insert(t->rel, t->batch, t->batched, m->estate->es_output_cid, 0, t->bistate);
	for (int i = 0; i < t->batched; i++)
	{
		if (t->rri->ri_NumIndices > 0)
			list_free(ExecInsertIndexTuples(t->rri, t->batch[i], m->estate, false, false, NULL, NIL));
		ExecClearTuple(t->batch[i]);
	}
	t->batched = 0;
}

/*
 * Append the values of a state row (values/nulls by state attribute) to t,
 * checked as an INSERT checks them.  The rows are batched: thousands of
 * single-row inserts cost a buffer lookup and a page lock each.
 */
static void
write_values(Merger *m, Target *t, const Datum *values, const bool *nulls)
{
	TupleTableSlot *slot;
	Relation	rel = t->rel;
	int			natts = RelationGetDescr(rel)->natts;

	if (t->batched == t->slots)
	{
		/* slots as the batch first grows, for the whole merge (not in the customer's memory this runs in) */
		MemoryContext old = MemoryContextSwitchTo(m->scan_cxt);

		if (t->batch == NULL)
		{
			t->batch = palloc(VALUES_BATCH * sizeof(TupleTableSlot *));
			t->bistate = GetBulkInsertState();
		}
		t->batch[t->slots++] = ExecInitExtraTupleSlot(m->estate, RelationGetDescr(rel), &TTSOpsVirtual);
		MemoryContextSwitchTo(old);
	}
	slot = t->batch[t->batched];
	ExecClearTuple(slot);
	for (int i = 0; i < natts; i++)
	{
		int			s = t->from[i];

		slot->tts_isnull[i] = s < 0 || nulls[s];
		slot->tts_values[i] = s < 0 ? (Datum) 0 : values[s];
	}
	ExecStoreVirtualTuple(slot);
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(t->rri, m->estate, slot, CMD_INSERT);
	if (rel->rd_att->constr)
		ExecConstraints(t->rri, slot, m->estate);
	if (rel->rd_rel->relispartition)
		ExecPartitionCheck(t->rri, slot, m->estate, true);
	/* the values point into the customer's memory, emptied before the batch is written */
	ExecMaterializeSlot(slot);
	if (++t->batched == VALUES_BATCH)
		flush_values(m, t);
}

/* Write what is batched for t and end its bulk insert. */
static void
finish_values(Merger *m, Target *t)
{
	flush_values(m, t);
	if (t->bistate)
	{
		FreeBulkInsertState(t->bistate);
		t->bistate = NULL;
		table_finish_bulk_insert(t->rel, 0);
	}
}

/* A bytea column of the found row, or NULL. */
static bytea *
found_bytea(Merger *m, int att)
{
	return m->found->tts_isnull[att] ? NULL : DatumGetByteaPP(m->found->tts_values[att]);
}

/* The scan to its next entry (its key in entry_key), or at_end. */
static void
walk_next(Merger *m)
{
	bool		isnull;

	if (index_getnext_tid(m->scan, ForwardScanDirection) == NULL)
	{
		m->at_end = true;
		return;
	}
	m->entry_key = index_getattr(m->scan->xs_itup, 1, m->scan->xs_itupdesc, &isnull);
	Assert(!isnull);
}

/* Entries walked past, at most, before a new descent from the root is the quicker. */
#define WALK_MAX 48

/*
 * The customer's row as stored, into m->found; false when it has none.
 * The customers come in key order, and about one in ten has new orders
 * on a day: the scan walks on along the index's leaf pages from the
 * previous customer's entry (a few entries, a comparison each) instead of
 * descending from the root for each (10% of the merge).  A customer far
 * ahead gets a descent to the first entry >= its key.  An entry of the
 * key whose row version is not visible (a dead one, or one this merge
 * wrote: it is after the statement's snapshot) is passed over.
 */
static bool
find_row(Merger *m, Datum key)
{
	Oid			collation = m->index->rd_indcollation[0];
	int			walked = 0;

	for (;;)
	{
		int			c;

		if (!m->positioned || walked > WALK_MAX)
		{
			m->key.sk_argument = key;
			index_rescan(m->scan, &m->key, 1, NULL, 0);
			m->positioned = true;
			m->at_end = false;
			walked = 0;
			walk_next(m);
		}
		if (m->at_end)
			return false;
		c = DatumGetInt32(FunctionCall2Coll(&m->key_order, collation, m->entry_key, key));
		if (c > 0)
			return false;		/* (it stays here: a later customer may be this entry's) */
		/* (a fetch that finds the entry's rows dead to all has the next step mark it so) */
		if (c == 0 && index_fetch_heap(m->scan, m->found))
			return true;
		walked++;
		walk_next(m);
	}
}

/*
 * Start on a customer's new orders: find its row (keeping its values as
 * they were) and open its states for the orders to come.
 */
static void
customer_begin(Merger *m, Datum key)
{
	MemoryContext old;

	/*
	 * The index scan keeps what it allocates on the way (the btree's list
	 * of dead entries to mark), so the lookup runs outside the row context.
	 */
	old = MemoryContextSwitchTo(m->scan_cxt);
	m->exists = find_row(m, key);
	MemoryContextSwitchTo(m->row_cxt);
	m->habits_state = NULL;
	if (m->exists)
	{
		bytea	   *habits;

		slot_getallattrs(m->found);
		write_values(m, &m->old_values, m->found->tts_values, m->found->tts_isnull);
		m->stats_state = persona_order_stats_open(found_bytea(m, m->stats_att), m->tz);
		habits = found_bytea(m, m->habits_att);
		if (habits)
			m->habits_state = persona_habits_open(habits, m->tz);
	}
	else
		m->stats_state = persona_order_stats_open(NULL, m->tz);
	MemoryContextSwitchTo(old);
}

/*
 * One new order of the customer, counted as order_stats_state(ordered_at,
 * amount) and habits_state(ordered_at) FILTER (WHERE amount IS NULL OR
 * amount >= 0) count it.
 */
static void
customer_add(Merger *m, bool t_null, TimestampTz t, bool amount_null, Datum amount)
{
	MemoryContext old = MemoryContextSwitchTo(m->row_cxt);

	persona_order_stats_add(m->stats_state, t_null, t, amount_null, amount);
	if (amount_null || DatumGetBool(DirectFunctionCall2(numeric_ge, amount, m->zero)))
	{
		if (m->habits_state == NULL)
			m->habits_state = persona_habits_open(NULL, m->tz);
		if (!t_null)
			persona_habits_add(m->habits_state, t);
	}
	MemoryContextSwitchTo(old);
}

/*
 * Update the found row to the state slot, as ExecSimpleRelationUpdate does
 * but with the outcome checked: a row another transaction changed since
 * this statement's snapshot is a serialization failure (40001), not an
 * internal error (refreshes of one profile never overlap: refresh_profile
 * holds a lock), and one this statement's orders query changed is 27000.
 */
static void
update_row(Merger *m)
{
	ResultRelInfo *rri = m->state.rri;
	Relation	rel = m->state.rel;
	TupleTableSlot *slot = m->state.slot;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;
	TM_Result	result;

	CheckCmdReplicaIdentity(rel, CMD_UPDATE);
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(rri, m->estate, slot, CMD_UPDATE);
	if (rel->rd_att->constr)
		ExecConstraints(rri, slot, m->estate);
	if (rel->rd_rel->relispartition)
		ExecPartitionCheck(rri, slot, m->estate, true);
	result = table_tuple_update(rel, &m->found->tts_tid, slot, m->estate->es_output_cid,
								m->estate->es_snapshot, InvalidSnapshot, true,
								&tmfd, &lockmode, &update_indexes);
	switch (result)
	{
		case TM_Ok:
			break;
		case TM_SelfModified:
			ereport(ERROR,
					(errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
					 errmsg("a customer's state row was changed by the orders query that is merged into it")));
			break;
		case TM_Updated:
		case TM_Deleted:
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update"),
					 errdetail("Another transaction changed a customer's row of \"%s\" while it was merged.",
							   RelationGetRelationName(rel)),
					 errhint("Refresh a profile with persona.refresh_profile, which runs one refresh of it at a time.")));
			break;
		default:
			elog(ERROR, "unexpected table_tuple_update status: %u", result);
	}
	if (rri->ri_NumIndices > 0 && update_indexes)
		list_free(ExecInsertIndexTuples(rri, slot, m->estate, true, false, NULL, NIL));
}

/* Write the customer's row back (or insert it) and its values after. */
static void
customer_end(Merger *m, Datum key)
{
	MemoryContext old = MemoryContextSwitchTo(m->row_cxt);
	Datum		st = PointerGetDatum(persona_order_stats_close(m->stats_state, m->as_of,
															 m->stats.values, m->stats.nulls));
	Datum		hb = (Datum) 0;

	if (m->habits_state)
		hb = PointerGetDatum(persona_habits_close(m->habits_maker, m->habits_state,
												  m->habits.values, m->habits.nulls));
	else
		memset(m->habits.nulls, true, m->habits.desc->natts * sizeof(bool));
	/* a row keeps its key as stored (an equal key may be spelled otherwise: 1.0 and 1.00) */
	build_state_row(m, m->exists ? m->found->tts_values[m->key_att] : key, st, false, hb, m->habits_state == NULL);
	if (m->exists)
		update_row(m);
	else
		ExecSimpleRelationInsert(m->state.rri, m->estate, m->state.slot);
	write_values(m, &m->new_values, m->state.slot->tts_values, m->state.slot->tts_isnull);
	ExecClearTuple(m->found);
	MemoryContextSwitchTo(old);
	MemoryContextReset(m->row_cxt);
	ResetPerTupleExprContext(m->estate);
}

/*
 * Whether key starts a customer (false: the current one's next order);
 * error unless the customers come in the primary key's order, each one's
 * orders together: a customer merged twice would not see its first merge,
 * and key order finds neighbouring rows on neighbouring pages.
 */
static bool
next_customer(Merger *m, Datum key)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(m->state.rel), m->key_att);
	MemoryContext old;
	int			c = -1;

	if (m->have_last)
		c = DatumGetInt32(FunctionCall2Coll(&m->key_order, m->index->rd_indcollation[0], m->last_key, key));
	if (c == 0)
		return false;
	if (c > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the orders query must return each customer's orders together, customers in ascending key order"),
				 errhint("End it with ORDER BY the customer key.")));
	if (m->have_last)
	{
		customer_end(m, m->last_key);
		if (!att->attbyval)
			pfree(DatumGetPointer(m->last_key));
	}
	old = MemoryContextSwitchTo(m->scan_cxt);
	m->last_key = datumCopy(key, att->attbyval, att->attlen);
	MemoryContextSwitchTo(old);
	m->have_last = true;
	return true;
}

/* The executor state and everything the merge reads and writes. */
static void
merger_begin(Merger *m, Oid state, Oid old_values, Oid new_values)
{
	Oid			bytea1[1] = {BYTEAOID};
	Oid			stats_of_args[2] = {BYTEAOID, DATEOID};
	Relation	rels[3];
	List	   *rtable = NIL;

	rels[0] = open_target(state, ACL_SELECT | ACL_INSERT | ACL_UPDATE, "state table");
	rels[1] = open_target(old_values, ACL_INSERT, "table");
	rels[2] = open_target(new_values, ACL_INSERT, "table");
	for (int i = 0; i < 3; i++)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_RELATION;
		rte->relid = RelationGetRelid(rels[i]);
		rte->relkind = rels[i]->rd_rel->relkind;
		rte->rellockmode = RowExclusiveLock;
		rtable = lappend(rtable, rte);
	}
	m->estate = CreateExecutorState();
	ExecInitRangeTable(m->estate, rtable);
	m->estate->es_output_cid = GetCurrentCommandId(true);
	m->estate->es_snapshot = GetActiveSnapshot();
	init_target(m, &m->state, rels[0], 1);
	m->state.slot = ExecInitExtraTupleSlot(m->estate, RelationGetDescr(rels[0]), &TTSOpsVirtual);
	init_target(m, &m->old_values, rels[1], 2);
	init_target(m, &m->new_values, rels[2], 3);

	init_decoded(&m->stats, "order_stats_of", 2, stats_of_args);
	init_decoded(&m->habits, "habits_of", 1, bytea1);
	m->habits_maker = habits_maker(CurrentMemoryContext, NULL);
	map_state_columns(m);
	map_values(m, &m->old_values);
	map_values(m, &m->new_values);
	open_key_index(m);
	m->scan_cxt = CurrentMemoryContext;
	m->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "persona merge row", ALLOCSET_DEFAULT_SIZES);
}

static void
merger_end(Merger *m)
{
	finish_values(m, &m->old_values);
	finish_values(m, &m->new_values);
	index_endscan(m->scan);
	index_close(m->index, NoLock);
	ExecResetTupleTable(m->estate->es_tupleTable, false);
	ExecCloseIndices(m->state.rri);
	ExecCloseIndices(m->old_values.rri);
	ExecCloseIndices(m->new_values.rri);
	table_close(m->state.rel, NoLock);
	table_close(m->old_values.rel, NoLock);
	table_close(m->new_values.rel, NoLock);
	FreeExecutorState(m->estate);
	MemoryContextDelete(m->row_cxt);
}

/* The orders query's columns: the state's key type, timestamptz, numeric. */
static void
check_orders_columns(Merger *m, TupleDesc desc)
{
	Form_pg_attribute key = TupleDescAttr(RelationGetDescr(m->state.rel), m->key_att);

	if (desc->natts != 3 || TupleDescAttr(desc, 0)->atttypid != key->atttypid ||
		(key->atttypmod != -1 && TupleDescAttr(desc, 0)->atttypmod != key->atttypmod) ||
		TupleDescAttr(desc, 1)->atttypid != TIMESTAMPTZOID || TupleDescAttr(desc, 2)->atttypid != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the orders query must return a customer key, an order time and an amount"),
				 errdetail("Its columns must have the types %s, timestamp with time zone and numeric.",
						   format_type_with_typemod(key->atttypid, key->atttypmod))));
}

/* Whether a prepared plan is one plain SELECT (no row locks, no data-modifying WITH). */
static bool
plain_select(SPIPlanPtr plan)
{
	List	   *sources = SPI_plan_get_plan_sources(plan);
	CachedPlanSource *source;
	Query	   *query;

	if (list_length(sources) != 1)
		return false;
	source = linitial(sources);
	if (list_length(source->query_list) != 1)
		return false;
	query = linitial_node(Query, source->query_list);
	return query->commandType == CMD_SELECT && query->utilityStmt == NULL &&
		query->rowMarks == NIL && !query->hasModifyingCTE;
}

/*
 * The orders query's rows go straight from its executor to the merge (an
 * SPI cursor would copy each into a tuple table first): one customer's
 * orders are added up, and a new customer key ends the previous customer.
 */
typedef struct MergeReceiver
{
	DestReceiver pub;
	Merger	   *m;
	MemoryContext row_cxt;		/* emptied after each order */
	int64		merged;			/* customers */
} MergeReceiver;

static void
merge_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	check_orders_columns(((MergeReceiver *) self)->m, typeinfo);
}

static bool
merge_receive(TupleTableSlot *slot, DestReceiver *self)
{
	MergeReceiver *r = (MergeReceiver *) self;
	Merger	   *m = r->m;
	MemoryContext old = MemoryContextSwitchTo(r->row_cxt);
	bool		key_null,
				t_null,
				amount_null;
	Datum		key,
				t,
				amount;

	CHECK_FOR_INTERRUPTS();
	slot_getsomeattrs(slot, 3);
	key = slot->tts_values[0];
	key_null = slot->tts_isnull[0];
	t = slot->tts_values[1];
	t_null = slot->tts_isnull[1];
	amount = slot->tts_values[2];
	amount_null = slot->tts_isnull[2];
	if (key_null)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the orders query returned a NULL customer key")));
	if (next_customer(m, key))
	{
		customer_begin(m, m->last_key);
		r->merged++;
	}
	customer_add(m, t_null, t_null ? 0 : DatumGetTimestampTz(t), amount_null, amount);
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->row_cxt);
	return true;
}

static void
merge_shutdown(DestReceiver *self)
{
}

static void
merge_destroy(DestReceiver *self)
{
}

/*
 * profile_merge_orders(state regclass, orders text, time_zone text,
 * as_of date, old_values regclass, new_values regclass) -> bigint: the
 * customers merged.
 */
Datum
profile_merge_orders(PG_FUNCTION_ARGS)
{
	Merger		m;
	char	   *orders = text_to_cstring(PG_GETARG_TEXT_PP(1));
	SPIPlanPtr	plan;
	SPIExecuteOptions options;
	MergeReceiver receiver;
	int			rc;

	PreventCommandIfReadOnly("profile_merge_orders()");
	PreventCommandIfParallelMode("profile_merge_orders()");
	memset(&m, 0, sizeof(m));
	m.tz = persona_zone(PG_GETARG_TEXT_PP(2));	/* an unknown zone: 22023 now */
	m.as_of = PG_GETARG_DATEADT(3);
	m.zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	merger_begin(&m, PG_GETARG_OID(0), PG_GETARG_OID(4), PG_GETARG_OID(5));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(orders, 0, NULL);
	if (plan == NULL || !plain_select(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the orders argument must be one query returning rows"),
				 errdetail("A SELECT without FOR UPDATE or FOR SHARE and without data-modifying WITH.")));
	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = merge_receive;
	receiver.pub.rStartup = merge_startup;
	receiver.pub.rShutdown = merge_shutdown;
	receiver.pub.rDestroy = merge_destroy;
	receiver.pub.mydest = DestNone;
	receiver.m = &m;
	receiver.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "persona merge order", ALLOCSET_SMALL_SIZES);
	memset(&options, 0, sizeof(options));
	/* read-only: the statement's snapshot, so the rows merged here stay invisible to it */
	options.read_only = true;
	options.dest = (DestReceiver *) &receiver;
	/* (a SELECT whose rows go to a receiver of DestNone reports SPI_OK_UTILITY) */
	rc = SPI_execute_plan_extended(plan, &options);
	if (rc < 0)
		elog(ERROR, "the orders query of profile_merge_orders failed: %s", SPI_result_code_string(rc));
	if (m.have_last)
		customer_end(&m, m.last_key);
	SPI_finish();
	merger_end(&m);
	PG_RETURN_INT64(receiver.merged);
}
