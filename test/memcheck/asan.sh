#!/bin/sh
# `make asan`: persona built with AddressSanitizer and UndefinedBehaviorSanitizer
# (-fsanitize=address,undefined) from a copy of the sources in
# results/memcheck/asan/build, installed into a private copy of the PostgreSQL
# installation in results/memcheck/asan/pg (never into the normal install
# location, and the worktree's objects are untouched), and the whole suite
# (test/run) against that server started with libasan preloaded. Fails on any
# sanitizer report and prints them. The server itself is not instrumented:
# overruns inside a palloc block (a memory context's chunk) are not seen.
#   ASan halts the process at the first error (memory is corrupt after it);
#   UBSan reports every error and continues, so one run lists them all.
#   Leak detection is off: PostgreSQL frees memory contexts, not blocks, and
#   leaves them to process exit by design.
#   MEMCHECK_SUITE="cmd"  run something else than test/run
#   MEMCHECK_SANITIZE     address,undefined (default) or undefined (UBSan alone)
#   ASAN_CFLAGS           the compiler flags (default below)
. "$(dirname "$0")/cluster.sh"
cd "$ROOT"

CC=${CC:-gcc}
SANITIZE=${MEMCHECK_SANITIZE:-address,undefined}
ASAN_CFLAGS=${ASAN_CFLAGS:--fsanitize=$SANITIZE -fno-omit-frame-pointer -fno-common -g}
# The runtime is preloaded so that it starts before main(). UBSan alone
# starts at its first report and then may not see UBSAN_OPTIONS (PostgreSQL
# overwrites its environment area with the process title): its reports go to
# stderr, the server log, which is checked as well.
case $SANITIZE in
  *address*) rt=libasan ;;
  *) rt=libubsan ;;
esac
preload=$($CC -print-file-name=$rt.so)
[ -e "$preload" ] || { echo "memcheck: $CC has no $rt (apt-get install ${rt}8 or ${rt}1)" >&2; exit 1; }

mc_copy asan
# The server is not instrumented: the ASan runtime must be loaded before
# anything else, and with it a stub of swift_demangle without which libasan
# hangs postgres at start on Debian 12 (see swift_demangle.c).
case $SANITIZE in
  *address*)
    $CC -shared -fPIC -O2 -o "$W/swift_demangle.so" test/memcheck/swift_demangle.c
    preload="$preload $W/swift_demangle.so" ;;
esac
if [ -n "$preload" ]; then
  probe=0
  timeout 60 env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 "$B/postgres" --version >/dev/null 2>&1 || probe=$?
  if [ $probe != 0 ]; then
    echo "memcheck: asan: postgres with $preload preloaded does not start here (exit $probe;" \
         "124 = hung at start)." \
         "Run MEMCHECK_SANITIZE=undefined make asan for UBSan alone, and make valgrind for memory errors." >&2
    exit 1
  fi
fi

Bd=$W/build
rm -rf "$Bd"; mkdir -p "$Bd/src"
cp Makefile persona.control "$Bd/"
cp -R sql "$Bd/"
cp src/*.c src/*.h "$Bd/src/"
# PG_CFLAGS from the environment: the Makefile's own flags are added to it.
PG_CFLAGS="$ASAN_CFLAGS ${PG_CFLAGS:-}" make -s -C "$Bd" PG_CONFIG="$PG_CONFIG" >/dev/null
make -s -C "$Bd" PG_CONFIG="$PG_CONFIG" install >/dev/null
lib=$("$PG_CONFIG" --pkglibdir)/persona.so
readelf -d "$lib" | grep -q 'libasan\|libubsan' ||
  { echo "memcheck: $lib is not a sanitizer build" >&2; exit 1; }
syslib=$("$SYSTEM_PG_CONFIG" --pkglibdir)/persona.so
if [ -e "$syslib" ] && readelf -d "$syslib" | grep -q 'libasan\|libubsan'; then
  echo "memcheck: $syslib (the normal install location) is a sanitizer build: reinstall persona" >&2; exit 1
fi

L=$W/logs
rm -rf "$L"; mkdir -p "$L"
started=$(date +%s)
trap 'mc_stop' EXIT INT TERM
mc_start env LD_PRELOAD="$preload" \
  ASAN_OPTIONS="log_path=$L/asan:detect_leaks=0:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:print_suppressions=0:${ASAN_OPTIONS:-}" \
  UBSAN_OPTIONS="log_path=$L/ubsan:print_stacktrace=1:halt_on_error=0:report_error_type=1:${UBSAN_OPTIONS:-}"
echo "memcheck: server running with -fsanitize=$SANITIZE; running ${MEMCHECK_SUITE:-test/run}"
status=0
# Peak memory under the checker is the checker's (shadow memory, quarantine):
# test/memory_spill.sh then checks its results, not its peaks.
export PERSONA_MEMCHECK=1
mc_run sh -c "${MEMCHECK_SUITE:-test/run}" || status=$?
mc_stop
trap - EXIT INT TERM

# Reports go to $L, or to stderr (the server log) when the runtime started
# before it could read its options (libasan starts inside a library
# constructor here): both are checked.
pat="-e runtime.error: -e ERROR:.AddressSanitizer -e ERROR:.LeakSanitizer -e Sanitizer:DEADLYSIGNAL"
grep -n $pat "$D/server.log" > "$W/server-log-reports.txt" || true
reports=$(ls "$L" | wc -l)
inlog=$(wc -l < "$W/server-log-reports.txt")
inpersona=$(cat "$L"/* "$W/server-log-reports.txt" 2>/dev/null | grep -c -e 'persona\.so' -e '\bsrc/[a-z_0-9]*\.[ch]:' || true)
echo "memcheck: asan: $reports report files, $inlog reports in the server log, $inpersona lines naming persona ($(($(date +%s) - started)) s; logs in $L)"
if [ "$reports" != 0 ] || [ "$inlog" != 0 ]; then
  { for f in "$L"/*; do [ -e "$f" ] && { echo "-- $f"; head -60 "$f"; }; done
    [ "$inlog" = 0 ] || { echo "-- $D/server.log"; grep -A40 $pat "$D/server.log"; }; } | head -400
  status=1
fi
[ $status = 0 ] && echo "memcheck: asan: passed" || echo "memcheck: asan: FAILED"
exit $status
