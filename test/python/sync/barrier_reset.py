# reset() with tasks waiting: they get BrokenBarrierError, the barrier is
# not broken, and once they have left it trips again normally.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
barrier = asyncio.Barrier(2)


async def party(name):
    try:
        i = await barrier.wait()
    except asyncio.BrokenBarrierError:
        t.add(name + "=EBROKEN")
        return
    t.add("%s=%d" % (name, i))


async def driver():
    await asyncio.sleep(0)
    await barrier.reset()
    t.add("reset n_waiting=%d broken=%d" % (barrier.n_waiting, barrier.broken))
    await asyncio.sleep(0)
    t.add("n_waiting=%d" % barrier.n_waiting)
    c = loop.create_task(party("C"))
    await party("D")
    await c

tasks = [loop.create_task(party("A")), loop.create_task(driver())]
run_all(loop, tasks)
t.add("broken=%d" % barrier.broken)
print(t.line())
