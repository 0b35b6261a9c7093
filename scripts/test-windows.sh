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
#      (scripts/build-windows-deps.sh; cached in build/windows-deps/, keyed
#      on the two source versions and the compiler);
#   3. cross-builds the library (DLL and static), the tests, the examples
#      and the benchmarks in build/windows (cross/x86_64-w64-mingw32.ini),
#      with warnings as errors, and checks the backend is asm-win64;
#   4. runs the whole Check suite under wine, without fork (CK_FORK=no:
#      Windows has no fork), and counts the tests that skipped themselves
#      because they cannot apply on Windows (each prints "skipped: <why>");
#   5. runs the seed walkthrough (examples/seed-*.exe under wine) through
#      test/test-seed.py, which compares each output with test/seed/<n>.expected
#      as on Linux, with the run times allowed wine's measured start-up
#      (--startup-allowance=auto);
#   6. runs the context-switch and task benchmarks under wine and prints
#      their figures (indicative only: wine is not Windows; no red-zone
#      stack and 10,000 tasks at most, see step 6).
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
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "${opts[@]}"
  else
    rm -rf "$dir"
    meson setup "$dir" --cross-file cross/x86_64-w64-mingw32.ini \
      --cross-file build/windows-deps/meson-cross.ini "${opts[@]}"
  fi
  ninja -C "$dir" -j"$jobs"
  # The library holds the Windows switch, and it is a PE32+ x86-64 object.
  x86_64-w64-mingw32-objdump -f "$dir/libauv_static.a" | grep -q 'pe-x86-64'
  x86_64-w64-mingw32-nm "$dir/libauv_static.a" | grep -q ' T auv__coro_switch_asm$'
  x86_64-w64-mingw32-nm "$dir/libauv_static.a" | grep -q ' R auv__coro_backend_name$'
  x86_64-w64-mingw32-objdump -s -j .rdata "$dir/libauv_static.a" |
    grep -q 'asm-win64'
  # The DLL exports the API and nothing internal.
  x86_64-w64-mingw32-objdump -p "$dir/libauv-0.dll" >"$logs/windows-dll-exports.txt"
  grep -q 'auv_loop_new' "$logs/windows-dll-exports.txt"
  if grep -q 'auv__' "$logs/windows-dll-exports.txt"; then
    echo "error: libauv-0.dll exports internal auv__ symbols" >&2
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
# Each test (or part of one) that cannot apply on Windows prints one line
# "skipped: <test>: <why>".
skipped=$(grep -c '^skipped: ' "$log" || true)
echo "== $skipped skipped on Windows:"
grep '^skipped: ' "$log" || true
if [ -z "$line" ]; then
  rc=1
  line="no Check summary line (exit $rc)"
elif ! grep -q 'Failures: 0, Errors: 0' <<<"$line"; then
  rc=1
fi
step_result check-suite "$t0" "$rc" "$line; $skipped test(s) skipped on Windows (see $log)"

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
# 6. Benchmarks (indicative: wine on Linux, not Windows)
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
(
  set -o pipefail
  brc=0
  echo "== bench-coro-switch.exe under wine"
  timeout 300 wine "$dir/bench/bench-coro-switch.exe" --redzone 0 </dev/null 2>&1 |
    tr -d '\r' || brc=1
  echo "== bench-tasks.exe under wine"
  timeout 300 wine "$dir/bench/bench-tasks.exe" --mem 10000 --million 0 \
    --sleep 100000 --spawn 100000 </dev/null 2>&1 | tr -d '\r' || brc=1
  exit "$brc"
) | tee "$logs/windows-bench.log"
rc=${PIPESTATUS[0]}
set -e
step_result benchmarks "$t0" "$rc" "figures in build/logs/windows-bench.log (wine: indicative only)"

echo
echo "================ auv Windows x64 (mingw-w64, wine) summary ================"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "scripts/test-windows.sh: failed after $((SECONDS - t_start))s; logs in build/logs/" >&2
  exit 1
fi
echo "windows: all steps passed in $((SECONDS - t_start))s"
