#!/usr/bin/env bash
# test/install/run.sh: the install test.
#
#   bash test/install/run.sh
#
# Builds auv in build/install, runs `meson install` into a prefix under
# build/install-root, checks the installed file list, then builds
# test/install/consumer.c against that prefix the two ways a user would:
#   1. pkg-config (cc consumer.c $(pkg-config --cflags --libs auv));
#   2. CMake find_package(auv), linking auv::auv and auv::auv_static;
# and runs each program, checking that both ways hand the consumer
# -fstack-clash-protection (where the compiler has it). Finally it moves the installed tree elsewhere and
# builds the CMake consumer again, to check that the CMake package is
# relocatable. Every step must succeed; the script stops at the first that
# does not.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

builddir=build/install
prefix=$root/build/install-root/usr
work=$root/build/install-work
rm -rf "$root/build/install-root" "$work"
mkdir -p "$work"

echo "== configure and build (prefix $prefix)"
auv_setup "$builddir" --buildtype=debugoptimized --prefix="$prefix" \
  -Dtests=false -Dbenchmarks=false -Dexamples=false >"$work/setup.log" 2>&1 ||
  { cat "$work/setup.log"; exit 1; }
ninja -C "$builddir" -j"$(auv_jobs)" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }

echo "== meson install"
meson install -C "$builddir" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }

# The libdir meson chose (lib, lib64 or lib/<multiarch>), relative to prefix.
libdir=$(meson introspect --buildoptions "$builddir" | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
case $libdir in
  /*) ;;
  *) libdir=$prefix/$libdir ;;
esac

echo "== installed files"
(cd "$prefix" && find . -type f -o -type l | sort | sed 's|^\./|   |')
expect=(
  "$prefix/include/auv.h"
  "$prefix/include/auv/version.h"
  "$libdir/libauv.a"
  "$libdir/libauv.so"
  "$libdir/libauv.so.0.2"
  "$libdir/pkgconfig/auv.pc"
  "$libdir/cmake/auv/auvConfig.cmake"
  "$libdir/cmake/auv/auvConfigVersion.cmake"
)
for f in "${expect[@]}"; do
  if [ ! -e "$f" ]; then
    echo "error: not installed: $f" >&2
    exit 1
  fi
done
# Only auv's own symbols may be exported.
if nm -D --defined-only "$libdir/libauv.so" | awk '{print $3}' | grep -v '^auv_' | grep .; then
  echo "error: libauv.so exports symbols outside the auv_ namespace (above)" >&2
  exit 1
fi

echo "== consumer through pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
version=$(pkg-config --modversion auv)
echo "   pkg-config --modversion auv: $version"
cflags=$(pkg-config --cflags auv)
ldflags=$(pkg-config --libs auv)
echo "   cflags: $cflags"
echo "   libs:   $ldflags"
echo "   libs --static: $(pkg-config --static --libs auv)"
# Requires: libuv must bring libuv's flags along.
pkg-config --print-requires auv | grep '^libuv' >/dev/null ||
  { echo "error: auv.pc does not require libuv" >&2; exit 1; }
# Stack clash protection for the code that runs in tasks (docs/coroutines.md,
# "Frames larger than the stack"): handed to users wherever the compiler
# has it, as auv's own build used it.
clash=0
if echo 'int x;' | cc -fstack-clash-protection -Werror -x c -c -o /dev/null - 2>/dev/null; then
  clash=1
  case " $cflags " in
    *" -fstack-clash-protection "*) ;;
    *) echo "error: pkg-config --cflags auv lacks -fstack-clash-protection" >&2; exit 1 ;;
  esac
fi
# shellcheck disable=SC2086
cc -std=c99 -D_POSIX_C_SOURCE=200112L -Wall -Wextra -Werror \
  test/install/consumer.c $cflags $ldflags -o "$work/consumer-pkgconfig"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/consumer-pkgconfig"

cmake_consumer() {
  local where=$1 out=$2
  cmake -S test/install -B "$out" -DCMAKE_PREFIX_PATH="$where" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    >"$out.log" 2>&1 ||
    { cat "$out.log"; return 1; }
  grep 'found auv' "$out.log" | sed 's/^/   /'
  grep -q "found auv $version in $where/" "$out.log" ||
    { echo "error: find_package(auv) did not find the package under $where" >&2; return 1; }
  cmake --build "$out" -j"$(auv_jobs)" >>"$out.log" 2>&1 ||
    { cat "$out.log"; return 1; }
  # Both imported targets hand -fstack-clash-protection to their users.
  if [ "$clash" = 1 ]; then
    python3 - "$out/compile_commands.json" <<'PY' || return 1
import json, sys
cmds = json.load(open(sys.argv[1]))
missing = [c["output"] if "output" in c else c["file"] for c in cmds
           if "-fstack-clash-protection" not in c["command"]]
if len(cmds) < 2 or missing:
    sys.exit("error: the CMake consumer was compiled without "
             "-fstack-clash-protection: %s" % (missing or cmds))
PY
  fi
  # The shared consumer runs without LD_LIBRARY_PATH: CMake gives build
  # trees an rpath to the imported library.
  "$out/consumer-shared"
  "$out/consumer-static"
  # The static consumer must not need libauv.so at run time.
  if command -v ldd >/dev/null 2>&1 && ldd "$out/consumer-static" | grep libauv >/dev/null; then
    echo "error: consumer-static is linked to libauv.so" >&2
    return 1
  fi
}

echo "== consumer through CMake find_package(auv)"
cmake_consumer "$prefix" "$work/cmake"

echo "== the same, with the installed tree moved elsewhere"
mv "$root/build/install-root" "$work/moved"
cmake_consumer "$work/moved/usr" "$work/cmake-moved"
mv "$work/moved" "$root/build/install-root"

echo "install test: pkg-config and CMake consumers built and ran"
