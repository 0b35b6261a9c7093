# Two cancels with different messages before the task wakes: the first
# cancels the awaited future with its message, and that CancelledError is
# the one that escapes, so the task ends with the first message.
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
    await fut

task = loop.create_task(body())


def canceller():
    t.add("cancel=%d" % task.cancel("first"))
    t.add("cancel=%d" % task.cancel("second"))

loop.call_soon(canceller)
try:
    loop.run_until_complete(task)
except asyncio.CancelledError as e:
    t.add("msg=%s" % e.args[0])
t.add("fut-msg=%s" % cancel_message(fut))
loop.close()
print(t.line())
