# sleep(0) yields to the loop exactly once: two tasks alternate step by step.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def body(name):
    for i in range(4):
        t.add("%s%d" % (name, i))
        await asyncio.sleep(0)

a = loop.create_task(body("A"))
b = loop.create_task(body("B"))
loop.run_until_complete(asyncio.gather(a, b))
loop.close()
print(t.line())
