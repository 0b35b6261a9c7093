#!/usr/bin/env bash
# scripts/build-windows-deps.sh: build libuv and Check for Windows x64 with
# the mingw-w64 cross compiler, from Debian's own source packages, into a
# cache directory outside the clone, with meson-cross.ini there, the second
# cross file that points meson's pkg-config at it; build/windows-deps in
# the clone is a symbolic link to that directory.
#
#   bash scripts/build-windows-deps.sh
#
# No third-party source is kept in the repository: the sources come from
# `apt-get source libuv1 check` (deb-src is enabled in apt's sources when it
# is not), unpacked once into the cache of Debian sources that the wraps
# step shares ($AUV_CACHE_DIR/debian-sources, scripts/lib.sh) and built out
# of tree in a scratch directory beside the cache entry, removed after.
# Both libraries are built static only, so every cross-built program is
# one .exe that wine runs without a DLL search path; the pkg-config files
# this script writes carry the Windows system libraries libuv needs when
# linked statically.
#
# The cache: $AUV_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/auv)
# /windows-deps/<entry>, one entry per key. The key is the two source
# package versions, the cross compiler's version and a hash of this
# script (a change to how the libraries are built is a new key); the entry
# is named after the versions and the key's hash, and its .stamp holds the
# key in words. A fresh clone on a machine that built the same key before
# only links to it, so CI rebuilds the libraries only when Debian updates
# one of them, the compiler changes or this script does.
# AUV_WINDOWS_DEPS_FORCE=1 rebuilds the entry anyway. Concurrent runs take
# turns (flock on the cache's lock file); entries unused for 30 days, and
# unfinished ones, are removed.
#
# Prints how long each part took. Needs: gcc-mingw-w64-x86-64, cmake,
# dpkg-dev (dpkg-source, for apt-get source), make.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

host=x86_64-w64-mingw32
cache=$(auv_cache_dir)/windows-deps
link=$root/build/windows-deps
jobs=$(auv_jobs)
t_start=$SECONDS

auv_install_packages gcc-mingw-w64-x86-64 cmake dpkg-dev make pkg-config

# deb-src enabled in apt's sources when it is not (scripts/lib.sh).
auv_enable_deb_src

uv_version=$(auv_debian_source_version libuv1)
check_version=$(auv_debian_source_version check)
cc_version=$($host-gcc --version | head -1)
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
key="libuv1=$uv_version check=$check_version cc=$cc_version script=$script_hash"
entry=$(printf 'libuv1-%s_check-%s_%s' "$uv_version" "$check_version" \
  "$(printf '%s' "$key" | sha256sum | cut -c1-12)" | tr -c 'A-Za-z0-9._+-' '_')
prefix=$cache/$entry
work=$cache/$entry.src

# build/windows-deps -> the entry: the cross file's path names the link.
point_link() {
  mkdir -p "$(dirname "$link")"
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    rm -rf "$link"   # a build/windows-deps directory from before the cache
  fi
  ln -sfn "$prefix" "$link"
}

# Other entries unused for 30 days go, and so does anything without a
# stamp: a build that did not finish.
auv_cache_lock_prune "$cache" "$prefix" stamped || exit 1

if [ "${AUV_WINDOWS_DEPS_FORCE:-0}" != 1 ] && [ -f "$prefix/.stamp" ] &&
   [ "$(cat "$prefix/.stamp")" = "$key" ]; then
  touch "$prefix"
  point_link
  echo "== Windows deps cached in $prefix ($key)"
  exit 0
fi
echo "== building Windows deps into $prefix: $key"

rm -rf "$work" "$prefix"
mkdir -p "$work" "$prefix"

# ---------------------------------------------------------------------------
# Sources: Debian's, unpacked once into the cache shared with the wraps
# step (scripts/lib.sh, auv_debian_source) and only read from here: CMake
# builds out of tree, in $work.
# ---------------------------------------------------------------------------
t0=$SECONDS
uv_src=$(auv_debian_source libuv1 "$uv_version")
check_src=$(auv_debian_source check "$check_version")
t_fetch=$((SECONDS - t0))

# A CMake toolchain file for the mingw-w64 cross compiler.
toolchain=$work/mingw64.cmake
cat >"$toolchain" <<EOF
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER $host-gcc)
set(CMAKE_CXX_COMPILER $host-g++)
set(CMAKE_RC_COMPILER $host-windres)
set(CMAKE_AR $(command -v $host-ar))
set(CMAKE_RANLIB $(command -v $host-ranlib))
set(CMAKE_FIND_ROOT_PATH /usr/$host $prefix)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
EOF

