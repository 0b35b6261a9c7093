#!/usr/bin/env bash
# scripts/test.sh: build auv and run every test it has.
#
#   bash scripts/test.sh
#
# Installs the Debian packages that are missing, then runs these steps, each
# in its own build directory under build/, and stops at the first failure:
#
#   debug     -Dwarning_level=2 -Dwerror=true (-Wall -Wextra -Werror), every
#             target (library, tests, benchmarks, examples), meson test -v
#             (with libcurl and hiredis found, as installed below, the
#             examples curl-multi and redis and the suites "curl" and
#             "redis" are among them, here and in the asan and valgrind
#             steps; the cross builds, aarch64 and windows, have neither
#             library for their target and skip them)
#   asan      the same suites built with -Db_sanitize=address,undefined,
#             halting on the first report
#   valgrind  the debug build's suites under memcheck (meson test --setup
#             valgrind, defined in test/meson.build): no error, no leak
#   tsan      the thread-safety and executor suites, and the
#             task and coro suites (ThreadSanitizer's fiber annotations),
#             built with -Db_sanitize=thread
#   ucontext  the whole suite again with the portable coroutine backend
#             (-Dcoro_backend=ucontext), natively and under memcheck
#   ucontext-asan  the same backend under ASan + UBSan
#   clang     every target built with clang at -O2 (-Doptimization=2, asserts
#             kept: -Db_ndebug=false) and -Werror, meson test -v: behaviour
#             that depends on the compiler shows (an infinite recursion that
#             gcc -O2 happened to fold away hung under clang -O2)
#   coverage  a gcc build with -Db_coverage=true (gcov), meson test -v, then
#             gcovr's per-file line coverage of src/*.c, printed and checked
#             against the floors in test/coverage-floors.txt (one line per
#             file; scripts/coverage-check.py): a file below its floor, or
#             a src/*.c file without one, fails. The full report, with the
#             lines never run, is build/logs/coverage.txt. Always gcc,
#             whatever CC says: the floors were measured with gcc's gcov
#   fuzz      the stream reader's libFuzzer target (fuzz/fuzz-reader.c) built
#             with clang -fsanitize=fuzzer,address,undefined against a
#             library instrumented with -fsanitize=fuzzer-no-link, run for
#             AUV_FUZZ_SECONDS (default 60) from the seeds in fuzz/corpus/;
#             any crash, leak or mismatch with its reference model fails
#   aarch64   cross-built for arm64 with Debian's gcc-aarch64-linux-gnu and
#             arm64 libuv/check, the whole suite run under qemu-aarch64, with
#             the assembly backend and with ucontext (scripts/test-aarch64.sh)
#   windows   Windows x64: libuv and Check built from Debian's source
#             packages with mingw-w64 (cached outside the clone, in
#             ${XDG_CACHE_HOME:-~/.cache}/auv/windows-deps/<key>, keyed on the
#             source versions: scripts/build-windows-deps.sh), auv
#             cross-built, the whole suite, the seed walkthrough and the
#             switch benchmarks run under wine (scripts/test-windows.sh)
#   wraps     the meson wrap fallbacks (subprojects/*.wrap and our meson
#             overlays in subprojects/packagefiles/), what Windows and
#             macOS users build: Debian's libuv1 and check source packages
#             (cached outside the clone, in
#             ${XDG_CACHE_HOME:-~/.cache}/auv/debian-sources/, keyed on the
#             versions) laid into a copy of the tree under the wraps'
#             directory names, built with --force-fallback-for=libuv,check
#             and -Werror, the whole suite run on them; then a meson
#             project that uses auv as a subproject
#             (test/install/subproject-consumer/) built and run
#             (scripts/test-wraps.sh)
#   header    <auv.h> compiled as C99 and C++11 with -pedantic -Werror
#             (scripts/header-test.sh)
#   docs      the public headers checked against the mechanical rules of
#             the API vocabulary, docs/design.md section 1a
#             (scripts/api-check.py: prefixes, _fn typedefs, enum families,
#             size_t counts, task and future forms, close/free shapes,
#             getter shapes); every complete C program in README.md and
#             docs/*.md compiled (-Wall -Werror) and run, every quoted
#             prototype checked against include/ and every public function
#             quoted somewhere, every relative link checked
#             (scripts/doc-programs.sh)
#   install   meson install, then a pkg-config and a CMake find_package(auv)
#             consumer (test/install/run.sh)
#
# Check prints one summary line per run ("100%: Checks: N, Failures: 0,
# Errors: 0"); meson test -v lets it through. A test that cannot run on a
# platform or under a tool says so through test_skip (test/test.h), which
# prints "skipped: NAME: why" (a part of a test: "skipped part: NAME:
# why"), or exits 77 for meson (SKIP). The script ends with one line per
# step, with the tests it ran (scripts/count-tests.py reads its log: a
# skipped test counts as skipped, not passed) and, under it, the count and
# names of the tests it skipped; then the closing line
#   tests: N passed, M failed, K skipped
# totals over every step that ran, each test counted once per run (the
# debug, asan and valgrind steps run the same tests three times).
#
# Environment: AUV_JOBS (compile jobs, default: core count), CC (compiler for
# every build; gcc by default; the fuzz and clang steps always use clang,
# the coverage step gcc), AUV_STEPS (space-separated subset of the steps
# above, in order; default: all), AUV_FUZZ_SECONDS (how long the fuzz step
# fuzzes), AUV_CACHE_DIR (what CI builds from source and keeps between runs
# and clones; default ${XDG_CACHE_HOME:-~/.cache}/auv).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# g++ for the header test's C++ build; gcovr for the coverage step;
# python3-uvloop is the benchmarks' peer (bench/), installed here so that a
# test machine can also run them.
# clang and libclang-rt-14-dev (Debian 12: the libFuzzer and sanitizer
# runtimes of clang 14, which clang itself does not pull in) for the fuzz
# step.
# libcurl4-openssl-dev, libhiredis-dev and redis-server for the examples
# and the suites "curl" and "redis" (docs/clibs.md: third-party C
# libraries on auv's loop; the meson features 'curl' and 'hiredis' are
# auto, so without them those are skipped, never failed). The library
# itself needs none of them. The redis tests start redis-server
# themselves, on a Unix socket in a temporary directory; the service the
# package may start on port 6379 is not used.
auv_install_packages gcc g++ libc6-dev meson ninja-build pkg-config \
  libuv1-dev check valgrind cmake python3 python3-uvloop \
  clang libclang-rt-14-dev gcovr \
  libcurl4-openssl-dev libhiredis-dev redis-server

