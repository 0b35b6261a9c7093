#!/usr/bin/env bash
# bench/echo/run.sh: the echo benchmark. Build the load client and the C
# servers in release mode, run every server at every message size, and
# write bench/results/echo.md (the table) and bench/results/echo.png.
#
#   bench/echo/run.sh                  # the full run, about 5-6 minutes
#   AUV_ECHO_QUICK=1 bench/echo/run.sh # 2 s windows, 1 round: about 1.5 min
#
# Settings (environment): AUV_ECHO_ROUNDS (3), AUV_ECHO_DURATION (seconds
# measured per sample, 3), AUV_ECHO_WARMUP (seconds before, 1),
# AUV_ECHO_CONNS (concurrent clients, 10), AUV_ECHO_SIZES (bytes, "1024
# 10240 102400"), AUV_ECHO_SERVERS (a subset of "auv auv-adopt libuv uvloop-protocol
# uvloop-streams asyncio-protocol asyncio-streams node"), AUV_ECHO_PORT
# (first port tried, 21400), BUILD (build/release), PYTHON
# (/usr/bin/python3), NODE (node).
#
# Each round runs every server at every size once, one after the other, and
# then auv and raw libuv with 2 loops (2 threads, SO_REUSEPORT) at 1 KiB;
# the table keeps the sample with the highest req/s of all rounds. For each
# sample the server is started on a fresh port, the client waits until the
# port accepts, runs warm-up + window and prints one JSON line, and the
# server is killed. Everything is bounded by timeouts; a server still
# running when the script exits is killed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

rounds=${AUV_ECHO_ROUNDS:-3}
duration=${AUV_ECHO_DURATION:-3}
warmup=${AUV_ECHO_WARMUP:-1}
if [ "${AUV_ECHO_QUICK:-0}" = 1 ]; then
  rounds=${AUV_ECHO_ROUNDS:-1}
  duration=${AUV_ECHO_DURATION:-2}
  warmup=${AUV_ECHO_WARMUP:-0.5}
fi
conns=${AUV_ECHO_CONNS:-10}
sizes=${AUV_ECHO_SIZES:-"1024 10240 102400"}
servers=${AUV_ECHO_SERVERS:-"auv auv-adopt libuv uvloop-protocol uvloop-streams asyncio-protocol asyncio-streams node"}
# Below Linux's ephemeral range (32768-60999), where a client socket of
# this or another program could hold the port a server wants.
port=${AUV_ECHO_PORT:-21400}
BUILD=${BUILD:-build/release}
PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}

log() { printf '%s\n' "echo bench: $*" >&2; }

case "$rounds" in
  ''|*[!0-9]*|0) log "AUV_ECHO_ROUNDS needs a positive integer"; exit 2 ;;
esac
[ "$(uname -s)" = Linux ] || { log "Linux only (epoll, /proc)"; exit 1; }

# ---- 1. Dependencies -------------------------------------------------------
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v meson >/dev/null 2>&1 || missing+=(meson)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v timeout >/dev/null 2>&1 || missing+=(coreutils)
pkg-config --exists 'libuv >= 1.40' 2>/dev/null || missing+=(libuv1-dev)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
"$PYTHON" -c 'import uvloop' 2>/dev/null || missing+=(python3-uvloop)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""
  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
  else log "not root and no sudo: install ${missing[*]} and run again"; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v "$NODE" >/dev/null 2>&1; then
  log "no Node.js ($NODE): the node peer is skipped"
  servers=$(echo "$servers" | tr ' ' '\n' | grep -vx node | tr '\n' ' ')
fi

# ---- 2. Release build ------------------------------------------------------
blog=$(mktemp)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null || true; fi
  rm -f "$blog"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
quiet() {  # run a build step; show its output only if it fails
  "$@" > "$blog" 2>&1 || { cat "$blog" >&2; log "failed: $*"; exit 1; }
}
opts=(--buildtype=release -Db_ndebug=true -Dbenchmarks=true -Dtests=false -Dexamples=false)
if [ -f "$BUILD/build.ninja" ]; then
  quiet meson setup --reconfigure "$BUILD" "${opts[@]}"
else
  quiet meson setup "$BUILD" "${opts[@]}"
