# Awaiting a future that is already done does not suspend the task: a
# callback scheduled just before runs only at the task's next real yield.
# Awaiting a pending one suspends until it completes.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body():
    done = loop.create_future()
    done.set_result(7)
    loop.call_soon(t.mark("X"))
    t.add("await=%d" % await done)
    pending = loop.create_future()
    loop.call_soon(pending.set_result, 8)
    t.add("await=%d" % await pending)
    loop.call_soon(t.mark("Y"))
    await asyncio.sleep(0)
    t.add("after-sleep")

loop.run_until_complete(body())
loop.close()
print(t.line())
