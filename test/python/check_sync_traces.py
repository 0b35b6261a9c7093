#!/usr/bin/env python3
"""Keep the synchronisation scenarios, their expected traces and test-sync.c
in step.

Every script test/python/sync/<name>.py (files starting with "_" are
helpers) is run, and what it prints must equal
test/python/sync/<name>.expected and the trace that test/test-sync.c
asserts as ASYNCIO_TRACE("<name>", "<trace>") (string literals split over
lines are joined, as C joins them). Every trace the C file names must have
a scenario.

The reference is asyncio's locks.py as of 3.12's last bugfix releases,
which is 3.13's. Python 3.11 agrees with it on every scenario but those
marked "# needs: 3.12-latest" (a Semaphore waiter waking as many as the
value allows, a Condition waiter passing a notification on); those run
with the newest Python found (AUV_PYTHON_LATEST, python3.14/python3.13 on
PATH, or pyenv's versions) and are skipped, not failed, without one.

Usage: check_sync_traces.py [TEST_DIR]   (default: the folder above this file)
"""
import glob
import os
import re
import shutil
import subprocess
import sys

MIN_PYTHON = (3, 11)
LATEST = (3, 13)
NEEDS_LATEST = "# needs: 3.12-latest"


def c_traces(c_file):
    with open(c_file, encoding="utf-8") as f:
        text = f.read()
    traces = {}
    for m in re.finditer(r'ASYNCIO_TRACE\(\s*"([A-Za-z0-9_]+)"\s*,((?:\s*"[^"]*")+)\s*\)',
                         text):
        traces[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return traces


def python_version(exe):
    try:
        out = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.split()
        return tuple(int(x) for x in out)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def latest_python():
    if sys.version_info >= LATEST:
        return sys.executable
    candidates = [os.environ.get("AUV_PYTHON_LATEST")]
    candidates += [shutil.which(n) for n in ("python3.14", "python3.13")]
    pyenv = shutil.which("pyenv")
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    if pyenv:
        try:
            roots.insert(0, subprocess.run([pyenv, "root"], capture_output=True,
                                           text=True, timeout=30).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    for root in filter(None, roots):
        candidates += sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")),
                             reverse=True)
    for exe in filter(None, candidates):
        v = python_version(exe)
        if v is not None and v >= LATEST:
            return exe
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    test_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(here))
    py_dir = os.path.join(test_dir, "python", "sync")
    c_file = os.path.join(test_dir, "test-sync.c")

    if sys.version_info < MIN_PYTHON:
        print("skipped: Python %d.%d is older than 3.11" % sys.version_info[:2])
        return 77

    latest = latest_python()
    expected_in_c = c_traces(c_file)
    scenarios = sorted(n[:-3] for n in os.listdir(py_dir)
                       if n.endswith(".py") and not n.startswith("_"))
    failures = skipped = 0
    for name in scenarios:
        path = os.path.join(py_dir, name + ".py")
        with open(path, encoding="utf-8") as f:
            needs_latest = NEEDS_LATEST in f.read()
        exe = latest if needs_latest else sys.executable
        problems = []
        try:
            with open(os.path.join(py_dir, name + ".expected"), encoding="utf-8") as f:
                expected = f.read().strip()
        except FileNotFoundError:
            expected = None
            problems.append("no %s.expected" % name)
        if name not in expected_in_c:
            problems.append("test-sync.c has no ASYNCIO_TRACE(\"%s\", ...)" % name)
        elif expected is not None and expected_in_c[name] != expected:
            problems.append("test-sync.c expects %r, %s.expected holds %r"
                            % (expected_in_c[name], name, expected))
        got = "(not run: no Python >= %d.%d found)" % LATEST
        if exe is not None:
            proc = subprocess.run([exe, path], cwd=py_dir, capture_output=True,
                                  text=True, timeout=60)
            got = proc.stdout.strip()
            if proc.returncode != 0:
                problems.append("exited %d: %s" % (proc.returncode, proc.stderr.strip()))
            if expected is not None and got != expected:
                problems.append("asyncio prints %r, %s.expected holds %r"
                                % (got, name, expected))
        status = "FAIL" if problems else ("skip" if exe is None else "ok")
        print("%-4s %s: %s" % (status, name, got))
        for p in problems:
            print("     " + p)
        failures += bool(problems)
        skipped += exe is None and not problems

    for name in sorted(set(expected_in_c) - set(scenarios)):
        print("FAIL %s: test-sync.c names a trace with no scenario script" % name)
        failures += 1

    total = len(scenarios) + len(set(expected_in_c) - set(scenarios))
    print("%d passed, %d failed, %d skipped" % (total - failures - skipped, failures, skipped))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
