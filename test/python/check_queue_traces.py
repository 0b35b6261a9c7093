#!/usr/bin/env python3
"""Keep the queue scenarios, their expected traces and test-queue.c in step.

The same check as check_task_traces.py, for the scenarios under
test/python/queues/: every script <name>.py there (files starting with "_"
are helpers) is run with the Python running this file, and what it prints
must equal <name>.expected and the trace that test/test-queue.c asserts as
    ASYNCIO_TRACE("<name>", "<trace>")
(string literals split over lines are joined, as C joins them). Every trace
the C file names must have a scenario.

Python 3.11's asyncio is the reference, except for shutdown, which first
appeared in 3.13. A script whose first line is "# requires: 3.13" is run
only by Python 3.13 or later; with an older Python its .expected (written
from 3.13's source and documentation) is still compared with the C trace,
and the line says that the script was not run.

Usage: check_queue_traces.py [TEST_DIR]   (default: the folder above this file)
"""
import os
import re
import subprocess
import sys

MIN_PYTHON = (3, 11)


def c_traces(c_file):
    with open(c_file, encoding="utf-8") as f:
        text = f.read()
    traces = {}
    for m in re.finditer(r'ASYNCIO_TRACE\(\s*"([A-Za-z0-9_]+)"\s*,((?:\s*"[^"]*")+)\s*\)',
                         text):
        traces[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return traces


def required_python(script):
    with open(script, encoding="utf-8") as f:
        m = re.match(r"#\s*requires:\s*(\d+)\.(\d+)", f.readline())
    return (int(m.group(1)), int(m.group(2))) if m else MIN_PYTHON


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    test_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(here))
    py_dir = os.path.join(test_dir, "python", "queues")
    c_file = os.path.join(test_dir, "test-queue.c")

    if sys.version_info < MIN_PYTHON:
        print("skipped: Python %d.%d is older than the 3.11 reference"
              % sys.version_info[:2])
        return 77

    expected_in_c = c_traces(c_file)
    scenarios = sorted(n[:-3] for n in os.listdir(py_dir)
                       if n.endswith(".py") and not n.startswith("_"))
    failures = 0
    for name in scenarios:
        script = os.path.join(py_dir, name + ".py")
        problems = []
        try:
            with open(os.path.join(py_dir, name + ".expected"), encoding="utf-8") as f:
                expected = f.read().strip()
        except FileNotFoundError:
            expected = None
            problems.append("no %s.expected" % name)
        needs = required_python(script)
        if sys.version_info >= needs:
            proc = subprocess.run([sys.executable, script], cwd=py_dir,
                                  capture_output=True, text=True, timeout=60)
            got = proc.stdout.strip()
            if proc.returncode != 0:
                problems.append("exited %d: %s" % (proc.returncode, proc.stderr.strip()))
            if expected is not None and got != expected:
                problems.append("asyncio prints %r, %s.expected holds %r"
                                % (got, name, expected))
            shown = got
        else:
            shown = "%s (not run: needs Python %d.%d)" % (expected, needs[0], needs[1])
        if name not in expected_in_c:
            problems.append("test-queue.c has no ASYNCIO_TRACE(\"%s\", ...)" % name)
        elif expected is not None and expected_in_c[name] != expected:
            problems.append("test-queue.c expects %r, %s.expected holds %r"
                            % (expected_in_c[name], name, expected))
        status = "FAIL" if problems else "ok"
        print("%-4s %s: %s" % (status, name, shown))
        for p in problems:
            print("     " + p)
        failures += bool(problems)

    for name in sorted(set(expected_in_c) - set(scenarios)):
        print("FAIL %s: test-queue.c names a trace with no scenario script" % name)
        failures += 1

    passed = len(scenarios) + len(set(expected_in_c) - set(scenarios)) - failures
    print("%d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
