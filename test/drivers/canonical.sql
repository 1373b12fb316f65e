-- psql's side of test/drivers.sh: the canonical digest of every row of every
-- relation of the profiles in :'profiles' (space-separated schema.name; the
-- relations NAME_x of the schema, not the internal NAME__x), in
-- the line format profile_check.py and ProfileCheck.java print:
--   <schema>.<relation> columns <name>,<name>,...
--   <schema>.<relation> rows <count>
--   <schema>.<relation> row <md5 of the row's canonical text>
-- Canonical text of a value (the clients compute the same from what they fetched):
--   integers, text: as is; numeric: trim_scale; float8: 0, NaN, Infinity, -Infinity, else 12
--   significant digits as C's %.11e; date: YYYY-MM-DD; timestamptz: microseconds since the
--   epoch; boolean: t/f; text[]: [len:elem,len:elem] (N for a NULL element).
-- A row's canonical text is, per column in order, N for NULL or V<octets>:<canonical>.
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.canon(col name, typ oid) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE
  WHEN typ = 1700 THEN format('trim_scale(%I)::text', col)
  WHEN typ IN (700, 701) THEN format($e$CASE WHEN %1$I = 0 THEN '0' WHEN %1$I IN ('NaN', 'Infinity', '-Infinity') THEN %1$I::text ELSE ltrim(to_char(%1$I::float8, '9.99999999999EEEE')) END$e$, col)
  WHEN typ = 1082 THEN format($e$CASE WHEN isfinite(%1$I) THEN to_char(%1$I, 'YYYY-MM-DD') ELSE %1$I::text END$e$, col)
  WHEN typ IN (1114, 1184) THEN format($e$CASE WHEN isfinite(%1$I) THEN (extract(epoch FROM %1$I) * 1000000)::bigint::text ELSE %1$I::text END$e$, col)
  WHEN typ = 16 THEN format($e$CASE WHEN %1$I THEN 't' ELSE 'f' END$e$, col)
  WHEN typ = 1009 THEN format($e$'[' || coalesce((SELECT string_agg(CASE WHEN e IS NULL THEN 'N' ELSE octet_length(e) || ':' || e END, ',' ORDER BY o) FROM unnest(%1$I) WITH ORDINALITY u(e, o)), '') || ']'$e$, col)
  -- integers, text; anything else as its text (the clients flag such a type)
  ELSE format('%I::text', col)
END $$;

CREATE FUNCTION pg_temp.profile_lines(profiles text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  rel record;
  row_expr text;
BEGIN
  FOR rel IN
    SELECT c.oid, format('%s.%s', n.nspname, c.relname) AS label
    FROM unnest(string_to_array(profiles, ' ')) p
    JOIN pg_namespace n ON n.nspname = split_part(p, '.', 1)
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
     AND left(c.relname, length(split_part(p, '.', 2)) + 1) = split_part(p, '.', 2) || '_'
     AND left(c.relname, length(split_part(p, '.', 2)) + 2) <> split_part(p, '.', 2) || '__'
    ORDER BY 2
  LOOP
    RETURN NEXT rel.label || ' columns ' ||
      (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
       WHERE attrelid = rel.oid AND attnum > 0 AND NOT attisdropped);
    SELECT string_agg(format($e$CASE WHEN %1$I IS NULL THEN 'N' ELSE 'V' || octet_length(%2$s) || ':' || %2$s END$e$,
                             attname, pg_temp.canon(attname, atttypid)), ' || ' ORDER BY attnum)
      INTO row_expr
      FROM pg_attribute WHERE attrelid = rel.oid AND attnum > 0 AND NOT attisdropped;
    RETURN QUERY EXECUTE format($e$SELECT %L || ' rows ' || count(*) FROM %s$e$, rel.label, rel.oid::regclass);
    RETURN QUERY EXECUTE format($e$SELECT %L || ' row ' || md5(%s) FROM %s$e$, rel.label, row_expr, rel.oid::regclass);
  END LOOP;
END $$;

SELECT pg_temp.profile_lines(:'profiles');
