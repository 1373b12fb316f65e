#!/usr/bin/python3
"""Read persona profiles the way SQLAlchemy users (Superset, notebooks) do.

    profile_check_sqlalchemy.py OUT SCHEMA.NAME... [--param LABEL SQL VALUE]...

Connection from the PG* environment (psycopg2 dialect), TimeZone from PGTZ.
For every relation of each profile (schema, name NAME_x, not NAME__x):
  - the inspector reflects every column with a standard SQLAlchemy type
    (Integer, Numeric, Float, Date, TIMESTAMP WITH TIME ZONE, Boolean, Text;
    ARRAY of Text only for tags), never NullType, which is what SQLAlchemy
    gives a type it does not know (an extension's type or an enum);
  - the rows read through a reflected Table have values of those types.
Prints TAP lines and writes to OUT, in canonical.sql's line format, each
relation's columns, row count and per-row digests, and for each --param the
count with VALUE bound to the query's ? (as :value).
"""
import hashlib
import sys

import sqlalchemy as sa
from sqlalchemy.sql import sqltypes

from profile_check import canon, finish, parse_args, value_ok

# reflected type class -> the type OID profile_check.canon and value_ok know
TYPE_OIDS = [
    (sqltypes.SmallInteger, 21), (sqltypes.BigInteger, 20), (sqltypes.Integer, 23),
    (sqltypes.Float, 701), (sqltypes.Numeric, 1700), (sqltypes.Date, 1082),
    (sqltypes.Boolean, 16), (sqltypes.ARRAY, 1009), (sqltypes.Text, 25),
]


def type_oid(t):
    """The OID a reflected column type stands for, or None if it is not allowed."""
    if isinstance(t, sqltypes.NullType):
        return None
    if isinstance(t, (sqltypes.TIMESTAMP, sqltypes.DateTime)):
        return 1184 if getattr(t, "timezone", False) else None
    for cls, oid in TYPE_OIDS:
        if isinstance(t, cls):
            if oid == 1009 and not isinstance(t.item_type, sqltypes.Text):
                return None
            if oid == 25 and isinstance(t, sqltypes.Enum):
                return None
            return oid
    return None


def main(argv):
    out_path, rest = argv[1], argv[2:]
    profiles, params = parse_args(rest)
    engine = sa.create_engine("postgresql+psycopg2://")
    insp = sa.inspect(engine)
    lines, problems = [], []
    nrel = ncol = nval = 0
    with engine.connect() as conn:
        zone = conn.execute(sa.text("SHOW TimeZone")).scalar()
        for profile in profiles:
            schema, name = profile.split(".", 1)
            names = insp.get_table_names(schema=schema) + insp.get_view_names(schema=schema)
            rels = sorted(r for r in names if r.startswith(name + "_") and not r.startswith(name + "__"))
            if not rels:
                problems.append("%s: no relations" % profile)
            for relname in rels:
                label = "%s.%s" % (schema, relname)
                reflected = insp.get_columns(relname, schema=schema)
                oids = []
                for c in reflected:
                    oid = type_oid(c["type"])
                    oids.append(oid)
                    if oid is None:
                        problems.append("%s.%s: reflected as %r, not a standard type" % (label, c["name"], c["type"]))
                    elif oid == 1009 and c["name"] != "tags":
                        problems.append("%s.%s: ARRAY is only for the tags column" % (label, c["name"]))
                table = sa.Table(relname, sa.MetaData(), schema=schema, autoload_with=conn)
                rows = conn.execute(sa.select(table)).fetchall()
                cols = [c.name for c in table.columns]
                nrel += 1
                ncol += len(cols)
                lines.append("%s columns %s" % (label, ",".join(cols)))
                lines.append("%s rows %d" % (label, len(rows)))
                for row in rows:
                    parts = []
                    for cname, oid, v in zip(cols, oids, row):
                        if v is None:
                            parts.append("N")
                            continue
                        nval += 1
                        if oid is not None and not value_ok(oid, v):
                            problems.append("%s.%s: fetched %r (%s)" % (label, cname, v, type(v).__name__))
                        c = canon(oid, v) if oid is not None else str(v)
                        parts.append("V%d:%s" % (len(c.encode()), c))
                    lines.append("%s row %s" % (label, hashlib.md5("".join(parts).encode()).hexdigest()))
        for label, sql, value in params:
            try:
                n = conn.execute(sa.text(sql.replace("?", ":value")), {"value": value}).scalar()
                lines.append("param %s %s" % (label, n))
            except sa.exc.DBAPIError as e:
                lines.append("param %s ERROR %s" % (label, getattr(e.orig, "pgcode", "")))
    what = "SQLAlchemy %s (TimeZone %s): %d relations, %d columns reflected as standard types, %d values of them" \
           % (sa.__version__, zone, nrel, ncol, nval)
    return finish(out_path, lines, what, problems, nrel)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
