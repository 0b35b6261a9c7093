#!/usr/bin/env bash
# scripts/demo.sh: install what is missing, build auv, run the main demo.
#
#   bash scripts/demo.sh
#
# The demo is examples/loop-demo.c: call_soon, call_later, call_at, a
# cancelled call and a Future completed by a timer, printed as a trace. The
# build goes to build/demo (tests and benchmarks off, so it needs neither
# Check nor the benchmark peers).
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
       ninja -C build/demo -j"$(auv_jobs)" examples/loop-demo; } \
     >build/demo.log 2>&1; then
  cat build/demo.log
  echo "error: the build failed (log above, also in build/demo.log)" >&2
  exit 1
fi

echo "== running examples/loop-demo"
echo
./build/demo/examples/loop-demo
