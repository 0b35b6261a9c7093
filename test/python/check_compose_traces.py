#!/usr/bin/env python3
"""Keep the compose scenarios, their expected traces and the C suites in step.

The same check as check_task_traces.py, for gather, wait, wait_for,
timeouts, shield, as_completed and TaskGroup: every script
test/python/compose/<name>.py (files starting with "_" are helpers) is run
with the Python running this file, and what it prints must equal
test/python/compose/<name>.expected and the trace that one of
test/test-gather.c, test-wait.c, test-timeout.c, test-taskgroup.c asserts
as
    ASYNCIO_TRACE("<name>", "<trace>")
(string literals split over lines are joined, as C joins them). Every
trace the C files name must have a scenario. Python 3.11's asyncio is the
reference (asyncio.timeout and TaskGroup first appeared in 3.11); the
scenarios avoid what 3.12 changed (wait_for's implementation, gather of
futures already done), which the C suites test on their own.

Usage: check_task_traces.py [TEST_DIR]   (default: the folder above this file)
"""
import os
import re
import subprocess
import sys

MIN_PYTHON = (3, 11)
C_FILES = ("test-gather.c", "test-wait.c", "test-timeout.c", "test-taskgroup.c")


def c_traces(c_file):
    with open(c_file, encoding="utf-8") as f:
        text = f.read()
    traces = {}
    for m in re.finditer(r'ASYNCIO_TRACE\(\s*"([A-Za-z0-9_]+)"\s*,((?:\s*"[^"]*")+)\s*\)',
                         text):
        traces[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return traces


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    test_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(here)
    py_dir = os.path.join(test_dir, "python", "compose")
    c_files = [os.path.join(test_dir, n) for n in C_FILES]

    if sys.version_info < MIN_PYTHON:
        print("skipped: Python %d.%d is older than the 3.11 reference"
              % sys.version_info[:2])
        return 77

    expected_in_c = {}
    for c_file in c_files:
        expected_in_c.update(c_traces(c_file))
    scenarios = sorted(n[:-3] for n in os.listdir(py_dir)
                       if n.endswith(".py") and not n.startswith("_"))
    failures = 0
    for name in scenarios:
        proc = subprocess.run([sys.executable, os.path.join(py_dir, name + ".py")],
                              cwd=py_dir, capture_output=True, text=True,
                              timeout=60)
        got = proc.stdout.strip()
        problems = []
        if proc.returncode != 0:
            problems.append("exited %d: %s" % (proc.returncode, proc.stderr.strip()))
        try:
            with open(os.path.join(py_dir, name + ".expected"), encoding="utf-8") as f:
                expected = f.read().strip()
        except FileNotFoundError:
            expected = None
            problems.append("no %s.expected" % name)
        if expected is not None and got != expected:
            problems.append("asyncio prints %r, %s.expected holds %r" % (got, name, expected))
        if name not in expected_in_c:
            problems.append("the C suites have no ASYNCIO_TRACE(\"%s\", ...)" % name)
        elif expected is not None and expected_in_c[name] != expected:
            problems.append("the C suites expect %r, %s.expected holds %r"
                            % (expected_in_c[name], name, expected))
        status = "FAIL" if problems else "ok"
        print("%-4s %s: %s" % (status, name, got))
        for p in problems:
            print("     " + p)
        failures += bool(problems)

    for name in sorted(set(expected_in_c) - set(scenarios)):
        print("FAIL %s: a C suite names a trace with no scenario script" % name)
        failures += 1

    passed = len(scenarios) + len(set(expected_in_c) - set(scenarios)) - failures
    print("%d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
