"""Cancelling a task that awaits a gather cancels the gather's children;
the gather stays pending until they have run their cancellation, so the
task resumes (cancelled) after them."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()
res = []


async def child(name):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add(name + ":cancelled")
        raise


async def waiter(g):
    try:
        await g
        t.add("parent=0")
    except BaseException as e:
        t.add("parent=" + code(e))
        raise


async def main():
    c1 = asyncio.ensure_future(child("c1"))
    c2 = asyncio.ensure_future(child("c2"))
    g = asyncio.gather(c1, c2)
    parent = asyncio.ensure_future(waiter(g))
    await ticks(2)
    parent.cancel()
    try:
        await parent
    except asyncio.CancelledError:
        pass
    await ticks(5)
    t.add("c1=%d c2=%d" % (c1.cancelled(), c2.cancelled()))

run(main)
print(t.line())
