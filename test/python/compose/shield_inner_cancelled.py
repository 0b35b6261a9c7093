"""shield: the inner task cancelled makes the outer future cancelled; an
inner error passes through; a done inner is returned as it is."""
import asyncio
from _compose import EIO, Trace, code, run, ticks

t = Trace()


async def bad():
    await ticks(1)
    raise EIO()


async def main():
    i = asyncio.ensure_future(asyncio.sleep(10))
    outer = asyncio.shield(i)
    await ticks(1)
    i.cancel()
    try:
        await outer
    except BaseException as e:
        t.add("outer=" + code(e))
    t.add("outer.cancelled=%d" % outer.cancelled())
    try:
        await asyncio.shield(asyncio.ensure_future(bad()))
    except BaseException as e:
        t.add("error=" + code(e))
    f = asyncio.get_running_loop().create_future()
    f.set_result("x")
    t.add("same=%d" % (asyncio.shield(f) is f))

run(main)
print(t.line())
