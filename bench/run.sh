#!/usr/bin/env bash
# bench/run.sh: build auv in release mode and run every benchmark against
# its peers (raw libuv, Python's asyncio, uvloop), then print the table and
# write it to bench/results/latest.md.
#
#   bench/run.sh                 # the full run, about 2-3 minutes
#   bench/run.sh --rounds 5      # more rounds (default 3)
#   bench/run.sh --quick         # tiny sizes, one round: a smoke test only
#   bench/run.sh --echo          # then the echo benchmark too
#                                # (bench/echo/run.sh: 5-6 more minutes;
#                                # --quick makes it AUV_ECHO_QUICK=1)
#
# What it needs, it installs when missing (Debian/Ubuntu, apt-get, as root
# or through sudo): a C compiler, meson, ninja, pkg-config, libuv1-dev,
# python3-uvloop. The Python peers run on $PYTHON (default /usr/bin/python3,
# the interpreter Debian's python3-uvloop installs into).
#
# The build lives in build/release (--buildtype=release -Db_ndebug=true),
# apart from every other build directory; build/release-ucontext is the
# same with -Dcoro_backend=ucontext, for the coroutine-switch benchmark
# only. Each round runs every peer once, one after the other, and the table
# reports the best sample of all rounds (noise only adds time), so noise on
# a shared machine hits all peers alike; ratios are only ever taken between
# figures of the same run. The million-task run happens once, after the
# rounds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root"

rounds=3
quick=0
echo_bench=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --quick) quick=1; rounds=1; shift ;;
    --echo) echo_bench=1; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

case "$rounds" in
  ''|*[!0-9]*|0) echo "bench/run.sh: --rounds needs a positive integer" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-/usr/bin/python3}
BUILD=${BUILD:-build/release}
BUILD_UC=${BUILD_UC:-build/release-ucontext}

log() { printf '%s\n' "bench: $*" >&2; }

# ---- 1. Dependencies ---------------------------------------------------------
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v meson >/dev/null 2>&1 || missing+=(meson)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists 'libuv >= 1.40' 2>/dev/null || missing+=(libuv1-dev)
if [ ! -x "$PYTHON" ]; then
  missing+=(python3 python3-uvloop)
elif ! "$PYTHON" -c 'import uvloop' 2>/dev/null; then
  missing+=(python3-uvloop)
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""
  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
  else
    log "not root and no sudo: install ${missing[*]} and run again"; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$PYTHON" -c 'import uvloop' || { log "$PYTHON cannot import uvloop"; exit 1; }

# ---- 2. Release build ----------------------------------------------------------
blog=$(mktemp)
trap 'rm -f "$blog"' EXIT
quiet() {  # run a build step; show its output only if it fails
  "$@" > "$blog" 2>&1 || { cat "$blog" >&2; log "failed: $*"; exit 1; }
}
opts=(--buildtype=release -Db_ndebug=true -Dbenchmarks=true -Dtests=false -Dexamples=false)
configure() {  # configure build dir $1 with opts plus the rest
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    # --reconfigure, not `meson configure`: `meson compile <target>` reads
    # the target list of the last configuration, so a benchmark added to
    # bench/meson.build since must be known before compiling.
    quiet meson setup --reconfigure "$dir" "${opts[@]}" "$@"
  else
    quiet meson setup "$dir" "${opts[@]}" "$@"
  fi
}
configure "$BUILD" -Dcoro_backend=auto
targets=(bench-call-soon bench-call-soon-uv bench-timers bench-timers-uv
         bench-coro-switch bench-tasks bench-sync bench-readiness)
quiet meson compile -C "$BUILD" "${targets[@]}"
B="$BUILD/bench"
# The portable backend, for the switch benchmark only (the library and that
# one program are all this build compiles).
configure "$BUILD_UC" -Dcoro_backend=ucontext
quiet meson compile -C "$BUILD_UC" bench-coro-switch
BUC="$BUILD_UC/bench"

