"""as_completed hands the futures back in the order they complete."""
import asyncio
from _compose import Trace, run, ticks


t = Trace()


async def after(n, name):
    await ticks(n)
    return name


async def main():
    fs = [asyncio.ensure_future(after(5, "a")),
          asyncio.ensure_future(after(1, "b")),
          asyncio.ensure_future(after(3, "c"))]
    for aw in asyncio.as_completed(fs + [fs[1]]):
        t.add(await aw)

run(main)
print(t.line())
