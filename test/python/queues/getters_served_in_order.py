# Waiting getters are served first come, first served; each put wakes one,
# through the loop (one callback later), so a callback scheduled between
# two puts runs between the two wake-ups.
import asyncio
from _q import Trace, run

t = Trace()


async def getter(q, name):
    t.add("%s-waits" % name)
    item = await q.get()
    t.add("%s=%s" % (name, item))


async def main():
    q = asyncio.Queue()
    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(getter(q, n)) for n in ("g1", "g2", "g3")]
    await asyncio.sleep(0)
    q.put_nowait("a")
    q.put_nowait("b")
    loop.call_soon(t.add, "cb")
    q.put_nowait("c")
    t.add("qsize=%d" % q.qsize())
    await asyncio.gather(*tasks)
    t.add("qsize=%d" % q.qsize())

run(main)
print(t.line())
