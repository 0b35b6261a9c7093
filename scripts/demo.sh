#!/usr/bin/env bash
# scripts/demo.sh: install what is missing, build auv, run the main demo.
#
#   bash scripts/demo.sh            the seed walkthrough (the main demo)
#   bash scripts/demo.sh NAME...    other examples, by name: echo, chat,
#                                   pipeline, attach, reuseport, loop-demo,
#                                   uv-echo-adopt
#
# The demo is the seed walkthrough: the five cells of asyncio-walkthrough.txt
# (the document auv was created from), written in C with auv, in
# examples/seed/: a coroutine, chained coroutines, call_soon with arguments,
# call_later, call_at with the loop's clock. Each prints what the seed
# prints, with the same delays (the fourth cell takes 5.4 s). The build goes
# to build/demo (tests and benchmarks off, so it needs neither Check nor the
# benchmark peers).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

auv_install_packages gcc libc6-dev meson ninja-build pkg-config libuv1-dev

echo "== building auv (build/demo)"
mkdir -p build
# Quiet when it works; the whole log when it does not.
if ! { auv_setup build/demo --buildtype=debugoptimized \
         -Dtests=false -Dbenchmarks=false -Dexamples=true &&
       ninja -C build/demo -j"$(auv_jobs)"; } \
     >build/demo.log 2>&1; then
  cat build/demo.log
  echo "error: the build failed (log above, also in build/demo.log)" >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  for name in "$@"; do
    if [ ! -x "./build/demo/examples/$name" ]; then
      echo "error: no example '$name' (try: echo chat pipeline attach reuseport loop-demo uv-echo-adopt)" >&2
      exit 2
    fi
    echo
    echo "== examples/$name.c"
    "./build/demo/examples/$name"
  done
  exit 0
fi

for cell in 1-coroutine 2-chained 3-call-soon 4-call-later 5-call-at; do
  echo
  echo "== examples/seed/$cell.c"
  "./build/demo/examples/seed-$cell"
done
