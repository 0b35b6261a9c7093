#!/usr/bin/env bash
# scripts/test-aarch64.sh: build auv for 64-bit Arm and run its tests there,
# under qemu-user, on an x86_64 Debian machine.
#
#   bash scripts/test-aarch64.sh
#
# Non-interactive: as root with no stdin (CI), or as a user with sudo. It
#   1. enables the arm64 architecture (dpkg --add-architecture arm64) when it
#      is not, and installs what is missing: the cross compiler, qemu-user,
#      and libuv and Check built for arm64 (multiarch: they install beside
#      the amd64 ones);
#   2. cross-builds with cross/aarch64-linux-gnu.ini, once per coroutine
#      backend, each in its own build directory:
#        build/aarch64           coro_backend=auto (asm: src/coro-aarch64.c)
#        build/aarch64-ucontext  coro_backend=ucontext (src/coro-ucontext.c)
#      and runs `meson test -v` in each: meson runs every cross-built test
#      program through the cross file's exe_wrapper (qemu-aarch64); a test
#      whose command is a build-machine program (python3: the asyncio trace
#      checks) runs natively;
#   3. builds test/coro-abi-check.c against src/coro-aarch64.c and runs it
#      under qemu-aarch64: the switch must keep x19-x28, d8-d15 and FPCR.
# Each Check run must print its summary line with no failure and no error.
#
# Environment: AUV_JOBS (compile jobs, default: core count),
# AUV_QEMU_TIMEOUT_MULTIPLIER (meson test --timeout-multiplier and Check's
# CK_TIMEOUT_MULTIPLIER, default 3: code under qemu-user runs several times
# slower than natively).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

t_start=$SECONDS
jobs=$(auv_jobs)
mult=${AUV_QEMU_TIMEOUT_MULTIPLIER:-3}
cross=$root/cross/aarch64-linux-gnu.ini
logs=$root/build/logs
mkdir -p "$logs"
summary=()

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo -n "$@"
  fi
}

# ---------------------------------------------------------------------------
# 1. Packages
# ---------------------------------------------------------------------------
if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/test-aarch64.sh: needs a Debian-like system (dpkg multiarch)" >&2
  exit 1
fi
if ! dpkg --print-foreign-architectures | grep -x arm64 >/dev/null; then
  echo "== enabling the arm64 architecture (dpkg --add-architecture arm64)"
  as_root dpkg --add-architecture arm64
fi
# libc6-dev-arm64-cross: the arm64 C library headers and startup files the
# cross compiler uses. It is only a Recommends of gcc-aarch64-linux-gnu, and
# auv_install_packages installs without recommends, so it is named here.
# auv_install_packages runs `apt-get update` when something is missing, which
# fetches the arm64 package lists right after the architecture is added.
t0=$SECONDS
auv_install_packages gcc libc6-dev meson ninja-build pkg-config \
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
  libuv1-dev:arm64 check:arm64
# The exe_wrapper (cross/aarch64-linux-gnu.ini) runs programs with the arm64
# packages' own loader, which libc6:arm64 (a dependency of libuv1:arm64)
# installs.
if [ ! -e /lib/ld-linux-aarch64.so.1 ]; then
  echo "error: /lib/ld-linux-aarch64.so.1 is missing (libc6:arm64 not installed?)" >&2
  exit 1
fi
summary+=("$(printf 'PASS  %-17s %4ds  %s' packages $((SECONDS - t0)) \
  'cross gcc, qemu-user, libuv1-dev:arm64, check:arm64')")

# ---------------------------------------------------------------------------
# 2. Cross builds and their test suites under qemu
# ---------------------------------------------------------------------------

# check_summaries LOG: at least one Check summary line, none with a failure
# or an error (as scripts/test.sh checks its own logs).
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

# expect_backend BUILDDIR asm|ucontext: the static library holds the switch
# that was asked for, and it is an AArch64 object.
expect_backend() {
  local dir=$1 want=$2 syms
  syms=$(aarch64-linux-gnu-nm "$dir/libauv.a" 2>/dev/null || true)
  if ! aarch64-linux-gnu-objdump -f "$dir/libauv.a" | grep 'architecture: aarch64' >/dev/null; then
    echo "error: $dir/libauv.a is not an AArch64 library" >&2
    return 1
  fi
  case $want in
    asm)
      grep -q ' T auv__coro_switch_asm$' <<<"$syms" || {
        echo "error: $dir: no auv__coro_switch_asm, not the asm backend" >&2
        return 1
      } ;;
    ucontext)
      if grep -q 'auv__coro_switch_asm' <<<"$syms" ||
         ! grep -q ' U swapcontext$' <<<"$syms"; then
        echo "error: $dir: not the ucontext backend" >&2
        return 1
      fi ;;
  esac
}

