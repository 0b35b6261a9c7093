"""wait with a timeout: what is not done is returned as pending, not
cancelled; a timeout of 0 still lets the loop run once."""
import asyncio
from _compose import Trace, run, ticks

t = Trace()


async def main():
    slow = asyncio.ensure_future(asyncio.sleep(10))
    quick = asyncio.ensure_future(ticks(1))
    done, pending = await asyncio.wait([slow, quick], timeout=0.01)
    t.add("done=%d pending=%d" % (len(done), len(pending)))
    t.add("slow.cancelled=%d" % slow.cancelled())
    fresh = asyncio.ensure_future(ticks(0))
    done, pending = await asyncio.wait([fresh, slow], timeout=0)
    t.add("zero:done=%d pending=%d" % (len(done), len(pending)))
    slow.cancel()
    done, pending = await asyncio.wait([slow])
    t.add("slow.cancelled=%d" % slow.cancelled())

run(main)
print(t.line())
