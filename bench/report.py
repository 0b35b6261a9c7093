"""report.py: turn the RESULT lines of one bench/run.sh run into a table.

  python3 bench/report.py RAW_FILE [--md OUT.md] [--env KEY=VALUE ...]

Each figure is the best (lowest) of every sample of that benchmark and peer
in the run: the work is deterministic, so noise from a shared machine can
only add time, and the best sample is the closest to the intrinsic cost.
bench/run.sh interleaves the peers round by round, so a noisy moment hits
all of them alike; the spread table in the markdown output shows min,
median and max of every figure. Ratios are taken between figures of the
same run, never against figures from another run or machine.
"""

import argparse
import statistics
import sys

# auv-ucontext is auv built with -Dcoro_backend=ucontext (bench/run.sh's
# second build directory); only the coroutine-switch benchmark runs there.
# kernel: the readiness ping-pong with no library (bench-readiness.c), the
# floor of every peer there.
PEERS = ("auv", "auv-ucontext", "libuv", "kernel", "asyncio", "uvloop")
PEER_TITLES = {"auv": "auv", "auv-ucontext": "auv ucontext", "libuv": "raw libuv",
               "kernel": "bare kernel", "asyncio": "asyncio", "uvloop": "uvloop"}
RATIOS = (("auv/libuv", "auv", "libuv"), ("libuv/kernel", "libuv", "kernel"),
          ("ucontext/auv", "auv-ucontext", "auv"),
          ("asyncio/auv", "asyncio", "auv"), ("uvloop/auv", "uvloop", "auv"))

