# A future cancelled by someone else, with a message: the task awaiting it
# gets CancelledError; letting it escape ends the task cancelled with that
# message, though nobody cancelled the task (cancelling() stays 0).
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
fut = loop.create_future()


async def body():
    try:
        await fut
    except asyncio.CancelledError:
        t.add("await=ECANCELED")
        raise

task = loop.create_task(body())
loop.call_soon(lambda: t.add("cancel=%d" % fut.cancel("third-party")))
try:
    loop.run_until_complete(task)
except asyncio.CancelledError as e:
    t.add("task-cancelled=%d msg=%s" % (task.cancelled(), e.args[0] if e.args else None))
t.add("cancelling=%d" % task.cancelling())
loop.close()
print(t.line())
