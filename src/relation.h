/*
 * relation.h — relation arguments (regclass) resolved and checked once.
 */
#ifndef PERSONA_RELATION_H
#define PERSONA_RELATION_H

#include "postgres.h"

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

#endif							/* PERSONA_RELATION_H */