# (bench, metric, row title, unit, format)
ROWS = [
    ("call_soon_chains", "ns_per_op", "call_soon, {chains} chains", "ns/callback", "{:.1f}"),
    ("call_soon_chain1", "ns_per_op", "call_soon, 1 chain", "ns/callback", "{:.1f}"),
    ("call_soon_burst", "ns_per_op", "call_soon, burst of {n} (schedule + run)", "ns/callback", "{:.1f}"),
    ("call_soon_burst", "sched_ns_per_op", "  burst: schedule only", "ns/callback", "{:.1f}"),
    ("call_soon_burst", "run_ns_per_op", "  burst: run only", "ns/callback", "{:.1f}"),
    ("timers", "cpu_ns_per_op", "{n} timers, CPU time (schedule + fire)", "ns/timer", "{:.0f}"),
    ("timers", "sched_ns_per_op", "  timers: schedule only, wall", "ns/timer", "{:.0f}"),
    ("timers", "wall_s", "  timers: wall time, start to last callback", "s", "{:.3f}"),
    ("timers", "late_ms", "  timers: last callback after last deadline", "ms", "{:.1f}"),
    ("coro_switch", "ns_per_op", "coro switch, one way (auv__coro_switch)", "ns/switch", "{:.2f}"),
    ("coro_switch", "tsc_per_op", "  switch: in TSC ticks (x86_64 rdtsc)", "ticks/switch", "{:.1f}"),
    ("coro_switch", "cntvct_per_op", "  switch: in cntvct_el0 ticks (aarch64)", "ticks/switch", "{:.2f}"),
    ("coro_switch_raw", "ns_per_op", "  switch: backend switch alone", "ns/switch", "{:.2f}"),
    ("coro_switch_call", "ns_per_op", "  switch: then a return (as in tasks)", "ns/switch", "{:.2f}"),
    ("coro_switch_redzone", "ns_per_op", "  switch: unguarded stack (red-zone check)", "ns/switch", "{:.2f}"),
    ("task_sleep0", "ns_per_op", "await sleep(0) round trip, 1 task", "ns/await", "{:.1f}"),
    ("task_spawn", "ns_per_op", "spawn + await a trivial task", "ns/task", "{:.1f}"),
    ("queue_pipeline", "ns_per_op", "queue pipeline, {n} items, maxsize {maxsize}", "ns/item", "{:.1f}"),
    ("queue_pipeline", "items_per_s", "  queue: items per second", "M items/s", "{:.2f}"),
    ("lock_handoff", "ns_per_op", "lock hand-off, {lockers} tasks, {n} acquisitions", "ns/hand-off", "{:.1f}"),
    ("lock_handoff", "handoffs_per_s", "  lock: hand-offs per second", "M/s", "{:.3f}"),
    ("readiness_tasks", "ns_per_op", "fd ping-pong, tasks (wait_readable + recv/send)", "ns/round trip", "{:.0f}"),
    ("readiness_tasks", "cpu_ns_per_op", "  tasks: CPU time (user + system)", "ns/round trip", "{:.0f}"),
    ("readiness_callbacks", "ns_per_op", "fd ping-pong, add_reader callbacks", "ns/round trip", "{:.0f}"),
    ("readiness_callbacks", "cpu_ns_per_op", "  callbacks: CPU time (user + system)", "ns/round trip", "{:.0f}"),
    ("readiness_threads", "ns_per_op", "  fd ping-pong, two blocking threads", "ns/round trip", "{:.0f}"),
    ("readiness_threads", "cpu_ns_per_op", "  threads: CPU time (user + system)", "ns/round trip", "{:.0f}"),
    ("task_mem", "bytes_per_task", "{n} suspended tasks: RSS per task", "bytes/task", "{:.0f}"),
    ("task_mem", "pte_bytes_per_task", "  page tables per task (VmPTE; not in RSS)", "bytes/task", "{:.0f}"),
    ("tasks_1m", "hwm_mib", "{n} suspended tasks: peak RSS (VmHWM)", "MiB", "{:.0f}"),
    ("tasks_1m", "bytes_per_task", "  {n}: RSS per suspended task", "bytes/task", "{:.0f}"),
    ("tasks_1m", "pte_bytes_per_task", "  {n}: page tables per task (not in RSS)", "bytes/task", "{:.0f}"),
    ("tasks_1m", "maps", "  {n}: memory mappings at the peak", "mappings", "{:.0f}"),
    ("tasks_1m", "create_s", "  {n}: create them all", "s", "{:.2f}"),
    ("tasks_1m", "suspend_s", "  {n}: run until all suspended", "s", "{:.2f}"),
    ("tasks_1m", "finish_s", "  {n}: complete, finish, release all", "s", "{:.2f}"),
    ("tasks_1m", "total_s", "  {n}: the three phases", "s", "{:.2f}"),
    ("tasks_1m", "failed_at", "  {n}: FAILED: auv_task_new error at task", "index", "{:.0f}"),
    ("tasks_1m", "err", "  {n}: FAILED: the error code returned", "code", "{:.0f}"),
]

# Figures that are not per-operation costs of comparable work: no ratios.
# (late_ms can be negative: libuv's millisecond clock fires up to 1 ms
# early; its best is its lowest, like every other figure.)
NO_RATIOS = {"wall_s", "late_ms", "hwm_mib", "maps", "create_s", "suspend_s",
             "finish_s", "total_s", "failed_at", "err",
             "items_per_s", "handoffs_per_s"}

# Rates: higher is better, so their best sample is the highest. They are
# shown in millions (the unit says so) and carry no ratios: the ns row
# above each gives the same ratio (a rate is n / wall time).
HIGHER_IS_BETTER = {"items_per_s", "handoffs_per_s"}
SCALE = {"items_per_s": 1e-6, "handoffs_per_s": 1e-6}

