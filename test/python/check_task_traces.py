#!/usr/bin/env python3
"""Keep the task scenarios, their expected traces and test-task.c in step.

The same check as check_traces.py, for the Task scenarios: every script
test/python/task/<name>.py (files starting with "_" are helpers) is run
with the Python running this file, and what it prints must equal
test/python/task/<name>.expected and the trace that test/test-task.c
asserts as
    ASYNCIO_TRACE("<name>", "<trace>")
(string literals split over lines are joined, as C joins them). Every
trace the C file names must have a scenario. Python 3.11's asyncio is the
reference: Task.cancelling() and uncancel() first appeared in 3.11.

Usage: check_task_traces.py [TEST_DIR]   (default: the folder above this file)
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


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    test_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(here)
    py_dir = os.path.join(test_dir, "python", "task")
    c_file = os.path.join(test_dir, "test-task.c")

    if sys.version_info < MIN_PYTHON:
        print("skipped: Python %d.%d is older than the 3.11 reference"
              % sys.version_info[:2])
        return 77

    expected_in_c = c_traces(c_file)
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
            problems.append("test-task.c has no ASYNCIO_TRACE(\"%s\", ...)" % name)
        elif expected is not None and expected_in_c[name] != expected:
            problems.append("test-task.c expects %r, %s.expected holds %r"
                            % (expected_in_c[name], name, expected))
        status = "FAIL" if problems else "ok"
        print("%-4s %s: %s" % (status, name, got))
        for p in problems:
            print("     " + p)
        failures += bool(problems)

    for name in sorted(set(expected_in_c) - set(scenarios)):
        print("FAIL %s: test-task.c names a trace with no scenario script" % name)
        failures += 1

    passed = len(scenarios) + len(set(expected_in_c) - set(scenarios)) - failures
    print("%d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
