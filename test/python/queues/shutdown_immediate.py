# requires: 3.13
# shutdown(immediate=True) (Python 3.13): the items left are dropped and
# the count of unfinished items drops by one for each (never below zero),
# so join() still waits for the items that were got but not marked done;
# gets and puts fail from then on; waiting getters are woken to fail.
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


async def joiner(q):
    await q.join()
    t.add("joined")


async def main():
    q = asyncio.Queue()
    g1 = asyncio.create_task(getter(q, "g1"))
    await asyncio.sleep(0)
    q.put_nowait("a")
    await g1
    q.put_nowait("b")
    q.put_nowait("c")
    j = asyncio.create_task(joiner(q))
    await asyncio.sleep(0)
    q.shutdown(immediate=True)
    t.add("shutdown qsize=%d" % q.qsize())
    try:
        q.get_nowait()
    except Exception as exc:
        t.add("get=%s" % code(exc))
    try:
        q.put_nowait("d")
    except Exception as exc:
        t.add("put=%s" % code(exc))
    await asyncio.sleep(0)
    t.add("j-done=%d" % j.done())
    q.task_done()
    t.add("td")
    await j
    try:
        q.task_done()
        t.add("td=0")
    except ValueError as exc:
        t.add("td=%s" % code(exc))
    e = asyncio.Queue()
    g2 = asyncio.create_task(getter(e, "g2"))
    g3 = asyncio.create_task(getter(e, "g3"))
    await asyncio.sleep(0)
    e.shutdown(immediate=True)
    await asyncio.gather(g2, g3)

run(main)
print(t.line())
