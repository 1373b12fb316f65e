/*
 * relation.h — relation arguments (regclass) resolved and checked once.
 */
#ifndef PERSONA_RELATION_H
#define PERSONA_RELATION_H

#include "postgres.h"
#include "nodes/parsenodes.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"

/* A relation the calling role may read, locked for the transaction. */
typedef struct PersonaRelation
{
	Oid			relid;
	char		relkind;
	char	   *nspname;
	char	   *relname;
	char	   *qualified;		/* quoted schema.name, for SQL text */
} PersonaRelation;

extern void persona_resolve_relation(Oid relid, PersonaRelation *rel);

/*
 * Open relid with lockmode for work done on its rows directly (a profile's
 * internal tables): error unless it exists (42P01), is a plain table
 * (42809: what "name" is not a table) and the calling role has every
 * privilege of mode on it and USAGE on its schema (42501).
 */
extern Relation persona_open_table(Oid relid, LOCKMODE lockmode, AclMode mode, const char *what);

#endif							/* PERSONA_RELATION_H */
