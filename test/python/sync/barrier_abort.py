# abort() breaks the barrier: the tasks waiting and every later one get
# BrokenBarrierError.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
barrier = asyncio.Barrier(3)


async def party(name):
    try:
        i = await barrier.wait()
    except asyncio.BrokenBarrierError:
        t.add(name + "=EBROKEN")
        return
    t.add("%s=%d" % (name, i))


async def driver():
    await asyncio.sleep(0)
    t.add("n_waiting=%d" % barrier.n_waiting)
    await barrier.abort()
    t.add("aborted broken=%d" % barrier.broken)
    await party("C")

tasks = [loop.create_task(party(n)) for n in "AB"]
tasks.append(loop.create_task(driver()))
run_all(loop, tasks)
t.add("broken=%d" % barrier.broken)
print(t.line())