fi
quiet meson compile -C "$BUILD" echo-client echo-server-auv echo-server-uv \
  echo-server-auv-adopt
B="$BUILD/bench"

# ---- 3. Run ----------------------------------------------------------------
raw="$BUILD/echo-raw.jsonl"
: > "$raw"
budget=$(awk -v w="$warmup" -v d="$duration" 'BEGIN { print int(w + d + 30) }')

# The command line of server $1 with $2 loops on port $3.
server_cmd() {
  case "$1" in
    auv) echo "$B/echo-server-auv $3 $2" ;;
    auv-adopt) echo "$B/echo-server-auv-adopt $3" ;;
    libuv) echo "$B/echo-server-uv $3 $2" ;;
    node) echo "$NODE $here/server.js $3" ;;
    *) echo "$PYTHON $here/servers.py $1 $3" ;;
  esac
}

# One sample: server $1, size $2, loops $3, round $4.
sample() {
  local name=$1 size=$2 loops=$3 round=$4 line status=0 try
  for try in 1 2 3; do
    # A fresh port nobody listens on (a leftover from an earlier run must
    # never be the server measured).
    port=$((port + 1))
    while "$B/echo-client" --port "$port" --wait 0 2>/dev/null; do
      port=$((port + 1))
    done
    # shellcheck disable=SC2046
    $(server_cmd "$name" "$loops" "$port") &
    server_pid=$!
    if timeout 15 "$B/echo-client" --port "$port" --wait 10 &&
       kill -0 "$server_pid" 2>/dev/null; then
      break
    fi
    # Most likely the port was taken meanwhile: the next one.
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    [ $try = 3 ] && { log "$name did not start (ports up to $port)"; exit 1; }
    log "$name did not start on port $port; trying another"
  done
  line=$(timeout "$budget" "$B/echo-client" --port "$port" --size "$size" \
           --conns "$conns" --warmup "$warmup" --duration "$duration" \
           --pid "$server_pid" --label "$name") || status=$?
  kill "$server_pid" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  if [ $status != 0 ]; then
    log "FAILED: $name, $size bytes, $loops loop(s) (client exit status $status)"
    exit 1
  fi
  echo "${line%\}}, \"loops\": $loops, \"round\": $round}" >> "$raw"
  log "$(printf '%-17s %6s B %s loop(s): %9.0f req/s' "$name" "$size" "$loops" \
        "$(echo "$line" | sed 's/.*"req_per_s": \([0-9.]*\).*/\1/')")"
}

start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$rounds"); do
  log "round $r/$rounds"
  for size in $sizes; do
    for s in $servers; do
      sample "$s" "$size" 1 "$r"
    done
  done
  for s in auv libuv; do
    case " $servers " in *" $s "*) sample "$s" 1024 2 "$r" ;; esac
  done
done
elapsed=$(( $(date +%s) - start ))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
log "ran $rounds round(s) in $elapsed s"

# ---- 4. Report -------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
[ -n "$(git status --porcelain -- src include 2>/dev/null)" ] && commit="$commit (+ uncommitted changes)"
mkdir -p bench/results
"$PYTHON" "$here/report.py" "$raw" --md bench/results/echo.md \
  --plot bench/results/echo.png \
  --env "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
  --env "auv commit=$commit" \
  --env "machine=$(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)" \
  --env "compiler=$(cc --version | head -1)" \
  --env "libuv=$(pkg-config --modversion libuv)" \
  --env "python=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])'), uvloop $("$PYTHON" -c 'import uvloop; print(uvloop.__version__)')" \
  --env "node=$("$NODE" --version 2>/dev/null || echo none)" \
  --env "load=$conns connections, each one message at a time (send, wait for the whole echo, check it, next)" \
  --env "samples=$rounds round(s) of ${warmup} s warm-up + ${duration} s measured per server and size, in $elapsed s$([ "${AUV_ECHO_QUICK:-0}" = 1 ] && echo ' (quick run: short windows, one round)')" \
  --env "load average (1/5/15 min)=$load_start at start, $load_end at end (more load than the benchmark's own means noisier figures)" \
  --env "raw samples=$raw"
log "table written to bench/results/echo.md, chart to bench/results/echo.png"
