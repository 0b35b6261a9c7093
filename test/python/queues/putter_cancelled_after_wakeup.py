# A putter woken by a get and cancelled before it ran passes the room on
# to the next putter (asyncio's _wakeup_next in put()'s except clause).
import asyncio
from _q import Trace, code, run

t = Trace()


async def putter(q, name, item):
    try:
        await q.put(item)
        t.add("%s=0" % name)
    except asyncio.CancelledError as e:
        t.add("%s=%s" % (name, code(e)))
        raise


async def main():
    q = asyncio.Queue(1)
    q.put_nowait("x")
    p1 = asyncio.create_task(putter(q, "p1", "a"))
    p2 = asyncio.create_task(putter(q, "p2", "b"))
    await asyncio.sleep(0)
    t.add("got=%s" % q.get_nowait())
    t.add("cancel=%d" % p1.cancel())
    await asyncio.gather(p1, p2, return_exceptions=True)
    t.add("got=%s qsize=%d" % (q.get_nowait(), q.qsize()))

run(main)
print(t.line())
