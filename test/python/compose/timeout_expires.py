"""A timeout scope that expires: the await inside sees CancelledError, the
scope's exit turns it into TimeoutError and withdraws its cancellation.
One that does not expire changes nothing."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()


async def main():
    task = asyncio.current_task()
    try:
        async with asyncio.timeout(0.01) as cm:
            try:
                await asyncio.sleep(10)
            except BaseException as e:
                t.add("inside=" + code(e))
                t.add("cancelling=%d" % task.cancelling())
                raise
    except BaseException as e:
        t.add("exit=" + code(e))
    t.add("expired=%d" % cm.expired())
    t.add("cancelling=%d" % task.cancelling())
    async with asyncio.timeout(10) as cm:
        await ticks(2)
    t.add("ok:expired=%d" % cm.expired())
    async with asyncio.timeout(None) as cm:
        await ticks(1)
    t.add("none:when=%s" % cm.when())

run(main)
print(t.line())