cmake_build() {
  local src=$1 bld=$2
  shift 2
  cmake -S "$src" -B "$bld" -G 'Unix Makefiles' \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    "$@" >"$bld.configure.log" 2>&1 || { cat "$bld.configure.log"; return 1; }
  make -C "$bld" -j"$jobs" >"$bld.build.log" 2>&1 || { tail -50 "$bld.build.log"; return 1; }
}

# ---------------------------------------------------------------------------
# libuv: its CMake build, the static library only (uv_a).
# ---------------------------------------------------------------------------
t0=$SECONDS
cmake_build "$uv_src" "$work/libuv-build" -DLIBUV_BUILD_TESTS=OFF \
  -DLIBUV_BUILD_BENCH=OFF -DBUILD_TESTING=OFF
mkdir -p "$prefix/lib" "$prefix/include" "$prefix/lib/pkgconfig"
cp "$work/libuv-build/libuv_a.a" "$prefix/lib/libuv_a.a"
cp -r "$uv_src/include/." "$prefix/include/"
uv_upstream=${uv_version%%-*}
# The Windows libraries libuv's own CMakeLists links (uv_libraries there).
cat >"$prefix/lib/pkgconfig/libuv.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libuv
Description: multi-platform support library with a focus on asynchronous I/O (static, Windows x64, Debian source $uv_version)
Version: $uv_upstream
Libs: -L\${libdir} -luv_a -lpsapi -luser32 -ladvapi32 -liphlpapi -luserenv -lws2_32 -ldbghelp -lole32 -luuid -lshell32
Cflags: -I\${includedir}
EOF
t_uv=$((SECONDS - t0))

# ---------------------------------------------------------------------------
# Check: its CMake build (static library; the Windows build replaces fork
# with CK_FORK=no behaviour and uses its own timer emulation).
# ---------------------------------------------------------------------------
t0=$SECONDS
# __USE_MINGW_ANSI_STDIO: mingw-w64's own C99 printf family rather than
# msvcrt's, which knows neither %jd (every ck_assert_int_* message) nor %zu.
# setjmp without a frame: mingw's <setjmp.h> passes the caller's frame to
# _setjmp, and msvcrt's longjmp then unwinds the stack frame by frame (SEH)
# back to it. A failed assertion inside an auv task longjmps from the
# task's stack to Check's runner on the thread's stack, a walk that cannot
# cross stacks (wine crashes in virtual_unwind). With NULL, longjmp only
# restores the registers, as on Unix.
cat >"$work/check-setjmp.h" <<'EOF'
#include <setjmp.h>
#undef setjmp
#define setjmp(BUF) _setjmp((BUF), NULL)
EOF
cmake_build "$check_src" "$work/check-build" -DCHECK_ENABLE_TESTS=OFF \
  "-DCMAKE_C_FLAGS=-D__USE_MINGW_ANSI_STDIO=1 -include $work/check-setjmp.h" \
  -DBUILD_TESTING=OFF -DCHECK_ENABLE_SUBUNIT=OFF -DENABLE_MEMORY_LEAKING_TESTS=OFF \
  -DCHECK_ENABLE_TIMEOUT_TESTS=OFF -DBUILD_SHARED_LIBS=OFF
make -C "$work/check-build" install >"$work/check-build.install.log" 2>&1 ||
  { tail -30 "$work/check-build.install.log"; exit 1; }
# check.h declares its message functions format(printf), which gcc for
# mingw reads as msvcrt's printf and then rejects the %jd of its own
# ck_assert_int_* macros; the library was built with the C99 printf above,
# so the installed copy says gnu_printf.
sed -i 's/CK_ATTRIBUTE_FORMAT(printf,/CK_ATTRIBUTE_FORMAT(gnu_printf,/' \
  "$prefix/include/check.h"
check_upstream=${check_version%%-*}
# Check's installed check.pc may name the shared library; write one for the
# static library that was built.
check_lib=$(cd "$prefix/lib" && ls libcheck*.a | head -1)
cat >"$prefix/lib/pkgconfig/check.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: Check
Description: A unit testing framework for C (static, Windows x64, Debian source $check_version)
Version: $check_upstream
Libs: -L\${libdir} -l:$check_lib
Cflags: -I\${includedir}
EOF
t_check=$((SECONDS - t0))

# The second cross file (cross/x86_64-w64-mingw32.ini says why).
cat >"$prefix/meson-cross.ini" <<EOF
# Written by scripts/build-windows-deps.sh: use with
#   --cross-file cross/x86_64-w64-mingw32.ini --cross-file build/windows-deps/meson-cross.ini
[properties]
pkg_config_libdir = ['$prefix/lib/pkgconfig']
EOF

# The stamp last: an entry without one is a build that did not finish.
echo "$key" >"$prefix/.stamp"
rm -rf "$work"
point_link
echo "== Windows deps in $prefix: sources ${t_fetch}s, libuv ${t_uv}s, Check ${t_check}s, total $((SECONDS - t_start))s"
