# A task that cancels itself after its last await and then returns ends
# cancelled, not with its result (must_cancel at StopIteration).
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body():
    await asyncio.sleep(0)
    t.add("self-cancel=%d" % asyncio.current_task().cancel())
    t.add("returning")
    return "r"

task = loop.create_task(body())
try:
    loop.run_until_complete(task)
except asyncio.CancelledError:
    t.add("task-cancelled=%d" % task.cancelled())
loop.close()
print(t.line())
