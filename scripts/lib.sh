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
