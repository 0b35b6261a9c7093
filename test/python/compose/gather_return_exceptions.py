"""gather(return_exceptions=True): every outcome is collected, in the
order given: a result, an error, a cancellation."""
import asyncio
from _compose import EIO, Trace, code, run, ticks

t = Trace()


async def ok():
    await ticks(1)
    return "a"


async def bad():
    await ticks(2)
    raise EIO()


async def slow():
    await ticks(10)
    return "c"


async def main():
    t1 = asyncio.ensure_future(ok())
    t2 = asyncio.ensure_future(bad())
    t3 = asyncio.ensure_future(slow())
    t3.cancel()
    res = await asyncio.gather(t1, t2, t3, return_exceptions=True)
    for r in res:
        t.add(code(r) if isinstance(r, BaseException) else r)

run(main)
print(t.line())
