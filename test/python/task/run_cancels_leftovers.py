# asyncio.run returns main's result after cancelling the tasks main left
# behind: each sees CancelledError and runs to its end.
import asyncio
import _path  # noqa: F401
from _trace import Trace

t = Trace()


async def leftover():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("leftover=ECANCELED")
        raise


async def main():
    asyncio.get_running_loop().create_task(leftover())
    await asyncio.sleep(0)
    t.add("main-done")
    return "r"

t.add("result=%s" % asyncio.run(main()))
print(t.line())
