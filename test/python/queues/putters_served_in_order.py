# Waiting putters are served first come, first served as room appears.
import asyncio
from _q import Trace, run

t = Trace()


async def putter(q, name, item):
    t.add("%s-waits" % name)
    await q.put(item)
    t.add("%s-put" % name)


async def main():
    q = asyncio.Queue(1)
    q.put_nowait("x")
    tasks = [asyncio.create_task(putter(q, n, i))
             for n, i in (("p1", "a"), ("p2", "b"), ("p3", "c"))]
    await asyncio.sleep(0)
    for _ in range(4):
        t.add("got=%s" % await q.get())
    await asyncio.gather(*tasks)
    t.add("qsize=%d" % q.qsize())

run(main)
print(t.line())
