# Cancelling a sleeping task wakes it at once with CancelledError.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body():
    t.add("start")
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("sleep=ECANCELED")
        raise

task = loop.create_task(body())
loop.call_soon(lambda: t.add("cancel=%d" % task.cancel()))
try:
    loop.run_until_complete(task)
except asyncio.CancelledError:
    t.add("task-cancelled=%d" % task.cancelled())
loop.close()
print(t.line())
