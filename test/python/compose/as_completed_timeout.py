"""as_completed with a timeout: what completed before it is handed back,
then every remaining turn raises TimeoutError; nothing is cancelled."""
import asyncio
from _compose import Trace, code, run, ticks

t = Trace()


async def after(n, name):
    await ticks(n)
    return name


async def main():
    slow1 = asyncio.ensure_future(asyncio.sleep(10))
    slow2 = asyncio.ensure_future(asyncio.sleep(10))
    quick = asyncio.ensure_future(after(1, "q"))
    n = 0
    for aw in asyncio.as_completed([slow1, quick, slow2], timeout=0.02):
        n += 1
        try:
            t.add(await aw)
        except BaseException as e:
            t.add(code(e))
    t.add("turns=%d" % n)
    t.add("slow1.cancelled=%d" % slow1.cancelled())
    slow1.cancel()
    slow2.cancel()
    await asyncio.sleep(0)

run(main)
print(t.line())
