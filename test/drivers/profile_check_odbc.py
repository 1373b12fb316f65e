#!/usr/bin/python3
"""Read persona profiles the way ODBC BI clients (Power BI, Tableau, Excel) do:
psqlODBC through unixODBC, here driven by pyodbc.

    profile_check_odbc.py OUT ZONE SCHEMA.NAME... [--param LABEL SQL VALUE]...

Connection from the PG* environment; the session's TimeZone is ZONE (set by
the driver's ConnSettings, as a DSN would).  For every relation of each
profile (schema, name NAME_x, not the internal NAME__x):
  - the driver's catalog (SQLColumns) gives every column a standard ODBC SQL
    type and a built-in PostgreSQL type name, never "unknown" (what psqlODBC
    reports for an extension's type or an enum); text[] only for tags;
  - every fetched value is the Python type of its SQL type (int, Decimal,
    float, str, bool, date, datetime), booleans as booleans.
Prints TAP lines and writes to OUT, in canonical.sql's line format, each
relation's columns, row count and per-row digests (timestamps, which ODBC
delivers as local times of the session zone, converted back to instants), and
for each --param the count with VALUE bound to the query's ? (or ERROR).
"""
import datetime
import decimal
import hashlib
import os
import sys
import zoneinfo

import pyodbc

from profile_check import EPOCH, MICROSECOND, canon_decimal, canon_float, finish, parse_args

# PostgreSQL type name -> (ODBC SQL types psqlODBC may report, Python type of a value)
ALLOWED = {
    "int2": ({pyodbc.SQL_SMALLINT}, int), "int4": ({pyodbc.SQL_INTEGER}, int),
    "int8": ({pyodbc.SQL_BIGINT}, int), "numeric": ({pyodbc.SQL_NUMERIC}, decimal.Decimal),
    "float8": ({pyodbc.SQL_FLOAT, pyodbc.SQL_DOUBLE}, float),
    "date": ({pyodbc.SQL_TYPE_DATE}, datetime.date),
    "timestamptz": ({pyodbc.SQL_TYPE_TIMESTAMP}, datetime.datetime),
    "bool": ({pyodbc.SQL_BIT}, bool),
    "text": ({pyodbc.SQL_WLONGVARCHAR, pyodbc.SQL_WVARCHAR, pyodbc.SQL_LONGVARCHAR, pyodbc.SQL_VARCHAR}, str),
    "_text": ({pyodbc.SQL_WLONGVARCHAR, pyodbc.SQL_WVARCHAR, pyodbc.SQL_LONGVARCHAR, pyodbc.SQL_VARCHAR}, str),
}


def parse_text_array(s):
    """Elements of a one-dimensional text[] literal such as {a,"b c",NULL}."""
    if s == "{}":
        return []
    out, i, body = [], 0, s[1:-1]
    while i <= len(body):
        if i < len(body) and body[i] == '"':
            j, e = i + 1, []
            while body[j] != '"':
                if body[j] == "\\":
                    j += 1
                e.append(body[j])
                j += 1
            out.append("".join(e))
            i = j + 2
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            e = body[i:j]
            out.append(None if e == "NULL" else e)
            i = j + 1
    return out


