#!/usr/bin/env python3
"""Keep the asyncio scenarios, their expected traces and the C tests in step.

For every scenario test/python/<name>.py (files starting with "_" or
"check_" are helpers) this runs the script with the Python running this
file and compares what it prints with test/python/<name>.expected. It then
checks that test/test-asyncio.c asserts the very same trace, written there as
    ASYNCIO_TRACE("<name>", "<trace>")
and that every trace the C file names has a scenario. Any mismatch fails the
run, so neither the C expectation nor the checked-in file can drift from
what asyncio does.

Usage: check_traces.py [TEST_DIR]   (default: the folder above this file)
"""
import os
import re
import subprocess
import sys


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    test_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(here))
    py_dir = os.path.join(test_dir, "python")
    c_file = os.path.join(test_dir, "test-asyncio.c")

    with open(c_file, encoding="utf-8") as f:
        c_traces = dict(re.findall(
            r'ASYNCIO_TRACE\(\s*"([A-Za-z0-9_]+)"\s*,\s*"([^"]*)"\s*\)',
            f.read()))

    scenarios = sorted(n[:-3] for n in os.listdir(py_dir)
                       if n.endswith(".py") and not n.startswith(("_", "check_")))
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
        if name not in c_traces:
            problems.append("test-asyncio.c has no ASYNCIO_TRACE(\"%s\", ...)" % name)
        elif expected is not None and c_traces[name] != expected:
            problems.append("test-asyncio.c expects %r, %s.expected holds %r"
                            % (c_traces[name], name, expected))
        status = "FAIL" if problems else "ok"
        print("%-4s %s: %s" % (status, name, got))
        for p in problems:
            print("     " + p)
        failures += bool(problems)

    for name in sorted(set(c_traces) - set(scenarios)):
        print("FAIL %s: test-asyncio.c names a trace with no scenario script" % name)
        failures += 1

    passed = len(scenarios) + len(set(c_traces) - set(scenarios)) - failures
    print("%d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
