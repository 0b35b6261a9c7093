"""wait on a future already done still goes through the loop: its done
callback runs on the next pass, the task resumes on the pass after."""
import asyncio
from _compose import Trace, run

t = Trace()


async def main():
    loop = asyncio.get_running_loop()
    f = loop.create_future()
    f.set_result(None)

    def x():
        t.add("X")
        loop.call_soon(t.mark("Y"))
    loop.call_soon(x)
    done, pending = await asyncio.wait([f, f])
    t.add("wait:done=%d:pending=%d" % (len(done), len(pending)))

run(main)
print(t.line())
