"""wait_for that completes in time returns the result; cancelling the
waiting task cancels the inner one."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()


async def quick():
    await ticks(2)
    return "r"


async def main():
    t.add("quick=" + await asyncio.wait_for(asyncio.ensure_future(quick()), 10))
    inner = asyncio.ensure_future(asyncio.sleep(10))

    async def waiter():
        try:
            await asyncio.wait_for(inner, 10)
        except BaseException as e:
            t.add("waiter=" + code(e))
            raise
    w = asyncio.ensure_future(waiter())
    await ticks(2)
    w.cancel()
    try:
        await w
    except asyncio.CancelledError:
        pass
    t.add("inner.cancelled=%d" % inner.cancelled())

run(main)
print(t.line())
