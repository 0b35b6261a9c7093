#!/usr/bin/env python3
"""Keep a folder of asyncio scenarios, their expected traces and the C
suites that assert them in step.

Every script test/python/<FOLDER>/<name>.py (files starting with "_" are
helpers) is run, and what it prints must equal <name>.expected beside it
and the trace that one of the C files asserts as
ASYNCIO_TRACE("<name>", "<trace>") (string literals split over lines are
joined, as C joins them). Every trace the C files name must have a
scenario.

Python 3.11 (/usr/bin/python3 here) is the reference. A scenario marked
"# needs: 3.12-latest" or "# requires: 3.13" follows behaviour newer
Pythons have (3.12's last Semaphore and Condition fixes, 3.13's
Queue.shutdown): it runs with the newest Python found (AUV_PYTHON_LATEST,
python3.14/python3.13 on PATH, or pyenv's versions) and without one only
its .expected file is compared with the C trace, reported as skipped.

Usage: check_scenarios.py TEST_DIR FOLDER C_FILE...
   e.g. check_scenarios.py test sync test-sync.c
"""
import glob
import os
import re
import shutil
import subprocess
import sys

MIN_PYTHON = (3, 11)
LATEST = (3, 13)
NEEDS_LATEST = ("# needs: 3.12-latest", "# requires: 3.13")


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
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    test_dir = os.path.abspath(sys.argv[1])
    py_dir = os.path.join(test_dir, "python", sys.argv[2])
    c_names = sys.argv[3:]

    if sys.version_info < MIN_PYTHON:
        print("skipped: Python %d.%d is older than 3.11" % sys.version_info[:2])
        return 77

    latest = latest_python()
    expected_in_c = {}
    for name in c_names:
        expected_in_c.update(c_traces(os.path.join(test_dir, name)))
    c_label = "/".join(c_names)
    scenarios = sorted(n[:-3] for n in os.listdir(py_dir)
                       if n.endswith(".py") and not n.startswith("_"))
    failures = skipped = 0
    for name in scenarios:
        path = os.path.join(py_dir, name + ".py")
        with open(path, encoding="utf-8") as f:
            text = f.read()
            needs_latest = any(marker in text for marker in NEEDS_LATEST)
        exe = latest if needs_latest else sys.executable
        problems = []
        try:
            with open(os.path.join(py_dir, name + ".expected"), encoding="utf-8") as f:
                expected = f.read().strip()
        except FileNotFoundError:
            expected = None
            problems.append("no %s.expected" % name)
        if name not in expected_in_c:
            problems.append("%s: no ASYNCIO_TRACE(\"%s\", ...)" % (c_label, name))
        elif expected is not None and expected_in_c[name] != expected:
            problems.append("%s expects %r, %s.expected holds %r"
                            % (c_label, expected_in_c[name], name, expected))
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
        print("FAIL %s: %s names a trace with no scenario script" % (name, c_label))
        failures += 1

    total = len(scenarios) + len(set(expected_in_c) - set(scenarios))
    print("%d passed, %d failed, %d skipped" % (total - failures - skipped, failures, skipped))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