jobs=$(auv_jobs)
logs=$root/build/logs
mkdir -p "$logs"
steps=${AUV_STEPS:-debug asan valgrind tsan ucontext ucontext-asan clang coverage fuzz aarch64 windows wraps header docs install}
t_start=$SECONDS
summary=()
total_passed=0 total_failed=0 total_skipped=0

# b_lundef=false: with clang, -fsanitize needs undefined symbols allowed at
# link time (the runtime provides them); gcc does not need it.
san_extra=()
if "${CC:-cc}" --version 2>/dev/null | grep -i clang >/dev/null; then
  san_extra+=(-Db_lundef=false)
fi

# print_summary OUTCOME: the step lines, the line OUTCOME, then the
# closing totals line.
print_summary() {
  local line
  echo
  echo "================ auv test summary ================"
  for line in "${summary[@]}"; do
    echo "$line"
  done
  echo "$1"
  echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
}

# step_tests NAME: the tests step NAME ran, from its log build/logs/NAME.log
# (scripts/count-tests.py): adds them to the totals, sets step_counts to
# " [P passed, F failed, S skipped]" for its summary line and step_notes to
# the lines naming the tests it skipped. Both stay empty for a step that
# ran no test (no log, or a log without any: fuzz, header, install).
step_tests() {
  local log=$logs/$1.log kind name runs extra list p=0 f=0 k=0
  local skipped=() parts=()
  step_counts='' step_notes=()
  [ -f "$log" ] || return 0
  while read -r kind name runs extra; do
    if [ "$kind" != counts ] && [ "$runs" -gt 1 ]; then
      name="$name ($runs runs)"
    fi
    case $kind in
      counts) p=$name f=$runs k=$extra ;;
      skipped) skipped+=("$name") ;;
      part) parts+=("$name") ;;
    esac
  done < <(python3 scripts/count-tests.py "$log")
  [ $((p + f + k)) -gt 0 ] || return 0
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  total_skipped=$((total_skipped + k))
  if [ "${#skipped[@]}" -gt 0 ]; then
    list=$(printf ', %s' "${skipped[@]}")
    step_notes+=("      skipped ($k): ${list#, }")
  fi
  if [ "${#parts[@]}" -gt 0 ]; then
    list=$(printf ', %s' "${parts[@]}")
    step_notes+=("      parts skipped, tests passed (${#parts[@]}): ${list#, }")
  fi
  step_counts=" [$p passed, $f failed, $k skipped]"
}

