#!/usr/bin/env bash
# scripts/test-wraps.sh: build auv against the meson wrap fallbacks
# (subprojects/libuv.wrap, subprojects/check.wrap and our meson overlays in
# subprojects/packagefiles/), the code Windows and macOS users build when
# their system has no libuv or Check, and run the whole suite on them; then
# build a meson project that uses auv as a subproject.
#
#   bash scripts/test-wraps.sh
#
# CI has no network for the wraps' upstream tarballs, and the clone must
# stay clean, so:
#   1. the sources are Debian's libuv1 and check source packages
#      (`apt-get source`, deb-src enabled when it is not), unpacked once
#      into ${AUV_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/auv}/debian-sources/
#      and kept there, one entry per package version (scripts/lib.sh,
#      shared with scripts/build-windows-deps.sh);
#   2. the auv tree (the files git tracks or would track, as they are in
#      the work tree) is copied to build/wraps/src, and each source package
#      is copied into its subprojects/ under the directory name its wrap
#      names (`directory =`), with the wrap's overlay (patch_directory)
#      laid over it, as meson itself does with a downloaded tarball. A
#      directory that exists is used as is, so meson fetches nothing;
#   3. build/wraps/build is configured from that copy with
#      --force-fallback-for=libuv,check and -Dwerror=true (warnings are
#      errors in auv's code; the overlays build libuv and Check at their
#      own warning_level=0), built, and checked to really use the fallbacks:
#      libuv's version is the Debian source's, and the test program loads
#      the libuv.so the subproject built, not the system's;
#   4. meson test runs the whole suite (Check suites, asyncio traces,
#      examples, load test) on them;
#   5. test/install/subproject-consumer/ is copied to build/wraps/consumer
#      with the auv copy as its subprojects/auv, configured with
#      --force-fallback-for=auv,libuv (auv from the subproject, libuv from
#      the wrap auv carries), built and run.
# Everything it writes is under build/wraps (rebuilt from scratch each run)
# and the cache; the clone's own subprojects/ is not touched. Needs
# dpkg-dev (for apt-get source), meson, ninja and a C compiler.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

top=$root/build/wraps
src=$top/src
bld=$top/build
consumer=$top/consumer
jobs=$(auv_jobs)
t_start=$SECONDS

auv_install_packages dpkg-dev meson ninja-build pkg-config gcc libc6-dev
auv_enable_deb_src

# ---------------------------------------------------------------------------
# 1. Debian's sources, from the cache.
# ---------------------------------------------------------------------------
t0=$SECONDS
uv_version=$(auv_debian_source_version libuv1)
check_version=$(auv_debian_source_version check)
uv_src=$(auv_debian_source libuv1 "$uv_version")
check_src=$(auv_debian_source check "$check_version")
echo "== sources: libuv1 $uv_version, check $check_version ($((SECONDS - t0))s)"

