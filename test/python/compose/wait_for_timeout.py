"""wait_for: at the timeout the inner task is cancelled and awaited; it
takes two passes to clean up, and wait_for returns only after that."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()


async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("inner:cancelled")
        await ticks(2)
        t.add("inner:cleanup")
        raise


async def main():
    task = asyncio.ensure_future(inner())
    try:
        await asyncio.wait_for(task, 0.01)
        t.add("wait_for=0")
    except BaseException as e:
        t.add("wait_for=" + code(e))
    t.add("inner.cancelled=%d" % task.cancelled())
    t.add("cancelling=%d" % asyncio.current_task().cancelling())

run(main)
print(t.line())
