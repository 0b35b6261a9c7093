#!/usr/bin/env python3
"""scripts/count-tests.py: count the tests one step of scripts/test.sh ran.

    python3 scripts/count-tests.py LOG...

Reads the logs of one step (what `meson test -v`, a Check executable run
directly, or scripts/test-windows.sh printed) and prints

    counts PASSED FAILED SKIPPED
    skipped NAME RUNS       one line per test skipped as a whole
    part NAME RUNS          one line per test that skipped a part of itself

A test is counted once per run: a step that runs the suites twice (natively
and under valgrind) counts each test twice. What counts:

- Check: each summary line "N%: Checks: C, Failures: F, Errors: E" is C
  tests, F + E of them failed (at the start of a line only: a script's
  own summary that quotes one is not counted again). Check has no skip status, so a test that
  cannot run here prints "skipped: NAME: why" (test_skip in test/helpers.c)
  and passes; each such line moves one test from passed to skipped.
  "skipped part: NAME: why" (test_skip_part) marks a test that skipped only
  a part of itself: it still counts as passed, and is listed.
- meson: each result line of a test outside the 'check' suite is one test:
  OK and EXPECTEDFAIL passed, SKIP (exit status 77) skipped and named
  "meson:NAME", anything else failed. The Check executable's own result
  line is covered by its summary, except when it failed with no Check
  failure to show for it (killed by a timeout, a crash, a valgrind error):
  then it is one failed test.
  The result lines meson repeats under "Summary of Failures:" are not
  counted again.
"""
import collections
import re
import sys

CHECK = re.compile(r'^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)')
SKIP = re.compile(r'^skipped: ([A-Za-z0-9_]+): ')
PART = re.compile(r'^skipped part: ([A-Za-z0-9_]+): ')
# " 3/17 auv:load / load-10k    OK     3.94s"
MESON = re.compile(r'^\s*\d+/\d+ (\S+) / (\S+)\s+(OK|FAIL|SKIP|TIMEOUT|ERROR|'
                   r'EXPECTEDFAIL|UNEXPECTEDPASS)\s+[0-9.]+s')


def count(paths):
    check_passed = check_failed = check_bad = passed = failed = 0
    skipped = collections.Counter()
    parts = collections.Counter()
    for path in paths:
        in_failure_summary = False
        with open(path, errors='replace') as f:
            for line in f:
                line = line.rstrip('\r\n')
                if line.startswith('Summary of Failures:'):
                    in_failure_summary = True
                elif re.match(r'^Ok:\s+\d+', line):
                    in_failure_summary = False
                m = CHECK.match(line)
                if m:
                    c, fl, er = (int(g) for g in m.groups())
                    check_passed += c - fl - er
                    check_failed += fl + er
                    continue
                m = SKIP.match(line)
                if m:
                    skipped[m.group(1)] += 1
                    continue
                m = PART.match(line)
                if m:
                    parts[m.group(1)] += 1
                    continue
                m = MESON.match(line)
                if m and not in_failure_summary:
                    suite, name, res = m.groups()
                    if suite.split(':')[-1] == 'check':
                        check_bad += res not in ('OK', 'SKIP')
                        continue
                    if res in ('OK', 'EXPECTEDFAIL'):
                        passed += 1
                    elif res == 'SKIP':
                        skipped['meson:' + name] += 1
                    else:
                        failed += 1
    # A skipped Check test passed in Check's count; a run that died before
    # its summary line has skips and no count to take them from.
    check_passed = max(check_passed - sum(skipped[n] for n in skipped
                                          if not n.startswith('meson:')), 0)
    if check_failed == 0:
        check_failed = check_bad
    return passed + check_passed, failed + check_failed, skipped, parts


def main():
    passed, failed, skipped, parts = count(sys.argv[1:])
    print('counts %d %d %d' % (passed, failed, sum(skipped.values())))
    for name, runs in sorted(skipped.items()):
        print('skipped %s %d' % (name, runs))
    for name, runs in sorted(parts.items()):
        print('part %s %d' % (name, runs))


if __name__ == '__main__':
    main()
