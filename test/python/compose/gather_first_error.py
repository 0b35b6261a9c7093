"""gather: the first child to fail fails the gather at once; the others
are not cancelled and run to their end."""
import asyncio
from _compose import EIO, Trace, code, run, ticks

t = Trace()


async def a():
    await ticks(1)
    t.add("a:fail")
    raise EIO()


async def b():
    await ticks(3)
    t.add("b:done")
    return "b"


async def main():
    ta = asyncio.ensure_future(a())
    tb = asyncio.ensure_future(b())
    try:
        await asyncio.gather(ta, tb)
        t.add("gather=0")
    except BaseException as e:
        t.add("gather=" + code(e))
    t.add("b.done=%d" % tb.done())
    await tb
    t.add("b.cancelled=%d" % tb.cancelled())

run(main)
print(t.line())
