# A getter cancelled while it waits leaves the line; the next item goes to
# the getter behind it.
import asyncio
from _q import Trace, code, run

t = Trace()


async def getter(q, name):
    try:
        t.add("%s=%s" % (name, await q.get()))
    except asyncio.CancelledError as e:
        t.add("%s=%s" % (name, code(e)))
        raise


async def main():
    q = asyncio.Queue()
    g1 = asyncio.create_task(getter(q, "g1"))
    g2 = asyncio.create_task(getter(q, "g2"))
    await asyncio.sleep(0)
    g1.cancel()
    await asyncio.sleep(0)
    q.put_nowait("a")
    await asyncio.gather(g1, g2, return_exceptions=True)
    t.add("qsize=%d" % q.qsize())

run(main)
print(t.line())
