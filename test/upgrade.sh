#!/bin/sh
# Upgrade path: a database created at every earlier version and brought up
# to date with ALTER EXTENSION persona UPDATE has exactly the objects of a
# fresh CREATE EXTENSION (compared through pg_dump --binary-upgrade, which
# prints every member of an extension), and a 0.1.0 database works with the
# new library before it is updated.
set -eu
export PGOPTIONS="-c client_min_messages=warning"
fresh=persona_upgrade_fresh
old=persona_upgrade_old
mkdir -p results; a=results/upgrade_fresh.dump; b=results/upgrade_old.dump
trap 'rm -f "$a" "$b"' EXIT
psql -X -q -c "DROP DATABASE IF EXISTS $fresh" -c "DROP DATABASE IF EXISTS $old" \
     -c "CREATE DATABASE $fresh" -c "CREATE DATABASE $old"
psql -X -q -v ON_ERROR_STOP=1 -d $fresh -c "CREATE EXTENSION persona"
psql -X -q -v ON_ERROR_STOP=1 -d $old -c "CREATE EXTENSION persona VERSION '0.1.0'"

# 0.1.0's bgnbd_fit runs on the new library before the update.
fit="SELECT round((persona.bgnbd_fit(x, t_x, t_cal)).loglik::numeric, 2)
     FROM (VALUES (2, 30.43, 38.86), (1, 1.71, 38.86), (0, 0, 38.86), (0, 0, 38.86), (5, 30, 35)) v(x, t_x, t_cal)"
before=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -d $old -c "$fit")
psql -X -q -v ON_ERROR_STOP=1 -d $old -c "ALTER EXTENSION persona UPDATE"
after=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -d $old -c "$fit")
version=$(psql -X -A -t -q -d $old -c "SELECT extversion FROM pg_extension WHERE extname = 'persona'")

# Objects may differ only in OIDs, transaction ids and the order of creation.
normalise() {
  pg_dump --schema-only --binary-upgrade -d "$1" |
    grep -v -e 'binary_upgrade_set' -e '^--' -e '^$' -e 'pg_catalog.set_config' \
            -e 'relfrozenxid' -e '^\\restrict' -e '^\\unrestrict' |
    sed -E "s/'[0-9]{4,}'/'<oid>'/g; s/\{[0-9]{4,}(,[0-9]{4,})*\}/{<oids>}/g" | sort
}
normalise $fresh > "$a"
normalise $old > "$b"
status=0
if ! diff -u "$a" "$b" > /dev/null; then
  echo "not ok - 0.1.0 updated to $version differs from a fresh install:"
  diff -u "$a" "$b" | head -40
  status=1
elif [ "$before" != "$after" ]; then
  echo "not ok - bgnbd_fit before the update gave $before, after $after"
  status=1
else
  echo "ok - 0.1.0 -> $version by ALTER EXTENSION UPDATE equals a fresh install ($(wc -l < "$a") lines of pg_dump --binary-upgrade); 0.1.0's bgnbd_fit ran on the new library (loglik $before)"
fi
psql -X -q -c "DROP DATABASE $fresh" -c "DROP DATABASE $old"
exit $status
