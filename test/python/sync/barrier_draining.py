# Two parties, three tasks: A and B trip the barrier; C, arriving while it
# drains, waits for A and B to leave and joins the next round with D.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
barrier = asyncio.Barrier(2)


async def party(name):
    i = await barrier.wait()
    t.add("%s=%d" % (name, i))


async def late():
    t.add("D:arrive n_waiting=%d" % barrier.n_waiting)
    await party("D")

tasks = [loop.create_task(party(n)) for n in "ABC"]
tasks.append(loop.create_task(late()))
run_all(loop, tasks)
t.add("n_waiting=%d" % barrier.n_waiting)
print(t.line())
