#!/usr/bin/python3
"""Read persona profiles the way a Python BI client does, over psycopg2.

    profile_check.py OUT SCHEMA.NAME... [--param LABEL SQL VALUE]...

Connection from the PG* environment (libpq), the session's TimeZone from PGTZ.
For every relation of each profile (its schema, name starting with NAME_ but
not NAME__, the profile's internal relations):
  - every column's type_code is a built-in type OID from ALLOWED (text[] only
    for a column named tags), never a persona type;
  - every fetched value is the native Python type of its column (int, Decimal,
    float, str, bool, date, datetime with a time zone, list of str) - never an
    unparsed string for a non-text column.
Prints TAP lines for those checks and writes to OUT, in canonical.sql's line
format, each relation's columns, row count and per-row digests, and for each
--param the count the query returns with VALUE bound to its %s (or ERROR and
the SQLSTATE). test/drivers.sh compares OUT with psql's.
"""
import datetime
import decimal
import hashlib
import sys

import psycopg2
import psycopg2.extensions

# type OID -> (name, Python type of a fetched value)
ALLOWED = {
    20: ("bigint", int), 23: ("integer", int), 21: ("smallint", int),
    1700: ("numeric", decimal.Decimal), 701: ("float8", float),
    1082: ("date", datetime.date), 1184: ("timestamptz", datetime.datetime),
    16: ("boolean", bool), 25: ("text", str), 1009: ("text[]", list),
}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MICROSECOND = datetime.timedelta(microseconds=1)


def canon_float(v):
    if v == 0:
        return "0"
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return "%.11e" % v


def canon_decimal(v):
    if v.is_nan():
        return "NaN"
    if v.is_infinite():
        return "Infinity" if v > 0 else "-Infinity"
    s = format(v, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def flatten(v):
    for e in v:
        if isinstance(e, list):
            yield from flatten(e)
        else:
            yield e


def canon(oid, v):
    """Canonical text of a non-NULL value, as canonical.sql computes it."""
    if oid == 1700:
        return canon_decimal(v)
    if oid == 701:
        return canon_float(v)
    if oid == 1082:
        return v.isoformat()
    if oid == 1184:
        return str((v - EPOCH) // MICROSECOND)
    if oid == 16:
        return "t" if v else "f"
    if oid == 1009:
        return "[" + ",".join("N" if e is None else "%d:%s" % (len(e.encode()), e)
                              for e in flatten(v)) + "]"
    return str(v)


def value_ok(oid, v):
    """Is v the native Python type of its column?"""
    want = ALLOWED[oid][1]
    if oid == 1082:
        return type(v) is datetime.date
    if oid == 1184:
        return type(v) is datetime.datetime and v.tzinfo is not None
    if oid == 1009:
        return type(v) is list and all(e is None or type(e) is str for e in flatten(v))
    return type(v) is want


def parse_args(rest):
    """SCHEMA.NAME... [--param LABEL SQL VALUE]... -> (profiles, params)"""
    profiles, params = [], []
    while rest:
        if rest[0] == "--param":
            params.append(tuple(rest[1:4]))
            rest = rest[4:]
        else:
            profiles.append(rest[0])
            rest = rest[1:]
    return profiles, params


def finish(out_path, lines, what, problems, nrel):
    """Write the canonical lines to out_path and print the TAP line; the exit status."""
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("".join(l + "\n" for l in lines))
    if problems or nrel == 0:
        print("not ok - " + what)
        for p in problems[:20]:
            print("#   " + p)
        return 1
    print("ok - " + what)
    return 0


def main(argv):
    out_path = argv[1]
    profiles, params = parse_args(argv[2:])
    conn = psycopg2.connect("")
    conn.set_session(readonly=True, autocommit=True)
    cur = conn.cursor()
    cur.execute("SHOW TimeZone")
    zone = cur.fetchone()[0]
    lines, problems = [], []
    nrel = ncol = nval = 0
    for profile in profiles:
        schema, name = profile.split(".", 1)
        # what a BI tool's table list shows: tables, views, materialized views
        cur.execute("""SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
                         AND left(c.relname, length(%s) + 1) = %s || '_'
                         AND left(c.relname, length(%s) + 2) <> %s || '__'
                       ORDER BY c.relname""", (schema, name, name, name, name))
        rels = [r[0] for r in cur.fetchall()]
        if not rels:
            problems.append("%s: no relations" % profile)
        for relname in rels:
            label = "%s.%s" % (schema, relname)
            cur.execute("SELECT * FROM %s.%s" % (psycopg2.extensions.quote_ident(schema, cur),
                                                 psycopg2.extensions.quote_ident(relname, cur)))
            cols = [(d.name, d.type_code) for d in cur.description]
            rows = cur.fetchall()
            nrel += 1
            ncol += len(cols)
            lines.append("%s columns %s" % (label, ",".join(c[0] for c in cols)))
            lines.append("%s rows %d" % (label, len(rows)))
            for cname, oid in cols:
                if oid >= 10000 or oid not in ALLOWED:
                    problems.append("%s.%s: type OID %d is not one of the built-in types a profile may use"
                                    % (label, cname, oid))
                elif oid == 1009 and cname != "tags":
                    problems.append("%s.%s: text[] (OID 1009) is only for the tags column" % (label, cname))
            for row in rows:
                parts = []
                for (cname, oid), v in zip(cols, row):
                    if v is None:
                        parts.append("N")
                        continue
                    if oid in ALLOWED:
                        nval += 1
                        if not value_ok(oid, v):
                            problems.append("%s.%s: fetched %r (%s), not %s"
                                            % (label, cname, v, type(v).__name__, ALLOWED[oid][1].__name__))
                    c = canon(oid, v) if oid in ALLOWED else str(v)
                    parts.append("V%d:%s" % (len(c.encode()), c))
                lines.append("%s row %s" % (label, hashlib.md5("".join(parts).encode()).hexdigest()))
    for label, sql, value in params:
        try:
            cur.execute(sql, (value,))
            lines.append("param %s %s" % (label, cur.fetchone()[0]))
        except psycopg2.Error as e:
            lines.append("param %s ERROR %s %s" % (label, e.pgcode, (e.pgerror or str(e)).splitlines()[0]))
    conn.close()
    what = "psycopg2 %s (TimeZone %s): %d relations, %d columns of built-in types, %d values native Python types" \
           % (psycopg2.__version__.split()[0], zone, nrel, ncol, nval)
    return finish(out_path, lines, what, problems, nrel)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
