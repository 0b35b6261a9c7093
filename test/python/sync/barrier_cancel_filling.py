# A party cancelled while the barrier fills leaves it: the barrier is not
# broken, and the next two parties trip it with indices 0 and 1.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
barrier = asyncio.Barrier(2)


async def party(name):
    try:
        i = await barrier.wait()
    except asyncio.CancelledError:
        t.add("%s=ECANCELED n_waiting=%d" % (name, barrier.n_waiting))
        raise
    t.add("%s=%d" % (name, i))


async def driver():
    await asyncio.sleep(0)
    t.add("n_waiting=%d" % barrier.n_waiting)
    a.cancel()
    await asyncio.sleep(0)
    t.add("broken=%d n_waiting=%d" % (barrier.broken, barrier.n_waiting))
    b = loop.create_task(party("B"))
    await party("C")
    await b

a = loop.create_task(party("A"))
d = loop.create_task(driver())
run_all(loop, [a, d])
print(t.line())
