"""shield: cancelling the task that awaits the shield cancels the outer
future only; the inner task runs on and its result can still be had."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()


async def inner():
    await ticks(3)
    t.add("inner:done")
    return "r"


async def main():
    i = asyncio.ensure_future(inner())
    outer = asyncio.shield(i)

    async def waiter():
        try:
            await outer
        except BaseException as e:
            t.add("waiter=" + code(e))
            raise
    w = asyncio.ensure_future(waiter())
    await ticks(1)
    w.cancel()
    try:
        await w
    except asyncio.CancelledError:
        pass
    t.add("outer.cancelled=%d inner.done=%d" % (outer.cancelled(), i.done()))
    t.add("inner=" + await i)

run(main)
print(t.line())
