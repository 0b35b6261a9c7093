# shellcheck shell=bash
# scripts/lib.sh: helpers shared by scripts/test.sh and scripts/demo.sh.
# Source it; do not run it.

# auv_install_packages PKG...: install the Debian packages that are missing,
# non-interactively. Runs `apt-get update` once, and only when something is
# missing, so a machine that has everything pays nothing. Works as root with
# no stdin (CI); as another user it uses sudo when there is one. On a system
# without apt-get it only says which packages it could not check.
auv_install_packages() {
  local missing=() pkg
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: not a Debian-like system; make sure these are installed: $*" >&2
    return 0
  fi
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep '^install ok installed$' >/dev/null; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo -n)
    else
      echo "error: missing packages (${missing[*]}) and not root; install them and rerun" >&2
      return 1
    fi
  fi

  echo "== installing missing packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null
}

# auv_jobs: how many compile jobs to run (AUV_JOBS, else the core count).
auv_jobs() {
  if [ -n "${AUV_JOBS:-}" ]; then
    echo "$AUV_JOBS"
  else
    nproc 2>/dev/null || echo 2
  fi
}

# auv_cache_dir: where CI keeps what it builds from source and reuses
# between runs and clones (scripts/build-windows-deps.sh): $AUV_CACHE_DIR,
# else ${XDG_CACHE_HOME:-$HOME/.cache}/auv. Outside the clone, so that a
# fresh clone finds it.
auv_cache_dir() {
  echo "${AUV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/auv}"
}

# auv_setup BUILDDIR MESON_SETUP_ARGS...: configure BUILDDIR, or reconfigure
# it with the given options when it already exists (so reruns are
# incremental and options changed since the last run take effect).
auv_setup() {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
}

# auv_as_root CMD...: run CMD as root: directly when root already, else
# through sudo without a prompt (CI has no stdin).
auv_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo -n "$@"
  fi
}

# auv_enable_deb_src: make `apt-get source` work. When apt knows no source
# package for libuv1, deb-src is enabled in the deb822 sources (Debian 12's
# layout) and in the one-line sources.list, once, and the lists refreshed.
auv_enable_deb_src() {
  if apt-cache showsrc libuv1 2>/dev/null | grep '^Package: libuv1' >/dev/null; then
    return 0
  fi
  echo "== enabling deb-src in apt's sources"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    auv_as_root sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
  fi
  if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
    auv_as_root sed -i -n 'p; s/^deb /deb-src /p' /etc/apt/sources.list
  fi
  auv_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
}

# auv_debian_source_version PKG: the newest version of source package PKG
# that apt knows (after auv_enable_deb_src).
auv_debian_source_version() {
  apt-cache showsrc "$1" | sed -n 's/^Version: //p' | sort -V | tail -1
}

# auv_debian_source PKG VERSION: print the directory holding Debian's
# source package PKG=VERSION, unpacked with Debian's patches applied
# (`apt-get source`, which needs dpkg-dev). Fetched once into
# $(auv_cache_dir)/debian-sources/PKG_VERSION/ and reused by every later
# run and clone; the directory is only read from, never built in (copy it
# first to build in it). Concurrent runs take turns (flock); an entry
# without its .stamp (a fetch that did not finish) is fetched again, and
# entries unused for 30 days are removed.
# Take the lock of the cache directory CACHE for the rest of the calling
# shell (fd 9; another run holding it is waited for, up to an hour), then
# remove its entries other than KEEP that were unused for 30 days, and with
# a third argument "stamped" also those without a .stamp (a build that did
# not finish: the lock says no other run is making it now).
auv_cache_lock_prune() {
  local cache=$1 keep=$2 stamped=${3:-} d
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  if ! flock -w 3600 9; then
    echo "error: $cache/.lock held by another run for an hour" >&2
    return 1
  fi
  for d in "$cache"/*/; do
    d=${d%/}
    [ -d "$d" ] && [ "$d" != "$keep" ] || continue
    if { [ "$stamped" = stamped ] && [ ! -f "$d/.stamp" ]; } ||
       [ -n "$(find "$d" -maxdepth 0 -mtime +30)" ]; then
      rm -rf "$d"
    fi
  done
}

auv_debian_source() {
  local pkg=$1 version=$2 cache entry scratch src
  cache=$(auv_cache_dir)/debian-sources
  entry=$cache/$(printf '%s_%s' "$pkg" "$version" | tr -c 'A-Za-z0-9._+-' '_')
  (
    auv_cache_lock_prune "$cache" "$entry" || exit 1
    if [ -f "$entry/.stamp" ]; then
      touch "$entry"
      exit 0
    fi
    echo "== fetching Debian's source of $pkg $version into $entry" >&2
    rm -rf "$entry"
    scratch=$entry.tmp
    rm -rf "$scratch"
    mkdir -p "$scratch"
    # As root, apt-get warns that the _apt user cannot read the directory
    # and fetches unsandboxed, which is harmless.
    (cd "$scratch" && apt-get source -q "$pkg=$version" 2>&1 |
      grep -v 'unsandboxed as root' >&2 || true)
    src=$(find "$scratch" -mindepth 1 -maxdepth 1 -type d | head -1)
    if [ -z "$src" ]; then
      echo "error: apt-get source did not unpack $pkg=$version" >&2
      rm -rf "$scratch"
      exit 1
    fi
    mkdir -p "$entry"
    mv "$src" "$entry/src"
    rm -rf "$scratch"
    echo "$pkg $version" >"$entry/.stamp"
  ) || return 1
  echo "$entry/src"
}
