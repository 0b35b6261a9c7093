# put_nowait on a full queue and get_nowait on an empty one fail at once;
# full() and empty() say so; maxsize 0 is never full.
import asyncio
from _q import Trace, code, run

t = Trace()


def attempt(name, fn, *args):
    try:
        r = fn(*args)
        t.add("%s=%s" % (name, r if r is not None else "0"))
    except Exception as e:
        t.add("%s=%s" % (name, code(e)))


async def main():
    q = asyncio.Queue(2)
    t.add("empty=%d" % q.empty())
    attempt("get", q.get_nowait)
    attempt("put", q.put_nowait, "a")
    attempt("put", q.put_nowait, "b")
    t.add("full=%d qsize=%d" % (q.full(), q.qsize()))
    attempt("put", q.put_nowait, "c")
    attempt("get", q.get_nowait)
    t.add("full=%d" % q.full())
    attempt("get", q.get_nowait)
    attempt("get", q.get_nowait)
    u = asyncio.Queue(0)
    for i in range(1000):
        u.put_nowait(i)
    t.add("unbounded-full=%d qsize=%d" % (u.full(), u.qsize()))

run(main)
print(t.line())
