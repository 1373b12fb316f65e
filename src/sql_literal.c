/*
 * sql_literal.c — values written into the SQL that persona generates (the
 * profile builder's views and refresh statements) as text that reads back
 * to the same value in every session.  float8's own text follows
 * extra_float_digits: under a negative setting 1.5 is written as 2, and a
 * profile created or refreshed in such a session would score with other
 * thresholds than its registry holds.
 */
#include "persona.h"

#include "common/shortest_dec.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(float8_sql);

/*
 * float8_sql(x) -> '<shortest exact decimal>'::float8, the SQL of x (the
 * shortest form writes NaN and infinities by the names float8 reads).
 */
Datum
float8_sql(PG_FUNCTION_ARGS)
{
	double		x = PG_GETARG_FLOAT8(0);
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(x, num);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("'%s'::float8", num)));
}
