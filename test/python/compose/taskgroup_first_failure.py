"""TaskGroup: the first failure cancels the other tasks and the parent's
pending await; the group reports the errors; the parent's cancellation is
withdrawn."""
import asyncio
from _compose import EIO, Trace, code, run, ticks

t = Trace()


async def fail():
    await ticks(1)
    t.add("fail")
    raise EIO()


async def sleeper():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("sleeper:cancelled")
        raise


async def main():
    task = asyncio.current_task()
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fail())
            tg.create_task(sleeper())
            try:
                await asyncio.sleep(10)
            except BaseException as e:
                t.add("body=" + code(e))
                raise
    except BaseException as e:
        t.add("exit=" + code(e))
        t.add("errors=%d" % len(e.exceptions))
    t.add("cancelling=%d" % task.cancelling())

run(main)
print(t.line())
