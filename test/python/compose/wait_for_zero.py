"""wait_for with a timeout of 0 or less: a done future gives its result; a
task not started yet is cancelled and never runs; a task that swallows the
cancellation gives its result."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()
started = []


async def never():
    started.append(1)


async def swallow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("swallow:cancelled")
    return "kept"


async def main():
    loop = asyncio.get_running_loop()
    f = loop.create_future()
    f.set_result("done")
    t.add("done=" + await asyncio.wait_for(f, 0))
    try:
        await asyncio.wait_for(asyncio.ensure_future(never()), -1)
        t.add("never=0")
    except BaseException as e:
        t.add("never=" + code(e))
    t.add("started=%d" % len(started))
    s = asyncio.ensure_future(swallow())
    await ticks(1)
    t.add("swallow=" + await asyncio.wait_for(s, 0))

run(main)
print(t.line())
