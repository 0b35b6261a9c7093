# Creating a task runs nothing: its first step is scheduled with call_soon,
# behind the callbacks already ready, and runs from the loop.
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body():
    t.add("T")

loop.call_soon(t.mark("A"))
task = loop.create_task(body())
t.add("created")
loop.call_soon(t.mark("B"))
loop.run_until_complete(task)
loop.close()
print(t.line())