# ---- 3. Run ------------------------------------------------------------------
if [ $quick = 1 ]; then
  cs_c=(--total 100000 --single 10000 --burst 10000 --reps 1)
  cs_py=(--total 10000 --single 1000 --burst 10000)
  tm=(--timers 10000 --max-ms 50)
  sw_asm=(--switches 100000 --warmup 10000 --reps 1)
  sw_uc=(--switches 10000 --warmup 1000 --reps 1 --redzone 0)
  tk_c=(--sleep 10000 --spawn 10000 --mem 0 --reps 1)
  tk_py=(--sleep 1000 --spawn 1000)
  sy_c=(--queue 10000 --lock 10000 --reps 1)
  sy_py=(--queue 1000 --lock 1000)
  rd_c=(--tasks 2000 --callbacks 2000 --libuv 2000 --kernel 2000 --threads 2000
        --warmup 100 --reps 1)
  rd_py=(--callbacks 2000 --warmup 100)
  mem_n=1000
  million=10000
  out_md=bench/results/quick.md
else
  # C: 10M callbacks per chains sample, 3 samples per process. Python: 1M
  # (asyncio and uvloop are two orders of magnitude slower), 1 sample.
  cs_c=(--reps 3)
  cs_py=()
  tm=()
  # Switches: 10M one-way switches per sample, 3 samples per process, for
  # the assembly backend; 2M and 1 sample (no red-zone variant) for
  # ucontext, whose swapcontext makes a system call (about 0.5 us a
  # switch: 10M would cost 5 s a sample).
  sw_asm=(--reps 3)
  sw_uc=(--switches 2000000 --warmup 100000 --reps 1 --redzone 0)
  # Tasks: 1M sleeps and 1M spawns per sample, 3 samples per process, for
  # auv; 200k and 1 sample for asyncio and uvloop (3-11 us each: 1M would
  # take 15 s a round per loop; the cost per iteration does not depend on
  # the count).
  tk_c=(--mem 0 --reps 3)
  tk_py=(--sleep 200000 --spawn 200000)
  # Queue and lock: 2M items and 1M lock acquisitions per sample, 3
  # samples per process, for auv; 200k items and 100k acquisitions, 1
  # sample, for asyncio and uvloop (1-9 us an item or hand-off; nothing
  # grows with the count).
  sy_c=(--queue 2000000 --lock 1000000 --reps 3)
  sy_py=(--queue 200000 --lock 100000)
  # Readiness ping-pong: 200k round trips per sample, 3 samples, for auv;
  # 100k, 1 sample, for asyncio and uvloop. Every round trip is system
  # calls (send, recv, epoll_wait on each side), so the count only sets
  # the run's length. The same program runs the floor: raw libuv's
  # uv_poll_t pair, a bare epoll loop and two blocking threads.
  rd_c=(--tasks 200000 --callbacks 200000 --libuv 200000 --kernel 200000
        --threads 200000 --reps 3)
  rd_py=(--callbacks 100000)
  mem_n=100000
  million=1000000
  out_md=bench/results/latest.md
fi

