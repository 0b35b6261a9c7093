# Three parties: each gets its arrival index once the third arrives;
# n_waiting counts the tasks waiting while the barrier fills.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
barrier = asyncio.Barrier(3)


async def party(name):
    t.add("%s:arrive n_waiting=%d" % (name, barrier.n_waiting))
    i = await barrier.wait()
    t.add("%s=%d" % (name, i))

tasks = [loop.create_task(party(n)) for n in "ABC"]
run_all(loop, tasks)
t.add("n_waiting=%d broken=%d" % (barrier.n_waiting, barrier.broken))
print(t.line())
