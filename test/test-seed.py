#!/usr/bin/env python3
"""The seed walkthrough, run in auv: each program examples/seed/<n>-*.c must
print what the seed's cell <n> printed under asyncio, and take as long.

    test-seed.py [--startup-allowance=SECONDS|auto] EXPECTED_DIR PROGRAM...

EXPECTED_DIR holds <n>.expected, the output block of cell n copied
verbatim from the seed (the asyncio walkthrough notebook the project
started from; its typo "ivoked" included). A program's cell number is the
digits its file name starts with, after an optional "seed-".

The programs run at the same time (most of their time is spent asleep), so
the whole check takes as long as the slowest cell, cell 4's 5.4 s. For each:
- it exits 0 and writes nothing to stderr;
- its stdout equals the expected text line for line, except that the clock
  values of cell 5 ('clock time: X', 'loop time: X', 'callback N invoked
  at X') are compared as "<number>" and then checked on their own: each is
  a float as Python prints one; the clock time is the wall clock now; and
  callback 3 runs at the loop time, callback 2 at +0.1 s and callback 1 at
  +0.2 s, never early and at most 50 ms late;
- its run time is at least what the cell sleeps (cells 3, 4, 5: 0.1, 5.4
  and 1.0 s) and less than that plus 0.5 s (cells 1 and 2: under 0.5 s),
  plus the start-up allowance.
Every problem is printed; the exit status is 1 if there was any.

The start-up allowance (default 0) is time a program may take to start
under an emulator before its own clock runs: wine spends about 0.05 s on a
program when its server is warm, more when five start at once on two
cores (and several seconds while its own services are still starting,
which is why scripts/test-windows.sh runs the seed after the Check suite,
with a persistent server). "auto" measures it: the first program (cell 1,
which sleeps nothing) runs three times, one after the other, before the
timed runs; the slowest of the last two runs, times the number of
programs that will start at once, is the allowance. It widens the upper
bounds only; the lower bounds, and cell 5's callback times (read from the
program's own loop clock), are checked as without it.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time

# The time each cell sleeps, in seconds.
CELL_DURATION = {1: 0.0, 2: 0.0, 3: 0.1, 4: 5.4, 5: 1.0}
MARGIN = 0.5        # a cell may take this much longer than it sleeps
LATE = 0.050        # a timed callback may be this late
# Cell 5's callbacks: callback number -> seconds after the loop time.
CALLBACK_OFFSET = {3: 0.0, 2: 0.1, 1: 0.2}

CLOCK_LINE = re.compile(r"^(clock time: |loop time: |callback (\d+) invoked at )(.*)$")
# What Python's repr() of a float looks like: digits with a point or an
# exponent (cell 5 prints its clocks that way, as the seed did).
FLOAT_TEXT = re.compile(r"^-?(\d+\.\d+|\d+(\.\d+)?e[+-]?\d+)$")


def mask(lines):
    """The lines with cell 5's clock values replaced by <number>."""
    return [CLOCK_LINE.sub(lambda m: m.group(1) + "<number>", line)
            for line in lines]


def check_clocks(lines, problems, wall_before, wall_after):
    """Check the values of cell 5's clock lines."""
    loop_time = None
    callbacks = {}
    for line in lines:
        m = CLOCK_LINE.match(line)
        if not m:
            continue
        text = m.group(3)
        if not FLOAT_TEXT.match(text):
            problems.append("not a float as Python prints one: %r" % line)
            continue
        value = float(text)
        if m.group(1) == "clock time: ":
            if not wall_before - 1.0 <= value <= wall_after + 1.0:
                problems.append("clock time %s is not the wall clock (%.6f..%.6f)"
                                % (text, wall_before, wall_after))
        elif m.group(1) == "loop time: ":
            loop_time = value
        else:
            callbacks[int(m.group(2))] = value
    if loop_time is None:
        problems.append("no loop time printed")
        return
    for n, offset in sorted(CALLBACK_OFFSET.items()):
        if n not in callbacks:
            problems.append("callback %d printed no time" % n)
            continue
        due = loop_time + offset
        at = callbacks[n]
        if at < due:
            problems.append("callback %d ran %.6f s early (at %r, due %r)"
                            % (n, due - at, at, due))
        elif at >= due + LATE:
            problems.append("callback %d ran %.3f s late (at %r, due %r)"
                            % (n, at - due, at, due))


