"""A cancellation from outside during a scope stays CancelledError, even
when the scope expires too; the count of requests says so."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()


async def body(deadline, extra):
    task = asyncio.current_task()
    try:
        async with asyncio.timeout(deadline):
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if extra:
                    await asyncio.sleep(0.03)  # the deadline passes too
                raise
    except BaseException as e:
        t.add("exit=" + code(e))
        t.add("cancelling=%d" % task.cancelling())
        raise


async def main():
    for deadline, extra in ((10, False), (0.02, True)):
        b = asyncio.ensure_future(body(deadline, extra))
        await ticks(2)
        b.cancel()
        try:
            await b
        except asyncio.CancelledError:
            t.add("task=ECANCELED")

run(main)
print(t.line())
