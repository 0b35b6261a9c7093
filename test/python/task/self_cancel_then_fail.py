# A task that cancels itself and then fails (raises) ends with its error,
# not cancelled: only a normal return is overridden by the pending cancel.
import asyncio
import errno
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body():
    await asyncio.sleep(0)
    t.add("self-cancel=%d" % asyncio.current_task().cancel())
    raise OSError(errno.EIO, "io")

task = loop.create_task(body())
try:
    loop.run_until_complete(task)
except OSError as e:
    t.add("task-error=%s" % errno.errorcode[e.errno])
t.add("task-cancelled=%d" % task.cancelled())
loop.close()
print(t.line())
