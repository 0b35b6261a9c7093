# The three queues give the same items back in their own orders.
import asyncio
from _q import Trace, run

t = Trace()


async def main():
    for name, cls in (("fifo", asyncio.Queue), ("lifo", asyncio.LifoQueue),
                      ("prio", asyncio.PriorityQueue)):
        q = cls()
        for x in (3, 1, 4, 2):
            q.put_nowait(x)
        got = []
        while not q.empty():
            got.append(str(await q.get()))
        t.add("%s=%s" % (name, ",".join(got)))

run(main)
print(t.line())