# ---------------------------------------------------------------------------
# 2. The copy of the tree, with the sources laid in.
# ---------------------------------------------------------------------------
t0=$SECONDS
rm -rf "$top"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and untracked-but-not-ignored files, as they are now (a deleted
  # tracked file is skipped): what a commit of the work tree would hold.
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done | tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude=./build --exclude='./subprojects/*/' -cf - . | tar -xf - -C "$src"
fi

# lay_in WRAP SOURCE: SOURCE under the directory WRAP names, with WRAP's
# patch_directory overlay over it.
lay_in() {
  local wrap=$1 from=$2 dir overlay
  dir=$(sed -n 's/^directory *= *//p' "$src/subprojects/$wrap.wrap")
  overlay=$(sed -n 's/^patch_directory *= *//p' "$src/subprojects/$wrap.wrap")
  if [ -z "$dir" ] || [ -z "$overlay" ]; then
    echo "error: subprojects/$wrap.wrap has no directory or patch_directory" >&2
    return 1
  fi
  cp -a "$from" "$src/subprojects/$dir"
  cp -a "$src/subprojects/packagefiles/$overlay/." "$src/subprojects/$dir/"
  echo "   subprojects/$dir: $(basename "$(dirname "$from")") + packagefiles/$overlay"
}
lay_in libuv "$uv_src"
lay_in check "$check_src"
echo "== tree copied to $src ($((SECONDS - t0))s)"

# ---------------------------------------------------------------------------
# 3. Configure and build against the fallbacks.
# ---------------------------------------------------------------------------
t0=$SECONDS
meson setup "$bld" "$src" --buildtype=debug -Dwarning_level=2 -Dwerror=true \
  --force-fallback-for=libuv,check \
  -Dtests=true -Dbenchmarks=false -Dexamples=true >"$top/setup.log" 2>&1 ||
  { cat "$top/setup.log"; exit 1; }
uv_upstream=${uv_version%%-*}
check_upstream=${check_version%%-*}
# uses_fallback LOG NAME VERSION: LOG shows meson running the subproject
# for dependency NAME and taking NAME from it (meson 1.0 says "found: YES
# VERSION (overridden)": the subproject's override_dependency) at VERSION;
# a nested subproject is "PARENT:NAME" and its lines start "PARENT| ".
uses_fallback() {
  local log=$1 name=$2 version=$3 line
  line=$(grep -E "^([a-z-]+\| )?Dependency $name found: YES" "$log" | head -1)
  echo "   $line"
  if ! grep -E "^([a-z-]+\| )?Executing subproject ([a-z-]+:)?$name( |\$)" "$log" >/dev/null ||
     ! grep -E "^([a-z-]+\| )?Dependency $name found: YES ${version//./\\.} \(overridden\)" "$log" >/dev/null; then
    echo "error: meson did not take $name $version from the subproject; setup log:" >&2
    cat "$log" >&2
    return 1
  fi
}
uses_fallback "$top/setup.log" libuv "$uv_upstream"
uses_fallback "$top/setup.log" check "$check_upstream"
ninja -C "$bld" -j"$jobs" >"$top/build.log" 2>&1 ||
  { tail -60 "$top/build.log"; exit 1; }
echo "== built against the fallbacks ($((SECONDS - t0))s)"

# The Check suites' program must load the subproject's libuv.so, not the
# system's (libuv1 is installed too).
uvso=$(ldd "$bld/test/auv-tests" | awk '$1 ~ /^libuv\.so/ {print $3}')
uvso=$(realpath -e "$uvso" 2>/dev/null || echo "$uvso")
case $uvso in
  "$bld"/subprojects/*) echo "   test/auv-tests loads $uvso" ;;
  *) echo "error: test/auv-tests loads libuv from '$uvso', not from the subproject" >&2
     exit 1 ;;
esac

# ---------------------------------------------------------------------------
# 4. The whole suite.
# ---------------------------------------------------------------------------
t0=$SECONDS
echo "== meson test"
meson test -C "$bld" -v --print-errorlogs
echo "== suite run ($((SECONDS - t0))s)"

# ---------------------------------------------------------------------------
# 5. auv as a meson subproject.
# ---------------------------------------------------------------------------
t0=$SECONDS
echo "== meson consumer with auv as a subproject"
mkdir -p "$consumer/subprojects"
cp -a test/install/subproject-consumer/. "$consumer/"
ln -s "$src" "$consumer/subprojects/auv"
meson setup "$consumer/build" "$consumer" --force-fallback-for=auv,libuv \
  >"$top/consumer-setup.log" 2>&1 ||
  { cat "$top/consumer-setup.log"; exit 1; }
uses_fallback "$top/consumer-setup.log" auv "$(sed -n "s/^  version: '\(.*\)',\$/\1/p" meson.build | head -1)"
uses_fallback "$top/consumer-setup.log" libuv "$uv_upstream"
ninja -C "$consumer/build" -j"$jobs" >"$top/consumer-build.log" 2>&1 ||
  { tail -60 "$top/consumer-build.log"; exit 1; }
"$consumer/build/consumer"
echo "== consumer built and ran ($((SECONDS - t0))s)"

echo "wraps test: passed in $((SECONDS - t_start))s"
