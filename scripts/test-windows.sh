#!/usr/bin/env bash
# scripts/test-windows.sh: build auv for Windows x64 with mingw-w64 and run
# its checks under wine, on a Debian machine.
#
#   bash scripts/test-windows.sh
#
# Non-interactive: as root with no stdin (CI), or as a user with sudo. It
#   1. installs what is missing: the mingw-w64 cross compiler, wine, cmake
#      and dpkg-dev;
#   2. builds libuv and Check for Windows from Debian's source packages
#      (scripts/build-windows-deps.sh; cached outside the clone, in
#      ${XDG_CACHE_HOME:-~/.cache}/auv/windows-deps/, keyed on the two
#      source versions, the compiler and that script; build/windows-deps
#      links to the entry in use);
#   3. cross-builds the library (DLL and static), the tests, the examples
#      and the benchmarks in build/windows (cross/x86_64-w64-mingw32.ini),
#      with warnings as errors; checks the backend is asm-win64, that the
#      DLL exports exactly the AUV_EXTERN functions of the public headers,
#      and that loop-demo.exe imports the DLL and loop-demo-static.exe
#      (the static library) none; then runs both under wine;
#   4. runs the whole Check suite under wine, without fork (CK_FORK=no:
#      Windows has no fork), and counts the tests that skipped themselves
#      because they cannot apply on Windows (test_skip in test/test.h
#      prints "skipped: NAME: why"; a test that skipped only a part of
#      itself prints "skipped part: NAME: why");
#   5. runs the seed walkthrough (examples/seed-*.exe under wine) through
#      test/test-seed.py, which compares each output with test/seed/<n>.expected
#      as on Linux, with the run times allowed wine's measured start-up
#      (--startup-allowance=auto);
#   6. runs the context-switch and task benchmarks natively on Linux
#      (build/windows-native) and under wine with the same options, and
#      prints their figures side by side (wine's are indicative only: wine
#      is not Windows; no red-zone stack and 10,000 tasks at most, see
#      step 6).
# Each step prints PASS or FAIL and its time; the exit status is 1 if any
# step failed.
#
# wine keeps its state in build/wine-prefix (WINEPREFIX), created on first
# use, and its server runs for the length of the script only. The server
# and wine's services are started up front with their standard streams on
# /dev/null: a service started by a test program would inherit that
# program's output pipe and hold it open (the pipeline, and any timing
# taken on it, would wait seconds for them).
#
# Environment: AUV_JOBS (compile jobs, default: core count),
# AUV_WINE_TIMEOUT (seconds the Check run may take, default 900).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

t_start=$SECONDS
jobs=$(auv_jobs)
dir=build/windows
logs=$root/build/logs
mkdir -p "$logs"
summary=()
failed=0

step_result() {   # NAME T0 RC DETAIL
  if [ "$3" -eq 0 ]; then
    summary+=("$(printf 'PASS  %-16s %4ds  %s' "$1" $((SECONDS - $2)) "$4")")
  else
    summary+=("$(printf 'FAIL  %-16s %4ds  %s' "$1" $((SECONDS - $2)) "$4")")
    failed=1
  fi
}

# ---------------------------------------------------------------------------
# 1. Packages
# ---------------------------------------------------------------------------
t0=$SECONDS
auv_install_packages meson ninja-build pkg-config python3 \
  gcc-mingw-w64-x86-64 wine wine64 cmake dpkg-dev make
step_result packages "$t0" 0 'mingw-w64 gcc, wine, cmake, dpkg-dev'

# ---------------------------------------------------------------------------
# 2. libuv and Check for Windows (cached)
# ---------------------------------------------------------------------------
t0=$SECONDS
set +e
bash scripts/build-windows-deps.sh 2>&1 | tee "$logs/windows-deps.log"
rc=${PIPESTATUS[0]}
set -e
step_result windows-deps "$t0" "$rc" "$(cat build/windows-deps/.stamp 2>/dev/null || echo 'not built')"
if [ "$rc" -ne 0 ]; then
  printf '%s\n' "${summary[@]}"
  exit 1
fi

