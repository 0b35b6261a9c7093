# Cancelling a task that awaits a future cancels that future (with the
# message); the await raises CancelledError; letting it escape ends the
# task cancelled, with the message, and cancelling() counts the request.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop


def cancel_message(f):
    try:
        f.result()
    except asyncio.CancelledError as e:
        return e.args[0] if e.args else None

t = Trace()
loop = new_loop()
fut = loop.create_future()


async def body():
    t.add("start")
    try:
        await fut
    except asyncio.CancelledError:
        t.add("await=ECANCELED")
        raise


def canceller():
    t.add("cancel=%d" % task.cancel("why"))
    t.add("fut-cancelled=%d" % fut.cancelled())
    t.add("fut-msg=%s" % cancel_message(fut))

task = loop.create_task(body())
loop.call_soon(canceller)
try:
    loop.run_until_complete(task)
except asyncio.CancelledError as e:
    t.add("task-cancelled=%d msg=%s" % (task.cancelled(), e.args[0]))
t.add("cancelling=%d" % task.cancelling())
loop.close()
print(t.line())
