"""Nested scopes: when the inner one expires, only it reports a timeout
and the outer block goes on; when the outer one expires while the inner
is active, the inner exit passes CancelledError through and the outer
reports the timeout."""
import asyncio
from _compose import Trace, code, run

t = Trace()


async def main():
    task = asyncio.current_task()
    async with asyncio.timeout(10):
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        except BaseException as e:
            t.add("inner=" + code(e))
        await asyncio.sleep(0)
        t.add("outer:goes_on")
    try:
        async with asyncio.timeout(0.01):
            try:
                async with asyncio.timeout(10):
                    await asyncio.sleep(10)
            except BaseException as e:
                t.add("inner=" + code(e))
                raise
    except BaseException as e:
        t.add("outer=" + code(e))
    t.add("cancelling=%d" % task.cancelling())

run(main)
print(t.line())
