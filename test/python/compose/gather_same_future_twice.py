"""The same future given twice: its outcome appears in both places."""
import asyncio
from _compose import Trace, run, ticks

t = Trace()


async def y():
    await ticks(2)
    return "y"


async def main():
    loop = asyncio.get_running_loop()
    f = loop.create_future()
    ty = asyncio.ensure_future(y())
    g = asyncio.gather(f, ty, f)
    loop.call_soon(f.set_result, "x")
    res = await g
    t.add(" ".join(res))

run(main)
print(t.line())