# how_tests_run BUILDDIR: one line per registered test saying where it runs.
# meson runs a test whose program is cross-built through the exe_wrapper; a
# test whose program is a build-machine one (python3) runs natively, and
# when its arguments name cross-built programs meson puts the wrapper in
# its environment as MESON_EXE_WRAPPER, for the test to use.
how_tests_run() {
  meson introspect --tests "$1" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
def aarch64_elf(path):
    # Relative paths are relative to the build directory, where meson test
    # runs every test.
    try:
        with open(os.path.join(build, path), "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 183
for t in json.load(sys.stdin):
    cmd = t["cmd"]
    if aarch64_elf(cmd[0]):
        how = "qemu-aarch64 (exe_wrapper)"
    elif any(aarch64_elf(a) for a in cmd[1:]):
        how = "native %s, runs cross-built programs (MESON_EXE_WRAPPER)" % os.path.basename(cmd[0])
    else:
        how = "native %s, nothing cross-built" % os.path.basename(cmd[0])
    print("  %-18s %-14s %s" % (t["name"], ",".join(t["suite"]), how))
' "$1"
}

# The seed walkthrough (examples/meson.build, test/test-seed.py) runs the
# cross-built examples/seed-* programs from a native python3. Until
# test-seed.py runs them through $MESON_EXE_WRAPPER it can only fail with
# "Exec format error" here, so its suite is left out, loudly.
meson_test_extra=()
if [ -f test/test-seed.py ] && ! grep -q MESON_EXE_WRAPPER test/test-seed.py; then
  meson_test_extra+=(--no-suite seed)
fi

# cross_step NAME BUILDDIR BACKEND [MESON_SETUP_ARGS...]
cross_step() {
  local name=$1 dir=$2 backend=$3 t0=$SECONDS rc log=$logs/$1.log
  shift 3
  echo
  echo "================ step: $name ($dir) ================"
  set +e
  (
    set -euo pipefail
    # A first setup takes the cross file; a rerun reconfigures the existing
    # directory (which keeps its cross file) with the options given here,
    # so reruns are incremental.
    if [ -f "$dir/build.ninja" ]; then
      meson setup --reconfigure "$dir" "$@"
    else
      rm -rf "$dir"
      meson setup "$dir" --cross-file "$cross" "$@"
    fi
    ninja -C "$dir" -j"$jobs"
    expect_backend "$dir" "$backend"
    echo "== tests registered in $dir, and where each runs:"
    how_tests_run "$dir"
    if [ "${#meson_test_extra[@]}" -ne 0 ]; then
      echo "note: suite 'seed' left out: test/test-seed.py does not run its programs through \$MESON_EXE_WRAPPER"
    fi
    CK_TIMEOUT_MULTIPLIER=$mult \
      meson test -C "$dir" -v --print-errorlogs --timeout-multiplier "$mult" \
      "${meson_test_extra[@]}" 2>&1 | tee "$log"
    check_summaries "$log"
  )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf 'PASS  %-17s %4ds  %s' "$name" $((SECONDS - t0)) \
      "$(grep -Eho '[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | paste -sd ' ')")")
  else
    summary+=("$(printf 'FAIL  %-17s %4ds  (exit %d, log: build/logs/%s.log)' \
      "$name" $((SECONDS - t0)) "$rc" "$name")")
    failed=1
  fi
}

failed=0
common=(-Dwarning_level=2 -Dwerror=true -Dtests=true -Dbenchmarks=false
        -Dexamples=true)
# Logs: build/logs/aarch64-asm.log and aarch64-ucontext.log (not
# aarch64.log, which scripts/test.sh writes with this script's whole output).
cross_step aarch64-asm build/aarch64 asm "${common[@]}" -Dcoro_backend=auto
cross_step aarch64-ucontext build/aarch64-ucontext ucontext "${common[@]}" \
  -Dcoro_backend=ucontext

if [ "${#meson_test_extra[@]}" -ne 0 ]; then
  summary+=("$(printf 'SKIP  %-17s %4s   %s' seed-walkthrough - \
    'test/test-seed.py ignores MESON_EXE_WRAPPER (cannot run cross)')")
fi

# ---------------------------------------------------------------------------
# 3. The AArch64 switch against AAPCS64 (test/coro-abi-check.c)
# ---------------------------------------------------------------------------
echo
echo "================ step: coro-abi-check ================"
t0=$SECONDS
abi_exe=build/aarch64/coro-abi-check
if aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -Isrc \
     test/coro-abi-check.c src/coro-aarch64.c -lm -o "$abi_exe" &&
   qemu-aarch64 "$abi_exe"; then
  summary+=("$(printf 'PASS  %-17s %4ds  %s' coro-abi-check $((SECONDS - t0)) \
    'x19-x28, d8-d15, FPCR kept across switches')")
else
  summary+=("$(printf 'FAIL  %-17s %4ds' coro-abi-check $((SECONDS - t0)))")
  failed=1
fi

echo
echo "================ auv aarch64 summary ================"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "scripts/test-aarch64.sh: failed after $((SECONDS - t_start))s; logs in build/logs/" >&2
  exit 1
fi
echo "aarch64: all steps passed in $((SECONDS - t_start))s"