def run(program, out):
    """Run program, store (stdout, stderr, status, seconds, wall before,
    wall after) in out."""
    # A cross build runs its programs through meson's exe wrapper (qemu,
    # wine). The outputs go to files, not pipes: the run ends when the
    # program exits, even if a process it started (wine's server and
    # services, when the program is the one that starts them) keeps its
    # outputs open for seconds more.
    wrapper = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))
    with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        wall_before = time.time()
        start = time.monotonic()
        proc = subprocess.run(wrapper + [program], stdin=subprocess.DEVNULL,
                              stdout=fout, stderr=ferr, timeout=60)
        seconds = time.monotonic() - start
        wall_after = time.time()
        fout.seek(0)
        ferr.seek(0)
        stdout = fout.read().decode("utf-8", "replace").replace("\r\n", "\n")
        stderr = ferr.read().decode("utf-8", "replace").replace("\r\n", "\n")
    out.append((stdout, stderr, proc.returncode, seconds, wall_before,
                wall_after))


def measure_startup(program, count):
    """The start-up allowance for count programs started at once: program
    (one that sleeps nothing) run three times in turn; the slowest of the
    last two runs (the first warms the emulator up) times count."""
    times = []
    for _ in range(3):
        out = []
        run(program, out)
        times.append(out[0][3])
    return max(times[1:]) * count


def main():
    args = sys.argv[1:]
    allowance = 0.0
    if args and args[0].startswith("--startup-allowance="):
        allowance = args.pop(0).split("=", 1)[1]
    if len(args) < 2:
        print(__doc__.strip().split("\n\n")[1])
        return 2
    expected_dir = args[0]
    programs = args[1:]
    cells = {}
    for program in programs:
        m = re.match(r"(?:seed-)?(\d+)", os.path.basename(program))
        if not m or int(m.group(1)) not in CELL_DURATION:
            print("FAIL %s: no seed cell number in its name" % program)
            return 1
        cells[int(m.group(1))] = program
    missing = sorted(set(CELL_DURATION) - set(cells))
    if missing:
        print("FAIL no program for cell(s) %s" % ", ".join(map(str, missing)))
        return 1
    if allowance == "auto":
        allowance = measure_startup(cells[min(cells)], len(cells))
    else:
        allowance = float(allowance)
    if allowance:
        print("start-up allowance: %.3f s" % allowance)

    results = {n: [] for n in cells}
    threads = [threading.Thread(target=run, args=(cells[n], results[n]))
               for n in sorted(cells)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    failures = 0
    for n in sorted(cells):
        problems = []
        if not results[n]:
            print("FAIL cell %d (%s): did not run" % (n, cells[n]))
            failures += 1
            continue
        stdout, stderr, status, seconds, wall_before, wall_after = results[n][0]
        with open(os.path.join(expected_dir, "%d.expected" % n), encoding="utf-8") as f:
            expected = f.read().splitlines()
        got = stdout.splitlines()
        if status != 0:
            problems.append("exit status %d" % status)
        if stderr:
            problems.append("wrote to stderr: %r" % stderr)
        if mask(got) != mask(expected):
            problems.append("output differs from %d.expected:\n%s"
                            % (n, "\n".join("       expected %r\n       got      %r" % pair
                                            for pair in zip(mask(expected) + [""] * len(got),
                                                            mask(got) + [""] * len(expected))
                                            if pair[0] != pair[1])))
        if n == 5:
            check_clocks(got, problems, wall_before, wall_after)
        nominal = CELL_DURATION[n]
        if seconds < nominal:
            problems.append("took %.3f s, less than the %.1f s it sleeps" % (seconds, nominal))
        elif seconds >= nominal + MARGIN + allowance:
            problems.append("took %.3f s, %.3f s or more over the %.1f s it sleeps"
                            % (seconds, MARGIN + allowance, nominal))
        print("%-4s cell %d (%s): %.3f s" % ("FAIL" if problems else "ok", n,
                                             os.path.basename(cells[n]), seconds))
        for line in got:
            print("       | " + line)
        for p in problems:
            print("     " + p)
        failures += bool(problems)
    print("%d passed, %d failed" % (len(cells) - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