# (bench, metric, goal, which ratio, predicate on that ratio)
TARGETS = [
    ("call_soon_chains", "ns_per_op", "auv within 2x of raw libuv", "auv/libuv", lambda r: r <= 2.0),
    ("call_soon_burst", "ns_per_op", "auv within 2x of raw libuv", "auv/libuv", lambda r: r <= 2.0),
    ("call_soon_chains", "ns_per_op", "auv >100x faster than asyncio", "asyncio/auv", lambda r: r > 100),
    ("call_soon_chains", "ns_per_op", "auv >100x faster than uvloop", "uvloop/auv", lambda r: r > 100),
    ("call_soon_burst", "ns_per_op", "auv >100x faster than asyncio", "asyncio/auv", lambda r: r > 100),
    ("call_soon_burst", "ns_per_op", "auv >100x faster than uvloop", "uvloop/auv", lambda r: r > 100),
    ("timers", "cpu_ns_per_op", "auv at least 2x faster than raw libuv", "libuv/auv", lambda r: r >= 2.0),
    # Absolute targets: "which" names one peer, whose best figure is judged.
    ("coro_switch", "ns_per_op", "asm switch < 10 ns (x86_64)", "auv ns", lambda v: v < 10),
    ("task_sleep0", "ns_per_op", "sleep(0) round trip < 50 ns", "auv ns", lambda v: v < 50),
    ("task_spawn", "ns_per_op", "spawn + await < 200 ns", "auv ns", lambda v: v < 200),
    # Issue 4: items/s and hand-offs/s at least 50x uvloop's; as ns per
    # item or hand-off, uvloop's figure over auv's.
    ("queue_pipeline", "ns_per_op", "queue items/s >= 50x uvloop", "uvloop/auv", lambda r: r >= 50),
    ("lock_handoff", "ns_per_op", "lock hand-offs/s >= 50x uvloop", "uvloop/auv", lambda r: r >= 50),
    # Issue 12: readiness ping-pong in tasks at least 20x uvloop's
    # add_reader ping-pong (the Python peers' callback figure is also their
    # readiness_tasks line: bench_readiness.py says why).
    ("readiness_tasks", "ns_per_op", "fd readiness ping-pong >= 20x uvloop", "uvloop/auv", lambda r: r >= 20),
    ("task_mem", "bytes_per_task", "<= 8 KiB per suspended task", "auv bytes", lambda v: v <= 8192),
    ("tasks_1m", "ok", "1M concurrent suspended tasks run", "auv ok", lambda v: v == 1),
]


def parse(path):
    samples = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            kv = dict(p.split("=", 1) for p in line.split()[1:])
            bench, impl = kv.pop("bench"), kv.pop("impl")
            for k, v in kv.items():
                try:
                    x = float(v)
                except ValueError:
                    continue  # a label (backend=asm-x86_64), not a figure
                samples.setdefault((bench, impl, k), []).append(x)
    return samples


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "-"
    if r < 0.1:
        return f"{r:.3f}"
    return f"{r:.2f}" if r < 10 else f"{r:.0f}"


def count(x):
    """1000000 -> 1M, 1000 -> 1000."""
    x = int(x)
    return f"{x // 1000000}M" if x >= 1000000 and x % 1000000 == 0 else str(x)


TITLE_KEYS = ("n", "chains", "maxsize", "lockers")


def title_of(samples, bench, title):
    """Fill {n}, {chains}, {maxsize}, {lockers} from auv's samples (or any
    peer's): C and Python run different sizes, so the title names auv's."""
    for p in PEERS:
        if (bench, p, "n") in samples:
            return title.format(**{k: count(samples.get((bench, p, k), [0])[0])
                                   for k in TITLE_KEYS})
    return title


def best_of(metric, v):
    return max(v) if metric in HIGHER_IS_BETTER else min(v)


def display(metric, f, v):
    return f.format(v * SCALE.get(metric, 1.0))


