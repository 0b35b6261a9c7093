#!/usr/bin/env bash
# scripts/header-test.sh: build-only test of the public header.
#
#   bash scripts/header-test.sh [BUILDDIR]
#
# Compiles a file that includes <auv.h> as strict ISO C99 and as C++11, with
# every warning an error:
#   cc  -std=c99   -pedantic -Wall -Wextra -Werror
#   c++ -std=c++11 -pedantic -Wall -Wextra -Werror
# (and the same with clang/clang++ when they are installed). When BUILDDIR
# holds a built libauv.a, both programs are also linked against it, which
# checks that the header's extern "C" block matches the library's symbols.
#
# Strict -std=c99 makes glibc hide POSIX declarations, and libuv's <uv.h>
# (which <auv.h> includes) needs pthread_rwlock_t from them. So, as for any
# libuv program built with a strict standard, the C99 build defines
# _POSIX_C_SOURCE=200112L; auv's own header needs nothing beyond C99.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
builddir=${1:-build/debug}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Use every declaration kind the header has: types, enum values, the error
# table macro, inline-able calls. Nothing here runs a loop; the program only
# has to compile (and link, when the library is there).
cat >"$tmp/header.c" <<'EOF'
#include <auv.h>
#include <stdio.h>

#define SHOW_CODE(name, code, msg) printf("%s %d\n", #name, (int)(code));

static void cb(void *arg) { (void)arg; }
static void done(auv_future_t *f, void *arg) { (void)f; (void)arg; }

int main(void) {
  auv_handle_t handle = {0, 0, 0};
  auv_exception_context_t ctx;
  auv_callback_fn c = cb;
  auv_done_fn d = done;
  auv_errno_t e = AUV_ESTALLED;
  (void)handle;
  (void)ctx;
  (void)c;
  (void)d;
  (void)e;
  AUV_ERRNO_MAP(SHOW_CODE)
  printf("%u %s %s\n", auv_version(), auv_version_string(),
         auv_strerror(AUV_EINVALSTATE));
  return auv_version() == AUV_VERSION_HEX ? 0 : 1;
}
EOF
cp "$tmp/header.c" "$tmp/header.cc"

libs=()
if [ -f "$builddir/libauv.a" ]; then
  read -r -a uv_libs <<<"$(pkg-config --libs libuv)"
  libs=("$root/$builddir/libauv.a" "${uv_libs[@]}" -lpthread -lm)
fi
uv_cflags=$(pkg-config --cflags libuv 2>/dev/null || true)

run() {
  echo "+ $*"
  "$@"
}

compilers_c=(cc)
compilers_cxx=(c++)
if command -v clang >/dev/null 2>&1; then compilers_c+=(clang); fi
if command -v clang++ >/dev/null 2>&1; then compilers_cxx+=(clang++); fi

for compiler in "${compilers_c[@]}"; do
  # shellcheck disable=SC2086
  run "$compiler" -std=c99 -pedantic -Wall -Wextra -Werror \
    -D_POSIX_C_SOURCE=200112L -I"$root/include" $uv_cflags \
    -c "$tmp/header.c" -o "$tmp/header-c.o"
  if [ "${#libs[@]}" -gt 0 ]; then
    run "$compiler" "$tmp/header-c.o" "${libs[@]}" -o "$tmp/header-c"
    "$tmp/header-c" >/dev/null
  fi
done
for compiler in "${compilers_cxx[@]}"; do
  # shellcheck disable=SC2086
  run "$compiler" -std=c++11 -pedantic -Wall -Wextra -Werror \
    -I"$root/include" $uv_cflags \
    -c "$tmp/header.cc" -o "$tmp/header-cxx.o"
  if [ "${#libs[@]}" -gt 0 ]; then
    run "$compiler" "$tmp/header-cxx.o" "${libs[@]}" -o "$tmp/header-cxx"
    "$tmp/header-cxx" >/dev/null
  fi
done
if [ "${#libs[@]}" -eq 0 ]; then
  echo "note: $builddir/libauv.a not built; compiled only, did not link"
fi
echo "header test: <auv.h> builds as C99 and C++11 with -pedantic -Werror"