# run_step NAME FUNCTION: run FUNCTION in a subshell with `set -e` in force,
# record PASS/FAIL with its duration and its tests, and stop everything on
# failure. The step's log is removed first, so that a step that fails
# before writing it is not credited with the tests of an earlier run.
run_step() {
  local name=$1 fn=$2 t0=$SECONDS rc
  echo
  echo "================ step: $name ================"
  rm -f "$logs/$name.log"
  set +e
  ( set -euo pipefail; "$fn" )
  rc=$?
  set -e
  step_tests "$name"
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf 'PASS  %-13s %4ds  %s%s' "$name" $((SECONDS - t0)) "${step_what[$name]}" "$step_counts")")
  else
    summary+=("$(printf 'FAIL  %-13s %4ds  %s (exit %d)%s' "$name" $((SECONDS - t0)) "${step_what[$name]}" "$rc" "$step_counts")")
  fi
  summary+=(${step_notes[@]+"${step_notes[@]}"})
  if [ "$rc" -ne 0 ]; then
    echo "scripts/test.sh: step '$name' failed; logs in build/logs/" >&2
    print_summary "step '$name' failed after $((SECONDS - t_start))s"
    exit 1
  fi
}

# check_summaries LOG: the log must hold at least one Check summary line and
# every one must report no failure and no error.
check_summaries() {
  local log=$1 lines
  lines=$(grep -E '[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" || true)
  if [ -z "$lines" ]; then
    echo "error: no Check summary line in $log: no Check suite ran" >&2
    return 1
  fi
  if echo "$lines" | grep -Ev 'Failures: 0, Errors: 0' >/dev/null; then
    echo "error: a Check run reported failures or errors:" >&2
    echo "$lines" >&2
    return 1
  fi
}

declare -A step_what=(
  [debug]="-Wall -Wextra -Werror build, meson test"
  [asan]="AddressSanitizer + UndefinedBehaviorSanitizer"
  [valgrind]="valgrind memcheck, no leaks, no errors"
  [tsan]="ThreadSanitizer: threadsafe, executor, task and coro suites"
  [ucontext]="ucontext backend: suites, then valgrind memcheck"
  [ucontext-asan]="ucontext backend under ASan + UBSan"
  [clang]="clang -O2 with asserts, -Werror, meson test"
  [coverage]="gcov line coverage of src/*.c against its floors"
  [fuzz]="libFuzzer on the stream reader vs its reference model"
  [aarch64]="arm64 cross build, suites under qemu (asm and ucontext)"
  [windows]="Windows x64: mingw-w64 build, suites, seed and benchmarks under wine"
  [wraps]="libuv and Check wrap fallbacks (Debian sources): suites; meson subproject consumer"
  [header]="<auv.h> as C99 and C++11, -pedantic -Werror"
  [docs]="API vocabulary rules; doc programs built (-Wall -Werror) and run; prototypes and links checked"
  [install]="meson install + pkg-config and CMake consumers"
)

step_debug() {
  auv_setup build/debug --buildtype=debug -Dwarning_level=2 -Dwerror=true \
    -Dtests=true -Dbenchmarks=true -Dexamples=true
  ninja -C build/debug -j"$jobs"
  meson test -C build/debug -v --print-errorlogs 2>&1 | tee "$logs/debug.log"
  check_summaries "$logs/debug.log"
}

# The sanitizer builds run two to three times slower than the debug one:
# their meson timeouts (300 s for the whole Check run) and Check's per-test
# timeouts are scaled so that a busy machine does not fail them; a hang
# still fails, only later.
san_timeouts=(--timeout-multiplier 3)

step_asan() {
  auv_setup build/asan --buildtype=debug -Dwarning_level=2 \
    -Db_sanitize=address,undefined "${san_extra[@]}" \
    -Dc_args=-fno-omit-frame-pointer \
    -Dtests=true -Dbenchmarks=false -Dexamples=true
  ninja -C build/asan -j"$jobs"
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  CK_TIMEOUT_MULTIPLIER=2 \
    meson test -C build/asan -v --print-errorlogs "${san_timeouts[@]}" 2>&1 |
    tee "$logs/asan.log"
  check_summaries "$logs/asan.log"
}

step_valgrind() {
  # The debug build is reused: same binaries, run under memcheck. The
  # 'valgrind' setup (test/meson.build) sets the memcheck options and
  # CK_FORK=no, so that leaks are counted in the process that made them.
  if [ ! -f build/debug/build.ninja ]; then
    step_debug >/dev/null
  fi
  meson test -C build/debug --setup valgrind -v --print-errorlogs 2>&1 |
    tee "$logs/valgrind.log"
  check_summaries "$logs/valgrind.log"
}

# The executables that meson test runs for Check suites (every test command
# built under test/ in suite 'check': not the load test or the fuzz replay),
# one path per line.
check_executables() {
  meson introspect --tests "$1" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
seen = []
for t in json.load(sys.stdin):
    if not any(s.split(":")[-1] == "check" for s in t["suite"]):
        continue
    exe = os.path.realpath(t["cmd"][0])
    if exe.startswith(os.path.join(build, "test") + os.sep) and exe not in seen:
        seen.append(exe)
print("\n".join(seen))' "$1"
}

step_tsan() {
  local exe exes runner=()
  auv_setup build/tsan --buildtype=debug -Dwarning_level=2 \
    -Db_sanitize=thread "${san_extra[@]}" \
    -Dtests=true -Dbenchmarks=false -Dexamples=false
  ninja -C build/tsan -j"$jobs"
  exes=$(check_executables build/tsan)
  if [ -z "$exes" ]; then
    echo "error: no test executable under build/tsan/test" >&2
    return 1
  fi
  # Kernels with many bits of mmap randomness break ThreadSanitizer's
  # memory layout ("unexpected memory mapping"); running with address-space
  # randomization off avoids that. Used only where setarch works.
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    runner=(setarch "$(uname -m)" -R)
  fi
  : >"$logs/tsan.log"
  for exe in $exes; do
    for suite in threadsafe executor task coro; do
      echo "+ CK_RUN_SUITE=$suite $exe"
      CK_RUN_SUITE=$suite TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        "${runner[@]}" "$exe" 2>&1 | tee -a "$logs/tsan.log"
    done
  done
  check_summaries "$logs/tsan.log"
}

step_ucontext() {
  auv_setup build/ucontext --buildtype=debug -Dwarning_level=2 -Dwerror=true \
    -Dcoro_backend=ucontext -Dtests=true -Dbenchmarks=false -Dexamples=true
  ninja -C build/ucontext -j"$jobs"
  meson test -C build/ucontext -v --print-errorlogs 2>&1 | tee "$logs/ucontext.log"
  meson test -C build/ucontext --setup valgrind -v --print-errorlogs 2>&1 |
    tee -a "$logs/ucontext.log"
  check_summaries "$logs/ucontext.log"
}

step_ucontext-asan() {
  auv_setup build/ucontext-asan --buildtype=debug -Dwarning_level=2 \
    -Dcoro_backend=ucontext -Db_sanitize=address,undefined "${san_extra[@]}" \
    -Dc_args=-fno-omit-frame-pointer \
    -Dtests=true -Dbenchmarks=false -Dexamples=false
  ninja -C build/ucontext-asan -j"$jobs"
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  CK_TIMEOUT_MULTIPLIER=2 \
    meson test -C build/ucontext-asan -v --print-errorlogs "${san_timeouts[@]}" 2>&1 |
    tee "$logs/ucontext-asan.log"
  check_summaries "$logs/ucontext-asan.log"
}

# clang at -O2 whatever CC says, with assert() kept (-Db_ndebug=false) as
# in every other build: the debug builds are -O0, and this is the one
# where an optimizer other than gcc's gets to act on undefined behaviour.
step_clang() {
  CC=clang auv_setup build/clang -Ddebug=false -Doptimization=2 \
    -Db_ndebug=false -Dwarning_level=2 -Dwerror=true \
    -Dtests=true -Dbenchmarks=true -Dexamples=true
  ninja -C build/clang -j"$jobs"
  meson test -C build/clang -v --print-errorlogs 2>&1 | tee "$logs/clang.log"
  check_summaries "$logs/clang.log"
}

# gcc whatever CC says (gcovr runs gcc's gcov; the floors were measured
# with it). The counters of an earlier run are deleted first, so the
# figures are this run's alone.
step_coverage() {
  CC=gcc auv_setup build/coverage --buildtype=debug -Db_coverage=true \
    -Dwarning_level=2 -Dwerror=true \
    -Dtests=true -Dbenchmarks=false -Dexamples=true
  ninja -C build/coverage -j"$jobs"
  find build/coverage -name '*.gcda' -delete
  meson test -C build/coverage -v --print-errorlogs 2>&1 | tee "$logs/coverage.log"
  check_summaries "$logs/coverage.log"
  gcovr -r . --filter 'src/[^/]*\.c$' -j "$jobs" \
    --txt "$logs/coverage.txt" --json-summary "$logs/coverage.json" build/coverage
  python3 scripts/coverage-check.py "$logs/coverage.json" test/coverage-floors.txt
}

# The fuzz target needs clang whatever CC says: libFuzzer is clang's. The
# whole library is compiled with -fsanitize=fuzzer-no-link (coverage
# feedback from src/stream.c and everything it calls); only the target
# links libFuzzer (test/meson.build, -Dfuzz=true). The corpus grows in
# build/fuzz-corpus (seeded from fuzz/corpus/, which stays as committed);
# a crashing input lands in build/logs/fuzz-artifacts/.
step_fuzz() {
  local secs=${AUV_FUZZ_SECONDS:-60} work=build/fuzz-corpus
  local art=$logs/fuzz-artifacts/
  CC=clang auv_setup build/fuzz --buildtype=debug -Dwarning_level=2 \
    -Db_sanitize=address,undefined -Db_lundef=false \
    "-Dc_args=-fsanitize=fuzzer-no-link -fno-omit-frame-pointer" \
    -Dfuzz=true -Dtests=true -Dbenchmarks=false -Dexamples=false
  ninja -C build/fuzz -j"$jobs" test/fuzz-reader
  mkdir -p "$work" "$art"
  cp -n fuzz/corpus/* "$work"/
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build/fuzz/test/fuzz-reader -max_total_time="$secs" -timeout=10 \
      -max_len=1024 -print_final_stats=1 -artifact_prefix="$art" \
      "$work" 2>&1 | tee "$logs/fuzz.log"
  grep -E '^stat::number_of_executed_units' "$logs/fuzz.log"
}

step_aarch64() {
  bash scripts/test-aarch64.sh 2>&1 | tee "$logs/aarch64.log"
  check_summaries "$logs/aarch64.log"
}

step_windows() {
  bash scripts/test-windows.sh 2>&1 | tee "$logs/windows.log"
  check_summaries "$logs/windows.log"
}

step_wraps() {
  bash scripts/test-wraps.sh 2>&1 | tee "$logs/wraps.log"
  check_summaries "$logs/wraps.log"
}

step_header() {
  bash scripts/header-test.sh build/debug
}

# Both halves run even when the first fails, so one run shows every
# violation and every broken page.
step_docs() {
  local rc=0
  python3 scripts/api-check.py || rc=1
  bash scripts/doc-programs.sh build/debug || rc=1
  return "$rc"
}

step_install() {
  bash test/install/run.sh
}

for step in $steps; do
  if [ -z "${step_what[$step]:-}" ]; then
    echo "scripts/test.sh: unknown step '$step' (known: ${!step_what[*]})" >&2
    exit 2
  fi
  run_step "$step" "step_$step"
done

print_summary "all steps passed in $((SECONDS - t_start))s"
