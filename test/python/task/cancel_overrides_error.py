# The awaited future fails, and the task is cancelled before it wakes: the
# await raises CancelledError, and the future's error counts as retrieved
# (__wakeup reads it before __step replaces it), so freeing the future
# reports nothing.
import asyncio
import errno
import gc
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
reports = []
loop.set_exception_handler(lambda lp, ctx: reports.append(ctx["message"]))
fut = loop.create_future()


async def body():
    try:
        await fut
        t.add("await=0")
    except asyncio.CancelledError:
        t.add("await=ECANCELED")
    return "r"


def fail_then_cancel():
    fut.set_exception(OSError(errno.EIO, "io"))
    t.add("cancel=%d" % task.cancel())

task = loop.create_task(body())
loop.call_soon(fail_then_cancel)
t.add("result=%s" % loop.run_until_complete(task))
del fut
gc.collect()
t.add("reports=%d" % len(reports))
loop.close()
print(t.line())
