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

PEERS = ("auv", "libuv", "asyncio", "uvloop")
PEER_TITLES = {"auv": "auv", "libuv": "raw libuv", "asyncio": "asyncio",
               "uvloop": "uvloop"}

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
]

# (bench, metric, goal, which ratio, predicate on that ratio)
TARGETS = [
    ("call_soon_chains", "ns_per_op", "auv within 2x of raw libuv", "auv/libuv", lambda r: r <= 2.0),
    ("call_soon_burst", "ns_per_op", "auv within 2x of raw libuv", "auv/libuv", lambda r: r <= 2.0),
    ("call_soon_chains", "ns_per_op", "auv >100x faster than asyncio", "asyncio/auv", lambda r: r > 100),
    ("call_soon_chains", "ns_per_op", "auv >100x faster than uvloop", "uvloop/auv", lambda r: r > 100),
    ("call_soon_burst", "ns_per_op", "auv >100x faster than asyncio", "asyncio/auv", lambda r: r > 100),
    ("call_soon_burst", "ns_per_op", "auv >100x faster than uvloop", "uvloop/auv", lambda r: r > 100),
    ("timers", "cpu_ns_per_op", "auv at least 2x faster than raw libuv", "libuv/auv", lambda r: r >= 2.0),
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
                    samples.setdefault((bench, impl, k), []).append(float(v))
                except ValueError:
                    pass
    return samples


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "-"
    return f"{r:.2f}" if r < 10 else f"{r:.0f}"


def count(x):
    """1000000 -> 1M, 1000 -> 1000."""
    x = int(x)
    return f"{x // 1000000}M" if x >= 1000000 and x % 1000000 == 0 else str(x)


def title_of(samples, bench, title):
    """Fill {n} and {chains} from auv's samples (or any peer's): C and
    Python run different sizes, so the title names auv's."""
    for p in PEERS:
        if (bench, p, "n") in samples:
            return title.format(n=count(samples[(bench, p, "n")][0]),
                                chains=count(samples.get((bench, p, "chains"), [0])[0]))
    return title


def build_tables(samples):
    best = {k: min(v) for k, v in samples.items()}
    header = ["benchmark", "unit"] + [PEER_TITLES[p] for p in PEERS] + \
        ["auv/libuv", "asyncio/auv", "uvloop/auv"]
    rows = []
    for bench, metric, title, unit, f in ROWS:
        vals = {p: best.get((bench, p, metric)) for p in PEERS}
        if all(v is None for v in vals.values()):
            continue
        cells = [title_of(samples, bench, title), unit] + [("-" if vals[p] is None else f.format(vals[p]))
                                 for p in PEERS]
        if metric in ("wall_s", "late_ms"):
            # late_ms can be negative (libuv's millisecond clock fires up to
            # 1 ms early); its best is its lowest, like every other figure.
            # Not per-operation costs: ratios would mislead.
            cells += ["", "", ""]
        else:
            cells += [fmt_ratio(ratio(vals["auv"], vals["libuv"])),
                      fmt_ratio(ratio(vals["asyncio"], vals["auv"])),
                      fmt_ratio(ratio(vals["uvloop"], vals["auv"]))]
        rows.append(cells)

    spread = []
    for bench, metric, title, unit, f in ROWS:
        if metric not in ("ns_per_op", "cpu_ns_per_op"):
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
        a, b = which.split("/")
        r = ratio(best.get((bench, a, metric)), best.get((bench, b, metric)))
        if r is None:
            verdict = "not measured"
        else:
            verdict = "met" if ok(r) else "MISSED"
        targets.append([bench, desc, which, fmt_ratio(r), verdict])
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
and uvloop/auv say how many times faster auv is. call_soon figures are wall
time per callback in steady state (after a warm-up). Timer figures are
process CPU time (user + system, getrusage) from the first call_later to the
last callback, per timer: scheduling, firing and wake-ups, without the half
second of sleeping every peer must do; the same measure for every peer.
Python peers run with the cyclic GC disabled while measuring (their
favourable setting). bench/README.md describes each benchmark."""


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
