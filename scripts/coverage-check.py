#!/usr/bin/env python3
"""scripts/coverage-check.py: per-file line coverage of src/*.c against floors.

    python3 scripts/coverage-check.py SUMMARY.json FLOORS

SUMMARY.json is gcovr's --json-summary of a coverage build after the suites
ran; FLOORS (test/coverage-floors.txt) holds one line per file, "src/x.c
PERCENT", and '#' comments. Prints one line per file: lines, lines run,
the percentage, the floor, and "BELOW" where the figure is under the floor.

Exits 1 when a file is below its floor, when a measured src/*.c file has no
floor (a new file gets one when it lands), or when a floor names a file
that was not measured (a stale line); 0 otherwise.
"""
import json
import re
import sys


def read_floors(path):
    floors = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            m = re.fullmatch(r'(\S+)\s+([0-9]+(?:\.[0-9]+)?)', line)
            if not m:
                sys.exit('%s:%d: expected "src/FILE.c PERCENT": %r'
                         % (path, n, line))
            floors[m.group(1)] = float(m.group(2))
    return floors


def main():
    summary_path, floors_path = sys.argv[1:3]
    with open(summary_path) as f:
        summary = json.load(f)
    floors = read_floors(floors_path)
    measured = {}
    for entry in summary['files']:
        name = entry['filename']
        if re.fullmatch(r'src/[^/]+\.c', name):
            measured[name] = entry
    problems = []
    print('%-22s %6s %6s %7s %6s' % ('file', 'lines', 'run', 'cover', 'floor'))
    for name in sorted(measured):
        e = measured[name]
        total, run = e['line_total'], e['line_covered']
        pct = 100.0 * run / total if total else 100.0
        floor = floors.get(name)
        mark = ''
        if floor is None:
            mark = '  NO FLOOR'
            problems.append('%s has no line in %s' % (name, floors_path))
        elif pct < floor:
            mark = '  BELOW'
            problems.append('%s: %.1f%% of lines run, under its floor %g%%'
                            % (name, pct, floor))
        print('%-22s %6d %6d %6.1f%% %5s%s'
              % (name, total, run, pct,
                 '-' if floor is None else '%g%%' % floor, mark))
    for name in sorted(set(floors) - set(measured)):
        problems.append('%s is in %s but was not measured' % (name, floors_path))
    total = sum(e['line_total'] for e in measured.values())
    run = sum(e['line_covered'] for e in measured.values())
    print('%-22s %6d %6d %6.1f%%' % ('total', total, run,
                                     100.0 * run / total if total else 100.0))
    for p in problems:
        print('error: coverage: ' + p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
