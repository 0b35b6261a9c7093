# A task cancelled before its first step never runs its body.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body():
    t.add("ran")

task = loop.create_task(body())
t.add("cancel=%d" % task.cancel("early"))
try:
    loop.run_until_complete(task)
except asyncio.CancelledError as e:
    t.add("task-cancelled=%d msg=%s" % (task.cancelled(), e.args[0]))
loop.close()
print(t.line())
