# The awaited future completes, and the task is cancelled before it wakes:
# the future keeps its result, and the await raises CancelledError anyway.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
fut = loop.create_future()


async def body():
    try:
        await fut
        t.add("await=0")
    except asyncio.CancelledError:
        t.add("await=ECANCELED")
    return "r"


def complete_then_cancel():
    fut.set_result(1)
    t.add("cancel=%d" % task.cancel())

task = loop.create_task(body())
loop.call_soon(complete_then_cancel)
t.add("result=%s" % loop.run_until_complete(task))
t.add("fut-result=%d" % fut.result())
loop.close()
print(t.line())
