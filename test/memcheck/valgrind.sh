#!/bin/sh
# `make valgrind`: the whole suite (test/run) against a PostgreSQL server run
# under Valgrind memcheck, in a private copy of the installation under
# results/memcheck/valgrind. Fails if any error record Valgrind prints has a
# frame in persona (persona.so or a file of src/), and prints those records.
# PostgreSQL's own known reports are suppressed by test/memcheck/valgrind.supp;
# the remaining ones (in PostgreSQL or libc only) are counted, not fatal.
#   MEMCHECK_SUITE="cmd"  run something else than test/run (e.g. "make installcheck")
#   VALGRIND_OPTS         extra options for valgrind (e.g. --track-origins=no to go faster)
. "$(dirname "$0")/cluster.sh"
cd "$ROOT"

if ! command -v valgrind >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "memcheck: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
  echo "memcheck: installing valgrind"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi

mc_copy valgrind
# The ordinary build (with debug information) installed into the copy only.
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

L=$W/logs
rm -rf "$L"; mkdir -p "$L"
started=$(date +%s)
trap 'mc_stop' EXIT INT TERM
# --fullpath-after= prints full source paths, so persona's frames are
# recognised by the path of src/ as well as by persona.so.
mc_start valgrind --tool=memcheck --trace-children=yes --error-limit=no \
  --leak-check=no --track-origins=yes --num-callers=40 --fullpath-after= -s \
  --suppressions="$ROOT/test/memcheck/valgrind.supp" --gen-suppressions=all \
  --log-file="$L/%p.log" ${VALGRIND_OPTS:-}
echo "memcheck: server running under valgrind ($(($(date +%s) - started)) s to start); running ${MEMCHECK_SUITE:-test/run}"
status=0
# Under Valgrind everything runs some 30 times slower: the fuzz driver's short
# run gets long timeouts, and its late-cancel and hang counts (timings) do not
# fail the run; the memory errors it provokes still do.
export PERSONA_FUZZ_OPTS="${PERSONA_FUZZ_OPTS:---timeout 20000 --hang-ms 60000 --time 240 --nonfatal late,hang}"
# Peak memory under the checker is the checker's (shadow memory, quarantine):
# test/memory_spill.sh then checks its results, not its peaks.
export PERSONA_MEMCHECK=1
mc_run sh -c "${MEMCHECK_SUITE:-test/run}" || status=$?
mc_stop
trap - EXIT INT TERM
grep -h "Process terminating\|terminated with signal" "$L"/*.log 2>/dev/null | head -5 || true

# An error record is a run of "==pid== ..." lines between blank "==pid==" lines
# with at least one stack frame; the suppression stanza --gen-suppressions
# prints after it goes with it (paste it into valgrind.supp if the report is
# PostgreSQL's own).
rm -f "$W/persona-errors.txt" "$W/other-errors.txt"
awk -v src="$ROOT/src/" -v out="$W/persona-errors.txt" -v all="$W/other-errors.txt" '
  function flush() {
    last = ""
    if (rec ~ /   (at|by) 0x/) {
      last = (index(rec, src) || rec ~ /persona[.]so/) ? "p" : "o"
      if (last == "p") { printf "%s", rec > out; np++ } else { printf "%s", rec > all; no++ }
    }
    rec = ""
  }
  FNR == 1 { flush(); last = ""; done = 0 }
  # -s lists the errors again at exit, after the heap summary: skip that copy.
  /^==[0-9]+== HEAP SUMMARY:/ { flush(); done = 1 }
  done { next }
  /^==[0-9]+== *$/ { flush(); next }
  /^==[0-9]+== / { if (rec == "") rec = "-- " FILENAME "\n"; rec = rec $0 "\n"; next }
  last == "p" { print > out; next }
  last == "o" { print > all; next }
  END { flush(); print np + 0, no + 0 }
' "$L"/*.log > "$W/counts"
: >>"$W/persona-errors.txt"; : >>"$W/other-errors.txt"
set -- $(cat "$W/counts")
nlogs=$(ls "$L" | wc -l)
# Which suppressions matched, and how often (every process prints its own).
grep -h "used_suppression:" "$L"/*.log | awk '{n[$4] += $3} END {for (k in n) printf "  %6d  %s\n", n[k], k}' | sort -k2 > "$W/suppressed.txt"
suppressed=$(awk '{s += $1} END {print s + 0}' "$W/suppressed.txt")
echo "memcheck: valgrind: $nlogs processes, $1 error records with a persona frame, $2 in PostgreSQL/libc only, $suppressed suppressed ($(($(date +%s) - started)) s; logs in $L)"
if [ "$1" != 0 ]; then
  echo "memcheck: error records with a persona frame ($W/persona-errors.txt):"
  head -300 "$W/persona-errors.txt"
  status=1
fi
[ ! -s "$W/suppressed.txt" ] || { echo "memcheck: suppressed (test/memcheck/valgrind.supp):"; cat "$W/suppressed.txt"; }
[ "$2" = 0 ] || echo "memcheck: other unsuppressed records: $W/other-errors.txt"
[ $status = 0 ] && echo "memcheck: valgrind: passed" || echo "memcheck: valgrind: FAILED"
exit $status