# ---------------------------------------------------------------------------
# 3. The cross build
# ---------------------------------------------------------------------------
t0=$SECONDS
set +e
(
  set -euo pipefail
  opts=(-Dwarning_level=2 -Dwerror=true -Dtests=true -Dexamples=true
        -Dbenchmarks=true -Dbuildtype=debugoptimized)
  # Configured against one cache entry of the deps: another entry (new
  # versions) means a new build directory, not a relink against whatever
  # the old paths hold.
  if [ -f "$dir/build.ninja" ] &&
     cmp -s build/windows-deps/.stamp "$dir/.windows-deps-stamp"; then
    meson setup --reconfigure "$dir" "${opts[@]}"
  else
    rm -rf "$dir"
    meson setup "$dir" --cross-file cross/x86_64-w64-mingw32.ini \
      --cross-file build/windows-deps/meson-cross.ini "${opts[@]}"
    cp build/windows-deps/.stamp "$dir/.windows-deps-stamp"
  fi
  ninja -C "$dir" -j"$jobs"
  # The library holds the Windows switch, and it is a PE32+ x86-64 object.
  x86_64-w64-mingw32-objdump -f "$dir/libauv_static.a" | grep 'pe-x86-64' >/dev/null
  x86_64-w64-mingw32-nm "$dir/libauv_static.a" | grep ' T auv__coro_switch_asm$' >/dev/null
  x86_64-w64-mingw32-nm "$dir/libauv_static.a" | grep ' R auv__coro_backend_name$' >/dev/null
  x86_64-w64-mingw32-objdump -s -j .rdata "$dir/libauv_static.a" |
    grep 'asm-win64' >/dev/null
  # The DLL exports the API and nothing else: exactly the functions the
  # public headers declare AUV_EXTERN, no internal auv__ symbol.
  x86_64-w64-mingw32-objdump -p "$dir/libauv-0.2.dll" >"$logs/windows-dll-exports.txt"
  python3 - "$logs/windows-dll-exports.txt" include/auv.h include/auv/*.h <<'PY'
import re, sys
dump = open(sys.argv[1]).read()
table = dump.split('[Ordinal/Name Pointer] Table', 1)[1].split('\n\n', 1)[0]
exported = set(re.findall(r'\]\s+(\S+)', table))
declared = set()
for path in sys.argv[2:]:
    text = re.sub(r'^\s*#.*$', '', open(path).read(), flags=re.M)
    for decl in re.findall(r'\bAUV_EXTERN\b([^;{]*)', text):
        declared.update(re.findall(r'\b([A-Za-z_]\w*)\s*\(', decl)[:1])
internal = sorted(n for n in exported if n.startswith('auv__'))
missing, extra = sorted(declared - exported), sorted(exported - declared)
print('libauv-0.2.dll exports %d symbols; the headers declare %d AUV_EXTERN '
      'functions' % (len(exported), len(declared)))
for what, names in (('internal symbols exported', internal),
                    ('declared but not exported', missing),
                    ('exported but not declared', extra)):
    if names:
        print('error: %s: %s' % (what, ' '.join(names)), file=sys.stderr)
sys.exit(1 if internal or missing or extra or not declared else 0)
PY
  # A program links either library: loop-demo.exe imports libauv-0.2.dll;
  # loop-demo-static.exe (the same source, AUV_STATIC, libauv_static.a)
  # imports no auv DLL. Both run under wine after the prefix is made.
  x86_64-w64-mingw32-objdump -p "$dir/examples/loop-demo.exe" |
    grep 'DLL Name: libauv-0.2.dll' >/dev/null
  if x86_64-w64-mingw32-objdump -p "$dir/examples/loop-demo-static.exe" |
      grep -i 'DLL Name: libauv' >/dev/null; then
    echo "error: loop-demo-static.exe imports an auv DLL" >&2
    exit 1
  fi
) 2>&1 | tee "$logs/windows-build.log"
rc=${PIPESTATUS[0]}
set -e
step_result cross-build "$t0" "$rc" "$dir: DLL, static library, tests, examples, benchmarks"
if [ "$rc" -ne 0 ]; then
  printf '%s\n' "${summary[@]}"
  exit 1
fi

# ---------------------------------------------------------------------------
# wine: its own prefix under build/, no debug chatter, a server that lives
# for this script (every program start would otherwise pay for starting
# one, which the seed timings cannot afford), and the DLL on the path.
# First the prefix is created or updated (its server then exits, saving
# the registry), then the persistent server starts, then a plain boot
# starts wine's services under it; all with stdio on /dev/null (see top).
# ---------------------------------------------------------------------------
export WINEPREFIX=$root/build/wine-prefix
export WINEDEBUG=-all
export WINEDLLOVERRIDES='mscoree,mshtml='
export WINEPATH="Z:${root//\//\\}\\build\\windows"
t0=$SECONDS
wineboot -i </dev/null >/dev/null 2>&1 || true
wineserver -w </dev/null >/dev/null 2>&1 || true
wineserver -p 600 </dev/null >/dev/null 2>&1
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT
wineboot </dev/null >/dev/null 2>&1 || true
step_result wine-prefix "$t0" 0 "$WINEPREFIX ($(wine --version 2>/dev/null))"

# ---------------------------------------------------------------------------
# 3b. Both libraries at run time: loop-demo through libauv-0.2.dll and
# loop-demo-static with the static library print the same trace (the
# times in brackets aside) and exit 0.
# ---------------------------------------------------------------------------
t0=$SECONDS
set +e
(
  set -euo pipefail
  for exe in loop-demo loop-demo-static; do
    timeout 60 wine "$dir/examples/$exe.exe" </dev/null | tr -d '\r' |
      sed 's/^\[ *[0-9.]* ms\] //' >"$logs/windows-$exe.txt"
  done
  diff "$logs/windows-loop-demo.txt" "$logs/windows-loop-demo-static.txt"
  grep -q 'run_until_complete returned 0 with "the answer"' \
    "$logs/windows-loop-demo-static.txt"
) 2>&1 | tee "$logs/windows-link.log"
rc=${PIPESTATUS[0]}
set -e
step_result dll-and-static "$t0" "$rc" "loop-demo.exe (libauv-0.2.dll) and loop-demo-static.exe (libauv_static.a) agree"

# ---------------------------------------------------------------------------
# 4. The Check suite
# ---------------------------------------------------------------------------
t0=$SECONDS
log=$logs/windows-check.log
set +e
CK_FORK=no CK_VERBOSITY=normal timeout "${AUV_WINE_TIMEOUT:-900}" \
  wine "$dir/test/auv-tests.exe" </dev/null 2>&1 | tr -d '\r' | tee "$log"
rc=${PIPESTATUS[0]}
set -e
line=$(grep -Eo '[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1 || true)
# Each test that cannot apply on Windows prints one line "skipped: NAME:
# why", each one that skips a part of itself "skipped part: NAME: why"
# (listed here indented, so that scripts/count-tests.py, which reads this
# output in scripts/test.sh's windows step, counts each skip once).
skipped=$(grep -c '^skipped: ' "$log" || true)
parts=$(grep -c '^skipped part: ' "$log" || true)
echo "== $skipped test(s) skipped on Windows, $parts with a part skipped:"
grep -E '^skipped( part)?: ' "$log" | sed 's/^/   /' || true
if [ -z "$line" ]; then
  rc=1
  line="no Check summary line (exit $rc)"
elif ! grep -q 'Failures: 0, Errors: 0' <<<"$line"; then
  rc=1
fi
step_result check-suite "$t0" "$rc" "$line; $skipped test(s) skipped on Windows and $parts in part (see $log)"

# ---------------------------------------------------------------------------
# 5. The seed walkthrough
# ---------------------------------------------------------------------------
t0=$SECONDS
set +e
MESON_EXE_WRAPPER=wine python3 test/test-seed.py --startup-allowance=auto test/seed \
  "$dir"/examples/seed-{1-coroutine,2-chained,3-call-soon,4-call-later,5-call-at}.exe \
  2>&1 | tr -d '\r' | tee "$logs/windows-seed.log"
rc=${PIPESTATUS[0]}
set -e
step_result seed-walkthrough "$t0" "$rc" "$(tail -1 "$logs/windows-seed.log")"

# ---------------------------------------------------------------------------
# 6. Benchmarks (indicative: wine on Linux, not Windows), beside Linux's
# ---------------------------------------------------------------------------
t0=$SECONDS
set +e
# Options: every Windows stack has a guard page, so there is no red-zone
# stack to measure (--redzone 0); and under wine each guarded stack costs
# the Linux host two memory mappings, so vm.max_map_count (65530) caps
# wine at about 32,000 live tasks, where Windows has no such limit: the
# memory figure weighs 10,000 and the million-task run is left out. A
# loop iteration under wine costs about 2 us (its I/O completion port goes
# through the wine server), so the round trips are 100,000 per sample.
# The same two programs, built natively in $native with the cross build's
# optimisation (debugoptimized: -O2), run on Linux with the same options
# first; a table then puts the medians of the two side by side.
native=build/windows-native
switch_args=(--redzone 0)
tasks_args=(--mem 10000 --million 0 --sleep 100000 --spawn 100000)
(
  set -o pipefail
  brc=0
  if [ -f "$native/build.ninja" ]; then
    meson setup --reconfigure "$native" -Dbuildtype=debugoptimized \
      -Dtests=false -Dexamples=false -Dbenchmarks=true \
      >"$logs/windows-bench-build.log" 2>&1 ||
      { echo "error: meson setup $native failed (see $logs/windows-bench-build.log)"; brc=1; }
  else
    meson setup "$native" -Dbuildtype=debugoptimized \
      -Dtests=false -Dexamples=false -Dbenchmarks=true \
      >"$logs/windows-bench-build.log" 2>&1 ||
      { echo "error: meson setup $native failed (see $logs/windows-bench-build.log)"; brc=1; }
  fi
  ninja -C "$native" -j"$jobs" bench/bench-coro-switch bench/bench-tasks \
    >>"$logs/windows-bench-build.log" 2>&1 ||
    { echo "error: building the native benchmarks failed (see $logs/windows-bench-build.log)"; brc=1; }
  echo "== bench-coro-switch on Linux"
  timeout 120 "$native/bench/bench-coro-switch" "${switch_args[@]}" ||
    { echo "error: bench-coro-switch exited $?"; brc=1; }
  echo "== bench-tasks on Linux"
  timeout 120 "$native/bench/bench-tasks" "${tasks_args[@]}" ||
    { echo "error: bench-tasks exited $?"; brc=1; }
  echo "== bench-coro-switch.exe under wine"
  timeout 300 wine "$dir/bench/bench-coro-switch.exe" "${switch_args[@]}" \
    </dev/null 2>&1 | tr -d '\r' ||
    { echo "error: bench-coro-switch.exe exited ${PIPESTATUS[0]}"; brc=1; }
  echo "== bench-tasks.exe under wine"
  timeout 300 wine "$dir/bench/bench-tasks.exe" "${tasks_args[@]}" \
    </dev/null 2>&1 | tr -d '\r' ||
    { echo "error: bench-tasks.exe exited ${PIPESTATUS[0]}"; brc=1; }
  exit "$brc"
) | tee "$logs/windows-bench.log"
rc=${PIPESTATUS[0]}
# The table: each benchmark's median ns_per_op over its samples, Linux
# (section "on Linux") and wine ("under wine"); every one must be there.
python3 - "$logs/windows-bench.log" <<'PY' | tee "$logs/windows-bench-table.txt"
import re, statistics, sys
figures = {}
where = None
for line in open(sys.argv[1]):
    if line.startswith('== '):
        where = 'linux' if 'on Linux' in line else 'wine'
    m = re.match(r'RESULT bench=(\S+) .*ns_per_op=([0-9.]+)', line)
    if m and where:
        figures.setdefault((m.group(1), where), []).append(float(m.group(2)))
names = [('coro_switch', 'switch, task <-> task'),
         ('coro_switch_raw', 'switch, raw'),
         ('coro_switch_call', 'switch + call'),
         ('task_sleep0', 'await sleep(0) round trip'),
         ('task_spawn', 'task spawn + join')]
print('%-18s %-27s %10s %10s %7s' % ('benchmark', '', 'Linux ns', 'wine ns',
                                     'ratio'))
missing = 0
for key, what in names:
    lx, wn = figures.get((key, 'linux')), figures.get((key, 'wine'))
    if not lx or not wn:
        print('%-18s %-27s missing' % (key, what))
        missing += 1
        continue
    a, b = statistics.median(lx), statistics.median(wn)
    print('%-18s %-27s %10.1f %10.1f %6.1fx' % (key, what, a, b, b / a))
print('(medians of the samples; the same machine, options and -O2 on both '
      'sides. wine figures are indicative only: wine is not Windows, and '
      'its I/O completion port goes through the wine server)')
sys.exit(1 if missing else 0)
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
set -e
step_result benchmarks "$t0" "$rc" "Linux beside wine in build/logs/windows-bench-table.txt (wine: indicative only)"

echo
echo "================ auv Windows x64 (mingw-w64, wine) summary ================"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "scripts/test-windows.sh: failed after $((SECONDS - t_start))s; logs in build/logs/" >&2
  exit 1
fi
echo "windows: all steps passed in $((SECONDS - t_start))s"
