/*
 * relation.c — resolving a relation argument before anything reads it.
 *
 * Every function that takes a relation (customer_profile, holdout, the tag
 * rule functions) starts here, so a bad argument gets the same error
 * everywhere and nothing later meets a missing relation: a regclass is
 * only an OID, and 999999::oid::regclass, 0::regclass or the OID of a
 * relation dropped since (a tag rule's source) reach us unchecked.  In
 * order: the relation exists (42P01), is something rows can be read from
 * (42809), and the calling role may read it (42501, the same check and
 * words as a SELECT); only then is it locked, as a query would lock it, so
 * that it cannot be dropped before the caller's query runs.
 */
#include "relation.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(resolve_relation);

/* The error for an OID that names no relation. */
static void
no_such_relation(Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation with OID %u does not exist", relid)));
}

/*
 * Resolve relid for reading by the current role: error unless it exists, is
 * a table, view, materialized view, foreign or partitioned table, and the
 * role has USAGE on its schema and SELECT on it (or on some of its
 * columns); then take AccessShareLock and fill rel.
 */
void
persona_resolve_relation(Oid relid, PersonaRelation *rel)
{
	HeapTuple	tup;
	Form_pg_class form;
	Oid			nsp;
	Oid			role = GetUserId();

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		no_such_relation(relid);
	form = (Form_pg_class) GETSTRUCT(tup);
	rel->relid = relid;
	rel->relkind = form->relkind;
	rel->relname = pstrdup(NameStr(form->relname));
	nsp = form->relnamespace;
	ReleaseSysCache(tup);

	rel->nspname = get_namespace_name(nsp);
	if (rel->nspname == NULL)
		no_such_relation(relid);	/* dropped with its schema meanwhile */
	rel->qualified = quote_qualified_identifier(rel->nspname, rel->relname);

	switch (rel->relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
		case RELKIND_VIEW:
		case RELKIND_MATVIEW:
		case RELKIND_FOREIGN_TABLE:
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table, view, materialized view, or foreign table",
							rel->qualified),
					 errdetail_relkind_not_supported(rel->relkind)));
	}
	if (isOtherTempNamespace(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot access temporary tables of other sessions")));

	if (pg_namespace_aclcheck(nsp, role, ACL_USAGE) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_SCHEMA, rel->nspname);
	if (pg_class_aclcheck(relid, role, ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, role, ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->relkind), rel->relname);

	/* Lock as a query would, then make sure it was not dropped meanwhile. */
	LockRelationOid(relid, AccessShareLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
	{
		UnlockRelationOid(relid, AccessShareLock);
		no_such_relation(relid);
	}
}

Relation
persona_open_table(Oid relid, LOCKMODE lockmode, AclMode mode, const char *what)
{
	Relation	rel = try_table_open(relid, lockmode);

	if (rel == NULL)
		no_such_relation(relid);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s \"%s\" is not a table", what, RelationGetRelationName(rel))));
	/* every privilege of mode (pg_class_aclcheck passes on any one), and the schema's */
	if (pg_class_aclmask(relid, GetUserId(), mode, ACLMASK_ALL) != mode)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(rel));
	if (pg_namespace_aclcheck(RelationGetNamespace(rel), GetUserId(), ACL_USAGE) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_SCHEMA, get_namespace_name(RelationGetNamespace(rel)));
	return rel;
}

/*
 * resolve_relation(rel regclass) returns text: the quoted, schema-qualified
 * name of a relation the caller may read (for the SQL-language functions).
 */
Datum
resolve_relation(PG_FUNCTION_ARGS)
{
	PersonaRelation rel;

	persona_resolve_relation(PG_GETARG_OID(0), &rel);
	PG_RETURN_TEXT_P(cstring_to_text(rel.qualified));
}
