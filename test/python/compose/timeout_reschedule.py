"""reschedule: from none to soon (expires), from soon to later (does not
expire before the block ends), from soon to none; reschedule after
expiry is an error."""
import asyncio
from _compose import Trace, code, run

t = Trace()


async def main():
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(None) as cm:
            cm.reschedule(loop.time() + 0.01)
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                try:
                    cm.reschedule(loop.time() + 1)
                except BaseException as e:
                    t.add("after_expiry=" + code(e))
                raise
    except BaseException as e:
        t.add("sooner=" + code(e))
    async with asyncio.timeout(0.01) as cm:
        cm.reschedule(loop.time() + 10)
        await asyncio.sleep(0.03)
    t.add("later:expired=%d" % cm.expired())
    async with asyncio.timeout(0.01) as cm:
        cm.reschedule(None)
        await asyncio.sleep(0.03)
    t.add("none:expired=%d" % cm.expired())

run(main)
print(t.line())
