# requires: 3.13
# shutdown() (Python 3.13): puts fail at once, even on a full queue, and a
# waiting putter is woken to fail; a waiting getter of an empty queue is
# woken to fail; the items left can still be got, then gets fail. The
# count for join() is untouched: join() waits for task_done() as before.
#
# The .expected line was written from CPython 3.13's Lib/asyncio/queues.py
# and its documentation, not printed by a 3.13 interpreter (the machine has
# 3.11): the checker runs this script only on Python 3.13 or later.
import asyncio
from _q import Trace, code, run

t = Trace()


async def getter(q, name):
    try:
        t.add("%s=%s" % (name, await q.get()))
    except Exception as e:
        t.add("%s=%s" % (name, code(e)))


async def putter(q, name, item):
    try:
        await q.put(item)
        t.add("%s=0" % name)
    except Exception as e:
        t.add("%s=%s" % (name, code(e)))


async def joiner(q):
    await q.join()
    t.add("joined")


async def main():
    q = asyncio.Queue(2)
    q.put_nowait("a")
    q.put_nowait("b")
    p = asyncio.create_task(putter(q, "p", "c"))
    e = asyncio.Queue()
    g = asyncio.create_task(getter(e, "g"))
    await asyncio.sleep(0)
    q.shutdown()
    e.shutdown()
    t.add("shutdown")
    try:
        q.put_nowait("d")
    except Exception as exc:
        t.add("put=%s" % code(exc))
    await asyncio.gather(p, g)
    t.add("qsize=%d" % q.qsize())
    t.add("get=%s" % await q.get())
    q.task_done()
    t.add("get=%s" % q.get_nowait())
    try:
        await q.get()
    except Exception as exc:
        t.add("get=%s" % code(exc))
    try:
        q.get_nowait()
    except Exception as exc:
        t.add("get_nowait=%s" % code(exc))
    j = asyncio.create_task(joiner(q))
    await asyncio.sleep(0)
    t.add("td")
    q.task_done()
    await j

run(main)
print(t.line())