def build_tables(samples):
    best = {k: best_of(k[2], v) for k, v in samples.items()}
    header = ["benchmark", "unit"] + [PEER_TITLES[p] for p in PEERS] + \
        [name for name, _, _ in RATIOS]
    rows = []
    for bench, metric, title, unit, f in ROWS:
        vals = {p: best.get((bench, p, metric)) for p in PEERS}
        if all(v is None for v in vals.values()):
            continue
        cells = [title_of(samples, bench, title), unit] + [("-" if vals[p] is None else display(metric, f, vals[p]))
                                 for p in PEERS]
        if metric in NO_RATIOS:
            cells += [""] * len(RATIOS)
        else:
            cells += [fmt_ratio(ratio(vals[a], vals[b])) for _, a, b in RATIOS]
        rows.append(cells)

    spread = []
    for bench, metric, title, unit, f in ROWS:
        if metric not in ("ns_per_op", "cpu_ns_per_op", "bytes_per_task"):
            continue
        for p in PEERS:
            v = samples.get((bench, p, metric))
            if v:
                spread.append([title_of(samples, bench, title), PEER_TITLES[p],
                               f"{len(v)} x {count(samples[(bench, p, 'n')][0])}",
                               f.format(min(v)), f.format(statistics.median(v)),
                               f.format(max(v))])

    targets = []
    for bench, metric, desc, which, ok in TARGETS:
        if "/" in which:
            a, b = which.split("/")
            r = ratio(best.get((bench, a, metric)), best.get((bench, b, metric)))
            shown = fmt_ratio(r)
        else:
            # An absolute target on one peer's figure. ok=0 (a failed run)
            # is its lowest sample, so one failure fails the target.
            r = best.get((bench, which.split()[0], metric))
            shown = "-" if r is None else f"{r:.4g}"
        if r is None:
            verdict = "not measured"
        else:
            verdict = "met" if ok(r) else "MISSED"
        targets.append([bench, desc, which, shown, verdict])
    return header, rows, spread, targets


def text_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]
    out = []
    for j, r in enumerate([header] + rows):
        out.append("  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                             for i, c in enumerate(r)).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("  ", "&nbsp;&nbsp;", 1)
                                     if i == 0 else str(c)
                                     for i, c in enumerate(r)) + " |")
    return "\n".join(out)


NOTES = """\
How to read it: each figure is the best of all samples of one run (noise
only adds time; the markdown output lists min, median and max); lower is
better. auv/libuv below 1 means auv is faster than raw libuv; asyncio/auv
and uvloop/auv say how many times faster auv is (for memory, how many times
less it uses: below 1 means auv uses more); ucontext/auv is how many times
slower the portable ucontext switch is than the assembly one. call_soon
figures are wall time per callback in steady state (after a warm-up). Timer
figures are process CPU time (user + system, getrusage) from the first
call_later to the last callback, per timer: scheduling, firing and
wake-ups, without the half second of sleeping every peer must do; the same
measure for every peer. Python peers run with the cyclic GC disabled while
measuring (their favourable setting). Coroutine-switch ticks are the CPU's
reference counter (x86_64: TSC, constant rate, not core cycles). Task
memory is the growth of resident memory (RSS) per suspended task, allocator
and stack pages included. Queue and lock figures are wall time per item
(put + get) and per hand-off; their rate rows (millions per second, higher
is better, the best sample is the highest) carry no ratios: the ns row's
ratio is the same. bench/README.md describes each benchmark."""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--md")
    ap.add_argument("--env", action="append", default=[])
    a = ap.parse_args()

    samples = parse(a.raw)
    if not samples:
        sys.exit("report.py: no RESULT lines in " + a.raw)
    header, rows, spread, targets = build_tables(samples)
    env = [e.split("=", 1) for e in a.env]

    print(text_table(header, rows))
    print()
    print(text_table(["target (" + "same run" + ")", "goal", "ratio", "value", "verdict"],
                     targets))
    print()
    print(NOTES)

    if a.md:
        with open(a.md, "w") as f:
            f.write("# auv benchmarks: latest run\n\n")
            f.write("Written by `bench/run.sh`; see bench/README.md.\n\n")
            for k, v in env:
                f.write(f"- {k}: {v}\n")
            f.write("\n" + md_table(header, rows) + "\n\n")
            f.write("## Targets\n\n")
            f.write(md_table(["benchmark", "goal", "ratio", "value", "verdict"],
                             targets) + "\n\n")
            f.write("## Spread of the samples\n\n")
            f.write(md_table(["benchmark", "peer", "samples x size", "min", "median", "max"],
                             spread) + "\n\n")
            f.write(NOTES + "\n")


if __name__ == "__main__":
    main()
