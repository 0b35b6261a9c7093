# A task that cancels itself and then awaits a pending future: the task's
# step cancels that future at once (Task.__step), and the await raises.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
fut = loop.create_future()


async def body():
    t.add("self-cancel=%d" % asyncio.current_task().cancel())
    try:
        await fut
    except asyncio.CancelledError:
        t.add("await=ECANCELED fut-cancelled=%d" % fut.cancelled())
    return "swallowed"

task = loop.create_task(body())
t.add("result=%s" % loop.run_until_complete(task))
t.add("cancelling=%d" % task.cancelling())
loop.close()
print(t.line())
