#!/bin/sh
# `make asan`: persona built with AddressSanitizer and UndefinedBehaviorSanitizer
# (-fsanitize=address,undefined) from a copy of the sources in
# results/memcheck/asan/build, installed into a private copy of the PostgreSQL
# installation in results/memcheck/asan/pg (never into the normal install
# location, and the worktree's objects are untouched), and the whole suite
# (test/run) against that server started with libasan preloaded. Fails on any
# sanitizer report and prints them.
#   ASan halts the process at the first error (memory is corrupt after it);
#   UBSan reports every error and continues, so one run lists them all.
#   Leak detection is off: PostgreSQL frees memory contexts, not blocks, and
#   leaves them to process exit by design.
#   MEMCHECK_SUITE="cmd"  run something else than test/run
#   ASAN_CFLAGS           the sanitizer flags (default below)
. "$(dirname "$0")/cluster.sh"
cd "$ROOT"

CC=${CC:-gcc}
libasan=$($CC -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "memcheck: $CC has no libasan (apt-get install libasan8)" >&2; exit 1; }
ASAN_CFLAGS=${ASAN_CFLAGS:--fsanitize=address,undefined -fno-omit-frame-pointer -fno-common -g}

mc_copy asan
Bd=$W/build
rm -rf "$Bd"; mkdir -p "$Bd/src"
cp Makefile persona.control "$Bd/"
cp -R sql "$Bd/"
cp src/*.c src/*.h "$Bd/src/"
# PG_CFLAGS from the environment: the Makefile's own flags are added to it.
PG_CFLAGS="$ASAN_CFLAGS ${PG_CFLAGS:-}" make -s -C "$Bd" PG_CONFIG="$PG_CONFIG" >/dev/null
make -s -C "$Bd" PG_CONFIG="$PG_CONFIG" install >/dev/null
lib=$("$PG_CONFIG" --pkglibdir)/persona.so
readelf -d "$lib" | grep -q 'libasan' ||
  { echo "memcheck: $lib is not an ASan build" >&2; exit 1; }
syslib=$("$SYSTEM_PG_CONFIG" --pkglibdir)/persona.so
if [ -e "$syslib" ] && readelf -d "$syslib" | grep -q 'libasan'; then
  echo "memcheck: $syslib (the normal install location) is an ASan build: reinstall persona" >&2; exit 1
fi

L=$W/logs
rm -rf "$L"; mkdir -p "$L"
started=$(date +%s)
trap 'mc_stop' EXIT INT TERM
mc_start env LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="log_path=$L/asan:detect_leaks=0:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:print_suppressions=0:${ASAN_OPTIONS:-}" \
  UBSAN_OPTIONS="log_path=$L/ubsan:print_stacktrace=1:halt_on_error=0:report_error_type=1:${UBSAN_OPTIONS:-}"
echo "memcheck: server running with ASan and UBSan; running ${MEMCHECK_SUITE:-test/run}"
status=0
mc_run sh -c "${MEMCHECK_SUITE:-test/run}" || status=$?
mc_stop
trap - EXIT INT TERM

reports=$(ls "$L" | wc -l)
inpersona=$(grep -l -e "persona\.so" -e "$ROOT/src/\|$Bd/src/\|src/[a-z_]*\.c:" "$L"/* 2>/dev/null | wc -l)
echo "memcheck: asan: $reports report files ($inpersona with a persona frame) ($(($(date +%s) - started)) s; logs in $L)"
if [ "$reports" != 0 ]; then
  for f in "$L"/*; do echo "-- $f"; head -60 "$f"; done | head -400
  status=1
fi
[ $status = 0 ] && echo "memcheck: asan: passed" || echo "memcheck: asan: FAILED"
exit $status
