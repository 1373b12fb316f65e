/*
 * f8vec.h — a growable array of float8 for aggregate states that must see
 * every value (quantiles, Lorenz curves), with parallel-query serialisation.
 */
#ifndef PERSONA_F8VEC_H
#define PERSONA_F8VEC_H

#include "postgres.h"
#include "lib/stringinfo.h"

typedef struct F8Vec
{
	int64		n;
	int64		cap;
	double	   *v;
} F8Vec;

extern void f8vec_push(F8Vec *a, double x, MemoryContext ctx);
extern void f8vec_append(F8Vec *a, const F8Vec *b, MemoryContext ctx);
extern void f8vec_send(StringInfo buf, const F8Vec *a);
extern void f8vec_recv(StringInfo buf, F8Vec *a, MemoryContext ctx);
extern double *f8vec_copy(const F8Vec *a);

#endif							/* PERSONA_F8VEC_H */