raw="$BUILD/bench-raw.txt"
: > "$raw"
start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
run() {  # run one peer, keep its RESULT lines, fail loudly on error
  "$@" >> "$raw" || { log "failed: $*"; exit 1; }
}
for r in $(seq 1 "$rounds"); do
  log "round $r/$rounds: call_soon"
  run "$B/bench-call-soon" "${cs_c[@]}"
  run "$B/bench-call-soon-uv" "${cs_c[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench call_soon --loop asyncio "${cs_py[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench call_soon --loop uvloop "${cs_py[@]}"
  log "round $r/$rounds: timers"
  run "$B/bench-timers" "${tm[@]}"
  run "$B/bench-timers-uv" "${tm[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench timers --loop asyncio "${tm[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench timers --loop uvloop "${tm[@]}"
  log "round $r/$rounds: coroutine switch, tasks"
  run "$B/bench-coro-switch" "${sw_asm[@]}"
  run "$BUC/bench-coro-switch" "${sw_uc[@]}"
  run "$B/bench-tasks" "${tk_c[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench tasks --loop asyncio "${tk_py[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench tasks --loop uvloop "${tk_py[@]}"
  log "round $r/$rounds: queue pipeline, lock hand-off"
  run "$B/bench-sync" "${sy_c[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench sync --loop asyncio "${sy_py[@]}"
  run "$PYTHON" bench/bench_asyncio.py --bench sync --loop uvloop "${sy_py[@]}"
  log "round $r/$rounds: fd readiness ping-pong"
  run "$B/bench-readiness" "${rd_c[@]}"
  run "$PYTHON" bench/bench_readiness.py --loop asyncio "${rd_py[@]}"
  run "$PYTHON" bench/bench_readiness.py --loop uvloop "${rd_py[@]}"
  # Memory: a fresh process per sample, so nothing is pooled before.
  run "$B/bench-tasks" --sleep 0 --spawn 0 --mem "$mem_n"
  run "$PYTHON" bench/bench_asyncio.py --bench task_mem --loop asyncio --tasks "$mem_n"
  run "$PYTHON" bench/bench_asyncio.py --bench task_mem --loop uvloop --tasks "$mem_n"
done
# A million suspended tasks, once: it must work, so a failure is reported
# (bench-tasks prints the error) and shown in the table, not fatal here.
log "a million suspended tasks (about 4 GiB of RSS; 15-40 s)"
status=0
"$B/bench-tasks" --sleep 0 --spawn 0 --mem 0 --million "$million" >> "$raw" || status=$?
if [ $status != 0 ]; then
  log "the million-task run FAILED (exit status $status; its error is above)"
  grep -q '^RESULT bench=tasks_1m' "$raw" ||
    echo "RESULT bench=tasks_1m impl=auv n=$million ok=0 exit_status=$status" >> "$raw"
fi
elapsed=$(( $(date +%s) - start ))
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
log "ran $rounds round(s) in $elapsed s"

# ---- 4. Report -----------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
[ -n "$(git status --porcelain -- src include 2>/dev/null)" ] && commit="$commit (+ uncommitted changes)"
backend=$(sed -n 's/.*impl=auv backend=\([^ ]*\).*/\1/p' "$raw" | head -1)
switch_env="auv: ${backend:-?} ($BUILD), auv ucontext: ucontext ($BUILD_UC)"
tsc=$(sed -n 's/.*impl=auv .*tsc_per_ns=\([^ ]*\).*/\1/p' "$raw" | head -1)
[ -n "$tsc" ] && switch_env="$switch_env; ticks are TSC ticks, $tsc per ns (constant rate: not core cycles)"
grep -q 'cntvct_per_op' "$raw" && switch_env="$switch_env; ticks are cntvct_el0 ticks (the generic timer, not core cycles)"
mkdir -p bench/results
"$PYTHON" bench/report.py "$raw" --md "$out_md" \
  --env "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
  --env "auv commit=$commit" \
  --env "machine=$(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)" \
  --env "compiler=$(cc --version | head -1)" \
  --env "libuv=$(pkg-config --modversion libuv)" \
  --env "python=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])'), uvloop $("$PYTHON" -c 'import uvloop; print(uvloop.__version__)')" \
  --env "coroutine switch=$switch_env" \
  --env "vm.max_map_count=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo unknown)" \
  --env "rounds=$rounds in $elapsed s$([ $quick = 1 ] && echo ' (quick: tiny sizes, not meaningful)')" \
  --env "load average (1/5/15 min)=$load_start at start, $load_end at end (the machine has $(nproc) cores; more load means noisier figures)" \
  --env "raw samples=$raw"
log "table written to $out_md"

# ---- 5. The echo benchmark (I/O), on request ------------------------------------
if [ "$echo_bench" = 1 ]; then
  log "echo benchmark: bench/echo/run.sh"
  if [ "$quick" = 1 ]; then
    AUV_ECHO_QUICK=1 BUILD="$BUILD" bash bench/echo/run.sh
  else
    BUILD="$BUILD" bash bench/echo/run.sh
  fi
fi
