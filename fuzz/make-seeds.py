#!/usr/bin/env python3
# fuzz/make-seeds.py: writes the seed inputs of fuzz/corpus/ (the format is
# described at the top of fuzz/fuzz-reader.c). Run: python3 fuzz/make-seeds.py fuzz/corpus
import os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
def op_read(n, cancel=False): return bytes([0 + (4 if cancel else 0), n >> 8, n & 255, 0, 0])
def op_exact(n, cancel=False): return bytes([1 + (4 if cancel else 0), n >> 8, n & 255, 0, 0])
def op_line(cap=255, cancel=False): return bytes([2 + (4 if cancel else 0), cap, 0, 0, 0])
def op_until(sep, cap=255, cancel=False):
    sep = bytes(sep, 'latin1') if isinstance(sep, str) else sep
    b = len(sep) - 1  # seplen = 1 + b % 3; sep = c, d, b
    c = sep[0]; d = sep[1] if len(sep) > 1 else 0
    if len(sep) == 3:
        # third byte is b itself: b % 3 must be 2 and b == sep[2]
        b = sep[2]; assert b % 3 == 2
    return bytes([3 + (4 if cancel else 0), cap, b, c, d])
def lit(s):
    s = bytes(s, 'latin1') if isinstance(s, str) else s
    assert len(s) < 48
    return bytes([len(s)]) + s
def run(v, k):  # k in 1..32: k*1500 bytes of v
    return bytes([0xDF + k, ord(v)])
def make(name, limit, ops, chunks):
    data = bytes([limit - 1, len(ops)]) + b''.join(ops) + b''.join(chunks)
    open(os.path.join(out, name), 'wb').write(data)
# 1. every reader, data arriving a few bytes at a time, separators split
make('mixed-small-chunks', 64,
     [op_line(), op_until('<->'[0:2] + 'n'), op_exact(7), op_read(100), op_line()],
     [lit('line '), lit('one\n'), lit('ab<'), lit('-n'), lit('cdefg'), lit('hij'), lit('tail')])
# 2. the limit: readuntil keeps the data, readline discards it
make('limit-overrun', 4,
     [op_until('\n'), op_read(3), op_line(), op_line(), op_exact(2)],
     [lit('abcdefgh\n'), lit('ijklmnopq'), lit('rs\nxy')])
# 3. a caller buffer too small: UV_ENOBUFS, then a big enough one
make('enobufs', 32,
     [op_line(5), op_line(), op_until('zz', 3), op_until('zz')],
     [lit('0123456789\n'), lit('abczz')])
# 4. big runs: buffer growth, pausing above 2 * limit, readexactly of 64 KiB
make('big-runs', 64,
     [op_exact(65535), op_read(65535), op_line(), op_until('\n'), op_exact(3000)],
     [run('x', 32), run('y', 20), lit('\n'), run('z', 2), lit('end\n')])
# 5. cancelled while waiting: nothing consumed
make('cancelled', 16,
     [op_exact(10, True), op_line(cancel=True), op_until('--', cancel=True), op_exact(10), op_line()],
     [lit('abc'), lit('def'), lit('ghij\n'), lit('k--')])
# 6. end of stream in every reader, empty chunks in between
make('eof-partials', 8,
     [op_exact(5), op_until('\r\n'[0] + '\n', 2), op_line(), op_read(10), op_exact(4), op_until('q'), op_line()],
     [lit(''), lit('ab'), lit(''), lit('cdefgh'), lit('ijk')])
# 7. zero-length reads, separator at the limit exactly
make('edges', 5,
     [op_read(0), op_exact(0), op_until('\n'), op_until('\n'), op_until('\n'), op_line(0)],
     [lit('12345\n'), lit('123456\n'), lit('1234'), lit('5')])
