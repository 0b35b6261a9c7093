"""A deadline already past (a delay of 0 or less) expires at the next
await: the code before it runs."""
import asyncio
from _compose import Trace, code, run

t = Trace()


async def main():
    for delay in (0, -1):
        try:
            async with asyncio.timeout(delay):
                t.add("before")
                await asyncio.sleep(10)
                t.add("after")
        except BaseException as e:
            t.add("exit=" + code(e))

run(main)
print(t.line())
