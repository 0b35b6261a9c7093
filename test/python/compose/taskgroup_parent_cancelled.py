"""TaskGroup: the parent cancelled from outside, once in the body and once
while it waits: every task of the group is cancelled and the group
reports CancelledError."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()
cancelled = []


async def child(name):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        cancelled.append(name)
        raise


async def parent(in_body):
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("a"))
            tg.create_task(child("b"))
            if in_body:
                try:
                    await asyncio.sleep(10)
                except BaseException as e:
                    t.add("body=" + code(e))
                    raise
    except BaseException as e:
        # the order the tasks are cancelled in is a set's in asyncio
        t.add("cancelled=" + ",".join(sorted(cancelled)))
        del cancelled[:]
        t.add("exit=" + code(e))
        raise


async def main():
    for in_body in (True, False):
        p = asyncio.ensure_future(parent(in_body))
        await ticks(2)
        p.cancel()
        try:
            await p
        except asyncio.CancelledError:
            t.add("parent=ECANCELED")

run(main)
print(t.line())
