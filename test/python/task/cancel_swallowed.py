# A task that catches CancelledError and returns normally ends with its
# result, not cancelled; cancelling() still counts the request. Two
# cancels before it wakes count twice but deliver one CancelledError;
# uncancel() withdraws one.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("sleep=ECANCELED")
    await asyncio.sleep(0)
    t.add("slept-again")
    return "ok"


def canceller():
    t.add("cancel=%d" % task.cancel())
    t.add("cancel=%d" % task.cancel())
    t.add("cancelling=%d" % task.cancelling())
    t.add("uncancel=%d" % task.uncancel())

task = loop.create_task(body())
loop.call_soon(canceller)
t.add("result=%s" % loop.run_until_complete(task))
t.add("cancelled=%d cancelling=%d" % (task.cancelled(), task.cancelling()))
t.add("cancel-done=%d" % task.cancel())
t.add("cancelling=%d" % task.cancelling())
loop.close()
print(t.line())