def canon(typ, v, zone):
    if typ == "numeric":
        return canon_decimal(v)
    if typ == "float8":
        return canon_float(v)
    if typ == "date":
        return v.isoformat()
    if typ == "timestamptz":
        return str((v.replace(tzinfo=zone) - EPOCH) // MICROSECOND)
    if typ == "bool":
        return "t" if v else "f"
    if typ == "_text":
        return "[" + ",".join("N" if e is None else "%d:%s" % (len(e.encode()), e)
                              for e in parse_text_array(v)) + "]"
    return str(v)


def connect(zone):
    env = os.environ
    host = env.get("PGHOST", "localhost")
    # psqlODBC takes a socket directory as Servername like libpq does
    return pyodbc.connect(
        "Driver={PostgreSQL Unicode};Servername=%s;Port=%s;Database=%s;Username=%s;"
        "BoolsAsChar=0;ConnSettings=SET TimeZone='%s'"
        % (host, env.get("PGPORT", "5432"), env.get("PGDATABASE", "postgres"),
           env.get("PGUSER", "postgres"), zone),
        autocommit=True)


def main(argv):
    out_path, zone_name, rest = argv[1], argv[2], argv[3:]
    profiles, params = parse_args(rest)
    zone = zoneinfo.ZoneInfo(zone_name)
    conn = connect(zone_name)
    cur = conn.cursor()
    session_zone = cur.execute("SHOW TimeZone").fetchone()[0]
    lines, problems = [], []
    nrel = ncol = nval = 0
    if session_zone != zone_name:
        problems.append("session TimeZone is %s, not %s" % (session_zone, zone_name))
    for profile in profiles:
        schema, name = profile.split(".", 1)
        # the table list an ODBC tool shows (SQLTables): tables and views
        rels = sorted(t.table_name for t in cur.tables(schema=schema).fetchall()
                      if t.table_name.startswith(name + "_") and not t.table_name.startswith(name + "__"))
        if not rels:
            problems.append("%s: no relations" % profile)
        for relname in rels:
            label = "%s.%s" % (schema, relname)
            catalog = [(c.column_name, c.data_type, c.type_name)
                       for c in cur.columns(table=relname, schema=schema).fetchall()]
            rows = cur.execute('SELECT * FROM "%s"."%s"' % (schema.replace('"', '""'),
                                                          relname.replace('"', '""'))).fetchall()
            cols = [d[0] for d in cur.description]
            nrel += 1
            ncol += len(cols)
            if [c[0] for c in catalog] != cols:
                problems.append("%s: SQLColumns lists %s, the query returns %s"
                                % (label, [c[0] for c in catalog], cols))
                continue
            types = []
            for cname, sqltype, typname in catalog:
                types.append(typname)
                if typname not in ALLOWED:
                    problems.append("%s.%s: ODBC type %s (SQL type %d) is not a built-in type a profile may use"
                                    % (label, cname, typname, sqltype))
                elif sqltype not in ALLOWED[typname][0]:
                    problems.append("%s.%s: %s reported as ODBC SQL type %d" % (label, cname, typname, sqltype))
                elif typname == "_text" and cname != "tags":
                    problems.append("%s.%s: text[] is only for the tags column" % (label, cname))
            lines.append("%s columns %s" % (label, ",".join(cols)))
            lines.append("%s rows %d" % (label, len(rows)))
            for row in rows:
                parts = []
                for cname, typ, v in zip(cols, types, row):
                    if v is None:
                        parts.append("N")
                        continue
                    nval += 1
                    if typ in ALLOWED and type(v) is not ALLOWED[typ][1]:
                        problems.append("%s.%s: fetched %r (%s), not %s"
                                        % (label, cname, v, type(v).__name__, ALLOWED[typ][1].__name__))
                        c = str(v)
                    else:
                        c = canon(typ, v, zone)
                    parts.append("V%d:%s" % (len(c.encode()), c))
                lines.append("%s row %s" % (label, hashlib.md5("".join(parts).encode()).hexdigest()))
    for label, sql, value in params:
        try:
            lines.append("param %s %s" % (label, cur.execute(sql, value).fetchone()[0]))
        except pyodbc.Error as e:
            lines.append("param %s ERROR %s" % (label, e.args[0]))
    drv = conn.getinfo(pyodbc.SQL_DRIVER_NAME) + " " + conn.getinfo(pyodbc.SQL_DRIVER_VER)
    conn.close()
    what = "ODBC (%s, pyodbc %s, TimeZone %s): %d relations, %d columns of built-in types, %d values of their SQL types" \
           % (drv, pyodbc.version, session_zone, nrel, ncol, nval)
    return finish(out_path, lines, what, problems, nrel)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
