"""TaskGroup: a task that fails while the parent already waits at the end
of the block; another one that swallows its cancellation and returns. (As
in 3.11 and 3.12.0, the group's cancellation of the parent is withdrawn
before waiting, so here it stays counted.)"""
import asyncio
from _compose import EIO, Trace, code, run, ticks

t = Trace()


async def fail():
    await ticks(2)
    t.add("fail")
    raise EIO()


async def swallow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("swallow:cancelled")
    await ticks(1)
    t.add("swallow:returns")
    return "s"


async def main():
    task = asyncio.current_task()
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fail())
            s = tg.create_task(swallow())
            t.add("body")
    except BaseException as e:
        t.add("exit=" + code(e))
    t.add("swallow=" + s.result())
    t.add("cancelling=%d" % task.cancelling())

run(main)
print(t.line())
