# Cancelling a task that awaits another task cancels the inner one; the
# outer wakes with CancelledError once the inner has ended cancelled.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def inner_body():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("inner=ECANCELED")
        raise


async def outer_body():
    try:
        await inner
    except asyncio.CancelledError:
        t.add("outer=ECANCELED")
        raise

inner = loop.create_task(inner_body())
outer = loop.create_task(outer_body())
loop.call_soon(lambda: t.add("cancel=%d" % outer.cancel()))
try:
    loop.run_until_complete(outer)
except asyncio.CancelledError:
    t.add("outer-cancelled=%d inner-cancelled=%d" % (outer.cancelled(), inner.cancelled()))
t.add("cancelling=%d,%d" % (outer.cancelling(), inner.cancelling()))
loop.close()
print(t.line())
