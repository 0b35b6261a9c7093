"""TaskGroup: the block itself fails: the tasks are cancelled and the
block's error is reported after the tasks' own."""
import asyncio
from _compose import EIO, Trace, code, run

t = Trace()


async def child():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("child:cancelled")
        raise


async def main():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child())
            await asyncio.sleep(0)
            raise EIO()
    except BaseException as e:
        t.add("exit=" + code(e))
        t.add("errors=%d" % len(e.exceptions))

run(main)
print(t.line())
