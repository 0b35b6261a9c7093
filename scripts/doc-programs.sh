#!/usr/bin/env bash
# scripts/doc-programs.sh: the docs step. The documentation's programs and
# prototypes are checked against the code.
#
#   bash scripts/doc-programs.sh [BUILDDIR]      (default build/debug)
#
# 1. Every complete C program in README.md and docs/*.md (a ```c block that
#    defines main) is extracted by scripts/doc_programs.py, compiled with
#    cc -std=gnu11 -Wall -Werror against BUILDDIR/libauv.a (brought up to
#    date with ninja first; BUILDDIR is configured, library only, if it has
#    no build yet),
#    and run with a timeout (AUV_DOC_TIMEOUT seconds, default 20, scaled by
#    AUV_TEST_TIMEOUT_SCALE if set). A program that fails to compile, exits
#    non-zero or times out fails the step. A block may name its arguments
#    with a line `/* doc-program: args ARG... */`, or say that it is only
#    compiled and why with `/* doc-program: compile-only: WHY */`; those
#    are listed in the summary, never skipped silently. A program that shows
#    a fatal report says `/* doc-program: expect-abort: TEXT */`: it must
#    die of SIGABRT with TEXT in its output.
# 2. Every prototype quoted in those pages (API blocks, declarations in code
#    blocks) must match the declaration in include/ once whitespace is
#    normalised, and every function declared in include/ must be quoted on
#    some page (docs/README.md promises a signature for each).
# 3. Every relative link in those pages names a file that exists, and every
#    #anchor a heading of the page it points to.
# It ends with a summary: programs compiled, run, compile-only; prototypes
# checked; links checked. Exit status 0 only if everything passed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
builddir=${1:-build/debug}
case $builddir in /*) ;; *) builddir=$root/$builddir ;; esac

if [ ! -f "$builddir/build.ninja" ]; then
  # No build yet (the step run on its own): configure the library only.
  meson setup "$builddir" --buildtype=debug -Dtests=false \
    -Dbenchmarks=false -Dexamples=false >/dev/null
fi
ninja -C "$builddir" libauv.a >/dev/null
if [ ! -f "$builddir/libauv.a" ]; then
  echo "error: $builddir/libauv.a not found; build auv first (meson setup + ninja)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 scripts/doc_programs.py extract "$tmp"

read -r -a uv_cflags <<<"$(pkg-config --cflags libuv 2>/dev/null || true)"
read -r -a uv_libs <<<"$(pkg-config --libs libuv)"
cc=${CC:-cc}
scale=${AUV_TEST_TIMEOUT_SCALE:-1}
limit=$(awk -v t="${AUV_DOC_TIMEOUT:-20}" -v s="$scale" 'BEGIN { printf "%d", t * s + 0.5 }')

compiled=0 ran=0 aborted=0 only=0 failed=0
only_list=()
while IFS=$'\t' read -r file where mode extra; do
  [ -n "$file" ] || continue
  exe=$tmp/${file%.c}
  if ! "$cc" -std=gnu11 -Wall -Werror -I"$root/include" "${uv_cflags[@]}" \
      "$tmp/$file" "$builddir/libauv.a" "${uv_libs[@]}" -lpthread -lm \
      -o "$exe" >"$tmp/cc.log" 2>&1; then
    echo "FAIL  compile  $where"
    sed 's/^/      /' "$tmp/cc.log"
    failed=$((failed + 1))
    continue
  fi
  compiled=$((compiled + 1))
  if [ "$mode" = compile-only ]; then
    echo "ok    compile  $where (compile-only: $extra)"
    only=$((only + 1))
    only_list+=("$where")
    continue
  fi
  args=()
  if [ "$mode" = run ] && [ -n "$extra" ]; then read -r -a args <<<"$extra"; fi
  rc=0
  # The inner shell reports a death by signal as its exit status (128 + n)
  # into the log, instead of this script printing "Aborted".
  (cd "$tmp" && bash -c '"$@"; exit $?' _ \
      timeout --kill-after=5 "$limit" "$exe" "${args[@]}") \
    >"$tmp/out.log" 2>&1 </dev/null || rc=$?
  if [ "$mode" = expect-abort ]; then
    # 134: killed by SIGABRT (128 + 6), as the shell reports it.
    if [ "$rc" -eq 134 ] && grep -F -- "$extra" "$tmp/out.log" >/dev/null; then
      echo "ok    run      $where (aborted as shown: $extra)"
      ran=$((ran + 1))
      aborted=$((aborted + 1))
    else
      echo "FAIL  run      $where: expected SIGABRT and \"$extra\", got exit status $rc"
      tail -n 20 "$tmp/out.log" | sed 's/^/      /'
      failed=$((failed + 1))
    fi
    continue
  fi
  if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      echo "FAIL  run      $where: no exit within ${limit}s"
    else
      echo "FAIL  run      $where: exit status $rc"
    fi
    tail -n 20 "$tmp/out.log" | sed 's/^/      /'
    failed=$((failed + 1))
    continue
  fi
  echo "ok    run      $where${extra:+ (args: $extra)}"
  ran=$((ran + 1))
done <"$tmp/programs.tsv"

sig_rc=0
python3 scripts/doc_programs.py signatures >"$tmp/sig.log" 2>&1 || sig_rc=$?
cat "$tmp/sig.log"
link_rc=0
python3 scripts/doc_programs.py links >"$tmp/links.log" 2>&1 || link_rc=$?
cat "$tmp/links.log"

echo
echo "doc programs: $compiled compiled, $ran run ($((ran - aborted)) exited 0, $aborted aborted as their page shows), $only compile-only${only_list[*]:+ (${only_list[*]})}, $failed failed"
tail -n 1 "$tmp/sig.log"
tail -n 1 "$tmp/links.log"
if [ "$failed" -ne 0 ] || [ "$sig_rc" -ne 0 ] || [ "$link_rc" -ne 0 ]; then
  exit 1
fi
