"""A child cancelled makes the gather fail with CancelledError (without
return_exceptions); the gather itself is not cancelled() and the other
child keeps running."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()


async def main():
    c1 = asyncio.ensure_future(asyncio.sleep(10))
    c2 = asyncio.ensure_future(ticks(10))
    g = asyncio.gather(c1, c2)
    await ticks(1)
    c1.cancel()
    try:
        await g
        t.add("gather=0")
    except BaseException as e:
        t.add("gather=" + code(e))
    t.add("g.cancelled=%d" % g.cancelled())
    t.add("c2.done=%d" % c2.done())
    await c2
    t.add("c2.done=%d" % c2.done())

run(main)
print(t.line())
